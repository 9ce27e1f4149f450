//! API helpers: mounting the file system of a disk or partition, and
//! unmounting it with its data written out.
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::uapi::{self, AT_FDCWD};
use crate::{sys, AddedDisk, Errno};

/// The file systems [`detect`] recognises.
pub const KNOWN_FILESYSTEMS: &[&str] = &["ext4", "btrfs", "xfs", "vfat"];

/// The flags every mount has: device nodes in an image open nothing
/// (an image's `/dev/mem` would be the kernel's memory), and no set-id or
/// executable bits count. A file system's image is data, whoever made it.
pub const ALWAYS: u64 = uapi::MS_NODEV | uapi::MS_NOSUID | uapi::MS_NOEXEC;

/// How many bytes from the start of a device [`identify`] reads: btrfs's
/// superblock is at 64 KiB.
pub const IDENTIFY_BYTES: usize = 0x10000 + 4096;

/// Which file system a device's first bytes hold, by its superblock's
/// magic (ext2/3/4, btrfs, xfs), and its UUID as the superblock records
/// it; without Linux.
pub fn identify(head: &[u8]) -> Option<(&'static str, [u8; 16])> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let uuid_at =
        |offset: usize| -> Option<[u8; 16]> { head.get(offset..offset + 16)?.try_into().ok() };
    if at(1024 + 56, &[0x53, 0xEF]) {
        Some(("ext4", uuid_at(1024 + 0x68)?))
    } else if at(0x10000 + 64, b"_BHRfS_M") {
        Some(("btrfs", uuid_at(0x10000 + 0x20)?))
    } else if at(0, b"XFSB") {
        Some(("xfs", uuid_at(32)?))
    } else {
        None
    }
}

/// Which file system a device's first bytes hold, for mounting it:
/// [`identify`]'s Linux file systems, or vfat by its boot sector (the
/// 0x55AA signature and a FAT type string). None for anything else: a
/// mount tries only the one file system found, never every known one.
pub fn detect(head: &[u8]) -> Option<&'static str> {
    if let Some((fstype, _)) = identify(head) {
        return Some(fstype);
    }
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let fat = at(510, &[0x55, 0xAA])
        && (at(54, b"FAT12") || at(54, b"FAT16") || at(54, b"FAT  ") || at(82, b"FAT32"));
    fat.then_some("vfat")
}

/// The file system options every mount of `fstype` gets, before the
/// caller's: an ext2/3/4 error makes the file system read-only, whatever
/// its superblock asks (`errors=panic` would take the kernel down with
/// it, and the host with it where that is ring 0).
pub fn default_options(fstype: &str) -> &'static str {
    match fstype {
        "ext2" | "ext3" | "ext4" => "errors=remount-ro",
        _ => "",
    }
}

/// Whether the file system whose first [`IDENTIFY_BYTES`] are `head` was
/// left with a journal to replay (not cleanly unmounted), as its
/// superblock records it: ext3/4's needs_recovery, a btrfs tree log. (XFS
/// keeps no such mark: only its log tells.)
pub fn needs_replay(head: &[u8]) -> bool {
    let word = |offset: usize| -> u64 {
        head.get(offset..offset + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    match identify(head) {
        // s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER.
        Some(("ext4", _)) => word(1024 + 0x60) & 0x4 != 0,
        // The superblock's log_root.
        Some(("btrfs", _)) => word(0x10000 + 0x60) != 0,
        _ => false,
    }
}

/// How a file system on a disk that arrived on its own (a partition or a
/// USB stick the machine presents, not an image a user named) is mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundDisk {
    pub read_only: bool,
    /// File system options that leave a journal as it is (ext3/4's
    /// `noload`, btrfs's `rescue=nologreplay`, xfs's `norecovery`), or "".
    pub options: &'static str,
    /// Whether the superblock says a journal waits to be replayed, which
    /// this mount leaves alone.
    pub journal_left: bool,
}

/// The rules for a file system found on a disk, whose first
/// [`IDENTIFY_BYTES`] are `head`: read-only unless its UUID was opted in
/// to writing (`writable`); read-only, its journal is never replayed (a
/// hibernated or crashed Linux on the same disk finds it as it left it).
pub fn found_disk(head: &[u8], writable: bool) -> FoundDisk {
    if writable {
        return FoundDisk {
            read_only: false,
            options: "",
            journal_left: false,
        };
    }
    let options = match identify(head) {
        Some(("ext4", _)) => "noload",
        Some(("btrfs", _)) => "rescue=nologreplay",
        Some(("xfs", _)) => "norecovery",
        _ => "",
    };
    FoundDisk {
        read_only: true,
        options,
        journal_left: needs_replay(head),
    }
}

/// The canonical text of a file system UUID, as blkid prints it
/// (`0b1e0f96-3c7a-4a3e-9d0a-5b1f2e3d4c5b`).
pub fn uuid_text(uuid: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Where and how to mount.
#[derive(Clone, Debug, Default)]
pub struct MountOptions {
    /// A partition number (Linux's own numbering), or the whole disk.
    pub partition: Option<u32>,
    /// The file system type; `None` mounts what [`detect`] finds.
    pub fstype: Option<String>,
    /// File system options, as for mount(8) `-o`.
    pub options: String,
    pub read_only: bool,
}

/// A mounted file system.
#[derive(Debug)]
pub struct Mount {
    /// The mount point in the kernel's file system tree.
    pub path: String,
    pub fstype: String,
    /// The disk's count of failed requests.
    disk_errors: Arc<AtomicU64>,
}

/// Mounts a file system of `disk` on `/mnt/<device name>`, with the
/// [`ALWAYS`] flags and the [`default_options`] of its type.
///
/// Errors: `ENXIO`, no such partition; `EINVAL`, no known (or not the
/// named) file system; others as mount(2) gives them.
pub fn mount(disk: &AddedDisk, options: &MountOptions) -> Result<Mount, Errno> {
    let device = disk.device(options.partition);
    match sys::newfstatat(AT_FDCWD, &device, 0) {
        Err(Errno::ENOENT) => return Err(Errno::ENXIO),
        other => other?,
    };
    let path = format!("/mnt/{}", &device["/dev/".len()..]);
    for dir in ["/mnt", path.as_str()] {
        match sys::mkdirat(AT_FDCWD, dir, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    let flags = ALWAYS
        | if options.read_only || disk.read_only() {
            uapi::MS_RDONLY
        } else {
            0
        };
    let fstype = match &options.fstype {
        Some(t) => Some(t.clone()),
        None => detect_device(&device)?.map(String::from),
    };
    let mounted = match fstype {
        Some(fstype) => {
            let data = [default_options(&fstype), options.options.as_str()]
                .iter()
                .filter(|o| !o.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(",");
            let data = (!data.is_empty()).then_some(data.as_bytes());
            match sys::mount(&device, &path, &fstype, flags, data) {
                Ok(()) => Ok(fstype),
                Err(Errno::ENODEV) => Err(Errno::EINVAL),
                Err(e) => Err(e),
            }
        }
        None => Err(Errno::EINVAL),
    };
    match mounted {
        Ok(fstype) => Ok(Mount {
            path,
            fstype,
            disk_errors: disk.error_counter(),
        }),
        Err(e) => {
            let _ = sys::unlinkat(AT_FDCWD, &path, uapi::AT_REMOVEDIR);
            Err(e)
        }
    }
}

/// What [`detect`] finds on kernel device `device`.
fn detect_device(device: &str) -> Result<Option<&'static str>, Errno> {
    let fd = sys::openat(AT_FDCWD, device, uapi::O_RDONLY | uapi::O_CLOEXEC, 0)?;
    let mut head = alloc::vec![0u8; IDENTIFY_BYTES];
    let read = sys::pread64(fd, &mut head, 0);
    let _ = sys::close(fd);
    head.truncate(read?);
    Ok(detect(&head))
}

/// Writes out everything and unmounts. An error from writing (say `EIO`)
/// is returned, after the unmount; so is `EIO` when the disk failed a
/// request while the file system was being unmounted (its last writes,
/// the superblock, the journal's: umount(2) itself reports none).
pub fn unmount(mount: Mount) -> Result<(), Errno> {
    let before = mount.disk_errors.load(Ordering::Relaxed);
    // A file system shut down by an error may not even open its root: it
    // is unmounted all the same.
    let synced = sys::openat(AT_FDCWD, &mount.path, uapi::O_RDONLY | uapi::O_DIRECTORY, 0)
        .and_then(|fd| {
            let synced = sys::syncfs(fd);
            sys::close(fd).and(synced)
        });
    sys::umount2(&mount.path, 0)?;
    let _ = sys::unlinkat(AT_FDCWD, &mount.path, uapi::AT_REMOVEDIR);
    synced?;
    if mount.disk_errors.load(Ordering::Relaxed) > before {
        return Err(Errno::EIO);
    }
    Ok(())
}
