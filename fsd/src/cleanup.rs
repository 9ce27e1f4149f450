//! IRP_MJ_CLEANUP: the last handle of an open is closed. Share access and
//! byte-range locks are released, and a file marked for deletion goes
//! with its last handle.
use alloc::vec::Vec;

use lkl::uapi;

use crate::ccb::Ccb;
use crate::status::Completion;
use crate::volume::{Action, Volume, VolumeState};

/// What cleanup did besides completing: lock requests of other opens it
/// granted, and this open's waiting lock requests it cancelled (tags, for
/// the Windows half to complete).
#[derive(Debug, Default)]
pub struct Cleaned {
    pub granted: Vec<u64>,
    pub cancelled: Vec<u64>,
}

pub fn cleanup(vol: &Volume, ccb: &mut Ccb) -> (Completion, Cleaned) {
    locate_modified(vol, ccb);
    let mut state = vol.state.lock();
    let (cleaned, delete) = release_handle(&mut state, ccb);
    drop(state);
    if delete {
        delete_on_close(vol, ccb);
    }
    (Completion::ok(0), cleaned)
}

/// Brings a modified open's path up to date before cleanup records the
/// change (another open may have moved the file); with no name left, the
/// change is recorded under the last one.
pub(crate) fn locate_modified(vol: &Volume, ccb: &mut Ccb) {
    if ccb.modified && !ccb.cleaned_up {
        let _ = ccb.refresh_path(vol);
    }
}

/// The state's part of cleanup, with the volume state locked: locks and
/// share access go, changes are recorded. Returns whether the file is now
/// to be deleted (its last handle went with delete pending).
pub(crate) fn release_handle(state: &mut VolumeState, ccb: &mut Ccb) -> (Cleaned, bool) {
    if ccb.cleaned_up {
        return (Cleaned::default(), false);
    }
    ccb.cleaned_up = true;
    if ccb.modified {
        state.changed(&ccb.path, Action::Modified);
    }
    let Some(fcb) = state.fcbs.get_mut(&ccb.ino) else {
        return (Cleaned::default(), false);
    };
    let (granted, cancelled) = crate::lockctl::release(fcb, ccb);
    fcb.share.remove(ccb.access, ccb.share);
    fcb.handles = fcb.handles.saturating_sub(1);
    if ccb.delete_on_close {
        fcb.delete_pending = true;
    }
    let delete = fcb.delete_pending && fcb.handles == 0;
    (Cleaned { granted, cancelled }, delete)
}

/// Deletes the file of `ccb`, whose last handle went with delete pending.
pub(crate) fn delete_on_close(vol: &Volume, ccb: &Ccb) {
    let flags = if ccb.is_dir { uapi::AT_REMOVEDIR } else { 0 };
    let names = vol.names_lock.lock();
    // No name left: another open deleted it already.
    if let Some(path) = ccb.current_path(vol) {
        if vol
            .changing_names(|| crate::beneath::unlink(vol, &path, flags))
            .is_ok()
        {
            vol.changed(&path, Action::Removed);
        }
    }
    drop(names);
    if let Some(fcb) = vol.state.lock().fcbs.get_mut(&ccb.ino) {
        fcb.delete_pending = false;
    }
}
