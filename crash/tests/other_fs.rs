//! Crash consistency of btrfs and xfs on our block layer: the workloads
//! of the ext4 test (common/workloads.rs), every crash state mounted
//! through the library and checked (promises kept, no stale bytes), then
//! `btrfs check` or `xfs_repair -n`. Their images are larger than ext4's
//! and their checkers slower, so fewer states are taken per cut.
mod common;

use common::{crash_test_all, limits, BTRFS, XFS};

#[test]
fn every_crash_state_of_btrfs_and_xfs() {
    let variants = [BTRFS, XFS];
    crash_test_all(&variants, limits(16, 300), 1_000);
}
