//! Entering Linux: only threads of ours run Linux code. A system call needs
//! up to 24 KiB of stack, which an IRP's thread may not have left, and the
//! kernel keeps a task per thread that must end with the thread: so every
//! request is a job run by one of a few worker threads (as classic FSDs
//! post requests to their file system process). A worker's own requests
//! (the self-test, the benchmark) run at once, on its stack. Each job
//! runs on an expanded stack (see `stack`). Paging I/O has workers of its
//! own (`post_paging`): a cached read waiting for a page must never wait
//! for a worker busy with another such read.
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicUsize, Ordering};

use spin::Mutex;

use crate::shared::{zeroed, Shared};
use crate::spin_lock::SpinLock;
use crate::{death, nt, threads};

type Work = Box<dyn FnOnce() + Send>;

/// Work to run in Linux, and what to do instead if the kernel died first
/// or dies while it runs.
pub struct Job {
    pub work: Work,
    pub if_dead: Work,
}

const MAX_WORKERS: usize = 8;

struct Worker {
    thread: AtomicUsize,
    /// The running job's `if_dead`, taken when the worker parks.
    if_dead: Mutex<Option<Work>>,
}

#[allow(clippy::declare_interior_mutable_const)]
const IDLE: Worker = Worker {
    thread: AtomicUsize::new(0),
    if_dead: Mutex::new(None),
};
static WORKERS: [Worker; MAX_WORKERS] = [IDLE; MAX_WORKERS];
static STARTED: AtomicUsize = AtomicUsize::new(0);
/// Workers that have not ended; the last to end sets ENDED.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static ENDED: Shared<nt::KEVENT> = Shared::new(zeroed());
/// Jobs waiting for the workers of one kind; `None` tells one to end.
/// Posting is allowed up to DISPATCH_LEVEL (cancel routines post), so the
/// queue is behind a spin lock that raises the IRQL.
struct Lane {
    queue: SpinLock<VecDeque<Option<Job>>>,
    /// One unit per entry of the queue.
    ready: Shared<nt::KSEMAPHORE>,
}

#[allow(clippy::declare_interior_mutable_const)]
const LANE: Lane = Lane {
    queue: SpinLock::new(VecDeque::new()),
    ready: Shared::new(zeroed()),
};
/// Requests, then paging I/O.
static LANES: [Lane; 2] = [LANE; 2];
const REQUESTS: usize = 0;
const PAGING: usize = 1;
/// Workers 0..GENERAL serve requests; the rest paging I/O.
static GENERAL: AtomicUsize = AtomicUsize::new(0);

fn current_thread() -> usize {
    // SAFETY: no arguments; the calling thread's object.
    unsafe { nt::KeGetCurrentThread() as usize }
}

fn me() -> Option<&'static Worker> {
    let thread = current_thread();
    WORKERS[..STARTED.load(Ordering::Acquire)]
        .iter()
        .find(|w| w.thread.load(Ordering::Relaxed) == thread)
}

/// Whether the calling thread is a worker (and may enter Linux itself).
pub fn is_worker() -> bool {
    me().is_some()
}

/// Starts `requests` workers for requests and `paging` for paging I/O
/// (at most 8 in all).
pub fn start(requests: usize, paging: usize) -> Result<(), nt::NTSTATUS> {
    // SAFETY: the static objects are initialised before any worker runs.
    unsafe {
        for lane in &LANES {
            nt::KeInitializeSemaphore(lane.ready.get(), 0, i32::MAX);
        }
        nt::KeInitializeEvent(ENDED.get(), nt::NotificationEvent, 0);
    }
    GENERAL.store(requests, Ordering::Release);
    for i in 0..(requests + paging).min(MAX_WORKERS) {
        let event = Shared::new(zeroed::<nt::KEVENT>());
        // SAFETY: a fresh event on this stack, waited on below before the
        // frame ends.
        unsafe { nt::KeInitializeEvent(event.get(), nt::NotificationEvent, 0) };
        let registered = event.get() as usize;
        RUNNING.fetch_add(1, Ordering::AcqRel);
        if let Err(s) = threads::spawn(move || serve(i, registered as *mut nt::KEVENT)) {
            RUNNING.fetch_sub(1, Ordering::AcqRel);
            return Err(s);
        }
        // SAFETY: the worker sets the event once registered.
        unsafe { crate::wait(registered as *mut nt::KEVENT) };
        STARTED.store(i + 1, Ordering::Release);
    }
    Ok(())
}

/// The lane worker `index` serves.
fn lane_of(index: usize) -> &'static Lane {
    &LANES[if index < GENERAL.load(Ordering::Acquire) {
        REQUESTS
    } else {
        PAGING
    }]
}

fn serve(index: usize, registered: *mut nt::KEVENT) {
    let worker = &WORKERS[index];
    let lane = lane_of(index);
    worker.thread.store(current_thread(), Ordering::Relaxed);
    // SAFETY: start waits on this event and keeps it alive until set.
    unsafe { nt::KeSetEvent(registered, 0, 0) };
    loop {
        // SAFETY: the lane's semaphore was initialised by start.
        unsafe { crate::wait(lane.ready.get()) };
        let next = lane.queue.lock().pop_front().flatten();
        let Some(job) = next else {
            worker.thread.store(0, Ordering::Relaxed);
            if !death::is_dead() {
                // SAFETY: the slot holds this thread's task (or null).
                let _ = crate::stack::run(|| unsafe { lkl::release_host_task(crate::tls::get()) });
            }
            ended();
            return;
        };
        if death::is_dead() {
            (job.if_dead)();
            continue;
        }
        *worker.if_dead.lock() = Some(job.if_dead);
        let mut work = Some(job.work);
        let ran = crate::stack::run(|| {
            if let Some(work) = work.take() {
                work();
            }
        });
        let if_dead = worker.if_dead.lock().take();
        if !ran {
            // No stack to run Linux on: the job fails as it would after a
            // death (its request completes with an error).
            if let Some(if_dead) = if_dead {
                if_dead();
            }
        }
    }
}

/// A worker is past its last job.
fn ended() {
    if RUNNING.fetch_sub(1, Ordering::AcqRel) == 1 {
        // SAFETY: ENDED was initialised by start.
        unsafe { nt::KeSetEvent(ENDED.get(), 0, 0) };
    }
}

/// A parked thread is about to end: if it is a worker, it counts as ended.
pub(crate) fn end_parked() {
    let thread = current_thread();
    if let Some(w) = WORKERS
        .iter()
        .find(|w| w.thread.load(Ordering::Relaxed) == thread)
    {
        w.thread.store(0, Ordering::Relaxed);
        ended();
    }
}

fn push(lane: &Lane, entry: Option<Job>) {
    lane.queue.lock().push_back(entry);
    // SAFETY: the lane's semaphore was initialised by start; no wait
    // follows.
    unsafe { nt::KeReleaseSemaphore(lane.ready.get(), 0, 1, 0) };
}

/// Queues `job` for a worker (its `if_dead` at once if the kernel died).
pub fn post(job: Job) {
    post_to(&LANES[REQUESTS], job);
}

/// Queues paging I/O `job` for a paging worker.
pub fn post_paging(job: Job) {
    post_to(&LANES[PAGING], job);
}

fn post_to(lane: &Lane, job: Job) {
    if death::is_dead() {
        (job.if_dead)();
    } else {
        push(lane, Some(job));
    }
}

/// Runs `f` in Linux and returns its result: at once on a worker, else on
/// a worker while this thread waits. None if the kernel died first.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> Option<R> {
    if is_worker() {
        return if death::is_dead() { None } else { Some(f()) };
    }
    let done = Shared::new(zeroed::<nt::KEVENT>());
    // SAFETY: an event on this stack, alive until the wait below returns.
    unsafe { nt::KeInitializeEvent(done.get(), nt::NotificationEvent, 0) };
    let mut result: Option<R> = None;
    let (done_at, result_at) = (done.get() as usize, &mut result as *mut Option<R> as usize);
    let work: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        // SAFETY: this thread waits for the event below, so the slot lives.
        unsafe { *(result_at as *mut Option<R>) = Some(f()) };
        // SAFETY: as above, for the event.
        unsafe { nt::KeSetEvent(done_at as *mut nt::KEVENT, 0, 0) };
    });
    // SAFETY: the closure only borrows what lives until the wait below has
    // returned, and the wait returns only once it ran or was given up (a
    // parked worker never resumes it).
    let work: Work = unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Work>(work) };
    let if_dead: Work = Box::new(move || {
        // SAFETY: as above.
        unsafe { nt::KeSetEvent(done_at as *mut nt::KEVENT, 0, 0) };
    });
    post(Job { work, if_dead });
    // SAFETY: the event on this stack.
    unsafe { crate::wait(done.get()) };
    result
}

/// Ends every worker, each after ending its kernel task (so call this
/// before Linux halts), and waits until they are past their last job
/// ([`threads::wait_all`] waits for the threads themselves).
pub fn stop() {
    for i in 0..STARTED.swap(0, Ordering::AcqRel) {
        push(lane_of(i), None);
    }
    if RUNNING.load(Ordering::Acquire) > 0 {
        // SAFETY: ENDED was initialised by start.
        unsafe { crate::wait(ENDED.get()) };
    }
}

/// Frees the queue's memory, once the workers have ended (unload).
pub fn release() {
    for lane in &LANES {
        let left = core::mem::take(&mut *lane.queue.lock());
        drop(left);
    }
}

/// A worker that parks gives up the job it serves.
pub(crate) fn abandon_current() {
    if let Some(if_dead) = me().and_then(|w| w.if_dead.lock().take()) {
        if_dead();
    }
}
