//! IRP_MJ_READ on a file.
use fsd::Completion;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, file};

/// ByteOffset's "the file's current position" (FILE_USE_FILE_POINTER_POSITION).
pub const USE_FILE_POINTER: i64 = -2;

pub fn read(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the Read view of a READ stack location.
    let (offset, length) = unsafe {
        let p = &irp.stack().Parameters.Read;
        (p.ByteOffset.QuadPart, p.Length as usize)
    };
    let ccb = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let buf = match buffers::data(irp, vol.device, length) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let at = (offset != USE_FILE_POINTER).then_some(offset as u64);
    fsd::read::read(&vol.core, ccb, at, buf)
}
