//! Time: a monotonic clock from KeQueryPerformanceCounter, wall time from
//! KeQuerySystemTimePrecise where the system has it (looked up at run
//! time), else KeQuerySystemTime; and a cheap interval clock from the
//! processor's time-stamp counter, scaled against the first, for the
//! driver's own statistics (the performance counter costs 0.1 us a read
//! under Wine; the TSC a few nanoseconds).
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::nt;

static FREQUENCY: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per time-stamp counter tick, times 2^32, measured at init
/// (a multiplication per reading; a 128-bit division would cost more
/// than the reading).
static NS_PER_TICK_2_32: AtomicU64 = AtomicU64::new(0);
static WALL_ROUTINE: AtomicUsize = AtomicUsize::new(0);

/// 100 ns intervals from 1601-01-01 to 1970-01-01.
const EPOCH_DIFFERENCE: u64 = 116_444_736_000_000_000;

type QuerySystemTime = unsafe extern "C" fn(*mut nt::LARGE_INTEGER);

/// The address of an exported kernel routine, or null.
pub fn system_routine(name: &str) -> *mut c_void {
    let mut wide = [0u16; 64];
    let n = name.len().min(wide.len());
    for (w, b) in wide.iter_mut().zip(name.bytes()) {
        *w = b as u16;
    }
    let mut s = nt::UNICODE_STRING {
        Length: (n * 2) as u16,
        MaximumLength: (n * 2) as u16,
        Buffer: wide.as_mut_ptr(),
    };
    // SAFETY: s describes a live UTF-16 buffer.
    unsafe { nt::MmGetSystemRoutineAddress(&mut s) }
}

/// The address of an exported kernel routine that may be missing, looked
/// up once into `cache` (0: not yet; 1: missing).
pub(crate) fn cached_routine(cache: &AtomicUsize, name: &str) -> Option<usize> {
    let mut r = cache.load(Ordering::Relaxed);
    if r == 0 {
        let found = system_routine(name) as usize;
        r = if found == 0 { 1 } else { found };
        cache.store(r, Ordering::Relaxed);
    }
    (r != 1).then_some(r)
}

/// Looks up what the clocks need; once, before the kernel boots.
pub(crate) fn init() {
    let mut f: nt::LARGE_INTEGER = crate::shared::zeroed();
    // SAFETY: f is a live output.
    unsafe { nt::KeQueryPerformanceCounter(&mut f) };
    // SAFETY: reading the integer view of the union.
    FREQUENCY.store(unsafe { f.QuadPart }.max(1) as u64, Ordering::Relaxed);
    let routine = ["KeQuerySystemTimePrecise", "KeQuerySystemTime"]
        .iter()
        .map(|n| system_routine(n))
        .find(|p| !p.is_null())
        .unwrap_or(core::ptr::null_mut());
    WALL_ROUTINE.store(routine as usize, Ordering::Relaxed);
    calibrate_tsc();
}

fn tsc() -> u64 {
    // SAFETY: rdtsc only reads the processor's time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Counts TSC ticks over a millisecond of the performance counter.
fn calibrate_tsc() {
    let (t0, n0) = (tsc(), monotonic_ns());
    let mut n1 = n0;
    while n1 - n0 < 1_000_000 {
        core::hint::spin_loop();
        n1 = monotonic_ns();
    }
    let ticks = tsc().saturating_sub(t0).max(1) as u128;
    let per = (((n1 - n0) as u128) << 32) / ticks;
    NS_PER_TICK_2_32.store(per as u64, Ordering::Relaxed);
}

/// Nanoseconds of the time-stamp counter, for measuring intervals on one
/// machine (not a clock for Linux: only differences mean anything).
pub fn interval_ns() -> u64 {
    let per = NS_PER_TICK_2_32.load(Ordering::Relaxed) as u128;
    ((tsc() as u128 * per) >> 32) as u64
}

/// Nanoseconds of the performance counter.
pub fn monotonic_ns() -> u64 {
    // SAFETY: no frequency wanted (null).
    let t = unsafe { nt::KeQueryPerformanceCounter(core::ptr::null_mut()).QuadPart } as u128;
    let f = FREQUENCY.load(Ordering::Relaxed).max(1) as u128;
    (t * 1_000_000_000 / f) as u64
}

/// Nanoseconds since the Unix epoch (0 where the system has no routine).
pub fn wall_ns() -> u64 {
    let routine = WALL_ROUTINE.load(Ordering::Relaxed);
    if routine == 0 {
        return 0;
    }
    let mut t: nt::LARGE_INTEGER = crate::shared::zeroed();
    // SAFETY: routine is KeQuerySystemTime(Precise), which fills t.
    unsafe {
        let query: QuerySystemTime = core::mem::transmute(routine);
        query(&mut t);
    }
    // SAFETY: reading the integer view of the union.
    let t = unsafe { t.QuadPart } as u64;
    t.saturating_sub(EPOCH_DIFFERENCE) * 100
}
