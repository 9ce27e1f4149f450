//! Waiting on the kernel's non-blocking sockets from async code: a
//! future that waits once for a descriptor (or a time), what the code
//! awaiting it waits for kept per thread, and `block_on`, which runs one
//! future to its end with the kernel's `ppoll`. `lklnet get` and `serve`
//! are async on it, so that the simulator can drive them too, alongside
//! everything else it runs on its one thread.
use std::cell::RefCell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use lkl::sys::{self, PollFd};
use lkl::uapi::Timespec;
use lkl::{virtual_time, Errno};

/// What the futures polled on this thread wait for: descriptors and the
/// first deadline.
#[derive(Default)]
pub struct Waits {
    pub fds: Vec<PollFd>,
    pub deadline: Option<f64>,
}

thread_local! {
    static WAITS: RefCell<Waits> = RefCell::new(Waits::default());
}

/// The kernel's clock, real or virtual: seconds since it booted.
pub fn now() -> f64 {
    virtual_time::now_ns() as f64 / 1e9
}

/// A span of `seconds` (none below zero), as the kernel takes it.
fn timespec(seconds: f64) -> Timespec {
    let ns = (seconds.max(0.0) * 1e9).ceil() as i64;
    Timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    }
}

/// Waits in the kernel until one of `fds` is ready or the clock reaches
/// `deadline` (None: no deadline); a signal's interruption is no error.
pub fn ppoll_until(fds: &mut [PollFd], deadline: Option<f64>) -> Result<(), Errno> {
    let timeout = deadline.map(|d| timespec(d - now()));
    match sys::ppoll(fds, timeout.as_ref()) {
        Ok(_) | Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sleeps `seconds` in the kernel (in virtual time, the clock moves).
pub fn sleep(seconds: f64) -> Result<(), Errno> {
    if seconds <= 0.0 {
        return Ok(());
    }
    sys::nanosleep(&timespec(seconds))
}

/// Polls `f` once; what it waits for if it is not done.
pub fn poll_once<T>(f: Pin<&mut dyn Future<Output = T>>) -> (Poll<T>, Waits) {
    WAITS.with(|w| *w.borrow_mut() = Waits::default());
    let mut cx = Context::from_waker(Waker::noop());
    let result = f.poll(&mut cx);
    (result, WAITS.with(|w| std::mem::take(&mut *w.borrow_mut())))
}

/// Runs `f` to its end on this thread, waiting in the kernel.
pub fn block_on<T>(f: impl Future<Output = T>) -> T {
    let mut f = pin!(f);
    loop {
        let (result, mut waits) = poll_once(f.as_mut());
        if let Poll::Ready(v) = result {
            return v;
        }
        // An error here comes back as the next try of the operation.
        let _ = ppoll_until(&mut waits.fds, waits.deadline);
    }
}

/// Records that the future being polled waits for `events` on `fd` (or,
/// with `fd` -1, only for `deadline`), for code that polls by hand.
pub fn register(fd: i32, events: i16, deadline: Option<f64>) {
    WAITS.with(|w| {
        let mut w = w.borrow_mut();
        if fd >= 0 {
            w.fds.push(PollFd {
                fd,
                events,
                revents: 0,
            });
        }
        if let Some(d) = deadline {
            w.deadline = Some(w.deadline.map_or(d, |e: f64| e.min(d)));
        }
    });
}

/// Waits once for `events` on `fd`, or until `deadline`: the first poll
/// says what it waits for and is pending, the next is ready (the caller
/// tries again, and looks at the time).
pub struct Wait {
    fd: i32,
    events: i16,
    deadline: Option<f64>,
    asked: bool,
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.asked {
            return Poll::Ready(());
        }
        self.asked = true;
        register(self.fd, self.events, self.deadline);
        Poll::Pending
    }
}

/// Waits for `events` (`sys::POLLIN`, `POLLOUT`) on `fd` until `deadline`.
pub fn wait(fd: i32, events: i16, deadline: Option<f64>) -> Wait {
    Wait {
        fd,
        events,
        deadline,
        asked: false,
    }
}

/// Tries `op` until it does not answer `EAGAIN`, waiting for `events` on
/// `fd` in between; `ETIMEDOUT` once `deadline` has passed.
pub async fn retry<T>(
    fd: i32,
    events: i16,
    deadline: Option<f64>,
    mut op: impl FnMut() -> Result<T, Errno>,
) -> Result<T, Errno> {
    loop {
        match op() {
            Err(Errno::EAGAIN) => {}
            r => return r,
        }
        if deadline.is_some_and(|d| now() >= d) {
            return Err(Errno::ETIMEDOUT);
        }
        wait(fd, events, deadline).await;
    }
}
