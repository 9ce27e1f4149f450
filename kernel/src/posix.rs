//! The POSIX host (Linux user space): native operations on std threads,
//! locks and clocks; the pool comes from [`crate::pool`], the console from
//! [`crate::console`].
use core::cell::Cell;
use core::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::host::{Host, ThreadEntry, TimerCallback, KERNEL_THREAD_STACK};
use crate::sem_count::Count;
use crate::{console, pool, Errno};

/// Native operations for Linux user space.
pub struct PosixHost;

static EPOCH: OnceLock<Instant> = OnceLock::new();

std::thread_local! {
    static TLS: TaskSlot = const { TaskSlot(Cell::new(core::ptr::null_mut())) };
}

/// A thread's kernel task, ended when the thread ends.
struct TaskSlot(Cell<*mut c_void>);

impl Drop for TaskSlot {
    fn drop(&mut self) {
        // SAFETY: the slot holds what the kernel stored for this thread,
        // which is exactly what lkl_host_task_release takes.
        unsafe { crate::ffi::lkl_host_task_release(self.0.get()) }
    }
}

/// FUTEX_WAIT (while `*word` is `value`) or FUTEX_WAKE (`value` threads)
/// on `word`. A wait that ends early (a wake, another value, a signal)
/// only makes the caller look again; a wake of an address whose memory
/// is gone reads nothing.
fn futex(word: *const u32, op: libc::c_int, value: u32) {
    // SAFETY: the kernel reads `word` only for a wait, whose caller keeps
    // the semaphore alive; no timeout and no second address are passed.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word,
            op,
            value,
            core::ptr::null::<libc::timespec>(),
            core::ptr::null::<u32>(),
            0u32,
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A counting semaphore: a lock-free count (see [`crate::sem_count`]);
/// sleepers wait on a futex on its units, so that a post touches nothing
/// of the semaphore after its unit is there to take (the taker may free
/// it at once: a thread leaving the kernel frees its own).
pub struct Semaphore {
    count: Count,
}

/// A one-shot timer served by a thread of its own.
pub struct Timer {
    shared: Arc<TimerShared>,
    thread: Option<thread::JoinHandle<()>>,
}

struct TimerShared {
    state: Mutex<TimerState>,
    cond: Condvar,
}

struct TimerState {
    deadline: Option<Instant>,
    running: bool,
    stop: bool,
}

impl Host for PosixHost {
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
            // Only the address: the semaphore may be gone already.
            futex(
                sem.count.address(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    fn down(sem: &Semaphore) {
        if sem.count.spin_take() {
            return;
        }
        sem.count.asleep();
        while !sem.count.try_take() {
            // Returns at once if a unit came since try_take looked.
            futex(
                sem.count.address(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                0,
            );
        }
        sem.count.awake();
    }

    fn spawn(entry: ThreadEntry) -> Result<(), Errno> {
        thread::Builder::new()
            .name("lkl".into())
            .stack_size(KERNEL_THREAD_STACK)
            .spawn(move || {
                if crate::stack_watch::on() {
                    crate::stack_watch::thread(|| entry.run());
                } else {
                    entry.run();
                }
            })
            .map(drop)
            .map_err(|_| Errno::EAGAIN)
    }

    fn tls_get() -> *mut c_void {
        TLS.with(|t| t.0.get())
    }

    fn tls_set(value: *mut c_void) {
        TLS.with(|t| t.0.set(value));
    }

    fn alloc_pool(size: usize) -> *mut u8 {
        pool::alloc(size)
    }

    unsafe fn free_pool(ptr: *mut u8, size: usize) {
        // SAFETY: the Host contract: ptr and size come from alloc_pool.
        unsafe { pool::free(ptr, size) }
    }

    fn monotonic_ns() -> u64 {
        EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    fn wall_ns() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }

    fn timer(callback: TimerCallback) -> Option<Timer> {
        let shared = Arc::new(TimerShared {
            state: Mutex::new(TimerState {
                deadline: None,
                running: false,
                stop: false,
            }),
            cond: Condvar::new(),
        });
        let worker = shared.clone();
        let thread = thread::Builder::new()
            .name("lkl-timer".into())
            .spawn(move || worker.serve(callback))
            .ok()?;
        Some(Timer {
            shared,
            thread: Some(thread),
        })
    }

    fn arm(timer: &Timer, delta_ns: u64) {
        let mut state = lock(&timer.shared.state);
        state.deadline = Some(Instant::now() + Duration::from_nanos(delta_ns));
        timer.shared.cond.notify_all();
    }

    fn disarm(timer: &Timer) {
        let mut state = lock(&timer.shared.state);
        state.deadline = None;
        timer.shared.cond.notify_all();
        while state.running {
            state = timer
                .shared
                .cond
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl TimerShared {
    fn serve(&self, callback: TimerCallback) {
        // The kernel's high-resolution timers (netem's delays, TCP's
        // pacing) fire on this thread: wake it when asked, not up to the
        // default 50 us later.
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_TIMERSLACK takes a number and changes only this
        // thread's timer slack.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        let mut state = lock(&self.state);
        loop {
            if state.stop {
                return;
            }
            match state.deadline {
                None => state = self.cond.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now < deadline {
                        state = self
                            .cond
                            .wait_timeout(state, deadline - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                        continue;
                    }
                    state.deadline = None;
                    state.running = true;
                    drop(state);
                    callback.call();
                    state = lock(&self.state);
                    state.running = false;
                    self.cond.notify_all();
                }
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        {
            let mut state = lock(&self.shared.state);
            state.stop = true;
            state.deadline = None;
            self.shared.cond.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
