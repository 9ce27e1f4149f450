//! The FCB cache: what lets a repeated open of a file skip the kernel.
//!
//! After its last close, the FCB of a regular file or directory stays in
//! the volume's table for a while, holding the file open read-only (as
//! FastFAT's delayed close keeps FCBs), and the exact kernel paths that
//! led to FCBs are remembered with the file's inode and mode. An open of
//! such a path then makes no system call.
//!
//! Whatever may change which file a path leads to, or a file's mode
//! (unlink, rename, chmod, a file replaced by a symlink), runs through
//! `Volume::changing_names`: it moves the names generation on, which
//! voids every remembered path, and lets the idle FCBs go. A path is
//! trusted only while the generation is the one it was learnt in and no
//! change is under way.
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use hashbrown::HashMap;

use lkl::sys;
use lkl::uapi::Stat;

use crate::fcb::{Fcb, FdKind};
use crate::volume::{Volume, VolumeState};

/// FCBs kept after their last close.
const IDLE_FCBS: usize = 64;
/// Paths remembered (all forgotten at once beyond this).
const PATHS: usize = 4096;

/// What a remembered path leads to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Node {
    /// The node a status describes.
    pub fn of(st: &Stat) -> Node {
        Node {
            ino: st.st_ino,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
        }
    }

    /// The status a permission check reads (mode, owner and group).
    pub fn stat(&self) -> Stat {
        Stat {
            st_ino: self.ino,
            st_mode: self.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            ..Stat::default()
        }
    }
}

#[derive(Default)]
pub(crate) struct NameCache {
    paths: HashMap<Vec<u8>, Node>,
    /// The names generation of `paths`.
    generation: u64,
    /// FCBs whose opens were all closed, in that order (an FCB opened
    /// again stays in place; it is skipped if still open when its turn
    /// to go comes).
    idle: VecDeque<u64>,
}

impl NameCache {
    /// The node `path` leads to, if it was learnt in `generation`.
    pub fn lookup(&self, path: &[u8], generation: u64) -> Option<Node> {
        if self.generation != generation {
            return None;
        }
        self.paths.get(path).copied()
    }

    /// Remembers that `path` leads to `node` in `generation`, the current one.
    pub fn remember(&mut self, path: &[u8], node: Node, generation: u64) {
        if self.generation != generation || self.paths.len() >= PATHS {
            self.paths.clear();
            self.generation = generation;
        }
        // A path seen before keeps its key: no allocation.
        self.paths.entry_ref(path).insert(node);
    }
}

/// Descriptors to close once the volume state is unlocked: those of a
/// close without an allocation, more when many FCBs go at once.
#[must_use]
#[derive(Default)]
pub(crate) struct Closing {
    few: [i32; 8],
    len: usize,
    more: Vec<i32>,
}

impl Closing {
    fn push(&mut self, fd: i32) {
        if self.len < self.few.len() {
            self.few[self.len] = fd;
            self.len += 1;
        } else {
            self.more.push(fd);
        }
    }

    fn take(&mut self, fcb: &mut Fcb, kind: FdKind) {
        if let Some(fd) = fcb.fds[kind as usize].take() {
            self.push(fd);
        }
    }

    fn take_all(&mut self, fcb: &mut Fcb) {
        for kind in [FdKind::Read, FdKind::ReadWrite, FdKind::Path] {
            self.take(fcb, kind);
        }
    }

    pub fn close(self) {
        for &fd in self.few[..self.len].iter().chain(&self.more) {
            let _ = sys::close(fd);
        }
    }
}

impl VolumeState {
    /// An open of `ino` was closed. With the FCB's last, the FCB stays
    /// idle, holding only its read-only descriptor, if it may (see
    /// [`Fcb::keep_open`]; `generation` is the current names generation,
    /// None while names change or once dismounted); else it goes.
    pub fn closed(&mut self, ino: u64, generation: Option<u64>) -> Closing {
        let mut closing = Closing::default();
        let Some(fcb) = self.fcbs.get_mut(&ino) else {
            return closing;
        };
        fcb.opens = fcb.opens.saturating_sub(1);
        if fcb.opens > 0 {
            return closing;
        }
        let keep = fcb.keep_open
            && generation.is_some()
            && fcb.generation == generation
            && fcb.fd(FdKind::Read).is_some();
        if !keep {
            closing.take_all(fcb);
            self.fcbs.remove(&ino);
            return closing;
        }
        closing.take(fcb, FdKind::ReadWrite);
        closing.take(fcb, FdKind::Path);
        if !fcb.queued {
            fcb.queued = true;
            self.cache.idle.push_back(ino);
        }
        while self.cache.idle.len() > IDLE_FCBS {
            let oldest = self.cache.idle.pop_front().expect("over the limit");
            self.evict(oldest, &mut closing);
        }
        closing
    }

    /// Lets every idle FCB go.
    pub fn evict_idle(&mut self) -> Closing {
        let mut closing = Closing::default();
        while let Some(ino) = self.cache.idle.pop_front() {
            self.evict(ino, &mut closing);
        }
        closing
    }

    /// Takes the FCB of `ino` off the idle queue, and removes it if it is
    /// still idle (it may have been opened again).
    fn evict(&mut self, ino: u64, closing: &mut Closing) {
        if let Some(fcb) = self.fcbs.get_mut(&ino) {
            fcb.queued = false;
            if fcb.opens == 0 {
                closing.take_all(fcb);
                self.fcbs.remove(&ino);
            }
        }
    }

    /// Every FCB, and the descriptors they hold: for a volume that goes
    /// away, with it any open not closed yet (none can be used without it).
    pub fn let_all_go(&mut self) -> Closing {
        let mut closing = Closing::default();
        for fcb in self.fcbs.values_mut() {
            closing.take_all(fcb);
        }
        self.fcbs.clear();
        self.cache.idle.clear();
        closing
    }

    /// Removes the FCB of `ino` if nothing refers to it (made by a create
    /// that then failed).
    pub fn forget_if_unused(&mut self, ino: u64) {
        if self.fcbs.get(&ino).is_some_and(Fcb::unused) {
            self.fcbs.remove(&ino);
        }
    }
}

impl Volume {
    /// The names generation, or None while names are changing.
    pub(crate) fn names_generation(&self) -> Option<u64> {
        if self.names_changing.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(self.names_generation.load(Ordering::SeqCst))
    }

    /// Runs `change`, which may change which file a path leads to or a
    /// file's mode: remembered paths are void from its start, and idle
    /// FCBs go after it. Call without the volume state locked.
    pub(crate) fn changing_names<T>(&self, change: impl FnOnce() -> T) -> T {
        self.names_changing.fetch_add(1, Ordering::SeqCst);
        let result = change();
        self.names_generation.fetch_add(1, Ordering::SeqCst);
        self.names_changing.fetch_sub(1, Ordering::SeqCst);
        let closing = self.state.lock().evict_idle();
        closing.close();
        result
    }
}
