//! The FCB: the state of one file however many times it is open, kept in
//! the volume's table by inode number, with the kernel descriptors its
//! opens share.
use alloc::vec::Vec;

use lkl::uapi;

use crate::access::ShareAccess;
use crate::lockctl::{Lock, Waiting};
use crate::status::NtStatus;

#[derive(Debug, Default)]
pub struct Fcb {
    /// Opens not yet closed (cleanup and close both to come, or close).
    pub opens: u32,
    /// Opens not yet cleaned up (their handles are still open).
    pub handles: u32,
    pub share: ShareAccess,
    /// Delete when the last handle is cleaned up.
    pub delete_pending: bool,
    /// Byte-range locks granted, and requests waiting for them.
    pub locks: Vec<Lock>,
    pub waiting: Vec<Waiting>,
    /// The file held open, at most once each way ([`FdKind`]): every open
    /// of the file uses these descriptors (they carry no position: reads
    /// and writes give their offsets).
    pub fds: [Option<i32>; 3],
    /// The names generation the FCB was made in (None: while names were
    /// changing); see [`crate::cache`].
    pub generation: Option<u64>,
    /// The FCB may outlive its last close, holding the file open: a
    /// regular file or directory (a FIFO held open would change what its
    /// writers see).
    pub keep_open: bool,
    /// In the cache's queue of idle FCBs.
    pub queued: bool,
    /// The kernel path the file was last opened by, or renamed to, through
    /// the core: where an open file is, for the rule that a directory with
    /// open files below it is not renamed.
    pub path: Vec<u8>,
}

/// The ways a file is held open, as [`Fcb::fds`] indexes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    Read = 0,
    ReadWrite = 1,
    /// O_PATH: a symlink itself, or a device node, FIFO or socket.
    Path = 2,
}

impl FdKind {
    /// The kind of a descriptor opened with `flags`.
    pub fn of(flags: i32) -> FdKind {
        if flags & uapi::O_PATH != 0 {
            FdKind::Path
        } else if flags & uapi::O_ACCMODE == uapi::O_RDWR {
            FdKind::ReadWrite
        } else {
            FdKind::Read
        }
    }
}

impl Fcb {
    pub fn new(generation: Option<u64>, keep_open: bool) -> Fcb {
        Fcb {
            generation,
            keep_open,
            ..Fcb::default()
        }
    }

    pub fn fd(&self, kind: FdKind) -> Option<i32> {
        self.fds[kind as usize]
    }

    /// Adds an open with `granted` rights sharing `share`, if the file is
    /// not being deleted and the opens before allow it.
    pub fn add_open(&mut self, granted: u32, share: u32) -> Result<(), NtStatus> {
        if self.delete_pending {
            return Err(NtStatus::DELETE_PENDING);
        }
        self.share.check(granted, share)?;
        self.share.add(granted, share);
        self.opens += 1;
        self.handles += 1;
        Ok(())
    }

    /// Records that the file was opened by, or renamed to, `path`.
    pub fn opened_at(&mut self, path: &[u8]) {
        if self.path != path {
            self.path.clear();
            self.path.extend_from_slice(path);
        }
    }

    /// A handle of the file is open and its path is below directory `dir`.
    pub fn open_below(&self, dir: &[u8]) -> bool {
        self.handles > 0
            && self.path.len() > dir.len()
            && self.path.starts_with(dir)
            && self.path[dir.len()] == b'/'
    }

    /// Nothing refers to the FCB: no open, no descriptor.
    pub fn unused(&self) -> bool {
        self.opens == 0 && self.fds.iter().all(Option::is_none)
    }
}
