//! Reading and building the documented buffer layouts the scenarios pass
//! and get back: little-endian fields, UTF-16 names, rename and link
//! requests, EA lists, symlink reparse data, directory listings.
use fsd::{Completion, NtStatus};

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// `bytes` bytes of UTF-16 at `at`, as a string.
pub fn name_at(b: &[u8], at: usize, bytes: usize) -> String {
    let units: Vec<u16> = b[at..at + bytes]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The Information of a completion that must have succeeded.
#[track_caller]
pub fn ok(c: Completion) -> u64 {
    assert_eq!(c.status, NtStatus::SUCCESS, "{c:?}");
    c.information
}

/// FILE_RENAME_INFORMATION or FILE_LINK_INFORMATION (same layout: the
/// replace flag, RootDirectory 0, the name from the suite's root).
pub fn rename_info(replace: bool, name: &str) -> Vec<u8> {
    let name = utf16(name);
    let mut b = vec![0u8; 20];
    b[0] = replace as u8;
    b[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend_from_slice(&name);
    b.resize(b.len().max(24), 0);
    b
}

/// One FILE_FULL_EA_INFORMATION entry.
pub fn ea(name: &str, value: &[u8]) -> Vec<u8> {
    let mut e = vec![0, 0, 0, 0, 0, name.len() as u8];
    e.extend_from_slice(&(value.len() as u16).to_le_bytes());
    e.extend_from_slice(name.as_bytes());
    e.push(0);
    e.extend_from_slice(value);
    e
}

/// A symlink's REPARSE_DATA_BUFFER (IO_REPARSE_TAG_SYMLINK) for `target`.
pub fn symlink_reparse(target: &str, relative: bool) -> Vec<u8> {
    let name = utf16(target);
    let mut b = Vec::new();
    b.extend_from_slice(&fsd::attributes::IO_REPARSE_TAG_SYMLINK.to_le_bytes());
    b.extend_from_slice(&((12 + 2 * name.len()) as u16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    for offset_length in [0, name.len(), name.len(), name.len()] {
        b.extend_from_slice(&(offset_length as u16).to_le_bytes());
    }
    b.extend_from_slice(&u32::from(relative).to_le_bytes());
    b.extend_from_slice(&name);
    b.extend_from_slice(&name);
    b
}

/// One entry of a FILE_ID_BOTH_DIR_INFORMATION listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub attributes: u32,
}

/// The entries of a FILE_ID_BOTH_DIR_INFORMATION buffer.
pub fn entries(buf: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        out.push(Entry {
            name: name_at(buf, at + 104, u32_at(buf, at + 60) as usize),
            size: u64_at(buf, at + 40),
            attributes: u32_at(buf, at + 56),
        });
        match u32_at(buf, at) {
            0 => return out,
            next => at += next as usize,
        }
    }
}
