//! The Win32 functions and constants the Windows user-mode host calls
//! (kernel32 and ntdll), declared as the Windows SDK documents them.
use core::ffi::c_void;

pub type Handle = *mut c_void;
pub type ThreadStart = unsafe extern "system" fn(arg: *mut c_void) -> u32;
pub type FlsCallback = unsafe extern "system" fn(value: *mut c_void);

pub const INFINITE: u32 = 0xffff_ffff;
pub const WAIT_OBJECT_0: u32 = 0;
pub const STACK_SIZE_PARAM_IS_A_RESERVATION: u32 = 0x0001_0000;
pub const CREATE_WAITABLE_TIMER_HIGH_RESOLUTION: u32 = 0x2;
pub const TIMER_ALL_ACCESS: u32 = 0x001f_0003;
pub const FLS_OUT_OF_INDEXES: u32 = 0xffff_ffff;
pub const MEM_COMMIT: u32 = 0x1000;
pub const MEM_RESERVE: u32 = 0x2000;
pub const MEM_RELEASE: u32 = 0x8000;
pub const PAGE_READWRITE: u32 = 0x04;
pub const IOCTL_DISK_GET_LENGTH_INFO: u32 = 0x0007_405c;
/// 100 ns intervals from 1601-01-01 to 1970-01-01.
pub const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

#[link(name = "kernel32")]
unsafe extern "system" {
    pub fn CloseHandle(handle: Handle) -> i32;
    pub fn CreateThread(
        attributes: *mut c_void,
        stack_size: usize,
        start: ThreadStart,
        arg: *mut c_void,
        flags: u32,
        id: *mut u32,
    ) -> Handle;
    pub fn CreateEventW(
        attributes: *mut c_void,
        manual_reset: i32,
        initial: i32,
        name: *const u16,
    ) -> Handle;
    pub fn SetEvent(event: Handle) -> i32;
    pub fn WaitForSingleObject(handle: Handle, milliseconds: u32) -> u32;
    pub fn WaitForMultipleObjects(
        count: u32,
        handles: *const Handle,
        wait_all: i32,
        milliseconds: u32,
    ) -> u32;
    pub fn CreateWaitableTimerExW(
        attributes: *mut c_void,
        name: *const u16,
        flags: u32,
        access: u32,
    ) -> Handle;
    pub fn SetWaitableTimer(
        timer: Handle,
        due: *const i64,
        period: i32,
        completion: *mut c_void,
        completion_arg: *mut c_void,
        resume: i32,
    ) -> i32;
    pub fn FlsAlloc(callback: Option<FlsCallback>) -> u32;
    pub fn FlsGetValue(index: u32) -> *mut c_void;
    pub fn FlsSetValue(index: u32, value: *mut c_void) -> i32;
    pub fn QueryPerformanceCounter(count: *mut i64) -> i32;
    pub fn QueryPerformanceFrequency(frequency: *mut i64) -> i32;
    pub fn GetSystemTimePreciseAsFileTime(time: *mut u64);
    pub fn VirtualAlloc(at: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
    pub fn VirtualFree(at: *mut c_void, size: usize, kind: u32) -> i32;
    pub fn DeviceIoControl(
        device: Handle,
        code: u32,
        in_buf: *const c_void,
        in_len: u32,
        out_buf: *mut c_void,
        out_len: u32,
        returned: *mut u32,
        overlapped: *mut c_void,
    ) -> i32;
}

#[link(name = "synchronization")]
unsafe extern "system" {
    pub fn WaitOnAddress(
        address: *const c_void,
        compare: *const c_void,
        size: usize,
        milliseconds: u32,
    ) -> i32;
    pub fn WakeByAddressSingle(address: *const c_void);
}

#[link(name = "ntdll")]
unsafe extern "system" {
    /// Non-zero while the process is exiting (other threads already gone).
    pub fn RtlDllShutdownInProgress() -> u8;
}
