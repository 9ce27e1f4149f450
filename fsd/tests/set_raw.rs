//! Set-information requests as Windows sends them: raw buffers in the x64
//! layouts, decoded, then performed; malformed buffers change nothing.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{self, SetRequest};
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::create_dir(root.join("dir")).unwrap();
    std::fs::write(root.join("dir/a.txt"), b"0123456789").unwrap();
}

/// FILE_RENAME_INFORMATION: ReplaceIfExists, RootDirectory, the name.
fn rename_buf(replace: bool, root: u64, name: &str) -> Vec<u8> {
    let name: Vec<u8> = name.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
    let mut b = vec![0u8; 20];
    b[0] = replace as u8;
    b[8..16].copy_from_slice(&root.to_le_bytes());
    b[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend_from_slice(&name);
    while b.len() < 24 {
        b.push(0);
    }
    b
}

fn apply(
    t: &TestVolume,
    ccb: &mut fsd::Ccb,
    class: u32,
    input: &[u8],
    root: Option<&fsd::Ccb>,
) -> NtStatus {
    match SetRequest::decode(class, input) {
        Ok(req) => fileinfo::set(t.vol(), ccb, &req, root).status,
        Err(e) => e,
    }
}

#[test]
fn raw_set_information() {
    let mut t = TestVolume::new("setraw", &[], tree);
    let mut f = t.open("\\dir\\a.txt");
    // FileEndOfFileInformation: 8 bytes.
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_END_OF_FILE_INFORMATION,
            &4u64.to_le_bytes(),
            None
        ),
        NtStatus::SUCCESS
    );
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_END_OF_FILE_INFORMATION,
            &[0; 7],
            None
        ),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    // FileBasicInformation: a short buffer, then times in the right places.
    assert_eq!(
        apply(&t, &mut f, fileinfo::FILE_BASIC_INFORMATION, &[0; 39], None),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    let mut basic = [0u8; 40];
    basic[16..24].copy_from_slice(&fsd::time::to_windows(1_300_000_000, 0).to_le_bytes());
    assert_eq!(
        apply(&t, &mut f, fileinfo::FILE_BASIC_INFORMATION, &basic, None),
        NtStatus::SUCCESS
    );
    let mut bad_time = basic;
    bad_time[0..8].copy_from_slice(&(-3i64).to_le_bytes());
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_BASIC_INFORMATION,
            &bad_time,
            None
        ),
        NtStatus::INVALID_PARAMETER
    );
    // Renames: malformed lengths change nothing.
    let mut odd = rename_buf(false, 0, "\\dir\\b.txt");
    odd[16] = 3;
    assert_eq!(
        apply(&t, &mut f, fileinfo::FILE_RENAME_INFORMATION, &odd, None),
        NtStatus::INVALID_PARAMETER
    );
    let mut long = rename_buf(false, 0, "\\dir\\b.txt");
    long[16] = 200;
    assert_eq!(
        apply(&t, &mut f, fileinfo::FILE_RENAME_INFORMATION, &long, None),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_RENAME_INFORMATION,
            &[0; 23],
            None
        ),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_RENAME_INFORMATION,
            &rename_buf(false, 0, "\\dir\\b\u{0}x"),
            None
        ),
        NtStatus::OBJECT_NAME_INVALID
    );
    // Relative to an open directory (RootDirectory): dir\b.txt.
    let dir = t
        .create("\\dir", FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    let rel = rename_buf(false, 0x44, "b.txt");
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_RENAME_INFORMATION,
            &rel,
            Some(&dir)
        ),
        NtStatus::SUCCESS
    );
    t.close(dir);
    // FileLinkInformation, then FileDispositionInformation (one BOOLEAN).
    assert_eq!(
        apply(
            &t,
            &mut f,
            fileinfo::FILE_LINK_INFORMATION,
            &rename_buf(false, 0, "\\link.txt"),
            None
        ),
        NtStatus::SUCCESS
    );
    // FileLinkInformationEx keeps its flags (a ULONG where the BOOLEAN was).
    let mut ex = rename_buf(false, 0, "\\link.txt");
    ex[..4].copy_from_slice(&0x41u32.to_le_bytes());
    assert_eq!(
        SetRequest::decode(fileinfo::FILE_LINK_INFORMATION_EX, &ex),
        Ok(SetRequest::Link {
            flags: fileinfo::FILE_LINK_REPLACE_IF_EXISTS
                | fileinfo::FILE_LINK_IGNORE_READONLY_ATTRIBUTE,
            root_directory: 0,
            name: w("\\link.txt"),
        })
    );
    assert_eq!(
        apply(&t, &mut f, 1000, &[0; 64], None),
        NtStatus::INVALID_INFO_CLASS
    );
    t.close(f);
    let mut l = t.open("\\link.txt");
    assert_eq!(
        apply(
            &t,
            &mut l,
            fileinfo::FILE_DISPOSITION_INFORMATION,
            &[1],
            None
        ),
        NtStatus::SUCCESS
    );
    t.close(l);
    t.finish();
    let stat = t.debugfs("stat /dir/b.txt");
    assert!(stat.contains("Size: 4"), "{stat}");
    assert!(stat.contains("Links: 1"), "{stat}");
    assert!(stat.contains("mtime: 0x4d7c6d00"), "{stat}");
    assert!(!t.debugfs("ls /dir").contains("a.txt"));
    assert!(!t.debugfs("ls /").contains("link.txt"));
}
