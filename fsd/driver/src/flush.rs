//! IRP_MJ_FLUSH_BUFFERS: a file's data (what the cache holds written out
//! first, then fsync), or everything Linux holds (sync) when the volume
//! itself is open.
use fsd::Completion;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{cached_io, file};

pub fn flush(vol: &MountedVolume, irp: Irp) -> Completion {
    match file::ccb(irp.file_object()) {
        Ok(held) => {
            let ccb = &*held;
            if let Some(fcb) = file::fcb(irp.file_object()) {
                if let Err(e) = cached_io::flush(fcb) {
                    return e.into();
                }
            }
            fsd::flush::flush(&vol.core, ccb)
        }
        Err(_) => {
            lkl::sys::sync();
            Completion::ok(0)
        }
    }
}
