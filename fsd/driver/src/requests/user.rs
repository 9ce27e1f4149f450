//! Buffers a user-mode caller passes by its own address (neither I/O):
//! their range is checked to lie in user space, as ProbeForRead and
//! ProbeForWrite check it, and they are copied in or out by the SEH-guarded
//! shim (shim/seh.S), so a bad address fails the request with the
//! exception's status (STATUS_ACCESS_VIOLATION) instead of a bug check.
use alloc::vec::Vec;

use fsd::NtStatus;

extern "C" {
    /// Copies `len` bytes; 0, or the code of the exception that stopped it.
    fn lklfsd_copy_user(dst: *mut u8, src: *const u8, len: usize) -> i32;
}

pub const ACCESS_VIOLATION: NtStatus = NtStatus(0xC000_0005);

/// The end of user space on 64-bit Windows (MmUserProbeAddress).
const USER_END: usize = 0x7FFF_FFFF_0000;

fn in_user_space(address: usize, len: usize) -> bool {
    len == 0 || (address != 0 && address.checked_add(len).is_some_and(|end| end <= USER_END))
}

/// Copies `len` bytes between two buffers, guarded: 0 or the exception's
/// code.
///
/// # Safety
/// `dst` is writable for `len` bytes unless it is the user's side (then
/// a fault is caught); likewise `src`.
pub unsafe fn guarded_copy(dst: *mut u8, src: *const u8, len: usize) -> i32 {
    // SAFETY: the caller's promise; the shim catches faults.
    unsafe { lklfsd_copy_user(dst, src, len) }
}

/// `len` bytes of the caller's memory at `address`.
pub fn copy_in(address: *const u8, len: usize) -> Result<Vec<u8>, NtStatus> {
    if !in_user_space(address as usize, len) {
        return Err(ACCESS_VIOLATION);
    }
    let mut bytes = crate::sized::zeroed(len)?;
    // SAFETY: bytes is ours; the user's side is guarded.
    match unsafe { guarded_copy(bytes.as_mut_ptr(), address, len) } {
        0 => Ok(bytes),
        code => Err(NtStatus(code as u32)),
    }
}

/// `data` into the caller's memory at `address`.
pub fn copy_out(address: *mut u8, data: &[u8]) -> Result<(), NtStatus> {
    if !in_user_space(address as usize, data.len()) {
        return Err(ACCESS_VIOLATION);
    }
    // SAFETY: data is ours; the user's side is guarded.
    match unsafe { guarded_copy(address, data.as_ptr(), data.len()) } {
        0 => Ok(()),
        code => Err(NtStatus(code as u32)),
    }
}
