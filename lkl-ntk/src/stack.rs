//! A bigger stack for everything that runs Linux code. A system call
//! needs up to 24 KiB of stack, which is all a Windows system thread has;
//! a job adds the driver's and the core's frames on top. So each job, and
//! each Linux kernel thread for its whole life, runs on a stack expanded
//! by KeExpandKernelStackAndCalloutEx (WDK), looked up at run time
//! (Windows Vista and later; Wine only calls the callout, on its 2 MB
//! thread stacks). Where no expanded stack can be had, nothing runs: the
//! job fails, rather than run Linux on a bare 24 KiB stack.
//!
//! Measured, not trusted: with [`measure`] on (the driver's test mode),
//! each callout paints the stack below its frame with a pattern before it
//! runs and finds, after, how deep the pattern was overwritten; the
//! deepest use of all ([`deepest`]) is what the statistics report.
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::nt;

/// What a job may use: the most the kernel grants (its large stack less
/// a page) is about 60 KiB; 48 KiB leaves the kernel some of it.
const EXPANDED: u64 = 48 << 10;

type Expand = unsafe extern "C" fn(
    callout: nt::PEXPAND_STACK_CALLOUT,
    parameter: *mut c_void,
    size: u64,
    wait: u8,
    context: *mut c_void,
) -> nt::NTSTATUS;

/// The routine's address, 1 when it is missing, 0 before the lookup.
static ROUTINE: AtomicUsize = AtomicUsize::new(0);

fn routine() -> Option<Expand> {
    let r = crate::clock::cached_routine(&ROUTINE, "KeExpandKernelStackAndCalloutEx")?;
    // SAFETY: the address of the exported routine, whose signature Expand
    // states.
    Some(unsafe { core::mem::transmute::<usize, Expand>(r) })
}

/// Whether callouts paint and measure their stack.
static MEASURE: AtomicBool = AtomicBool::new(false);
/// The deepest use seen by callouts that returned, in bytes from the
/// callout's frame.
static DEEPEST: AtomicUsize = AtomicUsize::new(0);
/// The painted tops of callouts running now (Linux threads run in theirs
/// for their whole life): [`deepest`] reads how far each has gone.
static RUNNING: spin::Mutex<alloc::vec::Vec<usize>> = spin::Mutex::new(alloc::vec::Vec::new());
/// What the unused stack is painted with.
const PATTERN: u64 = 0x5AA5_C33C_5AA5_C33C;
/// Left alone below the callout's frame (the painting's own frames).
const MARGIN: usize = 1 << 10;
/// Painted: the expanded stack less the callout's frames and a page the
/// kernel keeps.
const PAINTED: usize = EXPANDED as usize - (8 << 10);

/// Frees the list of running callouts (unload, every thread ended).
pub fn release() {
    drop(core::mem::take(&mut *RUNNING.lock()));
}

/// Has every callout from now on paint and measure its stack.
pub fn measure() {
    MEASURE.store(true, Ordering::Relaxed);
}

/// The deepest stack use measured, in bytes (0 if never measured), the
/// stacks of callouts still running (Linux threads, jobs under way)
/// included: their painted ranges are read as they are now.
pub fn deepest() -> usize {
    let running = RUNNING.lock().iter().map(|&top| used(top)).max();
    DEEPEST.load(Ordering::Relaxed).max(running.unwrap_or(0))
}

/// Paints `PAINTED` bytes below the caller's frame, from the top down (as
/// a stack grows, so a guard page below commits the next one); the top.
#[inline(never)]
fn paint() -> usize {
    let marker = 0u8;
    let top = (&marker as *const u8 as usize - MARGIN) & !7;
    let mut at = top;
    while at > top - PAINTED {
        at -= 8;
        // SAFETY: unused stack below this frame, inside the expanded
        // stack (PAINTED is less than its size less the frames above).
        unsafe { core::ptr::write_volatile(at as *mut u64, PATTERN) };
    }
    top
}

/// How deep below `top` the painting was overwritten, plus the margin (a
/// running callout's range is read while its thread may write it: only
/// a watermark, never trusted beyond that).
#[inline(never)]
fn used(top: usize) -> usize {
    let mut at = top - PAINTED;
    // SAFETY: the range `paint` wrote, still this stack's.
    while at < top && unsafe { core::ptr::read_volatile(at as *const u64) } == PATTERN {
        at += 8;
    }
    top - at + MARGIN
}

unsafe extern "C" fn callout(parameter: *mut c_void) {
    // SAFETY: parameter is the `&mut dyn FnMut()` that `run` passes, alive
    // for the call.
    let f = unsafe { &mut *parameter.cast::<&mut dyn FnMut()>() };
    if MEASURE.load(Ordering::Relaxed) {
        let top = paint();
        RUNNING.lock().push(top);
        f();
        RUNNING.lock().retain(|&t| t != top);
        DEEPEST.fetch_max(used(top), Ordering::Relaxed);
    } else {
        f();
    }
}

/// Runs `f` on an expanded stack; false (and `f` not run) where none can
/// be had.
#[must_use]
pub fn run(mut f: impl FnMut()) -> bool {
    let mut f: &mut dyn FnMut() = &mut f;
    let parameter = (&mut f as *mut &mut dyn FnMut()).cast::<c_void>();
    let Some(expand) = routine() else {
        return false;
    };
    // SAFETY: the callout and its parameter live for the call, which
    // returns after the callout has run (Wait TRUE).
    unsafe { expand(Some(callout), parameter, EXPANDED, 1, core::ptr::null_mut()) >= 0 }
}
