//! Volume lock, unlock and dismount; symlinks as reparse points.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fsctl;
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("file.txt"), b"data").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("dir/target.txt", root.join("rel")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("abs")).unwrap();
}

fn reparse(t: &TestVolume, name: &str, len: usize) -> (fsd::Completion, Vec<u8>) {
    let c = t
        .create(
            name,
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            7,
        )
        .unwrap()
        .ccb;
    let mut buf = vec![0u8; len];
    let r = fsctl::get_reparse_point(t.vol(), &c, &mut buf);
    t.close(c);
    (r, buf)
}

#[test]
fn symlinks_as_reparse_points() {
    let mut t = TestVolume::new("reparse", &[], tree);
    let (r, buf) = reparse(&t, "\\rel", 256);
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(u32_at(&buf, 0), fsd::attributes::IO_REPARSE_TAG_SYMLINK);
    let len = u16::from_le_bytes([buf[10], buf[11]]) as usize;
    assert_eq!(name_at(&buf, 20, len), "dir\\target.txt");
    assert_eq!(u32_at(&buf, 16), fsctl::SYMLINK_FLAG_RELATIVE);
    assert_eq!(r.information as usize, 20 + 2 * len);
    let (_, buf) = reparse(&t, "\\abs", 256);
    let len = u16::from_le_bytes([buf[10], buf[11]]) as usize;
    assert_eq!(name_at(&buf, 20, len), "\\etc\\passwd");
    assert_eq!(u32_at(&buf, 16), 0);
    assert_eq!(
        reparse(&t, "\\rel", 10).0.status,
        NtStatus::BUFFER_TOO_SMALL
    );
    assert_eq!(reparse(&t, "\\rel", 30).0.status, NtStatus::BUFFER_OVERFLOW);
    assert_eq!(
        reparse(&t, "\\file.txt", 256).0.status,
        NtStatus::NOT_A_REPARSE_POINT
    );

    // The buffer GET returns makes a symlink elsewhere.
    let (_, buf) = reparse(&t, "\\rel", 256);
    let mut empty = t.open("\\empty");
    assert_eq!(
        fsctl::set_reparse_point(t.vol(), &mut empty, &buf).status,
        NtStatus::SUCCESS
    );
    t.close(empty);
    let mut data = t.open("\\file.txt");
    assert_eq!(
        fsctl::set_reparse_point(t.vol(), &mut data, &buf).status,
        NtStatus::DIRECTORY_NOT_EMPTY
    );
    assert_eq!(
        fsctl::set_reparse_point(t.vol(), &mut data, &buf[..6]).status,
        NtStatus::INVALID_PARAMETER
    );
    t.close(data);
    let mut abs = t
        .create(
            "\\abs",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            GENERIC_READ | GENERIC_WRITE,
            7,
        )
        .unwrap()
        .ccb;
    assert_eq!(
        fsctl::delete_reparse_point(t.vol(), &mut abs).status,
        NtStatus::SUCCESS
    );
    t.close(abs);
    t.finish();
    assert!(t
        .debugfs("stat /empty")
        .contains("Fast link dest: \"dir/target.txt\""));
    assert!(t.debugfs("stat /abs").contains("Type: regular"));
}

#[test]
fn lock_unlock_and_dismount() {
    let mut t = TestVolume::new("lock", &[], tree);
    let open = t.open("\\file.txt");
    assert_eq!(
        t.vol().lock().status,
        NtStatus::ACCESS_DENIED,
        "a file is open"
    );
    t.close(open);
    assert_eq!(t.vol().lock().status, NtStatus::SUCCESS);
    assert_eq!(
        t.create("\\file.txt", FILE_OPEN, 0, GENERIC_READ, 7).err(),
        Some(NtStatus::ACCESS_DENIED)
    );
    assert_eq!(t.vol().unlock().status, NtStatus::SUCCESS);
    assert_eq!(t.vol().unlock().status, NtStatus::NOT_LOCKED);

    // Dismount with a file still open: it is written out and detached.
    let mut c = t.open("\\file.txt");
    let w = fsd::write::write(t.vol(), &mut c, fsd::write::WriteAt::Offset(0), b"DATA");
    assert_eq!(w.status, NtStatus::SUCCESS);
    assert_eq!(t.vol().dismount_request().status, NtStatus::SUCCESS);
    let mut buf = [0u8; 4];
    assert_eq!(
        fsd::read::read(t.vol(), &mut c, Some(0), &mut buf).status,
        NtStatus::VOLUME_DISMOUNTED
    );
    assert_eq!(
        t.create("\\file.txt", FILE_OPEN, 0, GENERIC_READ, 7).err(),
        Some(NtStatus::VOLUME_DISMOUNTED)
    );
    t.close(c);
    t.finish();
    assert_eq!(t.debugfs("cat /file.txt"), "DATA");
}

/// A volume dropped while files are still open (their closes never come)
/// takes its file system with it: written out, and nothing left holding
/// the disk (a file system left behind keeps the disk's name taken).
#[test]
fn a_volume_dropped_with_files_open_lets_its_file_system_go() {
    let mut t = TestVolume::new("dropped", &[], tree);
    let mut c = t.open("\\file.txt");
    let w = fsd::write::write(t.vol(), &mut c, fsd::write::WriteAt::Offset(0), b"KEPT");
    assert_eq!(w.status, NtStatus::SUCCESS);
    let device = t.disk.as_ref().unwrap().device(None);
    let registered = format!("/sys/fs/ext4/{}", &device["/dev/".len()..]);
    assert!(lkl::sys::newfstatat(lkl::uapi::AT_FDCWD, &registered, 0).is_ok());
    drop(t.vol.take());
    assert_eq!(
        lkl::sys::newfstatat(lkl::uapi::AT_FDCWD, &registered, 0).err(),
        Some(lkl::Errno::ENOENT),
        "the file system is still there"
    );
    drop(c);
    t.finish();
    assert_eq!(t.debugfs("cat /file.txt"), "KEPT");
}
