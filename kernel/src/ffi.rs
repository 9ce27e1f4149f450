//! The C interface of the kernel object: `arch/lkl/include/asm/host_ops.h`.
use alloc::boxed::Box;
use core::ffi::{c_char, c_int, c_void};

use crate::Errno;

// The kernel is LP64 on every host: its `long` is i64 even where C's is not.

pub type HostFn = unsafe extern "C" fn(arg: *mut c_void);

/// `struct lkl_host_ops`: the native operations, in the header's order.
#[repr(C)]
pub struct HostOps {
    pub print: unsafe extern "C" fn(str: *const c_char, len: c_int),
    pub panic: unsafe extern "C" fn(msg: *const c_char),
    pub sem_alloc: unsafe extern "C" fn(count: c_int) -> *mut c_void,
    pub sem_free: unsafe extern "C" fn(sem: *mut c_void),
    pub sem_up: unsafe extern "C" fn(sem: *mut c_void),
    pub sem_down: unsafe extern "C" fn(sem: *mut c_void),
    pub thread_create: unsafe extern "C" fn(f: HostFn, arg: *mut c_void) -> c_int,
    pub tls_get: unsafe extern "C" fn() -> *mut c_void,
    pub tls_set: unsafe extern "C" fn(value: *mut c_void),
    pub mem_alloc: unsafe extern "C" fn(size: u64) -> *mut c_void,
    pub mem_free: unsafe extern "C" fn(ptr: *mut c_void, size: u64),
    pub time_ns: unsafe extern "C" fn() -> u64,
    pub wall_ns: unsafe extern "C" fn() -> u64,
    pub timer_alloc: unsafe extern "C" fn(f: HostFn, arg: *mut c_void) -> *mut c_void,
    pub timer_arm: unsafe extern "C" fn(timer: *mut c_void, delta_ns: u64),
    pub timer_disarm: unsafe extern "C" fn(timer: *mut c_void),
    pub timer_free: unsafe extern "C" fn(timer: *mut c_void),
}

/// `struct lkl_irq_event`.
#[repr(C)]
pub struct IrqEvent {
    pub next: *mut IrqEvent,
    pub irq: u64,
    pub data: *mut c_void,
}

/// `struct lkl_disk_segment`.
#[repr(C)]
pub struct DiskSegment {
    pub buf: *mut c_void,
    pub len: u64,
}

/// `struct lkl_disk_request`.
#[repr(C)]
pub struct DiskRequest {
    pub event: IrqEvent,
    pub op: u32,
    pub flags: u32,
    pub offset: u64,
    pub len: u64,
    pub nsegs: u32,
    pub status: i32,
    pub segs: *mut DiskSegment,
}

pub const DISK_FUA: u32 = 1;

/// `struct lkl_disk`.
#[repr(C)]
pub struct Disk {
    pub handle: *mut c_void,
    pub capacity: u64,
    pub block_size: u32,
    pub read_only: c_int,
    pub submit: unsafe extern "C" fn(handle: *mut c_void, req: *mut DiskRequest) -> c_int,
}

/// `struct lkl_nic_frame`.
#[cfg(feature = "net")]
#[repr(C)]
pub struct NicFrame {
    pub event: IrqEvent,
    pub next: *mut NicFrame,
    pub nic: c_int,
    pub len: u32,
    pub data: *mut c_void,
    pub done: unsafe extern "C" fn(frame: *mut NicFrame),
}

/// `struct lkl_nic_segment`.
#[cfg(feature = "net")]
#[repr(C)]
pub struct NicSegment {
    pub buf: *const c_void,
    pub len: u64,
}

#[cfg(feature = "net")]
pub const NIC_SEGMENTS_MAX: usize = 20;

/// `struct lkl_nic`.
#[cfg(feature = "net")]
#[repr(C)]
pub struct Nic {
    pub handle: *mut c_void,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub offload_max: u32,
    pub xmit:
        unsafe extern "C" fn(handle: *mut c_void, segs: *const NicSegment, nsegs: u32) -> c_int,
}

#[cfg(feature = "net")]
extern "C" {
    pub fn lkl_nic_add(nic: *const Nic) -> c_int;
    pub fn lkl_nic_remove(id: c_int) -> c_int;
    pub fn lkl_nic_ifindex(id: c_int) -> c_int;
    pub fn lkl_nic_rx(frame: *mut NicFrame) -> c_int;
}

extern "C" {
    pub fn lkl_boot(ops: *const HostOps, cmdline: *const c_char, mem_size: u64) -> c_int;
    pub fn lkl_syscall(nr: i64, params: *const i64) -> i64;
    pub fn lkl_halt() -> c_int;
    pub fn lkl_crash(why: *const c_char);
    pub fn lkl_release() -> c_int;
    pub fn lkl_host_task_release(task: *mut c_void);
    pub fn lkl_irq_raise(irq: c_int) -> c_int;
    pub fn lkl_disk_add(disk: *const Disk) -> c_int;
    pub fn lkl_disk_remove(id: c_int) -> c_int;
    pub fn lkl_disk_complete(req: *mut DiskRequest, status: c_int);
}

/// After the kernel was asked to remove an object (a disk, a NIC) whose
/// host side lives in `slot`, with `ret` its answer: the slot is freed
/// once the kernel no longer holds it (removed, or the kernel halted),
/// and never otherwise (it stays the kernel's).
pub fn release_after_removal<T>(slot: Box<T>, ret: c_int) -> Result<(), Errno> {
    match Errno::from_ret(ret as i64) {
        Ok(_) | Err(Errno::ENODEV) => {
            drop(slot);
            Ok(())
        }
        Err(e) => {
            core::mem::forget(slot);
            Err(e)
        }
    }
}
