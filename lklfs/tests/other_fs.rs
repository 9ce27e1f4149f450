//! vfat, btrfs and xfs, each made by its own tools and checked by its own
//! checker; and a GPT disk with two partitions.
mod common;

use common::*;

fn image_arg(image: &std::path::Path, path: &str) -> String {
    format!("{}:{path}", image.display())
}

/// Copies the tree in, checks the file system, copies it out, compares.
fn write_then_read(s: &Scratch, image: &std::path::Path, how: Compare, check: &dyn Fn()) {
    let tree = s.path("tree");
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &tree.display().to_string(),
        &image_arg(image, "/tree"),
    ]);
    check();
    let out = s.path(&format!(
        "{}.out",
        image.file_name().unwrap().to_string_lossy()
    ));
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &image_arg(image, "/tree"),
        &out.display().to_string(),
    ]);
    assert_same_tree(&tree, &out, how);
}

/// vfat holds no symlinks, hard links or modes: a tree of plain files.
fn fat_tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir/sub")).unwrap();
    for (name, size) in [
        ("empty", 0usize),
        ("small.txt", 100),
        ("dir/big.bin", 300_000),
        ("dir/sub/ünïcödé-long-name.txt", 5000),
    ] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        std::fs::write(root.join(name), data).unwrap();
    }
}

#[test]
fn vfat_write_check_and_read() {
    let s = Scratch::new("vfat");
    fat_tree(&s.path("tree"));
    let image = s.path("fat.img");
    tool("mkfs.vfat", &["-C", &image.display().to_string(), "32768"]);
    write_then_read(&s, &image, FAT, &|| {
        tool("fsck.vfat", &["-n", &image.display().to_string()]);
    });
    // The names Linux wrote are the ones mtools reads back.
    let listing = tool(
        "mdir",
        &["-i", &image.display().to_string(), "::/tree/dir/sub"],
    );
    assert!(listing.contains("ünïcödé-long-name.txt"), "mdir: {listing}");
}

/// A FAT image populated by mtools, read back through Linux's vfat.
#[test]
fn vfat_read_what_mtools_wrote() {
    let s = Scratch::new("vfat-read");
    fat_tree(&s.path("tree"));
    let image = s.path("fat.img");
    tool("mkfs.vfat", &["-C", &image.display().to_string(), "32768"]);
    let i = image.display().to_string();
    for entry in std::fs::read_dir(s.path("tree")).unwrap() {
        let path = entry.unwrap().path().display().to_string();
        let status = std::process::Command::new("mcopy")
            .args(["-s", "-m", "-i", &i, &path, "::/"])
            .env("LC_ALL", "C.UTF-8")
            .status()
            .unwrap();
        assert!(status.success(), "mcopy {path}");
    }
    let out = s.path("out");
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &image_arg(&image, "/"),
        &out.display().to_string(),
    ]);
    assert_same_tree(&s.path("tree"), &out, FAT);
}

#[test]
fn btrfs_read_rootdir_and_write() {
    let s = Scratch::new("btrfs");
    sample_tree(&s.path("tree"));
    let image = s.path("btrfs.img");
    sparse_file(&image, 256 << 20);
    tool(
        "mkfs.btrfs",
        &[
            "-q",
            "-f",
            "--rootdir",
            &s.arg("tree"),
            &image.display().to_string(),
        ],
    );
    let out = s.path("rootdir.out");
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &image_arg(&image, "/"),
        &out.display().to_string(),
    ]);
    // mkfs.btrfs --rootdir (btrfs-progs 6.2) stores whole seconds only.
    let seconds = Compare {
        mtime_ns: 1_000_000_000,
        ..EXACT
    };
    assert_same_tree(&s.path("tree"), &out, seconds);
    lklfs_ok(&["rm", "-r", &image_arg(&image, "/dir")]);
    write_then_read(&s, &image, EXACT, &|| {
        tool(
            "btrfs",
            &["check", "--readonly", &image.display().to_string()],
        );
    });
}

#[test]
fn xfs_write_check_and_read() {
    let s = Scratch::new("xfs");
    sample_tree(&s.path("tree"));
    let image = s.path("xfs.img");
    sparse_file(&image, 320 << 20);
    tool("mkfs.xfs", &["-q", "-f", &image.display().to_string()]);
    write_then_read(&s, &image, EXACT, &|| {
        tool("xfs_repair", &["-n", &image.display().to_string()]);
    });
}

/// A GPT disk: partition 1 ext4, partition 2 vfat, each made in place.
#[test]
fn gpt_partitions_mount_by_number() {
    let s = Scratch::new("gpt");
    let disk = s.path("disk.img");
    gpt_disk(&disk, 96 << 20, &[(2048, 65536), (67584, 65536)]);
    let d = disk.display().to_string();
    tool("mkfs.vfat", &["--offset", "67584", &d, "32768"]);

    std::fs::write(s.path("one.txt"), b"in partition one").unwrap();
    std::fs::write(s.path("two.txt"), b"in partition two").unwrap();
    lklfs_ok(&[
        "-P",
        "1",
        "cp",
        &s.arg("one.txt"),
        &image_arg(&disk, "/one.txt"),
    ]);
    lklfs_ok(&[
        "-P",
        "2",
        "cp",
        &s.arg("two.txt"),
        &image_arg(&disk, "/two.txt"),
    ]);
    assert_eq!(
        lklfs_ok(&["-P", "1", "cat", &image_arg(&disk, "/one.txt")]),
        "in partition one"
    );
    assert_eq!(
        lklfs_ok(&["--partition", "2", "cat", &image_arg(&disk, "/two.txt")]),
        "in partition two"
    );
    assert!(lklfs_ok(&["-P", "1", "df", &d]).contains("ext4"));
    assert!(lklfs_ok(&["-P", "2", "df", &d]).contains("vfat"));
    let out = lklfs(&["-P", "3", "ls", &image_arg(&disk, "/")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no partition 3"));
}
