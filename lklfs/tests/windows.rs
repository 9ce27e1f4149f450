//! lklfs.exe, built for x86_64-pc-windows-gnu, under Wine: copies out of
//! and into ext4 and vfat images made by mkfs, checked with e2fsck,
//! debugfs, fsck.vfat and mtools; bad images fail with a clear error and
//! stay unchanged; disks and volumes by device path (`\\.\X:`).
mod common;
#[path = "../../crash/tests/common/mod.rs"]
mod crash_common;
#[path = "../../tests/support/wine.rs"]
mod wine;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::*;
use wine::{build_windows, Wine};

/// lklfs.exe, built once for all tests of this file.
fn exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| build_windows(&["-p", "lklfs"]).join("lklfs.exe"))
}

/// A path as a Windows program sees it: Wine maps `/` to drive Z:.
fn z(path: &Path) -> String {
    format!("Z:{}", path.display())
}

/// The same path in Windows' own spelling, `Z:\tmp\...`.
fn z_backslash(path: &Path) -> String {
    z(path).replace('/', "\\")
}

fn run(wine: &Wine, args: &[&str]) -> Output {
    wine.command(exe()).args(args).output().unwrap()
}

fn run_ok(wine: &Wine, args: &[&str]) -> String {
    wine.run_ok(exe(), args)
}

/// The host side keeps bytes and (to Windows' 100 ns) times; symlinks and
/// Linux modes are not Windows concepts.
const ON_WINDOWS: Compare = Compare {
    modes: false,
    symlinks: false,
    mtime_ns: 100,
};

/// Entries of the sample tree that Windows can hold as they are.
const NAMES: [&str; 5] = ["dir", "empty", "page", "page-1", "ünïcödé-名前.txt"];

#[test]
fn copies_a_tree_out_of_an_ext4_image() {
    let s = Scratch::new("win-out");
    let tree = s.path("tree");
    sample_tree(&tree);
    let image = s.path("out.img");
    make_ext4(&image, Some(&tree), &[], "64M");
    let wine = Wine::new();

    let listing = run_ok(&wine, &["ls", "-l", &format!("{}:/dir", z(&image))]);
    assert!(listing.contains(" 1000003 "), "{listing}");
    assert!(listing.contains("deeper"), "{listing}");
    let leaf = run_ok(&wine, &["cat", &format!("{}:/one", z(&image))]);
    assert_eq!(leaf.as_bytes(), std::fs::read(tree.join("one")).unwrap());

    let out = s.path("copied");
    std::fs::create_dir(&out).unwrap();
    for name in NAMES {
        run_ok(
            &wine,
            &[
                "cp",
                "-r",
                "-p",
                &format!("{}:/{name}", z(&image)),
                &z(&out),
            ],
        );
    }
    // The reference: the same copy by lklfs on Linux (whose copies the
    // ext4 tests check against debugfs and the host kernel).
    let want = s.path("want");
    std::fs::create_dir(&want).unwrap();
    for name in NAMES {
        lklfs_ok(&[
            "cp",
            "-r",
            "-p",
            &format!("{}:/{name}", image.display()),
            &want.display().to_string(),
        ]);
    }
    assert_same_tree(&want, &out, ON_WINDOWS);
    e2fsck_clean(&image);
}

/// What `lklfs stat` says of one file: mode, size, mtime (as printed, to
/// the nanosecond) and, for a symlink, what `ls -l` shows it points to.
fn stat_fields(stat: &str) -> (u32, u64, String) {
    let field = |key: &str| {
        stat.lines()
            .find_map(|l| l.trim_start().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {stat}"))
            .to_string()
    };
    let mode = field("Access: (");
    let mode = u32::from_str_radix(&mode[..4], 8).unwrap();
    let size = field("Size:")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (mode, size, field("Modify: "))
}

/// Modes, sizes, nanosecond mtimes and symlink targets read out of an
/// ext4 image under Wine match the source tree the image was made from.
#[test]
fn reads_modes_times_and_symlinks_of_the_source_tree() {
    use std::os::unix::fs::MetadataExt;
    let s = Scratch::new("win-meta");
    let tree = s.path("tree");
    sample_tree(&tree);
    let image = s.path("meta.img");
    // mkfs.ext4 -d keeps whole seconds only: the Linux build copies the
    // tree in with nanoseconds (into 256-byte inodes, which hold them).
    make_ext4(&image, None, &["-I", "256"], "64M");
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &tree.display().to_string(),
        &format!("{}:/", image.display()),
    ]);
    let one = tool(
        "debugfs",
        &["-R", "stat /tree/one", &image.display().to_string()],
    );
    // 1_600_001_000 s and 123_456_789 ns (shifted past the epoch bits).
    assert!(one.contains("mtime: 0x5f5e13e8:1d6f3454"), "debugfs: {one}");
    let wine = Wine::new();
    let at = |p: &str| format!("{}:/tree/{p}", z(&image));

    let names = [
        "empty",
        "one",
        "page",
        "dir/big.bin",
        "dir/deeper/mid.bin",
        "dir/deeper",
        "ünïcödé-名前.txt",
        "rel-link",
        "abs-link",
        "dangling",
    ];
    for name in names {
        let meta = std::fs::symlink_metadata(tree.join(name)).unwrap();
        let (mode, size, mtime) = stat_fields(&run_ok(&wine, &["stat", &at(name)]));
        assert_eq!(mode, meta.mode() & 0o7777, "{name}: mode");
        if !meta.is_dir() {
            assert_eq!(size, meta.size(), "{name}: size");
        }
        let nanos = format!(".{:09}", meta.mtime_nsec());
        assert!(
            mtime.contains(&nanos),
            "{name}: mtime {mtime}, want {nanos}"
        );
        let linux = lklfs_ok(&["stat", &format!("{}:/tree/{name}", image.display())]);
        assert_eq!(
            stat_fields(&linux).2,
            mtime,
            "{name}: mtime as Linux prints it"
        );
    }
    let listing = run_ok(&wine, &["ls", "-l", &at("")]);
    for link in ["rel-link", "abs-link", "dangling"] {
        let target = std::fs::read_link(tree.join(link)).unwrap();
        let want = format!("{link} -> {}", target.display());
        assert!(listing.contains(&want), "no {want:?} in {listing}");
    }
}

#[test]
fn copies_a_tree_into_an_ext4_image() {
    let s = Scratch::new("win-in");
    let tree = s.path("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    let files: &[(&str, usize)] = &[
        ("empty", 0),
        ("a/odd", 4097),
        ("a/b/big", 3_000_001),
        ("ünïcödé-名前.txt", 77),
    ];
    for (i, (name, size)) in files.iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|j| ((j * 13 + i) % 251) as u8).collect();
        std::fs::write(tree.join(name), data).unwrap();
    }
    let image = s.path("in.img");
    make_ext4(&image, None, &[], "64M");
    let wine = Wine::new();

    run_ok(
        &wine,
        &["cp", "-r", "-p", &z(&tree), &format!("{}:/", z(&image))],
    );
    e2fsck_clean(&image);
    let dumped = s.path("dumped");
    std::fs::create_dir(&dumped).unwrap();
    tool(
        "debugfs",
        &[
            "-R",
            &format!("rdump /tree {}", dumped.display()),
            &image.display().to_string(),
        ],
    );
    // debugfs restores whole seconds only.
    let seconds = Compare {
        mtime_ns: 1_000_000_000,
        ..ON_WINDOWS
    };
    assert_same_tree(&tree, &dumped.join("tree"), seconds);
    let stat = tool(
        "debugfs",
        &["-R", "stat /tree/a/odd", &image.display().to_string()],
    );
    assert!(stat.contains("Mode:  0644"), "{stat}");
}

#[test]
fn bad_images_fail_cleanly_under_wine() {
    let s = Scratch::new("win-bad");
    let good = s.path("good.img");
    make_ext4(&good, None, &[], "16M");
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[1024..2048].fill(0);
    let zeroed = s.path("zeroed-sb.img");
    std::fs::write(&zeroed, &bytes).unwrap();
    let wine = Wine::new();

    let before = sha256(&zeroed);
    let out = run(&wine, &["ls", &format!("{}:/", z(&zeroed))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("lklfs: "), "{err}");
    assert_eq!(sha256(&zeroed), before);

    let missing = run(&wine, &["cat", &format!("{}:/no/such", z(&good))]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn windows_paths_and_vfat() {
    let s = Scratch::new("win-fat");
    let tree = s.path("tree");
    std::fs::create_dir_all(tree.join("dir/sub")).unwrap();
    for (name, size) in [
        ("small.txt", 100usize),
        ("dir/big.bin", 300_000),
        ("dir/sub/ünïcödé-long-name.txt", 5000),
    ] {
        let data: Vec<u8> = (0..size).map(|i| (i % 249) as u8).collect();
        std::fs::write(tree.join(name), data).unwrap();
    }
    let image = s.path("fat.img");
    tool("mkfs.vfat", &["-C", &image.display().to_string(), "32768"]);
    let wine = Wine::new();

    run_ok(
        &wine,
        &[
            "cp",
            "-r",
            "-p",
            &z_backslash(&tree),
            &format!("{}:/", z_backslash(&image)),
        ],
    );
    tool("fsck.vfat", &["-n", &image.display().to_string()]);
    let listing = tool(
        "mdir",
        &["-i", &image.display().to_string(), "::/tree/dir/sub"],
    );
    assert!(listing.contains("ünïcödé-long-name.txt"), "mdir: {listing}");

    let back = s.path("back");
    run_ok(
        &wine,
        &[
            "cp",
            "-r",
            "-p",
            &format!("{}:/tree", z_backslash(&image)),
            &z_backslash(&back),
        ],
    );
    assert_same_tree(&tree, &back, FAT);

    // Drive C: in Windows' spelling, both ways.
    std::fs::create_dir(wine.drive_c().join("work")).unwrap();
    run_ok(
        &wine,
        &[
            "cp",
            &format!("{}:/tree/small.txt", z_backslash(&image)),
            "C:\\work\\small.txt",
        ],
    );
    let on_c = wine.drive_c().join("work/small.txt");
    assert_eq!(
        std::fs::read(&on_c).unwrap(),
        std::fs::read(tree.join("small.txt")).unwrap()
    );
    run_ok(
        &wine,
        &[
            "cp",
            "C:\\work\\small.txt",
            &format!("{}:/from-c.txt", z_backslash(&image)),
        ],
    );
    let listing = tool("mdir", &["-i", &image.display().to_string(), "::/"]);
    assert!(listing.contains("from-c"), "mdir: {listing}");
    tool("fsck.vfat", &["-n", &image.display().to_string()]);
}

/// Wine 8 reports success for CreateSymbolicLinkW without making a link:
/// lklfs notices and fails instead of losing the entry silently.
#[test]
fn a_symlink_the_host_cannot_make_is_an_error() {
    let s = Scratch::new("win-link");
    let tree = s.path("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("target.txt"), b"t").unwrap();
    std::os::unix::fs::symlink("target.txt", tree.join("link")).unwrap();
    let image = s.path("link.img");
    make_ext4(&image, Some(&tree), &[], "16M");
    let wine = Wine::new();

    let out = s.path("link.out");
    let result = run(&wine, &["cp", &format!("{}:/link", z(&image)), &z(&out)]);
    match std::fs::symlink_metadata(&out) {
        Ok(meta) => {
            assert!(meta.file_type().is_symlink());
            assert_eq!(std::fs::read_link(&out).unwrap(), Path::new("target.txt"));
            assert!(result.status.success());
        }
        Err(_) => {
            let err = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(1), "{err}");
            assert!(err.contains("symbolic links"), "{err}");
        }
    }
}

/// The bytes `[offset, offset + len)` of `disk` as a file of their own, for
/// e2fsprogs, which takes no partition offset.
fn extract(disk: &Path, offset: u64, len: u64, to: &Path) {
    let bytes = std::fs::read(disk).unwrap();
    std::fs::write(to, &bytes[offset as usize..(offset + len) as usize]).unwrap();
}

/// A GPT disk and an ext4 volume by device path, as Windows names disks
/// and volumes: `\\.\W:` is a disk image whose partition 1 holds ext4;
/// `\\.\X:` a Linux loop device (Wine has no length ioctl for it: the size
/// is probed) when this machine lets us make one.
#[test]
fn disks_and_volumes_by_device_path() {
    let s = Scratch::new("win-dev");
    let disk = s.path("disk.img");
    gpt_disk(&disk, 48 << 20, &[(2048, 65536)]);
    std::fs::write(s.path("in.txt"), b"through a device path").unwrap();
    let wine = Wine::new();
    wine.map_device('W', &disk);

    run_ok(
        &wine,
        &[
            "-P",
            "1",
            "cp",
            &z_backslash(&s.path("in.txt")),
            "\\\\.\\W::/in.txt",
        ],
    );
    assert_eq!(
        run_ok(&wine, &["-P", "1", "cat", "\\\\.\\W::/in.txt"]),
        "through a device path"
    );
    let part = s.path("part1.img");
    extract(&disk, 2048 * 512, 65536 * 512, &part);
    e2fsck_clean(&part);
    let cat = tool(
        "debugfs",
        &["-R", "cat /in.txt", &part.display().to_string()],
    );
    assert_eq!(cat, "through a device path");

    let missing = run(&wine, &["ls", "\\\\.\\Q::/"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{err}");
    assert!(err.starts_with("lklfs: \\\\.\\Q:"), "{err}");

    let volume = s.path("volume.img");
    make_ext4(&volume, None, &[], "24M");
    let Some(dev) = loop_device(&volume, "block devices") else {
        return;
    };
    let dev = PathBuf::from(dev);
    wine.map_device('X', &dev);
    let copied = run(
        &wine,
        &["cp", &z_backslash(&s.path("in.txt")), "\\\\.\\X::/in.txt"],
    );
    let df = run(&wine, &["df", "\\\\.\\X:"]);
    tool("losetup", &["-d", &dev.display().to_string()]);
    assert!(copied.status.success(), "{copied:?}");
    let df = String::from_utf8_lossy(&df.stdout).into_owned();
    // 24 MiB less what ext4 keeps for itself, in 1 KiB blocks.
    let total: u64 = df
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("df: {df}"));
    assert!((20_000..24_576).contains(&total), "df: {df}");
    e2fsck_clean(&volume);
    let cat = tool(
        "debugfs",
        &["-R", "cat /in.txt", &volume.display().to_string()],
    );
    assert_eq!(cat, "through a device path");
}

/// `lklfs.exe --record`: the NT host's file disk recorded while lklfs.exe
/// copies a tree in (under Wine); the recording is the image's history
/// (base plus recorded writes is the image, nothing left unflushed), and
/// every crash state of it mounts here and is clean (no byte a file never
/// had, e2fsck -fn), as for lklfs on Linux (tests/crash.rs).
#[test]
fn a_recorded_copy_is_crash_consistent() {
    let s = Scratch::new("win-record");
    let tree = s.path("tree");
    let mut versions = std::collections::HashMap::new();
    for d in 0..4 {
        std::fs::create_dir_all(tree.join(format!("d{d}"))).unwrap();
        for f in 0..6 {
            let data: Vec<u8> = (0..1500 * (f + 1))
                .map(|i| (i % 251) as u8 ^ (d * 16 + f) as u8)
                .collect();
            std::fs::write(tree.join(format!("d{d}/f{f}")), &data).unwrap();
            versions.insert(format!("t/d{d}/f{f}"), vec![data]);
        }
    }
    let image = s.path("rec.img");
    make_ext4(&image, None, &[], "16M");
    let base = std::fs::read(&image).unwrap();
    let record = s.path("rec.log");
    let wine = Wine::new();
    run_ok(
        &wine,
        &[
            "--record",
            &z(&record),
            "cp",
            "-r",
            &z(&tree),
            &format!("{}:/t", z(&image)),
        ],
    );
    let fs = crash_common::Fs {
        name: "lklfs-exe-cp",
        size: 16 << 20,
        ..crash_common::EXT4
    };
    crash_common::check_recorded_file(&fs, &s.0, &base, &image, &record, &versions)
        .assert_clean(30);
}
