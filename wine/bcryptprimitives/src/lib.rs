//! bcryptprimitives.dll for Wine 8: the one export Rust's standard library
//! needs (ProcessPrng), on RtlGenRandom (advapi32's SystemFunction036).
#![no_std]

#[link(name = "advapi32")]
extern "system" {
    fn SystemFunction036(buffer: *mut u8, length: u32) -> u8;
}

/// Fills `len` bytes at `data` with random bytes; always succeeds.
///
/// # Safety
/// `data` must be valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "system" fn ProcessPrng(data: *mut u8, len: usize) -> i32 {
    let mut done = 0usize;
    while done < len {
        let chunk = (len - done).min(u32::MAX as usize) as u32;
        // SAFETY: the caller guarantees the buffer; each chunk lies inside it.
        unsafe { SystemFunction036(data.add(done), chunk) };
        done += chunk as usize;
    }
    1
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
