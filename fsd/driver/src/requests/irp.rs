//! The IRP as the dispatch routines see it: its current stack location,
//! its buffers by transfer type, and completion. Every access to the
//! unions of the NT headers happens here.
use core::ffi::c_void;
use core::ptr::null_mut;

use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

/// An IRP this driver was handed and must complete exactly once.
#[derive(Clone, Copy)]
pub struct Irp(pub *mut nt::IRP);

// SAFETY: an IRP belongs to whoever holds it until it is completed; it is
// handed from the dispatch thread to a worker, never shared.
unsafe impl Send for Irp {}

impl Irp {
    pub fn stack(&self) -> &mut nt::IO_STACK_LOCATION {
        // SAFETY: an IRP in dispatch has a current stack location.
        unsafe {
            &mut *(*self.0)
                .Tail
                .Overlay
                .__bindgen_anon_2
                .__bindgen_anon_1
                .CurrentStackLocation
        }
    }

    pub fn raw(&self) -> &mut nt::IRP {
        // SAFETY: the IRP is ours until completed.
        unsafe { &mut *self.0 }
    }

    pub fn major(&self) -> u8 {
        self.stack().MajorFunction
    }

    pub fn minor(&self) -> u8 {
        self.stack().MinorFunction
    }

    pub fn file_object(&self) -> *mut nt::FILE_OBJECT {
        self.stack().FileObject
    }

    /// Whether the request came from user mode (its buffers must be probed).
    pub fn from_user(&self) -> bool {
        self.raw().RequestorMode != nt::KernelMode as i8
    }

    pub fn system_buffer(&self) -> *mut c_void {
        // SAFETY: reading a pointer-sized union member.
        unsafe { self.raw().AssociatedIrp.SystemBuffer }
    }

    /// The data buffer of READ/WRITE/QUERY_DIRECTORY/... by the device's
    /// transfer type: the MDL's system address (direct I/O), the system
    /// buffer (buffered), else the caller's buffer.
    pub fn data_buffer(&self, device: *mut nt::DEVICE_OBJECT) -> *mut c_void {
        let raw = self.raw();
        if !raw.MdlAddress.is_null() {
            return mdl_address(raw.MdlAddress);
        }
        // SAFETY: the device object is live while its IRP is served.
        let flags = unsafe { (*device).Flags };
        if flags & nt::DO_BUFFERED_IO != 0 && !self.system_buffer().is_null() {
            return self.system_buffer();
        }
        raw.UserBuffer
    }

    /// Marks the IRP pending: the caller returns STATUS_PENDING and the IRP
    /// is completed later, from another thread.
    pub fn mark_pending(&self) {
        self.stack().Control |= nt::SL_PENDING_RETURNED as u8;
    }

    /// Completes the IRP; returns its status.
    pub fn complete(self, c: Completion) -> i32 {
        let raw = self.raw();
        raw.IoStatus.__bindgen_anon_1.Status = c.status.0 as i32;
        raw.IoStatus.Information = c.information;
        crate::stats::completed(c.status);
        // SAFETY: completed once; the IRP is not touched afterwards.
        unsafe { nt::IofCompleteRequest(self.0, nt::IO_NO_INCREMENT as i8) };
        c.status.0 as i32
    }

    pub fn complete_status(self, status: NtStatus) -> i32 {
        self.complete(Completion {
            status,
            information: 0,
        })
    }
}

/// The system address of an MDL's buffer (MmGetSystemAddressForMdlSafe),
/// or null where it cannot be mapped.
pub fn mdl_address(mdl: *mut nt::MDL) -> *mut c_void {
    // SAFETY: a live MDL of an IRP in service.
    unsafe {
        let m = &*mdl;
        if m.MdlFlags as u32 & (nt::MDL_MAPPED_TO_SYSTEM_VA | nt::MDL_SOURCE_IS_NONPAGED_POOL) != 0
        {
            m.MappedSystemVa
        } else {
            nt::MmMapLockedPagesSpecifyCache(
                mdl,
                nt::KernelMode as i8,
                nt::MmCached,
                null_mut(),
                0,
                nt::NormalPagePriority as u32 | 0x4000_0000,
            )
        }
    }
}
