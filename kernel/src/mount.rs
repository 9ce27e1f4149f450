//! API helpers: mounting the file system of a disk or partition, and
//! unmounting it with its data written out.
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::uapi::{self, AT_FDCWD};
use crate::{sys, AddedDisk, Errno};

/// The file systems tried, in order, when none is named.
pub const KNOWN_FILESYSTEMS: &[&str] = &["ext4", "btrfs", "xfs", "vfat"];

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

/// Where and how to mount.
#[derive(Clone, Debug, Default)]
pub struct MountOptions {
    /// A partition number (Linux's own numbering), or the whole disk.
    pub partition: Option<u32>,
    /// The file system type; `None` tries [`KNOWN_FILESYSTEMS`].
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

/// Mounts a file system of `disk` on `/mnt/<device name>`.
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
    let flags = if options.read_only || disk.read_only() {
        uapi::MS_RDONLY
    } else {
        0
    };
    let candidates: Vec<&str> = match &options.fstype {
        Some(t) => Vec::from([t.as_str()]),
        None => KNOWN_FILESYSTEMS.to_vec(),
    };
    let data = (!options.options.is_empty()).then_some(options.options.as_bytes());
    let mut last = Errno::EINVAL;
    for fstype in candidates {
        match sys::mount(&device, &path, fstype, flags, data) {
            Ok(()) => {
                return Ok(Mount {
                    path,
                    fstype: fstype.to_string(),
                    disk_errors: disk.error_counter(),
                })
            }
            // Not this file system (or not one at all): try the next.
            Err(e @ (Errno::EINVAL | Errno::ENODEV)) if options.fstype.is_none() => last = e,
            Err(e) => {
                let _ = sys::unlinkat(AT_FDCWD, &path, uapi::AT_REMOVEDIR);
                return Err(e);
            }
        }
    }
    let _ = sys::unlinkat(AT_FDCWD, &path, uapi::AT_REMOVEDIR);
    Err(if last == Errno::ENODEV {
        Errno::EINVAL
    } else {
        last
    })
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
