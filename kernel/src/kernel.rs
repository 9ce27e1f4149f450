//! Booting and halting the kernel.
use alloc::ffi::CString;
use alloc::string::String;

use crate::{ffi, host, sys, uapi, Errno, Host};

/// How to boot.
#[derive(Clone, Debug)]
pub struct Config {
    /// Bytes of memory handed to the kernel as its "physical" memory.
    pub memory: usize,
    /// The kernel command line.
    pub cmdline: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            memory: 64 << 20,
            cmdline: String::new(),
        }
    }
}

/// The running kernel. Only one can boot per process, ever: the kernel's
/// static data cannot be reset. Dropping it halts the kernel.
#[derive(Debug)]
pub struct Kernel {
    halted: bool,
}

impl Kernel {
    /// Boots the kernel on host `H`; returns once init is up, with proc,
    /// sysfs and devtmpfs mounted on `/proc`, `/sys` and `/dev` of the RAM
    /// root.
    /// `EBUSY` if a kernel was booted in this process before.
    pub fn boot_with<H: Host>(config: &Config) -> Result<Kernel, Errno> {
        let cmdline = CString::new(config.cmdline.as_str()).map_err(|_| Errno::EINVAL)?;
        let ops = host::ops::<H>();
        // SAFETY: ops lives for the process; cmdline is NUL-terminated and
        // copied by the kernel before lkl_boot returns.
        let ret = unsafe { ffi::lkl_boot(ops, cmdline.as_ptr(), config.memory as u64) };
        Errno::from_ret(ret as i64)?;
        let kernel = Kernel { halted: false };
        for (dir, fstype) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs")] {
            match sys::mkdirat(uapi::AT_FDCWD, dir, 0o755) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
            sys::mount(fstype, dir, fstype, 0, None)?;
        }
        Ok(kernel)
    }

    /// Boots the kernel on the user-space host of this target.
    #[cfg(feature = "std")]
    pub fn boot(config: &Config) -> Result<Kernel, Errno> {
        Self::boot_with::<crate::NativeHost>(config)
    }

    /// Syncs, stops every kernel thread and frees the kernel's memory.
    /// Host threads blocked in system calls get `ENODEV`.
    pub fn halt(mut self) -> Result<(), Errno> {
        self.halt_now()
    }

    fn halt_now(&mut self) -> Result<(), Errno> {
        if self.halted {
            return Ok(());
        }
        self.halted = true;
        // SAFETY: lkl_halt may be called from any thread once booted.
        Errno::from_ret(unsafe { ffi::lkl_halt() } as i64).map(|_| ())
    }
}

/// Makes the running kernel panic, as a crash inside it would, with `why`
/// as the panic's message: for tests of how a host contains a kernel
/// panic (the host's `panic` operation runs; the calling thread does not
/// come back on hosts whose panic ends the process).
pub fn crash(why: &core::ffi::CStr) {
    // SAFETY: a NUL-terminated message, read by the kernel during the call.
    unsafe { ffi::lkl_crash(why.as_ptr()) }
}

/// After a halt, gives back the last host objects the kernel holds (the
/// two semaphores of its CPU lock), for a host that must get all it lent
/// back (a driver that unloads). `EBUSY` while the kernel runs.
///
/// # Safety
/// No host thread calls into the kernel again: no system call, no
/// [`release_host_task`] (the user-space hosts' thread-exit callbacks
/// would, so they never call this).
pub unsafe fn release_after_halt() -> Result<(), Errno> {
    // SAFETY: the caller's promise; the kernel checks it has halted.
    Errno::from_ret(unsafe { ffi::lkl_release() } as i64).map(|_| ())
}

/// Ends the kernel task of the calling host thread, which holds `task` in
/// its per-thread slot (the host's `tls_get`): a host thread that made
/// system calls calls this before it ends, while the kernel runs. Hosts
/// whose threads have an end-of-thread callback do it there.
///
/// # Safety
/// `task` is what the calling thread's slot holds (or null).
pub unsafe fn release_host_task(task: *mut core::ffi::c_void) {
    // SAFETY: the caller's promise; the kernel checks that it runs.
    unsafe { ffi::lkl_host_task_release(task) }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let _ = self.halt_now();
    }
}
