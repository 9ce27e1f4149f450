//! The few system calls the core makes on open files beyond `lkl::sys`'s
//! path-based wrappers, and errno-to-status conversion at call sites.
use lkl::uapi::{self, nr, Stat, Timespec};
use lkl::{sys, Errno};

use crate::status::{from_errno, Missing, NtStatus};

/// A failed call on an existing object: its errno as a status.
pub fn nt<T>(r: Result<T, Errno>) -> Result<T, NtStatus> {
    r.map_err(|e| from_errno(e, Missing::Name))
}

pub fn fchmod(fd: i32, mode: u32) -> Result<(), Errno> {
    // SAFETY: fchmod takes two integers.
    let ret = unsafe { sys::syscall(nr::FCHMOD, [fd as i64, mode as i64, 0, 0, 0, 0]) };
    Errno::from_ret(ret).map(drop)
}

/// Sets access and modification times of an open file (`UTIME_OMIT`
/// leaves one alone).
pub fn futimens(fd: i32, times: &[Timespec; 2]) -> Result<(), Errno> {
    sys::utimensat(fd, "", Some(times), uapi::AT_EMPTY_PATH)
}

pub fn fstat(fd: i32) -> Result<Stat, Errno> {
    sys::fstat(fd)
}
