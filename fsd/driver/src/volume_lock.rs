//! The volume lock protocol (FSCTL_LOCK_VOLUME, UNLOCK, DISMOUNT), as
//! FastFat keeps it (`fsctrl.c` FatLockVolumeInternal,
//! FatUnlockVolumeInternal): the lock belongs to the volume handle that
//! took it, only that handle unlocks, and the lock goes with that handle
//! (at its cleanup; at its close too, as Wine sends no cleanup); in the
//! full mode (Windows) the Vpb carries VPB_LOCKED while it is held,
//! changed under the VPB spin lock, and FsRtlNotifyVolumeEvent tells the
//! system of LOCK, UNLOCK, DISMOUNT and their failures (Wine's VPB spin
//! lock and FsRtl routines are stubs that end its driver host).
use core::sync::atomic::Ordering;

use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::volume::{self, MountedVolume};

/// Tells the system of a volume event, in the full mode.
fn notify(file: *mut nt::FILE_OBJECT, event: u32) {
    if crate::driver().settings.cached && !file.is_null() {
        // SAFETY: a file object of the volume, in service.
        unsafe { nt::FsRtlNotifyVolumeEvent(file, event) };
    }
}

/// Sets or clears VPB_LOCKED on the volume's VPB, in the full mode.
fn mark_vpb(vol: &MountedVolume, locked: bool) {
    if !crate::driver().settings.cached || vol.vpb.is_null() {
        return;
    }
    let mut irql: nt::KIRQL = 0;
    // SAFETY: the VPB of the mounted volume; its flags change only under
    // the VPB spin lock.
    unsafe {
        nt::IoAcquireVpbSpinLock(&mut irql);
        if locked {
            (*vol.vpb).Flags |= nt::VPB_LOCKED as u16;
        } else {
            (*vol.vpb).Flags &= !(nt::VPB_LOCKED as u16);
        }
        nt::IoReleaseVpbSpinLock(irql);
    }
}

/// FSCTL_LOCK_VOLUME on the volume handle `file`.
pub fn lock(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    notify(file, nt::FSRTL_VOLUME_LOCK);
    let c = vol.core.lock();
    if c.status.is_error() {
        notify(file, nt::FSRTL_VOLUME_LOCK_FAILED);
        return c;
    }
    vol.locker.store(file as usize, Ordering::SeqCst);
    mark_vpb(vol, true);
    c
}

/// FSCTL_UNLOCK_VOLUME on the volume handle `file`: only the locker's.
pub fn unlock(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    if vol.locker.load(Ordering::SeqCst) != file as usize {
        return NtStatus::NOT_LOCKED.into();
    }
    release(vol, file)
}

/// The lock taken through `file` goes (its unlock, cleanup or close);
/// nothing if `file` holds none.
pub fn release(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    let held = vol
        .locker
        .compare_exchange(file as usize, 0, Ordering::SeqCst, Ordering::SeqCst);
    if held.is_err() {
        return NtStatus::NOT_LOCKED.into();
    }
    mark_vpb(vol, false);
    let c = vol.core.unlock();
    notify(file, nt::FSRTL_VOLUME_UNLOCK);
    c
}

/// FSCTL_DISMOUNT_VOLUME on the volume handle `file`.
pub fn dismount(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    notify(file, nt::FSRTL_VOLUME_DISMOUNT);
    match volume::dismount(vol.number) {
        Ok(()) => Completion::ok(0),
        Err(e) => {
            notify(file, nt::FSRTL_VOLUME_DISMOUNT_FAILED);
            e.into()
        }
    }
}
