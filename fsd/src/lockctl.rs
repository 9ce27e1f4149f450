//! IRP_MJ_LOCK_CONTROL: byte-range locks with Windows semantics. An
//! exclusive lock keeps other opens from reading and writing the range; a
//! shared lock keeps everyone from writing it. Requests that may wait are
//! queued and granted as conflicting locks go; cleanup releases an open's
//! locks.
use alloc::vec::Vec;

use crate::ccb::Ccb;
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

/// One granted lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    pub owner: u64,
    pub offset: u64,
    pub length: u64,
    pub key: u32,
    pub exclusive: bool,
}

/// A lock request waiting for a conflicting one to go; `tag` names the
/// request for the Windows half (its IRP).
#[derive(Clone, Debug)]
pub struct Waiting {
    pub tag: u64,
    pub lock: Lock,
}

/// A decoded IRP_MN_LOCK.
pub struct LockRequest {
    pub offset: u64,
    pub length: u64,
    pub key: u32,
    pub exclusive: bool,
    pub fail_immediately: bool,
    pub tag: u64,
}

fn overlaps(a_off: u64, a_len: u64, b_off: u64, b_len: u64) -> bool {
    a_len != 0
        && b_len != 0
        && a_off < b_off.saturating_add(b_len)
        && b_off < a_off.saturating_add(a_len)
}

fn conflicts(held: &[Lock], want: &Lock) -> bool {
    held.iter().any(|l| {
        overlaps(l.offset, l.length, want.offset, want.length) && (l.exclusive || want.exclusive)
    })
}

/// Whether open `owner` may read (`write` false) or write the range.
pub(crate) fn io_allowed(held: &[Lock], owner: u64, offset: u64, length: u64, write: bool) -> bool {
    !held.iter().any(|l| {
        overlaps(l.offset, l.length, offset, length)
            && ((l.exclusive && l.owner != owner) || (write && !l.exclusive))
    })
}

/// IRP_MN_LOCK: granted, refused (STATUS_LOCK_NOT_GRANTED), or queued
/// (STATUS_PENDING: [`unlock`] and cleanup report when it is granted).
pub fn lock(vol: &Volume, ccb: &Ccb, req: &LockRequest) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    if ccb.is_dir {
        return NtStatus::INVALID_PARAMETER.into();
    }
    if req.length != 0 && req.offset.checked_add(req.length - 1).is_none() {
        return NtStatus::INVALID_LOCK_RANGE.into();
    }
    let want = Lock {
        owner: ccb.id,
        offset: req.offset,
        length: req.length,
        key: req.key,
        exclusive: req.exclusive,
    };
    let mut state = vol.state.lock();
    let fcb = state.fcbs.entry(ccb.ino).or_default();
    if !conflicts(&fcb.locks, &want) {
        fcb.locks.push(want);
        return Completion::ok(0);
    }
    if req.fail_immediately {
        return NtStatus::LOCK_NOT_GRANTED.into();
    }
    fcb.waiting.push(Waiting {
        tag: req.tag,
        lock: want,
    });
    NtStatus::PENDING.into()
}

/// The waiting request named `tag` is given up (its IRP was cancelled):
/// true if it was still waiting (then the caller completes it), false if
/// it was granted or released meanwhile.
pub fn cancel_waiting(vol: &Volume, tag: u64) -> bool {
    let mut state = vol.state.lock();
    state.fcbs.values_mut().any(|fcb| {
        let before = fcb.waiting.len();
        fcb.waiting.retain(|w| w.tag != tag);
        before != fcb.waiting.len()
    })
}

/// Which locks an unlock request releases.
pub enum Unlock {
    /// IRP_MN_UNLOCK_SINGLE: exactly this range and key.
    Single { offset: u64, length: u64, key: u32 },
    /// IRP_MN_UNLOCK_ALL: every lock of this open.
    All,
    /// IRP_MN_UNLOCK_ALL_BY_KEY.
    AllByKey(u32),
}

/// Releases locks of `ccb`; returns the completion and the tags of waiting
/// requests granted now.
pub fn unlock(vol: &Volume, ccb: &Ccb, which: &Unlock) -> (Completion, Vec<u64>) {
    if let Err(e) = vol.check_mounted() {
        return (e.into(), Vec::new());
    }
    let mut state = vol.state.lock();
    let Some(fcb) = state.fcbs.get_mut(&ccb.ino) else {
        return (NtStatus::RANGE_NOT_LOCKED.into(), Vec::new());
    };
    let before = fcb.locks.len();
    match *which {
        Unlock::Single {
            offset,
            length,
            key,
        } => {
            let found = fcb.locks.iter().position(|l| {
                l.owner == ccb.id && l.offset == offset && l.length == length && l.key == key
            });
            match found {
                Some(i) => {
                    fcb.locks.remove(i);
                }
                None => return (NtStatus::RANGE_NOT_LOCKED.into(), Vec::new()),
            }
        }
        Unlock::All => fcb.locks.retain(|l| l.owner != ccb.id),
        Unlock::AllByKey(key) => fcb.locks.retain(|l| l.owner != ccb.id || l.key != key),
    }
    let released = before != fcb.locks.len();
    let granted = grant_waiting(fcb);
    if !released && matches!(which, Unlock::AllByKey(_)) {
        return (NtStatus::RANGE_NOT_LOCKED.into(), granted);
    }
    (Completion::ok(0), granted)
}

/// Grants, in order, the waiting requests that no longer conflict.
fn grant_waiting(fcb: &mut crate::fcb::Fcb) -> Vec<u64> {
    let mut granted = Vec::new();
    let mut i = 0;
    while i < fcb.waiting.len() {
        if conflicts(&fcb.locks, &fcb.waiting[i].lock) {
            i += 1;
        } else {
            let w = fcb.waiting.remove(i);
            fcb.locks.push(w.lock);
            granted.push(w.tag);
        }
    }
    granted
}

/// At cleanup: the open's locks and waiting requests on `fcb` go; returns
/// the tags of other waiting requests granted now, and of this open's
/// cancelled ones.
pub fn release(fcb: &mut crate::fcb::Fcb, ccb: &Ccb) -> (Vec<u64>, Vec<u64>) {
    if fcb.locks.is_empty() && fcb.waiting.is_empty() {
        return (Vec::new(), Vec::new());
    }
    fcb.locks.retain(|l| l.owner != ccb.id);
    let cancelled: Vec<u64> = fcb
        .waiting
        .iter()
        .filter(|w| w.lock.owner == ccb.id)
        .map(|w| w.tag)
        .collect();
    fcb.waiting.retain(|w| w.lock.owner != ccb.id);
    (grant_waiting(fcb), cancelled)
}
