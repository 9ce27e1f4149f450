//! File attributes from Linux modes.
use lkl::uapi::{self, Stat};

pub const READONLY: u32 = 0x1;
pub const HIDDEN: u32 = 0x2;
pub const DIRECTORY: u32 = 0x10;
pub const ARCHIVE: u32 = 0x20;
pub const NORMAL: u32 = 0x80;
pub const REPARSE_POINT: u32 = 0x400;

pub const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

pub fn is_dir(st: &Stat) -> bool {
    st.st_mode & uapi::S_IFMT == uapi::S_IFDIR
}

pub fn is_symlink(st: &Stat) -> bool {
    st.st_mode & uapi::S_IFMT == uapi::S_IFLNK
}

/// The attributes Windows shows for a file with status `st` named `name`
/// (`target_is_dir`: for a symlink, whether it points to a directory).
pub fn from_stat(st: &Stat, name: &[u8], hide_dotfiles: bool, target_is_dir: bool) -> u32 {
    let mut a = 0;
    if is_dir(st) || (is_symlink(st) && target_is_dir) {
        a |= DIRECTORY;
    }
    if is_symlink(st) {
        a |= REPARSE_POINT;
    }
    if st.st_mode & 0o222 == 0 && !is_symlink(st) {
        a |= READONLY;
    }
    if hide_dotfiles && name.first() == Some(&b'.') && name != b"." && name != b".." {
        a |= HIDDEN;
    }
    if a == 0 {
        a = if is_dir(st) { DIRECTORY } else { ARCHIVE };
    }
    a
}

/// The reparse tag of a file: symlinks are IO_REPARSE_TAG_SYMLINK.
pub fn reparse_tag(st: &Stat) -> u32 {
    if is_symlink(st) {
        IO_REPARSE_TAG_SYMLINK
    } else {
        0
    }
}
