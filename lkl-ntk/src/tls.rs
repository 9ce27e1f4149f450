//! The one pointer of storage per thread that the kernel keeps its task
//! in. The NT kernel offers drivers no thread-local slot, so this is a
//! table keyed by the current thread (KeGetCurrentThread), lock-free:
//! only a thread itself adds, changes or retires its own entry.
//!
//! Open addressing with linear probing. A slot's key goes from empty to a
//! thread, and from a thread to retired (when that thread ends) and on to
//! another thread, never back to empty, so a probe that meets an empty
//! slot knows its thread has no entry. A thread's object may be reused by
//! a later thread once it ended: [`forget_current`] retires the entry
//! before a thread of ours ends, so a new thread never sees an old value.
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::nt;

/// More than the threads that ever enter Linux at once: its own kernel
/// threads and the driver's workers.
const SLOTS: usize = 1024;
const EMPTY: usize = 0;
const RETIRED: usize = 1;

struct Slot {
    thread: AtomicUsize,
    value: AtomicPtr<c_void>,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    thread: AtomicUsize::new(EMPTY),
    value: AtomicPtr::new(null_mut()),
};
static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

fn current() -> usize {
    // SAFETY: no arguments; returns the calling thread's object.
    unsafe { nt::KeGetCurrentThread() as usize }
}

/// The probe sequence of `thread`: every slot once, from its hash on.
fn probe(thread: usize) -> impl Iterator<Item = &'static Slot> {
    // Thread objects are aligned; mix the bits above the alignment.
    let h = (thread >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
    (0..SLOTS).map(move |i| &TABLE[(h as usize + i) % SLOTS])
}

fn find(thread: usize) -> Option<&'static Slot> {
    probe(thread)
        .map(|s| (s, s.thread.load(Ordering::Acquire)))
        .take_while(|&(_, t)| t != EMPTY)
        .find(|&(_, t)| t == thread)
        .map(|(s, _)| s)
}

/// The calling thread's pointer, null if it never set one.
pub fn get() -> *mut c_void {
    find(current()).map_or(null_mut(), |s| s.value.load(Ordering::Relaxed))
}

/// Sets the calling thread's pointer.
pub fn set(value: *mut c_void) {
    let thread = current();
    if let Some(slot) = find(thread) {
        slot.value.store(value, Ordering::Relaxed);
        return;
    }
    if value.is_null() {
        return;
    }
    for slot in probe(thread) {
        let seen = slot.thread.load(Ordering::Relaxed);
        if (seen == EMPTY || seen == RETIRED)
            && slot
                .thread
                .compare_exchange(seen, thread, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            slot.value.store(value, Ordering::Relaxed);
            return;
        }
    }
    crate::death::die("lkl-ntk: no thread-local slot left");
}

/// Retires the calling thread's entry; called by threads of ours just
/// before they end.
pub fn forget_current() {
    if let Some(slot) = find(current()) {
        slot.value.store(null_mut(), Ordering::Relaxed);
        slot.thread.store(RETIRED, Ordering::Release);
    }
}
