//! The NT kernel's types and routines, as bindgen made them from mingw-w64's
//! DDK headers (see build.rs).
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unnecessary_transmutes,
    clippy::all
)]
include!(concat!(env!("OUT_DIR"), "/nt.rs"));

/// What the headers give only as enumerators the allowlist leaves out, or
/// as inline functions (which under Wine read nothing: the exported
/// routine is the one that works).
pub const KernelMode: KPROCESSOR_MODE = 0;
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
pub const STATUS_MORE_PROCESSING_REQUIRED: NTSTATUS = 0xC000_0016_u32 as NTSTATUS;
