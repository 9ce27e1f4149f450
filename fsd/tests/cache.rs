//! Repeated opens, which the FCB cache serves without the kernel: they
//! see every rename, delete and mode change made through the core, and
//! the files idle FCBs hold open neither keep a deleted file's space nor
//! hold up a dismount. Checked with statfs figures, debugfs and e2fsck.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{self, SetRequest};
use fsd::{Ccb, NtStatus};

const ALL_SHARE: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
const MIB: usize = 1 << 20;

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::write(root.join("a.txt"), b"aaa").unwrap();
    std::fs::write(root.join("b.txt"), b"bbbbb").unwrap();
    std::fs::write(root.join("dir/c.txt"), b"ccc").unwrap();
    std::fs::write(root.join("big.bin"), vec![1u8; 4 * MIB]).unwrap();
    std::fs::write(root.join("big2.bin"), vec![2u8; 4 * MIB]).unwrap();
    for i in 0..300 {
        std::fs::write(root.join(format!("dir/f{i:03}")), b"f").unwrap();
    }
}

fn open_read(t: &TestVolume, name: &str) -> Result<Ccb, NtStatus> {
    t.create(name, FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .map(|c| c.ccb)
}

fn inode(t: &TestVolume, c: &Ccb) -> u64 {
    let mut out = [0u8; 8];
    let done = fileinfo::query(t.vol(), c, fileinfo::FILE_INTERNAL_INFORMATION, &mut out);
    assert_eq!(done.status, NtStatus::SUCCESS);
    u64::from_le_bytes(out)
}

fn contents(t: &TestVolume, c: &mut Ccb) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let done = fsd::read::read(t.vol(), c, Some(0), &mut buf);
    assert_eq!(done.status, NtStatus::SUCCESS);
    buf[..done.information as usize].to_vec()
}

/// The inode and contents of `name`, through a read-only open.
fn look(t: &TestVolume, name: &str) -> Result<(u64, Vec<u8>), NtStatus> {
    let mut c = open_read(t, name)?;
    let found = (inode(t, &c), contents(t, &mut c));
    t.close(c);
    Ok(found)
}

fn set(t: &TestVolume, name: &str, req: SetRequest) -> NtStatus {
    let mut c = t
        .create(
            name,
            FILE_OPEN,
            0,
            GENERIC_READ | FILE_WRITE_ATTRIBUTES | DELETE,
            ALL_SHARE,
        )
        .unwrap()
        .ccb;
    let status = fileinfo::set(t.vol(), &mut c, &req, None).status;
    t.close(c);
    status
}

fn rename(to: &str, replace: bool) -> SetRequest {
    rename_request(
        w(to),
        if replace {
            fileinfo::FILE_RENAME_REPLACE_IF_EXISTS
        } else {
            0
        },
    )
}

/// Free bytes, from FileFsSizeInformation.
fn free_bytes(t: &TestVolume) -> i64 {
    let mut out = [0u8; 24];
    let done = fsd::volinfo::query(t.vol(), fsd::volinfo::FILE_FS_SIZE_INFORMATION, &mut out);
    assert_eq!(done.status, NtStatus::SUCCESS);
    i64_at(&out, 8) * (u32_at(&out, 16) * u32_at(&out, 20)) as i64
}

#[test]
fn repeated_opens_follow_renames_deletes_and_modes() {
    let mut t = TestVolume::new("cache-names", &[], tree);
    let (a, _) = look(&t, "\\a.txt").unwrap();
    let (b, _) = look(&t, "\\b.txt").unwrap();
    // Served again (twice, so the second comes from the cache).
    assert_eq!(look(&t, "\\a.txt"), Ok((a, b"aaa".to_vec())));
    assert_eq!(look(&t, "\\a.txt"), Ok((a, b"aaa".to_vec())));
    assert_eq!(
        look(&t, "\\dir\\c.txt").map(|(_, c)| c),
        Ok(b"ccc".to_vec())
    );

    assert_eq!(
        set(&t, "\\a.txt", rename("\\moved.txt", false)),
        NtStatus::SUCCESS
    );
    assert_eq!(look(&t, "\\a.txt"), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    assert_eq!(look(&t, "\\moved.txt"), Ok((a, b"aaa".to_vec())));
    assert_eq!(look(&t, "\\moved.txt"), Ok((a, b"aaa".to_vec())));

    // Another file renamed over a cached name: the name leads to it.
    assert_eq!(
        set(&t, "\\b.txt", rename("\\moved.txt", true)),
        NtStatus::SUCCESS
    );
    assert_eq!(look(&t, "\\moved.txt"), Ok((b, b"bbbbb".to_vec())));
    assert_eq!(look(&t, "\\b.txt"), Err(NtStatus::OBJECT_NAME_NOT_FOUND));

    // Read-only set through the core: a cached name is not opened for
    // writing any more, even while an open for writing holds the file.
    let writer = t
        .create("\\moved.txt", FILE_OPEN, 0, GENERIC_WRITE, ALL_SHARE)
        .unwrap()
        .ccb;
    let again = t.create("\\moved.txt", FILE_OPEN, 0, GENERIC_WRITE, ALL_SHARE);
    t.close(again.unwrap().ccb);
    let read_only = SetRequest::Basic {
        creation: 0,
        access: 0,
        write: 0,
        change: 0,
        attributes: fsd::attributes::READONLY,
    };
    assert_eq!(set(&t, "\\moved.txt", read_only), NtStatus::SUCCESS);
    let write = t.create("\\moved.txt", FILE_OPEN, 0, GENERIC_WRITE, ALL_SHARE);
    assert_eq!(write.err(), Some(NtStatus::ACCESS_DENIED));
    t.close(writer);
    assert_eq!(look(&t, "\\moved.txt"), Ok((b, b"bbbbb".to_vec())));

    // A directory renamed: names under it go with it.
    assert_eq!(set(&t, "\\dir", rename("\\dir2", false)), NtStatus::SUCCESS);
    assert_eq!(
        look(&t, "\\dir\\c.txt"),
        Err(NtStatus::OBJECT_PATH_NOT_FOUND)
    );
    assert_eq!(
        look(&t, "\\dir2\\c.txt").map(|(_, c)| c),
        Ok(b"ccc".to_vec())
    );

    // Deleted through an open that came from the cache.
    let delete = SetRequest::Disposition(
        fileinfo::FILE_DISPOSITION_DELETE | fileinfo::FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE,
    );
    assert_eq!(set(&t, "\\moved.txt", delete), NtStatus::SUCCESS);
    assert_eq!(
        look(&t, "\\moved.txt"),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );

    // Share access is kept for files the cache serves.
    let held = t
        .create("\\dir2\\c.txt", FILE_OPEN, 0, GENERIC_READ, 0)
        .unwrap()
        .ccb;
    assert_eq!(
        open_read(&t, "\\dir2\\c.txt").err(),
        Some(NtStatus::SHARING_VIOLATION)
    );
    t.close(held);
    assert!(open_read(&t, "\\dir2\\c.txt").is_ok_and(|c| {
        t.close(c);
        true
    }));

    t.finish();
    let root = t.debugfs("ls /");
    for gone in ["a.txt", "b.txt", "moved.txt"] {
        assert!(!root.contains(gone), "{gone} in {root}");
    }
    assert_eq!(t.debugfs("cat /dir2/c.txt"), "ccc");
}

#[test]
fn idle_fcbs_let_space_and_dismount_go() {
    let mut t = TestVolume::new("cache-space", &[], tree);
    let size = 4 * MIB as i64;

    // big.bin's FCB goes idle; big2.bin renamed over it frees its blocks.
    let (big, _) = look(&t, "\\big.bin").unwrap();
    let before = free_bytes(&t);
    assert_eq!(
        set(&t, "\\big2.bin", rename("\\big.bin", true)),
        NtStatus::SUCCESS
    );
    let freed = free_bytes(&t) - before;
    assert!(freed >= size, "{freed} bytes freed, {size} expected");
    assert_ne!(look(&t, "\\big.bin").unwrap().0, big);

    // Deleted through an open the cache served: freed at its close.
    let before = free_bytes(&t);
    let delete = SetRequest::Disposition(
        fileinfo::FILE_DISPOSITION_DELETE | fileinfo::FILE_DISPOSITION_POSIX_SEMANTICS,
    );
    assert_eq!(set(&t, "\\big.bin", delete), NtStatus::SUCCESS);
    let freed = free_bytes(&t) - before;
    assert!(freed >= size, "{freed} bytes freed, {size} expected");

    // More files than the cache keeps, each opened twice.
    for _ in 0..2 {
        for i in 0..300 {
            let name = format!("\\dir\\f{i:03}");
            assert_eq!(look(&t, &name).map(|(_, c)| c), Ok(b"f".to_vec()));
        }
    }
    // Idle FCBs do not keep the file system busy: a clean unmount, and
    // e2fsck finds nothing to mend.
    t.finish();
    assert!(!t.debugfs("ls /").contains("big"));
}

/// The same random changes made through fsd (most opens served by the
/// cache) and by the host kernel to a copy of the tree, with Windows's
/// rules applied to the host's side (no replacing a directory or a file
/// without ReplaceIfExists, no writing or deleting a read-only file): every
/// step has the same outcome, every read the same bytes.
#[test]
fn random_changes_match_the_host_kernel() {
    use std::os::unix::fs::PermissionsExt;
    let names = [
        "a", "b", "c", "d", "e", "d\\a", "d\\b", "e\\a", "e\\b", "d\\d", "e\\e",
    ];
    for seed in 1..=3u64 {
        let start = |root: &std::path::Path| {
            std::fs::create_dir_all(root.join("d")).unwrap();
            std::fs::write(root.join("a"), b"first").unwrap();
            std::fs::write(root.join("d/a"), b"second").unwrap();
        };
        let mut t = TestVolume::new(&format!("random-{seed}"), &[], start);
        let host = t.dir.join("host");
        start(&host);
        let on_host = |name: &str| host.join(name.replace('\\', "/"));
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for step in 0..1500 {
            let name = names[next(names.len())];
            let path = format!("\\{name}");
            let h = on_host(name);
            let read_only = h
                .symlink_metadata()
                .is_ok_and(|m| m.permissions().mode() & 0o222 == 0);
            let (what, fsd_ok, host_ok) = match next(7) {
                0 => {
                    let data = format!("{step}").into_bytes();
                    let fsd_ok = t
                        .create(
                            &path,
                            FILE_OVERWRITE_IF,
                            FILE_NON_DIRECTORY_FILE,
                            GENERIC_WRITE,
                            ALL_SHARE,
                        )
                        .is_ok_and(|c| {
                            let mut c = c.ccb;
                            let w = fsd::write::write(
                                t.vol(),
                                &mut c,
                                fsd::write::WriteAt::Offset(0),
                                &data,
                            );
                            t.close(c);
                            w.status == NtStatus::SUCCESS
                        });
                    let host_ok = !read_only && !h.is_dir() && std::fs::write(&h, &data).is_ok();
                    ("write", fsd_ok, host_ok)
                }
                1 | 2 => {
                    let got = open_read(&t, &path).ok().and_then(|mut c| {
                        let mut buf = [0u8; 64];
                        let r = fsd::read::read(t.vol(), &mut c, Some(0), &mut buf);
                        t.close(c);
                        match r.status {
                            NtStatus::SUCCESS => Some(buf[..r.information as usize].to_vec()),
                            NtStatus::END_OF_FILE => Some(Vec::new()),
                            _ => None,
                        }
                    });
                    let want = std::fs::read(&h).ok();
                    assert_eq!(got, want, "seed {seed} step {step}: read {name}");
                    ("read", true, true)
                }
                3 => {
                    let to = names[next(names.len())];
                    let replace = next(2) == 0;
                    let fsd_ok = t
                        .create(&path, FILE_OPEN, 0, DELETE, ALL_SHARE)
                        .is_ok_and(|c| {
                            let mut c = c.ccb;
                            let req = rename(&format!("\\{to}"), replace);
                            let s = fileinfo::set(t.vol(), &mut c, &req, None).status;
                            t.close(c);
                            s == NtStatus::SUCCESS
                        });
                    let target = on_host(to);
                    let target_read_only = target
                        .symlink_metadata()
                        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o222 == 0);
                    let allowed = target == h
                        || !target.exists()
                        || (replace && !target.is_dir() && !h.is_dir() && !target_read_only);
                    let host_ok = h.exists()
                        && allowed
                        && (target == h || !target.starts_with(&h))
                        && std::fs::rename(&h, &target).is_ok();
                    ("rename", fsd_ok, host_ok)
                }
                4 => {
                    let delete = SetRequest::Disposition(fileinfo::FILE_DISPOSITION_DELETE);
                    let fsd_ok = t
                        .create(&path, FILE_OPEN, 0, DELETE, ALL_SHARE)
                        .is_ok_and(|c| {
                            let mut c = c.ccb;
                            let s = fileinfo::set(t.vol(), &mut c, &delete, None).status;
                            t.close(c);
                            s == NtStatus::SUCCESS
                        });
                    let host_ok = if h.is_dir() {
                        std::fs::remove_dir(&h).is_ok()
                    } else {
                        !read_only && std::fs::remove_file(&h).is_ok()
                    };
                    ("delete", fsd_ok, host_ok)
                }
                5 => {
                    let make_read_only = next(2) == 0;
                    let attributes = if make_read_only {
                        fsd::attributes::READONLY
                    } else {
                        fsd::attributes::NORMAL
                    };
                    let basic = SetRequest::Basic {
                        creation: 0,
                        access: 0,
                        write: 0,
                        change: 0,
                        attributes,
                    };
                    let fsd_ok = t
                        .create(
                            &path,
                            FILE_OPEN,
                            FILE_NON_DIRECTORY_FILE,
                            FILE_WRITE_ATTRIBUTES,
                            ALL_SHARE,
                        )
                        .is_ok_and(|c| {
                            let mut c = c.ccb;
                            let s = fileinfo::set(t.vol(), &mut c, &basic, None).status;
                            t.close(c);
                            s == NtStatus::SUCCESS
                        });
                    let mode = if make_read_only { 0o444 } else { 0o644 };
                    let host_ok = h.is_file()
                        && std::fs::set_permissions(&h, std::fs::Permissions::from_mode(mode))
                            .is_ok();
                    ("chmod", fsd_ok, host_ok)
                }
                6 => {
                    let made = t.create(
                        &path,
                        FILE_CREATE,
                        FILE_DIRECTORY_FILE,
                        GENERIC_READ,
                        ALL_SHARE,
                    );
                    let fsd_ok = made.is_ok_and(|c| {
                        t.close(c.ccb);
                        true
                    });
                    ("mkdir", fsd_ok, std::fs::create_dir(&h).is_ok())
                }
                _ => unreachable!("seven kinds of step"),
            };
            assert_eq!(fsd_ok, host_ok, "seed {seed} step {step}: {what} {name}");
        }
        for dir in ["", "d", "e"] {
            let mut host_names: Vec<String> = std::fs::read_dir(on_host(dir))
                .map(|entries| {
                    let names = entries.map(|e| e.unwrap().file_name().into_string().unwrap());
                    names.collect()
                })
                .unwrap_or_default();
            host_names.sort();
            let listed = list(&t, &format!("\\{dir}"));
            assert_eq!(listed, host_names, "seed {seed}: the names in \\{dir}");
        }
        t.finish();
    }
}

/// The names in directory `name` (none if it is not one), sorted, without
/// ".", ".." and mkfs's lost+found.
fn list(t: &TestVolume, name: &str) -> Vec<String> {
    let Ok(mut dir) = t.create(
        name,
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
        GENERIC_READ,
        ALL_SHARE,
    ) else {
        return Vec::new();
    };
    let query = fsd::dirctrl::QueryDirectory {
        class: fsd::dirctrl::FILE_NAMES_INFORMATION,
        pattern: None,
        restart_scan: false,
        return_single_entry: false,
        index: None,
    };
    let mut out = [0u8; 4096];
    let mut names = Vec::new();
    while fsd::dirctrl::query_directory(t.vol(), &mut dir.ccb, &query, &mut out).status
        == NtStatus::SUCCESS
    {
        let mut at = 0;
        loop {
            names.push(name_at(&out, at + 12, u32_at(&out, at + 8) as usize));
            match u32_at(&out, at) {
                0 => break,
                next => at += next as usize,
            }
        }
    }
    t.close(dir.ccb);
    names.retain(|n| ![".", "..", "lost+found"].contains(&n.as_str()));
    names.sort();
    names
}
