//! The NT user-mode host (Windows user space): native operations on Win32
//! threads (CreateThread with a fixed stack), semaphores on WaitOnAddress,
//! fiber-local storage whose callback ends a thread's kernel task, a
//! high-resolution waitable timer, QueryPerformanceCounter and
//! GetSystemTimePreciseAsFileTime; the pool comes from [`crate::pool`]
//! (VirtualAlloc), the console from [`crate::console`].
use alloc::boxed::Box;
use core::ffi::c_void;
use core::ptr::null_mut;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use crate::host::{Host, ThreadEntry, TimerCallback, KERNEL_THREAD_STACK};
use crate::sem_count::Count;
use crate::win32::*;
use crate::{console, pool, Errno};

/// Native operations for Windows user mode.
pub struct NtHost;

/// A counting semaphore: a lock-free count (see [`crate::sem_count`]) that
/// sleepers wait on with WaitOnAddress (no kernel object, and under Wine
/// no trip to the wineserver).
pub struct Semaphore {
    count: Count,
}

/// A one-shot timer: a high-resolution waitable timer, waited on by a
/// thread of its own that calls the kernel back.
pub struct Timer {
    shared: *const TimerShared,
    thread: Handle,
}

// SAFETY: the handles may be used from any thread; the shared state is
// behind a mutex and lives until the timer thread has ended.
unsafe impl Send for Timer {}
// SAFETY: as above.
unsafe impl Sync for Timer {}

struct TimerShared {
    timer: Handle,
    stop: Handle,
    callback: TimerCallback,
    state: Mutex<TimerState>,
    idle: Condvar,
}

struct TimerState {
    /// When the armed timer is due ([`NtHost::monotonic_ns`]); none if disarmed.
    deadline: Option<u64>,
    /// When the Win32 timer is set to expire, if it is.
    set_for: Option<u64>,
    running: bool,
}

fn lock(state: &Mutex<TimerState>) -> MutexGuard<'_, TimerState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fiber-local slot that holds each thread's kernel task.
fn task_slot() -> u32 {
    static SLOT: OnceLock<u32> = OnceLock::new();
    // SAFETY: FlsAlloc only registers the callback, which is sound for any
    // value the slot will hold (null or a task from the kernel).
    *SLOT.get_or_init(|| match unsafe { FlsAlloc(Some(release_task)) } {
        FLS_OUT_OF_INDEXES => console::panic("FlsAlloc: no fiber-local slot left"),
        slot => slot,
    })
}

/// Called by Windows when a thread that set its slot ends.
unsafe extern "system" fn release_task(task: *mut c_void) {
    // SAFETY: no arguments; it reads the loader's state.
    if task.is_null() || unsafe { RtlDllShutdownInProgress() } != 0 {
        // The process is ending: other threads are gone, the kernel with them.
        return;
    }
    // SAFETY: the slot holds what the kernel stored for this thread, which
    // is exactly what lkl_host_task_release takes.
    unsafe { crate::ffi::lkl_host_task_release(task) }
}

unsafe extern "system" fn thread_start(arg: *mut c_void) -> u32 {
    // SAFETY: arg is the box that spawn leaked for this thread alone.
    let entry = unsafe { Box::from_raw(arg.cast::<ThreadEntry>()) };
    entry.run();
    0
}

unsafe extern "system" fn timer_thread(arg: *mut c_void) -> u32 {
    // SAFETY: the Timer keeps the shared state alive until this thread ends.
    let shared = unsafe { &*arg.cast::<TimerShared>() };
    shared.serve();
    0
}

fn qpc_frequency() -> u64 {
    static FREQUENCY: OnceLock<u64> = OnceLock::new();
    *FREQUENCY.get_or_init(|| {
        let mut f = 0i64;
        // SAFETY: f is a live i64 for the output.
        unsafe { QueryPerformanceFrequency(&mut f) };
        f.max(1) as u64
    })
}

impl Host for NtHost {
    type Semaphore = Semaphore;
    type Timer = Timer;

    fn print(text: &[u8]) {
        console::print(text)
    }

    fn panic(message: &str) -> ! {
        console::panic(message)
    }

    fn semaphore(count: u32) -> Semaphore {
        Semaphore {
            count: Count::new(count),
        }
    }

    fn up(sem: &Semaphore) {
        if sem.count.post() {
            // SAFETY: a wake by address reads nothing there: the semaphore
            // may be gone already (its taker may free it at once).
            unsafe { WakeByAddressSingle(sem.count.address().cast()) };
        }
    }

    fn down(sem: &Semaphore) {
        if sem.count.spin_take() {
            return;
        }
        sem.count.asleep();
        while !sem.count.try_take() {
            let zero = 0u32;
            // SAFETY: both addresses are live u32s; the wait returns at
            // once if the count is no longer zero, so a post between
            // try_take and the wait is not missed.
            unsafe {
                WaitOnAddress(
                    sem.count.address().cast(),
                    (&zero as *const u32).cast(),
                    4,
                    INFINITE,
                )
            };
        }
        sem.count.awake();
    }

    fn spawn(entry: ThreadEntry) -> Result<(), Errno> {
        let arg = Box::into_raw(Box::new(entry));
        // SAFETY: thread_start takes ownership of arg; the stack size is a
        // reservation, as the kernel's own threads have.
        let thread = unsafe {
            CreateThread(
                null_mut(),
                KERNEL_THREAD_STACK,
                thread_start,
                arg.cast(),
                STACK_SIZE_PARAM_IS_A_RESERVATION,
                null_mut(),
            )
        };
        if thread.is_null() {
            // SAFETY: no thread took arg.
            drop(unsafe { Box::from_raw(arg) });
            return Err(Errno::EAGAIN);
        }
        // SAFETY: the thread runs detached; its handle is not needed.
        unsafe { CloseHandle(thread) };
        Ok(())
    }

    fn tls_get() -> *mut c_void {
        // SAFETY: the slot index is valid for the process's lifetime.
        unsafe { FlsGetValue(task_slot()) }
    }

    fn tls_set(value: *mut c_void) {
        // SAFETY: as above; the value is the kernel's task pointer or null.
        unsafe { FlsSetValue(task_slot(), value) };
    }

    fn alloc_pool(size: usize) -> *mut u8 {
        pool::alloc(size)
    }

    unsafe fn free_pool(ptr: *mut u8, size: usize) {
        // SAFETY: the Host contract: ptr and size come from alloc_pool.
        unsafe { pool::free(ptr, size) }
    }

    fn monotonic_ns() -> u64 {
        let mut count = 0i64;
        // SAFETY: count is a live i64 for the output.
        unsafe { QueryPerformanceCounter(&mut count) };
        (count as u128 * 1_000_000_000 / qpc_frequency() as u128) as u64
    }

    fn wall_ns() -> u64 {
        let mut filetime = 0u64;
        // SAFETY: a FILETIME is two u32 halves, low first: one live u64.
        unsafe { GetSystemTimePreciseAsFileTime(&mut filetime) };
        filetime.saturating_sub(FILETIME_UNIX_EPOCH) * 100
    }

    fn timer(callback: TimerCallback) -> Option<Timer> {
        let none: *const u16 = core::ptr::null();
        // SAFETY: unnamed objects with default security; failures are null.
        let (mut timer, stop) = unsafe {
            (
                CreateWaitableTimerExW(
                    null_mut(),
                    none,
                    CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                    TIMER_ALL_ACCESS,
                ),
                CreateEventW(null_mut(), 1, 0, none),
            )
        };
        if timer.is_null() {
            // Before Windows 10 1803 (and on Wine 8): the standard timer.
            // SAFETY: as above.
            timer = unsafe { CreateWaitableTimerExW(null_mut(), none, 0, TIMER_ALL_ACCESS) };
        }
        let shared = Box::into_raw(Box::new(TimerShared {
            timer,
            stop,
            callback,
            state: Mutex::new(TimerState {
                deadline: None,
                set_for: None,
                running: false,
            }),
            idle: Condvar::new(),
        }));
        let thread = if timer.is_null() || stop.is_null() {
            null_mut()
        } else {
            // SAFETY: the thread borrows shared until Timer's drop joins it.
            unsafe { CreateThread(null_mut(), 0, timer_thread, shared.cast(), 0, null_mut()) }
        };
        let timer = Timer { shared, thread };
        (!thread.is_null()).then_some(timer)
    }

    fn arm(timer: &Timer, delta_ns: u64) {
        let shared = timer.shared();
        let mut state = lock(&shared.state);
        let deadline = Self::monotonic_ns().saturating_add(delta_ns);
        state.deadline = Some(deadline);
        // The kernel re-arms often, mostly for later: setting the Win32
        // timer (a trip to the wineserver under Wine) only when it would
        // expire too late; expiring early, it is set again for the rest.
        if state.set_for.map_or(true, |set_for| deadline < set_for) {
            shared.set(delta_ns);
            state.set_for = Some(deadline);
        }
    }

    fn disarm(timer: &Timer) {
        let shared = timer.shared();
        let mut state = lock(&shared.state);
        // A Win32 timer still set expires into nothing.
        state.deadline = None;
        while state.running {
            state = shared.idle.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Timer {
    fn shared(&self) -> &TimerShared {
        // SAFETY: shared is freed only in drop.
        unsafe { &*self.shared }
    }
}

impl TimerShared {
    /// Sets the Win32 timer to expire `delta_ns` from now.
    fn set(&self, delta_ns: u64) {
        // Negative: relative, in 100 ns units; at least one.
        let due = -((delta_ns / 100).clamp(1, i64::MAX as u64) as i64);
        // SAFETY: the timer handle is live; no completion routine.
        unsafe { SetWaitableTimer(self.timer, &due, 0, null_mut(), null_mut(), 0) };
    }

    /// Waits for expiries until stopped; calls back for each one that is
    /// still armed and due (a timer re-armed meanwhile waits again).
    fn serve(&self) {
        let handles = [self.stop, self.timer];
        loop {
            // SAFETY: both handles live until this thread has ended.
            let woke = unsafe { WaitForMultipleObjects(2, handles.as_ptr(), 0, INFINITE) };
            if woke != WAIT_OBJECT_0 + 1 {
                return;
            }
            {
                let mut state = lock(&self.state);
                state.set_for = None;
                let Some(deadline) = state.deadline else {
                    continue;
                };
                let now = NtHost::monotonic_ns();
                if now < deadline {
                    // Set for an earlier deadline, or woken a little early
                    // by the timer's own clock.
                    self.set(deadline - now);
                    state.set_for = Some(deadline);
                    continue;
                }
                state.deadline = None;
                state.running = true;
            }
            self.callback.call();
            lock(&self.state).running = false;
            self.idle.notify_all();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let shared = self.shared();
        // SAFETY: the handles are live or null (a timer whose setup
        // failed); the thread ends on the stop event and is waited for
        // before anything it uses is freed.
        unsafe {
            if !self.thread.is_null() {
                SetEvent(shared.stop);
                WaitForSingleObject(self.thread, INFINITE);
                CloseHandle(self.thread);
            }
            for handle in [shared.timer, shared.stop] {
                if !handle.is_null() {
                    CloseHandle(handle);
                }
            }
            drop(Box::from_raw(self.shared.cast_mut()));
        }
    }
}
