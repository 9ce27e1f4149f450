//! IRP_MJ_QUERY_SECURITY and IRP_MJ_SET_SECURITY: security descriptors
//! made from and applied to Linux's owner, group and mode by the core.
//! Both buffers are the caller's own (neither I/O): a kernel-mode
//! sender's are used as they are; a user-mode caller's are copied in and
//! out under SEH (see `user`) on the dispatch thread, in the caller's
//! process (`for_user`: a worker runs in the System process, where the
//! caller's addresses mean nothing), the core's part waited for on a
//! worker, as FastFat's FatPrePostIrp captures user buffers before it
//! posts.
use alloc::vec::Vec;

use fsd::{Completion, NtStatus};

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{file, user};

/// The most a security descriptor's copy takes here: two ACLs (at most
/// 64 KiB each, their size being 16 bits) and two SIDs.
const DESCRIPTOR_ROOM: usize = 2 * (64 << 10) + 2 * 68 + 20;

/// A user-mode caller's QUERY_SECURITY or SET_SECURITY, served on the
/// dispatch thread (not a worker's): the descriptor copied in or out
/// here, the core's part run on a worker and waited for. What dispatch
/// returns.
pub fn for_user(vol: &MountedVolume, irp: Irp) -> i32 {
    let c = if irp.major() as u32 == lkl_ntk::nt::IRP_MJ_QUERY_SECURITY {
        query_for_user(vol, irp)
    } else {
        set_for_user(vol, irp)
    };
    irp.complete(c)
}

/// The core's part of a request on `file`, on a worker, waited for (run
/// in place when this already is one).
fn on_worker(
    vol: &MountedVolume,
    file: *mut lkl_ntk::nt::FILE_OBJECT,
    f: impl FnOnce(&fsd::Volume, &mut fsd::Ccb) -> Completion + Send,
) -> Completion {
    let (vol, file) = (vol as *const MountedVolume as usize, file as usize);
    lkl_ntk::workers::run(move || {
        // SAFETY: the volume lives until unload; the file object is the
        // request's, in service while this runs.
        let vol = unsafe { &*(vol as *const MountedVolume) };
        match file::ccb(file as *mut lkl_ntk::nt::FILE_OBJECT) {
            Ok(mut held) => f(&vol.core, &mut held),
            Err(e) => e.into(),
        }
    })
    .unwrap_or_else(|| NtStatus::DRIVER_INTERNAL_ERROR.into())
}

fn query_for_user(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the QuerySecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.QuerySecurity };
    let length = p.Length as usize;
    let mut out = match crate::sized::zeroed(length.min(DESCRIPTOR_ROOM)) {
        Ok(out) => out,
        Err(e) => return e.into(),
    };
    let which = p.SecurityInformation;
    let room = &mut out;
    let c = on_worker(vol, irp.file_object(), move |core, ccb| {
        fsd::security::query(core, ccb, which, room)
    });
    let n = (c.information as usize).min(length);
    if c.status.is_error() || n == 0 {
        return c;
    }
    match user::copy_out(irp.raw().UserBuffer.cast(), &out[..n]) {
        Ok(()) => c,
        Err(e) => e.into(),
    }
}

fn set_for_user(vol: &MountedVolume, irp: Irp) -> Completion {
    // SAFETY: the SetSecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.SetSecurity };
    let descriptor = match user_descriptor(p.SecurityDescriptor as *const u8) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let which = p.SecurityInformation;
    on_worker(vol, irp.file_object(), move |core, ccb| {
        fsd::security::set(core, ccb, which, &descriptor)
    })
}

/// A user-mode caller's self-relative descriptor at `sd`, copied in.
fn user_descriptor(sd: *const u8) -> Result<Vec<u8>, Completion> {
    if sd.is_null() {
        return Err(NtStatus::INVALID_PARAMETER.into());
    }
    let read = |at: usize, n: usize| user::copy_in(sd.wrapping_add(at), n).ok();
    match descriptor_length(read, DESCRIPTOR_LIMIT).map(|len| user::copy_in(sd, len)) {
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(e)) => Err(e.into()),
        None => Err(NtStatus::INVALID_PARAMETER.into()),
    }
}

/// 64 KiB bounds what is read of a descriptor.
const DESCRIPTOR_LIMIT: usize = 64 << 10;

pub fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.from_user() {
        // Served in place in the caller's process (a worker's own request).
        return query_for_user(vol, irp);
    }
    // SAFETY: the QuerySecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.QuerySecurity };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let raw = irp.raw();
    let length = p.Length as usize;
    let out: &mut [u8] = if length == 0 || raw.UserBuffer.is_null() {
        &mut []
    } else {
        // SAFETY: a kernel-mode sender's buffer of Length bytes.
        unsafe { core::slice::from_raw_parts_mut(raw.UserBuffer.cast::<u8>(), length) }
    };
    fsd::security::query(&vol.core, &mut held, p.SecurityInformation, out)
}

/// The size of a self-relative security descriptor: its header and the
/// furthest of its SIDs and ACLs (at most `limit`), from what `read(at,
/// n)` gives of it: the header and the size fields its offsets lead to.
fn descriptor_length(
    read: impl Fn(usize, usize) -> Option<Vec<u8>>,
    limit: usize,
) -> Option<usize> {
    let header = read(0, 20)?;
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
        // A SID's count of sub-authorities is its second byte, an ACL's
        // size its third and fourth.
        let head = read(offset, 4)?;
        let size = if is_acl {
            u16::from_le_bytes([head[2], head[3]]) as usize
        } else {
            8 + 4 * head[1] as usize
        };
        end = end.max(offset + size);
    }
    (end <= limit).then_some(end)
}

pub fn set(vol: &MountedVolume, irp: Irp) -> Completion {
    if irp.from_user() {
        // Served in place in the caller's process (a worker's own request).
        return set_for_user(vol, irp);
    }
    // SAFETY: the SetSecurity view of its stack location.
    let p = unsafe { irp.stack().Parameters.SetSecurity };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    if p.SecurityDescriptor.is_null() {
        return NtStatus::INVALID_PARAMETER.into();
    }
    let sd = p.SecurityDescriptor as *const u8;
    // SAFETY: a kernel-mode sender's self-relative descriptor, whose
    // offsets lead inside it.
    let read =
        |at: usize, n: usize| Some(unsafe { core::slice::from_raw_parts(sd.add(at), n) }.to_vec());
    let descriptor: Vec<u8> = match descriptor_length(read, DESCRIPTOR_LIMIT) {
        // SAFETY: len bytes of it, as just measured.
        Some(len) => unsafe { core::slice::from_raw_parts(sd, len) }.to_vec(),
        None => return NtStatus::INVALID_PARAMETER.into(),
    };
    fsd::security::set(&vol.core, &mut held, p.SecurityInformation, &descriptor)
}
