//! A file manager listing a folder: all of it, by wildcard patterns, with
//! sizes and attributes, and the answers at the end of a listing.
use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION;
use fsd::{attributes, NtStatus};

use crate::bytes::{entries, Entry};
use crate::files::{make_dir, make_file, SHARE_ALL};
use crate::{Dir, Drive, Outcome};

/// What a search for `pattern` in `dir` lists, as FindFirstFile and
/// FindNextFile ask (an open of its own, the pattern on the first query
/// only), sorted (the order is each file system's own); and the status
/// that ended it.
fn list<D: Drive>(d: &D, dir: &str, pattern: &str) -> (Vec<Entry>, NtStatus) {
    let (mut h, _) = d
        .create(
            dir,
            FILE_OPEN,
            FILE_DIRECTORY_FILE,
            FILE_LIST_DIRECTORY,
            SHARE_ALL,
        )
        .unwrap();
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut first = true;
    loop {
        let c = d.query_directory(
            &mut h,
            FILE_ID_BOTH_DIRECTORY_INFORMATION,
            first.then_some(pattern),
            first,
            &mut buf,
        );
        if c.status != NtStatus::SUCCESS {
            d.close(h);
            all.sort();
            return (all, c.status);
        }
        all.extend(entries(&buf[..c.information as usize]));
        first = false;
    }
}

fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

pub fn listing<D: Drive>(d: &D, t: &Dir) -> Outcome {
    for (name, data) in [("a.txt", "aaa"), ("b.txt", "bbbbb"), ("c.log", "c")] {
        make_file(d, &t.path(name), data.as_bytes());
    }
    make_dir(d, &t.path("sub"));
    let dir = format!("\\{}", t.name);
    let (all, end) = list(d, &dir, "*");
    assert_eq!(end, NtStatus::NO_MORE_FILES);
    assert_eq!(names(&all), [".", "..", "a.txt", "b.txt", "c.log", "sub"]);
    let b = &all[3];
    assert_eq!(b.size, 5, "b.txt's EndOfFile");
    assert_eq!(b.attributes & attributes::DIRECTORY, 0);
    assert_ne!(all[5].attributes & attributes::DIRECTORY, 0, "sub");

    let (txt, _) = list(d, &dir, "*.TXT");
    assert_eq!(names(&txt), ["a.txt", "b.txt"], "matched without case");
    let (one, _) = list(d, &dir, "?.log");
    assert_eq!(names(&one), ["c.log"]);
    let (exact, _) = list(d, &dir, "B.TXT");
    assert_eq!(names(&exact), ["b.txt"]);
    let (none, status) = list(d, &dir, "*.none");
    assert!(none.is_empty());
    assert_eq!(status, NtStatus::NO_SUCH_FILE, "no match at all");
    let (dots, _) = list(d, &t.path("sub"), "*");
    assert_eq!(names(&dots), [".", ".."], "an empty directory");
    let mut buf = [0u8; 4096];
    let (mut file, _) = d
        .create(&t.path("a.txt"), FILE_OPEN, 0, GENERIC_READ, SHARE_ALL)
        .unwrap();
    assert_ne!(
        d.query_directory(
            &mut file,
            FILE_ID_BOTH_DIRECTORY_INFORMATION,
            None,
            true,
            &mut buf
        )
        .status,
        NtStatus::SUCCESS,
        "listing a file"
    );
    d.close(file);
    Ok(())
}
