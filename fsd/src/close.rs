//! IRP_MJ_CLOSE: the open goes away; with the file's last open, its FCB
//! goes too or stays idle for the next open (see [`crate::cache`]).
use crate::ccb::Ccb;
use crate::cleanup::{delete_on_close, locate_modified, release_handle};
use crate::status::Completion;
use crate::volume::Volume;

pub fn close(vol: &Volume, mut ccb: Ccb) -> Completion {
    locate_modified(vol, &mut ccb);
    let mut state = vol.state.lock();
    let (_, delete) = release_handle(&mut state, &mut ccb);
    if delete {
        drop(state);
        delete_on_close(vol, &ccb);
        state = vol.state.lock();
    }
    let generation = vol
        .names_generation()
        .filter(|_| vol.check_mounted().is_ok());
    let closing = state.closed(ccb.ino, generation);
    drop(state);
    closing.close();
    Completion::ok(0)
}
