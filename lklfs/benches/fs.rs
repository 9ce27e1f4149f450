//! File system benchmarks on one 3 GiB ext4 image holding a 1 GiB file and
//! 20,000 files of 4 KiB in 200 directories, the image warm in the host's
//! page cache. Subjects, in one run: lkl through the library (no FUSE),
//! the host kernel (loop mount; skipped where not root), fuse2fs, and
//! `lklfs mount`, and lkl built for Windows running under Wine (in a warm
//! prefix), each run three times in turn and reported by its median. Each result is compared
//! with the host kernel and with fuse2fs; the Wine run with the
//! Linux-native lkl.
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lkl::bench::{median, Measurement};

use common::{lkl_subject, run_ops, Target, BIG, DIRS, FILES_PER_DIR, SMALL};
use wine::{build_windows, Wine};

mod common;
#[path = "../../tests/support/wine.rs"]
mod wine;

/// What each subject is compared with.
const COMPARISONS: [(&str, &str); 5] = [
    ("lkl", "host"),
    ("lkl", "fuse2fs"),
    ("lklfs-mount", "host"),
    ("lklfs-mount", "fuse2fs"),
    ("lkl-wine", "lkl"),
];

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
    // Written back now, not by the host during the timed work.
    f.sync_all().unwrap();
    let mut buf = vec![0u8; 4 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
}

/// One subject's three times, or None where it cannot run here.
type Subject<'a> = dyn Fn() -> Option<[f64; 3]> + 'a;

/// Rounds of every subject; each job's median is reported.
const ROUNDS: usize = 3;

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

/// Set in a child process of this benchmark: run the lkl subject on this
/// image and print its times (a kernel boots once per process).
const CHILD_IMAGE: &str = "LKL_FS_BENCH_IMAGE";

/// The lkl subject in a child process of its own.
fn lkl_child(image: &Path) -> [f64; 3] {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_IMAGE, image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lkl subject: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_times(&String::from_utf8_lossy(&out.stdout))
}

fn parse_times(text: &str) -> [f64; 3] {
    let times: Vec<f64> = text
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    times.try_into().expect("three times")
}

fn main() {
    if let Some(image) = std::env::var_os(CHILD_IMAGE) {
        let [read_1g, tree_read, create_10k] = lkl_subject(Path::new(&image));
        println!("{read_1g} {tree_read} {create_10k}");
        return;
    }
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

    // Each subject in turn, ROUNDS times over: the VM's noise comes and
    // goes, and the median of each job is what is reported.
    let lkl = || {
        fresh_copy(&pristine, &work);
        Some(lkl_child(&work))
    };
    let wine_setup = wine_setup(&pristine, &work);
    let wine = || {
        let (wine, exe) = wine_setup.as_ref()?;
        Some(wine_subject(wine, exe, &pristine, &work))
    };
    let host = || {
        if !root {
            return None;
        }
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
        let times = run_ops(&HostTarget(mnt.clone()), "host");
        run("umount", &[&mnt.display().to_string()]);
        Some(times)
    };
    let fuse2fs = || {
        fresh_copy(&pristine, &work);
        let mut fuse2fs = Command::new("fuse2fs");
        fuse2fs.args([
            &work.display().to_string(),
            &mnt.display().to_string(),
            "-f",
        ]);
        Some(fuse_subject(fuse2fs, &mnt, "fuse2fs"))
    };
    let lklfs_mount = || {
        fresh_copy(&pristine, &work);
        let mut lklfs = Command::new(env!("CARGO_BIN_EXE_lklfs"));
        lklfs.args([
            "mount",
            &work.display().to_string(),
            &mnt.display().to_string(),
        ]);
        Some(fuse_subject(lklfs, &mnt, "lklfs"))
    };
    if !root {
        println!("host kernel: skipped (loop mounts need root)");
    }
    let subjects: [(&str, &Subject); 5] = [
        ("lkl", &lkl),
        ("lkl-wine", &wine),
        ("host", &host),
        ("fuse2fs", &fuse2fs),
        ("lklfs-mount", &lklfs_mount),
    ];
    let mut samples: Vec<(&str, Vec<[f64; 3]>)> = Vec::new();
    for _ in 0..ROUNDS {
        for (name, subject) in subjects {
            if let Some(times) = subject() {
                match samples.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, runs)) => runs.push(times),
                    None => samples.push((name, vec![times])),
                }
            }
        }
    }
    let _ = fs::remove_file(&work);
    let results: Vec<(&str, [f64; 3])> = samples
        .iter()
        .map(|(name, runs)| (*name, [0, 1, 2].map(|i| median(runs.iter().map(|r| r[i])))))
        .collect();

    let find = |name: &str| results.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    for (i, bench) in ["read_1g", "tree_read", "create_10k"]
        .into_iter()
        .enumerate()
    {
        for (subject, reference) in COMPARISONS {
            // The Wine subject is absent where Wine is not installed.
            let Some(value) = find(subject) else { continue };
            Measurement {
                bench,
                subject_name: subject,
                reference_name: reference,
                subject: value[i],
                reference: find(reference).map(|t| t[i]),
                unit: "s",
            }
            .report(&target);
        }
    }
}

/// Wine with the `fs_work` example built for Windows: one prefix for the
/// whole benchmark, warmed by one untimed run (Wine's own services start
/// with a new prefix and take CPU for a while). None without wine64.
fn wine_setup(pristine: &Path, work: &Path) -> Option<(Wine, PathBuf)> {
    if !Path::new(wine::WINE).exists() {
        println!("lkl under Wine: skipped (no wine64)");
        return None;
    }
    let exe = build_windows(&["-p", "lklfs", "--example", "fs_work"]).join("examples/fs_work.exe");
    let wine = Wine::new();
    wine_subject(&wine, &exe, pristine, work);
    Some((wine, exe))
}

/// The same work as the lkl subject, by `fs_work.exe` under Wine on a
/// fresh copy of the image.
fn wine_subject(wine: &Wine, exe: &Path, pristine: &Path, work: &Path) -> [f64; 3] {
    fresh_copy(pristine, work);
    parse_times(&wine.run_ok(exe, &[&format!("Z:{}", work.display())]))
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
