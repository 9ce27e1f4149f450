//! How deep Linux goes on a thread's stack on the POSIX host, measured:
//! every kernel thread and system call paints its stack first
//! (`lkl::stack_watch`), and ext4, btrfs and xfs volumes are worked
//! through the core (creates, writes with fsync, reads, renames, listings,
//! deletes, a sync that makes the kernel's writeback run). The deepest use
//! must stay well inside the 48 KiB the driver's expanded stacks give on
//! Windows; it is printed (`--nocapture`) for the record.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::write::WriteAt;
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::write(root.join("dir/seed.txt"), b"seed").unwrap();
}

/// Creates, writes, syncs, reads, renames, lists and deletes.
fn work(t: &TestVolume) {
    let vol = t.vol();
    for i in 0..20 {
        let name = format!("\\dir\\f{i}.bin");
        let created = t.create(
            &name,
            FILE_OVERWRITE_IF,
            0,
            GENERIC_READ | GENERIC_WRITE | DELETE,
            7,
        );
        let mut ccb = created.unwrap().ccb;
        let data = vec![i as u8; 64 << 10];
        let wrote = fsd::write::write(vol, &mut ccb, WriteAt::Offset(0), &data);
        assert_eq!(wrote.status, NtStatus::SUCCESS);
        assert_eq!(fsd::flush::flush(vol, &ccb).status, NtStatus::SUCCESS);
        let mut back = vec![0u8; 64 << 10];
        let r = fsd::read::read(vol, &mut ccb, Some(0), &mut back);
        assert_eq!(r.status, NtStatus::SUCCESS);
        assert_eq!(back, data);
        let renamed = fsd::fileinfo::set(
            vol,
            &mut ccb,
            &rename_request(w(&format!("\\dir\\g{i}.bin")), 1),
            None,
        );
        assert_eq!(renamed.status, NtStatus::SUCCESS);
        fsd::cleanup::cleanup(vol, &mut ccb);
        t.close(ccb);
    }
    let mut dir = t.open_dir("\\dir");
    let listed = list_all(vol, &mut dir, "*", 4096);
    assert!(listed.len() >= 20);
    t.close(dir);
    lkl::sys::sync();
}

#[test]
fn linux_stays_well_inside_the_stacks_windows_gives() {
    lkl::stack_watch::measure();
    let mut ext4 = TestVolume::new("stacks-ext4", &[], tree);
    work(&ext4);
    ext4.finish();
    let mut btrfs = TestVolume::made_by("stacks-btrfs", tree, &["btrfs", "check"], make_btrfs)
        .mounted(fsd::VolumeOptions::default());
    work(&btrfs);
    btrfs.finish();
    let mut xfs = TestVolume::made_by("stacks-xfs", tree, &["xfs_repair", "-n"], |_, image| {
        std::fs::File::create(image)
            .unwrap()
            .set_len(320 << 20)
            .unwrap();
        run("mkfs.xfs", &["-q", "-f", &image.display().to_string()]);
    })
    .mounted(fsd::VolumeOptions::default());
    let made = xfs.create("\\dir", FILE_CREATE, FILE_DIRECTORY_FILE, GENERIC_READ, 7);
    xfs.close(made.unwrap().ccb);
    work(&xfs);
    xfs.finish();
    let deepest = lkl::stack_watch::deepest();
    println!("deepest stack use on the POSIX host: {deepest} bytes (48 KiB on Windows)");
    assert!(deepest > 2048, "the measure saw Linux run: {deepest}");
    assert!(deepest < 36 << 10, "deepest stack use {deepest}");
}
