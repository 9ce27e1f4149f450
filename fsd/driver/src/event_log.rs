//! The System event log (source lklfsd; the message table is built into
//! the .sys from `messages/events.mc`): a journal Linux replayed while
//! mounting, a file system mounted read-only because Linux cannot write
//! it, data lost when a disk went. Each is counted in the statistics
//! (`events`) too, also where the system keeps no log (Wine).
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use lkl_ntk::nt;

/// The messages' numbers, as windmc numbers `messages/events.mc` (a test
/// compares them).
pub const JOURNAL_REPLAYED: u32 = 0x404C_0001;
pub const MOUNTED_READ_ONLY: u32 = 0x804C_0002;
pub const WRITES_LOST: u32 = 0xC04C_0003;
pub const JOURNAL_LEFT: u32 = 0x804C_0004;

/// The most an error log entry may hold (ERROR_LOG_MAXIMUM_SIZE).
const MAXIMUM_ENTRY: usize = 240;

static EVENTS: AtomicU64 = AtomicU64::new(0);

/// Events reported since load.
pub fn count() -> u64 {
    EVENTS.load(Ordering::Relaxed)
}

/// Logs message `code` about `volume` (its insertion string %2).
pub fn report(code: u32, volume: &str) {
    EVENTS.fetch_add(1, Ordering::Relaxed);
    let head = core::mem::size_of::<nt::IO_ERROR_LOG_PACKET>();
    let most = (MAXIMUM_ENTRY - head) / 2 - 1;
    let mut name: Vec<u16> = volume.encode_utf16().take(most).collect();
    name.push(0);
    let size = head + name.len() * 2;
    // SAFETY: our driver object; an entry of at most MAXIMUM_ENTRY bytes.
    let entry = unsafe { nt::IoAllocateErrorLogEntry(crate::driver().object.cast(), size as u8) }
        as *mut nt::IO_ERROR_LOG_PACKET;
    if entry.is_null() {
        return;
    }
    // SAFETY: an entry of `size` bytes, ours until written: the packet,
    // then the string where StringOffset says.
    unsafe {
        core::ptr::write_bytes(entry.cast::<u8>(), 0, size);
        (*entry).ErrorCode = code as i32;
        (*entry).NumberOfStrings = 1;
        (*entry).StringOffset = head as u16;
        let strings = entry.cast::<u8>().add(head).cast::<u16>();
        core::ptr::copy_nonoverlapping(name.as_ptr(), strings, name.len());
        nt::IoWriteErrorLogEntry(entry.cast());
    }
}
