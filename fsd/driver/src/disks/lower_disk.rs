//! The native disk stub: a Linux disk whose requests become IRPs
//! (IRP_MJ_READ/WRITE/FLUSH_BUFFERS) to the device a volume is mounted on.
//! Each buffer of a request goes down as its own IRP with an MDL for it
//! (Linux's memory is non-paged pool); the completion routine of the last
//! one completes the request, which raises the disk's LKL IRQ: legal at
//! DISPATCH_LEVEL, since that only queues the event and releases a
//! semaphore. Linux keeps as many requests in flight as its queue depth.
//!
//! A device whose media may have changed (a card reader, a removable
//! disk) answers STATUS_VERIFY_REQUIRED until the file system has checked
//! it (FastFat `verfysup.c` FatPerformVerify): the request is then held,
//! a worker verifies the volume (the same file system still there clears
//! the device's DO_VERIFY_VOLUME) and sends the request again, once; a
//! volume that is not there any more fails it.
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use lkl::{DiskOp, Errno, Request};
use lkl_ntk::nt;
use spin::Mutex;

/// The device below, as Linux sees it.
pub struct LowerDisk {
    device: *mut nt::DEVICE_OBJECT,
    capacity: u64,
    read_only: bool,
    /// The device's bytes per sector: Linux's logical block size.
    sector: u32,
    /// What WRITE_ZEROES requests write from.
    zeroes: Vec<u8>,
}

// SAFETY: a device object may be sent IRPs from any thread.
unsafe impl Send for LowerDisk {}
// SAFETY: as above; the zero buffer is only read.
unsafe impl Sync for LowerDisk {}

const ZERO_CHUNK: usize = 256 << 10;

impl LowerDisk {
    pub fn new(
        device: *mut nt::DEVICE_OBJECT,
        capacity: u64,
        read_only: bool,
        sector: u32,
    ) -> LowerDisk {
        LowerDisk {
            device,
            capacity,
            read_only,
            sector,
            zeroes: vec![0; ZERO_CHUNK],
        }
    }
}

/// One request's IRPs in flight.
struct Batch {
    request: Mutex<Option<Request>>,
    remaining: AtomicUsize,
    failed: AtomicBool,
    /// An IRP came back with STATUS_VERIFY_REQUIRED.
    verify: AtomicBool,
    /// The disk, to send the request again after a verify (None: sent
    /// again already).
    retry: Option<&'static LowerDisk>,
}

/// STATUS_VERIFY_REQUIRED (ntstatus.h).
const STATUS_VERIFY_REQUIRED: i32 = 0x8000_0016_u32 as i32;

impl Batch {
    fn one_done(this: *const Batch, ok: bool, verify: bool) {
        // SAFETY: the batch lives until its last IRP is done (below).
        let batch = unsafe { &*this };
        if !ok {
            batch.failed.store(true, Ordering::Relaxed);
        }
        if verify {
            batch.verify.store(true, Ordering::Relaxed);
        }
        if batch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the last IRP: nobody else holds the batch.
            let batch = unsafe { Box::from_raw(this.cast_mut()) };
            let failed = batch.failed.load(Ordering::Relaxed);
            let Some(request) = batch.request.lock().take() else {
                return;
            };
            match batch.retry {
                Some(disk) if failed && batch.verify.load(Ordering::Relaxed) => {
                    verify_then_retry(disk, request)
                }
                _ => request.complete(if failed { Err(Errno::EIO) } else { Ok(()) }),
            }
        }
    }
}

/// After STATUS_VERIFY_REQUIRED (at up to DISPATCH_LEVEL): a worker checks
/// the volume on the device and, if it is still there, sends the request
/// again; else the request fails.
fn verify_then_retry(disk: &'static LowerDisk, request: Request) {
    let device = disk.device as usize;
    let request = Mutex::new(Some(request));
    lkl_ntk::workers::post(lkl_ntk::workers::Job {
        work: Box::new(move || {
            let Some(request) = request.lock().take() else {
                return;
            };
            if crate::volume::verify_on(device as *mut nt::DEVICE_OBJECT) {
                disk.send_request(request, false);
            } else {
                request.complete(Err(Errno::EIO));
            }
        }),
        if_dead: Box::new(|| {}),
    });
}

unsafe extern "C" fn irp_done(
    _device: *mut nt::DEVICE_OBJECT,
    irp: *mut nt::IRP,
    context: *mut c_void,
) -> nt::NTSTATUS {
    // SAFETY: our own IRP, completed: its status is final, its MDL ours.
    // A transfer is done only if all its bytes were: a short one (an image
    // that shrank, a device that stopped early) is an error, never data.
    let (ok, verify) = unsafe {
        let mdl = (*irp).MdlAddress;
        let whole = mdl.is_null() || (*irp).IoStatus.Information == (*mdl).ByteCount as u64;
        let status = (*irp).IoStatus.__bindgen_anon_1.Status;
        let ok = status >= 0 && whole;
        crate::send::free_irp(irp);
        (ok, status == STATUS_VERIFY_REQUIRED)
    };
    Batch::one_done(context as *const Batch, ok, verify);
    nt::STATUS_MORE_PROCESSING_REQUIRED
}

impl LowerDisk {
    /// Sends one IRP for `len` bytes at `buf` (null for a flush).
    fn send(
        &self,
        major: u32,
        buf: *mut u8,
        len: usize,
        offset: u64,
        fua: bool,
        batch: *const Batch,
    ) {
        // SAFETY: the device is live while mounted; the IRP, its stack
        // location and its MDL are ours until irp_done frees them, and the
        // batch lives until its last IRP is done.
        unsafe {
            let irp = crate::send::build(
                self.device,
                major,
                0,
                null_mut(),
                |next, _| {
                    if major != nt::IRP_MJ_FLUSH_BUFFERS {
                        next.Parameters.Read.Length = len as u32;
                        next.Parameters.Read.ByteOffset.QuadPart = offset as i64;
                    }
                    if fua {
                        next.Flags |= nt::SL_WRITE_THROUGH as u8;
                    }
                },
                Some(irp_done),
                batch.cast_mut().cast(),
            );
            if irp.is_null() {
                return Batch::one_done(batch, false, false);
            }
            if !buf.is_null() && !crate::send::attach_mdl(&mut *irp, buf, len) {
                nt::IoFreeIrp(irp);
                return Batch::one_done(batch, false, false);
            }
            nt::IofCallDriver(self.device, irp);
        }
    }
}

impl lkl::Disk for LowerDisk {
    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn block_size(&self) -> u32 {
        self.sector
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn submit(&self, request: Request) {
        self.send_request(request, true);
    }
}

impl LowerDisk {
    /// Sends `request` down as IRPs; `first`: it may be sent again once,
    /// after a verify.
    fn send_request(&self, mut request: Request, first: bool) {
        let offset = request.offset();
        let fua = request.fua();
        // Buffers, or none for a flush; a discard needs nothing done.
        let mut pieces: Vec<(*mut u8, usize, u64)> = Vec::new();
        let major = match request.op() {
            DiskOp::Discard => return request.complete(Ok(())),
            DiskOp::Flush => {
                pieces.push((null_mut(), 0, 0));
                nt::IRP_MJ_FLUSH_BUFFERS
            }
            DiskOp::Read | DiskOp::Write => {
                let mut at = offset;
                for seg in request.segments() {
                    pieces.push((seg.as_mut_ptr(), seg.len(), at));
                    at += seg.len() as u64;
                }
                if request.op() == DiskOp::Read {
                    nt::IRP_MJ_READ
                } else {
                    nt::IRP_MJ_WRITE
                }
            }
            DiskOp::WriteZeroes => {
                let (mut at, end) = (offset, offset + request.len());
                while at < end {
                    let n = ((end - at) as usize).min(ZERO_CHUNK);
                    pieces.push((self.zeroes.as_ptr().cast_mut(), n, at));
                    at += n as u64;
                }
                nt::IRP_MJ_WRITE
            }
        };
        if pieces.is_empty() {
            return request.complete(Ok(()));
        }
        // SAFETY: the disk outlives its requests (Linux removes it only
        // once none is in flight).
        let this: &'static LowerDisk = unsafe { &*(self as *const LowerDisk) };
        let batch = Box::into_raw(Box::new(Batch {
            request: Mutex::new(Some(request)),
            remaining: AtomicUsize::new(pieces.len()),
            failed: AtomicBool::new(false),
            verify: AtomicBool::new(false),
            retry: first.then_some(this),
        }));
        for (buf, len, at) in pieces {
            self.send(major, buf, len, at, fua, batch);
        }
    }
}
