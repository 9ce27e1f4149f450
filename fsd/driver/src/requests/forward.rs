//! IRPs a volume passes on to the device it is mounted from, as a file
//! system passes what the storage stack answers (FastFat `devctrl.c`
//! FatCommonDeviceControl's default, `pnp.c` FatPnpCompletionRoutine):
//! either handed down for good (the current stack location skipped), or
//! sent down and waited for, so that the volume acts on the answer before
//! it completes the IRP itself.
use core::ffi::c_void;

use fsd::{Completion, NtStatus};
use lkl_ntk::{nt, zeroed, Shared};

use crate::irp::Irp;

/// The stack location below the current one (the next driver's).
///
/// # Safety
/// `irp` is in our dispatch, with a stack location left below ours (our
/// device's StackSize is the target's plus one).
unsafe fn next(irp: Irp) -> *mut nt::IO_STACK_LOCATION {
    // SAFETY: the caller's promise.
    unsafe {
        (*irp.0)
            .Tail
            .Overlay
            .__bindgen_anon_2
            .__bindgen_anon_1
            .CurrentStackLocation
            .sub(1)
    }
}

/// Hands `irp` to `target` for good (IoSkipCurrentIrpStackLocation and
/// IoCallDriver): what dispatch returns.
pub fn pass_down(irp: Irp, target: *mut nt::DEVICE_OBJECT) -> i32 {
    // SAFETY: our current stack location becomes the target's (the skip
    // the DDK's inline IoSkipCurrentIrpStackLocation makes); the target
    // device is referenced by the volume while it is mounted.
    unsafe {
        let raw = &mut *irp.0;
        raw.CurrentLocation += 1;
        let current = &mut raw
            .Tail
            .Overlay
            .__bindgen_anon_2
            .__bindgen_anon_1
            .CurrentStackLocation;
        *current = current.add(1);
        nt::IofCallDriver(target, irp.0)
    }
}

/// Sets the event the sender waits on and keeps the IRP for it.
unsafe extern "C" fn came_back(
    _device: *mut nt::DEVICE_OBJECT,
    _irp: *mut nt::IRP,
    event: *mut c_void,
) -> nt::NTSTATUS {
    // SAFETY: the event of forward_and_wait, alive until its wait ends.
    unsafe { nt::KeSetEvent(event.cast(), 0, 0) };
    nt::STATUS_MORE_PROCESSING_REQUIRED
}

/// Sends `irp` down to `target` with our stack location copied to the
/// next (IoCopyCurrentIrpStackLocationToNext) and waits until it comes
/// back: what the target answered. The IRP is ours again after, to be
/// completed by the caller.
pub fn forward_and_wait(irp: Irp, target: *mut nt::DEVICE_OBJECT) -> Completion {
    let event = Shared::new(zeroed::<nt::KEVENT>());
    // SAFETY: the next stack location is ours to fill (see `next`); the
    // event lives on this stack until the wait below has returned.
    unsafe {
        nt::KeInitializeEvent(event.get(), nt::NotificationEvent, 0);
        let next = &mut *next(irp);
        *next = *irp.stack();
        next.CompletionRoutine = Some(came_back);
        next.Context = event.get().cast();
        next.Control =
            (nt::SL_INVOKE_ON_SUCCESS | nt::SL_INVOKE_ON_ERROR | nt::SL_INVOKE_ON_CANCEL) as u8;
        if nt::IofCallDriver(target, irp.0) == NtStatus::PENDING.0 as i32 {
            lkl_ntk::wait(event.get());
        }
    }
    let raw = irp.raw();
    Completion {
        // SAFETY: the status view of the IO_STATUS_BLOCK's union.
        status: NtStatus(unsafe { raw.IoStatus.__bindgen_anon_1.Status } as u32),
        information: raw.IoStatus.Information,
    }
}
