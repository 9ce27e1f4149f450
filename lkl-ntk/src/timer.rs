//! The kernel's one-shot timer: a KTIMER with a KDPC whose routine only
//! raises the timer IRQ (non-blocking, legal at DISPATCH_LEVEL).
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use lkl::TimerCallback;
use spin::Mutex;

use crate::nt;
use crate::shared::{zeroed, Shared};

struct Parts {
    timer: Shared<nt::KTIMER>,
    dpc: Shared<nt::KDPC>,
    callback: TimerCallback,
    /// Expiry routines running now (Wine's KeFlushQueuedDpcs does not
    /// wait for them, so disarm does).
    running: AtomicU32,
}

/// A one-shot timer; boxed, since NT objects must not move.
pub struct Timer(Box<Parts>);

/// The timers alive (their Parts), for [`cancel_all`].
static LIVE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

unsafe extern "C" fn expired(
    _dpc: *mut nt::KDPC,
    context: *mut c_void,
    _arg1: *mut c_void,
    _arg2: *mut c_void,
) {
    // SAFETY: context is the timer's Parts, alive until its drop has
    // cancelled the timer and flushed the DPCs.
    let parts = unsafe { &*context.cast::<Parts>() };
    parts.running.fetch_add(1, Ordering::AcqRel);
    parts.callback.call();
    parts.running.fetch_sub(1, Ordering::AcqRel);
}

impl Timer {
    pub fn new(callback: TimerCallback) -> Timer {
        let parts = Box::new(Parts {
            timer: Shared::new(zeroed()),
            dpc: Shared::new(zeroed()),
            callback,
            running: AtomicU32::new(0),
        });
        let context = (&*parts as *const Parts).cast_mut().cast();
        // SAFETY: fresh objects in memory that stays put until drop.
        unsafe {
            nt::KeInitializeTimer(parts.timer.get());
            nt::KeInitializeDpc(parts.dpc.get(), Some(expired), context);
        }
        LIVE.lock().push(context as usize);
        Timer(parts)
    }

    /// (Re)arms the timer to expire `delta_ns` from now.
    pub fn arm(&self, delta_ns: u64) {
        // Relative due times are negative, in 100 ns units.
        let mut due: nt::LARGE_INTEGER = zeroed();
        due.QuadPart = -((delta_ns / 100).max(1) as i64);
        // SAFETY: initialised timer and DPC. Cancelled first: Wine's
        // KeSetTimer cancels an armed timer itself while holding the lock
        // that the expiry routine's KeReleaseSemaphore needs, and waits for
        // that routine: a deadlock whenever the timer is re-armed as it
        // expires. KeCancelTimer on its own lets the lock go while waiting.
        unsafe {
            nt::KeCancelTimer(self.0.timer.get());
            nt::KeSetTimer(self.0.timer.get(), due, self.0.dpc.get());
        }
    }

    /// Disarms the timer; returns once no expiry routine runs or waits to.
    pub fn disarm(&self) {
        // SAFETY: initialised timer; the flush waits for DPCs queued on
        // every processor, so the callback is not running afterwards.
        unsafe {
            nt::KeCancelTimer(self.0.timer.get());
            nt::KeFlushQueuedDpcs();
        }
        while self.0.running.load(Ordering::Acquire) != 0 {
            core::hint::spin_loop();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let me = &*self.0 as *const Parts as usize;
        LIVE.lock().retain(|&t| t != me);
        self.disarm();
    }
}

/// Timers not yet dropped.
pub fn live() -> usize {
    LIVE.lock().len()
}

/// Frees the registry's memory once Linux has halted (unload).
pub(crate) fn release() {
    drop(core::mem::take(&mut *LIVE.lock()));
}

/// Cancels every live timer and waits for their DPCs (after the kernel
/// died, when no drop will).
pub(crate) fn cancel_all() {
    for parts in core::mem::take(&mut *LIVE.lock()) {
        // SAFETY: a live timer's Parts: its drop has not run.
        unsafe { nt::KeCancelTimer((*(parts as *const Parts)).timer.get()) };
    }
    // SAFETY: no arguments; waits for queued DPCs everywhere.
    unsafe { nt::KeFlushQueuedDpcs() };
}
