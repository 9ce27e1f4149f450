//! How deep Linux goes on the POSIX host's stacks, measured rather than
//! trusted: with [`measure`] on, a kernel thread and every system call
//! paint the unused stack below their frame with a pattern first, and
//! after find how far it was overwritten; [`deepest`] is the most seen
//! (kernel threads still running read as they are now). Off, it costs one
//! load per system call.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::vec::Vec;

static MEASURE: AtomicBool = AtomicBool::new(false);
static DEEPEST: AtomicUsize = AtomicUsize::new(0);
/// The painted ranges (top, bottom) of kernel threads running now.
static RUNNING: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
const PATTERN: u64 = 0x5AA5_C33C_5AA5_C33C;
/// Left alone below the frame (the painting's own calls), and above the
/// stack's end.
const MARGIN: usize = 1 << 10;
/// The most a system call's painting covers below the caller.
const SYSCALL_WINDOW: usize = 64 << 10;

/// Has kernel threads started from now on, and every system call, paint
/// and measure their stack.
pub fn measure() {
    MEASURE.store(true, Ordering::SeqCst);
}

pub(crate) fn on() -> bool {
    MEASURE.load(Ordering::Relaxed)
}

/// The deepest stack use measured, in bytes below the measured frame.
pub fn deepest() -> usize {
    let running = RUNNING
        .lock()
        .unwrap()
        .iter()
        .map(|&(top, bottom)| used(top, bottom))
        .max();
    DEEPEST.load(Ordering::Relaxed).max(running.unwrap_or(0))
}

/// The lowest usable address of the calling thread's stack.
fn stack_floor() -> Option<usize> {
    // SAFETY: attributes of the calling thread, read and destroyed here.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let (mut addr, mut size) = (std::ptr::null_mut(), 0);
        let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (got == 0).then_some(addr as usize)
    }
}

/// Paints below the caller's frame down to `window` bytes or the stack's
/// floor, top down: the range painted.
#[inline(never)]
fn paint(window: usize) -> Option<(usize, usize)> {
    let marker = 0u8;
    let top = (&marker as *const u8 as usize - MARGIN) & !7;
    let floor = stack_floor()? + MARGIN;
    let bottom = top.saturating_sub(window).max(floor) & !7;
    let mut at = top;
    while at > bottom {
        at -= 8;
        // SAFETY: unused stack of this thread, between its floor and the
        // caller's frame.
        unsafe { std::ptr::write_volatile(at as *mut u64, PATTERN) };
    }
    Some((top, bottom))
}

/// How deep below `top` the painting down to `bottom` was overwritten,
/// plus the margin.
#[inline(never)]
fn used(top: usize, bottom: usize) -> usize {
    let mut at = bottom;
    // SAFETY: a range `paint` wrote, of a live thread's stack (a running
    // thread's may change meanwhile: this is only a watermark).
    while at < top && unsafe { std::ptr::read_volatile(at as *const u64) } == PATTERN {
        at += 8;
    }
    top - at + MARGIN
}

/// Runs `f`, a kernel thread's whole life, measuring its stack.
pub(crate) fn thread(f: impl FnOnce()) {
    let Some(range) = paint(usize::MAX) else {
        return f();
    };
    RUNNING.lock().unwrap().push(range);
    f();
    RUNNING.lock().unwrap().retain(|&r| r != range);
    DEEPEST.fetch_max(used(range.0, range.1), Ordering::Relaxed);
}

/// Runs `f`, a system call, measuring the stack below the caller.
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    let Some((top, bottom)) = paint(SYSCALL_WINDOW) else {
        return f();
    };
    let r = f();
    DEEPEST.fetch_max(used(top, bottom), Ordering::Relaxed);
    r
}
