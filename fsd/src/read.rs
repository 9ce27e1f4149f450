//! IRP_MJ_READ.
use lkl::sys;

use crate::access;
use crate::ccb::Ccb;
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
    let locked_out = vol.state.lock().fcbs.get(&ccb.ino).is_some_and(|f| {
        !crate::lockctl::io_allowed(&f.locks, ccb.id, offset, buf.len() as u64, false)
    });
    if locked_out {
        return Err(NtStatus::FILE_LOCK_CONFLICT);
    }
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
