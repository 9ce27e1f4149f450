//! File system benchmarks on one 3 GiB ext4 image holding a 1 GiB file and
//! 20,000 files of 4 KiB in 200 directories, the image warm in the host's
//! page cache. Subjects, in one run: lkl through the library (no FUSE),
//! the host kernel (loop mount; skipped where not root), fuse2fs, and
//! `lklfs mount`. Each result is compared with the host kernel and with
//! fuse2fs.
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lkl::bench::Measurement;
use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Config, FileDisk, Kernel};

const DIRS: usize = 200;
const FILES_PER_DIR: usize = 100;
const SMALL: usize = 4096;
const BIG: u64 = 1 << 30;
const CREATE: usize = 10_000;

/// One way to reach the file system: the host's view of a mount point, or
/// lkl's system calls.
trait Target {
    fn read_all(&self, path: &str, buf: &mut [u8]) -> u64;
    fn mkdir(&self, path: &str);
    fn create_empty(&self, path: &str);
    fn sync(&self);
}

struct HostTarget(PathBuf);

impl HostTarget {
    fn at(&self, path: &str) -> PathBuf {
        self.0.join(path.trim_start_matches('/'))
    }
}

impl Target for HostTarget {
    fn read_all(&self, path: &str, buf: &mut [u8]) -> u64 {
        let mut f = fs::File::open(self.at(path)).unwrap();
        let mut total = 0;
        loop {
            let n = f.read(buf).unwrap();
            if n == 0 {
                return total;
            }
            total += n as u64;
        }
    }
    fn mkdir(&self, path: &str) {
        fs::create_dir(self.at(path)).unwrap();
    }
    fn create_empty(&self, path: &str) {
        fs::File::create(self.at(path)).unwrap();
    }
    fn sync(&self) {
        fs::File::open(&self.0).unwrap().sync_all().unwrap();
        Command::new("sync")
            .arg("-f")
            .arg(&self.0)
            .status()
            .unwrap();
    }
}

struct LklTarget(String);

impl Target for LklTarget {
    fn read_all(&self, path: &str, buf: &mut [u8]) -> u64 {
        let fd = sys::openat(AT_FDCWD, format!("{}{path}", self.0), uapi::O_RDONLY, 0).unwrap();
        let mut total = 0;
        loop {
            let n = sys::read(fd, buf).unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        sys::close(fd).unwrap();
        total
    }
    fn mkdir(&self, path: &str) {
        sys::mkdirat(AT_FDCWD, format!("{}{path}", self.0), 0o755).unwrap();
    }
    fn create_empty(&self, path: &str) {
        let fd = sys::openat(
            AT_FDCWD,
            format!("{}{path}", self.0),
            uapi::O_CREAT | uapi::O_WRONLY,
            0o644,
        )
        .unwrap();
        sys::close(fd).unwrap();
    }
    fn sync(&self) {
        let fd = sys::openat(AT_FDCWD, &self.0, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
        sys::syncfs(fd).unwrap();
        sys::close(fd).unwrap();
    }
}

/// Seconds for each of read_1g, tree_read and create_10k.
fn run_ops(t: &dyn Target, tag: &str) -> [f64; 3] {
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    assert_eq!(t.read_all("/big.bin", &mut buf), BIG);
    let read_1g = start.elapsed().as_secs_f64();

    let start = Instant::now();
    for d in 0..DIRS {
        for f in 0..FILES_PER_DIR {
            assert_eq!(
                t.read_all(&format!("/tree/d{d}/f{f}"), &mut buf),
                SMALL as u64
            );
        }
    }
    let tree_read = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let dir = format!("/created-{tag}");
    t.mkdir(&dir);
    for i in 0..CREATE {
        t.create_empty(&format!("{dir}/e{i}"));
    }
    t.sync();
    let create_10k = start.elapsed().as_secs_f64();
    [read_1g, tree_read, create_10k]
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pristine image, made once (by mkfs.ext4 -d) and kept in target/.
fn pristine_image(dir: &Path) -> PathBuf {
    let image = dir.join("fs-bench.img");
    if image.exists() {
        return image;
    }
    let tree = dir.join("fs-bench-tree");
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(&tree).unwrap();
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let mut big = fs::File::create(tree.join("big.bin")).unwrap();
    for i in 0..(BIG >> 20) {
        let mut b = block.clone();
        b[..8].copy_from_slice(&i.to_le_bytes());
        std::io::Write::write_all(&mut big, &b).unwrap();
    }
    for d in 0..DIRS {
        fs::create_dir_all(tree.join(format!("tree/d{d}"))).unwrap();
        for f in 0..FILES_PER_DIR {
            let data: Vec<u8> = (0..SMALL).map(|i| ((i + d * 7 + f) % 251) as u8).collect();
            fs::write(tree.join(format!("tree/d{d}/f{f}")), data).unwrap();
        }
    }
    let partial = dir.join("fs-bench.img.partial");
    fs::File::create(&partial)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-d",
            &tree.display().to_string(),
            &partial.display().to_string(),
        ],
    );
    fs::rename(&partial, &image).unwrap();
    fs::remove_dir_all(&tree).unwrap();
    image
}

/// A fresh copy of the image, read once so that it is in the page cache.
fn fresh_copy(pristine: &Path, work: &Path) {
    run(
        "cp",
        &[
            "--sparse=always",
            &pristine.display().to_string(),
            &work.display().to_string(),
        ],
    );
    let mut f = fs::File::open(work).unwrap();
    let mut buf = vec![0u8; 4 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

fn is_mounted(mnt: &Path) -> bool {
    let mounts = fs::read_to_string("/proc/mounts").unwrap();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(mnt.to_str().unwrap()))
}

fn wait_mounted(mnt: &Path) {
    let start = Instant::now();
    while !is_mounted(mnt) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} not mounted",
            mnt.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A FUSE server (fuse2fs or lklfs mount), timed through its mount point.
fn fuse_subject(mut cmd: Command, mnt: &Path, tag: &str) -> [f64; 3] {
    let mut child: Child = cmd.stderr(Stdio::null()).spawn().unwrap();
    wait_mounted(mnt);
    let times = run_ops(&HostTarget(mnt.to_path_buf()), tag);
    run("fusermount3", &["-u", &mnt.display().to_string()]);
    child.wait().unwrap();
    times
}

fn main() {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let dir = target.join("bench");
    fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let pristine = pristine_image(&dir);
    let work = dir.join("fs-bench-work.img");
    let mnt = dir.join("fs-bench-mnt");
    fs::create_dir_all(&mnt).unwrap();
    // A run that stopped half-way may have left its mount behind.
    if is_mounted(&mnt) {
        let _ = Command::new("umount").arg(&mnt).status();
    }
    let root = is_root();

    let mut results: Vec<(&str, [f64; 3])> = Vec::new();

    fresh_copy(&pristine, &work);
    let kernel = Kernel::boot(&Config {
        memory: 1 << 30,
        ..Config::default()
    })
    .unwrap();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(&work, false).unwrap())).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    results.push(("lkl", run_ops(&LklTarget(m.path.clone()), "lkl")));
    mount::unmount(m).unwrap();
    disk.remove().unwrap();
    kernel.halt().unwrap();

    if root {
        fresh_copy(&pristine, &work);
        run(
            "mount",
            &[
                "-o",
                "loop",
                &work.display().to_string(),
                &mnt.display().to_string(),
            ],
        );
        results.push(("host", run_ops(&HostTarget(mnt.clone()), "host")));
        run("umount", &[&mnt.display().to_string()]);
    } else {
        println!("host kernel: skipped (loop mounts need root)");
    }

    fresh_copy(&pristine, &work);
    let mut fuse2fs = Command::new("fuse2fs");
    fuse2fs.args([
        &work.display().to_string(),
        &mnt.display().to_string(),
        "-f",
    ]);
    results.push(("fuse2fs", fuse_subject(fuse2fs, &mnt, "fuse2fs")));

    fresh_copy(&pristine, &work);
    let mut lklfs = Command::new(env!("CARGO_BIN_EXE_lklfs"));
    lklfs.args([
        "mount",
        &work.display().to_string(),
        &mnt.display().to_string(),
    ]);
    results.push(("lklfs-mount", fuse_subject(lklfs, &mnt, "lklfs")));
    let _ = fs::remove_file(&work);

    let find = |name: &str| results.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    for (i, bench) in ["read_1g", "tree_read", "create_10k"]
        .into_iter()
        .enumerate()
    {
        for subject in ["lkl", "lklfs-mount"] {
            let value = find(subject).unwrap()[i];
            for reference in ["host", "fuse2fs"] {
                Measurement {
                    bench,
                    subject_name: subject,
                    reference_name: reference,
                    subject: value,
                    reference: find(reference).map(|t| t[i]),
                    unit: "s",
                }
                .report(&target);
            }
        }
    }
}

/// Whether this process runs as root (loop mounts need it).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}
