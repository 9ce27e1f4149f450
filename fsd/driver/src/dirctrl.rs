//! IRP_MJ_DIRECTORY_CONTROL: directory queries, and change notification:
//! a NOTIFY_CHANGE_DIRECTORY is pended (see `pending`) and completed with
//! FILE_NOTIFY_INFORMATION records when a later request changes a name in
//! the directory (or below it, with SL_WATCH_TREE).
use alloc::vec::Vec;

use fsd::dirctrl::{self, QueryDirectory};
use fsd::{Action, Change, Completion, NtStatus};
use lkl_ntk::nt;

use crate::irp::Irp;
use crate::pending::{self, Pended, Wait};
use crate::volume::MountedVolume;
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

fn notify(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    let stack = irp.stack();
    // SAFETY: the NotifyDirectory view of its stack location.
    let p = unsafe { stack.Parameters.NotifyDirectory };
    let ccb = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return Some(e.into()),
    };
    if !ccb.is_directory() {
        return Some(NtStatus::INVALID_PARAMETER.into());
    }
    if p.CompletionFilter == 0 || p.CompletionFilter & !0xFFF != 0 {
        return Some(NtStatus::INVALID_PARAMETER.into());
    }
    let wait = Wait::Notify {
        dir: ccb.kernel_path().to_vec(),
        tree: stack.Flags as u32 & nt::SL_WATCH_TREE != 0,
        filter: p.CompletionFilter,
    };
    if pending::pend(irp, vol, wait) {
        None
    } else {
        Some(pending::STATUS_CANCELLED.into())
    }
}

const FILE_NOTIFY_CHANGE_NAMES: u32 = 0x1 | 0x2;
/// Attributes, size, last write, last access, creation, EA, security.
const FILE_NOTIFY_CHANGE_CONTENT: u32 = 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100;
const STATUS_NOTIFY_ENUM_DIR: NtStatus = NtStatus(0x0000_010C);

/// The filter bits that let a change through.
fn filter_of(action: Action) -> u32 {
    match action {
        Action::Modified => FILE_NOTIFY_CHANGE_CONTENT,
        _ => FILE_NOTIFY_CHANGE_NAMES,
    }
}

/// The change's name relative to `dir`, if it is in it (or below, `tree`).
fn relative_name(change: &Change, dir: &[u8], tree: bool) -> Option<Vec<u16>> {
    if change.dir == dir {
        return Some(change.name.clone());
    }
    let below = change.dir.strip_prefix(dir)?.strip_prefix(b"/")?;
    if !tree {
        return None;
    }
    let mut name: Vec<u16> = Vec::new();
    for part in below.split(|&c| c == b'/') {
        name.extend(part.iter().map(|&b| b as u16));
        name.push(b'\\' as u16);
    }
    name.extend_from_slice(&change.name);
    Some(name)
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

/// Completes the pended notifications of `vol` that the changes since the
/// last call concern; changes no one waits for are dropped, as Windows
/// reports only what happens while a notification is pending.
pub fn deliver(vol: &MountedVolume) {
    let changes = vol.core.take_changes();
    if changes.is_empty() {
        return;
    }
    let mut waiting: Vec<Pended> = pending::notifications_of(vol);
    let mut unmatched = Vec::new();
    for p in waiting.drain(..) {
        let Wait::Notify { dir, tree, filter } = &p.wait else {
            unmatched.push(p);
            continue;
        };
        let records: Vec<(u32, Vec<u16>)> = changes
            .iter()
            .filter(|c| filter_of(c.action) & filter != 0)
            .filter_map(|c| relative_name(c, dir, *tree).map(|n| (c.action as u32, n)))
            .collect();
        if records.is_empty() {
            unmatched.push(p);
            continue;
        }
        // SAFETY: the NotifyDirectory view of the pended IRP's stack.
        let length = unsafe { p.irp.stack().Parameters.NotifyDirectory.Length } as usize;
        let c = match buffers::data(p.irp, vol.device, length) {
            Ok(out) => match encode(&records, out) {
                Some(n) => Completion::ok(n as u64),
                None => STATUS_NOTIFY_ENUM_DIR.into(),
            },
            Err(e) => e.into(),
        };
        pending::complete(p, c);
    }
    pending::put_back(unmatched);
}
