//! File systems on disks that arrive on their own (`lkl::mount::found_disk`,
//! the rules the driver applies to the machine's partitions and USB
//! sticks): read-only unless their UUID is opted in to writing, and then a
//! journal that waits to be replayed is left as it is (the image is
//! byte-identical after mount and dismount; dumpe2fs still sees the
//! journal); opted in, Linux replays it. Every Linux file system takes the
//! options the rules give, and the UUID text is blkid's.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use fsd::access::GENERIC_WRITE;
use fsd::create::FILE_CREATE;
use fsd::{NtStatus, Volume, VolumeOptions};
use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, FileDisk};

const CHILD: &str = "FSD_FOUND_DISK_CHILD";

/// In the child: write and sync a file, and die without unmounting.
fn crash_while_mounted(image: &str) -> ! {
    kernel();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(image, false).unwrap())).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    let path = format!("{}/synced.txt", m.path);
    let fd = sys::openat(AT_FDCWD, &path, uapi::O_WRONLY | uapi::O_CREAT, 0o644).unwrap();
    sys::write(fd, b"synced before the crash\n").unwrap();
    sys::fsync(fd).unwrap();
    std::process::abort();
}

/// An ext4 image left with a journal to replay, in `dir`.
fn dirty_ext4(dir: &Path) -> PathBuf {
    let image = dir.join("dirty.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    run("mkfs.ext4", &["-q", "-F", &image.display().to_string()]);
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_dirty_journal_on_a_found_disk_is_left_alone"])
        .env(CHILD, &image)
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the child should have died");
    let header = run("dumpe2fs", &["-h", &image.display().to_string()]);
    assert!(
        header.contains("needs_recovery"),
        "no dirty journal: {header}"
    );
    image
}

fn head(image: &Path) -> Vec<u8> {
    let mut head = std::fs::read(image).unwrap();
    head.truncate(mount::IDENTIFY_BYTES);
    head
}

/// Mounts `image` as a found disk would be (writable device, the rules'
/// options), runs `check` on the volume, and dismounts.
fn mounted_as_found(image: &Path, rules: mount::FoundDisk, check: impl FnOnce(&Volume)) {
    kernel();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(image, false).unwrap())).unwrap();
    let options = VolumeOptions {
        read_only: rules.read_only,
        fs_options: rules.options.into(),
        ..VolumeOptions::default()
    };
    let vol = Volume::mount(&disk, &options).unwrap();
    check(&vol);
    vol.dismount().unwrap();
    drop(vol);
    disk.remove().unwrap();
}

fn create_status(vol: &Volume, name: &str) -> Result<(), NtStatus> {
    let name = w(name);
    let created = fsd::create::create(
        vol,
        &fsd::create::CreateRequest {
            related: None,
            name: &name,
            disposition: FILE_CREATE,
            options: 0,
            desired_access: GENERIC_WRITE,
            share_access: 0,
            file_attributes: 0,
            caller: None,
        },
    )?;
    fsd::close::close(vol, created.ccb);
    Ok(())
}

#[test]
fn a_dirty_journal_on_a_found_disk_is_left_alone() {
    if let Some(image) = std::env::var_os(CHILD) {
        crash_while_mounted(&image.to_string_lossy());
    }
    let dir = std::env::temp_dir().join(format!("fsd-found-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let image = dirty_ext4(&dir);
    let before = std::fs::read(&image).unwrap();

    // Not opted in: read-only, `noload`, and the image as it was.
    let rules = mount::found_disk(&head(&image), false);
    assert_eq!(
        rules,
        mount::FoundDisk {
            read_only: true,
            options: "noload",
            journal_left: true
        }
    );
    mounted_as_found(&image, rules, |vol| {
        assert!(vol.is_read_only());
        assert_eq!(
            create_status(vol, "\\new.txt"),
            Err(NtStatus::MEDIA_WRITE_PROTECTED)
        );
    });
    assert!(
        std::fs::read(&image).unwrap() == before,
        "the image changed under a read-only found-disk mount"
    );
    let header = run("dumpe2fs", &["-h", &image.display().to_string()]);
    assert!(
        header.contains("needs_recovery"),
        "the journal was replayed"
    );

    // Opted in: Linux replays the journal and may write.
    let rules = mount::found_disk(&head(&image), true);
    assert!(!rules.read_only && rules.options.is_empty() && !rules.journal_left);
    mounted_as_found(&image, rules, |vol| {
        assert_eq!(create_status(vol, "\\new.txt"), Ok(()));
    });
    let header = run("dumpe2fs", &["-h", &image.display().to_string()]);
    assert!(!header.contains("needs_recovery"), "{header}");
    let img = image.display().to_string();
    assert!(run("debugfs", &["-R", "cat /synced.txt", &img]).contains("synced before"));
    run("e2fsck", &["-fn", &img]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_linux_file_system_takes_the_found_disk_options() {
    let dir = std::env::temp_dir().join(format!("fsd-found-fs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tree")).unwrap();
    std::fs::write(dir.join("tree/f"), b"x").unwrap();
    let btrfs = dir.join("btrfs.img");
    make_btrfs(&dir.join("tree"), &btrfs);
    let xfs = dir.join("xfs.img");
    std::fs::File::create(&xfs)
        .unwrap()
        .set_len(320 << 20)
        .unwrap();
    run("mkfs.xfs", &["-q", "-f", &xfs.display().to_string()]);
    for (image, options) in [(&btrfs, "rescue=nologreplay"), (&xfs, "norecovery")] {
        let rules = mount::found_disk(&head(image), false);
        assert_eq!((rules.read_only, rules.options), (true, options));
        let before = std::fs::read(image).unwrap();
        mounted_as_found(image, rules, |vol| assert!(vol.is_read_only()));
        assert!(std::fs::read(image).unwrap() == before, "{options}");
        // The UUID as blkid reads it.
        let (_, uuid) = mount::identify(&head(image)).unwrap();
        let blkid = run(
            "blkid",
            &["-s", "UUID", "-o", "value", &image.display().to_string()],
        );
        assert_eq!(mount::uuid_text(&uuid), blkid.trim());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
