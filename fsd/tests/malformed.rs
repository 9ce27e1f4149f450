//! Malformed request buffers, as a careless or hostile caller sends them:
//! every valid buffer cut at each length and mutated at random (a fixed
//! seed). Every request answers with a status, never reports more output
//! than the buffer holds nor writes past what it reports, and a request
//! that fails changes nothing: the whole tree (names, types, modes,
//! owners, sizes, modification times, contents, link targets, xattrs) is
//! compared through the kernel before and after, and so is the kernel's
//! tree outside the volumes, with the descriptors the process holds.
mod common;
#[path = "../../tests/support/rng.rs"]
mod rng;

use std::collections::BTreeMap;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{self, SetRequest};
use fsd::{ea, fsctl, security, volinfo, Ccb, NtStatus};
use lkl::uapi::{self, nr};
use lkl::{sys, Errno};
use rng::Rng;

const RW: u32 = GENERIC_READ | GENERIC_WRITE | DELETE | WRITE_DAC | WRITE_OWNER;
/// Random mutations of each valid buffer, besides its truncations.
const MUTATIONS: usize = 400;

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir/empty-dir")).unwrap();
    std::fs::write(root.join("dir/a.txt"), b"0123456789").unwrap();
    std::fs::write(root.join("dir/b.txt"), b"other").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("dir/a.txt", root.join("link")).unwrap();
}

/// `seed` cut at every length, then `MUTATIONS` copies with a few bytes,
/// a length-like word or the end changed.
fn malformed(seed: &[u8], rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..seed.len()).map(|n| seed[..n].to_vec()).collect();
    for _ in 0..MUTATIONS {
        let mut b = seed.to_vec();
        for _ in 0..1 + rng.below(3) {
            match rng.below(4) {
                0 if !b.is_empty() => {
                    let at = rng.below(b.len());
                    b[at] = [0, 0xFF, 0x7F, 0x80, rng.next() as u8][rng.below(5)];
                }
                1 if b.len() >= 4 => {
                    let at = rng.below(b.len() / 2) * 2;
                    let at = at.min(b.len() - 4);
                    let len = seed.len() as u32;
                    let word = [0, 1, 2, len - 1, len, len + 1, u32::MAX, 0x8000][rng.below(8)];
                    b[at..at + 4].copy_from_slice(&word.to_le_bytes());
                }
                2 => b.extend((0..1 + rng.below(8)).map(|_| rng.next() as u8)),
                _ => b.truncate(rng.below(b.len() + 1)),
            }
        }
        out.push(b);
    }
    out
}

/// What one file is, as the kernel tells it.
#[derive(Debug, PartialEq)]
struct Entry {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    size: i64,
    mtime: (i64, u64),
    data: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

fn xattr_call(n: i64, path: &[u8], name: Option<&[u8]>, buf: &mut [u8]) -> Result<usize, Errno> {
    let path = [path, b"\0"].concat();
    let name = name.map(|n| [n, b"\0"].concat());
    let mut args = [sys::arg(path.as_ptr()), 0, 0, 0, 0, 0];
    let mut at = 1;
    if let Some(name) = &name {
        args[1] = sys::arg(name.as_ptr());
        at = 2;
    }
    args[at] = sys::arg(buf.as_mut_ptr());
    args[at + 1] = buf.len() as i64;
    // SAFETY: the path and name are NUL-terminated and live across the
    // call; the kernel writes at most `buf.len()` bytes into `buf`.
    Errno::from_ret(unsafe { sys::syscall(n, args) }).map(|n| n as usize)
}

fn xattrs(path: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut names = vec![0u8; 64 << 10];
    let n = xattr_call(nr::LLISTXATTR, path, None, &mut names).unwrap();
    names[..n]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|name| {
            let mut value = vec![0u8; 64 << 10];
            let len = xattr_call(nr::LGETXATTR, path, Some(name), &mut value).unwrap();
            (name.to_vec(), value[..len].to_vec())
        })
        .collect()
}

/// Every file below `dir`, by path.
fn snapshot_into(dir: &[u8], out: &mut BTreeMap<Vec<u8>, Entry>) {
    let st = sys::newfstatat(uapi::AT_FDCWD, dir, uapi::AT_SYMLINK_NOFOLLOW).unwrap();
    let kind = st.st_mode & uapi::S_IFMT;
    let data = match kind {
        uapi::S_IFLNK => sys::readlinkat(uapi::AT_FDCWD, dir).unwrap(),
        // Big sparse files (a truncation that extends) are told by size.
        uapi::S_IFREG if st.st_size <= 1 << 20 => {
            let fd = sys::openat(uapi::AT_FDCWD, dir, uapi::O_RDONLY, 0).unwrap();
            let mut data = vec![0u8; st.st_size as usize];
            let n = sys::pread64(fd, &mut data, 0).unwrap();
            sys::close(fd).unwrap();
            data.truncate(n);
            data
        }
        _ => Vec::new(),
    };
    out.insert(
        dir.to_vec(),
        Entry {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            data,
            xattrs: xattrs(dir),
        },
    );
    if kind == uapi::S_IFDIR {
        let fd = sys::openat(uapi::AT_FDCWD, dir, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
        let mut buf = vec![0u8; 64 << 10];
        let n = sys::getdents64(fd, &mut buf).unwrap();
        sys::close(fd).unwrap();
        for name in sys::dirent_names(&buf[..n]) {
            if ![&b"."[..], b"..", b"lost+found"].contains(&name) {
                snapshot_into(&[dir, b"/", name].concat(), out);
            }
        }
    }
}

fn snapshot(t: &TestVolume) -> BTreeMap<Vec<u8>, Entry> {
    let mut out = BTreeMap::new();
    snapshot_into(t.vol().root().as_bytes(), &mut out);
    out
}

/// NT_ERROR: failed, with nothing to give back.
fn is_error(s: NtStatus) -> bool {
    s.0 >= 0xC000_0000
}

/// Not NT_SUCCESS: failed, or (a warning) done only in part.
fn fails(s: NtStatus) -> bool {
    s.0 >= 0x8000_0000
}

/// Opens `name` (made anew as an empty file if a request before deleted
/// or moved it) for `options`.
fn kernel_path(t: &TestVolume, name: &str) -> String {
    format!("{}{}", t.vol().root(), name.replace('\\', "/"))
}

fn open(t: &TestVolume, name: &str, options: u32) -> Ccb {
    let created = t.create(name, FILE_OPEN_IF, options, RW, 7).or_else(|e| {
        // Made read-only by a request before: writable again.
        assert_eq!(e, NtStatus::ACCESS_DENIED, "open {name}");
        sys::fchmodat(uapi::AT_FDCWD, kernel_path(t, name), 0o755).unwrap();
        t.create(name, FILE_OPEN_IF, options, RW, 7)
    });
    created.unwrap_or_else(|e| panic!("open {name}: {e:?}")).ccb
}

/// Runs `request` on a fresh open of `name` for each malformed copy of
/// `seed`: a request that fails must leave the tree as it was. Returns
/// how many failed.
fn each_malformed(
    t: &TestVolume,
    rng: &mut Rng,
    name: &str,
    options: u32,
    seed: &[u8],
    mut request: impl FnMut(&mut Ccb, &[u8]) -> NtStatus,
) -> usize {
    let mut failed = 0;
    for (i, input) in malformed(seed, rng).into_iter().enumerate() {
        let mut c = open(t, name, options);
        // Times no request sets, so that any change of them shows.
        let time = uapi::Timespec {
            tv_sec: 1_000_000_000 + i as i64,
            tv_nsec: 0,
        };
        let path = kernel_path(t, name);
        sys::utimensat(uapi::AT_FDCWD, &path, Some(&[time, time]), 0).unwrap();
        let before = snapshot(t);
        let outside = outside_volumes();
        let status = request(&mut c, &input);
        assert_eq!(
            outside_volumes(),
            outside,
            "{status:?} reached outside the volume"
        );
        if fails(status) {
            failed += 1;
            let after = snapshot(t);
            for (path, entry) in &before {
                assert_eq!(
                    after.get(path),
                    Some(entry),
                    "{status:?} changed {} ({name}, input of {} bytes {:02x?})",
                    String::from_utf8_lossy(path),
                    input.len(),
                    &input[..input.len().min(64)]
                );
            }
            assert_eq!(before.len(), after.len(), "{status:?} added a file");
        }
        // A successful delete-on-close or disposition goes with the close.
        t.close(c);
    }
    failed
}

fn rename_buffer(word: u32, name: &str) -> Vec<u8> {
    let name: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut b = vec![0u8; 20];
    b[0..4].copy_from_slice(&word.to_le_bytes());
    b[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend_from_slice(&name);
    b
}

#[test]
fn malformed_set_requests_change_nothing() {
    let mut t = TestVolume::new("malformed-set", &[], tree);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut basic = vec![0u8; 40];
    basic[16..24].copy_from_slice(&fsd::time::to_windows(1_400_000_000, 0).to_le_bytes());
    basic[32..36].copy_from_slice(&fsd::attributes::READONLY.to_le_bytes());
    // Times with an attribute a file cannot take: neither is set.
    let mut directory = basic.clone();
    directory[32..36].copy_from_slice(&fsd::attributes::DIRECTORY.to_le_bytes());
    let seeds: [(u32, Vec<u8>); 11] = [
        (fileinfo::FILE_BASIC_INFORMATION, basic),
        (fileinfo::FILE_BASIC_INFORMATION, directory),
        (
            fileinfo::FILE_END_OF_FILE_INFORMATION,
            4u64.to_le_bytes().to_vec(),
        ),
        (
            fileinfo::FILE_ALLOCATION_INFORMATION,
            2u64.to_le_bytes().to_vec(),
        ),
        (
            fileinfo::FILE_POSITION_INFORMATION,
            3u64.to_le_bytes().to_vec(),
        ),
        (fileinfo::FILE_DISPOSITION_INFORMATION, vec![1]),
        (
            fileinfo::FILE_DISPOSITION_INFORMATION_EX,
            3u32.to_le_bytes().to_vec(),
        ),
        (
            fileinfo::FILE_RENAME_INFORMATION,
            rename_buffer(1, "\\dir\\b.txt"),
        ),
        (
            fileinfo::FILE_RENAME_INFORMATION_EX,
            rename_buffer(3, "\\c.txt"),
        ),
        (
            fileinfo::FILE_LINK_INFORMATION,
            rename_buffer(0, "\\dir\\l.txt"),
        ),
        (
            fileinfo::FILE_LINK_INFORMATION_EX,
            rename_buffer(0x41, "\\dir\\b.txt"),
        ),
    ];
    let mut failed = 0;
    for (class, seed) in &seeds {
        for name in ["\\dir\\a.txt", "\\dir\\empty-dir"] {
            failed +=
                each_malformed(
                    &t,
                    &mut rng,
                    name,
                    0,
                    seed,
                    |c, input| match SetRequest::decode(*class, input) {
                        Ok(req) => fileinfo::set(t.vol(), c, &req, None).status,
                        Err(e) => e,
                    },
                );
        }
    }
    assert!(failed > seeds.len() * 100, "only {failed} requests failed");
    t.finish();
}

#[test]
fn malformed_eas_security_and_reparse_points_change_nothing() {
    let mut t = TestVolume::new("malformed-other", &[], tree);
    let mut rng = Rng(0x5EED_1234_ABCD_0002);
    let big = vec![7u8; 60_000];
    let ea_seeds = [
        ea_list(&[("FIRST", b"one"), ("SECOND", b"two")]),
        // The second value does not fit in an inode's xattr space: the
        // first may not be set either.
        ea_list(&[("SMALL", b"x"), ("HUGE", &big)]),
    ];
    for seed in &ea_seeds {
        let failed = each_malformed(&t, &mut rng, "\\dir\\a.txt", 0, seed, |c, input| {
            ea::set(t.vol(), c, input).status
        });
        assert!(failed > 100, "only {failed} EA lists failed");
    }

    let c = open(&t, "\\dir\\a.txt", 0);
    let mut sd = vec![0u8; 512];
    let all = security::OWNER_SECURITY_INFORMATION
        | security::GROUP_SECURITY_INFORMATION
        | security::DACL_SECURITY_INFORMATION;
    let r = security::query(t.vol(), &c, all, &mut sd);
    assert_eq!(r.status, NtStatus::SUCCESS);
    sd.truncate(r.information as usize);
    t.close(c);
    // A read-only mode, so that a set that succeeds changes something.
    let dacl_at = u32_at(&sd, 16) as usize;
    sd[dacl_at + 8 + 4..dacl_at + 8 + 8].copy_from_slice(&0x0012_00A9u32.to_le_bytes());
    let failed = each_malformed(&t, &mut rng, "\\dir\\a.txt", 0, &sd, |c, input| {
        security::set(t.vol(), c, all, input).status
    });
    assert!(failed > 100, "only {failed} security descriptors failed");

    let long = vec!["\u{4E16}".repeat(80); 20].join("\\");
    for seed in [
        symlink_reparse("dir\\a.txt", true),
        symlink_reparse("\\etc\\passwd", false),
        // Longer than Linux takes for a symlink target once in UTF-8.
        symlink_reparse(&long, true),
    ] {
        for (name, options) in [("\\empty", 0), ("\\dir\\empty-dir", FILE_DIRECTORY_FILE)] {
            let failed = each_malformed(&t, &mut rng, name, options, &seed, |c, input| {
                let status = fsctl::set_reparse_point(t.vol(), c, input).status;
                if status == NtStatus::SUCCESS {
                    // Back to an empty file for the next request; a
                    // directory is made again by the next open.
                    let mut link = t
                        .create(name, FILE_OPEN, FILE_OPEN_REPARSE_POINT, RW, 7)
                        .unwrap()
                        .ccb;
                    let deleted = fsctl::delete_reparse_point(t.vol(), &mut link).status;
                    assert_eq!(deleted, NtStatus::SUCCESS);
                    t.close(link);
                    if options != 0 {
                        let path = format!("{}/dir/empty-dir", t.vol().root());
                        sys::unlinkat(uapi::AT_FDCWD, &path, 0).unwrap();
                    }
                }
                status
            });
            assert!(failed > 100, "only {failed} reparse buffers failed");
        }
    }
    t.finish();
}

/// Each query with every output length up to a full answer: never more
/// Information than the buffer (but the length a security query says it
/// needs), nothing written past it.
#[test]
fn queries_keep_to_their_buffers() {
    let mut t = TestVolume::new("malformed-query", &[], tree);
    let mut c = open(&t, "\\dir\\a.txt", 0);
    let eas = ea_list(&[("NAME", b"value")]);
    assert_eq!(ea::set(t.vol(), &c, &eas).status, NtStatus::SUCCESS);
    let mut link = t
        .create(
            "\\link",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            GENERIC_READ,
            7,
        )
        .unwrap()
        .ccb;
    let mut dir = open(&t, "\\dir", FILE_DIRECTORY_FILE);
    const SENTINEL: u8 = 0xA5;
    let check = |what: &str, len: usize, out: &[u8], r: fsd::Completion, needs: bool| {
        let information = r.information as usize;
        if is_error(r.status) {
            if !(needs && r.status == NtStatus::BUFFER_TOO_SMALL) {
                assert_eq!(information, 0, "{what} at {len}: {:?}", r.status);
            }
            return;
        }
        assert!(information <= len, "{what} at {len}: {information}");
        assert!(
            out[information..].iter().all(|&b| b == SENTINEL),
            "{what} at {len}: written past {information} ({:?})",
            r.status
        );
    };
    for len in 0..=400 {
        let mut out = vec![SENTINEL; len];
        for class in 1..=80 {
            out.fill(SENTINEL);
            let r = fileinfo::query(t.vol(), &c, class, &mut out);
            check(&format!("file class {class}"), len, &out, r, false);
            out.fill(SENTINEL);
            let r = volinfo::query(t.vol(), class, &mut out);
            check(&format!("volume class {class}"), len, &out, r, false);
        }
        for which in 0..16 {
            out.fill(SENTINEL);
            let r = security::query(t.vol(), &c, which, &mut out);
            check(&format!("security {which}"), len, &out, r, true);
        }
        out.fill(SENTINEL);
        let r = fsctl::get_reparse_point(t.vol(), &link, &mut out);
        check("reparse point", len, &out, r, false);
        out.fill(SENTINEL);
        let req = ea::QueryEa {
            ea_list: None,
            index: None,
            restart_scan: true,
            return_single_entry: false,
        };
        let r = ea::query(t.vol(), &mut c, &req, &mut out);
        check("EAs", len, &out, r, false);
        for class in [1, 2, 3, 12, 37, 38, 60, 63, 77] {
            out.fill(SENTINEL);
            let req = fsd::dirctrl::QueryDirectory {
                class,
                pattern: None,
                restart_scan: true,
                return_single_entry: false,
                index: None,
            };
            let r = fsd::dirctrl::query_directory(t.vol(), &mut dir, &req, &mut out);
            check(&format!("directory class {class}"), len, &out, r, false);
        }
    }
    fsd::close::close(
        t.vol(),
        std::mem::replace(&mut link, open(&t, "\\empty", 0)),
    );
    t.close(link);
    t.close(dir);
    t.close(c);
    t.finish();
}

/// A name made of pieces Windows callers send, well-formed or not:
/// separators, dots, wildcards, NULs, lone surrogates, private-use code
/// points, long runs.
fn random_name(rng: &mut Rng) -> Vec<u16> {
    const PIECES: [&[u16]; 19] = [
        &[0x5C],
        &[0x5C, 0x5C],
        &[0x2E],
        &[0x2E, 0x2E],
        &[0x64, 0x69, 0x72],
        &[0x61, 0x2E, 0x74, 0x78, 0x74],
        &[0x41, 0x2E, 0x54, 0x58, 0x54],
        &[0x2A],
        &[0x3F, 0x3C, 0x3E, 0x22],
        &[0x3A],
        &[0],
        &[0xD800],
        &[0xDC00, 0xD800],
        &[0xF020, 0xF03A],
        &[0xF02E],
        &[0xF02E, 0xF02E],
        &[0x2E, 0xF02E],
        &[0x20],
        &[0x4E16, 0xD83D, 0xDE00],
    ];
    let mut name = Vec::new();
    for _ in 0..rng.below(8) {
        if rng.below(16) == 0 {
            name.extend(std::iter::repeat_n(0x78, 1 + rng.below(300)));
        } else {
            name.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    name
}

#[test]
fn malformed_names_change_nothing() {
    let mut t = TestVolume::new("malformed-names", &[], tree);
    let mut rng = Rng(0x5EED_1234_ABCD_0003);
    let dispositions = [
        FILE_SUPERSEDE,
        FILE_OPEN,
        FILE_CREATE,
        FILE_OPEN_IF,
        FILE_OVERWRITE,
        FILE_OVERWRITE_IF,
        6,
    ];
    let options = [
        0,
        FILE_DIRECTORY_FILE,
        FILE_NON_DIRECTORY_FILE,
        FILE_DELETE_ON_CLOSE,
        FILE_OPEN_REPARSE_POINT,
    ];
    let (mut failed, mut succeeded) = (0, 0);
    for _ in 0..3000 {
        let name = random_name(&mut rng);
        let related = match rng.below(3) {
            0 => Some(open(&t, "\\dir", FILE_DIRECTORY_FILE)),
            1 => Some(open(&t, "\\dir\\b.txt", 0)),
            _ => None,
        };
        let req = CreateRequest {
            related: related.as_ref(),
            name: &name,
            disposition: dispositions[rng.below(dispositions.len())],
            options: options[rng.below(options.len())],
            desired_access: RW,
            share_access: 7,
            file_attributes: 0,
            caller: None,
        };
        let before = snapshot(&t);
        let outside = outside_volumes();
        let created = create(t.vol(), &req);
        assert_eq!(
            outside_volumes(),
            outside,
            "{:?} reached outside the volume",
            String::from_utf16_lossy(&name)
        );
        match created {
            Ok(created) => {
                succeeded += 1;
                t.close(created.ccb);
            }
            Err(status) => {
                failed += 1;
                assert_eq!(
                    snapshot(&t),
                    before,
                    "{status:?} for {:?}",
                    String::from_utf16_lossy(&name)
                );
            }
        }
        if let Some(r) = related {
            t.close(r);
        }
    }
    assert!(
        failed > 1000 && succeeded > 100,
        "{failed} failed, {succeeded} succeeded"
    );
    t.finish();
}
