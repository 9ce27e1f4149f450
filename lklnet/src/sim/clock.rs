//! The simulation's clock: the kernel's, real or virtual. Waits are
//! waits in the kernel, so that in virtual time the clock moves over them.
use lkl::uapi::Timespec;
use lkl::{sys, virtual_time, Errno};

/// Seconds since the kernel booted.
pub fn now() -> f64 {
    virtual_time::now_ns() as f64 / 1e9
}

/// Sleeps `seconds` in the kernel.
pub fn sleep(seconds: f64) -> Result<(), Errno> {
    if seconds <= 0.0 {
        return Ok(());
    }
    let ns = (seconds * 1e9) as i64;
    sys::nanosleep(&Timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    })
}
