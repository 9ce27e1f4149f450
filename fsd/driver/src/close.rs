//! IRP_MJ_CLOSE: the last reference to a file object went; its open ends.
use fsd::Completion;

use crate::file;
use crate::irp::Irp;
use crate::volume::MountedVolume;

pub fn close(vol: &MountedVolume, irp: Irp) -> Completion {
    match file::detach(irp.file_object()) {
        Some(open) => {
            let c = open.map_or(Completion::ok(0), |ccb| fsd::close::close(&vol.core, ccb));
            vol.closed();
            c
        }
        None => Completion::ok(0),
    }
}
