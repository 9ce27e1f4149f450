//! Several threads on the same files through separate opens: share
//! access, writes to disjoint ranges and creates in one directory at once,
//! opens while names change, and random requests of every kind.
mod common;
#[path = "../../tests/support/rng.rs"]
mod rng;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::read::read;
use fsd::write::{write, WriteAt};
use fsd::{NtStatus, Volume};
use rng::Rng;

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
            caller: None,
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

/// More files than the FCB cache keeps idle: opens in turn also take the
/// way where only their paths are remembered.
const CHANGING_FILES: usize = 100;

fn changing_tree(root: &std::path::Path) {
    std::fs::create_dir(root.join("x")).unwrap();
    for k in 0..CHANGING_FILES {
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
                    for k in 0..CHANGING_FILES {
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

/// Statuses that say the core or the kernel went wrong, whatever the
/// requests were.
fn broken(status: NtStatus) -> bool {
    [NtStatus::UNEXPECTED_IO_ERROR, NtStatus::FILE_CORRUPT_ERROR].contains(&status)
}

const NAMES: [&str; 7] = [
    "\\a",
    "\\b",
    "\\d",
    "\\d\\c",
    "\\d\\e",
    "\\d\\f\\g",
    "\\d\\f",
];

/// `requests` random requests (creates of every disposition, reads,
/// writes, renames, links, deletes, listings, sizes, times, attributes,
/// names, locks, EAs, symlinks) on a few names through opens of its own,
/// all closed at the end; none may answer with a status that says the
/// core or the kernel broke.
fn random_requests(vol: &Volume, seed: u64, requests: usize) {
    random_requests_on(vol, seed, requests, Image::Sound);
}

/// What the random requests may meet.
#[derive(Clone, Copy, PartialEq)]
enum Image {
    Sound,
    /// Damaged on purpose: the kernel may find it corrupt.
    Damaged,
}

fn random_requests_on(vol: &Volume, seed: u64, requests: usize, image: Image) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
    let mut held: Vec<fsd::Ccb> = Vec::new();
    let check = |what: &str, status: NtStatus| {
        let fine = image == Image::Damaged || !broken(status);
        assert!(fine, "thread {seed}: {what}: {status:?}");
    };
    for _ in 0..requests {
        let name = NAMES[rng.below(NAMES.len())];
        let op = if held.is_empty() { 0 } else { rng.below(15) };
        let at = rng.below(held.len().max(1));
        match op {
            0 => {
                let name = w(name);
                let options = [0, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE][rng.below(3)]
                    | [0, FILE_DELETE_ON_CLOSE][rng.below(2)];
                let req = CreateRequest {
                    related: None,
                    name: &name,
                    disposition: rng.below(6) as u32,
                    options,
                    // Read-only files (basic information
                    // below) open for attributes, to clear it.
                    desired_access: [
                        GENERIC_READ | GENERIC_WRITE | DELETE,
                        GENERIC_READ | FILE_WRITE_ATTRIBUTES | DELETE,
                        GENERIC_READ,
                    ][rng.below(3)],
                    share_access: [7, 3, 1, 0][rng.below(4)],
                    file_attributes: 0,
                    caller: None,
                };
                match create(vol, &req) {
                    Ok(c) => held.push(c.ccb),
                    Err(e) => check("create", e),
                }
                if held.len() > 4 {
                    fsd::close::close(vol, held.remove(0));
                }
            }
            1 => {
                let data = vec![rng.below(256) as u8; rng.below(9000)];
                let offset = WriteAt::Offset(rng.below(1 << 16) as u64);
                check("write", write(vol, &mut held[at], offset, &data).status);
            }
            2 => {
                let mut buf = vec![0u8; rng.below(9000)];
                let offset = Some(rng.below(1 << 16) as u64);
                check("read", read(vol, &mut held[at], offset, &mut buf).status);
            }
            3 => {
                let req = rename_request(w(name), rng.below(2) as u32);
                let status = fsd::fileinfo::set(vol, &mut held[at], &req, None).status;
                check("rename", status);
            }
            4 => {
                let req = fsd::fileinfo::SetRequest::Disposition(rng.below(4) as u32);
                let status = fsd::fileinfo::set(vol, &mut held[at], &req, None).status;
                check("disposition", status);
            }
            5 => {
                let req = fsd::dirctrl::QueryDirectory {
                    class: fsd::dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION,
                    pattern: None,
                    restart_scan: rng.below(2) == 0,
                    return_single_entry: false,
                    index: None,
                };
                let mut out = vec![0u8; 4096];
                let r = fsd::dirctrl::query_directory(vol, &mut held[at], &req, &mut out);
                check("directory", r.status);
            }
            6 => {
                let size = rng.below(1 << 17) as u64;
                let req = fsd::fileinfo::SetRequest::EndOfFile(size);
                let status = fsd::fileinfo::set(vol, &mut held[at], &req, None).status;
                check("end of file", status);
            }
            7 => {
                let lock = fsd::lockctl::LockRequest {
                    offset: rng.below(1 << 16) as u64,
                    length: rng.below(4096) as u64,
                    key: 0,
                    exclusive: rng.below(2) == 0,
                    fail_immediately: true,
                    tag: 0,
                };
                check("lock", fsd::lockctl::lock(vol, &held[at], &lock).status);
                let all = fsd::lockctl::Unlock::All;
                check(
                    "unlock",
                    fsd::lockctl::unlock(vol, &held[at], &all).0.status,
                );
            }
            8 => {
                let list = ea_list(&[("SEEN", &[seed as u8; 3])]);
                check("EA", fsd::ea::set(vol, &held[at], &list).status);
                let mut out = [0u8; 200];
                let class = fsd::fileinfo::FILE_ALL_INFORMATION;
                let r = fsd::fileinfo::query(vol, &held[at], class, &mut out);
                check("query", r.status);
            }
            9 => {
                let req = fsd::fileinfo::SetRequest::Link {
                    flags: rng.below(2) as u32,
                    root_directory: 0,
                    name: w(name),
                };
                let status = fsd::fileinfo::set(vol, &mut held[at], &req, None).status;
                check("link", status);
            }
            10 => {
                let req = fsd::fileinfo::SetRequest::Basic {
                    creation: 0,
                    access: 0,
                    write: [0, -1, 130_000_000_000_000_000][rng.below(3)],
                    change: 0,
                    attributes: [0, fsd::attributes::READONLY, 0x80][rng.below(3)],
                };
                let status = fsd::fileinfo::set(vol, &mut held[at], &req, None).status;
                check("basic", status);
            }
            11 => {
                let mut out = vec![0u8; 512];
                let class = [
                    fsd::fileinfo::FILE_NAME_INFORMATION,
                    fsd::fileinfo::FILE_NORMALIZED_NAME_INFORMATION,
                    fsd::fileinfo::FILE_STANDARD_INFORMATION,
                ][rng.below(3)];
                let r = fsd::fileinfo::query(vol, &held[at], class, &mut out);
                check("name", r.status);
            }
            12 => {
                // A symlink (to another of the names, relative) in place
                // of an empty file or directory; opens follow it.
                let target = NAMES[rng.below(NAMES.len())].trim_start_matches('\\');
                let status = fsd::fsctl::set_reparse_point(
                    vol,
                    &mut held[at],
                    &symlink_reparse(target, true),
                )
                .status;
                check("set reparse point", status);
            }
            13 => {
                let status = fsd::fsctl::delete_reparse_point(vol, &mut held[at]).status;
                check("delete reparse point", status);
            }
            _ => check("close", fsd::close::close(vol, held.remove(at)).status),
        }
    }
    for c in held {
        fsd::close::close(vol, c);
    }
}

/// Four threads send 20,000 random requests each: whatever each answers,
/// none says the core or the kernel broke, nothing hangs, everything is
/// closed at the end (the volume locks) and e2fsck finds the file system
/// clean.
#[test]
fn random_requests_from_four_threads() {
    let mut t = TestVolume::new("random-threads", &[], tree);
    let vol = t.vol();
    std::thread::scope(|s| {
        for seed in 1..=4u64 {
            s.spawn(move || random_requests(vol, seed, 20_000));
        }
    });
    // Every open was released: the volume locks (no file open).
    assert_eq!(vol.lock().status, NtStatus::SUCCESS);
    assert_eq!(vol.unlock().status, NtStatus::SUCCESS);
    t.finish();
}

/// A dismount (FSCTL_DISMOUNT_VOLUME) while four threads send random
/// requests: requests before it work, those after it are refused, none
/// says the core or the kernel broke, every open still closes, and the
/// file system is written out clean.
#[test]
fn a_dismount_amid_random_requests() {
    for (round, delay) in [0u64, 2, 10, 40].into_iter().enumerate() {
        let mut t = TestVolume::new(&format!("dismount-amid-{round}"), &[], tree);
        let vol = t.vol();
        std::thread::scope(|s| {
            for seed in 1..=4u64 {
                s.spawn(move || random_requests(vol, seed + 10 * round as u64, 5_000));
            }
            std::thread::sleep(std::time::Duration::from_millis(delay));
            assert_eq!(vol.dismount_request().status, NtStatus::SUCCESS);
        });
        let created = open(vol, "\\late", FILE_CREATE, GENERIC_WRITE, 0);
        assert_eq!(created.err(), Some(NtStatus::VOLUME_DISMOUNTED));
        t.finish();
    }
}

/// The volume's sleeping lock: threads that hold it across system calls
/// (and across sleeps) never overlap, and its waits are the kernel's
/// futexes (FUTEX_WAKE counts none woken, FUTEX_WAIT on a changed word
/// says so) rather than spinning.
#[test]
fn the_sleep_lock_lets_one_thread_in_at_a_time() {
    use fsd::sleep_lock::SleepLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    kernel();
    let word = AtomicU32::new(5);
    let futex = |op: i64, value: i64| {
        // SAFETY: the word outlives the call; the kernel only reads it.
        unsafe {
            lkl::sys::syscall(
                lkl::uapi::nr::FUTEX,
                [lkl::sys::arg(word.as_ptr()), op, value, 0, 0, 0],
            )
        }
    };
    assert_eq!(futex(129, 1), 0, "FUTEX_WAKE_PRIVATE");
    assert_eq!(
        futex(128, 4),
        -11,
        "FUTEX_WAIT_PRIVATE on a changed word: EAGAIN"
    );

    let lock = SleepLock::new();
    let inside = AtomicU32::new(0);
    let total = AtomicU32::new(0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (lock, inside, total) = (&lock, &inside, &total);
            s.spawn(move || {
                for i in 0..2000 {
                    let _held = lock.lock();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two inside");
                    if (i + t) % 50 == 0 {
                        let nap = lkl::uapi::Timespec {
                            tv_sec: 0,
                            tv_nsec: 20_000,
                        };
                        lkl::sys::nanosleep(&nap).unwrap();
                    } else {
                        lkl::sys::getpid().unwrap();
                    }
                    total.store(total.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), 8000);
}

/// Every name the random requests use, made.
fn named_tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("d/f")).unwrap();
    for name in ["a", "b", "d/c", "d/e", "d/f/g"] {
        std::fs::write(root.join(name), name).unwrap();
    }
}

/// On a read-only volume (its disk writable underneath), random requests
/// from two threads write nothing: the image stays as it was, byte for
/// byte.
#[test]
fn random_requests_on_a_read_only_volume_write_nothing() {
    let options = fsd::VolumeOptions {
        read_only: true,
        ..fsd::VolumeOptions::default()
    };
    let mut t = TestVolume::with_options("random-ro", &[], named_tree, options);
    let before = std::fs::read(&t.image).unwrap();
    let vol = t.vol();
    std::thread::scope(|s| {
        for seed in 1..=2u64 {
            s.spawn(move || random_requests(vol, seed, 10_000));
        }
    });
    t.finish();
    assert!(
        std::fs::read(&t.image).unwrap() == before,
        "the image changed"
    );
}

/// A file system's checker and its arguments before the image.
type Checker = &'static [&'static str];
/// Makes an image (the second path) from a tree (the first).
type MakeImage = fn(&std::path::Path, &std::path::Path);

/// The random requests of two threads on vfat and on btrfs (whose kernel
/// drivers answer some requests with other errors than ext4: no links on
/// vfat, say): no status says the core or the kernel broke, and each
/// file system's own checker finds it clean.
#[test]
fn random_requests_on_vfat_and_btrfs() {
    let volumes: [(&str, Checker, MakeImage); 2] = [
        ("random-vfat", &["fsck.vfat", "-n"], |_, image| {
            run("mkfs.vfat", &["-C", &image.display().to_string(), "32768"]);
        }),
        ("random-btrfs", &["btrfs", "check"], make_btrfs),
    ];
    for (name, fsck, make) in volumes {
        let mut t =
            TestVolume::made_by(name, |_| {}, fsck, make).mounted(fsd::VolumeOptions::default());
        let vol = t.vol();
        std::thread::scope(|s| {
            for seed in 1..=2u64 {
                s.spawn(move || random_requests(vol, seed, 10_000));
            }
        });
        assert_eq!(vol.lock().status, NtStatus::SUCCESS, "{name}: an open left");
        assert_eq!(vol.unlock().status, NtStatus::SUCCESS);
        t.finish();
    }
}

/// Random requests from two threads, reading and writing, on ext4 images
/// whose metadata was damaged at random (60 bytes in the first 300 KiB,
/// 40 images): whatever the kernel finds, the process stays up, each
/// image either mounts or is refused with a status, and what mounts
/// dismounts.
#[test]
fn random_requests_on_damaged_images_leave_the_host_up() {
    let mut mounted = 0;
    for round in 0..40u64 {
        let t = TestVolume::made_by(
            &format!("damaged-{round}"),
            named_tree,
            &["true"],
            |tree, image| {
                let (tree, path) = (tree.display().to_string(), image.display().to_string());
                run("mkfs.ext4", &["-q", "-F", "-d", &tree, &path, "8M"]);
                let mut bytes = std::fs::read(image).unwrap();
                let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ round);
                for _ in 0..60 {
                    let at = 1024 + rng.below(300 << 10);
                    bytes[at] = rng.below(256) as u8;
                }
                std::fs::write(image, bytes).unwrap();
            },
        );
        let file = lkl::FileDisk::open(&t.image, false).unwrap();
        let disk = lkl::add_disk(std::sync::Arc::new(file)).unwrap();
        let Ok(vol) = Volume::mount(&disk, &fsd::VolumeOptions::default()) else {
            continue;
        };
        mounted += 1;
        let vol = &vol;
        std::thread::scope(|s| {
            for seed in 1..=2u64 {
                s.spawn(move || random_requests_on(vol, seed + 7 * round, 3_000, Image::Damaged));
            }
        });
        assert_eq!(vol.dismount(), Ok(()), "round {round}");
    }
    assert!(mounted >= 20, "only {mounted} of 40 damaged images mounted");
}
