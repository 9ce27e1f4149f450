//! IRP_MJ_READ: a file's data through the cache manager (the full mode's
//! cached files: `cached_io`) or the core, or, on an open of the volume
//! itself, the volume's sectors (DASD) from the device below.
use fsd::{Completion, NtStatus};

use crate::cached_io::{self, Path};
use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, file, mount};

/// ByteOffset's "the file's current position" (FILE_USE_FILE_POINTER_POSITION).
pub const USE_FILE_POINTER: i64 = -2;

/// IRP_MN_MDL and IRP_MN_COMPLETE (wdm.h): a read or write by MDLs over
/// cached pages (the SMB server's), which is not served: the sender falls
/// back to an ordinary request.
pub const IRP_MN_MDL_OR_COMPLETE: u8 = 0x2 | 0x4;

pub fn read(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.minor() & IRP_MN_MDL_OR_COMPLETE != 0 {
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    // SAFETY: the Read view of a READ stack location.
    let (offset, length) = unsafe {
        let p = &irp.stack().Parameters.Read;
        (p.ByteOffset.QuadPart, p.Length as usize)
    };
    let buf = match buffers::data(irp, vol.device, length) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let (Ok(handle), Some(fcb)) = (
        file::handle(irp.file_object()),
        file::fcb(irp.file_object()),
    ) else {
        return read_sectors(vol, offset, buf);
    };
    let path = cached_io::path(irp, fcb);
    let mut held = match path {
        // Without the handle's lock (see fsd::handle).
        Path::Paging => return cached_io::paging(vol, handle, false, offset, buf),
        Path::Cached | Path::Direct => handle.lock(),
    };
    let ccb = &mut *held;
    match path {
        Path::Cached => cached_io::read(vol, irp, ccb, fcb, offset, buf),
        Path::Paging | Path::Direct => {
            if fcb.cached {
                if let Err(e) = cached_io::make_coherent(fcb, false, offset, length) {
                    return e.into();
                }
            }
            let at = (offset != USE_FILE_POINTER).then_some(offset as u64);
            let c = fsd::read::read(&vol.core, ccb, at, buf);
            if !c.status.is_error() {
                file::moved_to(irp.file_object(), ccb.position());
            }
            c
        }
    }
}

/// A read of the volume's own handle: whole sectors from the device the
/// volume is on, as a volume handle reads on Windows.
fn read_sectors(vol: &MountedVolume, offset: i64, buf: &mut [u8]) -> Completion {
    if vol.is_dismounted() {
        return NtStatus::VOLUME_DISMOUNTED.into();
    }
    if vol.identity.is_none() {
        // A partition Linux found: where it starts is Linux's to know,
        // so its sectors are not offered (rather than the disk's).
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    // SAFETY: the volume device, alive while its request is served.
    let sector = u64::from(unsafe { (*vol.device).SectorSize }.max(512));
    let aligned = offset >= 0 && offset as u64 % sector == 0 && buf.len() as u64 % sector == 0;
    if !aligned {
        return NtStatus::INVALID_PARAMETER.into();
    }
    let size = match mount::device_size(vol.target) {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let offset = offset as u64;
    if offset >= size {
        return NtStatus::END_OF_FILE.into();
    }
    let n = (buf.len() as u64).min(size - offset) as usize;
    match mount::read_device(vol.target, offset, &mut buf[..n]) {
        Ok(()) => Completion::ok(n as u64),
        Err(e) => e.into(),
    }
}
