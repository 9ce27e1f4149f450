//! What recording costs a real workload: the same file system work (200
//! files of 16 KiB written into directories, then syncfs, on ext4) on a
//! memory disk with and without a RecordingDisk around it, in interleaved
//! rounds, medians; row `crash_recording` in target/bench/results.jsonl.
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use lkl::bench::{median, Measurement};
use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{add_disk, sys, Config, Disk, Kernel, MemDisk};
use lkl_crash::RecordingDisk;

const ROUNDS: usize = 7;

/// The workload on a fresh copy of `base` through `wrap`: seconds.
fn workload(base: &[u8], wrap: impl Fn(Arc<dyn Disk>) -> Arc<dyn Disk>) -> f64 {
    let disk = wrap(Arc::new(MemDisk::new(base.to_vec())));
    let added = add_disk(disk).unwrap();
    let m = mount::mount(&added, &MountOptions::default()).unwrap();
    let data = vec![0x5au8; 16 << 10];
    let start = Instant::now();
    for d in 0..10 {
        let dir = format!("{}/d{d}", m.path);
        sys::mkdirat(AT_FDCWD, &dir, 0o755).unwrap();
        for f in 0..20 {
            let fd = sys::openat(
                AT_FDCWD,
                format!("{dir}/f{f}"),
                uapi::O_WRONLY | uapi::O_CREAT,
                0o644,
            )
            .unwrap();
            sys::write(fd, &data).unwrap();
            sys::close(fd).unwrap();
        }
    }
    let fd = sys::openat(AT_FDCWD, &m.path, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
    sys::syncfs(fd).unwrap();
    sys::close(fd).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    mount::unmount(m).unwrap();
    drop(added);
    seconds
}

fn main() {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let kernel = Kernel::boot(&Config::default()).unwrap();
    let image = std::env::temp_dir().join(format!("lkl-crash-bench-{}.img", std::process::id()));
    std::fs::File::create(&image)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let mkfs = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&image)
        .status()
        .unwrap();
    assert!(mkfs.success());
    let base = std::fs::read(&image).unwrap();
    let _ = std::fs::remove_file(&image);
    let (mut plain, mut recorded) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain.push(workload(&base, |d| d));
        recorded.push(workload(&base, |d| Arc::new(RecordingDisk::new(d))));
    }
    Measurement {
        bench: "crash_recording",
        subject_name: "recording disk",
        reference_name: "plain disk",
        subject: median(recorded) * 1e3,
        reference: Some(median(plain) * 1e3),
        unit: "ms",
    }
    .report(&target);
    kernel.halt().unwrap();
}
