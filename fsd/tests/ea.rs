//! Extended attributes: Windows EAs as Linux user.* xattrs, checked with
//! debugfs.
mod common;

use common::*;
use fsd::ea::{self, QueryEa};
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("f"), b"x").unwrap();
}

/// A FILE_GET_EA_INFORMATION list of names.
fn get_list(names: &[&str]) -> Vec<u8> {
    chained(names.iter().map(|name| {
        let mut e = vec![0, 0, 0, 0, name.len() as u8];
        e.extend_from_slice(name.as_bytes());
        e.push(0);
        e
    }))
}

#[test]
fn eas_are_user_xattrs() {
    let mut t = TestVolume::new("ea", &[], tree);
    let mut c = t.open("\\f");
    let mut buf = vec![0u8; 256];
    let all = QueryEa {
        restart_scan: true,
        ..QueryEa::default()
    };
    let mut q = |req: &QueryEa, buf: &mut [u8]| ea::query(t.vol(), &mut c, req, buf);
    assert_eq!(q(&all, &mut buf).status, NtStatus::NO_EAS_ON_FILE);
    let list = ea_list(&[("Author", b"me"), ("COLOR", b"blue")]);
    assert_eq!(ea::set(t.vol(), &c, &list).status, NtStatus::SUCCESS);
    let mut q = |req: &QueryEa, buf: &mut [u8]| ea::query(t.vol(), &mut c, req, buf);
    let r = q(&all, &mut buf);
    assert_eq!(r.status, NtStatus::SUCCESS);
    let both = ea_list(&[("AUTHOR", b"me"), ("COLOR", b"blue")]);
    assert_eq!(&buf[..r.information as usize], &both[..]);
    assert_eq!(q(&all, &mut [0u8; 12]).status, NtStatus::BUFFER_TOO_SMALL);
    let r = q(&all, &mut buf[..20]);
    assert_eq!((r.status, r.information), (NtStatus::BUFFER_OVERFLOW, 17));
    // Continue where the last call stopped, one at a time, then the end.
    let next = QueryEa {
        return_single_entry: true,
        ..QueryEa::default()
    };
    let r = q(&next, &mut buf);
    assert_eq!(
        &buf[..r.information as usize],
        &ea_list(&[("COLOR", b"blue")])[..]
    );
    assert_eq!(q(&next, &mut buf).status, NtStatus::NO_MORE_EAS);
    // By index (1-based) and by name (an absent name comes back empty).
    let second = QueryEa {
        index: Some(2),
        ..QueryEa::default()
    };
    let r = q(&second, &mut buf);
    assert_eq!(
        &buf[..r.information as usize],
        &ea_list(&[("COLOR", b"blue")])[..]
    );
    let bad_index = QueryEa {
        index: Some(3),
        ..QueryEa::default()
    };
    assert_eq!(
        q(&bad_index, &mut buf).status,
        NtStatus::NONEXISTENT_EA_ENTRY
    );
    let names = get_list(&["color", "none"]);
    let by_name = QueryEa {
        ea_list: Some(&names),
        ..QueryEa::default()
    };
    let r = q(&by_name, &mut buf);
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(
        &buf[..r.information as usize],
        &ea_list(&[("COLOR", b"blue"), ("NONE", b"")])[..]
    );

    let mut info = [0u8; 4];
    fsd::fileinfo::query(t.vol(), &c, fsd::fileinfo::FILE_EA_INFORMATION, &mut info);
    assert_eq!(
        u32_at(&info, 0) as usize,
        both.len(),
        "EaSize is what a full query needs"
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
