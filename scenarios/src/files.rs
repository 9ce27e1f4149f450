//! Files made, opened and removed: every create disposition, an editor's
//! save, sharing modes, delete-on-close and POSIX delete.
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{
    FILE_DISPOSITION_INFORMATION, FILE_DISPOSITION_INFORMATION_EX, FILE_STANDARD_INFORMATION,
};
use fsd::{volinfo, NtStatus};

use crate::bytes::{ok, u64_at};
use crate::runner::needs;
use crate::{Dir, Drive, Outcome};

pub const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
pub const READ_WRITE_DELETE: u32 = GENERIC_READ | GENERIC_WRITE | DELETE;
/// FILE_DISPOSITION_INFORMATION_EX's flags.
pub const FILE_DISPOSITION_DELETE: u32 = 1;
pub const FILE_DISPOSITION_POSIX_SEMANTICS: u32 = 2;

/// Opens `name` for reading, writing and deleting, shared with everyone.
pub fn open<D: Drive>(
    d: &D,
    name: &str,
    disposition: u32,
    options: u32,
) -> Result<(D::Handle, u64), NtStatus> {
    d.create(name, disposition, options, READ_WRITE_DELETE, SHARE_ALL)
}

/// A new file `name` holding `data`.
pub fn make_file<D: Drive>(d: &D, name: &str, data: &[u8]) {
    let (mut h, _) = open(d, name, FILE_CREATE, FILE_NON_DIRECTORY_FILE)
        .unwrap_or_else(|e| panic!("creating {name}: {e:?}"));
    if !data.is_empty() {
        assert_eq!(ok(d.write(&mut h, Some(0), data)), data.len() as u64);
    }
    d.close(h);
}

/// A new directory `name`.
pub fn make_dir<D: Drive>(d: &D, name: &str) {
    let (h, _) = d
        .create(
            name,
            FILE_CREATE,
            FILE_DIRECTORY_FILE,
            FILE_LIST_DIRECTORY,
            SHARE_ALL,
        )
        .unwrap_or_else(|e| panic!("creating directory {name}: {e:?}"));
    d.close(h);
}

/// Opens directory `name` for listing, shared with everyone.
pub fn open_dir<D: Drive>(d: &D, name: &str) -> D::Handle {
    d.create(
        name,
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
        FILE_LIST_DIRECTORY,
        SHARE_ALL,
    )
    .unwrap_or_else(|e| panic!("opening directory {name}: {e:?}"))
    .0
}

/// The whole contents of `name` (up to 1 MiB).
pub fn contents<D: Drive>(d: &D, name: &str) -> Vec<u8> {
    let (mut h, _) = d
        .create(name, FILE_OPEN, 0, GENERIC_READ, SHARE_ALL)
        .unwrap_or_else(|e| panic!("opening {name}: {e:?}"));
    let mut buf = vec![0u8; 1 << 20];
    let c = d.read(&mut h, 0, &mut buf);
    d.close(h);
    let n = match c.status {
        NtStatus::END_OF_FILE => 0,
        _ => ok(c) as usize,
    };
    buf.truncate(n);
    buf
}

/// The end-of-file of an open, from FileStandardInformation.
pub fn size<D: Drive>(d: &D, h: &D::Handle) -> u64 {
    let mut standard = [0u8; 24];
    ok(d.query_information(h, FILE_STANDARD_INFORMATION, &mut standard));
    u64_at(&standard, 8)
}

/// Checks that `name` holds `expected`, showing both briefly if not.
#[track_caller]
pub fn assert_contents<D: Drive>(d: &D, name: &str, expected: &[u8]) {
    let got = contents(d, name);
    if got != expected {
        let show = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned();
        panic!(
            "{name}: {} bytes {:?}..., expected {} bytes {:?}...",
            got.len(),
            show(&got),
            expected.len(),
            show(expected)
        );
    }
}

/// Whether `name` can be opened (else the status that said no).
pub fn exists<D: Drive>(d: &D, name: &str) -> Result<(), NtStatus> {
    d.create(name, FILE_OPEN, 0, FILE_READ_ATTRIBUTES, SHARE_ALL)
        .map(|(h, _)| d.close(h))
}

/// Each disposition on a name that exists and one that does not.
pub fn dispositions<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let f = t.path("f");
    let info = |disposition: u32, name: &str, options: u32| {
        open(d, name, disposition, options).map(|(h, info)| {
            d.close(h);
            info
        })
    };
    assert_eq!(info(FILE_CREATE, &f, 0), Ok(FILE_CREATED));
    assert_eq!(
        info(FILE_CREATE, &f, 0),
        Err(NtStatus::OBJECT_NAME_COLLISION)
    );
    assert_eq!(
        info(FILE_OPEN, &t.path("missing"), 0),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(
        info(FILE_OPEN, &t.path("nodir\\x"), 0),
        Err(NtStatus::OBJECT_PATH_NOT_FOUND)
    );
    assert_eq!(
        info(FILE_OVERWRITE, &t.path("missing"), 0),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(info(FILE_OPEN_IF, &f, 0), Ok(FILE_OPENED));
    assert_eq!(info(FILE_OPEN_IF, &t.path("g"), 0), Ok(FILE_CREATED));

    let (mut h, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    ok(d.write(&mut h, Some(0), b"12345"));
    d.close(h);
    let (h, info_) = open(d, &f, FILE_OVERWRITE, 0).unwrap();
    assert_eq!(info_, FILE_OVERWRITTEN);
    assert_eq!(size(d, &h), 0, "FILE_OVERWRITE empties the file");
    d.close(h);
    assert_eq!(info(FILE_SUPERSEDE, &f, 0), Ok(FILE_SUPERSEDED));
    assert_eq!(info(FILE_SUPERSEDE, &t.path("h"), 0), Ok(FILE_CREATED));
    assert_eq!(info(FILE_OVERWRITE_IF, &t.path("i"), 0), Ok(FILE_CREATED));
    assert_eq!(
        info(FILE_OVERWRITE_IF, &t.path("i"), 0),
        Ok(FILE_OVERWRITTEN)
    );

    let dir = t.path("d");
    assert_eq!(
        info(FILE_CREATE, &dir, FILE_DIRECTORY_FILE),
        Ok(FILE_CREATED)
    );
    assert_eq!(info(FILE_OPEN, &dir, FILE_DIRECTORY_FILE), Ok(FILE_OPENED));
    assert_eq!(
        info(FILE_OPEN, &dir, FILE_NON_DIRECTORY_FILE),
        Err(NtStatus::FILE_IS_A_DIRECTORY)
    );
    assert_eq!(
        info(FILE_OPEN, &f, FILE_DIRECTORY_FILE),
        Err(NtStatus::NOT_A_DIRECTORY)
    );
    assert_eq!(
        info(FILE_CREATE, &dir, FILE_DIRECTORY_FILE),
        Err(NtStatus::OBJECT_NAME_COLLISION)
    );
    Ok(())
}

/// An editor saving a document: create, write, reopen, read, overwrite.
pub fn editor_saves<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let note = t.path("note.txt");
    let (mut h, info) = d
        .create(
            &note,
            FILE_OPEN_IF,
            FILE_NON_DIRECTORY_FILE,
            GENERIC_WRITE,
            0,
        )
        .unwrap();
    assert_eq!(info, FILE_CREATED);
    assert_eq!(ok(d.write(&mut h, Some(0), b"first draft")), 11);
    d.close(h);
    let (mut h, info) = d
        .create(&note, FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(info, FILE_OPENED);
    let mut buf = [0u8; 64];
    assert_eq!(ok(d.read(&mut h, 0, &mut buf)), 11);
    assert_eq!(&buf[..11], b"first draft");
    assert_eq!(size(d, &h), 11);
    assert_eq!(
        d.read(&mut h, 11, &mut buf).status,
        NtStatus::END_OF_FILE,
        "reading at the end"
    );
    d.close(h);
    let (mut h, info) = d
        .create(&note, FILE_OVERWRITE_IF, 0, GENERIC_WRITE, 0)
        .unwrap();
    assert_eq!(info, FILE_OVERWRITTEN);
    ok(d.write(&mut h, None, b"final"));
    ok(d.write(&mut h, None, b" text"));
    d.close(h);
    assert_contents(d, &note, b"final text");
    Ok(())
}

/// Share modes: what one open lets the next do.
pub fn sharing<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let a = t.path("a.txt");
    make_file(d, &a, b"shared");
    let (r, _) = d
        .create(&a, FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(
        d.create(&a, FILE_OPEN, 0, GENERIC_WRITE, SHARE_ALL).err(),
        Some(NtStatus::SHARING_VIOLATION),
        "writing a file shared for reading only"
    );
    assert_eq!(
        d.create(&a, FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_WRITE)
            .err(),
        Some(NtStatus::SHARING_VIOLATION),
        "a reader that would not share reading with the one before"
    );
    let (r2, _) = d
        .create(&a, FILE_OPEN, 0, GENERIC_READ, FILE_SHARE_READ)
        .unwrap();
    assert_eq!(
        d.create(&a, FILE_OPEN, 0, DELETE, SHARE_ALL).err(),
        Some(NtStatus::SHARING_VIOLATION),
        "deleting without FILE_SHARE_DELETE from the opens"
    );
    d.close(r2);
    d.close(r);

    let (x, _) = d.create(&a, FILE_OPEN, 0, GENERIC_READ, 0).unwrap();
    let (attrs, _) = d
        .create(&a, FILE_OPEN, 0, FILE_READ_ATTRIBUTES, SHARE_ALL)
        .expect("reading attributes needs no sharing");
    d.close(attrs);
    assert_eq!(
        d.create(&a, FILE_OPEN, 0, GENERIC_READ, SHARE_ALL).err(),
        Some(NtStatus::SHARING_VIOLATION),
        "an exclusive open"
    );
    d.close(x);
    let (w, _) = d
        .create(&a, FILE_OPEN, 0, GENERIC_WRITE, SHARE_ALL)
        .unwrap();
    d.close(w);
    Ok(())
}

/// Delete-on-close and the disposition: the name stays, pending, until
/// the last handle closes; a directory must be empty.
pub fn delete_on_close<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let tmp = t.path("scratch.tmp");
    let (mut h, _) = d
        .create(
            &tmp,
            FILE_CREATE,
            FILE_DELETE_ON_CLOSE,
            GENERIC_WRITE | DELETE,
            0,
        )
        .unwrap();
    ok(d.write(&mut h, Some(0), b"temporary"));
    d.close(h);
    assert_eq!(exists(d, &tmp), Err(NtStatus::OBJECT_NAME_NOT_FOUND));

    let f = t.path("doomed");
    make_file(d, &f, b"still here");
    let (mut a, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let (mut b, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    ok(d.set_information(&mut a, FILE_DISPOSITION_INFORMATION, &[1]));
    let mut standard = [0u8; 24];
    ok(d.query_information(&b, FILE_STANDARD_INFORMATION, &mut standard));
    assert_eq!(standard[20], 1, "DeletePending seen by the other open");
    assert_eq!(
        open(d, &f, FILE_OPEN, 0).err(),
        Some(NtStatus::DELETE_PENDING)
    );
    d.close(a);
    assert_eq!(exists(d, &f), Err(NtStatus::DELETE_PENDING));
    let mut buf = [0u8; 16];
    assert_eq!(
        ok(d.read(&mut b, 0, &mut buf)),
        10,
        "data of a pending file"
    );
    d.close(b);
    assert_eq!(exists(d, &f), Err(NtStatus::OBJECT_NAME_NOT_FOUND));

    let undo = t.path("undone");
    make_file(d, &undo, b"");
    let (mut u, _) = open(d, &undo, FILE_OPEN, 0).unwrap();
    ok(d.set_information(&mut u, FILE_DISPOSITION_INFORMATION, &[1]));
    ok(d.set_information(&mut u, FILE_DISPOSITION_INFORMATION, &[0]));
    d.close(u);
    assert_eq!(exists(d, &undo), Ok(()), "a disposition taken back");

    let dir = t.path("full");
    make_dir(d, &dir);
    make_file(d, &t.path("full\\x"), b"");
    let (mut h, _) = d
        .create(&dir, FILE_OPEN, FILE_DIRECTORY_FILE, DELETE, SHARE_ALL)
        .unwrap();
    assert_eq!(
        d.set_information(&mut h, FILE_DISPOSITION_INFORMATION, &[1])
            .status,
        NtStatus::DIRECTORY_NOT_EMPTY
    );
    d.close(h);
    assert_eq!(exists(d, &dir), Ok(()));
    Ok(())
}

/// FileDispositionInformationEx with POSIX semantics: the name goes at
/// once, open handles keep the data, and the name is free again.
pub fn posix_delete<D: Drive>(d: &D, t: &Dir) -> Outcome {
    needs(
        d,
        volinfo::FILE_SUPPORTS_POSIX_UNLINK_RENAME,
        "POSIX unlink and rename",
    )?;
    let f = t.path("log");
    make_file(d, &f, b"old log");
    let (mut reader, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let (mut h, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS;
    ok(d.set_information(
        &mut h,
        FILE_DISPOSITION_INFORMATION_EX,
        &flags.to_le_bytes(),
    ));
    d.close(h);
    assert_eq!(exists(d, &f), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    make_file(d, &f, b"new log");
    let mut buf = [0u8; 16];
    assert_eq!(ok(d.read(&mut reader, 0, &mut buf)), 7);
    assert_eq!(&buf[..7], b"old log");
    d.close(reader);
    assert_contents(d, &f, b"new log");
    Ok(())
}
