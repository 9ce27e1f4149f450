//! The driver's FAST_IO_DISPATCH. Every fast read, write, query and lock
//! is left out, and FastIoCheckIfPossible answers no, so the I/O manager
//! always sends an IRP (an honest answer: the IRP path is the only data
//! path). What it is for is the callbacks by which the memory and cache
//! managers take a file's resources, in the order every path of the
//! driver takes them (main, then paging I/O), as FastFat's `resrcsup.c`
//! does: section creation takes the main resource exclusively (FsRtl's
//! default), the modified page writer the paging I/O resource shared
//! without waiting (STATUS_CANT_WAIT while a cut holds it), a cache flush
//! both shared (FatAcquireForCcFlush: main, then paging). None of them
//! waits for a worker. Wine's I/O manager calls none of this.
use lkl_ntk::nt;

use crate::file_control::{self, FileControl};

/// STATUS_CANT_WAIT (ntstatus.h).
const STATUS_CANT_WAIT: i32 = 0xC000_00D8_u32 as i32;

pub static TABLE: nt::FAST_IO_DISPATCH = nt::FAST_IO_DISPATCH {
    SizeOfFastIoDispatch: core::mem::size_of::<nt::FAST_IO_DISPATCH>() as u32,
    FastIoCheckIfPossible: Some(check_if_possible),
    FastIoRead: None,
    FastIoWrite: None,
    FastIoQueryBasicInfo: None,
    FastIoQueryStandardInfo: None,
    FastIoLock: None,
    FastIoUnlockSingle: None,
    FastIoUnlockAll: None,
    FastIoUnlockAllByKey: None,
    FastIoDeviceControl: None,
    AcquireFileForNtCreateSection: Some(acquire_for_section),
    ReleaseFileForNtCreateSection: Some(release_for_section),
    FastIoDetachDevice: None,
    FastIoQueryNetworkOpenInfo: None,
    AcquireForModWrite: Some(acquire_for_mod_write),
    MdlRead: None,
    MdlReadComplete: None,
    PrepareMdlWrite: None,
    MdlWriteComplete: None,
    FastIoReadCompressed: None,
    FastIoWriteCompressed: None,
    MdlReadCompleteCompressed: None,
    MdlWriteCompleteCompressed: None,
    FastIoQueryOpen: None,
    ReleaseForModWrite: Some(release_for_mod_write),
    AcquireForCcFlush: Some(acquire_for_cc_flush),
    ReleaseForCcFlush: Some(release_for_cc_flush),
};

/// Never possible: the request comes as an IRP.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn check_if_possible(
    _file: *mut nt::FILE_OBJECT,
    _offset: *mut nt::LARGE_INTEGER,
    _length: u32,
    _wait: u8,
    _key: u32,
    _read: u8,
    _iosb: *mut nt::IO_STATUS_BLOCK,
    _device: *mut nt::DEVICE_OBJECT,
) -> u8 {
    0
}

/// The FCB of a file object of ours, if it has one.
fn fcb_of<'a>(file: *mut nt::FILE_OBJECT) -> Option<&'a mut FileControl> {
    file_control::of(file)
}

/// Section creation (NtCreateSection): the main resource, exclusive.
unsafe extern "C" fn acquire_for_section(file: *mut nt::FILE_OBJECT) {
    if let Some(fcb) = fcb_of(file) {
        fcb.keep_main(true);
    }
}

unsafe extern "C" fn release_for_section(file: *mut nt::FILE_OBJECT) {
    if let Some(fcb) = fcb_of(file) {
        // SAFETY: kept by acquire_for_section on this thread.
        unsafe { FileControl::release_kept(fcb.main_resource()) };
    }
}

/// The modified page writer: the paging I/O resource, shared, at once or
/// not at all; the resource it is to give back.
unsafe extern "C" fn acquire_for_mod_write(
    file: *mut nt::FILE_OBJECT,
    _end: *mut nt::LARGE_INTEGER,
    release: *mut *mut nt::ERESOURCE,
    _device: *mut nt::DEVICE_OBJECT,
) -> nt::NTSTATUS {
    let Some(fcb) = fcb_of(file) else {
        return fsd::NtStatus::INVALID_DEVICE_REQUEST.0 as i32;
    };
    if !fcb.keep_paging(false, false) {
        return STATUS_CANT_WAIT;
    }
    // SAFETY: the caller's out parameter.
    unsafe { *release = fcb.paging_resource() };
    0
}

unsafe extern "C" fn release_for_mod_write(
    _file: *mut nt::FILE_OBJECT,
    resource: *mut nt::ERESOURCE,
    _device: *mut nt::DEVICE_OBJECT,
) -> nt::NTSTATUS {
    // SAFETY: the resource acquire_for_mod_write kept on this thread.
    unsafe { FileControl::release_kept(resource) };
    0
}

/// A cache flush (CcFlushCache from outside the driver): main, then
/// paging I/O, both shared.
unsafe extern "C" fn acquire_for_cc_flush(
    file: *mut nt::FILE_OBJECT,
    _device: *mut nt::DEVICE_OBJECT,
) -> nt::NTSTATUS {
    if let Some(fcb) = fcb_of(file) {
        fcb.keep_main(false);
        fcb.keep_paging(false, true);
    }
    0
}

unsafe extern "C" fn release_for_cc_flush(
    file: *mut nt::FILE_OBJECT,
    _device: *mut nt::DEVICE_OBJECT,
) -> nt::NTSTATUS {
    if let Some(fcb) = fcb_of(file) {
        // SAFETY: both kept by acquire_for_cc_flush on this thread; given
        // back in the reverse order.
        unsafe {
            FileControl::release_kept(fcb.paging_resource());
            FileControl::release_kept(fcb.main_resource());
        }
    }
    0
}
