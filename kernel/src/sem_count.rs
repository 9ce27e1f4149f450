//! The counting half of the user-space hosts' semaphores: a count taken
//! without locks, a short spin before a wait, and the number of threads
//! asleep on it. Each host adds its own way to sleep and to wake.
use core::sync::atomic::{AtomicU32, Ordering};

/// Spins of a wait before it sleeps. Handing the CPU from one kernel
/// thread to another is a post on one semaphore and a wait on another, and
/// the other side is often a few microseconds from posting.
const SPINS: u32 = 200;

pub struct Count {
    count: AtomicU32,
    sleepers: AtomicU32,
}

impl Count {
    pub fn new(count: u32) -> Count {
        Count {
            count: AtomicU32::new(count),
            sleepers: AtomicU32::new(0),
        }
    }

    /// Takes a unit if one is free.
    pub fn try_take(&self) -> bool {
        let mut count = self.count.load(Ordering::SeqCst);
        while count > 0 {
            match self.count.compare_exchange_weak(
                count,
                count - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => count = now,
            }
        }
        false
    }

    /// Takes a unit, spinning a little for one to be posted.
    pub fn spin_take(&self) -> bool {
        for _ in 0..SPINS {
            if self.try_take() {
                return true;
            }
            core::hint::spin_loop();
        }
        false
    }

    /// Adds a unit; true if a sleeper may have to be woken.
    pub fn post(&self) -> bool {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.sleepers.load(Ordering::SeqCst) > 0
    }

    /// Brackets a sleep: after `asleep`, a post reports a sleeper.
    pub fn asleep(&self) {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
    }

    pub fn awake(&self) {
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// The count's address, for waits on it (WaitOnAddress).
    #[cfg(windows)]
    pub fn address(&self) -> *const u32 {
        self.count.as_ptr()
    }
}
