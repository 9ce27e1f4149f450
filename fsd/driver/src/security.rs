//! IRP_MJ_QUERY_SECURITY and IRP_MJ_SET_SECURITY: security descriptors
//! made from and applied to Linux's owner, group and mode by the core.
//! Both buffers are the caller's own (neither I/O): kernel-mode senders'
//! are used as they are; user-mode ones wait for probing under SEH and are
//! refused until then.
use fsd::{Completion, NtStatus};

use crate::file;
use crate::irp::Irp;
use crate::volume::MountedVolume;

pub fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the QuerySecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.QuerySecurity };
    let ccb = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let raw = irp.raw();
    if irp.from_user() && raw.MdlAddress.is_null() {
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    let out: &mut [u8] = if p.Length == 0 || raw.UserBuffer.is_null() {
        &mut []
    } else {
        // SAFETY: a kernel-mode sender's buffer of Length bytes.
        unsafe { core::slice::from_raw_parts_mut(raw.UserBuffer.cast::<u8>(), p.Length as usize) }
    };
    fsd::security::query(&vol.core, ccb, p.SecurityInformation, out)
}

/// The size of a self-relative security descriptor: its header and the
/// furthest of its SIDs and ACLs (at most `limit`). Reads only the header
/// and the size fields it points at.
///
/// # Safety
/// `sd` points at a self-relative descriptor whose offsets lead to
/// readable SIDs and ACLs.
unsafe fn descriptor_length(sd: *const u8, limit: usize) -> Option<usize> {
    // SAFETY: the header's 20 bytes belong to the descriptor.
    let header = unsafe { core::slice::from_raw_parts(sd, 20) };
    let offset_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap()) as usize;
    let mut end = 20;
    for (field, is_acl) in [(4, false), (8, false), (12, true), (16, true)] {
        let offset = offset_at(field);
        if offset == 0 {
            continue;
        }
        if offset >= limit {
            return None;
        }
        // SAFETY: the caller's promise: the offset leads into the
        // descriptor; a SID's count of sub-authorities is its second byte,
        // an ACL's size its third and fourth.
        let size = unsafe {
            if is_acl {
                u16::from_le_bytes([*sd.add(offset + 2), *sd.add(offset + 3)]) as usize
            } else {
                8 + 4 * *sd.add(offset + 1) as usize
            }
        };
        end = end.max(offset + size);
    }
    (end <= limit).then_some(end)
}

pub fn set(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the SetSecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.SetSecurity };
    let ccb = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    if irp.from_user() || p.SecurityDescriptor.is_null() {
        return NtStatus::INVALID_DEVICE_REQUEST.into();
    }
    // A kernel-mode sender's descriptor; 64 KiB bounds what is read of it.
    let sd = p.SecurityDescriptor as *const u8;
    // SAFETY: a kernel-mode sender's self-relative descriptor.
    let Some(len) = (unsafe { descriptor_length(sd, 64 << 10) }) else {
        return NtStatus::INVALID_PARAMETER.into();
    };
    // SAFETY: len bytes of it, as just measured.
    let sd = unsafe { core::slice::from_raw_parts(sd, len) };
    fsd::security::set(&vol.core, ccb, p.SecurityInformation, sd)
}
