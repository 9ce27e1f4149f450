//! `lklfs mount`: ordinary tools work through the mount point, and the
//! image is clean after unmount (by fusermount3 -u, or by Ctrl-C).
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn mounted(mountpoint: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let target = mountpoint.display().to_string();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(target.as_str()))
}

fn mount(image: &Path, mountpoint: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_lklfs"))
        .args([
            "mount",
            &image.display().to_string(),
            &mountpoint.display().to_string(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !mounted(mountpoint) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "not mounted after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn wait_success(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "lklfs mount: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ordinary_tools_through_the_mount_point() {
    let s = Scratch::new("fuse");
    sample_tree(&s.path("tree"));
    let image = s.path("fuse.img");
    make_ext4(&image, None, &[], "64M");
    let mnt = s.path("mnt");
    std::fs::create_dir(&mnt).unwrap();

    let child = mount(&image, &mnt);
    tool(
        "cp",
        &[
            "-a",
            &s.arg("tree"),
            &mnt.join("tree").display().to_string(),
        ],
    );
    let listing = tool("ls", &["-la", &mnt.join("tree").display().to_string()]);
    assert!(listing.contains("rel-link -> page"), "ls: {listing}");
    tool(
        "rm",
        &["-r", &mnt.join("tree/dir/deeper").display().to_string()],
    );
    tool(
        "mv",
        &[
            &mnt.join("tree/one").display().to_string(),
            &mnt.join("moved").display().to_string(),
        ],
    );
    assert_eq!(
        std::fs::read(mnt.join("moved")).unwrap(),
        std::fs::read(s.path("tree/one")).unwrap()
    );
    // Names are bytes, not always UTF-8: made, listed, read, renamed.
    use std::os::unix::ffi::OsStrExt;
    let latin1 = mnt.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::write(&latin1, b"latin-1").unwrap();
    let listed: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        listed.iter().any(|n| n.as_bytes() == b"caf\xe9"),
        "{listed:?}"
    );
    let renamed = mnt.join(std::ffi::OsStr::from_bytes(b"\xff"));
    std::fs::rename(&latin1, &renamed).unwrap();
    assert_eq!(std::fs::read(&renamed).unwrap(), b"latin-1");
    tool("fusermount3", &["-u", &mnt.display().to_string()]);
    wait_success(child);

    e2fsck_clean(&image);
    let debugfs = |req: &str| tool("debugfs", &["-R", req, &image.display().to_string()]);
    assert!(!debugfs("ls /tree/dir").contains("deeper"));
    let dumped = s.path("big.dump");
    debugfs(&format!("dump /tree/dir/big.bin {}", dumped.display()));
    assert_eq!(
        std::fs::read(dumped).unwrap(),
        std::fs::read(s.path("tree/dir/big.bin")).unwrap()
    );
    assert!(debugfs("stat /tree/rel-link").contains("Fast link dest: \"page\""));
    let dumped = s.path("latin1.dump");
    debugfs(&format!("dump /\u{fffd} {}", dumped.display()));
    assert!(!dumped.exists(), "the name was made UTF-8");
}

#[test]
fn ctrl_c_unmounts_cleanly() {
    let s = Scratch::new("fuse-int");
    let image = s.path("int.img");
    make_ext4(&image, None, &[], "32M");
    let mnt = s.path("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let child = mount(&image, &mnt);
    std::fs::write(mnt.join("kept.txt"), b"written before Ctrl-C").unwrap();
    tool("kill", &["-INT", &child.id().to_string()]);
    wait_success(child);
    assert!(!mounted(&mnt), "still mounted after Ctrl-C");
    e2fsck_clean(&image);
    assert_eq!(
        tool(
            "debugfs",
            &["-R", "cat /kept.txt", &image.display().to_string()]
        ),
        "written before Ctrl-C"
    );
}
