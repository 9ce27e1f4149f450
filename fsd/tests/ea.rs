//! Extended attributes: Windows EAs as Linux user.* xattrs, checked with
//! getfattr-equivalent debugfs output.
mod common;

use common::*;
use fsd::ea;
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("f"), b"x").unwrap();
}

/// A FILE_FULL_EA_INFORMATION list of (name, value).
fn ea_list(eas: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, value)) in eas.iter().enumerate() {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(0);
        out.push(name.len() as u8);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        if i + 1 < eas.len() {
            while out.len() % 4 != 0 {
                out.push(0);
            }
            let next = (out.len() - start) as u32;
            out[start..start + 4].copy_from_slice(&next.to_le_bytes());
        }
    }
    out
}

#[test]
fn eas_are_user_xattrs() {
    let mut t = TestVolume::new("ea", &[], tree);
    let c = t.open("\\f");
    let mut buf = vec![0u8; 256];
    assert_eq!(
        ea::query(t.vol(), &c, &mut buf).status,
        NtStatus::NO_EAS_ON_FILE
    );
    let list = ea_list(&[("Author", b"me"), ("COLOR", b"blue")]);
    assert_eq!(ea::set(t.vol(), &c, &list).status, NtStatus::SUCCESS);
    let r = ea::query(t.vol(), &c, &mut buf);
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(
        &buf[..r.information as usize],
        &ea_list(&[("AUTHOR", b"me"), ("COLOR", b"blue")])[..]
    );
    let mut small = [0u8; 12];
    assert_eq!(
        ea::query(t.vol(), &c, &mut small).status,
        NtStatus::BUFFER_TOO_SMALL
    );
    let mut one = [0u8; 20];
    assert_eq!(
        ea::query(t.vol(), &c, &mut one).status,
        NtStatus::BUFFER_OVERFLOW
    );
    let mut info = [0u8; 4];
    fsd::fileinfo::query(t.vol(), &c, fsd::fileinfo::FILE_EA_INFORMATION, &mut info);
    assert_eq!(
        u32_at(&info, 0),
        r.information as u32,
        "EaSize is what the query needed"
    );
    // An empty value removes; a malformed list changes nothing.
    assert_eq!(
        ea::set(t.vol(), &c, &ea_list(&[("author", b"")])).status,
        NtStatus::SUCCESS
    );
    let mut bad = ea_list(&[("x", b"1")]);
    bad[5] = 40;
    assert_eq!(
        ea::set(t.vol(), &c, &bad).status,
        NtStatus::EA_LIST_INCONSISTENT
    );
    assert_eq!(
        ea::set(t.vol(), &c, &ea_list(&[("a:b", b"1")])).status,
        NtStatus::INVALID_EA_NAME
    );
    t.close(c);
    t.finish();
    let attrs = t.debugfs("ea_list /f");
    assert!(
        attrs.contains("user.color") && attrs.contains("blue"),
        "{attrs}"
    );
    assert!(!attrs.contains("author"), "{attrs}");
}
