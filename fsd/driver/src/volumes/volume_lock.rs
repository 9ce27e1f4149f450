//! The volume lock protocol (FSCTL_LOCK_VOLUME, UNLOCK, DISMOUNT), as
//! FastFat keeps it (`fsctrl.c` FatLockVolumeInternal,
//! FatUnlockVolumeInternal): the lock belongs to the volume handle that
//! took it, only that handle unlocks, and the lock goes with that handle
//! (at its cleanup; at its close too, as Wine sends no cleanup); the VPB
//! carries VPB_LOCKED while it is held (see `vpb`), and in the full mode
//! (Windows) FsRtlNotifyVolumeEvent tells the system of LOCK, UNLOCK,
//! DISMOUNT and their failures (Wine's FsRtl routines are stubs that end
//! its driver host). A removal query (PnP) takes the lock for no handle.
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

/// Sets or clears VPB_LOCKED on the volume's VPB (see `vpb`), while the
/// volume is mounted.
fn mark_vpb(vol: &MountedVolume, locked: bool) {
    if !vol.vpb.is_null() && !vol.is_dismounted() {
        // SAFETY: the VPB of the mounted volume.
        unsafe { crate::vpb::set_locked(vol.vpb, locked) };
    }
}

/// The locker of a removal's lock (PnP QUERY_REMOVE_DEVICE): no handle.
const REMOVAL: usize = 1;

/// FSCTL_LOCK_VOLUME on the volume handle `file`: the cache written out
/// and purged first, so that files it alone keeps open do not refuse it.
pub fn lock(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    notify(file, nt::FSRTL_VOLUME_LOCK);
    if let Err(e) = crate::cached_io::flush_and_purge(vol, false) {
        notify(file, nt::FSRTL_VOLUME_LOCK_FAILED);
        return e.into();
    }
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

/// A removal query (PnP QUERY_REMOVE_DEVICE) locks the volume as a lock
/// request would, for no handle (FastFat `pnp.c` FatPnpQueryRemove):
/// refused while files are open.
pub fn lock_for_removal(vol: &MountedVolume) -> Completion {
    if let Err(e) = crate::cached_io::flush_and_purge(vol, false) {
        return e.into();
    }
    let c = vol.core.lock();
    if c.status.is_error() {
        return c;
    }
    vol.locker.store(REMOVAL, Ordering::SeqCst);
    mark_vpb(vol, true);
    c
}

/// The removal was cancelled, or is going on: its lock goes, if it holds
/// one.
pub fn unlock_after_removal(vol: &MountedVolume) {
    let held = vol
        .locker
        .compare_exchange(REMOVAL, 0, Ordering::SeqCst, Ordering::SeqCst);
    if held.is_ok() {
        mark_vpb(vol, false);
        let _ = vol.core.unlock();
    }
}

/// FSCTL_DISMOUNT_VOLUME on the volume handle `file`: the cache written
/// out and purged, the sections closed, then the volume dismounted.
pub fn dismount(vol: &MountedVolume, file: *mut nt::FILE_OBJECT) -> Completion {
    notify(file, nt::FSRTL_VOLUME_DISMOUNT);
    let flushed = crate::cached_io::flush_and_purge(vol, true);
    match volume::dismount(vol.number) {
        // Dismounted, but what the cache held could not all be written.
        Ok(()) if flushed.is_err() => NtStatus::LOST_WRITEBEHIND_DATA.into(),
        Ok(()) => Completion::ok(0),
        Err(e) => {
            notify(file, nt::FSRTL_VOLUME_DISMOUNT_FAILED);
            e.into()
        }
    }
}
