//! IRP_MJ_FLUSH_BUFFERS: the file's data and metadata made durable.
use lkl::sys;

use crate::ccb::Ccb;
use crate::linux::nt;
use crate::status::Completion;
use crate::volume::Volume;

pub fn flush(vol: &Volume, ccb: &Ccb) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    match nt(sys::fsync(ccb.fd)) {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}
