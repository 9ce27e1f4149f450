//! Several threads on the same files through separate opens: share
//! access, writes to disjoint ranges and creates in one directory at once.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::read::read;
use fsd::write::{write, WriteAt};
use fsd::{NtStatus, Volume};

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("shared"), vec![0u8; 8 * 4096]).unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
}

fn open(
    vol: &Volume,
    name: &str,
    disposition: u32,
    access: u32,
    share: u32,
) -> Result<fsd::Ccb, NtStatus> {
    let name = w(name);
    create(
        vol,
        &CreateRequest {
            related: None,
            name: &name,
            disposition,
            options: 0,
            desired_access: access,
            share_access: share,
            file_attributes: 0,
        },
    )
    .map(|c| c.ccb)
}

const ROUNDS: u8 = 20;

#[test]
fn threads_on_the_same_files() {
    let mut t = TestVolume::new("threads", &[], tree);
    let vol = t.vol();
    std::thread::scope(|s| {
        for i in 0..8u8 {
            s.spawn(move || {
                for round in 0..ROUNDS {
                    let share = FILE_SHARE_READ | FILE_SHARE_WRITE;
                    let mut c = open(
                        vol,
                        "\\shared",
                        FILE_OPEN,
                        GENERIC_READ | GENERIC_WRITE,
                        share,
                    )
                    .unwrap();
                    let data = [i.wrapping_mul(31).wrapping_add(round); 4096];
                    let at = i as u64 * 4096;
                    assert_eq!(
                        write(vol, &mut c, WriteAt::Offset(at), &data).status,
                        NtStatus::SUCCESS
                    );
                    let mut back = [0u8; 4096];
                    assert_eq!(read(vol, &mut c, Some(at), &mut back).information, 4096);
                    assert_eq!(back, data);
                    // Nobody may take the file exclusively meanwhile.
                    assert_eq!(
                        open(vol, "\\shared", FILE_OPEN, GENERIC_WRITE, 0).err(),
                        Some(NtStatus::SHARING_VIOLATION)
                    );
                    let made = open(
                        vol,
                        &format!("\\d\\t{i}-{round}"),
                        FILE_CREATE,
                        GENERIC_WRITE,
                        0,
                    )
                    .unwrap();
                    fsd::close::close(vol, made);
                    fsd::close::close(vol, c);
                }
            });
        }
    });
    // Every open was released: an exclusive one succeeds now.
    let c = open(vol, "\\shared", FILE_OPEN, GENERIC_WRITE, 0).unwrap();
    fsd::close::close(vol, c);
    t.finish();
    let listing = t.debugfs("ls /d");
    for i in 0..8 {
        for round in 0..ROUNDS {
            assert!(
                listing.contains(&format!("t{i}-{round} "))
                    || listing.contains(&format!("t{i}-{round}\n")),
                "t{i}-{round} missing"
            );
        }
    }
    let dumped = t.dir.join("shared.dump");
    t.debugfs(&format!("dump /shared {}", dumped.display()));
    let bytes = std::fs::read(dumped).unwrap();
    for i in 0..8u8 {
        let expected = i.wrapping_mul(31).wrapping_add(ROUNDS - 1);
        assert!(bytes[i as usize * 4096..(i as usize + 1) * 4096]
            .iter()
            .all(|&b| b == expected));
    }
}

fn changing_tree(root: &std::path::Path) {
    std::fs::create_dir(root.join("x")).unwrap();
    for k in 0..10 {
        std::fs::write(root.join(format!("x/f{k}")), k.to_string()).unwrap();
    }
    std::fs::write(root.join("p"), b"P").unwrap();
    std::fs::write(root.join("q"), b"Q").unwrap();
}

/// Renames `from` to `to` through an open of `from`.
fn rename(vol: &Volume, from: &str, to: &str) -> NtStatus {
    let all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    let mut c = match open(vol, from, FILE_OPEN, DELETE | GENERIC_READ, all) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let req = rename_request(w(to), 0);
    let status = fsd::fileinfo::set(vol, &mut c, &req, None).status;
    fsd::close::close(vol, c);
    status
}

/// Sets its flag when dropped.
struct Stop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn inode(vol: &Volume, c: &fsd::Ccb) -> u64 {
    let mut out = [0u8; 8];
    fsd::fileinfo::query(vol, c, fsd::fileinfo::FILE_INTERNAL_INFORMATION, &mut out);
    u64::from_le_bytes(out)
}

/// Opens that the FCB cache serves, while another thread renames a
/// directory back and forth (whenever no file below it is open) and swaps
/// two files' names: every open that succeeds reads the file the inode it
/// reports belongs to, and at the end nothing is left open (a clean
/// dismount and e2fsck).
#[test]
fn repeated_opens_while_names_change() {
    let mut t = TestVolume::new("changing", &[], changing_tree);
    let vol = t.vol();
    let all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    let contents = |c: &mut fsd::Ccb| {
        let mut buf = [0u8; 8];
        let n = read(vol, c, Some(0), &mut buf).information as usize;
        buf[..n].to_vec()
    };
    let ino_of = |name: &str| {
        let c = open(vol, name, FILE_OPEN, GENERIC_READ, all).unwrap();
        let ino = inode(vol, &c);
        fsd::close::close(vol, c);
        ino
    };
    let (p, q) = (ino_of("\\p"), ino_of("\\q"));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let mut served = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    for k in 0..10 {
                        for dir in ["x", "y"] {
                            let name = format!("\\{dir}\\f{k}");
                            if let Ok(mut c) = open(vol, &name, FILE_OPEN, GENERIC_READ, all) {
                                assert_eq!(contents(&mut c), k.to_string().into_bytes());
                                fsd::close::close(vol, c);
                                served += 1;
                            }
                        }
                    }
                    if let Ok(mut c) = open(vol, "\\p", FILE_OPEN, GENERIC_READ, all) {
                        let expected: &[u8] = if inode(vol, &c) == p { b"P" } else { b"Q" };
                        assert!([p, q].contains(&inode(vol, &c)));
                        assert_eq!(contents(&mut c), expected);
                        fsd::close::close(vol, c);
                    }
                }
                assert!(served > 0);
            });
        }
        s.spawn(|| {
            // The readers stop when this thread ends, even by a panic.
            let _stop = Stop(&done);
            // A directory moves only while no file below it is open.
            let move_dir = |from: &str, to: &str| loop {
                match rename(vol, from, to) {
                    NtStatus::SUCCESS => return,
                    NtStatus::ACCESS_DENIED => std::thread::yield_now(),
                    other => panic!("moving {from}: {other:?}"),
                }
            };
            for _ in 0..200 {
                move_dir("\\x", "\\y");
                move_dir("\\y", "\\x");
                assert_eq!(rename(vol, "\\p", "\\tmp"), NtStatus::SUCCESS);
                assert_eq!(rename(vol, "\\q", "\\p"), NtStatus::SUCCESS);
                assert_eq!(rename(vol, "\\tmp", "\\q"), NtStatus::SUCCESS);
            }
        });
    });
    assert_eq!(ino_of("\\p"), p);
    t.finish();
    assert_eq!(t.debugfs("cat /x/f7"), "7");
    assert_eq!(t.debugfs("cat /q"), "Q");
}
