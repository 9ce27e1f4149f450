//! A file system left with a dirty journal (the process killed while
//! mounted) is replayed by Linux on the next mount, and lklfs says so.
mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Config, FileDisk, Kernel};

const CHILD: &str = "LKLFS_JOURNAL_CHILD";

fn write_synced(path: &str, data: &[u8]) {
    let fd = sys::openat(AT_FDCWD, path, uapi::O_WRONLY | uapi::O_CREAT, 0o644).unwrap();
    sys::write(fd, data).unwrap();
    sys::fsync(fd).unwrap();
    sys::close(fd).unwrap();
}

/// In the child: write, sync, write more, and die without unmounting.
fn crash_while_mounted(image: &str) -> ! {
    let _kernel = Kernel::boot(&Config::default()).unwrap();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(image, false).unwrap())).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    sys::mkdirat(AT_FDCWD, format!("{}/dir", m.path), 0o755).unwrap();
    write_synced(&format!("{}/dir/synced.txt", m.path), b"this was synced\n");
    sys::sync();
    let fd = sys::openat(
        AT_FDCWD,
        format!("{}/unsynced.txt", m.path),
        uapi::O_WRONLY | uapi::O_CREAT,
        0o644,
    )
    .unwrap();
    sys::write(fd, b"maybe lost").unwrap();
    std::process::abort();
}

#[test]
fn dirty_journal_is_replayed() {
    if let Some(image) = std::env::var_os(CHILD) {
        crash_while_mounted(&image.to_string_lossy());
    }
    let s = Scratch::new("journal");
    let image = s.path("j.img");
    make_ext4(&image, None, &[], "32M");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "dirty_journal_is_replayed"])
        .env(CHILD, &image)
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the child should have died");
    let header = tool("dumpe2fs", &["-h", &image.display().to_string()]);
    assert!(
        header.contains("needs_recovery"),
        "no dirty journal left: {header}"
    );

    let out = lklfs(&["ls", &format!("{}:/dir", image.display())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "synced.txt\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replayed its journal"), "stderr: {err}");

    e2fsck_clean(&image);
    let text = tool(
        "debugfs",
        &["-R", "cat /dir/synced.txt", &image.display().to_string()],
    );
    assert_eq!(text, "this was synced\n");
}
