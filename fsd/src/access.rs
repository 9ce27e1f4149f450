//! Access masks and share modes: generic rights mapped to file rights, and
//! share access between opens of one file with IoCheckShareAccess's rules.
use crate::status::NtStatus;

pub const FILE_READ_DATA: u32 = 0x0001;
pub const FILE_LIST_DIRECTORY: u32 = FILE_READ_DATA;
pub const FILE_WRITE_DATA: u32 = 0x0002;
pub const FILE_APPEND_DATA: u32 = 0x0004;
/// The rights that change a file's data.
pub const WRITES_DATA: u32 = FILE_WRITE_DATA | FILE_APPEND_DATA;
/// Rights that reach a file's contents (for a directory: its listing).
pub const DATA: u32 = FILE_READ_DATA | WRITES_DATA | FILE_EXECUTE;
pub const FILE_READ_EA: u32 = 0x0008;
pub const FILE_WRITE_EA: u32 = 0x0010;
pub const FILE_EXECUTE: u32 = 0x0020;
pub const FILE_DELETE_CHILD: u32 = 0x0040;
pub const FILE_READ_ATTRIBUTES: u32 = 0x0080;
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
pub const DELETE: u32 = 0x0001_0000;
pub const READ_CONTROL: u32 = 0x0002_0000;
pub const WRITE_DAC: u32 = 0x0004_0000;
pub const WRITE_OWNER: u32 = 0x0008_0000;
pub const SYNCHRONIZE: u32 = 0x0010_0000;
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
pub const GENERIC_ALL: u32 = 0x1000_0000;
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
pub const GENERIC_WRITE: u32 = 0x4000_0000;
pub const GENERIC_READ: u32 = 0x8000_0000;

pub const FILE_GENERIC_READ: u32 =
    READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
pub const FILE_GENERIC_WRITE: u32 = READ_CONTROL
    | FILE_WRITE_DATA
    | FILE_WRITE_ATTRIBUTES
    | FILE_WRITE_EA
    | FILE_APPEND_DATA
    | SYNCHRONIZE;
pub const FILE_GENERIC_EXECUTE: u32 =
    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE;
pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;

/// Rights that change a file or volume.
pub const MODIFYING: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_WRITE_EA
    | FILE_WRITE_ATTRIBUTES
    | DELETE
    | FILE_DELETE_CHILD
    | WRITE_DAC
    | WRITE_OWNER;

pub const FILE_SHARE_READ: u32 = 1;
pub const FILE_SHARE_WRITE: u32 = 2;
pub const FILE_SHARE_DELETE: u32 = 4;

/// Generic rights as the file rights they stand for; MAXIMUM_ALLOWED as
/// everything (the caller narrows it to what the file permits).
pub fn map_generic(access: u32) -> u32 {
    let mut out =
        access & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    if access & GENERIC_READ != 0 {
        out |= FILE_GENERIC_READ;
    }
    if access & GENERIC_WRITE != 0 {
        out |= FILE_GENERIC_WRITE;
    }
    if access & GENERIC_EXECUTE != 0 {
        out |= FILE_GENERIC_EXECUTE;
    }
    if access & (GENERIC_ALL | MAXIMUM_ALLOWED) != 0 {
        out |= FILE_ALL_ACCESS;
    }
    out
}

/// The share state of one file: what its opens use and allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShareAccess {
    pub open_count: u32,
    pub readers: u32,
    pub writers: u32,
    pub deleters: u32,
    pub shared_read: u32,
    pub shared_write: u32,
    pub shared_delete: u32,
}

fn uses(access: u32) -> (bool, bool, bool) {
    (
        access & (FILE_EXECUTE | FILE_READ_DATA) != 0,
        access & WRITES_DATA != 0,
        access & DELETE != 0,
    )
}

impl ShareAccess {
    /// Whether a new open with `access` and `share` conflicts with the
    /// existing ones (IoCheckShareAccess).
    pub fn check(&self, access: u32, share: u32) -> Result<(), NtStatus> {
        let (read, write, delete) = uses(access);
        if !(read || write || delete) {
            return Ok(());
        }
        let conflict = (read && self.shared_read < self.open_count)
            || (write && self.shared_write < self.open_count)
            || (delete && self.shared_delete < self.open_count)
            || (self.readers > 0 && share & FILE_SHARE_READ == 0)
            || (self.writers > 0 && share & FILE_SHARE_WRITE == 0)
            || (self.deleters > 0 && share & FILE_SHARE_DELETE == 0);
        if conflict {
            Err(NtStatus::SHARING_VIOLATION)
        } else {
            Ok(())
        }
    }

    pub fn add(&mut self, access: u32, share: u32) {
        self.apply(access, share, true);
    }

    pub fn remove(&mut self, access: u32, share: u32) {
        self.apply(access, share, false);
    }

    fn apply(&mut self, access: u32, share: u32, add: bool) {
        let (read, write, delete) = uses(access);
        if !(read || write || delete) {
            return;
        }
        let step = |n: &mut u32, on: bool| {
            if on {
                *n = if add { *n + 1 } else { n.saturating_sub(1) };
            }
        };
        step(&mut self.open_count, true);
        step(&mut self.readers, read);
        step(&mut self.writers, write);
        step(&mut self.deleters, delete);
        step(&mut self.shared_read, share & FILE_SHARE_READ != 0);
        step(&mut self.shared_write, share & FILE_SHARE_WRITE != 0);
        step(&mut self.shared_delete, share & FILE_SHARE_DELETE != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_check_share_access_rules() {
        let mut s = ShareAccess::default();
        s.add(FILE_READ_DATA, FILE_SHARE_READ);
        // Another reader sharing read: fine; a writer: not shared.
        assert!(s.check(FILE_READ_DATA, FILE_SHARE_READ).is_ok());
        assert_eq!(
            s.check(FILE_WRITE_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE),
            Err(NtStatus::SHARING_VIOLATION)
        );
        // A reader that does not share read with the existing reader.
        assert_eq!(
            s.check(FILE_READ_DATA, FILE_SHARE_WRITE),
            Err(NtStatus::SHARING_VIOLATION)
        );
        // Attribute-only opens never conflict.
        assert!(s.check(FILE_READ_ATTRIBUTES, 0).is_ok());
        s.add(FILE_READ_DATA, FILE_SHARE_READ);
        s.remove(FILE_READ_DATA, FILE_SHARE_READ);
        s.remove(FILE_READ_DATA, FILE_SHARE_READ);
        assert_eq!(s, ShareAccess::default());
        s.add(
            DELETE,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
        );
        assert!(s.check(FILE_READ_DATA, FILE_SHARE_DELETE).is_ok());
        assert_eq!(
            s.check(FILE_READ_DATA, FILE_SHARE_READ),
            Err(NtStatus::SHARING_VIOLATION)
        );
    }

    #[test]
    fn generic_rights() {
        assert_eq!(map_generic(GENERIC_READ), FILE_GENERIC_READ);
        assert_eq!(map_generic(GENERIC_ALL) & FILE_ALL_ACCESS, FILE_ALL_ACCESS);
        assert_eq!(
            map_generic(DELETE | FILE_READ_ATTRIBUTES),
            DELETE | FILE_READ_ATTRIBUTES
        );
    }
}
