//! Pool memory by tag: every allocation of Linux and of the driver's Rust
//! code comes from ExAllocatePoolWithTag (non-paged, no-execute) under one
//! of our tags and is counted, so that unload can check that everything
//! went back and the statistics IOCTL can say what is held.
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::nt;

/// What an allocation is for; each has its own pool tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// Linux's memory (its "physical" memory and the host objects it asks for).
    Linux = 0,
    /// The driver's Rust heap.
    Heap = 1,
}

impl Tag {
    pub const ALL: [Tag; 2] = [Tag::Linux, Tag::Heap];

    /// The four characters the pool shows (in `!poolused`, poolmon).
    pub fn chars(self) -> [u8; 4] {
        match self {
            Tag::Linux => *b"LklM",
            Tag::Heap => *b"LklH",
        }
    }

    fn value(self) -> u32 {
        u32::from_le_bytes(self.chars())
    }
}

struct Counter {
    blocks: AtomicU64,
    bytes: AtomicU64,
}

static COUNTERS: [Counter; 2] = [
    Counter {
        blocks: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    },
    Counter {
        blocks: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    },
];

/// What one tag holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub tag: [u8; 4],
    pub blocks: u64,
    pub bytes: u64,
}

/// What each tag holds now.
pub fn usage() -> [Usage; 2] {
    Tag::ALL.map(|t| {
        let c = &COUNTERS[t as usize];
        Usage {
            tag: t.chars(),
            blocks: c.blocks.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    })
}

/// `size` bytes of non-paged, no-execute pool, 16-byte aligned; null when
/// the pool has none.
pub fn alloc(tag: Tag, size: usize) -> *mut u8 {
    // SAFETY: plain pool allocation; a null result is passed on.
    let p = unsafe { nt::ExAllocatePoolWithTag(nt::NonPagedPoolNx, size as u64, tag.value()) };
    if !p.is_null() {
        let c = &COUNTERS[tag as usize];
        c.blocks.fetch_add(1, Ordering::Relaxed);
        c.bytes.fetch_add(size as u64, Ordering::Relaxed);
    }
    p.cast()
}

/// Gives back what [`alloc`] gave.
///
/// # Safety
/// `ptr` came from `alloc(tag, size)` and is freed once.
pub unsafe fn free(tag: Tag, ptr: *mut u8, size: usize) {
    // SAFETY: the caller's promise: a live block of this tag.
    unsafe { nt::ExFreePoolWithTag(ptr.cast(), tag.value()) };
    let c = &COUNTERS[tag as usize];
    c.blocks.fetch_sub(1, Ordering::Relaxed);
    c.bytes.fetch_sub(size as u64, Ordering::Relaxed);
}

/// The pool's natural alignment on 64-bit Windows.
const POOL_ALIGN: usize = 16;

/// The driver's global allocator: [`Tag::Heap`] pool. Alignments above
/// the pool's 16 bytes over-allocate and keep the block's start in the
/// word before the aligned pointer.
pub struct PoolAllocator;

// SAFETY: alloc returns blocks of at least layout.size() bytes at
// layout.align(), or null; dealloc takes back exactly what alloc gave.
unsafe impl GlobalAlloc for PoolAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= POOL_ALIGN {
            return alloc(Tag::Heap, layout.size().max(1));
        }
        let base = alloc(Tag::Heap, layout.size() + layout.align());
        if base.is_null() {
            return base;
        }
        let aligned = (base as usize + layout.align()) & !(layout.align() - 1);
        // SAFETY: aligned is at least 16 bytes past base and inside the
        // block, so the word before it is ours.
        unsafe { (aligned as *mut usize).sub(1).write(base as usize) };
        aligned as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= POOL_ALIGN {
            // SAFETY: ptr came from alloc with this size.
            return unsafe { free(Tag::Heap, ptr, layout.size().max(1)) };
        }
        // SAFETY: alloc stored the block's start in the word before ptr.
        let base = unsafe { (ptr as *const usize).sub(1).read() } as *mut u8;
        // SAFETY: base is the block alloc took, of this size.
        unsafe { free(Tag::Heap, base, layout.size() + layout.align()) }
    }
}
