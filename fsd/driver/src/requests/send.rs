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

/// The completion routine of the IRPs sent here: keeps the IRP (to be
/// read and freed or reused by the sender) and wakes the sender, which
/// waits only when the IRP was left pending.
unsafe extern "C" fn done(
    _device: *mut nt::DEVICE_OBJECT,
    irp: *mut nt::IRP,
    event: *mut c_void,
) -> nt::NTSTATUS {
    // SAFETY: the IRP being completed; the sender's event, alive until its
    // wait has returned.
    unsafe {
        if (*irp).PendingReturned != 0 {
            nt::KeSetEvent(event.cast(), 0, 0);
        }
    }
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
    let event = Shared::new(zeroed::<nt::KEVENT>());
    // SAFETY: the event lives on this stack until the IRP is waited for
    // and freed below.
    let (irp, pending) = unsafe { call(device, major, minor, file, fill, event.get()) };
    // SAFETY: as above.
    unsafe { finish(irp, pending, event.get()) }
}

/// Allocates an IRP for `device` and fills its next stack location (see
/// [`fill_next`]). Null if none could be had.
///
/// # Safety
/// As for [`fill_next`].
pub unsafe fn build(
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
    completion: nt::PIO_COMPLETION_ROUTINE,
    context: *mut c_void,
) -> *mut nt::IRP {
    // SAFETY: a fresh IRP for a live device; the caller's promise.
    unsafe {
        let irp = nt::IoAllocateIrp((*device).StackSize, 0);
        if !irp.is_null() {
            fill_next(irp, device, major, minor, file, fill, completion, context);
        }
        irp
    }
}

/// Fills the next stack location of `irp` (allocated for `device`, not
/// yet sent): the function, the file object, what `fill` sets, and
/// `completion` with `context`, called whatever the outcome.
///
/// # Safety
/// `irp` is ours and unsent; `device` is live; `completion` may be called
/// with `context` from any thread until the IRP is freed or reused.
#[allow(clippy::too_many_arguments)]
unsafe fn fill_next(
    irp: *mut nt::IRP,
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
    completion: nt::PIO_COMPLETION_ROUTINE,
    context: *mut c_void,
) {
    // SAFETY: the caller's promise: the IRP and its stack are ours.
    unsafe {
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
        next.CompletionRoutine = completion;
        next.Context = context;
        next.Control =
            (nt::SL_INVOKE_ON_SUCCESS | nt::SL_INVOKE_ON_ERROR | nt::SL_INVOKE_ON_CANCEL) as u8;
    }
}

/// One IRP sent again and again, as the I/O manager takes its IRPs from a
/// lookaside list rather than the pool: the benchmark's sender, so that
/// it measures the driver's part of a request.
pub struct Reused {
    irp: *mut nt::IRP,
}

impl Reused {
    pub fn new(device: *mut nt::DEVICE_OBJECT) -> Option<Reused> {
        // SAFETY: a live device; the IRP is freed by drop.
        let irp = unsafe { nt::IoAllocateIrp((*device).StackSize, 0) };
        (!irp.is_null()).then_some(Reused { irp })
    }

    /// Sends the IRP, filled anew, and waits for its completion.
    pub fn send(
        &mut self,
        device: *mut nt::DEVICE_OBJECT,
        major: u32,
        minor: u32,
        file: *mut nt::FILE_OBJECT,
        fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
    ) -> Outcome {
        let event = Shared::new(zeroed::<nt::KEVENT>());
        // SAFETY: the IRP is ours again (completed, or never sent), reset
        // by IoReuseIrp; the event lives until the wait below.
        unsafe {
            nt::IoReuseIrp(self.irp, 0);
            let pending = dispatch(self.irp, device, major, minor, file, fill, event.get());
            outcome(self.irp, pending, event.get())
        }
    }
}

impl Drop for Reused {
    fn drop(&mut self) {
        // SAFETY: completed (send waits), freed once.
        unsafe { free_irp(self.irp) };
    }
}

/// Allocates and sends the IRP, whose completion sets `event`; the IRP (null
/// if none could be allocated) and whether the driver below left it
/// pending.
///
/// # Safety
/// `event` stays alive until [`finish`] has run for this IRP.
unsafe fn call(
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
    event: *mut nt::KEVENT,
) -> (*mut nt::IRP, bool) {
    // SAFETY: a fresh IRP for a live device; the caller keeps the event
    // alive for the completion routine.
    unsafe {
        let irp = nt::IoAllocateIrp((*device).StackSize, 0);
        if irp.is_null() {
            return (irp, false);
        }
        (irp, dispatch(irp, device, major, minor, file, fill, event))
    }
}

/// Fills `irp` (ours, unsent) for `device` with a completion that sets
/// `event`, and sends it; whether the driver below left it pending.
///
/// # Safety
/// As for [`fill_next`]; `event` stays alive until [`outcome`] has run.
unsafe fn dispatch(
    irp: *mut nt::IRP,
    device: *mut nt::DEVICE_OBJECT,
    major: u32,
    minor: u32,
    file: *mut nt::FILE_OBJECT,
    fill: impl FnOnce(&mut nt::IO_STACK_LOCATION, &mut nt::IRP),
    event: *mut nt::KEVENT,
) -> bool {
    // SAFETY: the caller's promise.
    unsafe {
        nt::KeInitializeEvent(event, nt::NotificationEvent, 0);
        fill_next(
            irp,
            device,
            major,
            minor,
            file,
            fill,
            Some(done),
            event.cast(),
        );
        nt::IofCallDriver(device, irp) == NtStatus::PENDING.0 as i32
    }
}

/// Waits for the IRP (only if it was left pending: otherwise it has
/// completed already, and waiting would be a trip to the wineserver under
/// Wine) and reads its status and Information.
///
/// # Safety
/// `irp` and `event` come from one [`dispatch`].
unsafe fn outcome(irp: *mut nt::IRP, pending: bool, event: *mut nt::KEVENT) -> Outcome {
    // SAFETY: the caller's promise; after the completion routine ran the
    // IRP is ours again.
    unsafe {
        if pending {
            lkl_ntk::wait(event);
        }
        Outcome {
            status: NtStatus((*irp).IoStatus.__bindgen_anon_1.Status as u32),
            information: (*irp).IoStatus.Information,
        }
    }
}

/// The outcome of an IRP from [`call`], which is then freed.
///
/// # Safety
/// `irp` and `event` come from one [`call`]; called once.
unsafe fn finish(irp: *mut nt::IRP, pending: bool, event: *mut nt::KEVENT) -> Outcome {
    if irp.is_null() {
        return Outcome::of(NtStatus::INSUFFICIENT_RESOURCES);
    }
    // SAFETY: the caller's promise.
    unsafe {
        let out = outcome(irp, pending, event);
        free_irp(irp);
        out
    }
}

/// An IRP sent and not yet waited for (one that may stay pending).
pub struct Sent {
    irp: *mut nt::IRP,
    event: Box<Shared<nt::KEVENT>>,
    pending: bool,
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
    // SAFETY: the event is boxed in the Sent, alive until its wait.
    let (irp, pending) = unsafe { call(device, major, minor, file, fill, event.get()) };
    Sent {
        irp,
        event,
        pending,
    }
}

impl Sent {
    /// Whether the IRP has completed.
    pub fn is_done(&self) -> bool {
        // SAFETY: the Sent's own event (a notification event: polling
        // leaves it set).
        self.irp.is_null() || !self.pending || unsafe { lkl_ntk::signalled(self.event.get()) }
    }

    /// The IRP (null if none could be allocated), alive until `wait`.
    pub fn irp(&self) -> *mut nt::IRP {
        self.irp
    }

    /// Cancels the IRP (IoCancelIrp), as the I/O manager does when its
    /// thread or handle goes; wait for it as for any other.
    pub fn cancel(&self) {
        if !self.irp.is_null() && self.pending {
            // SAFETY: the IRP is ours and not freed before `wait`.
            unsafe { nt::IoCancelIrp(self.irp) };
        }
    }

    /// Waits for the IRP's completion; its status and Information.
    pub fn wait(self) -> Outcome {
        // SAFETY: the IRP and event of one call, finished once.
        unsafe { finish(self.irp, self.pending, self.event.get()) }
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
