//! A lookaside list: boxes of one type kept for reuse once freed, as NT
//! file systems keep their CCBs in lookaside lists, since a pool
//! allocation and free cost more than the rest of a small request (60 ns
//! under Wine, against 10 for a reuse). Holds at most `DEPTH` free boxes;
//! `drain` gives them back to the pool (unload).
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

use spin::Mutex;

const DEPTH: usize = 64;

pub struct Lookaside<T> {
    free: Mutex<Vec<Box<MaybeUninit<T>>>>,
}

impl<T> Lookaside<T> {
    pub const fn new() -> Self {
        Lookaside {
            free: Mutex::new(Vec::new()),
        }
    }

    /// `value` in a box of the list (or a new one), as a raw pointer for
    /// an NT context field; given back with [`Lookaside::take`].
    pub fn put(&self, value: T) -> *mut T {
        let mut slot = self.free.lock().pop().unwrap_or_else(Box::new_uninit);
        slot.write(value);
        Box::into_raw(slot).cast()
    }

    /// The value behind a pointer from [`Lookaside::put`]; its box goes
    /// back on the list.
    ///
    /// # Safety
    /// `p` came from `put` on this list and is taken once.
    pub unsafe fn take(&self, p: *mut T) -> T {
        // SAFETY: the caller's promise: p is a box of ours holding a value.
        let slot = unsafe { Box::from_raw(p.cast::<MaybeUninit<T>>()) };
        // SAFETY: put wrote the value; it is read out once.
        let value = unsafe { slot.assume_init_read() };
        let mut free = self.free.lock();
        if free.len() < DEPTH {
            free.push(slot);
        }
        value
    }

    /// Frees the boxes the list holds.
    pub fn drain(&self) {
        let boxes = core::mem::take(&mut *self.free.lock());
        drop(boxes);
    }
}
