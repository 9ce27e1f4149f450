//! System calls, as typed wrappers returning `Result<_, Errno>`.
//!
//! Each call runs on the calling thread's stack as that thread's own
//! kernel task (a thread of pid 1: every host thread shares one fd table
//! and working directory). Before boot and after halt they fail with
//! `ENODEV`. The kernel needs about 16 KiB of the caller's stack.
//!
//! Paths are bytes; one that already ends in a NUL is passed as it is,
//! any other is copied into a C string first.
use alloc::borrow::Cow;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{c_void, CStr};

use crate::uapi::{self, nr, Dirent64, OpenHow, Stat, Statfs, Statx, Timespec, Utsname};
use crate::{ffi, Errno};

/// Makes system call `nr` with `args`; returns the raw result (-errno on
/// failure).
///
/// # Safety
/// Pointer arguments must be valid for what system call `nr` does with them.
pub unsafe fn syscall(nr: i64, args: [i64; 6]) -> i64 {
    #[cfg(all(feature = "std", unix))]
    if crate::stack_watch::on() {
        // SAFETY: as below.
        return crate::stack_watch::syscall(|| unsafe { ffi::lkl_syscall(nr, args.as_ptr()) });
    }
    // SAFETY: args holds six values, as lkl_syscall reads.
    unsafe { ffi::lkl_syscall(nr, args.as_ptr()) }
}

fn call(nr: i64, args: [i64; 6]) -> Result<i64, Errno> {
    // SAFETY: every caller in this module passes pointers that are valid
    // for the call: borrowed buffers with their lengths, or C strings.
    Errno::from_ret(unsafe { syscall(nr, args) })
}

fn cstr(path: &[u8]) -> Result<Cow<'_, CStr>, Errno> {
    match CStr::from_bytes_with_nul(path) {
        Ok(c) => Ok(Cow::Borrowed(c)),
        Err(_) => CString::new(path)
            .map(Cow::Owned)
            .map_err(|_| Errno::EINVAL),
    }
}

fn ptr<T>(p: *const T) -> i64 {
    p as usize as i64
}

fn ptr_mut<T>(p: *mut T) -> i64 {
    p as usize as i64
}

pub fn openat(dirfd: i32, path: impl AsRef<[u8]>, flags: i32, mode: u32) -> Result<i32, Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::OPENAT,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            flags as i64,
            mode as i64,
            0,
            0,
        ],
    )
    .map(|fd| fd as i32)
}

/// openat with `how.resolve` restricting the walk (RESOLVE_NO_SYMLINKS...).
pub fn openat2(dirfd: i32, path: impl AsRef<[u8]>, how: &OpenHow) -> Result<i32, Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::OPENAT2,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            ptr(how as *const OpenHow),
            core::mem::size_of::<OpenHow>() as i64,
            0,
            0,
        ],
    )
    .map(|fd| fd as i32)
}

pub fn close(fd: i32) -> Result<(), Errno> {
    call(nr::CLOSE, [fd as i64, 0, 0, 0, 0, 0]).map(drop)
}

pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    call(
        nr::READ,
        [
            fd as i64,
            ptr_mut(buf.as_mut_ptr()),
            buf.len() as i64,
            0,
            0,
            0,
        ],
    )
    .map(|n| n as usize)
}

pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    call(
        nr::WRITE,
        [fd as i64, ptr(buf.as_ptr()), buf.len() as i64, 0, 0, 0],
    )
    .map(|n| n as usize)
}

pub fn pread64(fd: i32, buf: &mut [u8], offset: i64) -> Result<usize, Errno> {
    call(
        nr::PREAD64,
        [
            fd as i64,
            ptr_mut(buf.as_mut_ptr()),
            buf.len() as i64,
            offset,
            0,
            0,
        ],
    )
    .map(|n| n as usize)
}

pub fn pwrite64(fd: i32, buf: &[u8], offset: i64) -> Result<usize, Errno> {
    call(
        nr::PWRITE64,
        [fd as i64, ptr(buf.as_ptr()), buf.len() as i64, offset, 0, 0],
    )
    .map(|n| n as usize)
}

pub fn lseek(fd: i32, offset: i64, whence: i32) -> Result<u64, Errno> {
    call(nr::LSEEK, [fd as i64, offset, whence as i64, 0, 0, 0]).map(|n| n as u64)
}

pub fn fstat(fd: i32) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    call(nr::FSTAT, [fd as i64, ptr_mut(&mut st), 0, 0, 0, 0])?;
    Ok(st)
}

pub fn newfstatat(dirfd: i32, path: impl AsRef<[u8]>, flags: i32) -> Result<Stat, Errno> {
    let path = cstr(path.as_ref())?;
    let mut st = Stat::default();
    call(
        nr::NEWFSTATAT,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            ptr_mut(&mut st),
            flags as i64,
            0,
            0,
        ],
    )?;
    Ok(st)
}

pub fn statx(dirfd: i32, path: impl AsRef<[u8]>, flags: i32, mask: u32) -> Result<Statx, Errno> {
    let path = cstr(path.as_ref())?;
    let mut stx = Statx::default();
    call(
        nr::STATX,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            flags as i64,
            mask as i64,
            ptr_mut(&mut stx),
            0,
        ],
    )?;
    Ok(stx)
}

/// Reads directory entries into `buf`; see [`dirents`] to walk them.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    call(
        nr::GETDENTS64,
        [
            fd as i64,
            ptr_mut(buf.as_mut_ptr()),
            buf.len() as i64,
            0,
            0,
            0,
        ],
    )
    .map(|n| n as usize)
}

/// One directory entry of a [`getdents64`] buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub kind: u8,
    pub name: Vec<u8>,
}

/// The entries of the first `len` bytes that [`getdents64`] filled in.
pub fn dirents(buf: &[u8]) -> impl Iterator<Item = DirEntry> + '_ {
    records(buf).map(|(head, name)| DirEntry {
        ino: head.d_ino,
        kind: head.d_type,
        name: name.to_vec(),
    })
}

/// Just the names of [`dirents`], borrowed from the buffer.
pub fn dirent_names(buf: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    records(buf).map(|(_, name)| name)
}

fn records(buf: &[u8]) -> impl Iterator<Item = (Dirent64, &[u8])> + '_ {
    let mut at = 0;
    core::iter::from_fn(move || {
        let rest = buf.get(at..)?;
        if rest.len() < uapi::DIRENT64_NAME_OFFSET {
            return None;
        }
        // SAFETY: rest holds at least the fixed part, read unaligned.
        let head: Dirent64 = unsafe { core::ptr::read_unaligned(rest.as_ptr().cast()) };
        let reclen = head.d_reclen as usize;
        let record = rest.get(..reclen)?;
        let name = &record[uapi::DIRENT64_NAME_OFFSET..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        at += reclen;
        Some((head, name))
    })
}

pub fn mkdirat(dirfd: i32, path: impl AsRef<[u8]>, mode: u32) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::MKDIRAT,
        [dirfd as i64, ptr(path.as_ptr()), mode as i64, 0, 0, 0],
    )
    .map(drop)
}

pub fn unlinkat(dirfd: i32, path: impl AsRef<[u8]>, flags: i32) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::UNLINKAT,
        [dirfd as i64, ptr(path.as_ptr()), flags as i64, 0, 0, 0],
    )
    .map(drop)
}

pub fn renameat2(
    olddirfd: i32,
    old: impl AsRef<[u8]>,
    newdirfd: i32,
    new: impl AsRef<[u8]>,
    flags: u32,
) -> Result<(), Errno> {
    two_paths(nr::RENAMEAT2, olddirfd, old, newdirfd, new, flags as i64)
}

/// A call on two paths, each relative to a directory fd, with flags.
fn two_paths(
    nr: i64,
    olddirfd: i32,
    old: impl AsRef<[u8]>,
    newdirfd: i32,
    new: impl AsRef<[u8]>,
    flags: i64,
) -> Result<(), Errno> {
    let (old, new) = (cstr(old.as_ref())?, cstr(new.as_ref())?);
    let args = [
        olddirfd as i64,
        ptr(old.as_ptr()),
        newdirfd as i64,
        ptr(new.as_ptr()),
        flags,
        0,
    ];
    call(nr, args).map(drop)
}

pub fn fsync(fd: i32) -> Result<(), Errno> {
    call(nr::FSYNC, [fd as i64, 0, 0, 0, 0, 0]).map(drop)
}

pub fn ftruncate(fd: i32, length: i64) -> Result<(), Errno> {
    call(nr::FTRUNCATE, [fd as i64, length, 0, 0, 0, 0]).map(drop)
}

pub fn fallocate(fd: i32, mode: i32, offset: i64, len: i64) -> Result<(), Errno> {
    call(nr::FALLOCATE, [fd as i64, mode as i64, offset, len, 0, 0]).map(drop)
}

/// The kernel's page size: what mount(2) reads of its options.
const MOUNT_DATA_SIZE: usize = 4096;

/// Mounts `fstype` from `source` on `target`; `data` is the option string
/// (`EINVAL` if it does not fit in a page).
pub fn mount(
    source: impl AsRef<[u8]>,
    target: impl AsRef<[u8]>,
    fstype: impl AsRef<[u8]>,
    flags: u64,
    data: Option<&[u8]>,
) -> Result<(), Errno> {
    let (source, target, fstype) = (
        cstr(source.as_ref())?,
        cstr(target.as_ref())?,
        cstr(fstype.as_ref())?,
    );
    // mount(2) copies a whole page of options whatever their length (real
    // Linux stops early at a fault; with no MMU a copy past the end of a
    // short string can run off mapped memory): hand it a full page.
    let data = match data {
        Some(d) if d.len() >= MOUNT_DATA_SIZE => return Err(Errno::EINVAL),
        Some(d) => {
            let mut page = alloc::vec![0u8; MOUNT_DATA_SIZE];
            page[..d.len()].copy_from_slice(d);
            Some(page)
        }
        None => None,
    };
    let data_ptr = data.as_ref().map_or(0, |d| ptr(d.as_ptr()));
    call(
        nr::MOUNT,
        [
            ptr(source.as_ptr()),
            ptr(target.as_ptr()),
            ptr(fstype.as_ptr()),
            flags as i64,
            data_ptr,
            0,
        ],
    )
    .map(drop)
}

pub fn umount2(target: impl AsRef<[u8]>, flags: i32) -> Result<(), Errno> {
    let target = cstr(target.as_ref())?;
    call(
        nr::UMOUNT2,
        [ptr(target.as_ptr()), flags as i64, 0, 0, 0, 0],
    )
    .map(drop)
}

pub fn chdir(path: impl AsRef<[u8]>) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(nr::CHDIR, [ptr(path.as_ptr()), 0, 0, 0, 0, 0]).map(drop)
}

pub fn fchdir(fd: i32) -> Result<(), Errno> {
    call(nr::FCHDIR, [fd as i64, 0, 0, 0, 0, 0]).map(drop)
}

/// Makes `path` the root of the calling process (every host thread's,
/// in lkl: they are all threads of init).
pub fn chroot(path: impl AsRef<[u8]>) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(nr::CHROOT, [ptr(path.as_ptr()), 0, 0, 0, 0, 0]).map(drop)
}

pub fn symlinkat(
    target: impl AsRef<[u8]>,
    dirfd: i32,
    path: impl AsRef<[u8]>,
) -> Result<(), Errno> {
    let (target, path) = (cstr(target.as_ref())?, cstr(path.as_ref())?);
    call(
        nr::SYMLINKAT,
        [
            ptr(target.as_ptr()),
            dirfd as i64,
            ptr(path.as_ptr()),
            0,
            0,
            0,
        ],
    )
    .map(drop)
}

/// The target of symlink `path`.
pub fn readlinkat(dirfd: i32, path: impl AsRef<[u8]>) -> Result<Vec<u8>, Errno> {
    let path = cstr(path.as_ref())?;
    let mut buf = alloc::vec![0u8; 4096];
    let n = call(
        nr::READLINKAT,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            ptr_mut(buf.as_mut_ptr()),
            buf.len() as i64,
            0,
            0,
        ],
    )?;
    buf.truncate(n as usize);
    Ok(buf)
}

pub fn linkat(
    olddirfd: i32,
    old: impl AsRef<[u8]>,
    newdirfd: i32,
    new: impl AsRef<[u8]>,
    flags: i32,
) -> Result<(), Errno> {
    two_paths(nr::LINKAT, olddirfd, old, newdirfd, new, flags as i64)
}

pub fn fchmodat(dirfd: i32, path: impl AsRef<[u8]>, mode: u32) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::FCHMODAT,
        [dirfd as i64, ptr(path.as_ptr()), mode as i64, 0, 0, 0],
    )
    .map(drop)
}

pub fn fchownat(
    dirfd: i32,
    path: impl AsRef<[u8]>,
    uid: u32,
    gid: u32,
    flags: i32,
) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    call(
        nr::FCHOWNAT,
        [
            dirfd as i64,
            ptr(path.as_ptr()),
            uid as i64,
            gid as i64,
            flags as i64,
            0,
        ],
    )
    .map(drop)
}

/// Sets access and modification times (`None`: both to now).
pub fn utimensat(
    dirfd: i32,
    path: impl AsRef<[u8]>,
    times: Option<&[Timespec; 2]>,
    flags: i32,
) -> Result<(), Errno> {
    let path = cstr(path.as_ref())?;
    let times = times.map_or(0, |t| ptr(t.as_ptr()));
    call(
        nr::UTIMENSAT,
        [dirfd as i64, ptr(path.as_ptr()), times, flags as i64, 0, 0],
    )
    .map(drop)
}

pub fn statfs(path: impl AsRef<[u8]>) -> Result<Statfs, Errno> {
    let path = cstr(path.as_ref())?;
    let mut st = Statfs::default();
    call(
        nr::STATFS,
        [ptr(path.as_ptr()), ptr_mut(&mut st), 0, 0, 0, 0],
    )?;
    Ok(st)
}

pub fn syncfs(fd: i32) -> Result<(), Errno> {
    call(nr::SYNCFS, [fd as i64, 0, 0, 0, 0, 0]).map(drop)
}

/// FIFREEZE on the file system of `fd`: everything written out (a
/// journal made clean on disk, as after an unmount) and every later write
/// made to wait, until FITHAW.
pub fn freeze(fd: i32) -> Result<(), Errno> {
    call(nr::IOCTL, [fd as i64, uapi::FIFREEZE as i64, 0, 0, 0, 0]).map(drop)
}

/// FITHAW: writes go on again after [`freeze`].
pub fn thaw(fd: i32) -> Result<(), Errno> {
    call(nr::IOCTL, [fd as i64, uapi::FITHAW as i64, 0, 0, 0, 0]).map(drop)
}

pub fn sync() {
    let _ = call(nr::SYNC, [0; 6]);
}

pub fn uname() -> Result<Utsname, Errno> {
    let mut uts = Utsname::default();
    call(nr::UNAME, [ptr_mut(&mut uts), 0, 0, 0, 0, 0])?;
    Ok(uts)
}

pub fn getpid() -> Result<i32, Errno> {
    call(nr::GETPID, [0; 6]).map(|pid| pid as i32)
}

pub fn nanosleep(duration: &Timespec) -> Result<(), Errno> {
    call(nr::NANOSLEEP, [ptr(duration), 0, 0, 0, 0, 0]).map(drop)
}

/// `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

pub const POLLIN: i16 = 0x1;
pub const POLLOUT: i16 = 0x4;

/// Waits until one of `fds` is ready or `timeout` passes (None: for
/// ever): how many are ready, their `revents` set.
pub fn ppoll(fds: &mut [PollFd], timeout: Option<&Timespec>) -> Result<usize, Errno> {
    let timeout = timeout.map_or(0, |t| ptr(t));
    call(
        nr::PPOLL,
        [
            ptr_mut(fds.as_mut_ptr()),
            fds.len() as i64,
            timeout,
            0,
            8,
            0,
        ],
    )
    .map(|n| n as usize)
}

/// Mixes `seed` into the kernel's random number generator and credits
/// it as entropy (RNDADDENTROPY on /dev/urandom): with 32 bytes or more,
/// the generator is then ready and keyed from it. What it draws from then
/// on depends on the seed, and on nothing else the kernel has not seen
/// already.
pub fn add_entropy(seed: &[u8]) -> Result<(), Errno> {
    /// _IOW('R', 0x03, int[2])
    const RNDADDENTROPY: i64 = 0x4008_5203;
    // struct rand_pool_info: entropy_count (bits), buf_size (bytes), buf.
    let mut info = alloc::vec::Vec::with_capacity(8 + seed.len());
    info.extend_from_slice(&((seed.len() * 8) as i32).to_ne_bytes());
    info.extend_from_slice(&(seed.len() as i32).to_ne_bytes());
    info.extend_from_slice(seed);
    let fd = openat(
        crate::uapi::AT_FDCWD,
        "/dev/urandom",
        crate::uapi::O_WRONLY,
        0,
    )?;
    let r = call(
        nr::IOCTL,
        [fd as i64, RNDADDENTROPY, ptr(info.as_ptr()), 0, 0, 0],
    );
    let _ = close(fd);
    r.map(drop)
}

/// Sets the calling thread's timer slack: how late the kernel may end its
/// timed waits (poll, sleeps) to batch wake-ups; 50 µs by default.
pub fn set_timer_slack(ns: u64) -> Result<(), Errno> {
    const PR_SET_TIMERSLACK: i64 = 29;
    call(nr::PRCTL, [PR_SET_TIMERSLACK, ns as i64, 0, 0, 0, 0]).map(drop)
}

pub const CLOCK_REALTIME: i64 = 0;
pub const CLOCK_MONOTONIC: i64 = 1;

/// The kernel's clock `clock` (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`).
pub fn clock_gettime(clock: i64) -> Result<Timespec, Errno> {
    let mut now = Timespec::default();
    call(nr::CLOCK_GETTIME, [clock, ptr_mut(&mut now), 0, 0, 0, 0])?;
    Ok(now)
}

/// The C string in a fixed-size field such as those of [`Utsname`].
pub fn field_str(field: &[u8]) -> &str {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    core::str::from_utf8(&field[..end]).unwrap_or("")
}

/// A pointer argument for [`syscall`].
pub fn arg<T>(p: *const T) -> i64 {
    ptr(p.cast::<c_void>())
}

/// A pointer argument for [`syscall`] that the kernel writes through.
pub fn arg_mut<T>(p: *mut T) -> i64 {
    ptr_mut(p.cast::<c_void>())
}
