//! What a shell's property pages show: extended attributes, the owner in
//! the security descriptor, and the volume's name, serial number, size,
//! free space and abilities.
use fsd::create::*;
use fsd::{security, volinfo, NtStatus};

use crate::bytes::{ea, ok, u32_at, u64_at};
use crate::files::{make_file, open};
use crate::runner::{needs, volume_flags};
use crate::{Dir, Drive, Outcome, Skip};

/// The volume flag of file systems that keep security descriptors.
const FILE_PERSISTENT_ACLS: u32 = 0x0000_0008;

/// EAs set and read back as NTFS keeps them (names in capitals).
pub fn eas<D: Drive>(d: &D, t: &Dir) -> Outcome {
    needs(
        d,
        volinfo::FILE_SUPPORTS_EXTENDED_ATTRIBUTES,
        "extended attributes",
    )?;
    let f = t.path("tagged");
    make_file(d, &f, b"");
    let (mut h, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let mut buf = [0u8; 128];
    assert_eq!(
        d.query_ea(&mut h, &mut buf).status,
        NtStatus::NO_EAS_ON_FILE,
        "a file without EAs"
    );
    let author = ea("AUTHOR", b"abc");
    ok(d.set_ea(&h, &author));
    let n = ok(d.query_ea(&mut h, &mut buf)) as usize;
    assert_eq!(&buf[..n], &author[..]);
    ok(d.set_ea(&h, &ea("AUTHOR", b"")));
    assert_eq!(
        d.query_ea(&mut h, &mut buf).status,
        NtStatus::NO_EAS_ON_FILE,
        "an EA set empty is gone"
    );
    d.close(h);
    Ok(())
}

/// The owner: a self-relative security descriptor with a valid SID.
pub fn security<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let f = t.path("owned");
    make_file(d, &f, b"");
    let (h, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let mut sd = [0u8; 512];
    let c = d.query_security(&h, security::OWNER_SECURITY_INFORMATION, &mut sd);
    d.close(h);
    if c.status == NtStatus::INVALID_DEVICE_REQUEST && volume_flags(d) & FILE_PERSISTENT_ACLS == 0 {
        return Err(Skip("the volume keeps no security".into()));
    }
    ok(c);
    assert_eq!(sd[0], 1, "revision");
    let control = u16::from_le_bytes([sd[2], sd[3]]);
    assert_ne!(control & 0x8000, 0, "SE_SELF_RELATIVE");
    let owner = u32_at(&sd, 4) as usize;
    assert!(owner >= 20, "an owner");
    assert_eq!(sd[owner], 1, "the owner SID's revision");
    assert!(sd[owner + 1] <= 15, "its subauthority count");
    Ok(())
}

/// The volume's answers: label and serial, sizes that agree, free space
/// that shrinks as a file grows, a disk device, its abilities.
pub fn volume<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let mut info = [0u8; 128];
    ok(d.query_volume_information(volinfo::FILE_FS_VOLUME_INFORMATION, &mut info));
    let label_len = u32_at(&info, 12);
    assert!(
        label_len <= 64 && label_len.is_multiple_of(2),
        "label length {label_len}"
    );

    let sizes = |d: &D| {
        let mut size = [0u8; 24];
        ok(d.query_volume_information(volinfo::FILE_FS_SIZE_INFORMATION, &mut size));
        let mut full = [0u8; 32];
        ok(d.query_volume_information(volinfo::FILE_FS_FULL_SIZE_INFORMATION, &mut full));
        let (total, free) = (u64_at(&size, 0), u64_at(&size, 8));
        let unit = u64::from(u32_at(&size, 16)) * u64::from(u32_at(&size, 20));
        assert!(
            total > 0 && free <= total && unit >= 512,
            "{total} {free} {unit}"
        );
        assert_eq!(u64_at(&full, 0), total, "FullSize's total");
        assert!(
            u64_at(&full, 16) >= u64_at(&full, 8),
            "actual free >= caller's"
        );
        (free, unit)
    };
    let (free_before, unit) = sizes(d);
    let f = t.path("filler");
    let (mut h, _) = open(d, &f, FILE_CREATE, 0).unwrap();
    ok(d.write(&mut h, Some(0), &vec![0x5a; 4 << 20]));
    ok(d.flush(&mut h));
    d.close(h);
    let (free_after, _) = sizes(d);
    assert!(
        free_after * unit + (2 << 20) <= free_before * unit,
        "4 MiB written: free {} -> {} units of {unit}",
        free_before,
        free_after
    );

    let mut device = [0u8; 8];
    ok(d.query_volume_information(volinfo::FILE_FS_DEVICE_INFORMATION, &mut device));
    assert_eq!(u32_at(&device, 0), 7, "FILE_DEVICE_DISK");
    let flags = volume_flags(d);
    assert_ne!(flags & volinfo::FILE_CASE_PRESERVED_NAMES, 0);
    assert_ne!(flags & volinfo::FILE_UNICODE_ON_DISK, 0);
    Ok(())
}
