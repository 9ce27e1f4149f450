//! Disks: the native disk stub behind the kernel's block driver. A host
//! implements [`Disk`]; [`add_disk`] shows it to Linux as `/dev/vdX`,
//! whose partition table Linux parses itself.
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::{ffi, Errno};

/// What a request asks of the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskOp {
    Read,
    Write,
    /// Make every completed write durable.
    Flush,
    /// The range's contents no longer matter.
    Discard,
    /// Make the range read back as zeroes.
    WriteZeroes,
}

/// One request from the kernel. Complete it exactly once, from any thread;
/// a request dropped without completion fails with `EIO`.
pub struct Request {
    raw: NonNull<ffi::DiskRequest>,
    /// Told the result just before the kernel is (see [`Request::observe`]).
    observer: Option<Observer>,
    /// Its disk's count of failed requests (see [`AddedDisk::errors`]).
    errors: Arc<AtomicU64>,
    /// Completed: the kernel has its result.
    done: bool,
}

/// What [`Request::observe`] calls with the request's result.
pub type Observer = Box<dyn FnOnce(Result<(), Errno>) + Send>;

// SAFETY: the request belongs to whoever holds this value until it is
// completed; the kernel does not touch it meanwhile.
unsafe impl Send for Request {}

impl Request {
    fn new(raw: NonNull<ffi::DiskRequest>, errors: Arc<AtomicU64>) -> Request {
        Request {
            raw,
            observer: None,
            errors,
            done: false,
        }
    }

    fn raw(&self) -> &ffi::DiskRequest {
        // SAFETY: the kernel keeps the request alive until completion.
        unsafe { self.raw.as_ref() }
    }

    /// Has `observer` told the result when the request completes (or is
    /// dropped, failing), before the kernel learns it: how a disk that
    /// wraps another sees its completions. After any earlier observer.
    pub fn observe(&mut self, observer: impl FnOnce(Result<(), Errno>) + Send + 'static) {
        self.observer = Some(match self.observer.take() {
            None => Box::new(observer),
            Some(first) => Box::new(move |r| {
                first(r);
                observer(r);
            }),
        });
    }

    pub fn op(&self) -> DiskOp {
        match self.raw().op {
            0 => DiskOp::Read,
            1 => DiskOp::Write,
            2 => DiskOp::Flush,
            3 => DiskOp::Discard,
            _ => DiskOp::WriteZeroes,
        }
    }

    /// Byte offset on the disk.
    pub fn offset(&self) -> u64 {
        self.raw().offset
    }

    /// Bytes in all.
    pub fn len(&self) -> u64 {
        self.raw().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A write that must be durable when it completes.
    pub fn fua(&self) -> bool {
        self.raw().flags & ffi::DISK_FUA != 0
    }

    /// The buffers of a read or write, in disk order from `offset`.
    pub fn segments(&mut self) -> impl Iterator<Item = &mut [u8]> + '_ {
        let raw = self.raw();
        let (segs, n) = (raw.segs, raw.nsegs as usize);
        (0..n).map(move |i| {
            // SAFETY: the kernel filled nsegs segments, each a buffer of
            // len bytes in its memory, all disjoint, ours until completion.
            unsafe {
                let seg = &*segs.add(i);
                core::slice::from_raw_parts_mut(seg.buf.cast::<u8>(), seg.len as usize)
            }
        })
    }

    /// Ends the request; an error reaches Linux as an I/O error.
    pub fn complete(mut self, result: Result<(), Errno>) {
        self.finish(result);
    }

    fn finish(&mut self, result: Result<(), Errno>) {
        self.done = true;
        if let Some(observer) = self.observer.take() {
            observer(result);
        }
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let status = match result {
            Ok(()) => 0,
            Err(e) => -e.0,
        };
        // SAFETY: a request the kernel handed out and not yet completed
        // (finish runs once: complete's drop sees `done`).
        unsafe { ffi::lkl_disk_complete(self.raw.as_ptr(), status) }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Err(Errno::EIO));
        }
    }
}

/// A disk the kernel can use. `submit` must not block for long: it runs on
/// the kernel's thread; do the I/O elsewhere and complete from there.
pub trait Disk: Send + Sync + 'static {
    /// Size in bytes, a multiple of the block size.
    fn capacity(&self) -> u64;
    /// Logical block size: 512 or 4096.
    fn block_size(&self) -> u32 {
        512
    }
    fn read_only(&self) -> bool {
        false
    }
    fn submit(&self, request: Request);
}

struct Slot {
    c: ffi::Disk,
    disk: Arc<dyn Disk>,
    errors: Arc<AtomicU64>,
}

unsafe extern "C" fn submit(handle: *mut c_void, req: *mut ffi::DiskRequest) -> c_int {
    // SAFETY: handle is the Slot registered with this disk, alive until
    // the disk is removed; req is a live request.
    let slot = unsafe { &*handle.cast::<Slot>() };
    match NonNull::new(req) {
        Some(req) => {
            slot.disk.submit(Request::new(req, slot.errors.clone()));
            0
        }
        None => -Errno::EINVAL.0,
    }
}

/// A disk shown to the kernel; dropping it removes the disk.
pub struct AddedDisk {
    id: i32,
    slot: Option<Box<Slot>>,
}

// SAFETY: the slot's raw handle points at the slot itself and its disk is
// Send + Sync; nothing in it is tied to the thread that added the disk.
unsafe impl Send for AddedDisk {}
// SAFETY: shared access only reads the id and the read-only flag.
unsafe impl Sync for AddedDisk {}

/// Shows `disk` to the kernel as a block device; returns once Linux has
/// read its partition table.
pub fn add_disk(disk: Arc<dyn Disk>) -> Result<AddedDisk, Errno> {
    let mut slot = Box::new(Slot {
        c: ffi::Disk {
            handle: core::ptr::null_mut(),
            capacity: disk.capacity(),
            block_size: disk.block_size(),
            read_only: disk.read_only() as c_int,
            submit,
        },
        disk,
        errors: Arc::new(AtomicU64::new(0)),
    });
    slot.c.handle = (&*slot as *const Slot).cast_mut().cast();
    // SAFETY: the struct and its handle stay alive (boxed, owned by the
    // AddedDisk) until lkl_disk_remove has returned.
    let id = unsafe { ffi::lkl_disk_add(&slot.c) };
    let id = Errno::from_ret(id as i64)? as i32;
    Ok(AddedDisk {
        id,
        slot: Some(slot),
    })
}

impl AddedDisk {
    /// How many of its requests have failed so far (the disk's own
    /// errors: a file system may retry, or say nothing, as at unmount).
    pub fn errors(&self) -> u64 {
        self.error_counter().load(Ordering::Relaxed)
    }

    pub(crate) fn error_counter(&self) -> Arc<AtomicU64> {
        self.slot
            .as_ref()
            .map_or_else(Default::default, |s| s.errors.clone())
    }

    /// The disk's number: its device is `/dev/vd` + `a` + number.
    pub fn id(&self) -> u32 {
        self.id as u32
    }

    /// `/dev/vdX`, or `/dev/vdXN` for partition N.
    pub fn device(&self, partition: Option<u32>) -> String {
        let letter = (b'a' + self.id as u8) as char;
        match partition {
            Some(n) => format!("/dev/vd{letter}{n}"),
            None => format!("/dev/vd{letter}"),
        }
    }

    pub fn read_only(&self) -> bool {
        self.slot.as_ref().is_some_and(|s| s.c.read_only != 0)
    }

    /// Removes the disk from the kernel (file systems on it should be
    /// unmounted first).
    pub fn remove(mut self) -> Result<(), Errno> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<(), Errno> {
        let Some(slot) = self.slot.take() else {
            return Ok(());
        };
        // SAFETY: id is a disk this value added.
        let ret = unsafe { ffi::lkl_disk_remove(self.id) };
        ffi::release_after_removal(slot, ret)
    }
}

impl Drop for AddedDisk {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}
