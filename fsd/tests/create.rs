//! IRP_MJ_CREATE as Windows programs use it: every disposition with its
//! Information, directory and non-directory options, case-insensitive
//! names, escaped Linux names, share access and delete-on-close; checked
//! on disk with debugfs and e2fsck.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::NtStatus;

const RW: u32 = GENERIC_READ | GENERIC_WRITE;
const ALL_SHARE: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// A FILE_OPEN for reading, every share, of `name` (relative to `related`).
fn read_open<'a>(name: &'a [u16], related: Option<&'a fsd::Ccb>) -> CreateRequest<'a> {
    CreateRequest {
        related,
        name,
        disposition: FILE_OPEN,
        options: 0,
        desired_access: GENERIC_READ,
        share_access: ALL_SHARE,
        file_attributes: 0,
        caller: None,
    }
}

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir/sub")).unwrap();
    std::fs::write(root.join("readme.txt"), b"hello").unwrap();
    std::fs::write(root.join("dir/data.bin"), vec![7u8; 5000]).unwrap();
    std::fs::write(root.join("a:b"), b"colon").unwrap();
}

#[test]
fn dispositions_and_their_information() {
    let mut t = TestVolume::new("dispositions", &[], tree);
    let info = |name: &str, disposition: u32, options: u32| {
        t.create(name, disposition, options, RW | DELETE, ALL_SHARE)
            .map(|c| {
                let information = c.information;
                t.close(c.ccb);
                information
            })
    };
    assert_eq!(info("\\readme.txt", FILE_OPEN, 0), Ok(FILE_OPENED));
    assert_eq!(
        info("\\missing", FILE_OPEN, 0),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(
        info("\\nodir\\x", FILE_OPEN_IF, 0),
        Err(NtStatus::OBJECT_PATH_NOT_FOUND)
    );
    assert_eq!(
        info("\\readme.txt\\x", FILE_OPEN, 0),
        Err(NtStatus::OBJECT_PATH_NOT_FOUND)
    );
    assert_eq!(info("\\new.txt", FILE_CREATE, 0), Ok(FILE_CREATED));
    assert_eq!(
        info("\\new.txt", FILE_CREATE, 0),
        Err(NtStatus::OBJECT_NAME_COLLISION)
    );
    assert_eq!(info("\\new.txt", FILE_OPEN_IF, 0), Ok(FILE_OPENED));
    assert_eq!(info("\\new2.txt", FILE_OPEN_IF, 0), Ok(FILE_CREATED));
    assert_eq!(
        info("\\readme.txt", FILE_OVERWRITE, 0),
        Ok(FILE_OVERWRITTEN)
    );
    assert_eq!(
        info("\\gone.txt", FILE_OVERWRITE, 0),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(info("\\new3.txt", FILE_OVERWRITE_IF, 0), Ok(FILE_CREATED));
    assert_eq!(
        info("\\dir\\data.bin", FILE_SUPERSEDE, 0),
        Ok(FILE_SUPERSEDED)
    );
    assert_eq!(
        info("\\made", FILE_CREATE, FILE_DIRECTORY_FILE),
        Ok(FILE_CREATED)
    );
    assert_eq!(info("\\made\\inner", FILE_CREATE, 0), Ok(FILE_CREATED));
    assert_eq!(
        info("\\readme.txt", FILE_OPEN, FILE_DIRECTORY_FILE),
        Err(NtStatus::NOT_A_DIRECTORY)
    );
    assert_eq!(
        info("\\dir", FILE_OPEN, FILE_NON_DIRECTORY_FILE),
        Err(NtStatus::FILE_IS_A_DIRECTORY)
    );
    assert_eq!(
        info("\\dir", FILE_OVERWRITE, 0),
        Err(NtStatus::FILE_IS_A_DIRECTORY)
    );
    assert_eq!(info("\\x", 9, 0), Err(NtStatus::INVALID_PARAMETER));
    assert_eq!(
        info(
            "\\x",
            FILE_OPEN,
            FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE
        ),
        Err(NtStatus::INVALID_PARAMETER)
    );
    assert_eq!(
        info("\\bad*name", FILE_CREATE, 0),
        Err(NtStatus::OBJECT_NAME_INVALID)
    );
    assert_eq!(
        info("\\a\\\\b", FILE_OPEN, 0),
        Err(NtStatus::OBJECT_NAME_INVALID)
    );
    assert_eq!(info("\\", FILE_OPEN, FILE_DIRECTORY_FILE), Ok(FILE_OPENED));
    t.finish();
    assert_eq!(t.debugfs("cat /readme.txt"), "", "overwritten to empty");
    assert!(t.debugfs("stat /dir/data.bin").contains("Size: 0"));
    assert!(t.debugfs("stat /made").contains("Type: directory"));
    assert!(t.debugfs("ls /made").contains("inner"));
    assert!(t.debugfs("ls /").contains("new3.txt"));
}

#[test]
fn names_are_found_case_insensitively_and_escaped() {
    let mut t = TestVolume::new("names", &[], tree);
    let mut c = t
        .create("\\README.TXT", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .unwrap();
    let mut buf = [0u8; 16];
    let done = fsd::read::read(t.vol(), &mut c.ccb, Some(0), &mut buf);
    assert_eq!((done.status, done.information), (NtStatus::SUCCESS, 5));
    assert_eq!(&buf[..5], b"hello");
    t.close(c.ccb);
    // The Linux name "a:b" appears with the colon escaped.
    let escaped = "\\a\u{f03a}b";
    let c = t
        .create(escaped, FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .unwrap();
    t.close(c.ccb);
    // And a name made that way is a colon on disk.
    let c = t
        .create("\\x\u{f03a}y\u{f02e}", FILE_CREATE, 0, RW, ALL_SHARE)
        .unwrap();
    t.close(c.ccb);
    t.finish();
    assert!(
        t.debugfs("ls -l /").contains("x:y."),
        "{}",
        t.debugfs("ls -l /")
    );
}

#[test]
fn share_access_between_opens() {
    let t = TestVolume::new("share", &[], tree);
    let first = t
        .create("\\readme.txt", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(
        t.create("\\readme.txt", FILE_OPEN, 0, GENERIC_WRITE, ALL_SHARE)
            .err(),
        Some(NtStatus::SHARING_VIOLATION)
    );
    assert_eq!(
        t.create("\\readme.txt", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_WRITE)
            .err(),
        Some(NtStatus::SHARING_VIOLATION)
    );
    let second = t
        .create("\\readme.txt", FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    // Attribute-only opens never conflict.
    let attrs = t
        .create("\\readme.txt", FILE_OPEN, 0, FILE_READ_ATTRIBUTES, 0)
        .unwrap();
    t.close(attrs.ccb);
    t.close(first.ccb);
    t.close(second.ccb);
    let writer = t
        .create("\\readme.txt", FILE_OPEN, 0, GENERIC_WRITE, 0)
        .unwrap();
    t.close(writer.ccb);
}

#[test]
fn delete_on_close_removes_with_the_last_handle() {
    let mut t = TestVolume::new("doc", &[], tree);
    let a = t
        .create(
            "\\temp.txt",
            FILE_CREATE,
            FILE_DELETE_ON_CLOSE,
            RW | DELETE,
            ALL_SHARE,
        )
        .unwrap();
    let b = t
        .create("\\temp.txt", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .unwrap();
    t.close(a.ccb);
    // Pending delete: new opens fail, the name is still there.
    assert_eq!(
        t.create("\\temp.txt", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
            .err(),
        Some(NtStatus::DELETE_PENDING)
    );
    t.close(b.ccb);
    assert_eq!(
        t.create("\\temp.txt", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
            .err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(
        t.create("\\x", FILE_CREATE, FILE_DELETE_ON_CLOSE, GENERIC_WRITE, 0)
            .err(),
        Some(NtStatus::INVALID_PARAMETER),
        "delete-on-close without DELETE access"
    );
    t.finish();
    assert!(!t.debugfs("ls /").contains("temp.txt"));
}

/// Requests that work by path find the file where another open moved it:
/// delete-on-close deletes the renamed file, not a new one made under its
/// old name, and a rename through the first open moves the right file.
#[test]
fn opens_follow_a_rename_through_another_open() {
    let mut t = TestVolume::new("moved", &[], tree);
    let doomed = t
        .create(
            "\\doomed.txt",
            FILE_CREATE,
            FILE_DELETE_ON_CLOSE,
            RW | DELETE,
            ALL_SHARE,
        )
        .unwrap()
        .ccb;
    let mut keeper = t.open("\\readme.txt");
    let rename = |c: &mut fsd::Ccb, to: &str| {
        let req = rename_request(w(to), 0);
        fsd::fileinfo::set(t.vol(), c, &req, None).status
    };
    let mut other = t.open("\\doomed.txt");
    assert_eq!(rename(&mut other, "\\moved.txt"), NtStatus::SUCCESS);
    t.close(other);
    let mut other = t.open("\\readme.txt");
    assert_eq!(rename(&mut other, "\\dir\\readme.txt"), NtStatus::SUCCESS);
    t.close(other);
    // New files under the old names.
    for name in ["\\doomed.txt", "\\readme.txt"] {
        let made = t.create(name, FILE_CREATE, 0, RW, ALL_SHARE).unwrap();
        t.close(made.ccb);
    }
    assert_eq!(rename(&mut keeper, "\\kept.txt"), NtStatus::SUCCESS);
    t.close(keeper);
    t.close(doomed);
    t.finish();
    let root = t.debugfs("ls /");
    assert!(!root.contains("moved.txt"), "{root}");
    assert!(root.contains("doomed.txt"), "{root}");
    assert!(root.contains("readme.txt"), "{root}");
    assert_eq!(t.debugfs("cat /kept.txt"), "hello");
    assert!(!t.debugfs("ls /dir").contains("readme.txt"));
}

/// A directory moved by another open (once no file below it is open, as
/// Windows requires): names relative to an open of it are looked up where
/// it is now (not in a new directory under its old name, even for a name
/// the cache knows), and name queries give the new name.
#[test]
fn relative_opens_and_names_follow_a_moved_directory() {
    let mut t = TestVolume::new("moved-dir", &[], tree);
    let dir = t
        .create("\\dir", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
        .unwrap()
        .ccb;
    let data = t.open("\\dir\\data.bin");
    let relative = |name: &str| {
        let name = w(name);
        create(t.vol(), &read_open(&name, Some(&dir))).map(|c| c.ccb)
    };
    let size = |c: &fsd::Ccb| {
        let mut out = [0u8; 24];
        fsd::fileinfo::query(
            t.vol(),
            c,
            fsd::fileinfo::FILE_STANDARD_INFORMATION,
            &mut out,
        );
        u64_at(&out, 8)
    };
    let name = |c: &fsd::Ccb| {
        let mut out = [0u8; 128];
        fsd::fileinfo::query(t.vol(), c, fsd::fileinfo::FILE_NAME_INFORMATION, &mut out);
        name_at(&out, 4, u32_at(&out, 0) as usize)
    };
    let c = relative("data.bin").unwrap();
    assert_eq!(size(&c), 5000);
    t.close(c);

    let mut mover = t.open("\\dir");
    let req = rename_request(w("\\moved"), 0);
    let mut move_dir = || fsd::fileinfo::set(t.vol(), &mut mover, &req, None).status;
    assert_eq!(move_dir(), NtStatus::ACCESS_DENIED, "a file below is open");
    t.close(data);
    assert_eq!(move_dir(), NtStatus::SUCCESS);
    t.close(mover);
    // A new \dir with its own data.bin, opened once so the cache knows it.
    let made = t
        .create("\\dir", FILE_CREATE, FILE_DIRECTORY_FILE, RW, ALL_SHARE)
        .unwrap();
    t.close(made.ccb);
    let made = t
        .create("\\dir\\data.bin", FILE_CREATE, 0, RW, ALL_SHARE)
        .unwrap();
    t.close(made.ccb);
    let known = t.create("\\dir\\data.bin", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE);
    t.close(known.unwrap().ccb);

    let c = relative("data.bin").unwrap();
    assert_eq!(size(&c), 5000, "the moved directory's data.bin");
    assert_eq!(name(&c), "\\moved\\data.bin");
    t.close(c);
    assert_eq!(name(&dir), "\\moved");
    // A rename relative to it (RootDirectory) lands there too.
    let mut c = t.open("\\readme.txt");
    let req = fsd::fileinfo::SetRequest::Rename {
        flags: 0,
        root_directory: 1,
        name: w("readme.txt"),
    };
    let renamed = fsd::fileinfo::set(t.vol(), &mut c, &req, Some(&dir)).status;
    assert_eq!(renamed, NtStatus::SUCCESS);
    assert_eq!(name(&c), "\\moved\\readme.txt");
    t.close(c);
    t.close(dir);
    t.finish();
    assert!(t.debugfs("ls /moved").contains("readme.txt"));
    assert!(!t.debugfs("ls /dir").contains("readme.txt"));
}

/// `name::$DATA` (any case) is the file itself, as NTFS takes it; a named
/// stream is an invalid name (a Linux file has one stream) and nothing is
/// made; a directory has no data stream.
#[test]
fn the_default_data_stream_is_the_file() {
    let mut t = TestVolume::new("streams", &[], tree);
    let inode = |c: &fsd::Ccb| {
        let mut out = [0u8; 8];
        fsd::fileinfo::query(
            t.vol(),
            c,
            fsd::fileinfo::FILE_INTERNAL_INFORMATION,
            &mut out,
        );
        u64::from_le_bytes(out)
    };
    let plain = t.open("\\readme.txt");
    let stream = t
        .create("\\readme.txt::$DATA", FILE_OPEN, 0, RW, ALL_SHARE)
        .unwrap();
    assert_eq!(stream.information, FILE_OPENED);
    assert_eq!(inode(&stream.ccb), inode(&plain));
    let mut name = [0u8; 64];
    fsd::fileinfo::query(
        t.vol(),
        &stream.ccb,
        fsd::fileinfo::FILE_NAME_INFORMATION,
        &mut name,
    );
    assert_eq!(name_at(&name, 4, u32_at(&name, 0) as usize), "\\readme.txt");
    t.close(stream.ccb);
    t.close(plain);
    let made = t
        .create("\\dir\\new.txt::$data", FILE_CREATE, 0, RW, ALL_SHARE)
        .unwrap();
    assert_eq!(made.information, FILE_CREATED);
    t.close(made.ccb);
    for named in [
        "\\readme.txt:Zone.Identifier",
        "\\readme.txt:Zone.Identifier:$DATA",
        "\\other.txt:s",
        "\\readme.txt::$INDEX_ALLOCATION",
        "\\dir::$DATA\\data.bin",
        "\\::$DATA",
    ] {
        assert_eq!(
            t.create(named, FILE_OPEN_IF, 0, RW, ALL_SHARE).err(),
            Some(NtStatus::OBJECT_NAME_INVALID),
            "{named}"
        );
    }
    assert_eq!(
        t.create("\\dir::$DATA", FILE_OPEN, 0, GENERIC_READ, ALL_SHARE)
            .err(),
        Some(NtStatus::FILE_IS_A_DIRECTORY)
    );
    t.finish();
    let root = t.debugfs("ls /");
    assert!(!root.contains("other") && !root.contains("Zone"), "{root}");
    assert!(t.debugfs("ls /dir").contains("new.txt"));
}

/// The host's check before an overwrite or supersede empties a file (the
/// driver asks Windows' memory manager whether a section maps it): a
/// refusal fails the create with the host's status and leaves the data
/// and the file as they were; other files and other dispositions are not
/// asked about.
#[test]
fn the_host_may_refuse_to_empty_a_file() {
    use std::sync::{Arc, Mutex};
    let mut t = TestVolume::new("empty_check", &[], tree);
    let asked = Arc::new(Mutex::new(Vec::new()));
    let readme = t.open("\\readme.txt");
    let mapped = readme.file_id();
    t.close(readme);
    let seen = asked.clone();
    t.vol().set_empty_check(Arc::new(move |id| {
        seen.lock().unwrap().push(id);
        if id == mapped {
            Err(NtStatus::USER_MAPPED_FILE)
        } else {
            Ok(())
        }
    }));
    for disposition in [FILE_OVERWRITE, FILE_OVERWRITE_IF, FILE_SUPERSEDE] {
        let refused = t.create("\\readme.txt", disposition, 0, RW, ALL_SHARE);
        assert_eq!(refused.err(), Some(NtStatus::USER_MAPPED_FILE));
    }
    let opened = t
        .create("\\readme.txt", FILE_OPEN, 0, RW, ALL_SHARE)
        .unwrap();
    t.close(opened.ccb);
    let other = t.create("\\dir\\data.bin", FILE_OVERWRITE, 0, RW, ALL_SHARE);
    let other = other.unwrap();
    assert_eq!(other.information, FILE_OVERWRITTEN);
    t.close(other.ccb);
    assert_eq!(
        asked.lock().unwrap().len(),
        4,
        "asked for each emptying only"
    );
    t.finish();
    assert_eq!(t.debugfs("cat /readme.txt"), "hello");
    assert!(t.debugfs("stat /dir/data.bin").contains("Size: 0"));
}

/// What the driver asks before a create decides share access (to break a
/// batch oplock on the file first): the existing file's id, found without
/// opening it, the same as an open's; none for a new name or a bad path.
#[test]
fn an_existing_file_is_found_without_an_open() {
    let mut t = TestVolume::new("existing_id", &[], tree);
    let request = |name: &str| existing_id(t.vol(), &read_open(&w(name), None));
    let opened = t.open("\\dir\\data.bin");
    assert_eq!(request("\\DIR\\Data.bin"), Some(opened.file_id()));
    assert_eq!(request("\\dir\\data.bin::$DATA"), Some(opened.file_id()));
    t.close(opened);
    assert_eq!(request("\\dir\\missing.bin"), None);
    assert_eq!(request("\\missing\\x"), None);
    assert_eq!(request("\\"), None);
    t.finish();
}
