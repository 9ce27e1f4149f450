//! IRP_MJ_CLEANUP: the last handle of a file object went (share access,
//! byte-range locks, delete-on-close).
use fsd::Completion;

use crate::file;
use crate::irp::Irp;
use crate::volume::MountedVolume;

pub fn cleanup(vol: &MountedVolume, irp: Irp) -> Completion {
    match file::ccb(irp.file_object()) {
        Ok(ccb) => fsd::cleanup::cleanup(&vol.core, ccb).0,
        Err(_) => Completion::ok(0),
    }
}
