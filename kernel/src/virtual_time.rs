//! Virtual time: a host whose clock is the simulation's. The kernel's
//! clock reads a counter that moves only when every thread taking part is
//! blocked; then it jumps to the one-shot timer's deadline and the timer
//! fires at once. Work takes no time, waits take no wall time, and a run
//! depends only on what the threads do, not on how fast the machine is.
//!
//! Who takes part: every kernel thread, and the one host thread that
//! boots the kernel ([`boot`]) and makes its system calls. Each counts as
//! running except while it is blocked on one of this host's semaphores; a
//! post to a semaphore with a sleeper counts the sleeper as running
//! before it wakes, so the count never falls to zero on the way from one
//! thread to the next. With one host thread, the order of everything is
//! the kernel's, and a run is the same every time. Nothing from outside
//! may wait on the kernel's behalf: no other host threads, no links to
//! the host's network, no disks served by host threads.
//!
//! [`now_ns`] also works on a kernel booted on the native host, on the
//! host's clock.
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;

use crate::{Config, Errno, Host, Kernel, NativeHost, ThreadEntry, TimerCallback};

/// The wall clock at virtual time zero: 2026-01-01T00:00:00Z, the same in
/// every run.
const WALL_AT_ZERO_NS: u64 = 1_767_225_600 * 1_000_000_000;

/// Whether the kernel of this process was booted on [`VirtualHost`].
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Virtual nanoseconds since boot; written under [`CLOCK`]'s lock.
static NOW: AtomicU64 = AtomicU64::new(0);
static CLOCK: Mutex<Clock> = Mutex::new(Clock {
    running: 0,
    deadline: None,
    callback: None,
    jumps: 0,
});

struct Clock {
    /// Threads taking part that are not blocked on a semaphore.
    running: usize,
    /// The one-shot timer's expiry, in virtual nanoseconds.
    deadline: Option<u64>,
    callback: Option<TimerCallback>,
    /// Times the clock moved.
    jumps: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One thread more is running.
fn started() {
    lock(&CLOCK).running += 1;
}

/// One thread fewer is running. If none is left, the clock moves to the
/// timer's deadline, and the caller must call the callback returned
/// (outside any semaphore's lock: it posts the idle thread's).
#[must_use]
fn stopped() -> Option<TimerCallback> {
    let mut clock = lock(&CLOCK);
    clock.running = clock
        .running
        .checked_sub(1)
        .expect("virtual time: a second host thread waited in the kernel");
    if clock.running > 0 {
        return None;
    }
    let deadline = clock.deadline.take()?;
    let now = NOW.load(Ordering::SeqCst).max(deadline);
    NOW.store(now, Ordering::SeqCst);
    clock.jumps += 1;
    clock.callback
}

fn stopped_for_good() {
    if let Some(callback) = stopped() {
        callback.call();
    }
}

/// A semaphore whose sleepers stop the clock's count of running threads.
pub struct Semaphore {
    state: Mutex<SemState>,
    wake: Condvar,
}

struct SemState {
    /// Units nobody waits for.
    count: u32,
    /// Threads blocked and not yet given a unit.
    sleepers: u32,
    /// Units given to sleepers that have not woken to take them.
    given: u32,
}

impl Semaphore {
    fn new(count: u32) -> Self {
        Semaphore {
            state: Mutex::new(SemState {
                count,
                sleepers: 0,
                given: 0,
            }),
            wake: Condvar::new(),
        }
    }

    fn up(&self) {
        let mut state = lock(&self.state);
        if state.sleepers > 0 {
            state.sleepers -= 1;
            state.given += 1;
            started();
            self.wake.notify_one();
        } else {
            state.count += 1;
        }
    }

    fn down(&self) {
        let mut state = lock(&self.state);
        if state.count > 0 {
            state.count -= 1;
            return;
        }
        state.sleepers += 1;
        if let Some(callback) = stopped() {
            drop(state);
            callback.call();
            state = lock(&self.state);
        }
        while state.given == 0 {
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.given -= 1;
    }
}

/// The one-shot timer: its deadline and callback live in the clock.
pub struct Timer;

/// Host `H` with the clock, the timer, the semaphores and the threads
/// replaced by virtual ones.
pub struct VirtualHost<H>(PhantomData<H>);

impl<H: Host> Host for VirtualHost<H> {
    type Semaphore = Semaphore;
    type Timer = Timer;

    fn print(text: &[u8]) {
        H::print(text)
    }

    fn panic(message: &str) -> ! {
        H::panic(message)
    }

    fn semaphore(count: u32) -> Semaphore {
        Semaphore::new(count)
    }

    fn up(sem: &Semaphore) {
        sem.up()
    }

    fn down(sem: &Semaphore) {
        sem.down()
    }

    fn spawn(entry: ThreadEntry) -> Result<(), Errno> {
        started();
        let spawned = thread::Builder::new()
            .name("lkl".into())
            .stack_size(crate::KERNEL_THREAD_STACK)
            .spawn(move || {
                entry.run();
                stopped_for_good();
            });
        spawned.map(drop).map_err(|_| {
            stopped_for_good();
            Errno::EAGAIN
        })
    }

    fn tls_get() -> *mut core::ffi::c_void {
        H::tls_get()
    }

    fn tls_set(value: *mut core::ffi::c_void) {
        H::tls_set(value)
    }

    fn alloc_pool(size: usize) -> *mut u8 {
        H::alloc_pool(size)
    }

    unsafe fn free_pool(ptr: *mut u8, size: usize) {
        // SAFETY: the Host contract, passed on: ptr and size come from
        // alloc_pool, which is H's.
        unsafe { H::free_pool(ptr, size) }
    }

    fn monotonic_ns() -> u64 {
        NOW.load(Ordering::SeqCst)
    }

    fn wall_ns() -> u64 {
        WALL_AT_ZERO_NS + NOW.load(Ordering::SeqCst)
    }

    fn timer(callback: TimerCallback) -> Option<Timer> {
        lock(&CLOCK).callback = Some(callback);
        Some(Timer)
    }

    fn arm(_: &Timer, delta_ns: u64) {
        let now = NOW.load(Ordering::SeqCst);
        lock(&CLOCK).deadline = Some(now.saturating_add(delta_ns));
    }

    fn disarm(_: &Timer) {
        lock(&CLOCK).deadline = None;
    }
}

/// Boots the kernel in virtual time, on the native host's memory and
/// console; the calling thread takes part from now on.
/// `EBUSY` if a kernel was booted in this process before.
pub fn boot(config: &Config) -> Result<Kernel, Errno> {
    if ACTIVE.swap(true, Ordering::SeqCst) {
        return Err(Errno::EBUSY);
    }
    started();
    Kernel::boot_with::<VirtualHost<NativeHost>>(config)
}

/// Whether this process's kernel runs in virtual time.
pub fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// The kernel's monotonic clock: virtual nanoseconds since boot, or the
/// native host's clock.
pub fn now_ns() -> u64 {
    if active() {
        NOW.load(Ordering::SeqCst)
    } else {
        NativeHost::monotonic_ns()
    }
}

/// How many times the virtual clock has moved.
pub fn jumps() -> u64 {
    lock(&CLOCK).jumps
}
