//! IRPs that wait: byte-range lock requests until a conflicting lock goes,
//! directory change notifications until something changes. They wait in
//! a cancel-safe queue that keeps the protocol of the I/O manager's IO_CSQ
//! (WDK "Cancel-Safe IRP Queues"; Wine 8 has only stubs of the IoCsq
//! routines, so the queue is ours, the same under Wine and Windows): the
//! IRP's cancel routine slot decides who owns it. Whoever swaps the slot
//! from our routine to null, under the queue's lock, takes the IRP out
//! and completes it; IoCancelIrp swaps it first when it cancels, and then
//! our cancel routine alone takes it out. Nothing is found by an IRP's
//! address after it may have completed: the queue is searched only under
//! its lock, where every IRP in it is alive, and a lock request is named
//! by a number of its own (its tag), never by its address.
//!
//! What an IRP waits for is kept in its DriverContext[0..2]; its file
//! object is its stack's.
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use fsd::{Completion, NtStatus};
use lkl_ntk::spin_lock::SpinLock;
use lkl_ntk::{nt, workers};

use crate::irp::Irp;
use crate::volume::MountedVolume;

pub const STATUS_CANCELLED: NtStatus = NtStatus(0xC000_0120);
pub const STATUS_NOTIFY_CLEANUP: NtStatus = NtStatus(0x0000_010B);

/// What a pended IRP waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A lock request, named `tag` in the core's waiting list.
    Lock { tag: u64 },
    /// A change notification (what it watches: its handle's watch).
    Notify,
}

/// An IRP taken out of the queue: its taker completes it (or puts it back).
pub struct Pended {
    pub irp: Irp,
    /// The volume (its MountedVolume) it came for.
    volume: usize,
    /// The file object it came on.
    pub file: usize,
    pub wait: Wait,
}

/// Which queued IRPs a removal takes.
enum Filter {
    Lock(u64),
    NotifyOfFile(usize),
    NotifyOfVolume(usize),
    All,
}

/// The queued IRPs, in arrival order.
static QUEUE: SpinLock<Vec<usize>> = SpinLock::new(Vec::new());
/// The next lock request's tag (0 is never one).
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// A tag for a new lock request, unique for the driver's life.
pub fn new_tag() -> u64 {
    NEXT_TAG.fetch_add(1, Ordering::Relaxed)
}

/// The IRP's cancel routine slot (IoSetCancelRoutine is an interlocked
/// exchange of it).
fn cancel_slot(irp: *mut nt::IRP) -> &'static AtomicPtr<c_void> {
    // SAFETY: CancelRoutine is a pointer-sized field of a live IRP that the
    // I/O manager reads and writes atomically.
    unsafe { &*(&raw mut (*irp).CancelRoutine).cast::<AtomicPtr<c_void>>() }
}

fn context(irp: *mut nt::IRP) -> &'static mut [*mut c_void; 4] {
    // SAFETY: the IRP is alive (ours or in the queue); its DriverContext
    // belongs to the driver that holds it.
    unsafe {
        &mut (*irp)
            .Tail
            .Overlay
            .__bindgen_anon_1
            .__bindgen_anon_1
            .DriverContext
    }
}

/// What a queued IRP waits for, read back from its DriverContext.
fn describe(irp: *mut nt::IRP) -> Pended {
    let c = context(irp);
    let irp = Irp(irp);
    let tag = c[1] as u64;
    Pended {
        irp,
        volume: c[0] as usize,
        file: irp.file_object() as usize,
        wait: if tag == 0 {
            Wait::Notify
        } else {
            Wait::Lock { tag }
        },
    }
}

fn matches(irp: usize, filter: &Filter) -> bool {
    let p = describe(irp as *mut nt::IRP);
    match *filter {
        Filter::Lock(tag) => p.wait == Wait::Lock { tag },
        Filter::NotifyOfFile(file) => p.wait == Wait::Notify && p.file == file,
        Filter::NotifyOfVolume(volume) => p.wait == Wait::Notify && p.volume == volume,
        Filter::All => true,
    }
}

/// Queues `irp` (marked pending; the caller returns STATUS_PENDING). If
/// it was cancelled already, it is completed at once as a cancelled one.
pub fn pend(irp: Irp, vol: &MountedVolume, wait: Wait) {
    let c = context(irp.0);
    c[0] = vol as *const MountedVolume as *mut c_void;
    c[1] = match wait {
        Wait::Lock { tag } => tag as *mut c_void,
        Wait::Notify => null_mut(),
    };
    irp.mark_pending();
    let routine = cancel as unsafe extern "C" fn(*mut nt::DEVICE_OBJECT, *mut nt::IRP);
    let slot = cancel_slot(irp.0);
    let ours = {
        let mut queue = QUEUE.lock();
        queue.push(irp.0 as usize);
        slot.store(routine as *mut c_void, Ordering::SeqCst);
        // Cancelled before the routine was set: if the slot still holds
        // it, IoCancelIrp came and went, and the IRP is ours to cancel;
        // if not, IoCancelIrp took it and our routine will run.
        let ours = irp.raw().Cancel != 0 && !slot.swap(null_mut(), Ordering::SeqCst).is_null();
        if ours {
            queue.pop();
        }
        ours
    };
    if ours {
        complete_cancelled(irp.0);
    }
}

/// Completes an IRP taken out of the queue.
pub fn complete(p: Pended, c: Completion) {
    p.irp.complete(c);
}

/// Takes the queued IRPs `filter` selects out of the queue, leaving those
/// being cancelled (their cancel routine takes them).
fn take(filter: Filter) -> Vec<Pended> {
    let mut taken = Vec::new();
    {
        let mut queue = QUEUE.lock();
        queue.retain(|&irp| {
            let ours = matches(irp, &filter)
                && !cancel_slot(irp as *mut nt::IRP)
                    .swap(null_mut(), Ordering::SeqCst)
                    .is_null();
            if ours {
                taken.push(irp);
            }
            !ours
        });
    }
    taken
        .into_iter()
        .map(|i| describe(i as *mut nt::IRP))
        .collect()
}

/// The pended lock requests named by `tags`, which the core granted (or
/// cancelled): they complete with `status`.
pub fn grant_locks(tags: &[u64], status: NtStatus) {
    for &tag in tags {
        for p in take(Filter::Lock(tag)) {
            complete(p, status.into());
        }
    }
}

/// Everything pended on a file object whose handle went (cleanup):
/// notifications end with STATUS_NOTIFY_CLEANUP.
pub fn cleanup(file: *mut nt::FILE_OBJECT) {
    for p in take(Filter::NotifyOfFile(file as usize)) {
        complete(p, STATUS_NOTIFY_CLEANUP.into());
    }
}

/// The pended notifications of `vol`, taken out of the queue.
pub fn notifications_of(vol: &MountedVolume) -> Vec<Pended> {
    take(Filter::NotifyOfVolume(vol as *const MountedVolume as usize))
}

/// Queues taken notifications again (those nothing matched).
pub fn put_back(entries: Vec<Pended>) {
    for p in entries {
        // SAFETY: volumes live until unload, after every request.
        let vol = unsafe { &*(p.volume as *const MountedVolume) };
        pend(p.irp, vol, p.wait);
    }
}

/// Unload: whatever still waits is cancelled, and the queue's memory goes.
pub fn cancel_all() {
    for p in take(Filter::All) {
        complete(p, STATUS_CANCELLED.into());
    }
    let queue = core::mem::take(&mut *QUEUE.lock());
    drop(queue);
}

/// The cancel routine, called by IoCancelIrp once it has swapped the slot
/// to null (so the IRP is ours and alive), with the cancel spin lock held:
/// lets that go, takes the IRP out of the queue, and cancels it.
unsafe extern "C" fn cancel(_device: *mut nt::DEVICE_OBJECT, irp: *mut nt::IRP) {
    // SAFETY: called with the cancel spin lock held, at the IRQL saved in
    // the IRP; released first, as the routine must.
    unsafe { nt::IoReleaseCancelSpinLock((*irp).CancelIrql) };
    QUEUE.lock().retain(|&i| i != irp as usize);
    complete_cancelled(irp);
}

/// A queued IRP was cancelled and taken out (at up to DISPATCH_LEVEL,
/// outside the queue's lock). A notification completes at once; a lock
/// request is first taken out of the core's waiting list on a worker: if
/// the core granted it meanwhile, the lock is held and the request
/// succeeded.
fn complete_cancelled(irp: *mut nt::IRP) {
    let p = describe(irp);
    let Wait::Lock { tag } = p.wait else {
        complete(p, STATUS_CANCELLED.into());
        return;
    };
    let volume = p.volume;
    let irp = p.irp;
    workers::post(workers::Job {
        work: Box::new(move || {
            // SAFETY: volumes live until unload, after every request.
            let vol = unsafe { &*(volume as *const MountedVolume) };
            let status = if fsd::lockctl::cancel_waiting(&vol.core, tag) {
                STATUS_CANCELLED
            } else {
                NtStatus::SUCCESS
            };
            irp.complete_status(status);
        }),
        if_dead: Box::new(move || {
            irp.complete_status(STATUS_CANCELLED);
        }),
    });
}
