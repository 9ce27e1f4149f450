//! IRP_MJ_PNP sent to a volume device: the removal of the device it is
//! mounted from (an eject, a VHD detached, a disk pulled out). As FastFat
//! `pnp.c` does: a removal query locks the volume (the cache written out
//! and purged first; refused while files are open, and then not passed
//! on), is passed on and waited for, and if the device below agrees the
//! volume is dismounted; a removal passes on first and dismounts after;
//! a surprise removal likewise, with what could not be written counted
//! lost; a cancelled removal unlocks. Everything else, TargetDeviceRelation
//! included, is the storage stack's to answer and is passed on untouched
//! (WDK "IRP_MN_QUERY_DEVICE_RELATIONS": only the bus driver answers).
use fsd::Completion;
use lkl_ntk::nt;

use crate::dispatch::in_linux;
use crate::forward::{forward_and_wait, pass_down};
use crate::irp::Irp;
use crate::volume::{self, MountedVolume};
use crate::volume_lock;

/// Serves IRP_MJ_PNP on `vol`'s device: what dispatch returns.
pub fn pnp(vol: &MountedVolume, irp: Irp) -> i32 {
    let target = vol.target;
    // SAFETY: volumes stay in memory until unload, after every request.
    let vol: &'static MountedVolume = unsafe { &*(vol as *const MountedVolume) };
    match irp.minor() as u32 {
        nt::IRP_MN_QUERY_REMOVE_DEVICE => in_linux(irp, move |irp| Some(query_remove(vol, irp))),
        nt::IRP_MN_REMOVE_DEVICE => in_linux(irp, move |irp| {
            volume_lock::unlock_after_removal(vol);
            Some(removed(vol, irp, false))
        }),
        nt::IRP_MN_SURPRISE_REMOVAL => in_linux(irp, move |irp| Some(removed(vol, irp, true))),
        nt::IRP_MN_CANCEL_REMOVE_DEVICE => in_linux(irp, move |irp| {
            volume_lock::unlock_after_removal(vol);
            Some(forward_and_wait(irp, vol.target))
        }),
        _ => pass_down(irp, target),
    }
}

/// May the device go? Only if the volume can be locked; then as the
/// device below says, and if it goes the volume goes first.
fn query_remove(vol: &MountedVolume, irp: Irp) -> Completion {
    let locked = volume_lock::lock_for_removal(vol);
    if locked.status.is_error() {
        return locked;
    }
    let answer = forward_and_wait(irp, vol.target);
    if !answer.status.is_error() {
        let _ = volume::dismount(vol.number);
    }
    answer
}

/// The device went (`surprise`: before we heard of it, so nothing more
/// can be written to it) or is going (its removal query dismounted the
/// volume already, unless it came without one): the device below is
/// told, then the volume, if still mounted, is dismounted; if that lost
/// writes, the volume's handles are told so.
fn removed(vol: &MountedVolume, irp: Irp, surprise: bool) -> Completion {
    let answer = forward_and_wait(irp, vol.target);
    if vol.is_dismounted() {
        return answer;
    }
    let flushed = if surprise {
        Ok(())
    } else {
        crate::cached_io::flush_and_purge(vol, true)
    };
    if volume::dismount(vol.number).and(flushed).is_err() {
        volume::mark_writes_lost(vol.number);
    }
    answer
}
