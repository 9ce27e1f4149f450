//! What the information classes report about a file: its status (statx,
//! with the birth time), attributes and times in Windows terms. Shared by
//! fileinfo and dirctrl.
use lkl::uapi::{self, Stat, Statx};
use lkl::{sys, Errno};

use crate::attributes;
use crate::beneath;
use crate::layout::Out;
use crate::time::to_windows;
use crate::volume::Volume;

/// A file's status in the terms FILE_* structures use.
pub struct FileFacts {
    pub ino: u64,
    pub creation: i64,
    pub access: i64,
    pub write: i64,
    pub change: i64,
    pub size: u64,
    pub allocation: u64,
    pub attributes: u32,
    pub reparse_tag: u32,
    pub links: u32,
    pub is_dir: bool,
}

fn ts(t: &uapi::StatxTimestamp) -> i64 {
    to_windows(t.tv_sec, t.tv_nsec as u64)
}

/// Facts about `path` (not following a symlink), named `name`.
pub fn facts(vol: &Volume, path: &[u8], name: &[u8]) -> Result<FileFacts, Errno> {
    let stx = beneath::statx(vol, path, MASK)?;
    Ok(from_statx(vol, &stx, name, || path.to_vec()))
}

/// Facts about entry `name` of the directory open as `dir_fd`, whose
/// kernel path is `dir` (not following a symlink). A name that ends in a
/// NUL goes to the kernel without a copy.
pub fn facts_in(vol: &Volume, dir_fd: i32, dir: &[u8], name: &[u8]) -> Result<FileFacts, Errno> {
    let stx = statx_at(dir_fd, name, 0)?;
    let name = name.strip_suffix(&[0]).unwrap_or(name);
    Ok(from_statx(vol, &stx, name, || {
        crate::resolve::join(dir, name)
    }))
}

/// Facts about the file open as `fd` (wherever its names are now), whose
/// kernel path was `path` when it was opened.
pub fn facts_of_open(vol: &Volume, fd: i32, path: &[u8]) -> Result<FileFacts, Errno> {
    let stx = statx_at(fd, b"\0", uapi::AT_EMPTY_PATH)?;
    let name = last_name(path);
    Ok(from_statx(vol, &stx, name, || path.to_vec()))
}

/// What the facts are made of.
const MASK: u32 = uapi::STATX_BASIC_STATS | uapi::STATX_BTIME;

/// The status of entry `name` of the directory open as `dir_fd` (a
/// single name: it cannot leave the directory).
fn statx_at(dir_fd: i32, name: &[u8], flags: i32) -> Result<Statx, Errno> {
    sys::statx(dir_fd, name, flags | uapi::AT_SYMLINK_NOFOLLOW, MASK)
}

/// The facts of status `stx`; `path` gives the file's kernel path, asked
/// for only to see where a symlink leads.
fn from_statx(
    vol: &Volume,
    stx: &Statx,
    name: &[u8],
    path: impl FnOnce() -> alloc::vec::Vec<u8>,
) -> FileFacts {
    let st = Stat {
        st_mode: stx.stx_mode as u32,
        st_ino: stx.stx_ino,
        ..Stat::default()
    };
    let target_is_dir = attributes::is_symlink(&st) && beneath::points_to_dir(vol, &path());
    let birth = if stx.stx_mask & uapi::STATX_BTIME != 0 {
        &stx.stx_btime
    } else {
        &stx.stx_ctime
    };
    let is_dir = attributes::is_dir(&st);
    FileFacts {
        ino: stx.stx_ino,
        creation: ts(birth),
        access: ts(&stx.stx_atime),
        write: ts(&stx.stx_mtime),
        change: ts(&stx.stx_ctime),
        size: if is_dir { 0 } else { stx.stx_size },
        allocation: if is_dir { 0 } else { stx.stx_blocks * 512 },
        attributes: attributes::from_stat(&st, name, vol.hide_dotfiles, target_is_dir),
        reparse_tag: attributes::reparse_tag(&st),
        links: stx.stx_nlink,
        is_dir,
    }
}

/// The last component of a kernel path.
pub fn last_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&c| c == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// The four times (creation, last access, last write, change) at `at`,
/// in the order every FILE_* structure keeps them.
pub fn write_times(o: &mut Out, at: usize, f: &FileFacts) {
    o.i64(at, f.creation);
    o.i64(at + 8, f.access);
    o.i64(at + 16, f.write);
    o.i64(at + 24, f.change);
}
