//! IRPs this driver sends and waits for: to the device a volume is on
//! (reading its start, asking its size) and, in the self-test, to its own
//! devices. The IRP is allocated here, `fill` sets up the next stack
//! location, and the completion routine hands it back (so its status and
//! Information can be read) by setting an event; then it is freed, with
//! the MDL it may carry.
use alloc::boxed::Box;
use core::ffi::c_void;
use core::ptr::null_mut;

use fsd::NtStatus;
use lkl_ntk::{nt, zeroed, Shared};

/// What an IRP came back with.
pub struct Outcome {
    pub status: NtStatus,
    pub information: u64,
}

impl Outcome {
    pub fn of(status: NtStatus) -> Outcome {
        Outcome {
            status,
            information: 0,
        }
    }
}

unsafe extern "C" fn done(
    _device: *mut nt::DEVICE_OBJECT,
    _irp: *mut nt::IRP,
    event: *mut c_void,
) -> nt::NTSTATUS {
    // SAFETY: the sender's event, alive until its wait has returned.
    unsafe { nt::KeSetEvent(event.cast(), 0, 0) };
    nt::STATUS_MORE_PROCESSING_REQUIRED
}

/// Sends an IRP of `major`/`minor` for `file` to `device` and waits for
/// its completion.
pub fn send(
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
) -> Outcome {
    start(device, major, minor, file, fill).wait()
}

/// An IRP sent and not yet waited for (one that may stay pending).
pub struct Sent {
    irp: *mut nt::IRP,
    event: Box<Shared<nt::KEVENT>>,
}

/// Sends an IRP as [`send`] does, without waiting for it.
pub fn start(
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
) -> Sent {
    let event = Box::new(Shared::new(zeroed::<nt::KEVENT>()));
    // SAFETY: a fresh IRP for `device`, its next stack location filled
    // here; the completion routine gives it back to us, and the event
    // (boxed) lives until the Sent is waited for.
    unsafe {
        nt::KeInitializeEvent(event.get(), nt::NotificationEvent, 0);
        let irp = nt::IoAllocateIrp((*device).StackSize, 0);
        if irp.is_null() {
            return Sent { irp, event };
        }
        (*irp).RequestorMode = nt::KernelMode as i8;
        (*irp).Tail.Overlay.OriginalFileObject = file;
        let next = &mut *(*irp)
            .Tail
            .Overlay
            .__bindgen_anon_2
            .__bindgen_anon_1
            .CurrentStackLocation
            .sub(1);
        next.MajorFunction = major as u8;
        next.MinorFunction = minor as u8;
        next.FileObject = file;
        next.DeviceObject = device;
        fill(next, &mut *irp);
        next.CompletionRoutine = Some(done);
        next.Context = event.get().cast();
        next.Control =
            (nt::SL_INVOKE_ON_SUCCESS | nt::SL_INVOKE_ON_ERROR | nt::SL_INVOKE_ON_CANCEL) as u8;
        nt::IofCallDriver(device, irp);
        Sent { irp, event }
    }
}

impl Sent {
    /// Whether the IRP has completed.
    pub fn is_done(&self) -> bool {
        // SAFETY: the Sent's own event; a zero timeout only polls.
        self.irp.is_null()
            || unsafe {
                let mut zero: nt::LARGE_INTEGER = zeroed();
                nt::KeWaitForSingleObject(
                    self.event.get().cast(),
                    nt::Executive,
                    nt::KernelMode as i8,
                    0,
                    &mut zero,
                ) == 0
            }
    }

    /// Waits for the IRP's completion; its status and Information.
    pub fn wait(self) -> Outcome {
        if self.irp.is_null() {
            return Outcome::of(NtStatus::INSUFFICIENT_RESOURCES);
        }
        // SAFETY: the event the completion routine sets; then the IRP is
        // ours again, read and freed once.
        unsafe {
            nt::KeWaitForSingleObject(
                self.event.get().cast(),
                nt::Executive,
                nt::KernelMode as i8,
                0,
                null_mut(),
            );
            let out = Outcome {
                status: NtStatus((*self.irp).IoStatus.__bindgen_anon_1.Status as u32),
                information: (*self.irp).IoStatus.Information,
            };
            free_irp(self.irp);
            out
        }
    }
}

/// Describes `len` bytes of non-paged memory at `buf` with an MDL of `irp`.
///
/// # Safety
/// `buf` is non-paged pool of at least `len` bytes, alive until the IRP
/// completes.
pub unsafe fn attach_mdl(irp: &mut nt::IRP, buf: *mut u8, len: usize) -> bool {
    irp.UserBuffer = buf.cast();
    // SAFETY: the caller's promise; the MDL is the IRP's (freed with it).
    unsafe {
        let mdl = nt::IoAllocateMdl(buf.cast(), len as u32, 0, 0, irp);
        if mdl.is_null() {
            return false;
        }
        nt::MmBuildMdlForNonPagedPool(mdl);
    }
    true
}

/// Frees an IRP this driver allocated, and its MDL. The MDL is unlinked
/// first: Wine's IoFreeIrp frees an IRP's MDLs itself, Windows' does not.
///
/// # Safety
/// `irp` came from IoAllocateIrp, is completed, and is freed once.
pub unsafe fn free_irp(irp: *mut nt::IRP) {
    // SAFETY: the caller's promise.
    unsafe {
        let mdl = (*irp).MdlAddress;
        (*irp).MdlAddress = null_mut();
        if !mdl.is_null() {
            nt::IoFreeMdl(mdl);
        }
        nt::IoFreeIrp(irp);
    }
}
