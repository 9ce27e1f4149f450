//! Pool memory by tag: every allocation of Linux and of the driver's Rust
//! code is non-paged, no-execute pool under one of our tags, counted, so
//! that unload can check that everything went back and the statistics
//! IOCTL can say what is held. It comes from ExAllocatePool2 where the
//! system has it (Windows 10 2004 on; looked up at run time, since
//! importing it would stop the driver loading elsewhere), else from
//! ExAllocatePoolWithTag (older Windows, Wine).
use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

type AllocatePool2 = unsafe extern "C" fn(flags: u64, bytes: u64, tag: u32) -> *mut c_void;

/// ExAllocatePool2's flags: non-paged (and so no-execute), left
/// uninitialised as ExAllocatePoolWithTag leaves it (Linux and Rust
/// initialise what they use).
const POOL_FLAG_NON_PAGED: u64 = 0x40;
const POOL_FLAG_UNINITIALIZED: u64 = 0x2;

/// ExAllocatePool2's address, 1 when the system lacks it, 0 before the
/// lookup.
static ALLOCATE_POOL2: AtomicUsize = AtomicUsize::new(0);

fn allocate_pool2() -> Option<AllocatePool2> {
    let r = crate::clock::cached_routine(&ALLOCATE_POOL2, "ExAllocatePool2")?;
    // SAFETY: the address of the exported routine, whose signature
    // AllocatePool2 states.
    Some(unsafe { core::mem::transmute::<usize, AllocatePool2>(r) })
}

/// `size` bytes of non-paged, no-execute pool, 16-byte aligned; null when
/// the pool has none.
pub fn alloc(tag: Tag, size: usize) -> *mut u8 {
    let p = match allocate_pool2() {
        // SAFETY: plain pool allocation; a null result is passed on.
        Some(allocate) => unsafe {
            allocate(
                POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED,
                size as u64,
                tag.value(),
            )
        },
        // SAFETY: as above.
        None => unsafe { nt::ExAllocatePoolWithTag(nt::NonPagedPoolNx, size as u64, tag.value()) },
    };
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
