//! Several requests on one handle at once (an overlapped handle, which the
//! I/O manager does not serialise): through `fsd::Handle` they take turns.
//! Reads at the handle's own position each get a whole block of their
//! own (every block read exactly once); directory queries, restarted and
//! continued from four threads, never see a half-made scan; paging I/O
//! runs beside a request holding the handle. Checked against the file's
//! bytes and the directory's listing as debugfs gives it.
mod common;

use std::collections::BTreeSet;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::{Handle, NtStatus};

const BLOCKS: usize = 256;

fn tree(root: &std::path::Path) {
    let data: Vec<u8> = (0..BLOCKS)
        .flat_map(|b| std::iter::repeat_n((b % 251) as u8 + 1, 4096))
        .collect();
    std::fs::write(root.join("blocks"), data).unwrap();
    std::fs::create_dir(root.join("dir")).unwrap();
    for i in 0..300 {
        std::fs::write(root.join(format!("dir/entry-{i:03}")), b"").unwrap();
    }
}

#[test]
fn reads_at_the_handle_position_take_turns() {
    let t = TestVolume::new("one-handle-read", &[], tree);
    let c = t
        .create("\\blocks", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap()
        .ccb;
    let handle = Handle::new(c);
    let blocks: Vec<Vec<u8>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut got = Vec::new();
                    loop {
                        let mut buf = vec![0u8; 4096];
                        let mut ccb = handle.lock();
                        let done = fsd::read::read(t.vol(), &mut ccb, None, &mut buf);
                        if done.status == NtStatus::END_OF_FILE {
                            break got;
                        }
                        assert_eq!(done.status, NtStatus::SUCCESS);
                        assert_eq!(done.information, 4096, "a whole block");
                        got.push(buf);
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let firsts: BTreeSet<u8> = blocks.iter().map(|b| b[0]).collect();
    assert_eq!(blocks.len(), BLOCKS, "every block read once");
    assert!(blocks.iter().all(|b| b.iter().all(|&x| x == b[0])), "torn");
    assert_eq!(firsts.len(), 251.min(BLOCKS));
    // Paging reads need no lock: they go on while a request holds it.
    let held = handle.lock();
    let mut page = vec![0u8; 4096];
    let paged = fsd::read::read_paging(t.vol(), &handle, 4096 * 7, &mut page);
    assert_eq!(paged.status, NtStatus::SUCCESS);
    assert!(page.iter().all(|&x| x == 8));
    drop(held);
    t.close(handle.into_inner());
}

#[test]
fn directory_queries_on_one_handle_take_turns() {
    let mut t = TestVolume::new("one-handle-dir", &[], tree);
    let handle = Handle::new(t.open_dir("\\dir"));
    let listed = t.debugfs("ls -p /dir");
    let expected = listed.matches("entry-").count();
    assert_eq!(expected, 300);
    std::thread::scope(|s| {
        for thread in 0..4 {
            let (handle, t) = (&handle, &t);
            s.spawn(move || {
                for round in 0..25 {
                    // A whole listing, restarted, in small answers; another
                    // thread may restart or continue between two of them,
                    // so only each answer's shape is checked here.
                    let pattern: Vec<u16> = w("entry-*");
                    let mut out = vec![0u8; 512];
                    let mut ccb = handle.lock();
                    let restart = (thread + round) % 3 == 0;
                    let done = query_names(
                        t.vol(),
                        &mut ccb,
                        Some(&pattern),
                        restart,
                        None,
                        false,
                        &mut out,
                    );
                    assert!(
                        matches!(done.status, NtStatus::SUCCESS | NtStatus::NO_MORE_FILES),
                        "{:?}",
                        done.status
                    );
                    assert!(done.information as usize <= out.len());
                }
            });
        }
    });
    // Alone again: one full listing from a restart has every entry.
    let names: BTreeSet<String> = list_all(t.vol(), &mut handle.lock(), "*", 4096)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("entry-")).count(),
        expected
    );
    t.close(handle.into_inner());
    t.finish();
}
