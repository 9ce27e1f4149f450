//! IRP_MJ_CLOSE: the open goes away; with the file's last open, its FCB.
use lkl::sys;

use crate::ccb::Ccb;
use crate::cleanup::{delete_on_close, release_handle};
use crate::status::Completion;
use crate::volume::Volume;

pub fn close(vol: &Volume, mut ccb: Ccb) -> Completion {
    let mut state = vol.state.lock();
    let (_, delete) = release_handle(&mut state, &mut ccb);
    if delete {
        drop(state);
        delete_on_close(vol, &ccb);
        state = vol.state.lock();
    }
    if let Some(fcb) = state.fcbs.get_mut(&ccb.ino) {
        fcb.opens = fcb.opens.saturating_sub(1);
        if fcb.opens == 0 {
            state.fcbs.remove(&ccb.ino);
        }
    }
    drop(state);
    let _ = sys::close(ccb.fd);
    Completion::ok(0)
}
