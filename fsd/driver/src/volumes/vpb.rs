//! A mounted volume's VPB, as FastFat keeps it (`strucsup.c` FatSwapVpb,
//! FatCheckForDismount): the I/O manager routes opens of the device a
//! volume is mounted from through the device's VPB, whose DeviceObject is
//! our volume device. At a dismount the device gets a fresh VPB (the spare
//! allocated at mount), so that the next open mounts anew, while the old
//! VPB keeps pointing at our volume device: the file objects opened
//! through it still reach us (their requests fail with
//! STATUS_VOLUME_DISMOUNTED, and their CLOSEs come back). The old VPB is
//! then ours; it is freed once the volume device goes, after its last
//! file object. VPB fields change only under the VPB spin lock (WDK
//! "IoAcquireVpbSpinLock") in the full mode; the non-cached mode is
//! Wine's, whose VPB spin lock is a stub that ends its driver host and
//! which routes no I/O through VPBs.
use core::ptr::null_mut;

use lkl_ntk::nt;

/// IO_TYPE_VPB (ntifs.h).
pub const IO_TYPE_VPB: i16 = 10;
/// Our pool tag for VPBs ('LkVb').
const TAG: u32 = u32::from_le_bytes(*b"LkVb");

/// A zeroed VPB from non-paged pool, as the I/O manager allocates its own
/// (it frees a device's VPB with the device); null if the pool has none.
pub fn allocate() -> *mut nt::VPB {
    let size = core::mem::size_of::<nt::VPB>();
    // SAFETY: plain pool allocation; a null result is passed on.
    let vpb = unsafe { nt::ExAllocatePoolWithTag(nt::NonPagedPoolNx, size as u64, TAG) };
    if !vpb.is_null() {
        // SAFETY: a fresh block of `size` bytes.
        unsafe { core::ptr::write_bytes(vpb.cast::<u8>(), 0, size) };
    }
    vpb.cast()
}

/// Frees a VPB that is ours (a spare never used, or one swapped out).
///
/// # Safety
/// `vpb` came from [`allocate`] or the I/O manager, nothing points at it
/// any more, and it is freed once.
pub unsafe fn free(vpb: *mut nt::VPB) {
    if !vpb.is_null() {
        // SAFETY: the caller's promise.
        unsafe { nt::ExFreePool(vpb.cast()) };
    }
}

/// Runs `f` with the VPB spin lock held (the full mode; see above).
pub fn locked<R>(f: impl FnOnce() -> R) -> R {
    if !crate::driver().settings.cached {
        return f();
    }
    let mut irql: nt::KIRQL = 0;
    // SAFETY: the system's VPB lock, released below; `f` does not wait.
    unsafe { nt::IoAcquireVpbSpinLock(&mut irql) };
    let r = f();
    // SAFETY: acquired above.
    unsafe { nt::IoReleaseVpbSpinLock(irql) };
    r
}

/// Mount: the VPB names our volume device and is mounted.
///
/// # Safety
/// `vpb` is the VPB of MOUNT_VOLUME (or the disk's own, unmounted).
pub unsafe fn mounted(vpb: *mut nt::VPB, device: *mut nt::DEVICE_OBJECT) {
    locked(|| {
        // SAFETY: the caller's promise; under the VPB lock.
        unsafe {
            (*vpb).DeviceObject = device;
            (*vpb).Flags |= nt::VPB_MOUNTED as u16;
        }
    });
}

/// Dismount: if the real device still holds `old`, `spare` takes its
/// place there (carrying VPB_REMOVE_PENDING, so that a removal under way
/// is not mounted into); `old` is no longer mounted or locked, and keeps
/// its DeviceObject. Whether the spare was used (then `old` is ours to
/// free, and the spare the device's).
///
/// # Safety
/// `old` is the volume's VPB and `spare` an unused one from [`allocate`].
pub unsafe fn swap_out(old: *mut nt::VPB, spare: *mut nt::VPB) -> bool {
    locked(|| {
        // SAFETY: the caller's promise; under the VPB lock.
        unsafe {
            let real = (*old).RealDevice;
            let swapped = !spare.is_null() && !real.is_null() && (*real).Vpb == old;
            if swapped {
                (*spare).Type = IO_TYPE_VPB;
                (*spare).Size = core::mem::size_of::<nt::VPB>() as i16;
                (*spare).RealDevice = real;
                (*spare).Flags = (*old).Flags & nt::VPB_REMOVE_PENDING as u16;
                (*real).Vpb = spare;
            }
            (*old).Flags &=
                !((nt::VPB_MOUNTED | nt::VPB_LOCKED | nt::VPB_DIRECT_WRITES_ALLOWED) as u16);
            swapped
        }
    })
}

/// The volume device goes (its last file object closed): the old VPB
/// names no device any more.
///
/// # Safety
/// `old` is the volume's VPB, still allocated.
pub unsafe fn device_gone(old: *mut nt::VPB) {
    locked(|| {
        // SAFETY: the caller's promise; under the VPB lock.
        unsafe { (*old).DeviceObject = null_mut() };
    });
}

/// Sets or clears VPB_LOCKED (the volume lock), unless dismounted.
///
/// # Safety
/// `vpb` is a mounted volume's VPB.
pub unsafe fn set_locked(vpb: *mut nt::VPB, lock: bool) {
    locked(|| {
        // SAFETY: the caller's promise; under the VPB lock.
        unsafe {
            if lock {
                (*vpb).Flags |= nt::VPB_LOCKED as u16;
            } else {
                (*vpb).Flags &= !(nt::VPB_LOCKED as u16);
            }
        }
    });
}
