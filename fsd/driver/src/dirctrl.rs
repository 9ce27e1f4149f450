//! IRP_MJ_DIRECTORY_CONTROL: directory queries. Change notification
//! (IRP_MN_NOTIFY_CHANGE_DIRECTORY) is not served yet: it fails with
//! STATUS_INVALID_DEVICE_REQUEST rather than pretending to watch.
use fsd::dirctrl::{self, QueryDirectory};
use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, file};

pub fn directory_control(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.minor() as u32 != nt::IRP_MN_QUERY_DIRECTORY {
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    let stack = irp.stack();
    let flags = stack.Flags as u32;
    // SAFETY: the QueryDirectory view of a QUERY_DIRECTORY stack location.
    let p = unsafe { stack.Parameters.QueryDirectory };
    let ccb = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    // SAFETY: the pattern's UNICODE_STRING is the sender's, valid now.
    let pattern = unsafe { p.FileName.as_ref() }
        .filter(|s| !s.Buffer.is_null())
        // SAFETY: Length bytes of UTF-16 at Buffer.
        .map(|s| unsafe { core::slice::from_raw_parts(s.Buffer, s.Length as usize / 2) });
    let out = match buffers::data(irp, vol.device, p.Length as usize) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    dirctrl::query_directory(
        &vol.core,
        ccb,
        &QueryDirectory {
            class: p.FileInformationClass as u32,
            pattern,
            restart_scan: flags & nt::SL_RESTART_SCAN != 0,
            return_single_entry: flags & nt::SL_RETURN_SINGLE_ENTRY != 0,
            index: (flags & nt::SL_INDEX_SPECIFIED != 0).then_some(p.FileIndex),
        },
        out,
    )
}
