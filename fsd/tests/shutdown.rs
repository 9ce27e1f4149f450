//! Shutdown (IRP_MJ_SHUTDOWN's part in the core): a volume with a file
//! open is written out and frozen, so the disk is clean while it stays
//! mounted (dumpe2fs: no journal to replay; e2fsck -fn: clean), and a
//! write that comes after still lands, the disk clean again after it.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::write::WriteAt;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("log.txt"), b"").unwrap();
}

/// Whether the image's journal needs replaying, and e2fsck's verdict.
fn on_disk(t: &TestVolume) -> (bool, bool) {
    let image = t.image.display().to_string();
    let header = run("dumpe2fs", &["-h", &image]);
    let checked = std::process::Command::new("e2fsck")
        .args(["-fn", &image])
        .output()
        .unwrap();
    (header.contains("needs_recovery"), checked.status.success())
}

#[test]
fn a_frozen_volume_stays_clean_and_takes_late_writes() {
    let mut t = TestVolume::new("shutdown", &[], tree);
    let mut ccb = t
        .create("\\log.txt", FILE_OPEN, 0, GENERIC_READ | GENERIC_WRITE, 7)
        .unwrap()
        .ccb;
    let before = fsd::write::write(t.vol(), &mut ccb, WriteAt::Offset(0), b"before shutdown\n");
    assert!(!before.status.is_error());
    t.vol().prepare_for_shutdown();
    assert!(t.vol().is_frozen(), "a volume with a file open is frozen");
    assert_eq!(on_disk(&t), (false, true), "clean on disk while mounted");
    assert_eq!(t.debugfs("cat /log.txt"), "before shutdown\n");

    let late = t.vol().while_thawed(|| {
        fsd::write::write(t.vol(), &mut ccb, WriteAt::Offset(16), b"after shutdown\n")
    });
    assert!(!late.status.is_error(), "{late:?}");
    let flushed = t.vol().while_thawed(|| fsd::flush::flush(t.vol(), &ccb));
    assert!(!flushed.status.is_error(), "{flushed:?}");
    assert!(t.vol().is_frozen(), "frozen again after the late write");
    assert_eq!(
        on_disk(&t),
        (false, true),
        "clean again after the late write"
    );
    assert_eq!(
        t.debugfs("cat /log.txt"),
        "before shutdown\nafter shutdown\n"
    );

    fsd::cleanup::cleanup(t.vol(), &mut ccb);
    t.close(ccb);
    t.finish();
}
