//! A lock whose waiters sleep in the kernel (its futexes) instead of
//! spinning: for what may be held across system calls that wait on the
//! disk. Every host thread that calls the kernel is a thread of one
//! process there, so a futex on the lock's own word works as it does for
//! threads of a Linux process.
use core::sync::atomic::{AtomicU32, Ordering};

use lkl::sys;
use lkl::uapi::nr;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and a thread may be asleep on it.
const CONTENDED: u32 = 2;

const FUTEX_WAIT_PRIVATE: i64 = 128;
const FUTEX_WAKE_PRIVATE: i64 = 129;

pub struct SleepLock {
    state: AtomicU32,
}

/// Holds the lock until dropped.
pub struct SleepGuard<'a>(&'a SleepLock);

impl SleepLock {
    pub const fn new() -> SleepLock {
        SleepLock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    pub fn lock(&self) -> SleepGuard<'_> {
        let taken =
            self.state
                .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed);
        if taken.is_err() {
            while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
                self.futex(FUTEX_WAIT_PRIVATE, CONTENDED);
            }
        }
        SleepGuard(self)
    }

    /// FUTEX_WAIT (while the word is `value`) or FUTEX_WAKE (`value`
    /// threads) on the lock's word. A wait that returns early (a wake, a
    /// changed word, a signal) only makes the caller look again.
    fn futex(&self, op: i64, value: u32) {
        let word = self.state.as_ptr();
        // SAFETY: the word lives as long as the lock, which outlives every
        // wait on it; the kernel reads it (and wakes waiters) atomically.
        unsafe {
            sys::syscall(nr::FUTEX, [sys::arg(word), op, i64::from(value), 0, 0, 0]);
        }
    }
}

impl Default for SleepLock {
    fn default() -> Self {
        SleepLock::new()
    }
}

impl Drop for SleepGuard<'_> {
    fn drop(&mut self) {
        if self.0.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            self.0.futex(FUTEX_WAKE_PRIVATE, 1);
        }
    }
}
