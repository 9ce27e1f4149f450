//! The FCB: the state of one file however many times it is open, kept in
//! the volume's table by inode number.
use alloc::vec::Vec;

use crate::access::ShareAccess;
use crate::lockctl::{Lock, Waiting};

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
}
