//! The Linux kernel as a library.
//!
//! Linux 6.12, ported to the virtual architecture `lkl` (see `arch/lkl`),
//! is linked into this crate. [`Kernel::boot`] starts it inside the calling
//! process; the functions of [`sys`] make its system calls from any thread.
//! The kernel reaches its host only through the native operations of a
//! [`Host`]; [`PosixHost`] provides them on Linux user space, [`NtHost`]
//! on Windows user space, and [`NativeHost`] names the one of the target.
//!
//! The core is `no_std` + `alloc`; the `std` feature adds the user-space
//! hosts.
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod bench;
#[cfg(feature = "std")]
mod console;
mod disk;
mod errno;
mod ffi;
#[cfg(feature = "std")]
mod file_disk;
mod host;
mod kernel;
#[cfg(feature = "std")]
mod mem_disk;
pub mod mount;
#[cfg(feature = "net")]
pub mod net;
#[cfg(all(feature = "std", windows))]
mod nt;
#[cfg(feature = "std")]
mod pool;
#[cfg(all(feature = "std", unix))]
mod posix;
#[cfg(feature = "std")]
mod sem_count;
#[cfg(all(feature = "std", unix))]
pub mod stack_watch;
pub mod sys;
pub mod uapi;
#[cfg(feature = "std")]
pub mod virtual_time;
#[cfg(all(feature = "std", windows))]
mod win32;

#[cfg(feature = "std")]
pub use console::console_output;
pub use disk::{add_disk, AddedDisk, Disk, DiskOp, Request};
pub use errno::Errno;
#[cfg(feature = "std")]
pub use file_disk::FileDisk;
pub use host::{Host, ThreadEntry, TimerCallback, KERNEL_THREAD_STACK};
pub use kernel::{crash, release_after_halt, release_host_task, Config, Kernel};
#[cfg(feature = "std")]
pub use mem_disk::MemDisk;
#[cfg(all(feature = "std", windows))]
pub use nt::NtHost;
#[cfg(all(feature = "std", windows))]
/// The user-space host of this target.
pub type NativeHost = NtHost;
#[cfg(all(feature = "std", unix))]
pub use posix::PosixHost;
#[cfg(all(feature = "std", unix))]
/// The user-space host of this target.
pub type NativeHost = PosixHost;

/// Raises IRQ `irq` from any thread; the kernel runs its handler soon after.
/// Line 0 is the timer; line 1 is reserved.
pub fn irq_raise(irq: i32) -> Result<(), Errno> {
    // SAFETY: lkl_irq_raise only records the IRQ; any value is checked.
    Errno::from_ret(unsafe { ffi::lkl_irq_raise(irq) } as i64).map(|_| ())
}
