//! The NTK host: lkl's native operations on Windows kernel routines, for
//! the kernel-mode driver (the LKL paper's NTK environment).
//!
//! Semaphores are KSEMAPHOREs, threads PsCreateSystemThread threads,
//! memory ExAllocatePoolWithTag (non-paged, no-execute, our tags),
//! time KeQueryPerformanceCounter and KeQuerySystemTime(Precise), the
//! timer a KTIMER whose DPC raises the timer IRQ, the console DbgPrintEx;
//! the per-thread pointer is a table keyed by the current thread. Only
//! the driver's workers ([`workers`]) and Linux's own threads run Linux
//! code; a Linux panic parks them all instead of stopping Windows
//! ([`death`]).
#![cfg(windows)]
#![no_std]

extern crate alloc;

mod clock;
pub mod console;
pub mod death;
pub mod nt;
pub mod pool;
mod semaphore;
mod shared;
pub mod spin_lock;
pub mod stack;
pub mod threads;
mod timer;
mod tls;
pub mod workers;

use alloc::vec::Vec;
use core::ffi::c_void;

use lkl::{Errno, Host, ThreadEntry, TimerCallback};
use spin::Mutex;

pub use clock::{interval_ns, system_routine};
pub use semaphore::{live as live_semaphores, Semaphore};
pub use shared::{signalled, wait, zeroed, Shared};
pub use timer::{live as live_timers, Timer};

/// Native operations for the Windows kernel.
pub struct NtkHost;

/// Linux's pool blocks (address, size), given back by
/// [`reclaim_after_death`] when Linux cannot give them back itself.
static LINUX_BLOCKS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Prepares the host; once, before the kernel boots.
pub fn init() {
    death::init();
    clock::init();
}

/// After a death, once every thread has ended ([`threads::wait_all`]):
/// cancels Linux's timers and frees Linux's memory, which no code runs on
/// any more. The host objects Linux held (semaphores, timers: a few
/// hundred bytes of the heap tag) stay allocated: nothing that owns them
/// runs to free them.
pub fn reclaim_after_death() {
    timer::cancel_all();
    for (ptr, size) in core::mem::take(&mut *LINUX_BLOCKS.lock()) {
        // SAFETY: a block alloc_pool took and Linux never gave back.
        unsafe { pool::free(pool::Tag::Linux, ptr as *mut u8, size) };
    }
}

/// Frees what the host's own tables hold, once Linux has halted (or died
/// and been reclaimed) and every thread has ended: at unload, so that the
/// pool is back where it was before DriverEntry.
pub fn release_statics() {
    workers::release();
    timer::release();
    stack::release();
    drop(core::mem::take(&mut *LINUX_BLOCKS.lock()));
}

impl Host for NtkHost {
    type Semaphore = Semaphore;
    type Timer = Timer;

    fn print(text: &[u8]) {
        console::print(text)
    }

    fn panic(message: &str) -> ! {
        death::die(message)
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

    /// A Linux kernel thread, on an expanded stack for its whole life;
    /// without one it cannot run, and the kernel is stopped (a contained
    /// death) rather than left waiting for it.
    fn spawn(entry: ThreadEntry) -> Result<(), Errno> {
        threads::spawn(move || {
            let mut entry = Some(entry);
            let ran = stack::run(|| {
                if let Some(entry) = entry.take() {
                    entry.run();
                }
            });
            if !ran {
                death::die("no expanded stack for a Linux thread");
            }
        })
        .map_err(|_| Errno::ENOMEM)
    }

    fn tls_get() -> *mut c_void {
        tls::get()
    }

    fn tls_set(value: *mut c_void) {
        tls::set(value)
    }

    fn alloc_pool(size: usize) -> *mut u8 {
        let p = pool::alloc(pool::Tag::Linux, size);
        if !p.is_null() {
            LINUX_BLOCKS.lock().push((p as usize, size));
        }
        p
    }

    unsafe fn free_pool(ptr: *mut u8, size: usize) {
        LINUX_BLOCKS.lock().retain(|&(p, _)| p != ptr as usize);
        // SAFETY: the caller's promise: a block of alloc_pool.
        unsafe { pool::free(pool::Tag::Linux, ptr, size) }
    }

    fn monotonic_ns() -> u64 {
        clock::monotonic_ns()
    }

    fn wall_ns() -> u64 {
        clock::wall_ns()
    }

    fn timer(callback: TimerCallback) -> Option<Timer> {
        Some(Timer::new(callback))
    }

    fn arm(timer: &Timer, delta_ns: u64) {
        timer.arm(delta_ns)
    }

    fn disarm(timer: &Timer) {
        timer.disarm()
    }
}
