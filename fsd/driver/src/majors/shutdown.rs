//! IRP_MJ_SHUTDOWN, which Windows sends to the control device of every
//! registered file system as it shuts down, after the memory manager has
//! written the modified pages (FastFat `shutdown.c`). A volume no file is
//! open on is dismounted, so Linux writes back all it holds and unmounts
//! cleanly (no journal left to replay), and the image disks flush their
//! files as Linux's last requests ask. A volume that files are still open
//! on stays mounted, as FastFat dismounts nothing in use: written out and
//! frozen (clean on disk however the power goes), and what is written
//! after still lands (see `fsd::Volume::prepare_for_shutdown`,
//! `while_thawed`).
use fsd::Completion;

use crate::volume;

pub fn shutdown() -> Completion {
    for n in volume::numbers() {
        volume::prepare_for_shutdown(n);
        if !volume::has_open_files(n) {
            let _ = volume::dismount(n);
        }
    }
    Completion::ok(0)
}
