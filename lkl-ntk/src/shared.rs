//! A kernel object in static or boxed memory that NT routines change
//! through pointers (events, semaphores, timers).
use core::cell::UnsafeCell;

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
