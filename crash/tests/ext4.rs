//! Crash consistency of ext4 (default options, nodelalloc,
//! journal_checksum) and ext3 on our block layer: each workload
//! (common/workloads.rs) is recorded, and every crash state of the
//! recording (see lkl_crash) is mounted through the library and checked:
//! promises kept, no stale bytes, `e2fsck -fn` clean.
mod common;

use common::{crash_test_all, limits, Fs, EXT4};

/// ext4 with default options, `nodelalloc` and `journal_checksum`, on a
/// disk that completes out of order, and ext3, side by side: at least
/// 20,000 crash states in all, none failing.
#[test]
fn every_crash_state_of_ext4_and_ext3() {
    let variants = [
        EXT4,
        Fs {
            name: "ext4-nodelalloc",
            options: "nodelalloc",
            ..EXT4
        },
        Fs {
            name: "ext4-journal_checksum",
            options: "journal_checksum",
            ..EXT4
        },
        Fs {
            name: "ext4-reordered",
            reorder: Some(8),
            ..EXT4
        },
        Fs {
            name: "ext3",
            mkfs: &["mkfs.ext3", "-q", "-F"],
            ..EXT4
        },
    ];
    crash_test_all(&variants, limits(96, 5000), 20_000);
}
