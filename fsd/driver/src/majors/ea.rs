//! IRP_MJ_QUERY_EA and IRP_MJ_SET_EA: extended attributes through the
//! core (Linux's `user.` xattrs). The data buffers are MDLs (direct I/O);
//! a user-mode caller's list of names to query is its own pointer, copied
//! in the caller's process.
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
    // SAFETY: the QueryEa view of a QUERY_EA stack location.
    let p = unsafe { irp.stack().Parameters.QueryEa };
    // The list of EAs asked for: a user-mode caller's is copied in under
    // SEH (here when the request is served in place in the caller's
    // process; see `query_for_user` otherwise).
    let copied;
    let list = if p.EaList.is_null() {
        None
    } else if irp.from_user() {
        copied = match user_list(irp) {
            Ok(bytes) => bytes,
            Err(e) => return e.into(),
        };
        copied.as_deref()
    } else if p.EaListLength as usize > EA_LIST_ROOM {
        return NtStatus::INVALID_PARAMETER.into();
    } else {
        // SAFETY: a kernel-mode sender's list of EaListLength bytes.
        Some(unsafe { core::slice::from_raw_parts(p.EaList as *const u8, p.EaListLength as usize) })
    };
    query_with(vol, irp, list)
}

/// A user-mode caller's QUERY_EA on the dispatch thread (not a
/// worker's): its list of names copied in here, in the caller's process,
/// the query run on a worker and waited for (the output is an MDL's,
/// reachable from any thread). What dispatch returns.
pub fn query_for_user(vol: &MountedVolume, irp: Irp) -> i32 {
    let list = match user_list(irp) {
        Ok(list) => list,
        Err(e) => return irp.complete_status(e),
    };
    let vol_at = vol as *const MountedVolume as usize;
    let c = lkl_ntk::workers::run(move || {
        // SAFETY: the volume lives until unload.
        let vol = unsafe { &*(vol_at as *const MountedVolume) };
        query_with(vol, irp, list.as_deref())
    })
    .unwrap_or_else(|| NtStatus::DRIVER_INTERNAL_ERROR.into());
    irp.complete(c)
}

/// A user-mode caller's list of EA names (capped), copied in under SEH.
fn user_list(irp: Irp) -> Result<Option<alloc::vec::Vec<u8>>, NtStatus> {
    // SAFETY: the QueryEa view of a QUERY_EA stack location.
    let p = unsafe { irp.stack().Parameters.QueryEa };
    if p.EaList.is_null() {
        return Ok(None);
    }
    if p.EaListLength as usize > EA_LIST_ROOM {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    user::copy_in(p.EaList as *const u8, p.EaListLength as usize).map(Some)
}

/// The query itself, the list of names already in hand.
fn query_with(vol: &MountedVolume, irp: Irp, list: Option<&[u8]>) -> Completion {
    let stack = irp.stack();
    let flags = stack.Flags as u32;
    // SAFETY: the QueryEa view of a QUERY_EA stack location.
    let p = unsafe { stack.Parameters.QueryEa };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
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
