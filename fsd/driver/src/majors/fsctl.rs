//! IRP_MJ_FILE_SYSTEM_CONTROL on a volume: verify, lock, unlock, dismount,
//! "is mounted", reparse points, sparse files; the user-requested FSCTLs arrive as
//! IRP_MN_USER_FS_REQUEST (under Wine as DEVICE_CONTROL, routed here too).
use fsd::fsctl::{
    FSCTL_DELETE_REPARSE_POINT, FSCTL_DISMOUNT_VOLUME, FSCTL_GET_REPARSE_POINT, FSCTL_LOCK_VOLUME,
    FSCTL_SET_REPARSE_POINT, FSCTL_SET_SPARSE, FSCTL_UNLOCK_VOLUME,
};
use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, file, volume_lock};

const FSCTL_IS_VOLUME_MOUNTED: u32 = 0x0009_0028;

/// The code and buffer lengths of an FSCTL (or an IOCTL standing for one).
fn request(irp: Irp) -> (u32, usize, usize) {
    let stack = irp.stack();
    // SAFETY: FileSystemControl and DeviceIoControl share their layout:
    // OutputBufferLength, InputBufferLength, code, Type3InputBuffer.
    let p = unsafe { stack.Parameters.DeviceIoControl };
    (
        p.IoControlCode,
        p.InputBufferLength as usize,
        p.OutputBufferLength as usize,
    )
}

pub fn fsctl(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.major() as u32 == nt::IRP_MJ_FILE_SYSTEM_CONTROL
        && irp.minor() as u32 == nt::IRP_MN_VERIFY_VOLUME
    {
        return crate::mount::verify(vol);
    }
    let user_request = irp.major() as u32 == nt::IRP_MJ_DEVICE_CONTROL
        || irp.minor() as u32 == nt::IRP_MN_USER_FS_REQUEST;
    if !user_request {
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    let (code, input_len, output_len) = request(irp);
    let volume_only = matches!(
        code,
        FSCTL_LOCK_VOLUME | FSCTL_UNLOCK_VOLUME | FSCTL_DISMOUNT_VOLUME
    );
    if volume_only && !file::is_volume_open(irp.file_object()) {
        // A file's handle never locks or dismounts its volume.
        return NtStatus::INVALID_PARAMETER.into();
    }
    match code {
        FSCTL_LOCK_VOLUME => volume_lock::lock(vol, irp.file_object()),
        FSCTL_UNLOCK_VOLUME => volume_lock::unlock(vol, irp.file_object()),
        FSCTL_IS_VOLUME_MOUNTED => {
            if vol.is_dismounted() {
                NtStatus::VOLUME_DISMOUNTED.into()
            } else {
                Completion::ok(0)
            }
        }
        FSCTL_DISMOUNT_VOLUME => volume_lock::dismount(vol, irp.file_object()),
        FSCTL_GET_REPARSE_POINT => {
            let mut held = match file::ccb(irp.file_object()) {
                Ok(c) => c,
                Err(e) => return e.into(),
            };
            let ccb = &mut *held;
            match buffers::system(irp, output_len) {
                Ok(out) => fsd::fsctl::get_reparse_point(&vol.core, ccb, out),
                Err(e) => e.into(),
            }
        }
        FSCTL_SET_REPARSE_POINT | FSCTL_DELETE_REPARSE_POINT => {
            let mut held = match file::ccb(irp.file_object()) {
                Ok(c) => c,
                Err(e) => return e.into(),
            };
            let ccb = &mut *held;
            if code == FSCTL_DELETE_REPARSE_POINT {
                return fsd::fsctl::delete_reparse_point(&vol.core, ccb);
            }
            match buffers::system(irp, input_len) {
                Ok(input) => fsd::fsctl::set_reparse_point(&vol.core, ccb, input),
                Err(e) => e.into(),
            }
        }
        FSCTL_SET_SPARSE => {
            let mut held = match file::ccb(irp.file_object()) {
                Ok(c) => c,
                Err(e) => return e.into(),
            };
            let ccb = &mut *held;
            match buffers::system(irp, input_len) {
                Ok(input) => fsd::fsctl::set_sparse(&vol.core, ccb, input),
                Err(e) => e.into(),
            }
        }
        _ => NtStatus::INVALID_DEVICE_REQUEST.into(),
    }
}
