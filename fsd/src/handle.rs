//! One open as the requests on its handle share it: the CCB behind a
//! sleeping lock. The I/O manager does not serialise the requests of an
//! overlapped handle, so two of them (two directory queries, a read and a
//! rename) can be served at once on two workers; each takes the lock for
//! as long as it uses the CCB, so they take turns and neither sees the
//! other's half-made changes. The lock sleeps in the kernel, so it is
//! taken only on threads that make system calls (the driver's workers).
//!
//! Paging I/O takes no lock: the cache and memory managers send it on the
//! same file object while a cached request holds the CCB and waits for
//! the page, so it would wait for ever. It needs only what never changes
//! (the file's descriptor) and leaves a mark (written) that the next
//! holder of the lock takes into the CCB.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::ccb::Ccb;
use crate::sleep_lock::{SleepGuard, SleepLock};

pub struct Handle {
    lock: SleepLock,
    /// The open's file id, inode and descriptor (and whether it writes),
    /// which never change: read without the lock.
    file_id: u64,
    ino: u64,
    fd: i32,
    fd_writes: bool,
    /// Paging I/O wrote the file since the CCB last saw it.
    written: AtomicBool,
    ccb: UnsafeCell<Ccb>,
}

// SAFETY: the CCB is reached only through a guard that holds the lock
// (or by value, once the handle is taken apart); the file id is read-only.
unsafe impl Sync for Handle {}
// SAFETY: a CCB may move between threads (it holds no thread-bound state).
unsafe impl Send for Handle {}

/// The CCB of a handle, held until dropped.
pub struct HandleGuard<'a> {
    handle: &'a Handle,
    _held: SleepGuard<'a>,
}

impl Handle {
    pub fn new(ccb: Ccb) -> Handle {
        Handle {
            lock: SleepLock::new(),
            file_id: ccb.file_id(),
            ino: ccb.ino,
            fd: ccb.fd,
            fd_writes: ccb.access & crate::access::WRITES_DATA != 0,
            written: AtomicBool::new(false),
            ccb: UnsafeCell::new(ccb),
        }
    }

    /// The CCB, once no other request on the handle uses it.
    pub fn lock(&self) -> HandleGuard<'_> {
        let mut guard = HandleGuard {
            _held: self.lock.lock(),
            handle: self,
        };
        guard.take_written();
        guard
    }

    /// The open's file id (see [`Ccb::file_id`]), without the lock.
    pub fn file_id(&self) -> u64 {
        self.file_id
    }

    /// The file's descriptor this open uses, without the lock (paging I/O).
    pub(crate) fn fd(&self) -> i32 {
        self.fd
    }

    /// The inode of the open's file.
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// Whether the open's descriptor writes (O_RDWR).
    pub(crate) fn fd_writes(&self) -> bool {
        self.fd_writes
    }

    /// Paging I/O wrote the file through this open.
    pub(crate) fn note_written(&self) {
        self.written.store(true, Ordering::Release);
    }

    /// The CCB, the handle taken apart (its last request, CLOSE).
    pub fn into_inner(self) -> Ccb {
        let mut ccb = self.ccb.into_inner();
        if self.written.into_inner() {
            ccb.modified = true;
        }
        ccb
    }
}

impl HandleGuard<'_> {
    fn take_written(&mut self) {
        if self.handle.written.swap(false, Ordering::Acquire) {
            self.modified = true;
        }
    }
}

impl Deref for HandleGuard<'_> {
    type Target = Ccb;

    fn deref(&self) -> &Ccb {
        // SAFETY: the lock is held: no other reference to the CCB exists.
        unsafe { &*self.handle.ccb.get() }
    }
}

impl DerefMut for HandleGuard<'_> {
    fn deref_mut(&mut self) -> &mut Ccb {
        // SAFETY: as in deref, and this guard is borrowed mutably.
        unsafe { &mut *self.handle.ccb.get() }
    }
}
