//! The data buffers of requests as slices: from an MDL (direct I/O), the
//! system buffer (buffered), or the caller's buffer. A user-mode caller's
//! own buffer (neither I/O) is refused until it can be probed under SEH.
use core::ffi::c_void;

use fsd::NtStatus;
use lkl_ntk::nt;

use crate::irp::Irp;

/// `len` bytes of the request's data buffer.
pub fn data<'a>(
    irp: Irp,
    device: *mut nt::DEVICE_OBJECT,
    len: usize,
) -> Result<&'a mut [u8], NtStatus> {
    if len == 0 {
        return Ok(&mut []);
    }
    let raw = irp.raw();
    let p: *mut c_void = irp.data_buffer(device);
    let unprobed = raw.MdlAddress.is_null() && p == raw.UserBuffer && irp.from_user();
    if unprobed {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if p.is_null() {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    // SAFETY: the buffer of an IRP in service holds len bytes (the MDL's,
    // the system buffer, or a kernel-mode sender's) until completion.
    Ok(unsafe { core::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}

/// The system buffer (METHOD_BUFFERED, QUERY/SET_INFORMATION...), `len` bytes.
pub fn system<'a>(irp: Irp, len: usize) -> Result<&'a mut [u8], NtStatus> {
    if len == 0 {
        return Ok(&mut []);
    }
    let p = irp.system_buffer();
    if p.is_null() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // SAFETY: the I/O manager's (or a kernel sender's) buffer of len bytes.
    Ok(unsafe { core::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}
