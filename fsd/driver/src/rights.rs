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

/// TokenGroups, the information class of a token's groups.
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
    if s < 0 {
        return false;
    }
    // TOKEN_GROUPS: the count (padded to 8), then SID_AND_ATTRIBUTES
    // (a SID pointer and the attributes, 16 bytes) each, then the SIDs.
    let mut groups = alloc::vec![0u64; 1024];
    let mut got = 0u32;
    // SAFETY: a buffer of the size given; the token handle is ours.
    let s = unsafe {
        let s = nt::ZwQueryInformationToken(
            token,
            TOKEN_GROUPS_CLASS as _,
            groups.as_mut_ptr().cast(),
            (groups.len() * 8) as u32,
            &mut got,
        );
        nt::ZwClose(token);
        s
    };
    if s < 0 {
        return false;
    }
    let count = (groups[0] as u32 as usize).min((groups.len() - 1) / 2);
    let base = groups.as_ptr() as usize;
    let end = base + groups.len() * 8;
    (0..count).any(|i| {
        let (sid, attributes) = (groups[1 + 2 * i] as usize, groups[2 + 2 * i] as u32);
        let enabled = attributes & GROUP_ENABLED != 0 && attributes & GROUP_DENY_ONLY == 0;
        // The SIDs lie in the buffer, after the array.
        let inside = sid >= base && sid + ADMINISTRATORS_SID.len() <= end;
        // SAFETY: a range inside `groups`, checked just above.
        enabled
            && inside
            && unsafe { core::slice::from_raw_parts(sid as *const u8, ADMINISTRATORS_SID.len()) }
                == ADMINISTRATORS_SID
    })
}
