//! The CCB: the state of one open of a file (one FILE_OBJECT).
use alloc::vec::Vec;

use lkl::{sys, uapi};

use crate::status::NtStatus;
use crate::volume::Volume;

/// An open file or directory. The Windows half keeps it as the file
/// object's FsContext2 and passes it back with every request on it.
#[derive(Debug)]
pub struct Ccb {
    /// Unique on the volume: owns byte-range locks.
    pub(crate) id: u64,
    pub(crate) ino: u64,
    /// Where the file is in the kernel's tree (bytes: Linux names need
    /// not be UTF-8).
    pub(crate) path: Vec<u8>,
    /// The names generation in which `path` was last seen to lead to the
    /// file (see [`Ccb::path_is_current`]).
    pub(crate) path_generation: Option<u64>,
    /// Its name from the volume root, as Windows callers spelled it.
    pub(crate) win_path: Vec<u16>,
    pub(crate) fd: i32,
    pub(crate) is_dir: bool,
    pub(crate) access: u32,
    pub(crate) share: u32,
    pub(crate) options: u32,
    pub(crate) delete_on_close: bool,
    pub(crate) position: u64,
    pub(crate) scan: Option<alloc::boxed::Box<DirScan>>,
    /// Where the next EA enumeration on this open starts.
    pub(crate) ea_position: usize,
    /// Access and write times this open set explicitly (or froze with
    /// -1): its own writes no longer change them, as on NTFS.
    pub(crate) fixed_times: [Option<lkl::uapi::Timespec>; 2],
    /// This open changed the file's data or attributes.
    pub(crate) modified: bool,
    pub(crate) cleaned_up: bool,
}

/// A directory enumeration in progress on one open. The names of all
/// entries are kept in two buffers, not one allocation per name; a
/// directory too big for that (see `dirctrl::SCAN_BUDGET`) is read a window
/// at a time (`stream`).
#[derive(Debug)]
pub struct DirScan {
    pub pattern: Vec<u16>,
    /// Linux names, each followed by a NUL.
    pub names: Vec<u8>,
    /// Windows names, one after another.
    pub win_names: Vec<u16>,
    /// The entries in the order they are returned.
    pub entries: Vec<DirItem>,
    pub next: usize,
    /// A call of this scan has been answered (after which an empty
    /// answer is NO_MORE_FILES).
    pub returned_any: bool,
    /// Where the next window comes from, when the entries are one.
    pub stream: Option<Stream>,
}

/// A directory listed a window at a time, in Linux's order: its own
/// descriptor (positioned after the window), and the FileIndex of the
/// window's first entry.
#[derive(Debug)]
pub struct Stream {
    pub fd: i32,
    pub first: usize,
    /// Linux listed everything: no window after this one.
    pub done: bool,
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}

/// Where one entry's names are in its scan's buffers.
#[derive(Debug, Clone, Copy)]
pub struct DirItem {
    pub name: (u32, u32),
    pub win_name: (u32, u32),
}

impl DirScan {
    /// The Linux name of `item`, without its NUL.
    pub fn name(&self, item: &DirItem) -> &[u8] {
        let (at, len) = item.name;
        &self.names[at as usize..(at + len) as usize]
    }

    /// The Linux name of `item` with its NUL, as system calls take it.
    pub fn name_with_nul(&self, item: &DirItem) -> &[u8] {
        let (at, len) = item.name;
        &self.names[at as usize..=(at + len) as usize]
    }

    pub fn win_name(&self, item: &DirItem) -> &[u16] {
        let (at, len) = item.win_name;
        &self.win_names[at as usize..(at + len) as usize]
    }
}

impl Ccb {
    /// Where the open file is now (another open may have renamed it or a
    /// directory above it): its path if that still leads to it, else
    /// [`Ccb::moved_to`]. None once no name leads to the file.
    pub(crate) fn current_path(&self, vol: &Volume) -> Option<Vec<u8>> {
        if self.path_is_current(vol) {
            Some(self.path.clone())
        } else {
            self.moved_to(vol)
        }
    }

    /// The open's path (as opened, or as renamed through it) still leads to
    /// its file: surely so while no name has changed since that was last
    /// seen (the names generation is the same), else as lstat finds.
    pub(crate) fn path_is_current(&self, vol: &Volume) -> bool {
        (self.path_generation.is_some() && vol.names_generation() == self.path_generation)
            || self.leads_here(vol, &self.path)
    }

    /// Where the file is now that its path no longer leads to it: what
    /// /proc/self/fd says of its descriptor, checked to lead to it. None
    /// once no name does.
    pub(crate) fn moved_to(&self, vol: &Volume) -> Option<Vec<u8>> {
        let link = alloc::format!("/proc/self/fd/{}", self.fd);
        let path = sys::readlinkat(uapi::AT_FDCWD, link).ok()?;
        self.leads_here(vol, &path).then_some(path)
    }

    /// Whether kernel path `path`, inside the volume, names the file.
    fn leads_here(&self, vol: &Volume, path: &[u8]) -> bool {
        crate::beneath::lstat(vol, path).is_ok_and(|st| st.st_ino == self.ino)
    }

    /// The open's name from the volume root as Windows callers see it now:
    /// as they spelled it, unless another open has moved the file since.
    pub(crate) fn current_win_path(&self, vol: &Volume) -> Vec<u16> {
        if !self.path_is_current(vol) {
            if let Some(path) = self.moved_to(vol) {
                return vol.windows_path(&path);
            }
        }
        self.win_path.clone()
    }

    /// Brings the open's path up to date (see [`Ccb::current_path`]) before
    /// a request that works by path; FILE_DELETED once no name leads to
    /// the file.
    pub(crate) fn refresh_path(&mut self, vol: &Volume) -> Result<(), NtStatus> {
        let generation = vol.names_generation();
        if !self.path_is_current(vol) {
            self.path = self.moved_to(vol).ok_or(NtStatus::FILE_DELETED)?;
        }
        self.path_generation = generation;
        Ok(())
    }

    pub fn is_directory(&self) -> bool {
        self.is_dir
    }

    /// Where the file was last seen in the kernel's tree (what change
    /// notifications are matched against).
    pub fn kernel_path(&self) -> &[u8] {
        &self.path
    }

    /// The access this open was granted.
    pub fn granted_access(&self) -> u32 {
        self.access
    }

    /// The file's identity on the volume (its inode): the opens of one
    /// file share it.
    pub fn file_id(&self) -> u64 {
        self.ino
    }

    pub fn position(&self) -> u64 {
        self.position
    }
}
