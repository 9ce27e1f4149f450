//! The counting half of the user-space hosts' semaphores: a count taken
//! without locks, a short spin before a wait, and the number of threads
//! asleep on it. Each host adds its own way to sleep and to wake.
use core::sync::atomic::{AtomicU64, Ordering};

/// Spins of a wait before it sleeps. Handing the CPU from one kernel
/// thread to another is a post on one semaphore and a wait on another, and
/// the other side is often a few microseconds from posting.
const SPINS: u32 = 200;

/// Units in the low 32 bits, sleepers in the high 32: one word, so that a
/// post learns whether to wake anyone from the same atomic operation that
/// makes its unit visible. A thread that takes that unit may free the
/// semaphore at once; the poster must not touch it after that (but for a
/// wake by address, which does not read the memory).
pub struct Count {
    state: AtomicU64,
}

const UNIT: u64 = 1;
const SLEEPER: u64 = 1 << 32;

impl Count {
    pub fn new(count: u32) -> Count {
        Count {
            state: AtomicU64::new(u64::from(count)),
        }
    }

    /// Takes a unit if one is free.
    pub fn try_take(&self) -> bool {
        let mut state = self.state.load(Ordering::SeqCst);
        while state as u32 > 0 {
            match self.state.compare_exchange_weak(
                state,
                state - UNIT,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
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

    /// Adds a unit; true if a sleeper may have to be woken. The last
    /// access to the count: after it, only a wake by `address` is allowed.
    pub fn post(&self) -> bool {
        self.state.fetch_add(UNIT, Ordering::SeqCst) >> 32 > 0
    }

    /// Brackets a sleep: after `asleep`, a post reports a sleeper.
    pub fn asleep(&self) {
        self.state.fetch_add(SLEEPER, Ordering::SeqCst);
    }

    pub fn awake(&self) {
        self.state.fetch_sub(SLEEPER, Ordering::SeqCst);
    }

    /// The address of the units (a u32), for waits while they are zero
    /// (a futex, WaitOnAddress).
    pub fn address(&self) -> *const u32 {
        let units = self.state.as_ptr().cast::<u32>();
        if cfg!(target_endian = "little") {
            units
        } else {
            units.wrapping_add(1)
        }
    }
}
