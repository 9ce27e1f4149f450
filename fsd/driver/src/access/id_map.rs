//! Windows callers as Linux users: the service key's table of SIDs to
//! uids (`UserIds`, REG_MULTI_SZ of `S-1-5-21-...=1000`) and gids
//! (`GroupIds`, `SID=100`), and `AdministratorsAreRoot` (DWORD, 1: an
//! elevated administrator is root), read at each mount; file systems
//! whose UUID is in `IgnorePermissions` (REG_MULTI_SZ) check none. A
//! CREATE from user mode carries its caller, found on the dispatch thread
//! (the caller's) from its token, into the core's check (`fsd::permissions`).
use alloc::string::String;
use alloc::vec::Vec;

use fsd::permissions::Caller;

use crate::registry;
use crate::rights;

/// A volume's table (None on a volume that ignores permissions).
pub struct IdMap {
    users: Vec<(String, u32)>,
    groups: Vec<(String, u32)>,
    admins_are_root: bool,
}

/// `SID=number` lines; others are left out.
fn pairs(lines: Vec<String>) -> Vec<(String, u32)> {
    lines
        .into_iter()
        .filter_map(|l| {
            let (sid, id) = l.split_once('=')?;
            Some((sid.trim().to_ascii_uppercase(), id.trim().parse().ok()?))
        })
        .collect()
}

impl IdMap {
    /// The table for a file system with UUID `uuid` (None for a partition
    /// whose UUID is not known here: checked), read from the service key
    /// at `path`; None if that file system ignores permissions.
    pub fn read(path: &[u16], uuid: Option<&[u8; 16]>) -> Option<IdMap> {
        if uuid.is_some_and(|u| registry::listed(path, "IgnorePermissions", u)) {
            return None;
        }
        Some(IdMap {
            users: pairs(registry::strings(path, "UserIds")),
            groups: pairs(registry::strings(path, "GroupIds")),
            admins_are_root: registry::service_dword(path, "AdministratorsAreRoot") == Some(1),
        })
    }

    /// The current thread's caller in Linux terms (an unreadable token:
    /// nobody, who gets the "other" bits).
    pub fn caller(&self) -> Caller {
        let Some(identity) = rights::identity() else {
            return Caller::default();
        };
        let find = |table: &[(String, u32)], sid: &[u8]| {
            let text = rights::sid_text(sid);
            table.iter().find(|(s, _)| *s == text).map(|&(_, id)| id)
        };
        let admin = identity.groups.iter().any(|g| rights::is_administrators(g));
        let uid = if self.admins_are_root && admin {
            Some(0)
        } else {
            find(&self.users, &identity.user)
        };
        Caller {
            uid,
            gids: identity
                .groups
                .iter()
                .filter_map(|g| find(&self.groups, g))
                .collect(),
        }
    }
}
