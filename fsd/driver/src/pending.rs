//! IRPs that wait: byte-range lock requests until a conflicting lock goes,
//! directory change notifications until something changes. Each is marked
//! pending with a cancel routine and kept here. Whoever takes an IRP out
//! of this list completes it: the request that grants or fills it, the
//! cleanup of its handle, or its cancellation. The cancel routine, which
//! runs at DISPATCH_LEVEL with the cancel lock held, only hands the work
//! to a worker.
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};

use fsd::{Completion, NtStatus};
use lkl_ntk::{nt, workers};
use spin::Mutex;

use crate::irp::Irp;
use crate::volume::MountedVolume;

pub const STATUS_CANCELLED: NtStatus = NtStatus(0xC000_0120);
pub const STATUS_NOTIFY_CLEANUP: NtStatus = NtStatus(0x0000_010B);

/// What a pended IRP waits for.
pub enum Wait {
    /// A lock request, named `tag` in the core's waiting list.
    Lock { tag: u64 },
    /// A change notification (what it watches: its handle's watch).
    Notify,
}

pub struct Pended {
    pub irp: Irp,
    /// The volume (its MountedVolume) and the file object it came on.
    volume: usize,
    pub file: usize,
    pub wait: Wait,
}

// SAFETY: the IRP belongs to this list until taken out; the pointers are
// kept as plain numbers, used only by whoever took the entry.
unsafe impl Send for Pended {}

static PENDED: Mutex<Vec<Pended>> = Mutex::new(Vec::new());

fn cancel_slot(irp: Irp) -> &'static AtomicPtr<()> {
    // SAFETY: CancelRoutine is a pointer-sized field the I/O manager reads
    // and writes atomically (IoSetCancelRoutine is an interlocked exchange).
    unsafe { &*(&raw mut (*irp.0).CancelRoutine).cast::<AtomicPtr<()>>() }
}

/// Marks `irp` pending and keeps it; false if it was cancelled already
/// (then the caller completes it with STATUS_CANCELLED).
pub fn pend(irp: Irp, vol: &MountedVolume, wait: Wait) -> bool {
    irp.mark_pending();
    let routine = cancel as unsafe extern "C" fn(*mut nt::DEVICE_OBJECT, *mut nt::IRP);
    let mut list = PENDED.lock();
    list.push(Pended {
        irp,
        volume: vol as *const MountedVolume as usize,
        file: irp.file_object() as usize,
        wait,
    });
    cancel_slot(irp).store(routine as *mut (), Ordering::SeqCst);
    if irp.raw().Cancel != 0
        && !cancel_slot(irp)
            .swap(core::ptr::null_mut(), Ordering::SeqCst)
            .is_null()
    {
        list.pop();
        return false;
    }
    true
}

/// Completes an IRP taken out of the list.
pub fn complete(p: Pended, c: Completion) {
    cancel_slot(p.irp).store(core::ptr::null_mut(), Ordering::SeqCst);
    p.irp.complete(c);
}

/// Takes the entries that `keep` rejects out of the list.
pub fn take(mut keep: impl FnMut(&Pended) -> bool) -> Vec<Pended> {
    let mut list = PENDED.lock();
    let mut taken = Vec::new();
    let mut i = 0;
    while i < list.len() {
        if keep(&list[i]) {
            i += 1;
        } else {
            taken.push(list.swap_remove(i));
        }
    }
    taken
}

/// The pended lock requests named by `tags`, which the core granted.
pub fn grant_locks(tags: &[u64], status: NtStatus) {
    if tags.is_empty() {
        return;
    }
    for p in take(|p| !matches!(p.wait, Wait::Lock { tag } if tags.contains(&tag))) {
        complete(p, status.into());
    }
}

/// Everything pended on a file object whose handle went (cleanup):
/// notifications end with STATUS_NOTIFY_CLEANUP.
pub fn cleanup(file: *mut nt::FILE_OBJECT) {
    for p in take(|p| !(p.file == file as usize && matches!(p.wait, Wait::Notify))) {
        complete(p, STATUS_NOTIFY_CLEANUP.into());
    }
}

/// The pended notifications of `vol`.
pub fn notifications_of(vol: &MountedVolume) -> Vec<Pended> {
    let at = vol as *const MountedVolume as usize;
    take(|p| !(p.volume == at && matches!(p.wait, Wait::Notify)))
}

/// Puts entries back (notifications nothing matched).
pub fn put_back(entries: Vec<Pended>) {
    PENDED.lock().extend(entries);
}

/// The cancel routine: lets the cancel lock go and hands the rest to a
/// worker (the core's state is not to be touched at DISPATCH_LEVEL).
unsafe extern "C" fn cancel(_device: *mut nt::DEVICE_OBJECT, irp: *mut nt::IRP) {
    // SAFETY: called with the cancel spin lock held, at the IRQL saved in
    // the IRP; released first, as the routine must.
    unsafe { nt::IoReleaseCancelSpinLock((*irp).CancelIrql) };
    let key = irp as usize;
    let job = move || {
        let taken = take(|p| p.irp.0 as usize != key);
        for p in taken {
            if let Wait::Lock { tag } = p.wait {
                // SAFETY: volumes live until unload, after every request.
                let vol = unsafe { &*(p.volume as *const MountedVolume) };
                if !fsd::lockctl::cancel_waiting(&vol.core, tag) {
                    // Granted meanwhile: the grant completes it.
                    put_back(alloc::vec![p]);
                    continue;
                }
            }
            complete(p, STATUS_CANCELLED.into());
        }
    };
    workers::post(workers::Job {
        work: Box::new(job),
        if_dead: Box::new(move || {
            for p in take(|p| p.irp.0 as usize != key) {
                complete(p, STATUS_CANCELLED.into());
            }
        }),
    });
}

/// Unload: whatever still waits is cancelled, and the list's memory goes.
pub fn cancel_all() {
    for p in core::mem::take(&mut *PENDED.lock()) {
        complete(p, STATUS_CANCELLED.into());
    }
}
