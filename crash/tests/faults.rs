//! Disk faults under ext4, btrfs and xfs: a read, a write or a flush that
//! fails, every write failing from some point on, a disk that goes away
//! (FaultyDisk), at many points of a workload that writes and fsyncs
//! files and reads them back; and a device shorter than its file system.
//! In every case: no kernel panic and no hang
//! (a watchdog ends the test), a failed write or flush reaches the caller
//! as an error (fsync, close, unmount), nothing read back is wrong, and
//! afterwards the file system's own checker repairs the disk and every
//! file fsync'd before the fault is there with its bytes.
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{
    kernel, make_image, options, pattern, read_file, run_tool, scratch, write_all, Fs, BTRFS, EXT4,
    XFS,
};
use lkl::mount;
use lkl::uapi::{self, AT_FDCWD};
use lkl::{add_disk, sys, DiskOp, Errno, MemDisk};
use lkl_crash::{Fault, FaultyDisk};

/// A file system, and how its checker repairs and then checks a disk.
struct Repairable {
    fs: Fs,
    repair: &'static [&'static str],
    /// Exit codes of `repair` that mean repaired (or nothing to do).
    repaired: &'static [i32],
}

const FILES: u32 = 8;

/// What the workload saw.
#[derive(Default)]
struct Seen {
    /// Files written and fsync'd (and their directory) without an error.
    durable: Vec<(String, Vec<u8>)>,
    errors: Vec<String>,
    /// Files read back with other bytes than written (never allowed).
    wrong: Vec<String>,
}

fn write_synced(root: &str, name: &str, data: &[u8]) -> Result<(), Errno> {
    let fd = sys::openat(
        AT_FDCWD,
        format!("{root}/{name}"),
        uapi::O_WRONLY | uapi::O_CREAT | uapi::O_TRUNC,
        0o644,
    )?;
    let mut done = 0;
    let written = loop {
        if done == data.len() {
            break Ok(());
        }
        match sys::write(fd, &data[done..]) {
            Ok(n) => done += n,
            Err(e) => break Err(e),
        }
    };
    let synced = written.and_then(|()| sys::fsync(fd));
    let closed = sys::close(fd);
    synced?;
    closed?;
    let dir = sys::openat(AT_FDCWD, root, uapi::O_RDONLY | uapi::O_DIRECTORY, 0)?;
    let synced = sys::fsync(dir);
    sys::close(dir)?;
    synced
}

/// Drops the kernel's clean caches, so that reads go to the disk.
fn drop_caches() {
    if let Ok(fd) = sys::openat(AT_FDCWD, "/proc/sys/vm/drop_caches", uapi::O_WRONLY, 0) {
        write_all(fd, b"3");
        let _ = sys::close(fd);
    }
}

/// Writes and fsyncs files one by one, each read back (from the disk)
/// after the next is written, until something fails.
fn workload(root: &str, seen: &mut Seen) {
    for i in 0..FILES {
        let name = format!("f{i}");
        let data = pattern(i, 7, 3000 + i as usize * 2500);
        if let Err(e) = write_synced(root, &name, &data) {
            seen.errors.push(format!("writing {name}: {e:?}"));
            return;
        }
        seen.durable.push((name, data));
        drop_caches();
        for (name, data) in &seen.durable {
            match read_file(&format!("{root}/{name}")) {
                Ok(got) if got == *data => {}
                Ok(_) => seen.wrong.push(name.clone()),
                Err(e) => {
                    seen.errors.push(format!("reading {name}: {e:?}"));
                    return;
                }
            }
        }
    }
}

/// The last lines of a tool's output (where it says what it concluded).
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

/// One fault on a fresh file system: whether a request failed at all,
/// or what went wrong.
fn one_fault(c: &Repairable, dir: &Path, fault: Fault) -> Result<bool, String> {
    let fs = &c.fs;
    let image = dir.join("disk.img");
    let base = make_image(fs, &image);
    let medium = Arc::new(MemDisk::new(base));
    let faulty = Arc::new(FaultyDisk::new(medium.clone(), fault));
    let mut seen = Seen::default();
    let added = add_disk(faulty.clone()).map_err(|e| format!("add disk: {e:?}"))?;
    match mount::mount(&added, &options(fs)) {
        Ok(m) => {
            workload(&m.path, &mut seen);
            if let Err(e) = mount::unmount(m) {
                seen.errors.push(format!("unmount: {e:?}"));
            }
        }
        Err(e) => seen.errors.push(format!("mount: {e:?}")),
    }
    drop(added);
    let writes_failed = faulty.failed() > 0
        && !matches!(
            fault,
            Fault::Once {
                op: DiskOp::Read,
                ..
            }
        );
    if writes_failed && seen.errors.is_empty() {
        return Err("a request failed, and no call returned an error".into());
    }
    if !seen.wrong.is_empty() {
        return Err(format!("read back wrong: {:?}", seen.wrong));
    }
    let injected = faulty.failed() > 0;
    // The journal (or log) replayed, as the next mount would, where the
    // file system still mounts; then its checker repairs what is left.
    let medium = Arc::new(MemDisk::new(medium.contents()));
    let mut replay = Ok(());
    if let Ok(added) = add_disk(medium.clone()) {
        replay = mount::mount(&added, &options(fs))
            .and_then(mount::unmount)
            .map_err(|e| format!("mount and unmount after the fault: {e:?}"));
    }
    std::fs::write(&image, medium.contents()).unwrap();
    let (code, text) = run_tool(c.repair, &[], &image);
    if !c.repaired.contains(&code) {
        return Err(format!(
            "{replay:?}; {} exit {code}: {}",
            c.repair[0],
            tail(&text)
        ));
    }
    let (code, text) = run_tool(fs.check, &[], &image);
    if code != 0 {
        return Err(format!(
            "after repair, {} exit {code}: {}",
            fs.check[0],
            tail(&text)
        ));
    }
    // Every file fsync'd before the fault, on the repaired disk.
    let disk = Arc::new(MemDisk::new(std::fs::read(&image).unwrap()));
    let added = add_disk(disk).map_err(|e| format!("add disk: {e:?}"))?;
    let m = mount::mount(&added, &options(fs)).map_err(|e| format!("mount after repair: {e:?}"))?;
    let lost: Vec<&String> = seen
        .durable
        .iter()
        .filter(|(name, data)| read_file(&format!("{}/{name}", m.path)).as_ref() != Ok(data))
        .map(|(name, _)| name)
        .collect();
    mount::unmount(m).map_err(|e| format!("unmount after repair: {e:?}"))?;
    if lost.is_empty() {
        Ok(injected)
    } else {
        Err(format!("fsync'd before the fault, then lost: {lost:?}"))
    }
}

/// The faults tried: each kind at points spread over mount, workload and
/// unmount.
fn faults() -> Vec<Fault> {
    let mut all = Vec::new();
    for nth in [0, 2, 5, 10, 20, 40, 80] {
        all.push(Fault::Once {
            op: DiskOp::Write,
            nth,
        });
        all.push(Fault::From {
            op: DiskOp::Write,
            nth,
        });
        all.push(Fault::Gone { nth: nth * 3 });
        all.push(Fault::Once {
            op: DiskOp::Read,
            nth,
        });
    }
    for nth in [0, 1, 3, 6, 12] {
        all.push(Fault::Once {
            op: DiskOp::Flush,
            nth,
        });
    }
    all
}

/// The disk shorter than its file system (a partial copy, a device that
/// shrank): the mount fails with an error, and nothing is written.
fn short_device(c: &Repairable, dir: &Path) {
    let fs = &c.fs;
    let before = make_image(fs, &dir.join("short.img"));
    let medium = Arc::new(MemDisk::new(before.clone()));
    let short = Arc::new(FaultyDisk::short(medium.clone(), fs.size * 3 / 4));
    let added = add_disk(short).unwrap();
    let mounted = mount::mount(&added, &options(fs));
    assert!(mounted.is_err(), "{}: a short device mounted", fs.name);
    drop(added);
    assert!(
        medium.contents() == before,
        "{}: the short device was written",
        fs.name
    );
}

fn fault_test(c: Repairable) {
    kernel();
    let dir = scratch(&format!("faults-{}", c.fs.name));
    short_device(&c, &dir);
    let mut failures = Vec::new();
    let mut injected = 0;
    let tried = faults();
    for &fault in &tried {
        match one_fault(&c, &dir, fault) {
            Ok(hit) => injected += hit as usize,
            Err(e) => failures.push(format!("{fault:?}: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        c.fs.name,
        failures.join("\n")
    );
    eprintln!(
        "{}: {injected} of {} faults hit a request",
        c.fs.name,
        tried.len()
    );
    assert!(
        injected * 4 >= tried.len() * 3,
        "{}: only {injected} faults hit",
        c.fs.name
    );
}

/// Ends the process if the tests take far longer than they should: a
/// hang is a failure, not a wait.
fn watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(600));
        eprintln!("fault tests: still running after 10 minutes: a hang");
        std::process::abort();
    });
}

#[test]
fn ext4_survives_disk_faults() {
    watchdog();
    fault_test(Repairable {
        fs: EXT4,
        repair: &["e2fsck", "-fy"],
        repaired: &[0, 1],
    });
}

#[test]
fn btrfs_survives_disk_faults() {
    watchdog();
    fault_test(Repairable {
        fs: BTRFS,
        // Copy-on-write: what is on the disk is always consistent, so
        // nothing to repair (btrfs check --repair is not to be run lightly).
        repair: &["btrfs", "check"],
        repaired: &[0],
    });
}

#[test]
fn xfs_survives_disk_faults() {
    watchdog();
    fault_test(Repairable {
        fs: XFS,
        repair: &["xfs_repair"],
        repaired: &[0],
    });
}
