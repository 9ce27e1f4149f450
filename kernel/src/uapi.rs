//! The kernel's user-space ABI: system call numbers, constants and
//! structures, in the kernel's LP64 layouts on every target (fixed-width
//! fields: on 64-bit Windows, C's `long` is 32 bits). The layouts are
//! checked against the built kernel's headers by the tests.

/// System call numbers, generated from the kernel's `asm/unistd.h`.
pub mod nr {
    include!(concat!(env!("OUT_DIR"), "/nr.rs"));
}

pub const AT_FDCWD: i32 = -100;
/// _IOWR('X', 119, int).
pub const FIFREEZE: u32 = 0xC004_5877;
pub const FITHAW: u32 = 0xC004_5878;
pub const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
pub const AT_REMOVEDIR: i32 = 0x200;
pub const AT_SYMLINK_FOLLOW: i32 = 0x400;
pub const AT_EMPTY_PATH: i32 = 0x1000;

pub const O_RDONLY: i32 = 0;
/// The access-mode bits of open flags (O_RDONLY, O_WRONLY, O_RDWR).
pub const O_ACCMODE: i32 = 3;
pub const O_WRONLY: i32 = 1;
pub const O_RDWR: i32 = 2;
pub const O_CREAT: i32 = 0o100;
pub const O_EXCL: i32 = 0o200;
pub const O_TRUNC: i32 = 0o1000;
pub const O_APPEND: i32 = 0o2000;
pub const O_NONBLOCK: i32 = 0o4000;
pub const O_DIRECTORY: i32 = 0o200000;
pub const O_NOFOLLOW: i32 = 0o400000;
pub const O_CLOEXEC: i32 = 0o2000000;
pub const O_PATH: i32 = 0o10000000;

/// openat2 resolve flags.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

pub const SEEK_SET: i32 = 0;
pub const SEEK_CUR: i32 = 1;
pub const SEEK_END: i32 = 2;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;

pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;

pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 2;
pub const MS_NODEV: u64 = 4;
pub const MS_NOEXEC: u64 = 8;
pub const MS_REMOUNT: u64 = 32;
pub const MNT_DETACH: i32 = 2;

pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// `struct __kernel_timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// `struct stat` of the generic 64-bit ABI (fstat, newfstatat).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub __pad1: u64,
    pub st_size: i64,
    pub st_blksize: i32,
    pub __pad2: i32,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: u64,
    pub st_mtime: i64,
    pub st_mtime_nsec: u64,
    pub st_ctime: i64,
    pub st_ctime_nsec: u64,
    pub __unused: [u32; 2],
}

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub __reserved: i32,
}

/// `struct statx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub __spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub stx_subvol: u64,
    pub stx_atomic_write_unit_min: u32,
    pub stx_atomic_write_unit_max: u32,
    pub stx_atomic_write_segments_max: u32,
    pub __spare1: u32,
    pub __spare3: [u64; 9],
}

/// `struct statfs` of the generic 64-bit ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Statfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

/// `struct new_utsname`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

impl Default for Utsname {
    fn default() -> Self {
        Utsname {
            sysname: [0; 65],
            nodename: [0; 65],
            release: [0; 65],
            version: [0; 65],
            machine: [0; 65],
            domainname: [0; 65],
        }
    }
}

/// The fixed part of `struct linux_dirent64`; the name follows it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Dirent64 {
    pub d_ino: u64,
    pub d_off: i64,
    pub d_reclen: u16,
    pub d_type: u8,
}

/// `struct open_how`, openat2's argument.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// Offset of `d_name` in `struct linux_dirent64`.
pub const DIRENT64_NAME_OFFSET: usize = 19;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    include!(concat!(env!("OUT_DIR"), "/layout.rs"));

    fn rust_layout(name: &str) -> usize {
        match name {
            "__kernel_timespec" => size_of::<Timespec>(),
            "__kernel_timespec.tv_nsec" => offset_of!(Timespec, tv_nsec),
            "stat" => size_of::<Stat>(),
            "stat.st_ino" => offset_of!(Stat, st_ino),
            "stat.st_mode" => offset_of!(Stat, st_mode),
            "stat.st_nlink" => offset_of!(Stat, st_nlink),
            "stat.st_uid" => offset_of!(Stat, st_uid),
            "stat.st_rdev" => offset_of!(Stat, st_rdev),
            "stat.st_size" => offset_of!(Stat, st_size),
            "stat.st_blksize" => offset_of!(Stat, st_blksize),
            "stat.st_blocks" => offset_of!(Stat, st_blocks),
            "stat.st_atime" => offset_of!(Stat, st_atime),
            "stat.st_mtime" => offset_of!(Stat, st_mtime),
            "stat.st_mtime_nsec" => offset_of!(Stat, st_mtime_nsec),
            "stat.st_ctime" => offset_of!(Stat, st_ctime),
            "statx" => size_of::<Statx>(),
            "statx.stx_mask" => offset_of!(Statx, stx_mask),
            "statx.stx_blksize" => offset_of!(Statx, stx_blksize),
            "statx.stx_attributes" => offset_of!(Statx, stx_attributes),
            "statx.stx_nlink" => offset_of!(Statx, stx_nlink),
            "statx.stx_uid" => offset_of!(Statx, stx_uid),
            "statx.stx_mode" => offset_of!(Statx, stx_mode),
            "statx.stx_ino" => offset_of!(Statx, stx_ino),
            "statx.stx_size" => offset_of!(Statx, stx_size),
            "statx.stx_blocks" => offset_of!(Statx, stx_blocks),
            "statx.stx_atime" => offset_of!(Statx, stx_atime),
            "statx.stx_btime" => offset_of!(Statx, stx_btime),
            "statx.stx_ctime" => offset_of!(Statx, stx_ctime),
            "statx.stx_mtime" => offset_of!(Statx, stx_mtime),
            "statx.stx_rdev_major" => offset_of!(Statx, stx_rdev_major),
            "statx.stx_dev_major" => offset_of!(Statx, stx_dev_major),
            "open_how" => size_of::<OpenHow>(),
            "open_how.mode" => offset_of!(OpenHow, mode),
            "open_how.resolve" => offset_of!(OpenHow, resolve),
            "statfs" => size_of::<Statfs>(),
            "statfs.f_bsize" => offset_of!(Statfs, f_bsize),
            "statfs.f_blocks" => offset_of!(Statfs, f_blocks),
            "statfs.f_files" => offset_of!(Statfs, f_files),
            "statfs.f_fsid" => offset_of!(Statfs, f_fsid),
            "statfs.f_namelen" => offset_of!(Statfs, f_namelen),
            "statfs.f_flags" => offset_of!(Statfs, f_flags),
            "new_utsname" => size_of::<Utsname>(),
            "new_utsname.release" => offset_of!(Utsname, release),
            "new_utsname.machine" => offset_of!(Utsname, machine),
            "linux_dirent64" => DIRENT64_NAME_OFFSET.next_multiple_of(8),
            "linux_dirent64.d_reclen" => offset_of!(Dirent64, d_reclen),
            "linux_dirent64.d_type" => offset_of!(Dirent64, d_type),
            "linux_dirent64.d_name" => DIRENT64_NAME_OFFSET,
            other => panic!("no Rust counterpart for {other}"),
        }
    }

    #[test]
    fn layouts_match_the_kernel_headers() {
        assert!(LAYOUTS.len() > 40, "layouts were not generated");
        for (name, c) in LAYOUTS {
            assert_eq!(rust_layout(name), *c, "layout of {name}");
        }
    }
}
