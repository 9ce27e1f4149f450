//! IRP_MJ_DIRECTORY_CONTROL: QueryDirectory, with patterns, restart, single
//! entries, resume indexes and the documented buffer rules. Entries come
//! "." and ".." first, then by name, compared as Windows compares names
//! (a directory too big to hold its names in [`SCAN_BUDGET`]: in Linux's
//! order, a window at a time).
use alloc::vec::Vec;

use crate::ccb::{Ccb, DirItem, DirScan};
use crate::info::{facts, facts_in, write_times, FileFacts};
use crate::layout::{align8, Out};
use crate::names;
use crate::resolve;
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

pub const FILE_DIRECTORY_INFORMATION: u32 = 1;
pub const FILE_FULL_DIRECTORY_INFORMATION: u32 = 2;
pub const FILE_BOTH_DIRECTORY_INFORMATION: u32 = 3;
pub const FILE_NAMES_INFORMATION: u32 = 12;
pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: u32 = 37;
pub const FILE_ID_FULL_DIRECTORY_INFORMATION: u32 = 38;
pub const FILE_ID_EXTD_DIRECTORY_INFORMATION: u32 = 60;

/// A decoded IRP_MN_QUERY_DIRECTORY.
pub struct QueryDirectory<'a> {
    pub class: u32,
    /// The search pattern; taken from the first call (or a restart).
    pub pattern: Option<&'a [u16]>,
    pub restart_scan: bool,
    pub return_single_entry: bool,
    /// SL_INDEX_SPECIFIED: resume at this FileIndex.
    pub index: Option<u32>,
}

/// Offset of the name in each class's entry.
fn name_offset(class: u32) -> Option<usize> {
    Some(match class {
        FILE_DIRECTORY_INFORMATION => 64,
        FILE_FULL_DIRECTORY_INFORMATION => 68,
        FILE_BOTH_DIRECTORY_INFORMATION => 94,
        FILE_NAMES_INFORMATION => 12,
        FILE_ID_BOTH_DIRECTORY_INFORMATION => 104,
        FILE_ID_FULL_DIRECTORY_INFORMATION => 80,
        FILE_ID_EXTD_DIRECTORY_INFORMATION => 88,
        _ => return None,
    })
}

/// Writes one entry's fixed part at `at` (NextEntryOffset left 0).
fn write_entry(o: &mut Out, at: usize, class: u32, index: u32, f: &FileFacts, name_len: usize) {
    o.u32(at + 4, index);
    if class == FILE_NAMES_INFORMATION {
        o.u32(at + 8, name_len as u32);
        return;
    }
    write_times(o, at + 8, f);
    o.u64(at + 40, f.size);
    o.u64(at + 48, f.allocation);
    o.u32(at + 56, f.attributes);
    o.u32(at + 60, name_len as u32);
    // For reparse points, EaSize carries the reparse tag.
    let ea_or_tag = f.reparse_tag;
    match class {
        FILE_FULL_DIRECTORY_INFORMATION => o.u32(at + 64, ea_or_tag),
        FILE_BOTH_DIRECTORY_INFORMATION => o.u32(at + 64, ea_or_tag),
        FILE_ID_BOTH_DIRECTORY_INFORMATION => {
            o.u32(at + 64, ea_or_tag);
            o.u64(at + 96, f.ino);
        }
        FILE_ID_FULL_DIRECTORY_INFORMATION => {
            o.u32(at + 64, ea_or_tag);
            o.u64(at + 72, f.ino);
        }
        FILE_ID_EXTD_DIRECTORY_INFORMATION => {
            o.u32(at + 64, 0);
            o.u32(at + 68, f.reparse_tag);
            o.u64(at + 72, f.ino);
            o.u64(at + 80, 0);
        }
        _ => {}
    }
}

/// The most a directory scan keeps of names at once. A directory whose
/// names need more is listed a window of [`WINDOW`] at a time, in Linux's
/// order rather than by name (as FAT lists), so that a directory of a
/// million entries costs no more memory than one of a hundred thousand.
pub const SCAN_BUDGET: usize = 8 << 20;

/// What one window of a big directory holds of names.
const WINDOW: usize = 1 << 20;

/// Adds entry `name` to `scan`: what it cost in bytes.
fn add(scan: &mut DirScan, name: &[u8]) -> usize {
    let (at, win_at) = (scan.names.len() as u32, scan.win_names.len() as u32);
    scan.names.extend_from_slice(name);
    scan.names.push(0);
    names::push_windows(&mut scan.win_names, name);
    scan.entries.push(DirItem {
        name: (at, name.len() as u32),
        win_name: (win_at, scan.win_names.len() as u32 - win_at),
    });
    let win_len = scan.win_names.len() - win_at as usize;
    name.len() + 1 + 2 * win_len + core::mem::size_of::<DirItem>()
}

fn start_scan(ccb: &Ccb, pattern: Vec<u16>) -> Result<DirScan, NtStatus> {
    let status = |e| crate::status::from_errno(e, crate::status::Missing::Name);
    let mut scan = DirScan {
        pattern,
        names: Vec::new(),
        win_names: Vec::new(),
        entries: Vec::new(),
        next: 0,
        returned_any: false,
        stream: None,
    };
    let fd = resolve::open_listing(ccb.fd).map_err(status)?;
    let stream = crate::ccb::Stream {
        fd,
        first: 0,
        done: false,
    };
    add(&mut scan, b".");
    add(&mut scan, b"..");
    let more =
        resolve::read_names_upto(fd, SCAN_BUDGET, |name| add(&mut scan, name)).map_err(status)?;
    if more {
        // Too big to hold and sort: from the start, a window at a time.
        scan.stream = Some(stream);
        restart_window(&mut scan).map_err(status)?;
        return Ok(scan);
    }
    drop(stream);
    let mut entries = core::mem::take(&mut scan.entries);
    entries[2..].sort_unstable_by(|a, b| {
        names::cmp_ignore_case(scan.win_name(a), scan.win_name(b))
            .then_with(|| scan.name(a).cmp(scan.name(b)))
    });
    scan.entries = entries;
    Ok(scan)
}

/// A streamed scan's window from the start again: ".", ".." and the first
/// names (its descriptor put back at the start).
fn restart_window(scan: &mut DirScan) -> Result<(), lkl::Errno> {
    let fd = scan.stream.as_ref().map_or(-1, |s| s.fd);
    lkl::sys::lseek(fd, 0, lkl::uapi::SEEK_SET)?;
    read_window(scan, 0).map(drop)
}

/// The next window of a streamed scan, if Linux has more names: false
/// once it has none (or the scan is not streamed).
fn next_window(scan: &mut DirScan) -> Result<bool, lkl::Errno> {
    if scan.stream.as_ref().is_none_or(|s| s.done) {
        return Ok(false);
    }
    let first = index_of(scan, scan.entries.len());
    read_window(scan, first)?;
    Ok(!scan.entries.is_empty())
}

/// Replaces a streamed scan's entries by the window at FileIndex `first`
/// (from where its descriptor stands; "." and ".." lead the first one).
fn read_window(scan: &mut DirScan, first: usize) -> Result<(), lkl::Errno> {
    scan.names.clear();
    scan.win_names.clear();
    scan.entries.clear();
    scan.next = 0;
    if first == 0 {
        add(scan, b".");
        add(scan, b"..");
    }
    let Some(mut stream) = scan.stream.take() else {
        return Ok(());
    };
    let read = resolve::read_names_upto(stream.fd, WINDOW, |name| add(scan, name));
    stream.first = first;
    stream.done = !matches!(read, Ok(true));
    scan.stream = Some(stream);
    read.map(drop)
}

/// The FileIndex of the scan's entry at `next`.
fn index_of(scan: &DirScan, next: usize) -> usize {
    scan.stream.as_ref().map_or(0, |s| s.first) + next
}

/// Moves a scan to FileIndex `index` (SL_INDEX_SPECIFIED).
fn seek(scan: &mut DirScan, index: usize) -> Result<(), lkl::Errno> {
    let Some(first) = scan.stream.as_ref().map(|s| s.first) else {
        scan.next = index;
        return Ok(());
    };
    if index < first {
        restart_window(scan)?;
    }
    while index_of(scan, scan.entries.len()) <= index {
        if !next_window(scan)? {
            break;
        }
    }
    scan.next = index.saturating_sub(index_of(scan, 0));
    Ok(())
}

fn item_facts(vol: &Volume, ccb: &Ccb, scan: &DirScan, item: &DirItem) -> Option<FileFacts> {
    let name = scan.name(item);
    let path = match name {
        b"." => &ccb.path[..],
        b".." if ccb.path == vol.root.as_bytes() => &ccb.path[..],
        b".." => Volume::parent_of(&ccb.path),
        _ => {
            let with_nul = scan.name_with_nul(item);
            return facts_in(vol, ccb.fd, &ccb.path, with_nul).ok();
        }
    };
    facts(vol, path, name).ok()
}

/// Fills `out` with the directory's next entries.
pub fn query_directory(
    vol: &Volume,
    ccb: &mut Ccb,
    req: &QueryDirectory,
    out: &mut [u8],
) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    if !ccb.is_dir {
        return NtStatus::INVALID_PARAMETER.into();
    }
    let Some(fixed) = name_offset(req.class) else {
        return NtStatus::INVALID_INFO_CLASS.into();
    };
    if out.len() < fixed {
        return NtStatus::INFO_LENGTH_MISMATCH.into();
    }
    if ccb.scan.is_none() || req.restart_scan {
        // Listed by path: the directory's, wherever other opens moved it.
        if let Err(e) = ccb.refresh_path(vol) {
            return e.into();
        }
        let pattern = req
            .pattern
            .map(<[u16]>::to_vec)
            .or_else(|| ccb.scan.as_ref().map(|s| s.pattern.clone()))
            .unwrap_or_else(|| alloc::vec![b'*' as u16]);
        match start_scan(ccb, pattern) {
            Ok(scan) => ccb.scan = Some(alloc::boxed::Box::new(scan)),
            Err(e) => return e.into(),
        }
    }
    let Some(mut scan) = ccb.scan.take() else {
        return NtStatus::INVALID_PARAMETER.into();
    };
    if let Some(index) = req.index {
        if let Err(e) = seek(&mut scan, index as usize) {
            ccb.scan = Some(scan);
            return crate::status::from_errno(e, crate::status::Missing::Name).into();
        }
    }
    let result = fill(vol, ccb, &mut scan, req, fixed, out);
    ccb.scan = Some(scan);
    result
}

fn fill(
    vol: &Volume,
    ccb: &Ccb,
    scan: &mut DirScan,
    req: &QueryDirectory,
    fixed: usize,
    out: &mut [u8],
) -> Completion {
    let mut o = Out::new(out);
    let mut at = 0usize;
    let mut last: Option<usize> = None;
    let mut end = 0usize;
    loop {
        if scan.next >= scan.entries.len() {
            match next_window(scan) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) if last.is_none() => {
                    return crate::status::from_errno(e, crate::status::Missing::Name).into();
                }
                Err(_) => break,
            }
        }
        let index = index_of(scan, scan.next);
        let item = scan.entries[scan.next];
        let win_name = scan.win_name(&item);
        if !names::matches(&scan.pattern, win_name, true) {
            scan.next += 1;
            continue;
        }
        let Some(f) = item_facts(vol, ccb, scan, &item) else {
            scan.next += 1;
            continue;
        };
        let name_bytes = win_name.len() * 2;
        let size = fixed + name_bytes;
        if last.is_none() && size > o.len() {
            // The first entry does not fit: its fixed part and what fits
            // of its name, with STATUS_BUFFER_OVERFLOW.
            o.buf[..fixed].fill(0);
            write_entry(&mut o, 0, req.class, index as u32, &f, name_bytes);
            let written = o.name(fixed, win_name);
            scan.next += 1;
            scan.returned_any = true;
            return Completion {
                status: NtStatus::BUFFER_OVERFLOW,
                information: (fixed + written) as u64,
            };
        }
        if at + size > o.len() {
            break;
        }
        o.buf[at..at + fixed].fill(0);
        write_entry(&mut o, at, req.class, index as u32, &f, name_bytes);
        o.name(at + fixed, win_name);
        if let Some(prev) = last {
            o.u32(prev, (at - prev) as u32);
        }
        last = Some(at);
        end = at + size;
        at = align8(end);
        scan.next += 1;
        if req.return_single_entry {
            break;
        }
    }
    if last.is_none() {
        // NO_SUCH_FILE answers only the first call of a scan.
        let status = if scan.returned_any {
            NtStatus::NO_MORE_FILES
        } else {
            NtStatus::NO_SUCH_FILE
        };
        scan.returned_any = true;
        return status.into();
    }
    scan.returned_any = true;
    Completion::ok(end as u64)
}
