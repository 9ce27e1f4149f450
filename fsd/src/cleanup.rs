//! IRP_MJ_CLEANUP: the last handle of an open is closed. Share access and
//! byte-range locks are released, and a file marked for deletion goes
//! with its last handle.
use alloc::vec::Vec;

use lkl::sys;
use lkl::uapi;

use crate::ccb::Ccb;
use crate::status::Completion;
use crate::volume::{Action, Volume};

/// What cleanup did besides completing: lock requests of other opens it
/// granted, and this open's waiting lock requests it cancelled (tags, for
/// the Windows half to complete).
#[derive(Debug, Default)]
pub struct Cleaned {
    pub granted: Vec<u64>,
    pub cancelled: Vec<u64>,
}

pub fn cleanup(vol: &Volume, ccb: &mut Ccb) -> (Completion, Cleaned) {
    if ccb.cleaned_up {
        return (Completion::ok(0), Cleaned::default());
    }
    ccb.cleaned_up = true;
    let (granted, cancelled) = crate::lockctl::release(vol, ccb);
    if ccb.modified {
        vol.changed(&ccb.path, Action::Modified);
    }
    let cleaned = Cleaned { granted, cancelled };
    let delete = {
        let mut state = vol.state.lock();
        let Some(fcb) = state.fcbs.get_mut(&ccb.ino) else {
            return (Completion::ok(0), cleaned);
        };
        fcb.share.remove(ccb.access, ccb.share);
        fcb.handles = fcb.handles.saturating_sub(1);
        if ccb.delete_on_close {
            fcb.delete_pending = true;
        }
        fcb.delete_pending && fcb.handles == 0
    };
    if delete {
        let flags = if ccb.is_dir { uapi::AT_REMOVEDIR } else { 0 };
        if sys::unlinkat(uapi::AT_FDCWD, &ccb.path, flags).is_ok() {
            vol.changed(&ccb.path, Action::Removed);
        }
        if let Some(fcb) = vol.state.lock().fcbs.get_mut(&ccb.ino) {
            fcb.delete_pending = false;
        }
    }
    (Completion::ok(0), cleaned)
}
