//! Threads for Linux and for the driver's workers: PsCreateSystemThread
//! threads, each registered by its thread object so that unload can wait
//! until every one has ended (the driver's code must outlive them).
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;

use spin::Mutex;

use crate::{nt, tls};

/// Thread objects (referenced) of threads that may still run.
static THREADS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

type Body = Box<dyn FnOnce() + Send>;

const THREAD_ALL_ACCESS: u32 = 0x1F_FFFF;

extern "C" {
    /// The import slot of the exported `PsThreadType` variable (mingw's
    /// headers do not declare it dllimport).
    #[link_name = "__imp_PsThreadType"]
    static PS_THREAD_TYPE: *const nt::POBJECT_TYPE;
}

/// Starts a system thread running `body`.
pub fn spawn(body: impl FnOnce() + Send + 'static) -> Result<(), nt::NTSTATUS> {
    forget_ended();
    let context = Box::into_raw(Box::new(Box::new(body) as Body));
    let mut handle: nt::HANDLE = null_mut();
    // SAFETY: a system thread in the system process; start gets the boxed
    // body and owns it from then on.
    let status = unsafe {
        nt::PsCreateSystemThread(
            &mut handle,
            THREAD_ALL_ACCESS,
            null_mut(),
            null_mut(),
            null_mut(),
            Some(start),
            context.cast(),
        )
    };
    if status < 0 {
        // SAFETY: the thread was not made, so the body is still ours.
        drop(unsafe { Box::from_raw(context) });
        return Err(status);
    }
    let mut object: *mut c_void = null_mut();
    // SAFETY: handle is the kernel handle just returned; a kernel-mode
    // reference to its thread object, then the handle is closed.
    unsafe {
        let referenced = nt::ObReferenceObjectByHandle(
            handle,
            THREAD_ALL_ACCESS,
            *PS_THREAD_TYPE,
            nt::KernelMode as i8,
            &mut object,
            null_mut(),
        );
        nt::ZwClose(handle);
        if referenced >= 0 {
            THREADS.lock().push(object as usize);
        }
    }
    Ok(())
}

unsafe extern "C" fn start(context: *mut c_void) {
    // SAFETY: spawn leaked this box for this thread alone.
    let body = unsafe { Box::from_raw(context.cast::<Body>()) };
    body();
    exit_current()
}

/// Ends the calling thread (one of [`spawn`]'s), after retiring its
/// thread-local entry.
pub fn exit_current() -> ! {
    tls::forget_current();
    loop {
        // SAFETY: ends the calling system thread; it does not return.
        unsafe { nt::PsTerminateSystemThread(0) };
    }
}

fn has_ended(object: usize) -> bool {
    // SAFETY: object is a referenced thread object.
    unsafe { crate::signalled(object as *mut c_void) }
}

/// Drops the references of threads that have ended.
fn forget_ended() {
    THREADS.lock().retain(|&object| {
        let ended = has_ended(object);
        if ended {
            // SAFETY: the reference spawn took, dropped once.
            unsafe { nt::ObfDereferenceObject(object as *mut c_void) };
        }
        !ended
    });
}

/// Waits until every thread started by [`spawn`] has ended.
pub fn wait_all() {
    let objects = core::mem::take(&mut *THREADS.lock());
    for object in objects {
        // SAFETY: a referenced thread object: waits for its end, then
        // drops the reference.
        unsafe {
            crate::wait(object as *mut c_void);
            nt::ObfDereferenceObject(object as *mut c_void);
        }
    }
}

/// Runs `body` on a new system thread and waits until that thread ended
/// (for work that must run on a thread of ours that then goes, such as
/// halting Linux).
pub fn run_on_own_thread(body: impl FnOnce() + Send + 'static) -> Result<(), nt::NTSTATUS> {
    let done = crate::Shared::new(crate::zeroed::<nt::KEVENT>());
    // SAFETY: an event on this stack, waited on below.
    unsafe { nt::KeInitializeEvent(done.get(), nt::NotificationEvent, 0) };
    let at = done.get() as usize;
    spawn(move || {
        body();
        // SAFETY: the spawner waits for this event before its frame ends.
        unsafe { nt::KeSetEvent(at as *mut nt::KEVENT, 0, 0) };
    })?;
    // SAFETY: the event above.
    unsafe { crate::wait(done.get()) };
    Ok(())
}

/// Threads that may still run.
pub fn count() -> usize {
    THREADS.lock().len()
}
