//! A bigger stack for everything that runs Linux code. A system call
//! needs up to 24 KiB of stack, which is all a Windows system thread has;
//! a job adds the driver's and the core's frames on top. So each job, and
//! each Linux kernel thread for its whole life, runs on a stack expanded
//! by KeExpandKernelStackAndCalloutEx (WDK), looked up at run time
//! (Windows Vista and later; Wine only calls the callout, on its 2 MB
//! thread stacks). Where no expanded stack can be had, nothing runs: the
//! job fails, rather than run Linux on a bare 24 KiB stack.
use core::ffi::c_void;
use core::sync::atomic::AtomicUsize;

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

unsafe extern "C" fn callout(parameter: *mut c_void) {
    // SAFETY: parameter is the `&mut dyn FnMut()` that `run` passes, alive
    // for the call.
    let f = unsafe { &mut *parameter.cast::<&mut dyn FnMut()>() };
    f();
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
