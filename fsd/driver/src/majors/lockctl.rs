//! IRP_MJ_LOCK_CONTROL: byte-range locks through the core (a cached file's
//! oplocks broken first). A lock that
//! must wait is pended (see `pending`) and completed when an unlock or a
//! cleanup grants it, or when it is cancelled.
use fsd::lockctl::{self, LockRequest, Unlock};
use fsd::{Completion, NtStatus};
use lkl_ntk::nt;

use crate::file;
use crate::irp::Irp;
use crate::pending::{self, Wait};
use crate::volume::MountedVolume;

const IRP_MN_LOCK: u32 = 1;
const IRP_MN_UNLOCK_SINGLE: u32 = 2;
const IRP_MN_UNLOCK_ALL: u32 = 3;
const IRP_MN_UNLOCK_ALL_BY_KEY: u32 = 4;

/// None when the IRP was pended (it is completed later).
pub fn lock_control(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    let stack = irp.stack();
    let flags = stack.Flags as u32;
    // SAFETY: the LockControl view of a LOCK_CONTROL stack location.
    let p = unsafe { stack.Parameters.LockControl };
    if let Some(fcb) = file::fcb(irp.file_object()) {
        // A cached file's oplocks are broken as locking needs (FastFat
        // `lockctrl.c`).
        if let Err(e) = crate::cached_io::oplock_check(fcb, irp) {
            return Some(e.into());
        }
    }
    let mut held = match file::ccb(irp.file_object()) {
        Ok(c) => c,
        Err(e) => return Some(e.into()),
    };
    let ccb = &mut *held;
    let length = || {
        // SAFETY: Length points at the sender's LARGE_INTEGER (buffered by
        // the I/O manager for user-mode callers), read as its integer view.
        unsafe { p.Length.as_ref().map(|l| l.QuadPart as u64) }
    };
    // SAFETY: the integer view of the union.
    let offset = unsafe { p.ByteOffset.QuadPart } as u64;
    match stack.MinorFunction as u32 {
        IRP_MN_LOCK => {
            let Some(length) = length() else {
                return Some(NtStatus::INVALID_PARAMETER.into());
            };
            let tag = pending::new_tag();
            let req = LockRequest {
                offset,
                length,
                key: p.Key,
                exclusive: flags & nt::SL_EXCLUSIVE_LOCK != 0,
                fail_immediately: flags & nt::SL_FAIL_IMMEDIATELY != 0,
                tag,
            };
            let c = lockctl::lock(&vol.core, ccb, &req);
            if c.status != NtStatus::PENDING {
                return Some(c);
            }
            pending::pend(irp, vol, Wait::Lock { tag });
            None
        }
        minor => {
            let which = match minor {
                IRP_MN_UNLOCK_SINGLE => match length() {
                    Some(length) => Unlock::Single {
                        offset,
                        length,
                        key: p.Key,
                    },
                    None => return Some(NtStatus::INVALID_PARAMETER.into()),
                },
                IRP_MN_UNLOCK_ALL => Unlock::All,
                IRP_MN_UNLOCK_ALL_BY_KEY => Unlock::AllByKey(p.Key),
                _ => return Some(NtStatus::INVALID_DEVICE_REQUEST.into()),
            };
            let (c, granted) = lockctl::unlock(&vol.core, ccb, &which);
            pending::grant_locks(&granted, NtStatus::SUCCESS);
            Some(c)
        }
    }
}
