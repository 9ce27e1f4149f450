//! IRP_MJ_QUERY_EA and IRP_MJ_SET_EA: extended attributes through the
//! core (Linux's `user.` xattrs).
use fsd::ea::{self, QueryEa};
use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{buffers, file, user};

/// The longest list of EA names a query may give: every name of a
/// file's EAs (64 KiB in all, as on NTFS) with their headers.
const EA_LIST_ROOM: usize = 128 << 10;

pub fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    let stack = irp.stack();
    let flags = stack.Flags as u32;
    // SAFETY: the QueryEa view of a QUERY_EA stack location.
    let p = unsafe { stack.Parameters.QueryEa };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
    // The list of EAs asked for: a user-mode caller's is copied in under SEH.
    let copied;
    let list = if p.EaList.is_null() {
        None
    } else if p.EaListLength as usize > EA_LIST_ROOM {
        return NtStatus::INVALID_PARAMETER.into();
    } else if irp.from_user() {
        copied = match user::copy_in(p.EaList as *const u8, p.EaListLength as usize) {
            Ok(bytes) => bytes,
            Err(e) => return e.into(),
        };
        Some(&copied[..])
    } else {
        // SAFETY: a kernel-mode sender's list of EaListLength bytes.
        Some(unsafe { core::slice::from_raw_parts(p.EaList as *const u8, p.EaListLength as usize) })
    };
    let out = match buffers::data(irp, vol.device, p.Length as usize) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let req = QueryEa {
        ea_list: list,
        index: (flags & nt::SL_INDEX_SPECIFIED != 0).then_some(p.EaIndex),
        restart_scan: flags & nt::SL_RESTART_SCAN != 0,
        return_single_entry: flags & nt::SL_RETURN_SINGLE_ENTRY != 0,
    };
    ea::query(&vol.core, ccb, &req, out)
}

pub fn set(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the SetEa view of a SET_EA stack location.
    let length = unsafe { irp.stack().Parameters.SetEa.Length } as usize;
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
    match buffers::data(irp, vol.device, length) {
        Ok(input) => ea::set(&vol.core, ccb, input),
        Err(e) => e.into(),
    }
}
