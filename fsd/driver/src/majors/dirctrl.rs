//! IRP_MJ_DIRECTORY_CONTROL: directory queries, and change notification:
//! a NOTIFY_CHANGE_DIRECTORY completes at once with what its handle's
//! watch collected since its last one (see `watches`), else is pended
//! (see `pending`) and completed with FILE_NOTIFY_INFORMATION records
//! when a later request changes a name in the directory (or below it,
//! with SL_WATCH_TREE).
use alloc::vec::Vec;

use fsd::dirctrl::{self, QueryDirectory};
use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::irp::Irp;
use crate::pending::{self, Wait};
use crate::volume::MountedVolume;
use crate::watches::{self, Batch};
use crate::{buffers, file};

/// None when the IRP was pended (a notification).
pub fn directory_control(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    match irp.minor() as u32 {
        nt::IRP_MN_QUERY_DIRECTORY => Some(query(vol, irp)),
        nt::IRP_MN_NOTIFY_CHANGE_DIRECTORY => notify(vol, irp),
        _ => Some(NtStatus::INVALID_DEVICE_REQUEST.into()),
    }
}

fn query(vol: &MountedVolume, irp: Irp) -> Completion {
    let stack = irp.stack();
    let flags = stack.Flags as u32;
    // SAFETY: the QueryDirectory view of a QUERY_DIRECTORY stack location.
    let p = unsafe { stack.Parameters.QueryDirectory };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let ccb = &mut *held;
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

fn notify(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    let stack = irp.stack();
    // SAFETY: the NotifyDirectory view of its stack location.
    let p = unsafe { stack.Parameters.NotifyDirectory };
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return Some(e.into()),
    };
    let ccb = &mut *held;
    if !ccb.is_directory() {
        return Some(NtStatus::INVALID_PARAMETER.into());
    }
    if p.CompletionFilter == 0 || p.CompletionFilter & !0xFFF != 0 {
        return Some(NtStatus::INVALID_PARAMETER.into());
    }
    let volume = vol as *const MountedVolume as usize;
    let handle = irp.file_object() as usize;
    let tree = stack.Flags as u32 & nt::SL_WATCH_TREE != 0;
    let capacity = p.Length as usize;
    watches::watch(
        handle,
        volume,
        ccb.kernel_path(),
        tree,
        p.CompletionFilter,
        capacity,
    );
    if let Some(batch) = watches::take(handle) {
        return Some(answer(vol, irp, batch));
    }
    pending::pend(irp, vol, Wait::Notify);
    None
}

const STATUS_NOTIFY_ENUM_DIR: NtStatus = NtStatus(0x0000_010C);

/// A notification's answer: the records in its buffer, or
/// STATUS_NOTIFY_ENUM_DIR when they do not fit.
fn answer(vol: &MountedVolume, irp: Irp, batch: Batch) -> Completion {
    let Batch::Records(records) = batch else {
        return STATUS_NOTIFY_ENUM_DIR.into();
    };
    // SAFETY: the NotifyDirectory view of the IRP's stack.
    let length = unsafe { irp.stack().Parameters.NotifyDirectory.Length } as usize;
    match buffers::data(irp, vol.device, length) {
        Ok(out) => match encode(&records, out) {
            Some(n) => Completion::ok(n as u64),
            None => STATUS_NOTIFY_ENUM_DIR.into(),
        },
        Err(e) => e.into(),
    }
}

/// FILE_NOTIFY_INFORMATION records of `records` into `out` (4-aligned);
/// None if they do not fit.
fn encode(records: &[(u32, Vec<u16>)], out: &mut [u8]) -> Option<usize> {
    let mut at = 0;
    let mut last: Option<usize> = None;
    for (action, name) in records {
        let size = 12 + 2 * name.len();
        let end = at + size;
        if end > out.len() {
            return None;
        }
        if let Some(prev) = last {
            out[prev..prev + 4].copy_from_slice(&((at - prev) as u32).to_le_bytes());
        }
        out[at..at + 4].fill(0);
        out[at + 4..at + 8].copy_from_slice(&action.to_le_bytes());
        out[at + 8..at + 12].copy_from_slice(&((2 * name.len()) as u32).to_le_bytes());
        for (i, c) in name.iter().enumerate() {
            out[at + 12 + 2 * i..at + 14 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
        last = Some(at);
        at = (end + 3) & !3;
    }
    Some(last.map_or(0, |l| l + 12 + 2 * records.last().map_or(0, |r| r.1.len())))
}

/// The changes since the last call go to the watches of `vol`, and the
/// pended notifications whose watch has something complete with it.
pub fn deliver(vol: &MountedVolume) {
    let changes = vol.core.take_changes();
    if changes.is_empty() {
        return;
    }
    watches::record(vol as *const MountedVolume as usize, &changes);
    let mut unmatched = Vec::new();
    for p in pending::notifications_of(vol) {
        match watches::take(p.file) {
            Some(batch) => {
                let c = answer(vol, p.irp, batch);
                pending::complete(p, c);
            }
            None => unmatched.push(p),
        }
    }
    pending::put_back(unmatched);
}
