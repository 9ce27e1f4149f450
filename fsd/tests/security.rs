//! Security descriptors from mode, uid and gid, and back.
mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use fsd::security::{self, *};
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    let f = root.join("f");
    std::fs::write(&f, b"x").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
}

const ALL: u32 =
    OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
const WRITE_DAC_AND_OWNER: u32 = fsd::access::WRITE_DAC | fsd::access::WRITE_OWNER;

#[test]
fn descriptor_layout_and_round_trip() {
    let mut t = TestVolume::new("security", &[], tree);
    let open = |access| {
        t.create("\\f", fsd::create::FILE_OPEN, 0, access, 7)
            .unwrap()
            .ccb
    };
    let c = open(fsd::access::GENERIC_READ | WRITE_DAC_AND_OWNER);
    let mut small = [0u8; 8];
    let r = security::query(t.vol(), &c, ALL, &mut small);
    assert_eq!(r.status, NtStatus::BUFFER_TOO_SMALL);
    let mut sd = vec![0u8; r.information as usize];
    assert_eq!(
        security::query(t.vol(), &c, ALL, &mut sd).status,
        NtStatus::SUCCESS
    );
    // Header: revision 1, self-relative with a DACL.
    assert_eq!(sd[0], 1);
    assert_eq!(u16::from_le_bytes([sd[2], sd[3]]), 0x8004);
    // Owner S-1-22-1-0 right after the header.
    let owner = u32_at(&sd, 4) as usize;
    assert_eq!(owner, 20);
    assert_eq!(&sd[owner..owner + 8], &[1, 2, 0, 0, 0, 0, 0, 22]);
    assert_eq!(u32_at(&sd, owner + 8), 1);
    assert_eq!(u32_at(&sd, owner + 12), 0);
    // DACL: revision 2, three ACEs; Everyone may not read a 0640 file.
    let dacl = u32_at(&sd, 16) as usize;
    assert_eq!(sd[dacl], 2);
    assert_eq!(u16::from_le_bytes([sd[dacl + 4], sd[dacl + 5]]), 3);
    assert_eq!(sd, descriptor(0o100640, 0, 0, ALL));
    let everyone_mask = {
        let first = dacl + 8;
        let second = first + u16::from_le_bytes([sd[first + 2], sd[first + 3]]) as usize;
        let third = second + u16::from_le_bytes([sd[second + 2], sd[second + 3]]) as usize;
        u32_at(&sd, third + 4)
    };
    assert_eq!(everyone_mask & fsd::access::FILE_READ_DATA, 0);

    // A descriptor for 0754, owner 1000, group 100 maps back to chmod/chown;
    // not through a handle without WRITE_OWNER and WRITE_DAC, as on Windows.
    let wanted = descriptor(0o754, 1000, 100, ALL);
    let plain = open(fsd::access::GENERIC_READ | fsd::access::GENERIC_WRITE);
    for which in [OWNER_SECURITY_INFORMATION, DACL_SECURITY_INFORMATION, ALL] {
        assert_eq!(
            security::set(t.vol(), &plain, which, &wanted).status,
            NtStatus::ACCESS_DENIED
        );
    }
    t.close(plain);
    assert!(t.debugfs("stat /f").contains("Mode:  0640"));
    assert_eq!(
        security::set(t.vol(), &c, ALL, &wanted).status,
        NtStatus::SUCCESS
    );
    // One Linux cannot represent: refused, nothing changed.
    let mut odd = wanted.clone();
    let dacl = u32_at(&odd, 16) as usize;
    let mask_at = dacl + 8 + 4;
    odd[mask_at] ^= 0x01;
    assert_eq!(
        security::set(t.vol(), &c, ALL, &odd).status,
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        security::set(t.vol(), &c, ALL, &odd[..10]).status,
        NtStatus::INVALID_PARAMETER
    );
    t.close(c);
    t.finish();
    let stat = t.debugfs("stat /f");
    assert!(stat.contains("Mode:  0754"), "{stat}");
    assert!(stat.contains("User:  1000   Group:   100"), "{stat}");
}
