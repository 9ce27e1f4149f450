//! IRP_MJ_QUERY_INFORMATION and IRP_MJ_SET_INFORMATION (buffered).
use fsd::fileinfo::{self, SetRequest};
use fsd::{Completion, NtStatus};

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, cached_io, file};

pub fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the QueryFile view of a QUERY_INFORMATION stack location.
    let p = unsafe { irp.stack().Parameters.QueryFile };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
    match buffers::system(irp, p.Length as usize) {
        Ok(out) => fileinfo::query(&vol.core, ccb, p.FileInformationClass as u32, out),
        Err(e) => e.into(),
    }
}

pub fn set(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the SetFile view of a SET_INFORMATION stack location.
    let p = unsafe { irp.stack().Parameters.SetFile };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
    let input = match buffers::system(irp, p.Length as usize) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let req = match SetRequest::decode(p.FileInformationClass as u32, input) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    // SAFETY: the flags of the SetFile view (a BOOLEAN in the union).
    let advance_only = unsafe { p.__bindgen_anon_1.__bindgen_anon_1.AdvanceOnly } != 0;
    if advance_only && matches!(req, SetRequest::EndOfFile(_)) {
        // The lazy writer's CcSetValidData: the valid data length moves
        // up to what it wrote. Linux keeps none (every byte up to the
        // size is valid), so nothing changes: never a resize (FastFat's
        // FatSetEndOfFileInfo does the same for a new VDL).
        return Completion::ok(0);
    }
    // A cached file's size changes through the cache (and may not cut a
    // mapped section short).
    if let (SetRequest::EndOfFile(_) | SetRequest::Allocation(_), Some(fcb)) =
        (&req, file::fcb(irp.file_object()).filter(|f| f.cached))
    {
        return cached_io::set_size(vol, irp, ccb, fcb, &req);
    }
    // A rename or link with a target file object: the directory the I/O
    // manager opened with SL_OPEN_TARGET_DIRECTORY, whose name is now the
    // target's last component (see create), as FastFat's FatSetRenameInfo
    // takes it. Without one, the buffer's name (a bare name renames in
    // place).
    let target = p.FileObject;
    if !target.is_null() && target == irp.file_object() {
        return NtStatus::INVALID_PARAMETER.into();
    }
    let root_held = if target.is_null() {
        None
    } else {
        match file::ccb(target) {
            Ok(held) => Some(held),
            Err(e) => return e.into(),
        }
    };
    let req = match req {
        SetRequest::Rename {
            flags,
            root_directory,
            ..
        } if !target.is_null() => SetRequest::Rename {
            flags,
            root_directory,
            name: file::name(target).to_vec(),
        },
        SetRequest::Link {
            flags,
            root_directory,
            ..
        } if !target.is_null() => SetRequest::Link {
            flags,
            root_directory,
            name: file::name(target).to_vec(),
        },
        req => req,
    };
    fileinfo::set(&vol.core, ccb, &req, root_held.as_deref())
}
