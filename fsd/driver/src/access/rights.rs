//! Who may use the driver: the DACL its devices carry (SYSTEM and
//! Administrators, nobody else), and the check of who sent a control
//! request (an administrator, or a caller holding SeManageVolumePrivilege,
//! as Windows asks of whoever mounts or dismounts volumes).
//!
//! IoCreateDeviceSecure lives in wdmsec.lib, a static library of the WDK
//! that the Linux build cannot link; it is IoCreateDevice followed by
//! setting the SDDL's descriptor on the new device. This module does the
//! same with exported routines: the descriptor `D:P(A;;FA;;;SY)(A;;FA;;;BA)`
//! built with Rtl*, set with ZwSetSecurityObject on a kernel handle from
//! ObOpenObjectByPointer, before the device takes requests.
use lkl_ntk::nt;

use crate::irp::Irp;

const ACL_REVISION: u32 = 2;
const SECURITY_DESCRIPTOR_REVISION: u32 = 1;
const DACL_SECURITY_INFORMATION: u32 = 0x4;
const PROTECTED_DACL_SECURITY_INFORMATION: u32 = 0x8000_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
/// SE_MANAGE_VOLUME_PRIVILEGE (winnt.h).
const SE_MANAGE_VOLUME_PRIVILEGE: u32 = 28;

/// S-1-5-18, LocalSystem: revision 1, one sub-authority, NT authority 5.
const SYSTEM_SID: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
/// S-1-5-32-544, BUILTIN\Administrators.
const ADMINISTRATORS_SID: [u8; 16] = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];

/// Gives `device` (new, not yet taking requests) a protected DACL that
/// lets SYSTEM and Administrators do anything and nobody else anything.
pub fn restrict(device: *mut nt::DEVICE_OBJECT) -> Result<(), i32> {
    // An ACL header (8 bytes) and two ACCESS_ALLOWED_ACEs (8 bytes and
    // the SID each), aligned for the ACL.
    let mut acl_room = [0u64; 8];
    let acl: nt::PACL = acl_room.as_mut_ptr().cast();
    let mut system = SYSTEM_SID;
    let mut admins = ADMINISTRATORS_SID;
    // An absolute SECURITY_DESCRIPTOR: revision, Sbz1, control, then the
    // owner, group, SACL and DACL pointers (40 bytes on x64).
    let mut descriptor = [0u64; 5];
    let sd: nt::PSECURITY_DESCRIPTOR = descriptor.as_mut_ptr().cast();
    // SAFETY: the ACL, SIDs and descriptor are ours and outlive the
    // calls; the ACL's room is the size given.
    let status = unsafe {
        let mut status = nt::RtlCreateAcl(acl, size_of_val(&acl_room) as u32, ACL_REVISION);
        for sid in [system.as_mut_ptr(), admins.as_mut_ptr()] {
            if status >= 0 {
                status = nt::RtlAddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, sid.cast());
            }
        }
        if status >= 0 {
            status = nt::RtlCreateSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION);
        }
        if status >= 0 {
            status = nt::RtlSetDaclSecurityDescriptor(sd, 1, acl, 0);
        }
        status
    };
    if status < 0 {
        return Err(status);
    }
    let mut handle: nt::HANDLE = core::ptr::null_mut();
    // SAFETY: our device object; the handle is a kernel handle closed
    // below; the descriptor is absolute and alive for the call.
    let status = unsafe {
        let mut status = nt::ObOpenObjectByPointer(
            device.cast(),
            nt::OBJ_KERNEL_HANDLE,
            core::ptr::null_mut(),
            WRITE_DAC,
            core::ptr::null_mut(),
            nt::KernelMode,
            &mut handle,
        );
        if status >= 0 {
            status = nt::ZwSetSecurityObject(
                handle,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                sd,
            );
            nt::ZwClose(handle);
        }
        status
    };
    if status < 0 {
        Err(status)
    } else {
        Ok(())
    }
}

/// Whether the sender of `irp` may attach, mount and detach volumes: a
/// kernel-mode sender, or a user-mode caller that is an administrator
/// (its token's Administrators group enabled: elevated) or has
/// SeManageVolumePrivilege enabled. Asked on the dispatch thread, which
/// is the caller's.
pub fn may_manage_volumes(irp: Irp) -> bool {
    if !irp.from_user() {
        return true;
    }
    let privilege = nt::LUID {
        LowPart: SE_MANAGE_VOLUME_PRIVILEGE,
        HighPart: 0,
    };
    // SAFETY: a check of the current thread's token, which is the caller's.
    if unsafe { nt::SeSinglePrivilegeCheck(privilege, nt::UserMode) } != 0 {
        return true;
    }
    is_administrator()
}

/// SE_CREATE_SYMBOLIC_LINK_PRIVILEGE (winnt.h).
const SE_CREATE_SYMBOLIC_LINK_PRIVILEGE: u32 = 35;

/// Whether the sender of `irp` may make symlinks (FSCTL_SET_REPARSE_POINT
/// with a symlink), as Windows asks: a kernel-mode sender, or a caller
/// with SeCreateSymbolicLinkPrivilege, or anyone in developer mode. Asked
/// on the dispatch thread, which is the caller's.
pub fn may_create_symlinks(irp: Irp) -> bool {
    if !irp.from_user() {
        return true;
    }
    let privilege = nt::LUID {
        LowPart: SE_CREATE_SYMBOLIC_LINK_PRIVILEGE,
        HighPart: 0,
    };
    // SAFETY: a check of the current thread's token, which is the caller's.
    let held = unsafe { nt::SeSinglePrivilegeCheck(privilege, nt::UserMode) } != 0;
    held || crate::registry::developer_mode()
}

/// TokenUser and TokenGroups, the information classes of a token's user
/// and groups.
const TOKEN_USER_CLASS: u32 = 1;
const TOKEN_GROUPS_CLASS: u32 = 2;
const TOKEN_QUERY: u32 = 0x8;
/// SE_GROUP_ENABLED and SE_GROUP_USE_FOR_DENY_ONLY.
const GROUP_ENABLED: u32 = 0x4;
const GROUP_DENY_ONLY: u32 = 0x10;
const STATUS_NO_TOKEN: i32 = 0xC000_007C_u32 as i32;

/// Whether the current thread's effective token (its impersonation
/// token, else its process's: on the dispatch thread, the caller's) has
/// the Administrators group enabled, as it is only in an elevated token
/// (a filtered one has it for deny only). Read with ZwQueryInformationToken
/// (the subject-context routines are stubs that end Wine's driver host).
pub fn is_administrator() -> bool {
    let Some(token) = open_token() else {
        return false;
    };
    let groups = query(token, TOKEN_GROUPS_CLASS);
    // SAFETY: the handle opened above.
    unsafe { nt::ZwClose(token) };
    groups.is_some_and(|g| enabled_groups(&g).any(is_administrators))
}

/// Whether `sid` is BUILTIN\Administrators.
pub fn is_administrators(sid: &[u8]) -> bool {
    sid == ADMINISTRATORS_SID
}

/// Who the current thread is (on the dispatch thread: the caller): its
/// user's SID, and its enabled groups' SIDs, as bytes; Administrators
/// among them only in an elevated token.
pub struct Identity {
    pub user: alloc::vec::Vec<u8>,
    pub groups: alloc::vec::Vec<alloc::vec::Vec<u8>>,
}

/// The current thread's [`Identity`], if its token can be read.
pub fn identity() -> Option<Identity> {
    let token = open_token()?;
    let user = query(token, TOKEN_USER_CLASS);
    let groups = query(token, TOKEN_GROUPS_CLASS);
    // SAFETY: the handle opened by open_token.
    unsafe { nt::ZwClose(token) };
    let user = user?;
    // TOKEN_USER: one SID_AND_ATTRIBUTES, the SID after it.
    let user_sid = sid_in(&user, user[0] as usize)?.to_vec();
    let groups = groups?;
    Some(Identity {
        user: user_sid,
        groups: enabled_groups(&groups).map(<[u8]>::to_vec).collect(),
    })
}

/// The current thread's effective token (impersonation, else process),
/// opened for query as a kernel handle.
fn open_token() -> Option<nt::HANDLE> {
    let current_thread = -2isize as nt::HANDLE;
    let current_process = -1isize as nt::HANDLE;
    let mut token: nt::HANDLE = core::ptr::null_mut();
    // SAFETY: handles of the current thread and process; a kernel handle
    // out, closed below.
    let mut s = unsafe {
        nt::ZwOpenThreadTokenEx(
            current_thread,
            TOKEN_QUERY,
            1,
            nt::OBJ_KERNEL_HANDLE,
            &mut token,
        )
    };
    if s == STATUS_NO_TOKEN {
        // SAFETY: as above.
        s = unsafe {
            nt::ZwOpenProcessTokenEx(
                current_process,
                TOKEN_QUERY,
                nt::OBJ_KERNEL_HANDLE,
                &mut token,
            )
        };
    }
    (s >= 0).then_some(token)
}

/// Token information of `class` (TOKEN_USER, TOKEN_GROUPS): its words,
/// the pointers in it pointing into them.
fn query(token: nt::HANDLE, class: u32) -> Option<alloc::vec::Vec<u64>> {
    let mut info = alloc::vec![0u64; 1024];
    let mut got = 0u32;
    // SAFETY: a buffer of the size given; the token handle is the caller's.
    let s = unsafe {
        nt::ZwQueryInformationToken(
            token,
            class as _,
            info.as_mut_ptr().cast(),
            (info.len() * 8) as u32,
            &mut got,
        )
    };
    (s >= 0).then_some(info)
}

/// The SID at address `at`, if it lies whole inside `info` (where the
/// token's answer put it).
fn sid_in(info: &[u64], at: usize) -> Option<&[u8]> {
    let base = info.as_ptr() as usize;
    let end = base + info.len() * 8;
    if at < base || at + 8 > end {
        return None;
    }
    // SAFETY: inside `info`, checked above (the header; then its length).
    let count = unsafe { *((at + 1) as *const u8) } as usize;
    let len = 8 + 4 * count;
    // SAFETY: as above, for the whole SID.
    (at + len <= end).then(|| unsafe { core::slice::from_raw_parts(at as *const u8, len) })
}

/// The enabled (not deny-only) groups of a TOKEN_GROUPS answer: the count
/// (padded to 8), then SID_AND_ATTRIBUTES (a SID pointer and the
/// attributes, 16 bytes) each, then the SIDs.
fn enabled_groups(groups: &[u64]) -> impl Iterator<Item = &[u8]> {
    let count = (groups[0] as u32 as usize).min((groups.len() - 1) / 2);
    (0..count).filter_map(move |i| {
        let (sid, attributes) = (groups[1 + 2 * i] as usize, groups[2 + 2 * i] as u32);
        let enabled = attributes & GROUP_ENABLED != 0 && attributes & GROUP_DENY_ONLY == 0;
        enabled.then(|| sid_in(groups, sid)).flatten()
    })
}

/// A SID's text, `S-1-5-21-...`.
pub fn sid_text(sid: &[u8]) -> alloc::string::String {
    let mut authority = [0u8; 8];
    authority[2..].copy_from_slice(&sid[2..8]);
    let mut text = alloc::format!("S-{}-{}", sid[0], u64::from_be_bytes(authority));
    for sub in sid[8..].chunks_exact(4) {
        text += &alloc::format!("-{}", u32::from_le_bytes(sub.try_into().unwrap_or([0; 4])));
    }
    text
}
