//! Containing a Linux panic: instead of bringing Windows down, the kernel
//! is marked dead, every thread that would run Linux code again parks
//! (the one that panicked, and every other one as it waits for the CPU),
//! and the driver fails later requests with a status. Parked threads end
//! when [`release_parked`] lets them (at unload); Linux's memory can then
//! be given back, since no thread runs its code any more.
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::nt;
use crate::shared::{zeroed, Shared};

static DEAD: AtomicBool = AtomicBool::new(false);
/// Signalled when the kernel dies: wakes every thread waiting for the CPU.
static DIED: Shared<nt::KEVENT> = Shared::new(zeroed());
/// Signalled at unload after a death: parked threads end.
static RELEASE: Shared<nt::KEVENT> = Shared::new(zeroed());

/// Prepares the events; once, before the kernel boots.
pub(crate) fn init() {
    // SAFETY: static events, initialised before any thread waits on them.
    unsafe {
        nt::KeInitializeEvent(DIED.get(), nt::NotificationEvent, 0);
        nt::KeInitializeEvent(RELEASE.get(), nt::NotificationEvent, 0);
    }
}

pub(crate) fn died_event() -> *mut nt::KEVENT {
    DIED.get()
}

/// What the host program runs once when the kernel dies (0: nothing).
static ON_DEATH: AtomicUsize = AtomicUsize::new(0);
/// What each thread runs as it parks (0: nothing).
static ON_PARK: AtomicUsize = AtomicUsize::new(0);

/// Has `f` run by every thread that parks, on that thread, before it
/// waits: what it holds that others may wait for (a resource) it lets go
/// of there, so that nothing waits for a parked thread and no thread ends
/// holding one.
pub fn on_park(f: fn()) {
    ON_PARK.store(f as usize, Ordering::Release);
}

/// Has `f` run once when the kernel dies, on the dying thread (it must not
/// wait, nor run Linux code).
pub fn on_death(f: fn()) {
    ON_DEATH.store(f as usize, Ordering::Release);
}

/// Whether the kernel died.
pub fn is_dead() -> bool {
    DEAD.load(Ordering::Acquire)
}

/// The kernel died of `why`: says so on the console (whose tail the
/// statistics IOCTL returns), wakes every thread waiting for the CPU so
/// that it parks too, and parks the calling thread.
pub fn die(why: &str) -> ! {
    if !DEAD.swap(true, Ordering::AcqRel) {
        crate::console::print(b"lkl-ntk: the kernel died: ");
        crate::console::print(why.as_bytes());
        crate::console::print(b"\n");
        // SAFETY: DIED was initialised by init.
        unsafe { nt::KeSetEvent(DIED.get(), 0, 0) };
        let f = ON_DEATH.load(Ordering::Acquire);
        if f != 0 {
            // SAFETY: a fn() stored by on_death.
            unsafe { core::mem::transmute::<usize, fn()>(f)() };
        }
    }
    park()
}

/// Never runs Linux code again: fails the job this thread serves (if it is
/// a worker), waits for unload and ends the thread.
pub(crate) fn park() -> ! {
    let f = ON_PARK.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: a fn() stored by on_park.
        unsafe { core::mem::transmute::<usize, fn()>(f)() };
    }
    crate::workers::abandon_current();
    // SAFETY: RELEASE was initialised by init; a kernel-mode wait.
    unsafe { crate::wait(RELEASE.get()) };
    crate::workers::end_parked();
    crate::threads::exit_current()
}

/// Unload after a death: parked threads end.
pub fn release_parked() {
    // SAFETY: RELEASE was initialised by init.
    unsafe { nt::KeSetEvent(RELEASE.get(), 0, 0) };
}
