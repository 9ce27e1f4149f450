//! IRP_MJ_FLUSH_BUFFERS: a file's data (fsync), or everything Linux holds
//! (sync) when the volume itself is open.
use fsd::Completion;

use crate::file;
use crate::irp::Irp;
use crate::volume::MountedVolume;

pub fn flush(vol: &MountedVolume, irp: Irp) -> Completion {
    match file::ccb(irp.file_object()) {
        Ok(ccb) => fsd::flush::flush(&vol.core, ccb),
        Err(_) => {
            lkl::sys::sync();
            Completion::ok(0)
        }
    }
}
