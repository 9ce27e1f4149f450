//! IRP_MJ_READ.
use lkl::sys;

use crate::access;
use crate::ccb::Ccb;
use crate::handle::Handle;
use crate::linux::nt;
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

/// Reads into `buf` from `offset` (None: the current position). At or
/// past the end of the file: STATUS_END_OF_FILE.
pub fn read(vol: &Volume, ccb: &mut Ccb, offset: Option<u64>, buf: &mut [u8]) -> Completion {
    match read_inner(vol, ccb, offset, buf) {
        Ok(n) => Completion::ok(n as u64),
        Err(e) => Completion::error(e),
    }
}

/// Paging I/O (the cache and memory managers filling pages): reads into
/// `buf` from `offset` whatever the byte-range locks and the open's
/// access (checked when the data entered the cache), and leaves the
/// position alone. Bytes past the end of the file read as zeros. Takes
/// the handle unlocked (see `handle`).
pub fn read_paging(vol: &Volume, handle: &Handle, offset: u64, buf: &mut [u8]) -> Completion {
    let mut inner = || -> Result<usize, NtStatus> {
        vol.check_mounted()?;
        let mut done = 0;
        while done < buf.len() {
            match nt(sys::pread64(
                handle.fd(),
                &mut buf[done..],
                (offset + done as u64) as i64,
            ))? {
                0 => break,
                n => done += n,
            }
        }
        Ok(done)
    };
    match inner() {
        Ok(done) => {
            buf[done..].fill(0);
            Completion::ok(buf.len() as u64)
        }
        Err(e) => e.into(),
    }
}

/// Whether the open may read (`write`: write) `length` bytes at `offset`
/// past the other opens' byte-range locks (for the cached path, which
/// checks before it copies).
pub fn check_locks(
    vol: &Volume,
    ccb: &Ccb,
    offset: u64,
    length: u64,
    write: bool,
) -> Result<(), NtStatus> {
    let locked_out = vol
        .state
        .lock()
        .fcbs
        .get(&ccb.ino)
        .is_some_and(|f| !crate::lockctl::io_allowed(&f.locks, ccb.id, offset, length, write));
    if locked_out {
        Err(NtStatus::FILE_LOCK_CONFLICT)
    } else {
        Ok(())
    }
}

fn read_inner(
    vol: &Volume,
    ccb: &mut Ccb,
    offset: Option<u64>,
    buf: &mut [u8],
) -> Result<usize, NtStatus> {
    vol.check_mounted()?;
    if ccb.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if ccb.access & (access::FILE_READ_DATA | access::FILE_EXECUTE) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let offset = offset.unwrap_or(ccb.position);
    if buf.is_empty() {
        return Ok(0);
    }
    if offset > i64::MAX as u64 - buf.len() as u64 {
        // No file reaches that far.
        return Err(NtStatus::END_OF_FILE);
    }
    check_locks(vol, ccb, offset, buf.len() as u64, false)?;
    let mut done = 0;
    while done < buf.len() {
        let n = nt(sys::pread64(
            ccb.fd,
            &mut buf[done..],
            (offset + done as u64) as i64,
        ))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    // Nothing at `offset`: it is at or past the end.
    if done == 0 {
        return Err(NtStatus::END_OF_FILE);
    }
    ccb.position = offset + done as u64;
    Ok(done)
}
