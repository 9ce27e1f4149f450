//! Reads, writes, file information (query and set) and volume
//! information, checked byte for byte against the documented x64 layouts
//! and against what debugfs and statx report.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{self, SetRequest};
use fsd::read::read;
use fsd::time;
use fsd::volinfo;
use fsd::write::{write, WriteAt};
use fsd::NtStatus;

const RW: u32 = GENERIC_READ | GENERIC_WRITE | DELETE;
const ALL_SHARE: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::write(root.join("file.txt"), b"0123456789").unwrap();
    std::os::unix::fs::symlink("file.txt", root.join("link")).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::open(root.join("file.txt"))
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

#[test]
fn reads_and_writes() {
    let mut t = TestVolume::new("io", &[], tree);
    let mut c = t.open("\\file.txt");
    let mut buf = [0u8; 4];
    let r = read(t.vol(), &mut c, Some(8), &mut buf);
    assert_eq!((r.status, r.information), (NtStatus::SUCCESS, 2));
    assert_eq!(&buf[..2], b"89");
    assert_eq!(
        read(t.vol(), &mut c, Some(10), &mut buf).status,
        NtStatus::END_OF_FILE
    );
    assert_eq!(
        read(t.vol(), &mut c, Some(100), &mut buf).status,
        NtStatus::END_OF_FILE
    );
    assert_eq!(
        read(t.vol(), &mut c, Some(u64::MAX - 1), &mut buf).status,
        NtStatus::END_OF_FILE
    );
    assert_eq!(read(t.vol(), &mut c, Some(0), &mut []).information, 0);
    // Current position follows the last transfer.
    assert_eq!(read(t.vol(), &mut c, Some(0), &mut buf).information, 4);
    assert_eq!(read(t.vol(), &mut c, None, &mut buf).information, 4);
    assert_eq!(&buf, b"4567");

    assert_eq!(
        write(t.vol(), &mut c, WriteAt::Offset(20), b"XY").information,
        2
    );
    assert_eq!(
        write(t.vol(), &mut c, WriteAt::EndOfFile, b"END").information,
        3
    );
    assert_eq!(
        write(t.vol(), &mut c, WriteAt::Offset(0), b"").information,
        0
    );
    let mut dir = t.open("\\dir");
    assert_eq!(
        read(t.vol(), &mut dir, Some(0), &mut buf).status,
        NtStatus::INVALID_DEVICE_REQUEST
    );
    t.close(dir);
    t.close(c);
    let ro = t
        .create("\\file.txt", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .unwrap();
    let mut ro = ro.ccb;
    assert_eq!(
        write(t.vol(), &mut ro, WriteAt::Offset(0), b"no").status,
        NtStatus::ACCESS_DENIED
    );
    t.close(ro);
    t.finish();
    let mut expected = b"0123456789".to_vec();
    expected.resize(20, 0);
    expected.extend_from_slice(b"XYEND");
    let dumped = t.dir.join("dump");
    t.debugfs(&format!("dump /file.txt {}", dumped.display()));
    assert_eq!(std::fs::read(dumped).unwrap(), expected);
}

#[test]
fn query_information_layouts() {
    let t = TestVolume::new("query", &[], tree);
    let c = t.open("\\file.txt");
    let vol = t.vol();
    let q = |class: u32, len: usize| {
        let mut buf = vec![0xAAu8; len];
        let r = fileinfo::query(vol, &c, class, &mut buf);
        (r, buf)
    };
    let stx = lkl::sys::statx(
        lkl::uapi::AT_FDCWD,
        format!("{}/file.txt", vol.root()),
        0,
        0xfff,
    )
    .unwrap();
    let (r, basic) = q(fileinfo::FILE_BASIC_INFORMATION, 40);
    assert_eq!((r.status, r.information), (NtStatus::SUCCESS, 40));
    assert_eq!(
        i64_at(&basic, 16),
        time::to_windows(1_500_000_000, 0),
        "LastWriteTime"
    );
    assert_eq!(
        i64_at(&basic, 8),
        time::to_windows(1_500_000_000, 0),
        "LastAccessTime"
    );
    assert_eq!(u32_at(&basic, 32), fsd::attributes::ARCHIVE);
    assert_eq!(&basic[36..40], &[0, 0, 0, 0], "padding zeroed");
    let (_, standard) = q(fileinfo::FILE_STANDARD_INFORMATION, 24);
    assert_eq!(u64_at(&standard, 8), 10, "EndOfFile");
    assert_eq!(u32_at(&standard, 16), 1, "NumberOfLinks");
    assert_eq!(
        (standard[20], standard[21]),
        (0, 0),
        "DeletePending, Directory"
    );
    let (_, internal) = q(fileinfo::FILE_INTERNAL_INFORMATION, 8);
    assert_eq!(u64_at(&internal, 0), stx.stx_ino);
    let (r, name) = q(fileinfo::FILE_NAME_INFORMATION, 64);
    assert_eq!(r.information, 4 + 18);
    assert_eq!(u32_at(&name, 0), 18);
    assert_eq!(name_at(&name, 4, 18), "\\file.txt");
    let (r, _) = q(fileinfo::FILE_NAME_INFORMATION, 10);
    assert_eq!((r.status, r.information), (NtStatus::BUFFER_OVERFLOW, 10));
    let (r, all) = q(fileinfo::FILE_ALL_INFORMATION, 200);
    assert_eq!(r.information, 100 + 18);
    assert_eq!(&all[..40], &basic[..], "AllInformation.BasicInformation");
    assert_eq!(&all[40..64], &standard[..]);
    assert_eq!(u64_at(&all, 64), u64_at(&internal, 0));
    assert_eq!(u32_at(&all, 96), 18);
    assert_eq!(name_at(&all, 100, 18), "\\file.txt");
    let (_, net) = q(fileinfo::FILE_NETWORK_OPEN_INFORMATION, 56);
    assert_eq!(u64_at(&net, 40), 10);
    assert_eq!(u32_at(&net, 48), fsd::attributes::ARCHIVE);
    let (_, stream) = q(fileinfo::FILE_STREAM_INFORMATION, 64);
    assert_eq!(u64_at(&stream, 8), 10);
    assert_eq!(name_at(&stream, 24, u32_at(&stream, 4) as usize), "::$DATA");
    assert_eq!(
        q(fileinfo::FILE_BASIC_INFORMATION, 39).0.status,
        NtStatus::INFO_LENGTH_MISMATCH
    );
    assert_eq!(q(1000, 100).0.status, NtStatus::INVALID_INFO_CLASS);

    let link = t
        .create(
            "\\link",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            ALL_SHARE,
        )
        .unwrap()
        .ccb;
    let mut tag = [0u8; 8];
    fileinfo::query(
        vol,
        &link,
        fileinfo::FILE_ATTRIBUTE_TAG_INFORMATION,
        &mut tag,
    );
    assert_eq!(u32_at(&tag, 0), fsd::attributes::REPARSE_POINT);
    assert_eq!(u32_at(&tag, 4), fsd::attributes::IO_REPARSE_TAG_SYMLINK);
    t.close(link);
    let dir = t.open("\\dir");
    let mut cs = [0u8; 4];
    fileinfo::query(
        vol,
        &dir,
        fileinfo::FILE_CASE_SENSITIVE_INFORMATION,
        &mut cs,
    );
    assert_eq!(u32_at(&cs, 0), fileinfo::FILE_CS_FLAG_CASE_SENSITIVE_DIR);
    t.close(dir);
    t.close(c);
}

/// Information about an open is about the file it opened, even once
/// another handle has moved the file.
#[test]
fn queries_follow_the_open_file() {
    let mut t = TestVolume::new("follow", &[], tree);
    let mut data = [0u8; 8];
    let c = t
        .create("\\dir\\moving.txt", FILE_CREATE, 0, RW, ALL_SHARE)
        .unwrap()
        .ccb;
    assert_eq!(
        fileinfo::query(t.vol(), &c, fileinfo::FILE_INTERNAL_INFORMATION, &mut data).status,
        NtStatus::SUCCESS
    );
    let ino = u64::from_le_bytes(data);
    let mut other = t.open("\\dir\\moving.txt");
    let rename = rename_request(w("\\moved.txt"), 0);
    assert_eq!(
        fileinfo::set(t.vol(), &mut other, &rename, None).status,
        NtStatus::SUCCESS
    );
    t.close(other);
    let mut again = [0u8; 8];
    assert_eq!(
        fileinfo::query(t.vol(), &c, fileinfo::FILE_INTERNAL_INFORMATION, &mut again).status,
        NtStatus::SUCCESS
    );
    assert_eq!(u64::from_le_bytes(again), ino);
    let mut standard = [0u8; 24];
    assert_eq!(
        fileinfo::query(
            t.vol(),
            &c,
            fileinfo::FILE_STANDARD_INFORMATION,
            &mut standard
        )
        .status,
        NtStatus::SUCCESS
    );
    assert_eq!(u32_at(&standard, 16), 1, "one link");
    t.close(c);
    t.finish();
    assert!(t.debugfs("ls /").contains("moved.txt"));
}

/// FileNameInformation gives the name as the caller spelled it,
/// FileNormalizedNameInformation the names on disk (as NTFS does), both
/// where the file is now.
#[test]
fn name_queries_as_opened_and_as_on_disk() {
    let mut t = TestVolume::new("names", &[], |root| {
        std::fs::create_dir_all(root.join("Dir")).unwrap();
        std::fs::write(root.join("Dir/File.txt"), b"x").unwrap();
    });
    let c = t.open("\\DIR\\file.TXT");
    let name = |c: &fsd::Ccb, class| {
        let mut out = [0u8; 64];
        let r = fileinfo::query(t.vol(), c, class, &mut out);
        assert_eq!(r.status, NtStatus::SUCCESS);
        assert_eq!(r.information, 4 + u64::from(u32_at(&out, 0)));
        name_at(&out, 4, u32_at(&out, 0) as usize)
    };
    assert_eq!(name(&c, fileinfo::FILE_NAME_INFORMATION), "\\DIR\\file.TXT");
    let normalized = fileinfo::FILE_NORMALIZED_NAME_INFORMATION;
    assert_eq!(name(&c, normalized), "\\Dir\\File.txt");
    let mut other = t.open("\\dir\\file.txt");
    let rename = rename_request(w("\\Moved.TXT"), 0);
    assert_eq!(
        fileinfo::set(t.vol(), &mut other, &rename, None).status,
        NtStatus::SUCCESS
    );
    assert_eq!(name(&other, normalized), "\\Moved.TXT");
    assert_eq!(name(&c, normalized), "\\Moved.TXT");
    let mut short = [0u8; 10];
    let r = fileinfo::query(t.vol(), &c, normalized, &mut short);
    assert_eq!((r.status, r.information), (NtStatus::BUFFER_OVERFLOW, 10));
    assert_eq!(u32_at(&short, 0), 20, "FileNameLength is the whole name's");
    let delete = SetRequest::Disposition(fileinfo::FILE_DISPOSITION_DELETE);
    assert_eq!(
        fileinfo::set(t.vol(), &mut other, &delete, None).status,
        NtStatus::SUCCESS
    );
    t.close(other);
    t.close(c);
    t.finish();
    assert!(!t.debugfs("ls /").contains("Moved.TXT"));
}

/// A read-only file is replaced by a rename or link only when the request
/// says to ignore the attribute (FILE_RENAME_/FILE_LINK_IGNORE_READONLY_ATTRIBUTE).
#[test]
fn replacing_a_read_only_file() {
    let mut t = TestVolume::new("replace-ro", &[], tree);
    let make = |name: &str, read_only: bool| {
        let attributes = if read_only {
            fsd::attributes::READONLY
        } else {
            0
        };
        let name = w(name);
        let c = fsd::create::create(
            t.vol(),
            &CreateRequest {
                related: None,
                name: &name,
                disposition: FILE_CREATE,
                options: 0,
                desired_access: RW,
                share_access: ALL_SHARE,
                file_attributes: attributes,
                caller: None,
            },
        );
        c.unwrap().ccb
    };
    for locked in ["\\locked.txt", "\\locked2.txt"] {
        t.close(make(locked, true));
    }
    let mut mover = make("\\mover.txt", false);
    let mut linked = make("\\linked.txt", false);
    let rename = |flags: u32| rename_request(w("\\locked.txt"), flags);
    let link = |flags: u32| SetRequest::Link {
        flags,
        root_directory: 0,
        name: w("\\locked2.txt"),
    };
    let set = |c: &mut fsd::Ccb, req: &SetRequest| fileinfo::set(t.vol(), c, req, None).status;
    let replace = fileinfo::FILE_RENAME_REPLACE_IF_EXISTS;
    let link_over = fileinfo::FILE_LINK_REPLACE_IF_EXISTS;
    assert_eq!(set(&mut mover, &rename(replace)), NtStatus::ACCESS_DENIED);
    assert_eq!(set(&mut linked, &link(link_over)), NtStatus::ACCESS_DENIED);
    let ignore = replace | fileinfo::FILE_RENAME_IGNORE_READONLY_ATTRIBUTE;
    assert_eq!(set(&mut mover, &rename(ignore)), NtStatus::SUCCESS);
    let ignore = link_over | fileinfo::FILE_LINK_IGNORE_READONLY_ATTRIBUTE;
    assert_eq!(set(&mut linked, &link(ignore)), NtStatus::SUCCESS);
    t.close(mover);
    t.close(linked);
    t.finish();
    let stat = t.debugfs("stat /locked.txt");
    assert!(stat.contains("Mode:  0644"), "{stat}");
    assert!(!t.debugfs("ls /").contains("mover.txt"));
    let stat = t.debugfs("stat /locked2.txt");
    assert!(
        stat.contains("Links: 2") && stat.contains("Mode:  0644"),
        "{stat}"
    );
}

#[test]
fn set_information_reaches_the_disk() {
    let mut t = TestVolume::new("set", &[], tree);
    let set = |c: &mut fsd::Ccb, r: SetRequest| fileinfo::set(t.vol(), c, &r, None).status;
    let mut c = t.open("\\file.txt");
    let mtime = time::to_windows(1_234_567_890, 500_000_000);
    let basic = SetRequest::Basic {
        creation: 0,
        access: 0,
        write: mtime,
        change: 0,
        attributes: fsd::attributes::READONLY,
    };
    assert_eq!(set(&mut c, basic), NtStatus::SUCCESS);
    assert_eq!(set(&mut c, SetRequest::EndOfFile(4)), NtStatus::SUCCESS);
    // Times set explicitly stay through this open's own changes.
    let written = fsd::write::write(t.vol(), &mut c, fsd::write::WriteAt::Offset(0), b"W");
    assert_eq!(written.status, NtStatus::SUCCESS);
    let rename = rename_request(w("\\dir\\renamed.txt"), 0);
    assert_eq!(set(&mut c, rename), NtStatus::SUCCESS);
    let mut name = [0u8; 64];
    fileinfo::query(t.vol(), &c, fileinfo::FILE_NAME_INFORMATION, &mut name);
    assert_eq!(
        name_at(&name, 4, u32_at(&name, 0) as usize),
        "\\dir\\renamed.txt"
    );
    let link = SetRequest::Link {
        flags: 0,
        root_directory: 0,
        name: w("\\hardlink"),
    };
    assert_eq!(set(&mut c, link), NtStatus::SUCCESS);
    t.close(c);

    let mut other = t
        .create("\\other", FILE_CREATE, 0, RW, ALL_SHARE)
        .unwrap()
        .ccb;
    let onto_link = rename_request(w("\\hardlink"), 0);
    assert_eq!(set(&mut other, onto_link), NtStatus::OBJECT_NAME_COLLISION);
    let delete = || SetRequest::Disposition(fileinfo::FILE_DISPOSITION_DELETE);
    assert_eq!(set(&mut other, delete()), NtStatus::SUCCESS);
    t.close(other);
    let mut dir = t.open("\\dir");
    assert_eq!(set(&mut dir, delete()), NtStatus::DIRECTORY_NOT_EMPTY);
    t.close(dir);
    t.finish();

    let stat = t.debugfs("stat /dir/renamed.txt");
    assert!(stat.contains("Size: 4"), "{stat}");
    assert!(stat.contains("Links: 2"), "{stat}");
    assert!(stat.contains("Mode:  0444"), "{stat}");
    assert!(stat.contains("mtime: 0x499602d2:77359400"), "{stat}");
    assert!(!t.debugfs("ls /").contains("other"));
    assert!(!t.debugfs("ls /").contains("file.txt"));
}

#[test]
fn volume_information() {
    let t = TestVolume::new(
        "volinfo",
        &[
            "-L",
            "MYLABEL",
            "-U",
            "01234567-89ab-cdef-0123-456789abcdef",
        ],
        tree,
    );
    let vol = t.vol();
    let q = |class: u32, len: usize| {
        let mut buf = vec![0u8; len];
        let r = volinfo::query(vol, class, &mut buf);
        (r, buf)
    };
    let (r, v) = q(volinfo::FILE_FS_VOLUME_INFORMATION, 64);
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(u32_at(&v, 12), 14);
    assert_eq!(name_at(&v, 18, 14), "MYLABEL");
    // ext4's fsid is the UUID's halves XORed; the serial folds it again.
    let uuid: [u32; 4] = [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89];
    let fsid = [uuid[0] ^ uuid[2], uuid[1] ^ uuid[3]];
    assert_eq!(u32_at(&v, 8), fsid[0] ^ fsid[1]);
    let (r, v) = q(volinfo::FILE_FS_VOLUME_INFORMATION, 20);
    assert_eq!((r.status, r.information), (NtStatus::BUFFER_OVERFLOW, 20));
    assert_eq!(name_at(&v, 18, 2), "M");

    let (_, a) = q(volinfo::FILE_FS_ATTRIBUTE_INFORMATION, 64);
    assert_eq!(name_at(&a, 12, u32_at(&a, 8) as usize), "ext4");
    assert_eq!(u32_at(&a, 4), 255);
    let flags = u32_at(&a, 0);
    for f in [
        volinfo::FILE_CASE_SENSITIVE_SEARCH,
        volinfo::FILE_CASE_PRESERVED_NAMES,
        volinfo::FILE_UNICODE_ON_DISK,
        volinfo::FILE_SUPPORTS_HARD_LINKS,
        volinfo::FILE_SUPPORTS_REPARSE_POINTS,
    ] {
        assert!(flags & f != 0, "flag {f:#x}");
    }
    assert_eq!(flags & volinfo::FILE_READ_ONLY_VOLUME, 0);

    let header = run("dumpe2fs", &["-h", &t.image.display().to_string()]);
    let field = |name: &str| -> u64 {
        header
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let (_, s) = q(volinfo::FILE_FS_SIZE_INFORMATION, 24);
    let block = field("Block size:");
    assert_eq!(u32_at(&s, 16) as u64 * u32_at(&s, 20) as u64, block);
    let (_, full) = q(volinfo::FILE_FS_FULL_SIZE_INFORMATION, 32);
    let (total, caller, actual) = (u64_at(&full, 0), u64_at(&full, 8), u64_at(&full, 16));
    assert!(total <= field("Block count:") && actual <= total);
    // Linux holds back root's reserve (and ext4 a little more for metadata).
    assert!(
        actual - caller >= field("Reserved block count:"),
        "root's reserve"
    );
    assert_eq!(u64_at(&s, 8), caller, "AvailableAllocationUnits");
    let (_, d) = q(volinfo::FILE_FS_DEVICE_INFORMATION, 8);
    assert_eq!(u32_at(&d, 0), volinfo::FILE_DEVICE_DISK);
    assert_eq!(
        q(volinfo::FILE_FS_SIZE_INFORMATION, 23).0.status,
        NtStatus::INFO_LENGTH_MISMATCH
    );
}

/// A write that does not fit: STATUS_DISK_FULL, and the file keeps its
/// size with the space the write took free again (give or take a block
/// of its extent tree): nothing of it is left past the old end. Bytes it
/// covered inside the file may have been written (NTFS writes nothing).
#[test]
fn a_write_that_does_not_fit() {
    let mut t = TestVolume::new("full", &["-b", "1024"], tree);
    let mut c = t.open("\\file.txt");
    let free = |t: &TestVolume| lkl::sys::statfs(t.vol().root()).unwrap().f_bfree;
    let before = free(&t);
    let big = vec![b'B'; 64 << 20];
    let contents = |t: &TestVolume, c: &mut fsd::Ccb| {
        let mut buf = [0u8; 16];
        let r = read(t.vol(), c, Some(0), &mut buf);
        buf[..r.information as usize].to_vec()
    };
    for at in [
        WriteAt::Offset(10),
        WriteAt::Offset(1 << 20),
        WriteAt::EndOfFile,
        WriteAt::Offset(4),
    ] {
        let r = write(t.vol(), &mut c, at, &big);
        assert_eq!(
            (r.status, r.information),
            (NtStatus::DISK_FULL, 0),
            "{at:?}"
        );
        assert!(
            before - free(&t) <= 2,
            "{at:?}: {} blocks kept",
            before - free(&t)
        );
        let mut standard = [0u8; 24];
        fileinfo::query(
            t.vol(),
            &c,
            fileinfo::FILE_STANDARD_INFORMATION,
            &mut standard,
        );
        assert_eq!(u64_at(&standard, 8), 10, "{at:?}: EndOfFile");
    }
    assert_eq!(contents(&t, &mut c), b"0123BBBBBB");
    assert_eq!(
        write(t.vol(), &mut c, WriteAt::EndOfFile, b"!").status,
        NtStatus::SUCCESS
    );
    t.close(c);
    t.finish();
    assert_eq!(t.debugfs("cat /file.txt"), "0123BBBBBB!");
}
