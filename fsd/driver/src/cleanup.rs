//! IRP_MJ_CLEANUP: the last handle of a file object went (share access,
//! byte-range locks, delete-on-close); its pended lock requests are
//! cancelled, others' that its locks held back are granted, and its
//! pended notifications end.
use fsd::{Completion, NtStatus};

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{file, pending};

pub fn cleanup(vol: &MountedVolume, irp: Irp) -> Completion {
    pending::cleanup(irp.file_object());
    match file::ccb(irp.file_object()) {
        Ok(ccb) => {
            let (c, cleaned) = fsd::cleanup::cleanup(&vol.core, ccb);
            pending::grant_locks(&cleaned.granted, NtStatus::SUCCESS);
            pending::grant_locks(&cleaned.cancelled, pending::STATUS_CANCELLED);
            c
        }
        Err(_) => Completion::ok(0),
    }
}
