//! The statistics IOCTL's counters: requests by major function, errors,
//! time spent in Linux, and requests answered without a worker.
use core::sync::atomic::{AtomicU64, Ordering};

use lklfsd_control::MAJOR_FUNCTIONS;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static REQUESTS: [AtomicU64; MAJOR_FUNCTIONS] = [ZERO; MAJOR_FUNCTIONS];
static ERRORS: AtomicU64 = AtomicU64::new(0);
static LINUX_NS: AtomicU64 = AtomicU64::new(0);
static IN_PLACE: AtomicU64 = AtomicU64::new(0);

/// A request was answered on the dispatch thread, without a worker.
pub fn answered_in_place() {
    IN_PLACE.fetch_add(1, Ordering::Relaxed);
}

pub fn in_place() -> u64 {
    IN_PLACE.load(Ordering::Relaxed)
}

pub fn request(major: u8) {
    if let Some(c) = REQUESTS.get(major as usize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn completed(status: fsd::NtStatus) {
    if status.is_error() {
        ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn in_linux(ns: u64) {
    LINUX_NS.fetch_add(ns, Ordering::Relaxed);
}

pub fn requests() -> [u64; MAJOR_FUNCTIONS] {
    core::array::from_fn(|i| REQUESTS[i].load(Ordering::Relaxed))
}

pub fn errors() -> u64 {
    ERRORS.load(Ordering::Relaxed)
}

pub fn linux_ns() -> u64 {
    LINUX_NS.load(Ordering::Relaxed)
}
