//! Who asks, in Linux's terms, and what a file lets them do: the check
//! SeAccessCheck makes against the security descriptor the core reports
//! for the file (`security`: an owner ACE S-1-22-1-uid, a group ACE
//! S-1-22-2-gid and an Everyone ACE, each allowing what its rwx bits
//! give), for a caller whose Windows SIDs the driver mapped to a uid and
//! gids. Allow ACEs add up, as Windows evaluates them: the owner gets the
//! owner's, the group's (if a member) and Everyone's rights. A caller
//! mapped to uid 0 is root and may do anything, as on Linux. An unmapped
//! caller is Everyone alone: the "other" bits.
use alloc::vec::Vec;

use lkl::uapi::Stat;

use crate::access::*;
use crate::security::{rights, OWNER_EXTRA};

/// A Windows caller as Linux would see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The uid the caller's user SID maps to, if it does.
    pub uid: Option<u32>,
    /// The gids the caller's group SIDs map to.
    pub gids: Vec<u32>,
}

impl Caller {
    /// Root, who may do anything.
    pub fn is_root(&self) -> bool {
        self.uid == Some(0)
    }

    /// The rights the descriptor of a file whose status is `st` grants.
    pub fn rights_on(&self, st: &Stat) -> u32 {
        if self.is_root() {
            return FILE_ALL_ACCESS;
        }
        let mode = st.st_mode;
        let mut granted = rights(mode & 7);
        if self.gids.contains(&st.st_gid) {
            granted |= rights(mode >> 3 & 7);
        }
        if self.uid == Some(st.st_uid) {
            granted |= rights(mode >> 6 & 7) | OWNER_EXTRA;
        }
        granted
    }
}

/// What an open asks of the file (generic rights mapped), checked against
/// what `caller` has on it (`st`) and, for DELETE, on its directory
/// (`parent`: Windows lets FILE_DELETE_CHILD there stand for DELETE on the
/// file): the rights that remain (MAXIMUM_ALLOWED: those granted), or
/// ACCESS_DENIED.
pub fn check(
    caller: &Caller,
    wanted: u32,
    maximum: bool,
    st: &Stat,
    parent: Option<&Stat>,
) -> Result<u32, crate::status::NtStatus> {
    let mut granted = caller.rights_on(st);
    if parent.is_some_and(|p| caller.rights_on(p) & FILE_DELETE_CHILD != 0) {
        granted |= DELETE;
    }
    if maximum {
        return Ok(wanted & granted);
    }
    if wanted & !granted == 0 {
        Ok(wanted)
    } else {
        Err(crate::status::NtStatus::ACCESS_DENIED)
    }
}

/// What making a file (`dir`: a directory) in a directory whose status is
/// `parent` asks of that directory: FILE_ADD_FILE or FILE_ADD_SUBDIRECTORY.
pub fn may_add(caller: &Caller, parent: &Stat, dir: bool) -> bool {
    let needed = if dir {
        FILE_APPEND_DATA
    } else {
        FILE_WRITE_DATA
    };
    caller.rights_on(parent) & needed != 0
}
