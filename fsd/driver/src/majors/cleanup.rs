//! IRP_MJ_CLEANUP: the last handle of a file object went (share access,
//! byte-range locks, delete-on-close); its pended lock requests are
//! cancelled, others' that its locks held back are granted, its pended
//! notifications end, and its cache map goes (the full mode).
use fsd::{Completion, NtStatus};

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{cached_io, file, pending};

/// FO_CLEANUP_COMPLETE (wdm.h): the file system has cleaned the file
/// object up; see `dispatch::refused_after_cleanup`.
pub const FO_CLEANUP_COMPLETE: u32 = 0x0000_4000;

pub fn cleanup(vol: &MountedVolume, irp: Irp) -> Completion {
    let c = clean(vol, irp);
    let file = irp.file_object();
    if !file.is_null() {
        // SAFETY: the file object of this CLEANUP, ours to mark (FastFat's
        // FatCommonCleanup sets the flag the same way).
        unsafe { (*file).Flags |= FO_CLEANUP_COMPLETE };
    }
    c
}

fn clean(vol: &MountedVolume, irp: Irp) -> Completion {
    pending::cleanup(irp.file_object());
    crate::watches::forget(irp.file_object() as usize);
    match file::ccb(irp.file_object()) {
        Ok(mut held) => {
            let ccb = &mut *held;
            if let Some(fcb) = file::fcb(irp.file_object()).filter(|f| f.cached) {
                let deleted = vol.core.handles_of(ccb.file_id()) <= 1 && delete_pending(vol, ccb);
                cached_io::cleanup(irp.file_object(), fcb, deleted);
            }
            let (c, cleaned) = fsd::cleanup::cleanup(&vol.core, ccb);
            pending::grant_locks(&cleaned.granted, NtStatus::SUCCESS);
            pending::grant_locks(&cleaned.cancelled, pending::STATUS_CANCELLED);
            c
        }
        Err(_) => {
            // A volume handle: a lock it holds goes with it.
            let _ = crate::volume_lock::release(vol, irp.file_object());
            Completion::ok(0)
        }
    }
}

/// Whether the file goes with this cleanup (its cache is then dropped
/// rather than written back): DeletePending.
fn delete_pending(vol: &MountedVolume, ccb: &fsd::Ccb) -> bool {
    file::standard_information(vol, ccb).is_some_and(|s| s[20] != 0)
}
