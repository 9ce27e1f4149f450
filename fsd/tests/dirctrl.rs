//! QueryDirectory: patterns, classes and their layouts, buffer rules,
//! single entries, restart, and the statuses at the end of a scan.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    for name in ["b.txt", "A.txt", "c.log", "noext", "Dir.d"] {
        std::fs::write(root.join(name), name.as_bytes()).unwrap();
    }
    std::fs::create_dir(root.join("sub")).unwrap();
}

/// Walks a buffer of entries: (FileIndex, name) of each.
fn entries(buf: &[u8], name_offset: usize, length_offset: usize) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let len = u32_at(buf, at + length_offset) as usize;
        out.push((u32_at(buf, at + 4), name_at(buf, at + name_offset, len)));
        let next = u32_at(buf, at) as usize;
        if next == 0 {
            return out;
        }
        assert_eq!(next % 8, 0, "NextEntryOffset is 8-byte aligned");
        at += next;
    }
}

/// The status of the next FileDirectoryInformation query, from where the
/// scan stands.
fn next_status(t: &TestVolume, ccb: &mut fsd::Ccb) -> NtStatus {
    let (r, _) = query(
        t,
        ccb,
        dirctrl::FILE_DIRECTORY_INFORMATION,
        None,
        4096,
        false,
        false,
    );
    r.status
}

fn query(
    t: &TestVolume,
    ccb: &mut fsd::Ccb,
    class: u32,
    pattern: Option<&str>,
    len: usize,
    restart: bool,
    single: bool,
) -> (fsd::Completion, Vec<u8>) {
    let mut buf = vec![0xCCu8; len];
    let pattern = pattern.map(w);
    let r = dirctrl::query_directory(
        t.vol(),
        ccb,
        &QueryDirectory {
            class,
            pattern: pattern.as_deref(),
            restart_scan: restart,
            return_single_entry: single,
            index: None,
        },
        &mut buf,
    );
    (r, buf)
}

fn names(v: &[(u32, String)]) -> Vec<&str> {
    v.iter().map(|(_, n)| n.as_str()).collect()
}

#[test]
fn enumerate_with_patterns_and_classes() {
    let t = TestVolume::new("dir", &[], tree);
    let mut d = t
        .create("\\", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, 7)
        .unwrap()
        .ccb;
    let (r, buf) = query(
        &t,
        &mut d,
        dirctrl::FILE_DIRECTORY_INFORMATION,
        Some("*"),
        4096,
        false,
        false,
    );
    assert_eq!(r.status, NtStatus::SUCCESS);
    let all = entries(&buf, 64, 60);
    assert_eq!(
        names(&all),
        [
            ".",
            "..",
            "A.txt",
            "b.txt",
            "c.log",
            "Dir.d",
            "lost+found",
            "noext",
            "sub"
        ]
    );
    // The buffer ends right after the last entry's name.
    let last_at: usize = {
        let mut at = 0;
        loop {
            let next = u32_at(&buf, at) as usize;
            if next == 0 {
                break at;
            }
            at += next;
        }
    };
    assert_eq!(r.information as usize, last_at + 64 + 2 * "sub".len());
    assert_eq!(next_status(&t, &mut d), NtStatus::NO_MORE_FILES);

    // Case-insensitive patterns, and each class's name offset.
    for (class, name_off, len_off) in [
        (dirctrl::FILE_FULL_DIRECTORY_INFORMATION, 68, 60),
        (dirctrl::FILE_BOTH_DIRECTORY_INFORMATION, 94, 60),
        (dirctrl::FILE_NAMES_INFORMATION, 12, 8),
        (dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION, 104, 60),
        (dirctrl::FILE_ID_FULL_DIRECTORY_INFORMATION, 80, 60),
        (dirctrl::FILE_ID_EXTD_DIRECTORY_INFORMATION, 88, 60),
    ] {
        let (r, buf) = query(&t, &mut d, class, Some("*.TXT"), 4096, true, false);
        assert_eq!(r.status, NtStatus::SUCCESS, "class {class}");
        assert_eq!(
            names(&entries(&buf, name_off, len_off)),
            ["A.txt", "b.txt"],
            "class {class}"
        );
    }
    let mut d2 = t
        .create("\\", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, 7)
        .unwrap()
        .ccb;
    assert_eq!(
        query(
            &t,
            &mut d2,
            dirctrl::FILE_NAMES_INFORMATION,
            Some("*.none"),
            4096,
            false,
            false
        )
        .0
        .status,
        NtStatus::NO_SUCH_FILE
    );
    assert_eq!(
        query(
            &t,
            &mut d2,
            dirctrl::FILE_NAMES_INFORMATION,
            None,
            4096,
            false,
            false
        )
        .0
        .status,
        NtStatus::NO_MORE_FILES
    );
    // DOS wildcards as FindFirstFile sends "*.*".
    let (_, buf) = query(
        &t,
        &mut d2,
        dirctrl::FILE_NAMES_INFORMATION,
        Some("<\"*"),
        4096,
        true,
        false,
    );
    assert_eq!(entries(&buf, 12, 8).len(), 9);
    t.close(d2);
    t.close(d);
}

#[test]
fn buffer_rules_single_entries_and_restart() {
    let t = TestVolume::new("dirbuf", &[], tree);
    let mut d = t
        .create("\\", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, 7)
        .unwrap()
        .ccb;
    // Too small for the fixed part.
    assert_eq!(
        query(
            &t,
            &mut d,
            dirctrl::FILE_DIRECTORY_INFORMATION,
            Some("*.txt"),
            60,
            false,
            false
        )
        .0
        .status,
        NtStatus::INFO_LENGTH_MISMATCH
    );
    // Room for the fixed part and one character: BUFFER_OVERFLOW, the
    // entry counts as returned.
    let (r, buf) = query(
        &t,
        &mut d,
        dirctrl::FILE_DIRECTORY_INFORMATION,
        Some("*.txt"),
        66,
        false,
        false,
    );
    assert_eq!((r.status, r.information), (NtStatus::BUFFER_OVERFLOW, 66));
    assert_eq!(u32_at(&buf, 60), 10, "FileNameLength is the full length");
    assert_eq!(name_at(&buf, 64, 2), "A");
    // One entry fits, the next waits for the next call.
    let (r, buf) = query(
        &t,
        &mut d,
        dirctrl::FILE_DIRECTORY_INFORMATION,
        None,
        64 + 10 + 8,
        false,
        false,
    );
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(names(&entries(&buf, 64, 60)), ["b.txt"]);
    assert_eq!(next_status(&t, &mut d), NtStatus::NO_MORE_FILES);
    // Restart, one at a time.
    let mut seen = Vec::new();
    let mut restart = true;
    loop {
        let (r, buf) = query(
            &t,
            &mut d,
            dirctrl::FILE_NAMES_INFORMATION,
            None,
            4096,
            restart,
            true,
        );
        restart = false;
        if r.status == NtStatus::NO_MORE_FILES {
            break;
        }
        let e = entries(&buf, 12, 8);
        assert_eq!(e.len(), 1);
        seen.push(e[0].1.clone());
    }
    assert_eq!(seen, ["A.txt", "b.txt"]);
    // A file is not a directory to enumerate.
    let mut f = t
        .create("\\noext", FILE_OPEN, 0, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    assert_eq!(
        query(
            &t,
            &mut f,
            dirctrl::FILE_NAMES_INFORMATION,
            None,
            4096,
            false,
            false
        )
        .0
        .status,
        NtStatus::INVALID_PARAMETER
    );
    t.close(f);
    t.close(d);
}
