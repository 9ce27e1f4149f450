//! File operations in the image, over the kernel's system calls.
use std::io::{Read, Seek, SeekFrom, Write};

use lkl::uapi::{self, Stat, AT_FDCWD};
use lkl::{sys, Errno};

use crate::error::{Context, Error};
use crate::session::check_interrupt;

const CHUNK: usize = 1 << 20;
/// Copies of files leave out blocks of this many zero bytes: holes in the
/// copy, as `cp --sparse=always` makes them.
const BLOCK: usize = 4096;

/// An open file descriptor of the kernel, closed on drop.
pub struct Fd(pub i32);

impl Fd {
    pub fn open(path: impl AsRef<[u8]>, flags: i32, mode: u32) -> Result<Fd, Errno> {
        sys::openat(AT_FDCWD, path, flags | uapi::O_CLOEXEC, mode).map(Fd)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = sys::close(self.0);
    }
}

/// A path in the kernel's tree as messages show it: Linux names are
/// bytes, not always UTF-8.
pub fn shown(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// The directory that holds `path`, an absolute path (in the image or
/// in the kernel's tree; Linux names are bytes).
pub fn parent_of(path: &[u8]) -> &[u8] {
    let mut trimmed = path;
    while let Some(rest) = trimmed.strip_suffix(b"/") {
        trimmed = rest;
    }
    match trimmed.iter().rposition(|&c| c == b'/') {
        Some(0) | None => b"/",
        Some(i) => &trimmed[..i],
    }
}

/// The path of `name` in the directory `dir` (both in the kernel's tree).
pub fn child(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    [dir, b"/", name].concat()
}

/// The status of `path`, following a symlink (which resolves inside the
/// image: its root is the root).
pub fn stat(path: impl AsRef<[u8]>) -> Result<Stat, Errno> {
    sys::newfstatat(AT_FDCWD, path, 0)
}

pub fn lstat(path: impl AsRef<[u8]>) -> Result<Stat, Errno> {
    sys::newfstatat(AT_FDCWD, path, uapi::AT_SYMLINK_NOFOLLOW)
}

pub fn is_dir(st: &Stat) -> bool {
    st.st_mode & uapi::S_IFMT == uapi::S_IFDIR
}

pub fn is_symlink(st: &Stat) -> bool {
    st.st_mode & uapi::S_IFMT == uapi::S_IFLNK
}

/// The entries of a directory, without `.` and `..`, sorted by name.
pub fn read_dir(path: &[u8]) -> Result<Vec<sys::DirEntry>, Error> {
    let fd = Fd::open(path, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).at(&shown(path))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut out = Vec::new();
    loop {
        let n = sys::getdents64(fd.0, &mut buf).at(&shown(path))?;
        if n == 0 {
            break;
        }
        out.extend(sys::dirents(&buf[..n]).filter(|e| e.name != b"." && e.name != b".."));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Copies the image file `path` to `out`; `progress` gets byte counts.
pub fn copy_out(
    path: &[u8],
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Error> {
    let name = shown(path);
    let fd = Fd::open(path, uapi::O_RDONLY, 0).at(&name)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        check_interrupt()?;
        let n = sys::read(fd.0, &mut buf).at(&name)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n]).map_err(Error::output)?;
        progress(n as u64);
    }
}

/// Copies the image file `path` into the host file `out`, leaving holes
/// where the file reads as zeros; `progress` gets byte counts.
pub fn copy_out_sparse(
    path: &[u8],
    out: &mut std::fs::File,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Error> {
    let name = shown(path);
    let fd = Fd::open(path, uapi::O_RDONLY, 0).at(&name)?;
    let writing = |e: std::io::Error| Error::Msg(format!("writing: {e}"));
    let mut buf = vec![0u8; CHUNK];
    let mut at = 0u64;
    loop {
        check_interrupt()?;
        let n = sys::read(fd.0, &mut buf).at(&name)?;
        if n == 0 {
            return out.set_len(at).map_err(writing);
        }
        for (offset, data) in data_runs(&buf[..n], at) {
            out.seek(SeekFrom::Start(offset)).map_err(writing)?;
            out.write_all(data).map_err(writing)?;
        }
        at += n as u64;
        progress(n as u64);
    }
}

/// Creates the image file `path` (which must not exist) from `input`,
/// leaving holes where it reads as zeros.
pub fn copy_in(
    path: &[u8],
    input: &mut dyn Read,
    mode: u32,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Error> {
    let name = shown(path);
    let fd = Fd::open(path, uapi::O_WRONLY | uapi::O_CREAT | uapi::O_EXCL, mode).at(&name)?;
    let mut buf = vec![0u8; CHUNK];
    let mut at = 0u64;
    loop {
        check_interrupt()?;
        let n = input
            .read(&mut buf)
            .map_err(|e| Error::Msg(format!("reading: {e}")))?;
        if n == 0 {
            return sys::ftruncate(fd.0, at as i64).at(&name);
        }
        for (offset, data) in data_runs(&buf[..n], at) {
            let mut done = 0;
            while done < data.len() {
                done +=
                    sys::pwrite64(fd.0, &data[done..], (offset + done as u64) as i64).at(&name)?;
            }
        }
        at += n as u64;
        progress(n as u64);
    }
}

/// The stretches of `data` (read at file offset `at`) to write in a
/// sparse copy: runs of whole `BLOCK`s, aligned in the file, that are not
/// all zeros (and a last partial block, whatever it holds).
fn data_runs(data: &[u8], at: u64) -> impl Iterator<Item = (u64, &[u8])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let block_end = |from: usize| {
            let in_file = at + from as u64;
            (from + BLOCK - (in_file % BLOCK as u64) as usize).min(data.len())
        };
        let is_zero =
            |from: usize, to: usize| to - from == BLOCK && data[from..to].iter().all(|&b| b == 0);
        while start < data.len() && is_zero(start, block_end(start)) {
            start = block_end(start);
        }
        if start == data.len() {
            return None;
        }
        let first = start;
        while start < data.len() && !is_zero(start, block_end(start)) {
            start = block_end(start);
        }
        Some((at + first as u64, &data[first..start]))
    })
}

/// Mode, owner and times of `path` (not following a symlink) from `st`.
pub fn set_attributes(path: &[u8], st: &Stat, symlink: bool) -> Result<(), Error> {
    let name = shown(path);
    sys::fchownat(
        AT_FDCWD,
        path,
        st.st_uid,
        st.st_gid,
        uapi::AT_SYMLINK_NOFOLLOW,
    )
    .at(&name)?;
    if !symlink {
        sys::fchmodat(AT_FDCWD, path, st.st_mode & 0o7777).at(&name)?;
    }
    let times = [
        uapi::Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as i64,
        },
        uapi::Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as i64,
        },
    ];
    sys::utimensat(AT_FDCWD, path, Some(&times), uapi::AT_SYMLINK_NOFOLLOW).at(&name)
}

/// The parent directory of an absolute path inside the image.
pub fn parent(path: &str) -> &str {
    // Cut at a `/`: still UTF-8.
    std::str::from_utf8(parent_of(path.as_bytes())).expect("cut at a '/'")
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    &trimmed[trimmed.rfind('/').map_or(0, |i| i + 1)..]
}
