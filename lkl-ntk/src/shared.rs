//! A kernel object in static or boxed memory that NT routines change
//! through pointers (events, semaphores, timers), and waiting for one.
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr::null_mut;

use crate::nt;

#[repr(transparent)]
pub struct Shared<T>(UnsafeCell<T>);

// SAFETY: the objects inside are NT dispatcher objects, which the kernel
// routines synchronise themselves; Rust code only passes their address.
unsafe impl<T> Sync for Shared<T> {}
// SAFETY: as above: the address may be used from any thread.
unsafe impl<T> Send for Shared<T> {}

impl<T> Shared<T> {
    pub const fn new(value: T) -> Shared<T> {
        Shared(UnsafeCell::new(value))
    }

    pub fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// An all-zero value of a C structure, before its Ke*Initialize* routine.
pub const fn zeroed<T>() -> T {
    // SAFETY: only used for plain C structures of the NT headers (integers,
    // pointers, list entries), for which all-zero bytes are a valid value.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// Waits (kernel mode, not alertable, no timeout) until `object` is
/// signalled.
///
/// # Safety
/// `object` is an initialised dispatcher object (event, semaphore, timer,
/// thread) that stays alive while the wait lasts.
pub unsafe fn wait<T>(object: *mut T) {
    // SAFETY: the caller's promise.
    unsafe {
        nt::KeWaitForSingleObject(
            object.cast::<c_void>(),
            nt::Executive,
            nt::KernelMode,
            0,
            null_mut(),
        )
    };
}

/// Whether `object` is signalled now (a wait that does not block; it
/// takes a unit of a semaphore, and resets a synchronization event).
///
/// # Safety
/// As for [`wait`].
pub unsafe fn signalled<T>(object: *mut T) -> bool {
    let mut zero: nt::LARGE_INTEGER = zeroed();
    // SAFETY: the caller's promise; a zero timeout only polls.
    unsafe {
        nt::KeWaitForSingleObject(
            object.cast::<c_void>(),
            nt::Executive,
            nt::KernelMode,
            0,
            &mut zero,
        ) == 0
    }
}
