//! IRP_MJ_QUERY_SECURITY and IRP_MJ_SET_SECURITY: a self-relative security
//! descriptor made from a file's mode, uid and gid. Owner and group are
//! the S-1-22-1-uid and S-1-22-2-gid SIDs Samba and NFS use; the DACL
//! allows owner, group and Everyone what their permission bits give. A
//! descriptor set on a file maps back to chown and chmod when it can be
//! represented exactly; otherwise STATUS_INVALID_PARAMETER, and nothing
//! changes.
use alloc::vec::Vec;

use lkl::sys;
use lkl::uapi;

use crate::access::*;
use crate::ccb::Ccb;
use crate::linux::{fchmod, fstat, nt};
use crate::status::{Completion, NtStatus};
use crate::volume::Volume;

pub const OWNER_SECURITY_INFORMATION: u32 = 1;
pub const GROUP_SECURITY_INFORMATION: u32 = 2;
pub const DACL_SECURITY_INFORMATION: u32 = 4;

const SE_DACL_PRESENT: u16 = 0x0004;
const SE_SELF_RELATIVE: u16 = 0x8000;
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;

/// A SID: its identifier authority and sub-authorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sid {
    pub authority: u64,
    pub sub: Vec<u32>,
}

impl Sid {
    pub fn unix_user(uid: u32) -> Sid {
        Sid {
            authority: 22,
            sub: alloc::vec![1, uid],
        }
    }
    pub fn unix_group(gid: u32) -> Sid {
        Sid {
            authority: 22,
            sub: alloc::vec![2, gid],
        }
    }
    pub fn everyone() -> Sid {
        Sid {
            authority: 1,
            sub: alloc::vec![0],
        }
    }

    fn len(&self) -> usize {
        8 + 4 * self.sub.len()
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(1);
        out.push(self.sub.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    fn parse(b: &[u8]) -> Option<Sid> {
        let (&rev, &n) = (b.first()?, b.get(1)?);
        if rev != 1 || n > 15 {
            return None;
        }
        let mut auth = [0u8; 8];
        auth[2..].copy_from_slice(b.get(2..8)?);
        let sub = (0..n as usize)
            .map(|i| {
                b.get(8 + 4 * i..12 + 4 * i)
                    .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
            })
            .collect::<Option<Vec<u32>>>()?;
        Some(Sid {
            authority: u64::from_be_bytes(auth),
            sub,
        })
    }
}

/// What one set of rwx bits allows.
pub(crate) fn rights(bits: u32) -> u32 {
    let mut r = READ_CONTROL | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
    if bits & 4 != 0 {
        r |= FILE_GENERIC_READ;
    }
    if bits & 2 != 0 {
        r |= FILE_GENERIC_WRITE | DELETE | FILE_DELETE_CHILD;
    }
    if bits & 1 != 0 {
        r |= FILE_GENERIC_EXECUTE;
    }
    r
}

/// The owner may always change attributes and the descriptor itself.
pub(crate) const OWNER_EXTRA: u32 = WRITE_DAC | WRITE_OWNER | FILE_WRITE_ATTRIBUTES;

fn aces(mode: u32, uid: u32, gid: u32) -> [(Sid, u32); 3] {
    [
        (Sid::unix_user(uid), rights(mode >> 6 & 7) | OWNER_EXTRA),
        (Sid::unix_group(gid), rights(mode >> 3 & 7)),
        (Sid::everyone(), rights(mode & 7)),
    ]
}

/// The self-relative descriptor of a file, with the parts `which` asks for.
pub fn descriptor(mode: u32, uid: u32, gid: u32, which: u32) -> Vec<u8> {
    let mut out = alloc::vec![0u8; 20];
    let mut control = SE_SELF_RELATIVE;
    let mut offsets = [0u32; 4];
    if which & OWNER_SECURITY_INFORMATION != 0 {
        offsets[0] = out.len() as u32;
        Sid::unix_user(uid).write(&mut out);
    }
    if which & GROUP_SECURITY_INFORMATION != 0 {
        offsets[1] = out.len() as u32;
        Sid::unix_group(gid).write(&mut out);
    }
    if which & DACL_SECURITY_INFORMATION != 0 {
        control |= SE_DACL_PRESENT;
        offsets[3] = out.len() as u32;
        let aces = aces(mode, uid, gid);
        let size = 8 + aces.iter().map(|(s, _)| 8 + s.len()).sum::<usize>();
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(size as u16).to_le_bytes());
        out.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for (sid, mask) in &aces {
            out.push(ACCESS_ALLOWED_ACE_TYPE);
            out.push(0);
            out.extend_from_slice(&((8 + sid.len()) as u16).to_le_bytes());
            out.extend_from_slice(&mask.to_le_bytes());
            sid.write(&mut out);
        }
    }
    out[0] = 1;
    out[2..4].copy_from_slice(&control.to_le_bytes());
    for (i, o) in offsets.iter().enumerate() {
        out[4 + 4 * i..8 + 4 * i].copy_from_slice(&o.to_le_bytes());
    }
    out
}

/// IRP_MJ_QUERY_SECURITY: the descriptor, or STATUS_BUFFER_TOO_SMALL with
/// the length needed.
pub fn query(vol: &Volume, ccb: &Ccb, which: u32, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    let st = match nt(fstat(ccb.fd)) {
        Ok(st) => st,
        Err(e) => return e.into(),
    };
    let sd = descriptor(st.st_mode, st.st_uid, st.st_gid, which);
    if out.len() < sd.len() {
        return Completion {
            status: NtStatus::BUFFER_TOO_SMALL,
            information: sd.len() as u64,
        };
    }
    out[..sd.len()].copy_from_slice(&sd);
    Completion::ok(sd.len() as u64)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

/// The mode bits a DACL stands for, if it is exactly one that `aces`
/// makes (given the owner and group it names).
fn mode_of_dacl(acl: &[u8], uid: u32, gid: u32) -> Option<u32> {
    let count = u16_at(acl, 4)?;
    let mut at = 8;
    let mut found: [Option<u32>; 3] = [None; 3];
    for _ in 0..count {
        let (kind, size) = (*acl.get(at)?, u16_at(acl, at + 2)?);
        if kind != ACCESS_ALLOWED_ACE_TYPE || size < 16 {
            return None;
        }
        let mask = u32_at(acl, at + 4)?;
        let sid = Sid::parse(acl.get(at + 8..at + size)?)?;
        let slot = [Sid::unix_user(uid), Sid::unix_group(gid), Sid::everyone()]
            .iter()
            .position(|s| *s == sid)?;
        if found[slot].replace(mask).is_some() {
            return None;
        }
        at += size;
    }
    let mut mode = 0;
    for (slot, mask) in found.iter().enumerate() {
        let mask = mask.unwrap_or(0);
        let extra = if slot == 0 { OWNER_EXTRA } else { 0 };
        let bits = (0..8).find(|&b| rights(b) | extra == mask)?;
        mode |= bits << (6 - 3 * slot);
    }
    Some(mode)
}

/// IRP_MJ_SET_SECURITY.
pub fn set(vol: &Volume, ccb: &Ccb, which: u32, sd: &[u8]) -> Completion {
    match set_inner(vol, ccb, which, sd) {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}

fn set_inner(vol: &Volume, ccb: &Ccb, which: u32, sd: &[u8]) -> Result<(), NtStatus> {
    vol.check_mounted()?;
    // What Windows asks of the handle: WRITE_OWNER to change the owner or
    // group, WRITE_DAC to change the DACL (the I/O manager checks it for
    // user-mode callers; this holds for every sender).
    let needed = if which & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION) != 0 {
        WRITE_OWNER
    } else {
        0
    } | if which & DACL_SECURITY_INFORMATION != 0 {
        WRITE_DAC
    } else {
        0
    };
    if ccb.access & needed != needed {
        return Err(NtStatus::ACCESS_DENIED);
    }
    vol.check_writable()?;
    let bad = NtStatus::INVALID_PARAMETER;
    if sd.len() < 20 || sd[0] != 1 || u16_at(sd, 2).ok_or(bad)? as u16 & SE_SELF_RELATIVE == 0 {
        return Err(bad);
    }
    let st = nt(fstat(ccb.fd))?;
    let (mut uid, mut gid) = (st.st_uid, st.st_gid);
    let sid_at = |field: usize| -> Result<Option<Sid>, NtStatus> {
        match u32_at(sd, field).ok_or(bad)? as usize {
            0 => Ok(None),
            off => Sid::parse(sd.get(off..).ok_or(bad)?).map(Some).ok_or(bad),
        }
    };
    if which & OWNER_SECURITY_INFORMATION != 0 {
        match sid_at(4)? {
            Some(s) if s.authority == 22 && s.sub.len() == 2 && s.sub[0] == 1 => uid = s.sub[1],
            _ => return Err(bad),
        }
    }
    if which & GROUP_SECURITY_INFORMATION != 0 {
        match sid_at(8)? {
            Some(s) if s.authority == 22 && s.sub.len() == 2 && s.sub[0] == 2 => gid = s.sub[1],
            _ => return Err(bad),
        }
    }
    let mut mode = st.st_mode & 0o777;
    if which & DACL_SECURITY_INFORMATION != 0 {
        let off = u32_at(sd, 16).ok_or(bad)? as usize;
        let acl = sd.get(off..).filter(|_| off != 0).ok_or(bad)?;
        mode = mode_of_dacl(acl, uid, gid).ok_or(bad)?;
    }
    // Everything checked: now the changes, the owners put back if the
    // mode cannot follow.
    // Through changing_names, as chmod: the FCB cache remembers owners.
    let chown = |uid, gid| {
        nt(vol.changing_names(|| sys::fchownat(ccb.fd, "", uid, gid, uapi::AT_EMPTY_PATH)))
    };
    let owners_change = (uid, gid) != (st.st_uid, st.st_gid);
    if owners_change {
        chown(uid, gid)?;
    }
    if mode != st.st_mode & 0o777 {
        let chmod = nt(vol.changing_names(|| fchmod(ccb.fd, (st.st_mode & 0o7000) | mode)));
        if chmod.is_err() && owners_change {
            let _ = chown(st.st_uid, st.st_gid);
        }
        chmod?;
    }
    Ok(())
}
