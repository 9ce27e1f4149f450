//! Semaphores on KSEMAPHORE. A thread waiting for one also waits for the
//! kernel's death, and parks if it comes (see [`crate::death`]).
use alloc::boxed::Box;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::shared::{zeroed, Shared};
use crate::{death, nt};

/// A counting semaphore; boxed, since NT objects must not move.
pub struct Semaphore(Box<Shared<nt::KSEMAPHORE>>);

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Semaphores not yet dropped (what a Linux panic leaves behind).
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

impl Drop for Semaphore {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Semaphore {
    pub fn new(count: u32) -> Semaphore {
        let sem = Box::new(Shared::new(zeroed::<nt::KSEMAPHORE>()));
        // SAFETY: a fresh semaphore in memory that stays put.
        unsafe { nt::KeInitializeSemaphore(sem.get(), count as i32, i32::MAX) };
        LIVE.fetch_add(1, Ordering::Relaxed);
        Semaphore(sem)
    }

    /// Never blocks; legal up to DISPATCH_LEVEL.
    pub fn up(&self) {
        // SAFETY: an initialised semaphore; no wait follows (Wait FALSE).
        unsafe { nt::KeReleaseSemaphore(self.0.get(), 0, 1, 0) };
    }

    /// Waits for a unit, or parks the thread for good if the kernel dies.
    pub fn down(&self) {
        // Death first: when both are signalled, WaitAny reports the lowest.
        let mut objects: [*mut c_void; 2] = [death::died_event().cast(), self.0.get().cast()];
        // SAFETY: two initialised dispatcher objects; two objects fit the
        // thread's own wait blocks, so none are passed.
        let status = unsafe {
            nt::KeWaitForMultipleObjects(
                2,
                objects.as_mut_ptr(),
                nt::WaitAny,
                nt::Executive,
                nt::KernelMode as i8,
                0,
                null_mut(),
                null_mut(),
            )
        };
        if status != 1 {
            death::park();
        }
    }
}
