//! Linux's lifetime in the driver: booted on a worker at the first mount
//! or image attach (so a loaded driver that mounts nothing holds no
//! Linux memory), halted at unload. Its memory is non-paged pool of the
//! size the service key says (`LinuxMemoryMiB`, 64 by default).
use core::sync::atomic::{AtomicU64, Ordering};

use fsd::NtStatus;
use lkl::{Config, Kernel};
use lkl_ntk::{workers, NtkHost};
use spin::Mutex;

static KERNEL: Mutex<Option<Kernel>> = Mutex::new(None);
static BOOT_NS: AtomicU64 = AtomicU64::new(0);

/// Boots Linux if it is not running; call on a worker.
pub fn ensure_booted(memory: usize) -> Result<(), NtStatus> {
    debug_assert!(workers::is_worker());
    let mut kernel = KERNEL.lock();
    if kernel.is_some() {
        return Ok(());
    }
    if lkl_ntk::death::is_dead() {
        return Err(NtStatus::DRIVER_INTERNAL_ERROR);
    }
    let start = lkl_ntk_time();
    let booted = Kernel::boot_with::<NtkHost>(&Config {
        memory,
        cmdline: alloc::string::String::new(),
    })
    .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    BOOT_NS.store(lkl_ntk_time() - start, Ordering::Relaxed);
    *kernel = Some(booted);
    Ok(())
}

fn lkl_ntk_time() -> u64 {
    <NtkHost as lkl::Host>::monotonic_ns()
}

/// 0 before the boot, 1 running, 2 dead.
pub fn state() -> u64 {
    if lkl_ntk::death::is_dead() {
        2
    } else {
        KERNEL.lock().is_some() as u64
    }
}

/// How long the boot took, in nanoseconds (0 before).
pub fn boot_ns() -> u64 {
    BOOT_NS.load(Ordering::Relaxed)
}

/// Halts Linux if it runs, on a thread of its own (the workers have ended
/// by then, each with its kernel task), waits for every thread, and has
/// Linux give back its last host objects; after a death only waits.
pub fn halt() {
    let kernel = KERNEL.lock().take();
    let halted = match kernel {
        Some(kernel) if !lkl_ntk::death::is_dead() => {
            let halted = alloc::sync::Arc::new(core::sync::atomic::AtomicBool::new(false));
            let done = halted.clone();
            let _ = lkl_ntk::threads::run_on_own_thread(move || {
                let mut kernel = Some(kernel);
                let ran = lkl_ntk::stack::run(|| {
                    if let Some(kernel) = kernel.take() {
                        let _ = kernel.halt();
                    }
                });
                // Without a stack to halt it on, Linux is left as after a
                // death (its memory stays).
                if let Some(kernel) = kernel.take() {
                    core::mem::forget(kernel);
                }
                done.store(ran, Ordering::Release);
            });
            halted.load(Ordering::Acquire)
        }
        Some(kernel) => {
            core::mem::forget(kernel);
            false
        }
        None => false,
    };
    lkl_ntk::threads::wait_all();
    if halted {
        // SAFETY: the workers and Linux's threads have all ended, and
        // nothing else of ours enters Linux.
        let _ = unsafe { lkl::release_after_halt() };
    }
}
