//! A lock usable at any IRQL up to DISPATCH_LEVEL: a KSPIN_LOCK taken with
//! KeAcquireSpinLockRaiseToDpc, so the holder cannot be preempted on its
//! processor. `spin::Mutex` spins at the caller's IRQL: a thread at
//! PASSIVE_LEVEL holding one can be preempted by code at DISPATCH_LEVEL
//! (a cancel routine, a DPC) that then spins for it forever. Whatever
//! such code touches is kept behind this lock instead.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::nt;

pub struct SpinLock<T> {
    lock: UnsafeCell<nt::KSPIN_LOCK>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, which holds the
// KSPIN_LOCK; the lock itself is changed only by the kernel's routines.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A released lock (an all-zero KSPIN_LOCK is what
    /// KeInitializeSpinLock makes).
    pub const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            lock: UnsafeCell::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Raises the IRQL to DISPATCH_LEVEL and takes the lock; the guard
    /// lowers it again. Nothing may wait or touch pageable memory while
    /// the guard lives.
    pub fn lock(&self) -> SpinGuard<'_, T> {
        // SAFETY: our KSPIN_LOCK, released by the guard's drop.
        let irql = unsafe { nt::KeAcquireSpinLockRaiseToDpc(self.lock.get()) };
        SpinGuard { owner: self, irql }
    }
}

pub struct SpinGuard<'a, T> {
    owner: &'a SpinLock<T>,
    irql: nt::KIRQL,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.owner.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and is borrowed mutably.
        unsafe { &mut *self.owner.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken by `lock` at the IRQL it saved.
        unsafe { nt::KeReleaseSpinLock(self.owner.lock.get(), self.irql) };
    }
}
