//! IRP_MJ_FLUSH_BUFFERS: a file's data (the oplocks others hold broken as
//! a flush needs, what the cache holds written out, then fsync), or
//! everything Linux holds (sync) when the volume itself is open.
use fsd::Completion;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{cached_io, file};

pub fn flush(vol: &MountedVolume, irp: Irp) -> Completion {
    match file::ccb(irp.file_object()) {
        Ok(held) => {
            let ccb = &*held;
            if let Some(fcb) = file::fcb(irp.file_object()) {
                let flushed =
                    cached_io::oplock_check(fcb, irp).and_then(|()| cached_io::flush(fcb));
                if let Err(e) = flushed {
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
