//! IRP_MJ_WRITE on a file (not on an open of the volume itself): through
//! the cache manager (the full mode's cached files: `cached_io`) or the
//! core.
use fsd::write::WriteAt;
use fsd::Completion;

use crate::cached_io::{self, Path};
use crate::irp::Irp;
use crate::read::USE_FILE_POINTER;
use crate::volume::MountedVolume;
use crate::{buffers, file};

/// ByteOffset's "append" (FILE_WRITE_TO_END_OF_FILE).
pub const TO_END_OF_FILE: i64 = -1;

pub fn write(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.minor() & crate::read::IRP_MN_MDL_OR_COMPLETE != 0 {
        return fsd::NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    // SAFETY: the Write view of a WRITE stack location.
    let (offset, length) = unsafe {
        let p = &irp.stack().Parameters.Write;
        (p.ByteOffset.QuadPart, p.Length as usize)
    };
    // Writing the volume's sectors under a mounted file system is refused,
    // as Windows refuses it outside locked or dismounted volumes.
    let handle = match file::handle(irp.file_object()) {
        Ok(h) => h,
        Err(_) => return fsd::NtStatus::ACCESS_DENIED.into(),
    };
    let data = match buffers::data(irp, vol.device, length) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let Some(fcb) = file::fcb(irp.file_object()) else {
        return fsd::NtStatus::INVALID_PARAMETER.into();
    };
    let path = cached_io::path(irp, fcb);
    let mut held = match path {
        // Without the handle's lock (see fsd::handle).
        Path::Paging => return cached_io::paging(vol, handle, true, offset, data),
        Path::Cached | Path::Direct => handle.lock(),
    };
    let ccb = &mut *held;
    match path {
        Path::Cached => return cached_io::write(vol, irp, ccb, fcb, offset, data),
        Path::Direct if fcb.cached => {
            if let Err(e) = cached_io::make_coherent(fcb, true, offset, length) {
                return e.into();
            }
        }
        Path::Paging | Path::Direct => {}
    }
    let at = match offset {
        USE_FILE_POINTER => WriteAt::Current,
        TO_END_OF_FILE => WriteAt::EndOfFile,
        o if o >= 0 => WriteAt::Offset(o as u64),
        _ => return fsd::NtStatus::INVALID_PARAMETER.into(),
    };
    let c = fsd::write::write(&vol.core, ccb, at, data);
    if !c.status.is_error() {
        file::moved_to(irp.file_object(), ccb.position());
    }
    if fcb.cached && !c.status.is_error() {
        // A direct write may have grown the file: the header follows.
        if let Err(e) = cached_io::set_sizes(vol, irp.file_object(), ccb, fcb) {
            return e.into();
        }
    }
    c
}
