//! NTSTATUS values, and the one table that maps each Linux error to the
//! status Windows would give.
use core::fmt;

use lkl::Errno;

/// An NTSTATUS.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtStatus(pub u32);

macro_rules! statuses {
    ($($name:ident = $value:expr,)*) => {
        impl NtStatus {
            $(pub const $name: NtStatus = NtStatus($value);)*

            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    SUCCESS = 0x0000_0000,
    REPARSE = 0x0000_0104,
    BUFFER_OVERFLOW = 0x8000_0005,
    NO_MORE_FILES = 0x8000_0006,
    NOT_IMPLEMENTED = 0xC000_0002,
    INVALID_INFO_CLASS = 0xC000_0003,
    INFO_LENGTH_MISMATCH = 0xC000_0004,
    INVALID_HANDLE = 0xC000_0008,
    INVALID_PARAMETER = 0xC000_000D,
    NO_SUCH_DEVICE = 0xC000_000E,
    NO_SUCH_FILE = 0xC000_000F,
    INVALID_DEVICE_REQUEST = 0xC000_0010,
    IO_REPARSE_TAG_NOT_HANDLED = 0xC000_0279,
    PRIVILEGE_NOT_HELD = 0xC000_0061,
    END_OF_FILE = 0xC000_0011,
    ACCESS_DENIED = 0xC000_0022,
    BUFFER_TOO_SMALL = 0xC000_0023,
    OBJECT_NAME_INVALID = 0xC000_0033,
    OBJECT_NAME_NOT_FOUND = 0xC000_0034,
    OBJECT_NAME_COLLISION = 0xC000_0035,
    OBJECT_PATH_NOT_FOUND = 0xC000_003A,
    OBJECT_PATH_SYNTAX_BAD = 0xC000_003B,
    SHARING_VIOLATION = 0xC000_0043,
    DELETE_PENDING = 0xC000_0056,
    DISK_FULL = 0xC000_007F,
    INSUFFICIENT_RESOURCES = 0xC000_009A,
    MEDIA_WRITE_PROTECTED = 0xC000_00A2,
    FILE_IS_A_DIRECTORY = 0xC000_00BA,
    NOT_SUPPORTED = 0xC000_00BB,
    NOT_SAME_DEVICE = 0xC000_00D4,
    UNEXPECTED_IO_ERROR = 0xC000_00E9,
    DIRECTORY_NOT_EMPTY = 0xC000_0101,
    FILE_CORRUPT_ERROR = 0xC000_0102,
    NOT_A_DIRECTORY = 0xC000_0103,
    NAME_TOO_LONG = 0xC000_0106,
    CANNOT_DELETE = 0xC000_0121,
    FILE_DELETED = 0xC000_0123,
    FILE_CLOSED = 0xC000_0128,
    TOO_MANY_LINKS = 0xC000_0265,
    VOLUME_DISMOUNTED = 0xC000_026E,
    NOT_A_REPARSE_POINT = 0xC000_0275,
    QUOTA_EXCEEDED = 0xC000_0044,
    UNRECOGNIZED_VOLUME = 0xC000_014F,
    NOT_LOCKED = 0xC000_002A,
    PENDING = 0x0000_0103,
    FILE_LOCK_CONFLICT = 0xC000_0054,
    LOCK_NOT_GRANTED = 0xC000_0055,
    RANGE_NOT_LOCKED = 0xC000_007E,
    INVALID_LOCK_RANGE = 0xC000_01A1,
    NO_EAS_ON_FILE = 0xC000_0052,
    NO_MORE_EAS = 0x8000_0012,
    NONEXISTENT_EA_ENTRY = 0xC000_0051,
    REPARSE_POINT_NOT_RESOLVED = 0xC000_0280,
    EA_LIST_INCONSISTENT = 0x8000_0014,
    INVALID_EA_NAME = 0x8000_0013,
    IO_REPARSE_TAG_INVALID = 0xC000_0276,
    DEVICE_DATA_ERROR = 0xC000_009C,
    DRIVER_INTERNAL_ERROR = 0xC000_0183,
    INVALID_DEVICE_STATE = 0xC000_0184,
    DEVICE_BUSY = 0x8000_0011,
    WRONG_VOLUME = 0xC000_0012,
    LOST_WRITEBEHIND_DATA = 0xC000_0222,
    USER_MAPPED_FILE = 0xC000_0243,
}

impl NtStatus {
    /// Success, informational and warning statuses are not errors.
    pub fn is_error(self) -> bool {
        self.0 >= 0xC000_0000
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "STATUS_{n}"),
            None => write!(f, "NTSTATUS({:#010x})", self.0),
        }
    }
}

/// Which part of a path a missing-entry error is about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The last component: OBJECT_NAME_NOT_FOUND.
    Name,
    /// A directory on the way: OBJECT_PATH_NOT_FOUND.
    Path,
}

/// The status Windows gives for what Linux reports as `errno`.
pub fn from_errno(errno: Errno, missing: Missing) -> NtStatus {
    match errno {
        Errno::ENOENT => match missing {
            Missing::Name => NtStatus::OBJECT_NAME_NOT_FOUND,
            Missing::Path => NtStatus::OBJECT_PATH_NOT_FOUND,
        },
        Errno::ENOTDIR => NtStatus::NOT_A_DIRECTORY,
        Errno::EEXIST => NtStatus::OBJECT_NAME_COLLISION,
        Errno::EACCES | Errno::EPERM => NtStatus::ACCESS_DENIED,
        Errno::EROFS => NtStatus::MEDIA_WRITE_PROTECTED,
        Errno::ENOSPC => NtStatus::DISK_FULL,
        Errno::EDQUOT => NtStatus::QUOTA_EXCEEDED,
        Errno::ENOTEMPTY => NtStatus::DIRECTORY_NOT_EMPTY,
        Errno::EISDIR => NtStatus::FILE_IS_A_DIRECTORY,
        // EBADMSG: metadata that fails its checksum (EFSBADCRC).
        Errno::EUCLEAN | Errno::EBADMSG => NtStatus::FILE_CORRUPT_ERROR,
        Errno::ENOKEY => NtStatus::ACCESS_DENIED,
        Errno::EIO => NtStatus::UNEXPECTED_IO_ERROR,
        Errno::ENAMETOOLONG => NtStatus::NAME_TOO_LONG,
        Errno::EMLINK => NtStatus::TOO_MANY_LINKS,
        Errno::EXDEV => NtStatus::NOT_SAME_DEVICE,
        Errno::ENOMEM => NtStatus::INSUFFICIENT_RESOURCES,
        Errno::EBADF => NtStatus::INVALID_HANDLE,
        Errno::EBUSY | Errno::ETXTBSY => NtStatus::SHARING_VIOLATION,
        Errno::EFBIG => NtStatus::DISK_FULL,
        Errno::ELOOP => NtStatus::REPARSE,
        Errno::ENODATA => NtStatus::NO_MORE_FILES,
        Errno::EOPNOTSUPP | Errno::ENOSYS | Errno::ENOTTY => NtStatus::NOT_SUPPORTED,
        Errno::ENODEV | Errno::ENXIO => NtStatus::NO_SUCH_DEVICE,
        Errno::EINVAL | Errno::ERANGE | Errno::EOVERFLOW => NtStatus::INVALID_PARAMETER,
        Errno::EILSEQ => NtStatus::OBJECT_NAME_INVALID,
        _ => NtStatus::UNEXPECTED_IO_ERROR,
    }
}

/// The result of a request: its status and the IRP's `Information`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    pub status: NtStatus,
    pub information: u64,
}

impl Completion {
    pub fn ok(information: u64) -> Completion {
        Completion {
            status: NtStatus::SUCCESS,
            information,
        }
    }

    pub fn error(status: NtStatus) -> Completion {
        Completion {
            status,
            information: 0,
        }
    }
}

impl From<NtStatus> for Completion {
    fn from(status: NtStatus) -> Completion {
        Completion::error(status)
    }
}
