//! The kernel's memory pool from the operating system: page-aligned,
//! zero-filled on first touch. Unix takes it from the global allocator
//! (large blocks come from mmap); Windows from VirtualAlloc, reserved and
//! committed in one call and released whole.
const PAGE: usize = 4096;

/// `size` bytes, page-aligned; null when the system has no room.
#[cfg(unix)]
pub fn alloc(size: usize) -> *mut u8 {
    use std::alloc::Layout;
    match Layout::from_size_align(size, PAGE) {
        // SAFETY: the layout has a non-zero size (the kernel asks for MiBs).
        Ok(layout) if size > 0 => unsafe { std::alloc::alloc(layout) },
        _ => core::ptr::null_mut(),
    }
}

/// Returns a pool.
///
/// # Safety
/// `ptr` and `size` are those of one earlier [`alloc`], freed once.
#[cfg(unix)]
pub unsafe fn free(ptr: *mut u8, size: usize) {
    // SAFETY: the caller's contract: this very layout was allocated.
    unsafe {
        std::alloc::dealloc(
            ptr,
            std::alloc::Layout::from_size_align_unchecked(size, PAGE),
        )
    }
}

/// `size` bytes, page-aligned; null when the system has no room.
#[cfg(windows)]
pub fn alloc(size: usize) -> *mut u8 {
    use crate::win32::*;
    if size == 0 {
        return core::ptr::null_mut();
    }
    // SAFETY: a fresh reservation anywhere; no memory of ours is touched.
    let p: *mut core::ffi::c_void = unsafe {
        VirtualAlloc(
            core::ptr::null_mut(),
            size,
            MEM_RESERVE | MEM_COMMIT,
            PAGE_READWRITE,
        )
    };
    debug_assert_eq!(p as usize % PAGE, 0);
    p.cast()
}

/// Returns a pool.
///
/// # Safety
/// `ptr` is that of one earlier [`alloc`], freed once.
#[cfg(windows)]
pub unsafe fn free(ptr: *mut u8, _size: usize) {
    // SAFETY: the caller's contract: ptr is the base of a VirtualAlloc
    // region, released whole (size 0, as MEM_RELEASE requires).
    unsafe { crate::win32::VirtualFree(ptr.cast(), 0, crate::win32::MEM_RELEASE) };
}
