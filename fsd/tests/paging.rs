//! Paging I/O as the cache and memory managers send it: on whatever file
//! object they hold, often a read-only open (an indexer's, an
//! antivirus'). A paging write through one still lands in the file (the
//! FCB's read-write descriptor), never past its end, and debugfs reads it.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::{Handle, NtStatus};

#[test]
fn a_paging_write_through_a_read_only_open_lands() {
    let mut t = TestVolume::new("paging-ro", &[], |root| {
        std::fs::write(root.join("f"), vec![b'a'; 8192]).unwrap();
    });
    let c = t
        .create(
            "\\f",
            FILE_OPEN,
            0,
            GENERIC_READ,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
        )
        .unwrap()
        .ccb;
    let handle = Handle::new(c);
    let page = vec![b'b'; 4096];
    let done = fsd::write::write_paging(t.vol(), &handle, 4096, &page);
    assert_eq!(done.status, NtStatus::SUCCESS);
    assert_eq!(done.information, 4096);
    // A page's tail past the end of the file is not the file's.
    let done = fsd::write::write_paging(t.vol(), &handle, 8192, &page);
    assert_eq!(done.status, NtStatus::SUCCESS);
    t.close(handle.into_inner());
    t.finish();
    let data = t.debugfs("cat /f");
    assert_eq!(data.len(), 8192, "no write past the end");
    assert!(data[..4096].bytes().all(|b| b == b'a'));
    assert!(
        data[4096..].bytes().all(|b| b == b'b'),
        "the paging write landed"
    );
}
