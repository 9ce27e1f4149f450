//! The NT kernel's types and routines: as bindgen made them from mingw-w64's
//! DDK headers (see build.rs) for the build on Linux, or, with the `wdk`
//! feature (the build on Windows), wdk-sys's bindings to the WDK, with
//! the enumerators this crate and the driver use brought to the top as
//! the mingw bindings have them. Either way the items below are ours.
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unnecessary_transmutes,
    clippy::all
)]
#[cfg(not(feature = "wdk"))]
include!(concat!(env!("OUT_DIR"), "/nt.rs"));

#[cfg(feature = "wdk")]
pub use wdk::*;

#[cfg(feature = "wdk")]
mod wdk {
    pub use wdk_sys::ntddk::*;
    pub use wdk_sys::_EVENT_TYPE::NotificationEvent;
    pub use wdk_sys::_FILE_INFORMATION_CLASS::FileStandardInformation;
    pub use wdk_sys::_KEY_VALUE_INFORMATION_CLASS::KeyValuePartialInformation;
    pub use wdk_sys::_KWAIT_REASON::Executive;
    pub use wdk_sys::_MEMORY_CACHING_TYPE::MmCached;
    pub use wdk_sys::_MMFLUSH_TYPE::{MmFlushForDelete, MmFlushForWrite};
    pub use wdk_sys::_MM_PAGE_PRIORITY::NormalPagePriority;
    pub use wdk_sys::_POOL_TYPE::NonPagedPoolNx;
    pub use wdk_sys::_WAIT_TYPE::WaitAny;
    pub use wdk_sys::*;

    extern "system" {
        /// Left out of wdk-sys as deprecated (for ExAllocatePool2, which
        /// Windows before 10 2004 and Wine lack): the pool module looks
        /// ExAllocatePool2 up at run time and falls back to this.
        pub fn ExAllocatePoolWithTag(pool: POOL_TYPE, bytes: SIZE_T, tag: ULONG) -> PVOID;
    }
}

/// What the headers give only as enumerators the allowlist leaves out, or
/// as inline functions (which under Wine read nothing: the exported
/// routine is the one that works).
pub const KernelMode: KPROCESSOR_MODE = 0;
pub const UserMode: KPROCESSOR_MODE = 1;
pub const DPFLTR_IHVDRIVER_ID: u32 = 77;

extern "C" {
    pub fn KeGetCurrentThread() -> PKTHREAD;
}

/// Values the headers build with CTL_CODE or casts, which bindgen cannot
/// evaluate.
pub const IOCTL_DISK_GET_DRIVE_GEOMETRY: u32 = 0x0007_0000;
pub const IOCTL_DISK_IS_WRITABLE: u32 = 0x0007_0024;
pub const IOCTL_DISK_GET_LENGTH_INFO: u32 = 0x0007_405C;
pub const IOCTL_DISK_CHECK_VERIFY: u32 = 0x0007_4800;
pub const IOCTL_STORAGE_CHECK_VERIFY: u32 = 0x002D_4800;
/// The Mount Manager's questions to a volume (mountdev.h: device type
/// 'M', METHOD_BUFFERED, FILE_ANY_ACCESS).
pub const IOCTL_MOUNTDEV_QUERY_UNIQUE_ID: u32 = 0x004D_0000;
pub const IOCTL_MOUNTDEV_QUERY_DEVICE_NAME: u32 = 0x004D_0008;
pub const IOCTL_MOUNTDEV_QUERY_SUGGESTED_LINK_NAME: u32 = 0x004D_000C;
pub const STATUS_NOT_FOUND: NTSTATUS = 0xC000_0225_u32 as NTSTATUS;
pub const STATUS_MORE_PROCESSING_REQUIRED: NTSTATUS = 0xC000_0016_u32 as NTSTATUS;
