//! Opening through symlinks: followed inside the volume, whose root is the
//! root for them (absolute targets start there, `..` goes no higher), so
//! no target reaches the kernel's own tree or the NT namespace;
//! FILE_OPEN_REPARSE_POINT opens the link itself.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::create_dir(root.join("dir")).unwrap();
    std::fs::write(root.join("dir/target.txt"), b"T").unwrap();
    for (link, target) in [
        ("rel", "dir/target.txt"),
        ("abs", "/dir/target.txt"),
        ("up", "../../dir/target.txt"),
        ("passwd", "/etc/passwd"),
        ("proc", "/../../../proc/version"),
        ("procdir", "../../proc"),
        ("dirlink", "dir"),
        ("loop", "loop"),
        ("chain", "rel"),
        ("dangling", "dir/none"),
    ] {
        std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    }
}

fn read_all(t: &TestVolume, name: &str) -> Result<String, NtStatus> {
    let mut c = t.create(name, FILE_OPEN, 0, GENERIC_READ, 7)?.ccb;
    let mut buf = [0u8; 16];
    let n = fsd::read::read(t.vol(), &mut c, Some(0), &mut buf).information as usize;
    t.close(c);
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn symlinks_are_followed_inside_the_volume() {
    let t = TestVolume::new("symlinks", &[], tree);
    assert_eq!(read_all(&t, "\\rel").as_deref(), Ok("T"));
    assert_eq!(read_all(&t, "\\chain").as_deref(), Ok("T"));
    assert_eq!(read_all(&t, "\\dirlink\\target.txt").as_deref(), Ok("T"));
    assert_eq!(read_all(&t, "\\abs").as_deref(), Ok("T"));
    assert_eq!(read_all(&t, "\\up").as_deref(), Ok("T"));
    // The kernel's files are not the volume's: nothing by those names here.
    for outside in ["\\passwd", "\\proc"] {
        assert_eq!(
            read_all(&t, outside),
            Err(NtStatus::OBJECT_NAME_NOT_FOUND),
            "{outside}"
        );
    }
    assert_eq!(
        read_all(&t, "\\procdir\\version"),
        Err(NtStatus::OBJECT_PATH_NOT_FOUND)
    );
    assert_eq!(
        read_all(&t, "\\loop"),
        Err(NtStatus::REPARSE_POINT_NOT_RESOLVED)
    );
    assert_eq!(
        read_all(&t, "\\dangling"),
        Err(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    // The link itself.
    let c = t
        .create(
            "\\abs",
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT,
            FILE_READ_ATTRIBUTES,
            7,
        )
        .unwrap()
        .ccb;
    assert!(!c.is_directory());
    t.close(c);
    let d = t
        .create("\\dirlink", FILE_OPEN, FILE_DIRECTORY_FILE, GENERIC_READ, 7)
        .unwrap()
        .ccb;
    assert!(d.is_directory());
    t.close(d);
}
