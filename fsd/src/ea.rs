//! IRP_MJ_QUERY_EA and IRP_MJ_SET_EA: Linux `user.*` extended attributes
//! as Windows extended attributes (FILE_FULL_EA_INFORMATION lists).
//! Windows EA names are case-insensitive and kept upper case, as NTFS
//! does; an EA set with an empty value is removed.
use alloc::vec::Vec;

use lkl::uapi::nr;
use lkl::{sys, Errno};

use crate::ccb::Ccb;
use crate::linux::nt;
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

const PREFIX: &[u8] = b"user.";

fn call(n: i64, args: [i64; 6]) -> Result<i64, Errno> {
    // SAFETY: callers pass buffers with their true lengths.
    Errno::from_ret(unsafe { sys::syscall(n, args) })
}

fn cstring(name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(PREFIX.len() + name.len() + 1);
    v.extend_from_slice(PREFIX);
    v.extend_from_slice(name);
    v.push(0);
    v
}

/// An EA: name (upper case) and value.
type Ea = (Vec<u8>, Vec<u8>);

/// The file's EAs, sorted by name.
fn read_all(fd: i32) -> Result<Vec<Ea>, Errno> {
    let mut list = alloc::vec![0u8; 64 << 10];
    let n = call(
        nr::FLISTXATTR,
        [
            fd as i64,
            sys::arg(list.as_mut_ptr()),
            list.len() as i64,
            0,
            0,
            0,
        ],
    )? as usize;
    let mut out = Vec::new();
    for name in list[..n]
        .split(|&b| b == 0)
        .filter(|n| n.starts_with(PREFIX))
    {
        let short = &name[PREFIX.len()..];
        let Some(value) = value_of(fd, &cstring(short))? else {
            // Removed since it was listed.
            continue;
        };
        out.push((short.to_ascii_uppercase(), value));
    }
    out.sort();
    Ok(out)
}

/// The value of xattr `name` (NUL-terminated), None if the file has none.
fn value_of(fd: i32, name: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
    let mut value = alloc::vec![0u8; 64 << 10];
    let got = call(
        nr::FGETXATTR,
        [
            fd as i64,
            sys::arg(name.as_ptr()),
            sys::arg(value.as_mut_ptr()),
            value.len() as i64,
            0,
            0,
        ],
    );
    match got {
        Ok(len) => {
            value.truncate(len as usize);
            Ok(Some(value))
        }
        Err(Errno::ENODATA) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets xattr `name` (NUL-terminated) to `value`, or removes it (None).
fn put(fd: i32, name: &[u8], value: Option<&[u8]>) -> Result<(), Errno> {
    match value {
        None => match call(
            nr::FREMOVEXATTR,
            [fd as i64, sys::arg(name.as_ptr()), 0, 0, 0, 0],
        ) {
            Ok(_) | Err(Errno::ENODATA) => Ok(()),
            Err(err) => Err(err),
        },
        Some(value) => call(
            nr::FSETXATTR,
            [
                fd as i64,
                sys::arg(name.as_ptr()),
                sys::arg(value.as_ptr()),
                value.len() as i64,
                0,
                0,
            ],
        )
        .map(drop),
    }
}

fn entry_size(name: &[u8], value: &[u8]) -> usize {
    8 + name.len() + 1 + value.len()
}

/// FileEaInformation's EaSize: the bytes a query needs for all the EAs
/// (each entry 4-byte aligned, the last one unpadded).
pub fn ea_size(fd: i32) -> u32 {
    let eas = read_all(fd).unwrap_or_default();
    let padded: usize = eas.iter().map(|(n, v)| (entry_size(n, v) + 3) & !3).sum();
    let last_pad = eas
        .last()
        .map_or(0, |(n, v)| ((entry_size(n, v) + 3) & !3) - entry_size(n, v));
    (padded - last_pad) as u32
}

/// A decoded IRP_MJ_QUERY_EA.
#[derive(Default)]
pub struct QueryEa<'a> {
    /// FILE_GET_EA_INFORMATION list: exactly these EAs (an absent one
    /// comes back with an empty value).
    pub ea_list: Option<&'a [u8]>,
    /// SL_INDEX_SPECIFIED: start at this EA (1 is the first).
    pub index: Option<u32>,
    pub restart_scan: bool,
    pub return_single_entry: bool,
}

/// The names of a FILE_GET_EA_INFORMATION list, upper case.
fn parse_get_list(list: &[u8]) -> Result<Vec<Vec<u8>>, NtStatus> {
    let bad = NtStatus::EA_LIST_INCONSISTENT;
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let next = list
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or(bad)? as usize;
        let len = *list.get(at + 4).ok_or(bad)? as usize;
        let name = list.get(at + 5..at + 5 + len).ok_or(bad)?;
        if len == 0 || list.get(at + 5 + len) != Some(&0) {
            return Err(bad);
        }
        out.push(name.to_ascii_uppercase());
        if next == 0 {
            return Ok(out);
        }
        if next < 6 + len {
            return Err(bad);
        }
        at += next;
    }
}

/// IRP_MJ_QUERY_EA. Enumerations continue where the previous call on the
/// open stopped: STATUS_NO_EAS_ON_FILE when the file has none,
/// STATUS_NO_MORE_EAS past the last, STATUS_BUFFER_TOO_SMALL when not even
/// one entry fits and STATUS_BUFFER_OVERFLOW when only some do.
pub fn query(vol: &Volume, ccb: &mut Ccb, req: &QueryEa, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    let eas = match nt(read_all(ccb.fd)) {
        Ok(e) => e,
        Err(e) => return e.into(),
    };
    let (chosen, from_list): (Vec<Ea>, bool) = match req.ea_list {
        Some(list) => match parse_get_list(list) {
            Ok(names) => (
                names
                    .into_iter()
                    .map(|n| {
                        let value = eas
                            .iter()
                            .find(|(name, _)| *name == n)
                            .map(|(_, v)| v.clone());
                        (n, value.unwrap_or_default())
                    })
                    .collect(),
                true,
            ),
            Err(e) => return e.into(),
        },
        None => (eas, false),
    };
    if chosen.is_empty() {
        return NtStatus::NO_EAS_ON_FILE.into();
    }
    let mut next = if from_list || req.restart_scan {
        0
    } else {
        ccb.ea_position
    };
    if let Some(index) = req.index {
        if index == 0 || index as usize > chosen.len() {
            return NtStatus::NONEXISTENT_EA_ENTRY.into();
        }
        next = index as usize - 1;
    }
    if next >= chosen.len() {
        return NtStatus::NO_MORE_EAS.into();
    }
    let mut at = 0;
    let mut last: Option<usize> = None;
    let mut end = 0;
    let mut status = NtStatus::SUCCESS;
    for (name, value) in &chosen[next..] {
        let size = entry_size(name, value);
        if at + size > out.len() {
            status = if last.is_none() {
                NtStatus::BUFFER_TOO_SMALL
            } else {
                NtStatus::BUFFER_OVERFLOW
            };
            break;
        }
        out[at..at + 5].fill(0);
        out[at + 5] = name.len() as u8;
        out[at + 6..at + 8].copy_from_slice(&(value.len() as u16).to_le_bytes());
        out[at + 8..at + 8 + name.len()].copy_from_slice(name);
        out[at + 8 + name.len()] = 0;
        out[at + 9 + name.len()..at + size].copy_from_slice(value);
        if let Some(prev) = last {
            out[prev..prev + 4].copy_from_slice(&((at - prev) as u32).to_le_bytes());
        }
        last = Some(at);
        end = at + size;
        at = (end + 3) & !3;
        next += 1;
        if req.return_single_entry {
            break;
        }
    }
    if !from_list {
        ccb.ea_position = next;
    }
    Completion {
        status,
        information: end as u64,
    }
}

/// One entry of a FILE_FULL_EA_INFORMATION list.
struct EaEntry<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

fn parse(input: &[u8]) -> Result<Vec<EaEntry<'_>>, NtStatus> {
    let bad = NtStatus::EA_LIST_INCONSISTENT;
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let head = input.get(at..at + 8).ok_or(bad)?;
        let next = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
        let name_len = head[5] as usize;
        let value_len = u16::from_le_bytes([head[6], head[7]]) as usize;
        let name = input.get(at + 8..at + 8 + name_len).ok_or(bad)?;
        if input.get(at + 8 + name_len) != Some(&0) || name.is_empty() {
            return Err(bad);
        }
        if name
            .iter()
            .any(|&c| c < 0x20 || b"\"*+,/:;<=>?[\\]|".contains(&c) || c >= 0x80)
        {
            return Err(NtStatus::INVALID_EA_NAME);
        }
        let value = input
            .get(at + 9 + name_len..at + 9 + name_len + value_len)
            .ok_or(bad)?;
        out.push(EaEntry { name, value });
        if next == 0 {
            return Ok(out);
        }
        if !next.is_multiple_of(4) || next < entry_size(name, value) {
            return Err(bad);
        }
        at += next;
    }
}

/// IRP_MJ_SET_EA: the whole list is checked first; then each EA is set,
/// or removed when its value is empty. If one cannot be (no room left for
/// it, say), those set before it get their old values back: a request
/// that fails changes no EA.
pub fn set(vol: &Volume, ccb: &Ccb, input: &[u8]) -> Completion {
    let result = (|| {
        vol.check_mounted()?;
        vol.check_writable()?;
        let entries = parse(input)?;
        // Each EA set so far, with the value it had.
        let mut done: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        for e in entries {
            let name = cstring(&e.name.to_ascii_lowercase());
            let applied = value_of(ccb.fd, &name).and_then(|before| {
                put(ccb.fd, &name, (!e.value.is_empty()).then_some(e.value))?;
                Ok(before)
            });
            match applied {
                Ok(before) => done.push((name, before)),
                Err(err) => {
                    for (name, before) in done.iter().rev() {
                        let _ = put(ccb.fd, name, before.as_deref());
                    }
                    return nt(Err(err));
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}
