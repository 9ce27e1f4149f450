//! The scenario suite everywhere it runs here: the fsd core on ext4, vfat
//! and btrfs (checked on disk by each file system's own tools), lklfsd.sys
//! under Wine (each request a real IRP, through the relay), and the
//! `fsd-scenarios.exe` program under Wine, on a Wine drive (which checks
//! the program's own calls against Wine's file system) and on an ext4
//! image through the core in-process.
#[path = "../../fsd/tests/common/mod.rs"]
mod common;
#[path = "support/driver_drive.rs"]
mod driver_drive;

use common::{make_btrfs, run, TestVolume};
use driver_drive::installed::wine;
use driver_drive::{build_driver, z_path, DriverDrive, Installed};
use fsd_scenarios::core_drive::FsdDrive;
use fsd_scenarios::{Report, Settings};

/// The scenarios a volume without `missing` abilities skips.
fn assert_ran(report: &Report, skipped: &[&str]) {
    println!("{report}");
    assert!(report.failed().is_empty(), "failed: {:?}", report.failed());
    assert_eq!(report.skipped(), skipped, "skipped");
    assert!(report.passed().len() >= 12, "{report}");
}

/// What the suite leaves on an ext4 volume, seen by debugfs.
fn check_ext4(debugfs: impl Fn(&str) -> String) {
    assert_eq!(debugfs("cat /editor_saves/note.txt"), "final text");
    assert_eq!(debugfs("cat /replace_by_rename/target.txt"), "new contents");
    assert_eq!(debugfs("cat /record_locking/records"), "zytxt");
    assert!(!debugfs("ls /delete_on_close").contains("scratch.tmp"));
    assert!(debugfs("stat /hard_links/copy").contains("Links: 1"));
    assert!(debugfs("stat /symlinks/link").contains("Fast link dest: \"target.txt\""));
    assert!(debugfs("ls /renames").contains("Y"));
    assert!(debugfs("stat /sparse_and_large/big").contains("Size: 6442450944"));
}

#[test]
fn suite_on_ext4_through_the_core() {
    let mut t = TestVolume::new("suite-ext4", &[], |_| {});
    let report = fsd_scenarios::run(&FsdDrive(t.vol()), &Settings::default());
    t.finish();
    assert_ran(&report, &[]);
    check_ext4(|req| t.debugfs(req));
}

/// FAT has no links, EAs, holes or owners: the volume says so, and the
/// suite skips what needs them. Checked with fsck.vfat and mtools.
#[test]
fn suite_on_vfat_through_the_core() {
    let mut t = TestVolume::made_by(
        "suite-vfat",
        |_| {},
        &["fsck.vfat", "-n"],
        |_, image| {
            run("mkfs.vfat", &["-C", &image.display().to_string(), "32768"]);
        },
    )
    .mounted(fsd::VolumeOptions::default());
    let report = fsd_scenarios::run(&FsdDrive(t.vol()), &Settings::default());
    t.finish();
    assert_ran(
        &report,
        &["hard_links", "symlinks", "eas", "sparse_and_large"],
    );
    let image = t.image.display().to_string();
    let mtype = |name: &str| run("mtype", &["-i", &image, &format!("::{name}")]);
    assert_eq!(mtype("/editor_saves/note.txt"), "final text");
    assert_eq!(mtype("/record_locking/records"), "zytxt");
}

#[test]
fn suite_on_btrfs_through_the_core() {
    let mut t = TestVolume::made_by("suite-btrfs", |_| {}, &["btrfs", "check"], make_btrfs)
        .mounted(fsd::VolumeOptions::default());
    let report = fsd_scenarios::run(&FsdDrive(t.vol()), &Settings::default());
    t.finish();
    assert_ran(&report, &[]);
    let out = t.dir.join("restored");
    std::fs::create_dir(&out).unwrap();
    let (image, to) = (t.image.display().to_string(), out.display().to_string());
    run("btrfs", &["restore", "-x", "-S", &image, &to]);
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("editor_saves/note.txt"), "final text");
    assert_eq!(read("record_locking/records"), "zytxt");
    assert_eq!(
        std::fs::read_link(out.join("symlinks/link")).unwrap(),
        std::path::Path::new("target.txt")
    );
}

/// A fresh directory of `n` for an ext4 image.
fn ext4_image(dir: &std::path::Path) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let image = dir.join("disk.img");
    let f = std::fs::File::create(&image).unwrap();
    f.set_len(64 << 20).unwrap();
    run("mkfs.ext4", &["-q", "-F", &image.display().to_string()]);
    image
}

/// The suite through lklfsd.sys under Wine: every request a real IRP
/// served by the driver's per-major-function modules.
#[test]
fn suite_through_the_driver_under_wine() {
    let driver = build_driver();
    let dir = std::env::temp_dir().join(format!("fsd-suite-driver-{}", std::process::id()));
    let image = ext4_image(&dir);
    let installed = Installed::new(&driver);
    assert_eq!(installed.ctl_ok(&["attach", &z_path(&image)]), "0");
    let volume: u32 = installed.ctl_ok(&["mount", "0"]).parse().unwrap();
    let d = DriverDrive::start(&installed, volume);
    let report = fsd_scenarios::run(&d, &Settings::default());
    drop(d);
    installed.ctl_ok(&["detach", "0"]);
    installed.stop();
    assert_ran(&report, &[]);
    let image = image.display().to_string();
    check_ext4(|req| run("debugfs", &["-R", req, &image]));
    run("e2fsck", &["-fn", &image]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// fsd-scenarios.exe, built for Windows.
fn exe() -> std::path::PathBuf {
    wine::build_windows(&["-p", "fsd-scenarios"]).join("fsd-scenarios.exe")
}

/// The program under Wine on an ext4 image through the core in-process
/// (the NT host of lkl): every scenario it can run there passes.
#[test]
fn program_on_an_image_under_wine() {
    let exe = exe();
    let dir = std::env::temp_dir().join(format!("fsd-suite-exe-image-{}", std::process::id()));
    let image = ext4_image(&dir);
    let wine = wine::Wine::new();
    let out = wine.run_ok(&exe, &["--strict", "--image", &z_path(&image)]);
    println!("{out}");
    assert!(out.contains("17 passed, 0 skipped, 0 failed"), "{out}");
    let image = image.display().to_string();
    check_ext4(|req| run("debugfs", &["-R", req, &image]));
    run("e2fsck", &["-fn", &image]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where Wine 8's own file system differs from NTFS (each seen in the
/// first answer the scenario checks): DeletePending shows only on the
/// open that set it; an open's name stays the old one after another open
/// renames the file; a refused lock is STATUS_FILE_LOCK_CONFLICT, not
/// STATUS_LOCK_NOT_GRANTED; a drive's device type is
/// FILE_DEVICE_DISK_FILE_SYSTEM, not FILE_DEVICE_DISK; a supersede of a
/// file pending deletion succeeds.
const WINE_DIFFERS: [&str; 5] = [
    "delete_on_close",
    "renames",
    "record_locking",
    "volume",
    "random_sequence",
];

/// The names of the scenarios a report's lines mark with `mark`.
fn marked<'a>(out: &'a str, mark: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.strip_prefix(mark))
        .map(|rest| rest.split(':').next().unwrap().trim())
        .collect()
}

/// The program under Wine on a Wine drive (a Linux directory behind
/// Z:): its own calls work, and every scenario passes but where Wine
/// differs from NTFS, or lacks what the scenario needs (the volume says
/// so, or the call says it is not supported).
#[test]
fn program_on_a_wine_drive() {
    let exe = exe();
    let dir = std::env::temp_dir().join(format!("fsd-suite-wine-drive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let wine = wine::Wine::new();
    let out = wine.command(&exe).arg(z_path(&dir)).output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{out}");
    assert_eq!(marked(&out, "FAIL "), WINE_DIFFERS, "{out}");
    assert_eq!(
        marked(&out, "skip "),
        [
            "posix_delete",
            "hard_links",
            "symlinks",
            "eas",
            "sparse_and_large",
            "oplocks"
        ],
        "{out}"
    );
    assert!(out.contains("pass memory_mapped") && out.contains("pass change_notification"));
    assert_eq!(
        std::fs::read_to_string(dir.join("editor_saves/note.txt")).unwrap(),
        "final text"
    );
    assert!(!dir.join("delete_on_close/scratch.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
