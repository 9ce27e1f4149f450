//! Crash consistency of btrfs and xfs on our block layer: the workloads
//! of the ext4 test (common/workloads.rs), every crash state mounted
//! through the library and checked (promises kept, no stale bytes), then
//! `btrfs check` or `xfs_repair -n`. Their images are larger than ext4's
//! and their checkers slower, so fewer states are taken per cut.
mod common;

use common::{crash_test_all, limits, Fs};

#[test]
fn every_crash_state_of_btrfs_and_xfs() {
    let variants = [
        Fs {
            name: "btrfs",
            // Mixed block groups: the smallest btrfs (16 MiB).
            mkfs: &["mkfs.btrfs", "-q", "-f", "--mixed"],
            mkfs_env: &[],
            reorder: None,
            size: 16 << 20,
            fstype: "btrfs",
            options: "",
            check: &["btrfs", "check"],
        },
        Fs {
            name: "xfs",
            // xfsprogs makes file systems under 300 MB only for fstests,
            // which it recognises by these variables.
            mkfs: &["mkfs.xfs", "-q", "-f"],
            mkfs_env: &[
                ("TEST_DIR", "/tmp"),
                ("TEST_DEV", "/dev/null"),
                ("QA_CHECK_FS", "xfs"),
            ],
            reorder: None,
            size: 32 << 20,
            fstype: "xfs",
            options: "",
            check: &["xfs_repair", "-n"],
        },
    ];
    crash_test_all(&variants, limits(16, 300), 1_000);
}
