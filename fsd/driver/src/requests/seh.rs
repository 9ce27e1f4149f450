//! Calls that may raise a structured exception instead of returning an
//! error (the cache manager's, when a page cannot be read or written)
//! run through the SEH shim (`shim/seh.S`, `shim/seh.c`): the exception
//! comes back as the status it carried.
use core::ffi::c_void;

use fsd::NtStatus;

unsafe extern "C" {
    fn lklfsd_guarded_call(f: unsafe extern "C" fn(*mut c_void), context: *mut c_void) -> i32;
}

/// Runs `f`, catching an exception raised inside it. An exception skips
/// the rest of `f` and drops nothing `f` made: `f` should only call.
pub fn guarded<F: FnMut()>(mut f: F) -> Result<(), NtStatus> {
    unsafe extern "C" fn trampoline<F: FnMut()>(context: *mut c_void) {
        // SAFETY: the context is the `F` below, alive for the call.
        unsafe { (*(context as *mut F))() }
    }
    // SAFETY: the shim calls trampoline::<F> with the context given, once.
    let s = unsafe { lklfsd_guarded_call(trampoline::<F>, (&mut f as *mut F).cast()) };
    if s == 0 {
        Ok(())
    } else {
        Err(NtStatus(s as u32))
    }
}
