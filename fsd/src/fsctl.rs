//! IRP_MJ_FILE_SYSTEM_CONTROL: locking, unlocking and dismounting the
//! volume, symlinks as reparse points (IO_REPARSE_TAG_SYMLINK), and
//! sparse files.
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use lkl::sys;
use lkl::uapi;

use crate::attributes::{self, IO_REPARSE_TAG_SYMLINK};
use crate::beneath;
use crate::ccb::Ccb;
use crate::layout::Out;
use crate::linux::nt;
use crate::status::{Completion, NtStatus};
use crate::volume::{Action, Volume};

pub const FSCTL_LOCK_VOLUME: u32 = 0x0009_0018;
pub const FSCTL_UNLOCK_VOLUME: u32 = 0x0009_001C;
pub const FSCTL_DISMOUNT_VOLUME: u32 = 0x0009_0020;
pub const FSCTL_SET_REPARSE_POINT: u32 = 0x0009_00A4;
pub const FSCTL_GET_REPARSE_POINT: u32 = 0x0009_00A8;
pub const FSCTL_DELETE_REPARSE_POINT: u32 = 0x0009_00AC;
pub const FSCTL_SET_SPARSE: u32 = 0x0009_00C4;

/// SYMLINK_FLAG_RELATIVE in a symlink's reparse data.
pub const SYMLINK_FLAG_RELATIVE: u32 = 1;
/// The fixed part of a symlink's REPARSE_DATA_BUFFER.
const SYMLINK_HEADER: usize = 20;

impl Volume {
    /// FSCTL_LOCK_VOLUME, from the volume's own handle: granted only while
    /// no file on the volume is open; then every create fails until unlock.
    pub fn lock(&self) -> Completion {
        let state = self.state.lock();
        if self.dismounted.load(Ordering::SeqCst) {
            return NtStatus::VOLUME_DISMOUNTED.into();
        }
        if self.locked.load(Ordering::SeqCst) || state.fcbs.values().any(|f| f.handles > 0) {
            return NtStatus::ACCESS_DENIED.into();
        }
        self.locked.store(true, Ordering::SeqCst);
        Completion::ok(0)
    }

    /// FSCTL_UNLOCK_VOLUME.
    pub fn unlock(&self) -> Completion {
        let _state = self.state.lock();
        if !self.locked.load(Ordering::SeqCst) {
            return NtStatus::NOT_LOCKED.into();
        }
        self.locked.store(false, Ordering::SeqCst);
        Completion::ok(0)
    }

    /// FSCTL_DISMOUNT_VOLUME: writes everything out and detaches the file
    /// system; requests on opens made before fail with
    /// STATUS_VOLUME_DISMOUNTED.
    pub fn dismount_request(&self) -> Completion {
        match self.dismount() {
            Ok(()) => Completion::ok(0),
            Err(e) => e.into(),
        }
    }
}

/// The Windows form of a Linux symlink target, and whether it is relative.
fn target_to_windows(target: &[u8]) -> (Vec<u16>, bool) {
    let relative = target.first() != Some(&b'/');
    let mut out = Vec::new();
    for (i, part) in target.split(|&c| c == b'/').enumerate() {
        if i > 0 {
            out.push(b'\\' as u16);
        }
        out.extend(crate::names::to_windows(part));
    }
    (out, relative)
}

/// FSCTL_GET_REPARSE_POINT on a symlink opened with FILE_OPEN_REPARSE_POINT.
pub fn get_reparse_point(vol: &Volume, ccb: &Ccb, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    let Some(path) = ccb.current_path(vol) else {
        return NtStatus::FILE_DELETED.into();
    };
    let st = match nt(beneath::lstat(vol, &path)) {
        Ok(st) => st,
        Err(e) => return e.into(),
    };
    if !attributes::is_symlink(&st) {
        return NtStatus::NOT_A_REPARSE_POINT.into();
    }
    if out.len() < SYMLINK_HEADER {
        return NtStatus::BUFFER_TOO_SMALL.into();
    }
    let target = match nt(beneath::readlink(vol, &path)) {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let (name, relative) = target_to_windows(&target);
    let bytes = name.len() * 2;
    // Substitute name and print name, the same string twice.
    let data_len = 12 + 2 * bytes;
    out[..SYMLINK_HEADER].fill(0);
    let mut o = Out::new(out);
    o.u32(0, IO_REPARSE_TAG_SYMLINK);
    o.buf[4..6].copy_from_slice(&(data_len as u16).to_le_bytes());
    o.buf[8..10].copy_from_slice(&0u16.to_le_bytes());
    o.buf[10..12].copy_from_slice(&(bytes as u16).to_le_bytes());
    o.buf[12..14].copy_from_slice(&(bytes as u16).to_le_bytes());
    o.buf[14..16].copy_from_slice(&(bytes as u16).to_le_bytes());
    o.u32(16, if relative { SYMLINK_FLAG_RELATIVE } else { 0 });
    let first = o.name(SYMLINK_HEADER, &name);
    let second = o.name(SYMLINK_HEADER + bytes, &name);
    let written = SYMLINK_HEADER + first + second;
    if written < SYMLINK_HEADER + 2 * bytes {
        return Completion {
            status: NtStatus::BUFFER_OVERFLOW,
            information: written as u64,
        };
    }
    Completion::ok(written as u64)
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

/// The Linux target named by a symlink's REPARSE_DATA_BUFFER.
fn parse_symlink(input: &[u8]) -> Result<Vec<u8>, NtStatus> {
    let tag = input
        .get(0..4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    if tag != Some(IO_REPARSE_TAG_SYMLINK) {
        return Err(if input.len() < 8 {
            NtStatus::INVALID_PARAMETER
        } else {
            NtStatus::IO_REPARSE_TAG_INVALID
        });
    }
    let data_len = u16_at(input, 4).ok_or(NtStatus::INVALID_PARAMETER)?;
    if input.len() < 8 + data_len || data_len < 12 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let (off, len) = (
        u16_at(input, 12).ok_or(NtStatus::INVALID_PARAMETER)?,
        u16_at(input, 14).ok_or(NtStatus::INVALID_PARAMETER)?,
    );
    let flags = u32::from_le_bytes(input[16..20].try_into().expect("four bytes"));
    let start = SYMLINK_HEADER + off;
    let name = input
        .get(start..start + len)
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    if !len.is_multiple_of(2) || len == 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let units: Vec<u16> = name
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut target = Vec::new();
    if flags & SYMLINK_FLAG_RELATIVE == 0 {
        target.push(b'/');
    }
    let trimmed = units.strip_prefix(&[b'\\' as u16]).unwrap_or(&units);
    for (i, part) in trimmed.split(|&c| c == b'\\' as u16).enumerate() {
        if i > 0 {
            target.push(b'/');
        }
        match part {
            [d] if *d == b'.' as u16 => target.push(b'.'),
            [d1, d2] if *d1 == b'.' as u16 && *d2 == b'.' as u16 => target.extend_from_slice(b".."),
            _ => target.extend(crate::names::to_linux(part)?),
        }
    }
    Ok(target)
}

/// FSCTL_SET_REPARSE_POINT: an empty file or directory becomes a symlink.
pub fn set_reparse_point(vol: &Volume, ccb: &mut Ccb, input: &[u8]) -> Completion {
    match set_inner(vol, ccb, input) {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}

fn set_inner(vol: &Volume, ccb: &mut Ccb, input: &[u8]) -> Result<(), NtStatus> {
    vol.check_mounted()?;
    // As NTFS asks of the handle (FSCTL_SET_REPARSE_POINT is
    // FILE_SPECIAL_ACCESS: the file system checks).
    if ccb.access & (crate::access::FILE_WRITE_DATA | crate::access::FILE_WRITE_ATTRIBUTES) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    vol.check_writable()?;
    let target = parse_symlink(input)?;
    let _names = vol.names_lock.lock();
    ccb.refresh_path(vol)?;
    let st = nt(beneath::lstat(vol, &ccb.path))?;
    let empty = if attributes::is_dir(&st) {
        nt(crate::resolve::is_empty_dir(ccb.fd))?
    } else {
        st.st_size == 0 && !attributes::is_symlink(&st)
    };
    if !empty {
        return Err(NtStatus::DIRECTORY_NOT_EMPTY);
    }
    vol.changing_names(|| {
        replace_by_symlink(vol, &ccb.path, &target, st.st_ino, attributes::is_dir(&st))
    })?;
    vol.changed(&ccb.path, Action::Modified);
    Ok(())
}

/// Puts a symlink to `target` where the empty file or directory `path`
/// (inode `ino`) is, all at once: the symlink is made under a name of its
/// own beside it first, so a target the file system does not take (too
/// long, no room) leaves everything as it was.
fn replace_by_symlink(
    vol: &Volume,
    path: &[u8],
    target: &[u8],
    ino: u64,
    is_dir: bool,
) -> Result<(), NtStatus> {
    let temp = beside(path, ino);
    nt(beneath::symlink(vol, target, &temp))?;
    let replaced = if is_dir {
        // A directory is not replaced by a rename: swapped, then removed
        // (swapped back if something came into it meanwhile).
        beneath::rename(vol, &temp, path, uapi::RENAME_EXCHANGE).and_then(|()| {
            beneath::unlink(vol, &temp, uapi::AT_REMOVEDIR).inspect_err(|_| {
                let _ = beneath::rename(vol, &temp, path, uapi::RENAME_EXCHANGE);
            })
        })
    } else {
        beneath::rename(vol, &temp, path, 0)
    };
    if replaced.is_err() {
        let _ = beneath::unlink(vol, &temp, 0);
    }
    nt(replaced)
}

/// A name in `path`'s directory for what is to replace the file `ino`.
fn beside(path: &[u8], ino: u64) -> Vec<u8> {
    let mut temp = Volume::parent_of(path).to_vec();
    temp.extend_from_slice(alloc::format!("/.fsd-reparse-{ino}").as_bytes());
    temp
}

/// Puts an empty file where the symlink `path` (inode `ino`) is, all at
/// once (made beside it first, as in [`replace_by_symlink`]).
fn replace_by_empty_file(vol: &Volume, path: &[u8], ino: u64) -> Result<(), NtStatus> {
    let temp = beside(path, ino);
    let flags = uapi::O_CREAT | uapi::O_EXCL | uapi::O_WRONLY;
    let _ = sys::close(nt(beneath::open(vol, &temp, flags, 0o644))?);
    let replaced = beneath::rename(vol, &temp, path, 0);
    if replaced.is_err() {
        let _ = beneath::unlink(vol, &temp, 0);
    }
    nt(replaced)
}

/// FSCTL_DELETE_REPARSE_POINT: the symlink becomes an empty file.
pub fn delete_reparse_point(vol: &Volume, ccb: &mut Ccb) -> Completion {
    let result = (|| {
        vol.check_mounted()?;
        if ccb.access & (crate::access::FILE_WRITE_DATA | crate::access::FILE_WRITE_ATTRIBUTES) == 0
        {
            return Err(NtStatus::ACCESS_DENIED);
        }
        vol.check_writable()?;
        let _names = vol.names_lock.lock();
        ccb.refresh_path(vol)?;
        let st = nt(beneath::lstat(vol, &ccb.path))?;
        if !attributes::is_symlink(&st) {
            return Err(NtStatus::NOT_A_REPARSE_POINT);
        }
        vol.changing_names(|| replace_by_empty_file(vol, &ccb.path, st.st_ino))?;
        vol.changed(&ccb.path, Action::Modified);
        Ok(())
    })();
    match result {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}

/// FSCTL_SET_SPARSE: Linux files on a file system with holes are sparse
/// already (what is never written takes no space and reads as zeros), so
/// marking one sparse changes nothing, and neither does clearing the mark
/// (`input`: FILE_SET_SPARSE_BUFFER, or nothing for "set"). Needs an open
/// of a regular file with write access, as on NTFS; FAT has no holes.
pub fn set_sparse(vol: &Volume, ccb: &Ccb, input: &[u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    if !vol.supports_sparse_files() || ccb.is_dir {
        return NtStatus::INVALID_PARAMETER.into();
    }
    if ccb.access & (crate::access::FILE_WRITE_DATA | crate::access::FILE_WRITE_ATTRIBUTES) == 0 {
        return NtStatus::ACCESS_DENIED.into();
    }
    if vol.is_read_only() {
        return NtStatus::MEDIA_WRITE_PROTECTED.into();
    }
    match input.first() {
        None | Some(0) | Some(1) => Completion::ok(0),
        Some(_) => NtStatus::INVALID_PARAMETER.into(),
    }
}
