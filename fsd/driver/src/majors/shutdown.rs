//! IRP_MJ_SHUTDOWN, which Windows sends to the control device of every
//! registered file system as it shuts down, after the memory manager has
//! written the modified pages (FastFat `shutdown.c`): every volume is
//! dismounted, so Linux writes back all it holds and unmounts cleanly (no
//! journal left to replay), and the image disks flush their files as
//! Linux's last requests ask. A file system that files are still open on
//! is frozen first (see `fsd::Volume::prepare_for_shutdown`).
use fsd::Completion;

use crate::volume;

pub fn shutdown() -> Completion {
    for n in volume::numbers() {
        volume::prepare_for_shutdown(n);
        let _ = volume::dismount(n);
    }
    Completion::ok(0)
}
