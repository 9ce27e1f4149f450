//! Test support: a scratch directory, a sample tree, running lklfs and the
//! reference tools, and comparing trees.
#![allow(dead_code)]
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lklfs-test-{}-{name}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn lklfs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lklfs"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs lklfs and requires success; returns stdout.
pub fn lklfs_ok(args: &[&str]) -> String {
    let out = lklfs(args);
    assert!(
        out.status.success(),
        "lklfs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a reference tool and requires success; returns stdout.
pub fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256(path: &Path) -> String {
    tool("sha256sum", &[&path.display().to_string()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn set_mtime(path: &Path, secs: u64, nsec: u32) {
    let t = UNIX_EPOCH + Duration::new(secs, nsec);
    fs::File::open(path)
        .unwrap()
        .set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// A tree with the shapes file systems get wrong: empty and odd-sized
/// files, modes, deep directories, symlinks (relative, absolute,
/// dangling), hard links, non-ASCII and 255-byte names, nanosecond mtimes.
pub fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("dir/deeper/deepest")).unwrap();
    let files: &[(&str, usize, u32)] = &[
        ("empty", 0, 0o644),
        ("one", 1, 0o600),
        ("page-1", 4095, 0o644),
        ("page", 4096, 0o755),
        ("dir/big.bin", 1_000_003, 0o640),
        ("dir/deeper/mid.bin", 100_000, 0o444),
        ("dir/deeper/deepest/leaf", 13, 0o644),
        ("ünïcödé-名前.txt", 77, 0o644),
    ];
    for (i, (name, size, mode)) in files.iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|j| ((j * 31 + i * 7) % 253) as u8).collect();
        let path = root.join(name);
        fs::write(&path, data).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        set_mtime(&path, 1_600_000_000 + i as u64 * 1000, 123_456_789);
    }
    let long = "L".repeat(255);
    fs::write(root.join(&long), b"long name").unwrap();
    std::os::unix::fs::symlink("page", root.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("no/such/target", root.join("dangling")).unwrap();
    // Links have times of their own (which cp -a keeps): each its own.
    for (i, link) in ["rel-link", "abs-link", "dangling"].iter().enumerate() {
        let when = format!("@{}.{:09}", 1_400_000_000 + i * 1000, 987_654_321);
        tool(
            "touch",
            &["-h", "-d", &when, &root.join(link).display().to_string()],
        );
    }
    fs::hard_link(root.join("dir/big.bin"), root.join("hardlink-to-big")).unwrap();
    for dir in ["dir/deeper/deepest", "dir/deeper", "dir"] {
        set_mtime(&root.join(dir), 1_500_000_000, 0);
    }
}

#[derive(Clone, Copy)]
pub struct Compare {
    pub modes: bool,
    pub symlinks: bool,
    /// Granularity of mtimes in nanoseconds (vfat: 2 s).
    pub mtime_ns: u64,
}

pub const EXACT: Compare = Compare {
    modes: true,
    symlinks: true,
    mtime_ns: 1,
};

/// Names, types, bytes and symlink targets alone.
pub const CONTENTS: Compare = Compare {
    modes: false,
    symlinks: true,
    mtime_ns: u64::MAX,
};

/// What vfat keeps: bytes, and times to its 2 seconds.
pub const FAT: Compare = Compare {
    modes: false,
    symlinks: false,
    mtime_ns: 2_000_000_000,
};

/// Every entry of `want` is in `got` with the same bytes, and (as asked)
/// mode, mtime and symlink target; nothing extra but lost+found.
pub fn assert_same_tree(want: &Path, got: &Path, how: Compare) {
    let mut names: Vec<_> = fs::read_dir(want)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut got_names: Vec<_> = fs::read_dir(got)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "lost+found")
        .collect();
    got_names.sort();
    assert_eq!(names, got_names, "entries of {}", got.display());
    for name in names {
        let (w, g) = (want.join(&name), got.join(&name));
        let (wm, gm) = (
            fs::symlink_metadata(&w).unwrap(),
            fs::symlink_metadata(&g).unwrap(),
        );
        if wm.file_type().is_symlink() && how.symlinks {
            assert!(
                gm.file_type().is_symlink(),
                "{} is not a symlink",
                g.display()
            );
            assert_eq!(
                fs::read_link(&w).unwrap(),
                fs::read_link(&g).unwrap(),
                "{}",
                g.display()
            );
        } else if wm.is_dir() {
            assert!(gm.is_dir(), "{} is not a directory", g.display());
            assert_same_tree(&w, &g, how);
        } else {
            assert_eq!(
                fs::read(&w).unwrap(),
                fs::read(&g).unwrap(),
                "bytes of {}",
                g.display()
            );
        }
        if how.modes && !wm.file_type().is_symlink() {
            assert_eq!(
                wm.mode() & 0o7777,
                gm.mode() & 0o7777,
                "mode of {}",
                g.display()
            );
        }
        let ns = |m: &fs::Metadata| m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
        let diff = (ns(&wm) - ns(&gm)).unsigned_abs();
        assert!(
            diff < how.mtime_ns as u128 || (how.mtime_ns == 1 && diff == 0),
            "mtime of {}: {} vs {}",
            g.display(),
            ns(&wm),
            ns(&gm)
        );
    }
}

pub fn sparse_file(path: &Path, size: u64) {
    fs::File::create(path).unwrap().set_len(size).unwrap();
}

/// A sparse disk image of `size` bytes whose GPT (written by sfdisk) holds
/// Linux partitions at these (start, length) in 512-byte sectors; the
/// first gets an ext4 file system, made in place.
pub fn gpt_disk(disk: &Path, size: u64, partitions: &[(u64, u64)]) {
    sparse_file(disk, size);
    let mut layout = String::from("label: gpt\n");
    for (start, len) in partitions {
        layout += &format!("start={start}, size={len}, type=linux\n");
    }
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("printf '{layout}' | sfdisk -q {}", disk.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sfdisk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (start, len) = partitions[0];
    tool(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            &format!("offset={}", start * 512),
            &disk.display().to_string(),
            &format!("{}k", len / 2),
        ],
    );
}

pub fn make_ext4(image: &Path, tree: Option<&Path>, mkfs_args: &[&str], size: &str) {
    let mut args: Vec<String> = vec!["-q".into(), "-F".into()];
    args.extend(mkfs_args.iter().map(|s| s.to_string()));
    if let Some(t) = tree {
        args.push("-d".into());
        args.push(t.display().to_string());
    }
    args.push(image.display().to_string());
    args.push(size.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool("mkfs.ext4", &args);
}

pub fn e2fsck_clean(image: &Path) {
    tool("e2fsck", &["-fn", &image.display().to_string()]);
}

/// Attaches `image` to a free loop device of the host and returns the
/// device, or None (saying why, and that `what` is not tried) where this
/// machine has none to give.
pub fn loop_device(image: &Path, what: &str) -> Option<String> {
    let attached = std::process::Command::new("losetup")
        .args(["--find", "--show", &image.display().to_string()])
        .output()
        .unwrap();
    if !attached.status.success() {
        eprintln!(
            "no loop device here, {what} not tried: {}",
            String::from_utf8_lossy(&attached.stderr)
        );
        return None;
    }
    Some(
        String::from_utf8(attached.stdout)
            .unwrap()
            .trim()
            .to_string(),
    )
}
