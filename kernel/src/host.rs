//! Native operations: the [`Host`] trait a host implements, and its
//! adaptation to the kernel's `struct lkl_host_ops`.
use alloc::boxed::Box;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::marker::PhantomData;

use crate::ffi::{HostFn, HostOps};
use crate::Errno;

/// Stack size of kernel threads: what the Windows kernel gives a system
/// thread (24 KiB), so that overflows show up in user space first.
pub const KERNEL_THREAD_STACK: usize = 24 << 10;

/// A kernel thread's body, to run on a new host thread.
pub struct ThreadEntry {
    f: HostFn,
    arg: *mut c_void,
}

// SAFETY: the kernel hands the entry to exactly one new thread, and the
// argument is the kernel's own task pointer, valid on any thread.
unsafe impl Send for ThreadEntry {}

impl ThreadEntry {
    /// Runs the thread body; returns when the kernel thread has ended.
    pub fn run(self) {
        // SAFETY: f and arg come together from the kernel's thread_create.
        unsafe { (self.f)(self.arg) }
    }
}

/// The kernel's timer callback: it only raises the timer IRQ, so it may be
/// called from any thread in any context.
#[derive(Clone, Copy)]
pub struct TimerCallback {
    f: HostFn,
    arg: *mut c_void,
}

// SAFETY: the callback only records an IRQ with atomic operations.
unsafe impl Send for TimerCallback {}
// SAFETY: as above; concurrent calls are allowed.
unsafe impl Sync for TimerCallback {}

impl TimerCallback {
    pub fn call(&self) {
        // SAFETY: f and arg come together from the kernel's timer_alloc.
        unsafe { (self.f)(self.arg) }
    }
}

/// What the kernel needs from the program it runs in. Every function may
/// be called from any thread; `up` and `arm` must not block.
pub trait Host: 'static {
    type Semaphore: Send + Sync;
    type Timer: Send + Sync;

    /// Console output (printk), in pieces of any size.
    fn print(text: &[u8]);
    /// The kernel panicked.
    fn panic(message: &str) -> !;

    fn semaphore(count: u32) -> Self::Semaphore;
    fn up(sem: &Self::Semaphore);
    fn down(sem: &Self::Semaphore);

    /// Starts a detached thread running `entry`.
    fn spawn(entry: ThreadEntry) -> Result<(), Errno>;
    /// One pointer of storage per thread, null until set.
    fn tls_get() -> *mut c_void;
    fn tls_set(value: *mut c_void);

    /// The kernel's memory pool: `size` bytes, or null.
    fn alloc_pool(size: usize) -> *mut u8;
    /// # Safety
    /// `ptr` and `size` are those of an earlier `alloc_pool`.
    unsafe fn free_pool(ptr: *mut u8, size: usize);

    /// Nanoseconds of a monotonic clock.
    fn monotonic_ns() -> u64;
    /// Nanoseconds since the Unix epoch.
    fn wall_ns() -> u64;

    /// A one-shot timer calling `callback` on expiry.
    fn timer(callback: TimerCallback) -> Option<Self::Timer>;
    /// (Re)arms the timer to expire `delta_ns` from now.
    fn arm(timer: &Self::Timer, delta_ns: u64);
    /// Disarms the timer; returns once no callback is running.
    fn disarm(timer: &Self::Timer);
}

/// The C operations of host `H`: a constant table in static memory (no
/// allocation, so nothing stays behind when a driver unloads).
pub(crate) fn ops<H: Host>() -> &'static HostOps {
    &Adapter::<H>::TABLE
}

struct Adapter<H>(PhantomData<H>);

impl<H: Host> Adapter<H> {
    const TABLE: HostOps = HostOps {
        print: Self::print,
        panic: Self::panic,
        sem_alloc: Self::sem_alloc,
        sem_free: Self::sem_free,
        sem_up: Self::sem_up,
        sem_down: Self::sem_down,
        thread_create: Self::thread_create,
        tls_get: Self::tls_get,
        tls_set: Self::tls_set,
        mem_alloc: Self::mem_alloc,
        mem_free: Self::mem_free,
        time_ns: Self::time_ns,
        wall_ns: Self::wall_ns,
        timer_alloc: Self::timer_alloc,
        timer_arm: Self::timer_arm,
        timer_disarm: Self::timer_disarm,
        timer_free: Self::timer_free,
    };

    unsafe extern "C" fn print(text: *const c_char, len: c_int) {
        // SAFETY: the kernel passes len readable bytes.
        H::print(unsafe { core::slice::from_raw_parts(text.cast(), len as usize) });
    }

    unsafe extern "C" fn panic(msg: *const c_char) {
        // SAFETY: the kernel passes its NUL-terminated panic message.
        let msg = unsafe { CStr::from_ptr(msg) };
        H::panic(msg.to_str().unwrap_or("(panic message not UTF-8)"))
    }

    unsafe extern "C" fn sem_alloc(count: c_int) -> *mut c_void {
        Box::into_raw(Box::new(H::semaphore(count as u32))).cast()
    }

    unsafe extern "C" fn sem_free(sem: *mut c_void) {
        // SAFETY: sem came from sem_alloc and the kernel frees it once.
        drop(unsafe { Box::from_raw(sem.cast::<H::Semaphore>()) });
    }

    unsafe extern "C" fn sem_up(sem: *mut c_void) {
        // SAFETY: sem came from sem_alloc and is not yet freed.
        H::up(unsafe { &*sem.cast::<H::Semaphore>() });
    }

    unsafe extern "C" fn sem_down(sem: *mut c_void) {
        // SAFETY: sem came from sem_alloc and is not yet freed.
        H::down(unsafe { &*sem.cast::<H::Semaphore>() });
    }

    unsafe extern "C" fn thread_create(f: HostFn, arg: *mut c_void) -> c_int {
        match H::spawn(ThreadEntry { f, arg }) {
            Ok(()) => 0,
            Err(e) => -e.0,
        }
    }

    unsafe extern "C" fn tls_get() -> *mut c_void {
        H::tls_get()
    }

    unsafe extern "C" fn tls_set(value: *mut c_void) {
        H::tls_set(value)
    }

    unsafe extern "C" fn mem_alloc(size: u64) -> *mut c_void {
        H::alloc_pool(size as usize).cast()
    }

    unsafe extern "C" fn mem_free(ptr: *mut c_void, size: u64) {
        // SAFETY: the kernel frees its pool once, with the size it asked for.
        unsafe { H::free_pool(ptr.cast(), size as usize) }
    }

    unsafe extern "C" fn time_ns() -> u64 {
        H::monotonic_ns()
    }

    unsafe extern "C" fn wall_ns() -> u64 {
        H::wall_ns()
    }

    unsafe extern "C" fn timer_alloc(f: HostFn, arg: *mut c_void) -> *mut c_void {
        match H::timer(TimerCallback { f, arg }) {
            Some(timer) => Box::into_raw(Box::new(timer)).cast(),
            None => core::ptr::null_mut(),
        }
    }

    unsafe extern "C" fn timer_arm(timer: *mut c_void, delta_ns: u64) {
        // SAFETY: timer came from timer_alloc and is not yet freed.
        H::arm(unsafe { &*timer.cast::<H::Timer>() }, delta_ns);
    }

    unsafe extern "C" fn timer_disarm(timer: *mut c_void) {
        // SAFETY: timer came from timer_alloc and is not yet freed.
        H::disarm(unsafe { &*timer.cast::<H::Timer>() });
    }

    unsafe extern "C" fn timer_free(timer: *mut c_void) {
        // SAFETY: timer came from timer_alloc; the kernel frees it once.
        drop(unsafe { Box::from_raw(timer.cast::<H::Timer>()) });
    }
}
