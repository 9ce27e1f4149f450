//! Disks under the kernel's file systems: concurrent I/O, host I/O errors,
//! a memory disk, and journal replay after a crash.
mod common;
#[path = "../../tests/support/lkl_read.rs"]
mod lkl_read;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Disk, DiskOp, Errno, FileDisk, MemDisk, Request};
use lkl_read::read_file;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lkl-disks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mkfs_ext4(image: &std::path::Path, size: &str) {
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", &image.display().to_string(), size])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mkfs.ext4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn e2fsck_clean(image: &std::path::Path) {
    let out = Command::new("e2fsck")
        .args(["-fn", &image.display().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "e2fsck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 131 + seed * 17) % 251) as u8)
        .collect()
}

fn write_file(path: &str, data: &[u8]) -> Result<(), Errno> {
    let fd = sys::openat(
        AT_FDCWD,
        path,
        uapi::O_WRONLY | uapi::O_CREAT | uapi::O_TRUNC,
        0o644,
    )?;
    let mut done = 0;
    while done < data.len() {
        done += sys::write(fd, &data[done..])?;
    }
    let synced = sys::fsync(fd);
    sys::close(fd)?;
    synced
}

/// Everything that needs a disk runs in one test: one kernel per process.
#[test]
fn disks_under_file_systems() {
    common::kernel();
    four_threads_on_one_file_system();
    host_io_errors_reach_linux();
    memory_disk_round_trip();
    a_new_disk_gets_its_own_file_system();
}

fn four_threads_on_one_file_system() {
    let dir = scratch("threads");
    let image = dir.join("ext4.img");
    mkfs_ext4(&image, "128M");
    let disk = lkl::add_disk(Arc::new(FileDisk::open(&image, false).unwrap())).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    assert_eq!(m.fstype, "ext4");
    let root = m.path.clone();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                for round in 0..5 {
                    let path = format!("{root}/t{t}-{round}");
                    let data = pattern(t * 10 + round, 300_000 + t * 4096 + round);
                    write_file(&path, &data).unwrap();
                    assert_eq!(read_file(&path).unwrap(), data, "{path}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    mount::unmount(m).unwrap();
    disk.remove().unwrap();
    e2fsck_clean(&image);
    // What debugfs reads is what the threads wrote.
    for t in 0..4 {
        let round = 4;
        let dumped = dir.join(format!("dump-{t}"));
        let out = Command::new("debugfs")
            .args([
                "-R",
                &format!("dump /t{t}-{round} {}", dumped.display()),
                &image.display().to_string(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            std::fs::read(&dumped).unwrap(),
            pattern(t * 10 + round, 300_000 + t * 4096 + round)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A disk over a file whose writes fail on demand.
struct FailingDisk {
    inner: FileDisk,
    fail_writes: AtomicBool,
}

impl Disk for FailingDisk {
    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }

    fn submit(&self, request: Request) {
        let failing = self.fail_writes.load(Ordering::SeqCst);
        if failing && matches!(request.op(), DiskOp::Write | DiskOp::Flush) {
            request.complete(Err(Errno::EIO));
        } else {
            self.inner.submit(request);
        }
    }
}

fn host_io_errors_reach_linux() {
    let dir = scratch("eio");
    let image = dir.join("ext4.img");
    mkfs_ext4(&image, "32M");
    let failing = Arc::new(FailingDisk {
        inner: FileDisk::open(&image, false).unwrap(),
        fail_writes: AtomicBool::new(false),
    });
    let disk = lkl::add_disk(failing.clone()).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    write_file(&format!("{}/before", m.path), b"fine").unwrap();
    failing.fail_writes.store(true, Ordering::SeqCst);
    let err = write_file(&format!("{}/during", m.path), &pattern(1, 100_000));
    assert_eq!(err, Err(Errno::EIO), "fsync of a failed write");
    assert!(
        mount::unmount(m).is_err(),
        "unmount must report data it could not write"
    );
    disk.remove().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn memory_disk_round_trip() {
    let dir = scratch("mem");
    let image = dir.join("ext4.img");
    mkfs_ext4(&image, "16M");
    let mem = Arc::new(MemDisk::new(std::fs::read(&image).unwrap()));
    let disk = lkl::add_disk(mem.clone()).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    write_file(&format!("{}/in-memory", m.path), b"kept in memory").unwrap();
    mount::unmount(m).unwrap();
    disk.remove().unwrap();
    std::fs::write(&image, mem.contents()).unwrap();
    e2fsck_clean(&image);
    let out = Command::new("debugfs")
        .args(["-R", "cat /in-memory", &image.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"kept in memory");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A disk removed while its file system is still alive (detached, a file
/// open) does not hand that file system to the next disk added.
fn a_new_disk_gets_its_own_file_system() {
    let dir = scratch("replaced");
    let (first, second) = (dir.join("first.img"), dir.join("second.img"));
    mkfs_ext4(&first, "16M");
    mkfs_ext4(&second, "16M");
    let disk = lkl::add_disk(Arc::new(FileDisk::open(&first, false).unwrap())).unwrap();
    let first_device = disk.device(None);
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    write_file(&format!("{}/first", m.path), b"1").unwrap();
    let held = sys::openat(AT_FDCWD, format!("{}/first", m.path), uapi::O_RDONLY, 0).unwrap();
    sys::umount2(&m.path, uapi::MNT_DETACH).unwrap();
    let removed = disk.remove();

    let disk = lkl::add_disk(Arc::new(FileDisk::open(&second, false).unwrap())).unwrap();
    assert_ne!(disk.device(None), first_device, "a name still in use");
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{}/first", m.path), 0).err(),
        Some(Errno::ENOENT),
        "the first disk's file system, on the second disk (first removed: {removed:?})"
    );
    write_file(&format!("{}/second", m.path), b"2").unwrap();
    mount::unmount(m).unwrap();
    disk.remove().unwrap();
    sys::close(held).unwrap();
    // The first disk's number is free again once its file system is gone.
    let again = lkl::add_disk(Arc::new(FileDisk::open(&second, true).unwrap())).unwrap();
    assert_eq!(again.device(None), first_device);
    again.remove().unwrap();
    e2fsck_clean(&first);
    e2fsck_clean(&second);
    let _ = std::fs::remove_dir_all(&dir);
}
