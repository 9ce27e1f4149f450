//! IRP_MJ_QUERY_VOLUME_INFORMATION.
use alloc::vec::Vec;

use lkl::sys;
use lkl::uapi;

use crate::info::facts;
use crate::layout::Out;
use crate::linux::nt;
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

pub const FILE_FS_VOLUME_INFORMATION: u32 = 1;
pub const FILE_FS_SIZE_INFORMATION: u32 = 3;
pub const FILE_FS_DEVICE_INFORMATION: u32 = 4;
pub const FILE_FS_ATTRIBUTE_INFORMATION: u32 = 5;
pub const FILE_FS_FULL_SIZE_INFORMATION: u32 = 7;
pub const FILE_FS_SECTOR_SIZE_INFORMATION: u32 = 11;

pub const FILE_CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
pub const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
pub const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
pub const FILE_SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
pub const FILE_SUPPORTS_REPARSE_POINTS: u32 = 0x0000_0080;
pub const FILE_SUPPORTS_POSIX_UNLINK_RENAME: u32 = 0x0000_0400;
pub const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;
pub const FILE_SUPPORTS_HARD_LINKS: u32 = 0x0040_0000;
pub const FILE_SUPPORTS_EXTENDED_ATTRIBUTES: u32 = 0x0080_0000;

pub const FILE_DEVICE_DISK: u32 = 0x0000_0007;
pub const FILE_READ_ONLY_DEVICE: u32 = 0x0000_0002;
pub const FILE_DEVICE_IS_MOUNTED: u32 = 0x0000_0020;

const SECTOR: u64 = 512;
const FS_IOC_GETFSLABEL: i64 = 0x8100_9431;

impl Volume {
    /// The volume serial number: from the file system's UUID (statfs's
    /// f_fsid, which Linux derives from it).
    pub fn serial(&self) -> u64 {
        sys::statfs(&self.root).map_or(0, |s| {
            ((s.f_fsid[1] as u32 as u64) << 32) | s.f_fsid[0] as u32 as u64
        })
    }

    /// The file system's label, as Linux reports it.
    pub fn label(&self) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let fd = crate::beneath::open(
            self,
            self.root.as_bytes(),
            uapi::O_RDONLY | uapi::O_DIRECTORY,
            0,
        );
        let Ok(fd) = fd else { return Vec::new() };
        // SAFETY: FS_IOC_GETFSLABEL writes at most 256 bytes (FSLABEL_MAX).
        let ret = unsafe {
            sys::syscall(
                uapi::nr::IOCTL,
                [
                    fd as i64,
                    FS_IOC_GETFSLABEL,
                    sys::arg(buf.as_mut_ptr()),
                    0,
                    0,
                    0,
                ],
            )
        };
        let _ = sys::close(fd);
        if ret != 0 {
            return Vec::new();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf[..end].to_vec()
    }

    /// Whether files can have holes (every Linux file system here but FAT).
    pub fn supports_sparse_files(&self) -> bool {
        self.fstype != "vfat"
    }

    /// Attribute flags that tell what the file system and this driver do.
    pub fn attribute_flags(&self) -> u32 {
        let mut flags =
            FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | FILE_SUPPORTS_POSIX_UNLINK_RENAME;
        if self.fstype != "vfat" {
            flags |= FILE_CASE_SENSITIVE_SEARCH
                | FILE_SUPPORTS_HARD_LINKS
                | FILE_SUPPORTS_REPARSE_POINTS
                | FILE_SUPPORTS_EXTENDED_ATTRIBUTES;
        }
        if self.supports_sparse_files() {
            flags |= FILE_SUPPORTS_SPARSE_FILES;
        }
        if self.read_only {
            flags |= FILE_READ_ONLY_VOLUME;
        }
        flags
    }
}

fn min_size(class: u32) -> Option<usize> {
    Some(match class {
        FILE_FS_VOLUME_INFORMATION => 18,
        FILE_FS_SIZE_INFORMATION => 24,
        FILE_FS_DEVICE_INFORMATION => 8,
        FILE_FS_ATTRIBUTE_INFORMATION => 12,
        FILE_FS_FULL_SIZE_INFORMATION => 32,
        FILE_FS_SECTOR_SIZE_INFORMATION => 28,
        _ => return None,
    })
}

/// A fixed part followed by a UTF-16 string: all of it, or what fits with
/// STATUS_BUFFER_OVERFLOW.
fn with_string(o: &mut Out, fixed: usize, s: &[u16]) -> Completion {
    let written = o.name(fixed, s);
    let information = (fixed + written) as u64;
    if written < s.len() * 2 {
        Completion {
            status: NtStatus::BUFFER_OVERFLOW,
            information,
        }
    } else {
        Completion::ok(information)
    }
}

/// FileFsDeviceInformation, which needs nothing of Linux (a host may
/// answer it without entering the kernel).
pub fn device_information(vol: &Volume, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    if out.len() < 8 {
        return NtStatus::INFO_LENGTH_MISMATCH.into();
    }
    out[..8].fill(0);
    let mut o = Out::new(out);
    o.u32(0, FILE_DEVICE_DISK);
    let ro = if vol.read_only {
        FILE_READ_ONLY_DEVICE
    } else {
        0
    };
    o.u32(4, FILE_DEVICE_IS_MOUNTED | ro);
    Completion::ok(8)
}

/// Answers a volume query for class `class` into `out`.
pub fn query(vol: &Volume, class: u32, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    if class == FILE_FS_DEVICE_INFORMATION {
        return device_information(vol, out);
    }
    let Some(min) = min_size(class) else {
        return NtStatus::INVALID_INFO_CLASS.into();
    };
    if out.len() < min {
        return NtStatus::INFO_LENGTH_MISMATCH.into();
    }
    if matches!(
        class,
        FILE_FS_SIZE_INFORMATION | FILE_FS_FULL_SIZE_INFORMATION
    ) && vol.fstype() == "btrfs"
    {
        // btrfs counts the space of data written since its last commit
        // only when the transaction commits (up to 30 s later, fsync or
        // not): committed first, free space shows what was written. (Not
        // through the volume's root descriptor: syncfs takes no O_PATH.)
        let flags = lkl::uapi::O_RDONLY | lkl::uapi::O_DIRECTORY | lkl::uapi::O_CLOEXEC;
        if let Ok(fd) = crate::beneath::open(vol, vol.root.as_bytes(), flags, 0) {
            let _ = sys::syncfs(fd);
            let _ = sys::close(fd);
        }
    }
    let statfs = match nt(sys::statfs(&vol.root)) {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let block = statfs.f_bsize as u64;
    out[..min].fill(0);
    let mut o = Out::new(out);
    match class {
        FILE_FS_VOLUME_INFORMATION => {
            let created = facts(vol, vol.root.as_bytes(), b"").map_or(0, |f| f.creation);
            let label: Vec<u16> = crate::names::to_windows(&vol.label());
            o.i64(0, created);
            o.u32(8, vol.serial() as u32 ^ (vol.serial() >> 32) as u32);
            o.u32(12, (label.len() * 2) as u32);
            o.u8(16, 0);
            return with_string(&mut o, 18, &label);
        }
        FILE_FS_SIZE_INFORMATION => {
            o.u64(0, statfs.f_blocks);
            o.u64(8, statfs.f_bavail);
            o.u32(16, (block / SECTOR) as u32);
            o.u32(20, SECTOR as u32);
        }
        FILE_FS_FULL_SIZE_INFORMATION => {
            o.u64(0, statfs.f_blocks);
            o.u64(8, statfs.f_bavail);
            o.u64(16, statfs.f_bfree);
            o.u32(24, (block / SECTOR) as u32);
            o.u32(28, SECTOR as u32);
        }
        FILE_FS_ATTRIBUTE_INFORMATION => {
            let name: Vec<u16> = vol.fstype.encode_utf16().collect();
            o.u32(0, vol.attribute_flags());
            o.u32(4, statfs.f_namelen as u32);
            o.u32(8, (name.len() * 2) as u32);
            return with_string(&mut o, 12, &name);
        }
        FILE_FS_SECTOR_SIZE_INFORMATION => {
            o.u32(0, SECTOR as u32);
            o.u32(4, vol.block_size);
            o.u32(8, vol.block_size);
            o.u32(12, vol.block_size);
            o.u32(16, 0x3);
            o.u32(20, 0);
            o.u32(24, 0);
        }
        _ => return NtStatus::INVALID_INFO_CLASS.into(),
    }
    Completion::ok(min as u64)
}
