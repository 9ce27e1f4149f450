//! Names that move: a save by rename over the original, renames across
//! directories and of open files, hard links, symlinks as reparse points.
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{
    FILE_ATTRIBUTE_TAG_INFORMATION, FILE_DISPOSITION_INFORMATION, FILE_LINK_INFORMATION,
    FILE_NAME_INFORMATION, FILE_RENAME_INFORMATION, FILE_STANDARD_INFORMATION,
};
use fsd::fsctl::{FSCTL_GET_REPARSE_POINT, FSCTL_SET_REPARSE_POINT};
use fsd::{attributes, volinfo, NtStatus};

use crate::bytes::{name_at, ok, rename_info, symlink_reparse, u32_at};
use crate::files::{assert_contents, exists, make_dir, make_file, open, open_dir, SHARE_ALL};
use crate::runner::needs;
use crate::{Dir, Drive, Outcome};

/// Renames the file open as `h` to `to`.
fn rename<D: Drive>(d: &D, h: &mut D::Handle, to: &str, replace: bool) -> NtStatus {
    d.set_information(h, FILE_RENAME_INFORMATION, &rename_info(replace, to))
        .status
}

/// Saving through a temporary file renamed over the original, which
/// Windows refuses while the original is open elsewhere.
pub fn replace_by_rename<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let target = t.path("target.txt");
    make_file(d, &target, b"old contents");
    let (mut tmp, _) = d
        .create(
            &t.path("target.tmp"),
            FILE_CREATE,
            0,
            GENERIC_WRITE | DELETE,
            0,
        )
        .unwrap();
    ok(d.write(&mut tmp, Some(0), b"new contents"));
    let (reader, _) = d
        .create(&target, FILE_OPEN, 0, GENERIC_READ, SHARE_ALL)
        .unwrap();
    assert_eq!(
        rename(d, &mut tmp, &target, true),
        NtStatus::ACCESS_DENIED,
        "replacing an open file"
    );
    d.close(reader);
    assert_eq!(
        rename(d, &mut tmp, &target, false),
        NtStatus::OBJECT_NAME_COLLISION
    );
    assert_eq!(rename(d, &mut tmp, &target, true), NtStatus::SUCCESS);
    d.close(tmp);
    assert_contents(d, &target, b"new contents");
    assert_eq!(
        exists(d, &t.path("target.tmp")),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    Ok(())
}

/// Renames across directories, of a file open elsewhere, of a directory
/// with an open file below it, onto a directory, and of case alone.
pub fn renames<D: Drive>(d: &D, t: &Dir) -> Outcome {
    make_dir(d, &t.path("a"));
    make_dir(d, &t.path("b"));
    make_file(d, &t.path("a\\x"), b"moved");
    let (mut h, _) = open(d, &t.path("a\\x"), FILE_OPEN, 0).unwrap();
    assert_eq!(rename(d, &mut h, &t.path("b\\x"), false), NtStatus::SUCCESS);
    d.close(h);
    assert_eq!(
        exists(d, &t.path("a\\x")),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_contents(d, &t.path("b\\x"), b"moved");

    let (mut reader, _) = open(d, &t.path("b\\x"), FILE_OPEN, 0).unwrap();
    let (mut mover, _) = open(d, &t.path("b\\x"), FILE_OPEN, 0).unwrap();
    assert_eq!(
        rename(d, &mut mover, &t.path("y"), false),
        NtStatus::SUCCESS
    );
    d.close(mover);
    let mut buf = [0u8; 16];
    assert_eq!(
        ok(d.read(&mut reader, 0, &mut buf)),
        5,
        "an open file moved"
    );
    let mut name = [0u8; 512];
    ok(d.query_information(&reader, FILE_NAME_INFORMATION, &mut name));
    let name = name_at(&name, 4, u32_at(&name, 0) as usize);
    assert!(name.ends_with(&t.path("y")), "its name now: {name}");
    d.close(reader);

    let (open_below, _) = open(d, &t.path("y"), FILE_OPEN, 0).unwrap();
    let (mut dir, _) = d
        .create(
            &t.path("a"),
            FILE_OPEN,
            FILE_DIRECTORY_FILE,
            DELETE,
            SHARE_ALL,
        )
        .unwrap();
    make_file(d, &t.path("a\\inside"), b"");
    let (inside, _) = open(d, &t.path("a\\inside"), FILE_OPEN, 0).unwrap();
    assert_eq!(
        rename(d, &mut dir, &t.path("a2"), false),
        NtStatus::ACCESS_DENIED,
        "a directory with an open file below it"
    );
    d.close(inside);
    assert_eq!(rename(d, &mut dir, &t.path("a2"), false), NtStatus::SUCCESS);
    d.close(dir);
    assert_eq!(exists(d, &t.path("a2\\inside")), Ok(()));
    d.close(open_below);

    let (mut f, _) = open(d, &t.path("y"), FILE_OPEN, 0).unwrap();
    assert_eq!(
        rename(d, &mut f, &t.path("b"), true),
        NtStatus::ACCESS_DENIED,
        "replacing a directory"
    );
    assert_eq!(rename(d, &mut f, &t.path("Y"), false), NtStatus::SUCCESS);
    d.close(f);
    let mut list = open_dir(d, &format!("\\{}", t.name));
    let mut buf = vec![0u8; 4096];
    let class = fsd::dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION;
    ok(d.query_directory(&mut list, class, Some("y"), true, &mut buf));
    let names: Vec<String> = crate::bytes::entries(&buf)
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["Y"], "a rename of case alone");
    d.close(list);
    Ok(())
}

/// A second name for a file: both read the same data, the link count
/// follows, and the file lives on under the other name.
pub fn hard_links<D: Drive>(d: &D, t: &Dir) -> Outcome {
    needs(d, volinfo::FILE_SUPPORTS_HARD_LINKS, "hard links")?;
    let orig = t.path("orig");
    let copy = t.path("copy");
    make_file(d, &orig, b"linked data");
    make_file(d, &t.path("taken"), b"");
    let (mut h, _) = open(d, &orig, FILE_OPEN, 0).unwrap();
    assert_eq!(
        d.set_information(
            &mut h,
            FILE_LINK_INFORMATION,
            &rename_info(false, &t.path("taken"))
        )
        .status,
        NtStatus::OBJECT_NAME_COLLISION
    );
    ok(d.set_information(&mut h, FILE_LINK_INFORMATION, &rename_info(false, &copy)));
    let mut standard = [0u8; 24];
    ok(d.query_information(&h, FILE_STANDARD_INFORMATION, &mut standard));
    assert_eq!(u32_at(&standard, 16), 2, "NumberOfLinks");
    ok(d.set_information(&mut h, FILE_DISPOSITION_INFORMATION, &[1]));
    d.close(h);
    assert_contents(d, &copy, b"linked data");
    let (c, _) = open(d, &copy, FILE_OPEN, 0).unwrap();
    ok(d.query_information(&c, FILE_STANDARD_INFORMATION, &mut standard));
    assert_eq!(u32_at(&standard, 16), 1, "NumberOfLinks after a delete");
    d.close(c);
    Ok(())
}

/// A symlink made with FSCTL_SET_REPARSE_POINT: opening it opens its
/// target, FILE_OPEN_REPARSE_POINT opens the link, which says its target.
pub fn symlinks<D: Drive>(d: &D, t: &Dir) -> Outcome {
    needs(d, volinfo::FILE_SUPPORTS_REPARSE_POINTS, "reparse points")?;
    make_file(d, &t.path("target.txt"), b"pointed at");
    let link = t.path("link");
    let (mut h, _) = d
        .create(
            &link,
            FILE_CREATE,
            FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT,
            GENERIC_WRITE | DELETE,
            0,
        )
        .unwrap();
    ok(d.fsctl(
        &mut h,
        FSCTL_SET_REPARSE_POINT,
        &symlink_reparse("target.txt", true),
        &mut [],
    ));
    d.close(h);
    assert_contents(d, &link, b"pointed at");

    let (mut h, _) = d
        .create(
            &link,
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            SHARE_ALL,
        )
        .unwrap();
    let mut tag = [0u8; 8];
    ok(d.query_information(&h, FILE_ATTRIBUTE_TAG_INFORMATION, &mut tag));
    assert_ne!(u32_at(&tag, 0) & attributes::REPARSE_POINT, 0);
    assert_eq!(u32_at(&tag, 4), attributes::IO_REPARSE_TAG_SYMLINK);
    let mut reparse = [0u8; 256];
    ok(d.fsctl(&mut h, FSCTL_GET_REPARSE_POINT, &[], &mut reparse));
    let (offset, len) = (
        u16::from_le_bytes([reparse[12], reparse[13]]) as usize,
        u16::from_le_bytes([reparse[14], reparse[15]]) as usize,
    );
    assert_eq!(name_at(&reparse, 20 + offset, len), "target.txt");
    d.close(h);

    let (mut plain, _) = open(d, &t.path("target.txt"), FILE_OPEN, 0).unwrap();
    let mut out = [0u8; 64];
    assert_eq!(
        d.fsctl(&mut plain, FSCTL_GET_REPARSE_POINT, &[], &mut out)
            .status,
        NtStatus::NOT_A_REPARSE_POINT
    );
    d.close(plain);
    Ok(())
}
