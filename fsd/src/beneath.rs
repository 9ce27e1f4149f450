//! Path system calls confined to the volume: every call the core makes
//! by a kernel path (`/mnt/vda/dir/name`) walks from the volume's root
//! descriptor, never from the kernel's root, and cannot leave it.
//!
//! Opens are one `openat2` with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_XDEV. Calls on a name (stat, unlink, rename, link, mkdir,
//! symlink, readlink) are made relative to the name's directory, opened
//! the same way (the root's own descriptor for names in the root), on a
//! last component that is never `.` or `..`. So a bug in name translation,
//! or a directory swapped for a symlink between a lookup and its use,
//! still ends inside the volume: `..` past the root, absolute symlinks and
//! `/proc` magic links fail with EXDEV or ELOOP. A path not under the
//! volume's root is EXDEV without a call.
use alloc::vec::Vec;

use lkl::uapi::{self, OpenHow, Stat, Statx};
use lkl::{sys, Errno};

use crate::volume::Volume;

/// The walk every open makes: beneath the root, no `/proc` magic links,
/// no other mount.
pub const CONFINED: u64 =
    uapi::RESOLVE_BENEATH | uapi::RESOLVE_NO_MAGICLINKS | uapi::RESOLVE_NO_XDEV;

/// `path` relative to the volume's root (`.` for the root itself), or
/// EXDEV if it is not under it or names `.`/`..` anywhere.
fn relative<'a>(vol: &Volume, path: &'a [u8]) -> Result<&'a [u8], Errno> {
    let rest = path.strip_prefix(vol.root.as_bytes()).ok_or(Errno::EXDEV)?;
    let rest = match rest {
        [] | [b'/'] => return Ok(b"."),
        [b'/', rest @ ..] => rest,
        _ => return Err(Errno::EXDEV),
    };
    if rest
        .split(|&c| c == b'/')
        .any(|c| c.is_empty() || c == b"." || c == b"..")
    {
        return Err(Errno::EXDEV);
    }
    Ok(rest)
}

/// Opens kernel path `path` (`flags` as for openat) beneath the volume's
/// root; `resolve` adds to [`CONFINED`] (RESOLVE_NO_SYMLINKS, say).
pub fn open_with(
    vol: &Volume,
    path: &[u8],
    flags: i32,
    mode: u32,
    resolve: u64,
) -> Result<i32, Errno> {
    let how = OpenHow {
        flags: (flags | uapi::O_CLOEXEC) as u64,
        mode: if flags & uapi::O_CREAT != 0 {
            mode as u64
        } else {
            0
        },
        resolve: CONFINED | resolve,
    };
    sys::openat2(vol.root_fd(), relative(vol, path)?, &how)
}

/// Opens kernel path `path` beneath the volume's root.
pub fn open(vol: &Volume, path: &[u8], flags: i32, mode: u32) -> Result<i32, Errno> {
    open_with(vol, path, flags, mode, 0)
}

/// A name's directory, held open for a call on the name.
struct Dir {
    fd: i32,
    /// Opened for the call (else the volume's root descriptor).
    owned: bool,
}

impl Drop for Dir {
    fn drop(&mut self) {
        if self.owned {
            let _ = sys::close(self.fd);
        }
    }
}

/// The directory of kernel path `path` (opened beneath the root) and the
/// last component; for the root itself, the root and an empty name.
fn split(vol: &Volume, path: &[u8]) -> Result<(Dir, Vec<u8>), Errno> {
    let rel = relative(vol, path)?;
    let root = Dir {
        fd: vol.root_fd(),
        owned: false,
    };
    if rel == b"." {
        return Ok((root, Vec::new()));
    }
    let Some(slash) = rel.iter().rposition(|&c| c == b'/') else {
        return Ok((root, rel.to_vec()));
    };
    let how = OpenHow {
        flags: (uapi::O_PATH | uapi::O_DIRECTORY | uapi::O_CLOEXEC) as u64,
        mode: 0,
        resolve: CONFINED,
    };
    let fd = sys::openat2(vol.root_fd(), &rel[..slash], &how)?;
    Ok((Dir { fd, owned: true }, rel[slash + 1..].to_vec()))
}

/// The name as the kernel takes it: the empty name (the directory itself)
/// goes with AT_EMPTY_PATH.
fn empty_flag(name: &[u8]) -> i32 {
    if name.is_empty() {
        uapi::AT_EMPTY_PATH
    } else {
        0
    }
}

/// The status of `path`, not following a symlink.
pub fn lstat(vol: &Volume, path: &[u8]) -> Result<Stat, Errno> {
    let (dir, name) = split(vol, path)?;
    sys::newfstatat(dir.fd, &name, uapi::AT_SYMLINK_NOFOLLOW | empty_flag(&name))
}

/// The status and birth time of `path`, not following a symlink.
pub fn statx(vol: &Volume, path: &[u8], mask: u32) -> Result<Statx, Errno> {
    let (dir, name) = split(vol, path)?;
    sys::statx(
        dir.fd,
        &name,
        uapi::AT_SYMLINK_NOFOLLOW | empty_flag(&name),
        mask,
    )
}

/// Whether `path`, following symlinks as the core does (the volume's root
/// is their root: RESOLVE_IN_ROOT), ends at a directory.
pub fn points_to_dir(vol: &Volume, path: &[u8]) -> bool {
    let how = OpenHow {
        flags: (uapi::O_PATH | uapi::O_DIRECTORY | uapi::O_CLOEXEC) as u64,
        mode: 0,
        resolve: uapi::RESOLVE_IN_ROOT | uapi::RESOLVE_NO_MAGICLINKS | uapi::RESOLVE_NO_XDEV,
    };
    relative(vol, path)
        .and_then(|rel| sys::openat2(vol.root_fd(), rel, &how))
        .is_ok_and(|fd| {
            let _ = sys::close(fd);
            true
        })
}

/// The target of symlink `path`.
pub fn readlink(vol: &Volume, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let (dir, name) = split(vol, path)?;
    sys::readlinkat(dir.fd, &name)
}

/// The volume's root as a name: no call removes, renames or links it.
fn named(name: &[u8]) -> Result<&[u8], Errno> {
    if name.is_empty() {
        Err(Errno::EBUSY)
    } else {
        Ok(name)
    }
}

/// Removes `path` (AT_REMOVEDIR in `flags` for a directory).
pub fn unlink(vol: &Volume, path: &[u8], flags: i32) -> Result<(), Errno> {
    let (dir, name) = split(vol, path)?;
    sys::unlinkat(dir.fd, named(&name)?, flags)
}

/// Makes directory `path`.
pub fn mkdir(vol: &Volume, path: &[u8], mode: u32) -> Result<(), Errno> {
    let (dir, name) = split(vol, path)?;
    sys::mkdirat(dir.fd, named(&name)?, mode)
}

/// Makes symlink `path` to `target` (kept as it is: the core follows
/// symlinks inside the volume itself).
pub fn symlink(vol: &Volume, target: &[u8], path: &[u8]) -> Result<(), Errno> {
    let (dir, name) = split(vol, path)?;
    sys::symlinkat(target, dir.fd, named(&name)?)
}

/// Renames `from` to `to` (`flags` as for renameat2).
pub fn rename(vol: &Volume, from: &[u8], to: &[u8], flags: u32) -> Result<(), Errno> {
    let (from_dir, from_name) = split(vol, from)?;
    let (to_dir, to_name) = split(vol, to)?;
    sys::renameat2(
        from_dir.fd,
        named(&from_name)?,
        to_dir.fd,
        named(&to_name)?,
        flags,
    )
}

/// Makes `to` a hard link to `from` (not following a symlink).
pub fn link(vol: &Volume, from: &[u8], to: &[u8]) -> Result<(), Errno> {
    let (from_dir, from_name) = split(vol, from)?;
    let (to_dir, to_name) = split(vol, to)?;
    sys::linkat(
        from_dir.fd,
        named(&from_name)?,
        to_dir.fd,
        named(&to_name)?,
        0,
    )
}
