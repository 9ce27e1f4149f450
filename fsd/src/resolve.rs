//! Finding files by Windows names: exact match first, then a
//! case-insensitive one (the smallest Linux name wins when several names
//! differ only by case). Symlinks are followed inside the volume, whose
//! root is the root for them (see [`follow`]).
use alloc::vec::Vec;

use lkl::uapi::{self, Stat};
use lkl::{sys, Errno};

use crate::attributes::is_dir;
use crate::beneath;
use crate::names;
use crate::status::NtStatus;
use crate::volume::Volume;

/// Joins a kernel path and a Linux name.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// The Linux names in directory `dir`, without `.` and `..`.
fn list(vol: &Volume, dir: &[u8]) -> Result<Vec<Vec<u8>>, Errno> {
    let fd = beneath::open(vol, dir, uapi::O_RDONLY | uapi::O_DIRECTORY, 0)?;
    let mut out = Vec::new();
    let listed = read_names(fd, |name| out.push(name.to_vec()));
    let _ = sys::close(fd);
    listed.map(|()| out)
}

/// Calls `f` with each Linux name, but `.` and `..`, in the directory
/// open as `fd` (O_PATH too), wherever it is now (a deleted one has none).
pub fn for_each_name_in(fd: i32, f: impl FnMut(&[u8])) -> Result<(), Errno> {
    let own = open_listing(fd)?;
    let listed = read_names(own, f);
    let _ = sys::close(own);
    listed
}

/// A descriptor of its own for listing the directory open as `fd` (O_PATH
/// too): the listing starts at the first entry, whatever else reads `fd`.
pub fn open_listing(fd: i32) -> Result<i32, Errno> {
    sys::openat(
        fd,
        b".",
        uapi::O_RDONLY | uapi::O_DIRECTORY | uapi::O_CLOEXEC,
        0,
    )
}

/// Whether the directory open as `fd` has no entries but `.` and `..`.
pub fn is_empty_dir(fd: i32) -> Result<bool, Errno> {
    let mut empty = true;
    for_each_name_in(fd, |_| empty = false)?;
    Ok(empty)
}

/// Calls `f` with each Linux name, but `.` and `..`, that the directory
/// open for reading as `fd` lists from its position on.
fn read_names(fd: i32, mut f: impl FnMut(&[u8])) -> Result<(), Errno> {
    read_names_upto(fd, usize::MAX, |name| {
        f(name);
        0
    })
    .map(drop)
}

/// As [`read_names`], `f` saying what each name cost it in bytes,
/// stopping once that adds up to `budget` (after the batch the kernel gave
/// that passed it, so that `fd` stands where the next name is): whether it
/// stopped so (names may be left).
pub fn read_names_upto(
    fd: i32,
    budget: usize,
    mut f: impl FnMut(&[u8]) -> usize,
) -> Result<bool, Errno> {
    let mut buf = alloc::vec![0u8; 32 << 10];
    let mut used = 0usize;
    loop {
        match sys::getdents64(fd, &mut buf)? {
            0 => return Ok(false),
            n => {
                for name in sys::dirent_names(&buf[..n]).filter(|n| *n != b"." && *n != b"..") {
                    used = used.saturating_add(f(name));
                }
                if used >= budget {
                    return Ok(true);
                }
            }
        }
    }
}

/// The Linux name in `dir` that Windows name `win` designates, if any,
/// with its status when the exact name matched.
pub fn find(vol: &Volume, dir: &[u8], win: &[u16]) -> Result<Option<Vec<u8>>, NtStatus> {
    find_stat(vol, dir, win).map(|f| f.map(|(name, _)| name))
}

/// A name found, with its status when the lookup read it.
type Found = (Vec<u8>, Option<Stat>);

fn find_stat(vol: &Volume, dir: &[u8], win: &[u16]) -> Result<Option<Found>, NtStatus> {
    let exact = names::to_linux(win)?;
    match beneath::lstat(vol, &join(dir, &exact)) {
        Ok(st) => return Ok(Some((exact, Some(st)))),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(crate::status::from_errno(e, crate::status::Missing::Path)),
    }
    let entries =
        list(vol, dir).map_err(|e| crate::status::from_errno(e, crate::status::Missing::Path))?;
    Ok(entries
        .into_iter()
        .filter(|n| names::eq_ignore_case(&names::to_windows(n), win))
        .min()
        .map(|name| (name, None)))
}

/// Where a path leads: its parent directory and the Linux name in it
/// (the Windows name when nothing by that name exists yet).
pub struct Resolved {
    pub parent: Vec<u8>,
    pub name: Vec<u8>,
    pub exists: bool,
    /// The file's status, when finding it already read it.
    pub stat: Option<Stat>,
}

impl Resolved {
    pub fn path(&self) -> Vec<u8> {
        join(&self.parent, &self.name)
    }
}

/// Follows `path` while it is a symlink, inside the volume: the volume's
/// root is the root for symlinks (an absolute target starts there, and
/// `..` goes no higher), as in a chroot, and as `lklfs` follows them;
/// relative targets resolve from the link's directory. Nothing is left
/// for the I/O manager to reparse: a loop (more than 32 links) is
/// STATUS_REPARSE_POINT_NOT_RESOLVED.
pub fn follow(vol: &Volume, mut path: Vec<u8>) -> Result<Vec<u8>, NtStatus> {
    let root = vol.root.as_bytes();
    for _ in 0..32 {
        match beneath::lstat(vol, &path) {
            Ok(st) if crate::attributes::is_symlink(&st) => {}
            _ => return Ok(path),
        }
        // Changed since the lstat (another open's rename, say): looked at
        // again.
        let Ok(target) = beneath::readlink(vol, &path) else {
            continue;
        };
        let mut parts: Vec<&[u8]> = path
            .get(root.len()..)
            .unwrap_or_default()
            .split(|&c| c == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        parts.pop();
        if target.first() == Some(&b'/') {
            parts.clear();
        }
        for part in target.split(|&c| c == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        let mut next = root.to_vec();
        for part in parts {
            next.push(b'/');
            next.extend_from_slice(part);
        }
        path = next;
    }
    Err(NtStatus::REPARSE_POINT_NOT_RESOLVED)
}

/// Resolves Windows path components under kernel directory `base`, inside
/// the volume. A missing or non-directory component before the
/// last one gives OBJECT_PATH_NOT_FOUND; symlinks on the way are followed
/// as [`follow`] does.
pub fn resolve(vol: &Volume, base: &[u8], components: &[&[u16]]) -> Result<Resolved, NtStatus> {
    let (last, dirs) = components
        .split_last()
        .ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    let mut parent = base.to_vec();
    for c in dirs {
        let name = find(vol, &parent, c)?.ok_or(NtStatus::OBJECT_PATH_NOT_FOUND)?;
        let next = follow(vol, join(&parent, &name))?;
        let st = beneath::lstat(vol, &next).map_err(|_| NtStatus::OBJECT_PATH_NOT_FOUND)?;
        if !is_dir(&st) {
            return Err(NtStatus::OBJECT_PATH_NOT_FOUND);
        }
        parent = next;
    }
    match find_stat(vol, &parent, last)? {
        Some((name, stat)) => Ok(Resolved {
            parent,
            name,
            exists: true,
            stat,
        }),
        None => Ok(Resolved {
            parent,
            name: names::to_linux(last)?,
            exists: false,
            stat: None,
        }),
    }
}
