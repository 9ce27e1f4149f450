//! IRP_MJ_CLOSE: the last reference to a file object went; its open ends.
//! A CLOSE from the I/O manager completes on the dispatch thread at once:
//! the file object is let go there, and the open's end in Linux (closing
//! its descriptors) is posted to a worker, so that closes never wait
//! behind requests that hold every worker (FastFat keeps closes off the
//! caller the same way, with its delayed-close queue). On a worker (the
//! self-test, the relay) the close runs in place.
use alloc::boxed::Box;

use fsd::Completion;
use lkl_ntk::workers;

use crate::file;
use crate::irp::Irp;
use crate::volume::MountedVolume;

/// Serves a CLOSE on the volume `vol` (which lives until unload): what
/// dispatch returns.
pub fn close(vol: &'static MountedVolume, irp: Irp) -> i32 {
    // A volume handle still holding the lock (Wine sends no cleanup).
    let _ = crate::volume_lock::release(vol, irp.file_object());
    let open = file::detach(irp.file_object());
    if workers::is_worker() {
        if let Some(open) = open {
            end(vol, open);
        }
        return irp.complete(Completion::ok(0));
    }
    let status = irp.complete(Completion::ok(0));
    match open {
        Some(Some(ccb)) => {
            let vol = vol as *const MountedVolume as usize;
            // SAFETY (both closures): the volume lives until unload, which
            // lets the queued jobs run before the workers stop.
            let job = workers::Job {
                work: Box::new(move || end(unsafe { &*(vol as *const MountedVolume) }, Some(ccb))),
                if_dead: Box::new(move || unsafe { &*(vol as *const MountedVolume) }.closed()),
            };
            workers::post(job);
        }
        Some(None) => vol.closed(),
        None => {}
    }
    status
}

/// The end of an open taken out of its file object (None: the volume's).
fn end(vol: &MountedVolume, open: Option<fsd::Ccb>) {
    // After a Linux panic the open's descriptors go with Linux.
    if let Some(ccb) = open.filter(|_| !lkl_ntk::death::is_dead()) {
        // Closing may write (a file deleted with its last open).
        vol.core.while_thawed(|| fsd::close::close(&vol.core, ccb));
    }
    vol.closed();
}
