//! IRP_MJ_WRITE.
use lkl::sys;

use crate::access;
use crate::ccb::Ccb;
use crate::create::FILE_WRITE_THROUGH;
use crate::fcb::FdKind;
use crate::handle::Handle;
use crate::linux::{fstat, nt};
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

const PAGE: usize = 4096;

/// Where a write goes.
#[derive(Clone, Copy, Debug)]
pub enum WriteAt {
    Offset(u64),
    /// The open's current position.
    Current,
    /// FILE_WRITE_TO_END_OF_FILE: append.
    EndOfFile,
}

/// Writes `data`; writes past the end extend the file.
pub fn write(vol: &Volume, ccb: &mut Ccb, at: WriteAt, data: &[u8]) -> Completion {
    match write_inner(vol, ccb, at, data) {
        Ok(n) => Completion::ok(n as u64),
        Err(e) => Completion::error(e),
    }
}

/// Paging I/O (the cache and memory managers writing pages back): writes
/// `data` at `offset` whatever the byte-range locks and the open's access
/// (checked when the data entered the cache), never past the end of the
/// file (a page's tail beyond it is not the file's), and leaves the
/// position alone. Takes the handle unlocked (see `handle`).
pub fn write_paging(vol: &Volume, handle: &Handle, offset: u64, data: &[u8]) -> Completion {
    let inner = || -> Result<usize, NtStatus> {
        vol.check_mounted()?;
        vol.check_writable()?;
        let fd = paging_write_fd(vol, handle)?;
        let size = nt(fstat(fd))?.st_size as u64;
        let end = (offset + data.len() as u64).min(size.max(offset));
        let data = &data[..(end - offset) as usize];
        let mut done = 0;
        while done < data.len() {
            done += nt(sys::pwrite64(
                fd,
                &data[done..],
                (offset + done as u64) as i64,
            ))?;
        }
        Ok(done)
    };
    match inner() {
        Ok(_) => {
            handle.note_written();
            Completion::ok(data.len() as u64)
        }
        Err(e) => Completion::error(e),
    }
}

/// The descriptor paging writes go through: the FCB's read-write one
/// (made from the open's own descriptor by reopening it for writing,
/// wherever the file is now), whatever file object Mm or Cc sends the
/// write on: often a read-only open (an indexer's, an antivirus'), whose
/// descriptor would fail the write and lose the data.
fn paging_write_fd(vol: &Volume, handle: &Handle) -> Result<i32, NtStatus> {
    if handle.fd_writes() {
        return Ok(handle.fd());
    }
    let held = |vol: &Volume| {
        let state = vol.state.lock();
        let fcb = state.fcbs.get(&handle.ino()).ok_or(NtStatus::FILE_CLOSED)?;
        Ok::<_, NtStatus>(fcb.fd(FdKind::ReadWrite))
    };
    if let Some(fd) = held(vol)? {
        return Ok(fd);
    }
    // Opened outside the volume's spin lock (a system call may sleep).
    // The magic link reaches the file itself, not a name: what another
    // open renamed or deleted is still this file.
    let link = alloc::format!("/proc/self/fd/{}", handle.fd());
    let opened = nt(sys::openat(
        lkl::uapi::AT_FDCWD,
        link,
        lkl::uapi::O_RDWR | lkl::uapi::O_CLOEXEC,
        0,
    ))?;
    let mut state = vol.state.lock();
    let Some(fcb) = state.fcbs.get_mut(&handle.ino()) else {
        drop(state);
        let _ = sys::close(opened);
        return Err(NtStatus::FILE_CLOSED);
    };
    match fcb.fd(FdKind::ReadWrite) {
        // Another paging write got there first: its descriptor serves.
        Some(fd) => {
            drop(state);
            let _ = sys::close(opened);
            Ok(fd)
        }
        None => {
            fcb.fds[FdKind::ReadWrite as usize] = Some(opened);
            Ok(opened)
        }
    }
}

fn write_inner(vol: &Volume, ccb: &mut Ccb, at: WriteAt, data: &[u8]) -> Result<usize, NtStatus> {
    vol.check_mounted()?;
    if ccb.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    vol.check_writable()?;
    if ccb.access & access::WRITES_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if data.is_empty() {
        return Ok(0);
    }
    let offset = match at {
        WriteAt::Offset(o) => o,
        WriteAt::Current => ccb.position,
        WriteAt::EndOfFile => nt(fstat(ccb.fd))?.st_size as u64,
    };
    crate::read::check_locks(vol, ccb, offset, data.len() as u64, true)?;
    // A write of more than a page may stop half-way (no space left): the
    // size it started from, to go back to then, as if it never began.
    let size_before = if data.len() > PAGE {
        Some(nt(fstat(ccb.fd))?.st_size as u64)
    } else {
        None
    };
    let mut done = 0;
    while done < data.len() {
        match sys::pwrite64(ccb.fd, &data[done..], (offset + done as u64) as i64) {
            Ok(n) => done += n,
            Err(e) => {
                if let Some(size) = size_before.filter(|&s| offset + done as u64 > s) {
                    let _ = sys::ftruncate(ccb.fd, size as i64);
                }
                return nt(Err(e));
            }
        }
    }
    crate::fileinfo::keep_fixed_times(ccb)?;
    ccb.modified = true;
    if ccb.options & FILE_WRITE_THROUGH != 0 {
        nt(sys::fsync(ccb.fd))?;
    }
    ccb.position = offset + done as u64;
    Ok(done)
}
