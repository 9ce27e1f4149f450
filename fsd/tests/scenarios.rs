//! Scenarios written the way Windows programs use files, each generic over
//! a [`Drive`]: here run on the fsd core on ext4, vfat and btrfs (checked on
//! disk with each file system's own tools: debugfs and e2fsck, mtools and
//! fsck.vfat, btrfs restore and btrfs check), and through the Windows half
//! (lklfsd.sys under Wine, each request relayed as a real IRP).
mod common;
#[path = "common/driver_drive.rs"]
mod driver_drive;

use common::drive::{Drive, FsdDrive};
use common::*;
use driver_drive::{build_driver, z_path, DriverDrive, Installed};
use fsd::access::*;
use fsd::create::*;
use fsd::{dirctrl, fileinfo, security, volinfo, NtStatus};

const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

fn tree(root: &std::path::Path) {
    std::fs::create_dir(root.join("docs")).unwrap();
    for name in ["a.txt", "b.txt", "c.log"] {
        std::fs::write(root.join("docs").join(name), name).unwrap();
    }
    std::fs::write(root.join("target.txt"), b"old contents").unwrap();
    std::os::unix::fs::symlink("docs/a.txt", root.join("shortcut")).unwrap();
}

fn ok(c: fsd::Completion) -> u64 {
    assert_eq!(c.status, NtStatus::SUCCESS, "{c:?}");
    c.information
}

fn rename_info(replace: bool, name: &str) -> Vec<u8> {
    let name: Vec<u8> = name.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
    let mut b = vec![0u8; 20];
    b[0] = replace as u8;
    b[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend_from_slice(&name);
    b.resize(b.len().max(24), 0);
    b
}

/// An editor saving a document: create, write, reopen, read, overwrite.
fn editor_saves<D: Drive>(d: &D) {
    let (mut h, info) = d
        .create(
            "\\note.txt",
            FILE_OPEN_IF,
            FILE_NON_DIRECTORY_FILE,
            GENERIC_WRITE,
            0,
        )
        .unwrap();
    assert_eq!(info, FILE_CREATED);
    assert_eq!(ok(d.write(&mut h, Some(0), b"first draft")), 11);
    d.close(h);
    let (mut h, info) = d
        .create("\\note.txt", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(info, FILE_OPENED);
    let mut buf = [0u8; 64];
    assert_eq!(ok(d.read(&mut h, 0, &mut buf)), 11);
    assert_eq!(&buf[..11], b"first draft");
    let mut standard = [0u8; 24];
    ok(d.query_information(&h, fileinfo::FILE_STANDARD_INFORMATION, &mut standard));
    assert_eq!(u64_at(&standard, 8), 11);
    d.close(h);
    let (mut h, info) = d
        .create("\\note.txt", FILE_OVERWRITE_IF, 0, GENERIC_WRITE, 0)
        .unwrap();
    assert_eq!(info, FILE_OVERWRITTEN);
    ok(d.write(&mut h, None, b"final"));
    d.close(h);
}

/// Saving through a temporary file renamed over the original, which
/// Windows refuses while the original is open elsewhere.
fn replace_by_rename<D: Drive>(d: &D) {
    let (mut tmp, _) = d
        .create("\\target.tmp", FILE_CREATE, 0, GENERIC_WRITE | DELETE, 0)
        .unwrap();
    ok(d.write(&mut tmp, Some(0), b"new contents"));
    let (reader, _) = d
        .create("\\target.txt", FILE_OPEN, 0, GENERIC_READ, SHARE_ALL)
        .unwrap();
    let status = d
        .set_information(
            &mut tmp,
            fileinfo::FILE_RENAME_INFORMATION,
            &rename_info(true, "\\target.txt"),
        )
        .status;
    assert_eq!(status, NtStatus::ACCESS_DENIED, "replacing an open file");
    d.close(reader);
    let no_replace = d.set_information(
        &mut tmp,
        fileinfo::FILE_RENAME_INFORMATION,
        &rename_info(false, "\\target.txt"),
    );
    assert_eq!(no_replace.status, NtStatus::OBJECT_NAME_COLLISION);
    ok(d.set_information(
        &mut tmp,
        fileinfo::FILE_RENAME_INFORMATION,
        &rename_info(true, "\\target.txt"),
    ));
    d.close(tmp);
}

/// A file manager listing a folder, all of it and by pattern.
fn file_manager_lists<D: Drive>(d: &D) {
    let (mut dir, _) = d
        .create(
            "\\docs",
            FILE_OPEN,
            FILE_DIRECTORY_FILE,
            FILE_LIST_DIRECTORY,
            SHARE_ALL,
        )
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let class = dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION;
    let names = |buf: &[u8]| {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            out.push(name_at(buf, at + 104, u32_at(buf, at + 60) as usize));
            match u32_at(buf, at) {
                0 => return out,
                next => at += next as usize,
            }
        }
    };
    ok(d.query_directory(&mut dir, class, Some("*"), true, &mut buf));
    assert_eq!(names(&buf), [".", "..", "a.txt", "b.txt", "c.log"]);
    assert_eq!(
        d.query_directory(&mut dir, class, None, false, &mut buf)
            .status,
        NtStatus::NO_MORE_FILES
    );
    ok(d.query_directory(&mut dir, class, Some("*.TXT"), true, &mut buf));
    assert_eq!(names(&buf), ["a.txt", "b.txt"]);
    d.close(dir);
}

/// A temporary file that goes away with its handle; and sharing rules.
fn temporary_and_shared<D: Drive>(d: &D) {
    let (mut t, _) = d
        .create(
            "\\scratch.tmp",
            FILE_CREATE,
            FILE_DELETE_ON_CLOSE,
            GENERIC_WRITE | DELETE,
            0,
        )
        .unwrap();
    ok(d.write(&mut t, Some(0), b"temporary"));
    d.close(t);
    assert_eq!(
        d.create("\\scratch.tmp", FILE_OPEN, 0, GENERIC_READ, SHARE_ALL)
            .err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    let (a, _) = d
        .create("\\docs\\a.txt", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(
        d.create("\\docs\\a.txt", FILE_OPEN, 0, GENERIC_WRITE, SHARE_ALL)
            .err(),
        Some(NtStatus::SHARING_VIOLATION)
    );
    d.close(a);
}

/// Two handles coordinating with byte-range locks.
fn record_locking<D: Drive>(d: &D) {
    let (mut a, _) = d
        .create(
            "\\docs\\b.txt",
            FILE_OPEN,
            0,
            GENERIC_READ | GENERIC_WRITE,
            SHARE_ALL,
        )
        .unwrap();
    let (mut b, _) = d
        .create(
            "\\docs\\b.txt",
            FILE_OPEN,
            0,
            GENERIC_READ | GENERIC_WRITE,
            SHARE_ALL,
        )
        .unwrap();
    ok(d.lock(&a, 0, 4, true));
    assert_eq!(d.lock(&b, 2, 1, false).status, NtStatus::LOCK_NOT_GRANTED);
    assert_eq!(
        d.write(&mut b, Some(1), b"x").status,
        NtStatus::FILE_LOCK_CONFLICT
    );
    ok(d.write(&mut a, Some(1), b"y"));
    ok(d.unlock(&a, 0, 4));
    ok(d.write(&mut b, Some(0), b"z"));
    d.close(b);
    d.close(a);
}

/// Properties a shell shows: a link's target, EAs, the owner, the volume.
fn properties<D: Drive>(d: &D) {
    let (link, _) = d
        .create(
            "\\shortcut",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            SHARE_ALL,
        )
        .unwrap();
    let mut tag = [0u8; 8];
    ok(d.query_information(&link, fileinfo::FILE_ATTRIBUTE_TAG_INFORMATION, &mut tag));
    assert_eq!(u32_at(&tag, 4), fsd::attributes::IO_REPARSE_TAG_SYMLINK);
    let mut reparse = [0u8; 128];
    ok(d.get_reparse_point(&link, &mut reparse));
    let len = u16::from_le_bytes([reparse[10], reparse[11]]) as usize;
    assert_eq!(name_at(&reparse, 20, len), "docs\\a.txt");
    d.close(link);

    let (mut f, _) = d
        .create(
            "\\docs\\c.log",
            FILE_OPEN,
            0,
            GENERIC_READ | GENERIC_WRITE,
            SHARE_ALL,
        )
        .unwrap();
    let mut ea = vec![0u8; 8];
    ea[5] = 6;
    ea[6..8].copy_from_slice(&3u16.to_le_bytes());
    ea.extend_from_slice(b"AUTHOR\0abc");
    ok(d.set_ea(&f, &ea));
    let mut buf = [0u8; 64];
    let n = ok(d.query_ea(&mut f, &mut buf)) as usize;
    assert_eq!(&buf[..n], &ea[..]);
    let mut sd = [0u8; 256];
    ok(d.query_security(&f, security::OWNER_SECURITY_INFORMATION, &mut sd));
    let owner = u32_at(&sd, 4) as usize;
    assert_eq!(
        &sd[owner..owner + 8],
        &[1, 2, 0, 0, 0, 0, 0, 22],
        "S-1-22-1-uid"
    );
    d.close(f);

    let mut attr = [0u8; 64];
    ok(d.query_volume_information(volinfo::FILE_FS_ATTRIBUTE_INFORMATION, &mut attr));
    let flags = u32_at(&attr, 0);
    assert_ne!(flags & volinfo::FILE_CASE_PRESERVED_NAMES, 0);
    assert_ne!(flags & volinfo::FILE_UNICODE_ON_DISK, 0);
}

/// The scenarios any file system holds: plain files and directories.
fn plain_files<D: Drive>(d: &D) {
    editor_saves(d);
    replace_by_rename(d);
    file_manager_lists(d);
    temporary_and_shared(d);
    record_locking(d);
}

#[test]
fn windows_programs_on_an_ext4_volume() {
    let mut t = TestVolume::new("scenarios", &[], tree);
    let d = FsdDrive(t.vol());
    plain_files(&d);
    properties(&d);
    t.finish();
    assert_eq!(t.debugfs("cat /note.txt"), "final");
    assert_eq!(t.debugfs("cat /target.txt"), "new contents");
    assert!(!t.debugfs("ls /").contains("target.tmp"));
    assert!(!t.debugfs("ls /").contains("scratch.tmp"));
    assert_eq!(t.debugfs("cat /docs/b.txt"), "zytxt");
    assert!(t.debugfs("ea_list /docs/c.log").contains("user.author"));
}

/// The scenarios a FAT volume can hold (no symlinks, EAs or owners), on
/// vfat made by mkfs.vfat and filled by mtools; checked with fsck.vfat
/// and read back with mtools.
#[test]
fn windows_programs_on_a_vfat_volume() {
    let fat_tree = |root: &std::path::Path| {
        std::fs::create_dir(root.join("docs")).unwrap();
        for name in ["a.txt", "b.txt", "c.log"] {
            std::fs::write(root.join("docs").join(name), name).unwrap();
        }
        std::fs::write(root.join("target.txt"), b"old contents").unwrap();
    };
    let mut t = TestVolume::made_by(
        "scenarios-vfat",
        fat_tree,
        &["fsck.vfat", "-n"],
        |tree, image| {
            let image = image.display().to_string();
            run("mkfs.vfat", &["-C", &image, "32768"]);
            for name in ["docs", "target.txt"] {
                let from = tree.join(name).display().to_string();
                run("mcopy", &["-s", "-m", "-i", &image, &from, "::/"]);
            }
        },
    )
    .mounted(fsd::VolumeOptions::default());
    let d = FsdDrive(t.vol());
    plain_files(&d);
    t.finish();
    let image = t.image.display().to_string();
    let mtype = |name: &str| run("mtype", &["-i", &image, &format!("::{name}")]);
    assert_eq!(mtype("/note.txt"), "final");
    assert_eq!(mtype("/target.txt"), "new contents");
    assert_eq!(mtype("/docs/b.txt"), "zytxt");
    let root = run("mdir", &["-b", "-i", &image, "::/"]);
    assert!(
        !root.contains("target.tmp") && !root.contains("scratch.tmp"),
        "{root}"
    );
}

/// Every scenario on btrfs made by mkfs.btrfs --rootdir; checked with
/// btrfs check and read back with btrfs restore.
#[test]
fn windows_programs_on_a_btrfs_volume() {
    let mut t = TestVolume::made_by("scenarios-btrfs", tree, &["btrfs", "check"], make_btrfs)
        .mounted(fsd::VolumeOptions::default());
    let d = FsdDrive(t.vol());
    plain_files(&d);
    properties(&d);
    t.finish();
    let out = t.dir.join("restored");
    std::fs::create_dir(&out).unwrap();
    run(
        "btrfs",
        &[
            "restore",
            "-x",
            "-S",
            &t.image.display().to_string(),
            &out.display().to_string(),
        ],
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("note.txt"), "final");
    assert_eq!(read("target.txt"), "new contents");
    assert_eq!(read("docs/b.txt"), "zytxt");
    assert!(!out.join("target.tmp").exists() && !out.join("scratch.tmp").exists());
    assert_eq!(
        std::fs::read_link(out.join("shortcut")).unwrap(),
        std::path::Path::new("docs/a.txt")
    );
}

/// The same scenarios through lklfsd.sys under Wine: every request a
/// real IRP served by the driver's per-major-function modules on an ext4
/// image made by mkfs.ext4 -d; checked with debugfs and e2fsck.
#[test]
fn windows_programs_through_the_driver_under_wine() {
    let driver = build_driver();
    let dir = std::env::temp_dir().join(format!("fsd-scenarios-driver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tree")).unwrap();
    tree(&dir.join("tree"));
    let image = dir.join("disk.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-d",
            &dir.join("tree").display().to_string(),
            &image.display().to_string(),
        ],
    );
    let installed = Installed::new(&driver);
    assert_eq!(installed.ctl_ok(&["attach", &z_path(&image)]), "0");
    let volume: u32 = installed.ctl_ok(&["mount", "0"]).parse().unwrap();
    let d = DriverDrive::start(&installed, volume);
    plain_files(&d);
    properties(&d);
    drop(d);
    installed.ctl_ok(&["detach", "0"]);
    installed.stop();
    let debugfs = |req: &str| run("debugfs", &["-R", req, &image.display().to_string()]);
    assert_eq!(debugfs("cat /note.txt"), "final");
    assert_eq!(debugfs("cat /target.txt"), "new contents");
    assert!(!debugfs("ls /").contains("target.tmp"));
    assert!(!debugfs("ls /").contains("scratch.tmp"));
    assert_eq!(debugfs("cat /docs/b.txt"), "zytxt");
    assert!(debugfs("ea_list /docs/c.log").contains("user.author"));
    run("e2fsck", &["-fn", &image.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
}
