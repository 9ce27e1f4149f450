//! A directory of a million entries is listed whole, each entry once,
//! within a memory cap: past `SCAN_BUDGET` of names the scan holds a
//! window at a time instead of every name (this test binary counts every
//! allocation, and the listing may not add more than 32 MiB at its
//! peak; holding the names would take about 60 MiB). Checked against the
//! names made and e2fsck.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use fsd::NtStatus;
use lkl::{sys, uapi};

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator as it came; only the
// counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: a block this allocator gave, with its layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Entries: links to a few files (each takes up to 65,000 names).
const ENTRIES: usize = 1_000_000;
const PER_FILE: usize = 62_500;

#[test]
fn a_million_entries_are_listed_within_a_memory_cap() {
    let populate = |root: &std::path::Path| std::fs::create_dir(root.join("big")).unwrap();
    let mut t = TestVolume::made_by("big-dir", populate, &["e2fsck", "-fn"], |tree, image| {
        let (tree, image) = (tree.display().to_string(), image.display().to_string());
        let args = [
            "-q",
            "-F",
            "-b",
            "4096",
            "-O",
            "large_dir",
            "-d",
            &tree,
            &image,
            "256M",
        ];
        run("mkfs.ext4", &args);
    })
    .mounted(fsd::VolumeOptions::default());
    let dir = format!("{}/big", t.vol().root());
    let dir_fd = sys::openat(uapi::AT_FDCWD, &dir, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
    for i in 0..ENTRIES {
        let name = format!("entry-{i:07}");
        if i % PER_FILE == 0 {
            let flags = uapi::O_CREAT | uapi::O_WRONLY | uapi::O_EXCL;
            sys::close(sys::openat(dir_fd, &name, flags, 0o644).unwrap()).unwrap();
        } else {
            let first = format!("entry-{:07}", i / PER_FILE * PER_FILE);
            sys::linkat(dir_fd, &first, dir_fd, &name, 0).unwrap();
        }
    }
    sys::close(dir_fd).unwrap();

    let mut c = t.open_dir("\\big");
    let pattern: Vec<u16> = w("*");
    // Which entries were listed, by number (no allocation per name, so
    // that every byte counted below is the scan's).
    let mut seen = vec![false; ENTRIES];
    let mut dots = 0;
    let mut restart = true;
    let mut out = vec![0u8; 64 << 10];
    // Names at a few FileIndexes, to resume at later.
    let mut marks = [
        (10, String::new()),
        (700_000, String::new()),
        (999_999, String::new()),
    ];
    let before = NOW.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    loop {
        let done = query_names(
            t.vol(),
            &mut c,
            Some(&pattern),
            restart,
            None,
            false,
            &mut out,
        );
        restart = false;
        if done.status == NtStatus::NO_MORE_FILES {
            break;
        }
        assert_eq!(done.status, NtStatus::SUCCESS);
        for (index, name) in listed_names(&out) {
            if let Some(slot) = marks.iter_mut().find(|(i, _)| *i == index as usize) {
                slot.1 = name.clone();
            }
            match name
                .strip_prefix("entry-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) => {
                    assert!(!seen[n], "{name} listed twice");
                    seen[n] = true;
                }
                None => {
                    assert!(name == "." || name == "..", "{name}");
                    dots += 1;
                }
            }
        }
    }
    let scan_peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(seen.iter().all(|&s| s), "every entry listed");
    assert_eq!(dots, 2, ". and ..");
    assert!(
        scan_peak < 32 << 20,
        "the listing took {} MiB at its peak",
        scan_peak >> 20
    );
    eprintln!("listing {ENTRIES} entries: peak {} KiB", scan_peak >> 10);
    // Resuming at a FileIndex (SL_INDEX_SPECIFIED), forward and back.
    for (index, name) in [&marks[1], &marks[0], &marks[2], &marks[1]] {
        let at = Some(*index as u32);
        let done = query_names(t.vol(), &mut c, None, false, at, true, &mut out);
        assert_eq!(done.status, NtStatus::SUCCESS);
        assert_eq!(listed_names(&out), [(*index as u32, name.clone())]);
    }
    t.close(c);
    t.finish();
}
