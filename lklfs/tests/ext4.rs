//! lklfs on ext2/3/4 images made by e2fsprogs, checked with debugfs and
//! e2fsck.
mod common;

use common::*;

/// Feature sets mkfs.ext4 can make, each read back whole.
const FEATURE_SETS: &[(&str, &[&str])] = &[
    ("ext4-default", &[]),
    ("ext2", &["-t", "ext2"]),
    ("ext3", &["-t", "ext3"]),
    (
        "64bit-csum-inline",
        &["-O", "64bit,metadata_csum,inline_data"],
    ),
    ("casefold", &["-O", "casefold", "-E", "encoding=utf8"]),
    ("large_dir-orphan_file", &["-O", "large_dir,orphan_file"]),
    (
        "bigalloc-4k",
        &["-b", "4096", "-O", "bigalloc", "-C", "16384"],
    ),
];

#[test]
fn read_trees_of_every_feature_set() {
    let s = Scratch::new("read");
    sample_tree(&s.path("tree"));
    for (name, args) in FEATURE_SETS {
        let image = s.path(&format!("{name}.img"));
        make_ext4(&image, Some(&s.path("tree")), args, "64M");
        let out = s.path(&format!("{name}.out"));
        lklfs_ok(&[
            "cp",
            "-r",
            "-p",
            &format!("{}:/", image.display()),
            &out.display().to_string(),
        ]);
        // mkfs.ext4 -d (e2fsprogs 1.47) stores whole seconds only.
        let how = Compare {
            mtime_ns: 1_000_000_000,
            ..EXACT
        };
        assert_same_tree(&s.path("tree"), &out, how);
        e2fsck_clean(&image);
    }
}

#[test]
fn writes_are_what_debugfs_shows_and_fsck_is_clean() {
    let s = Scratch::new("write");
    sample_tree(&s.path("tree"));
    let image = s.path("w.img");
    make_ext4(&image, None, &["-O", "metadata_csum,64bit"], "64M");
    let img = |p: &str| format!("{}:{p}", image.display());

    lklfs_ok(&["mkdir", "-p", &img("/a/b/c")]);
    lklfs_ok(&["cp", "-r", "-p", &s.arg("tree"), &img("/a/b")]);
    std::fs::write(s.path("note.txt"), b"a note\n").unwrap();
    lklfs_ok(&["cp", &s.arg("note.txt"), &img("/a/note.txt")]);
    lklfs_ok(&["mv", &img("/a/note.txt"), &img("/a/b/c/moved.txt")]);
    // Into an existing directory, as mv(1) moves: a file, then a directory.
    lklfs_ok(&["mkdir", &img("/into")]);
    lklfs_ok(&["cp", &s.arg("note.txt"), &img("/second.txt")]);
    lklfs_ok(&["mv", &img("/second.txt"), &img("/into")]);
    lklfs_ok(&["mkdir", &img("/sub")]);
    lklfs_ok(&["mv", &img("/sub"), &img("/into/")]);
    lklfs_ok(&["ln", "-s", "../moved-target", &img("/a/sym")]);
    lklfs_ok(&["rm", &img("/a/b/tree/one")]);
    lklfs_ok(&["rm", "-r", &img("/a/b/tree/dir/deeper")]);
    e2fsck_clean(&image);

    let debugfs = |req: &str| tool("debugfs", &["-R", req, &image.display().to_string()]);
    assert_eq!(debugfs("cat /a/b/c/moved.txt"), "a note\n");
    let big = std::fs::read(s.path("tree/dir/big.bin")).unwrap();
    let dumped = s.path("big.dump");
    debugfs(&format!("dump /a/b/tree/dir/big.bin {}", dumped.display()));
    assert_eq!(
        std::fs::read(&dumped).unwrap(),
        big,
        "big.bin as debugfs dumps it"
    );
    assert!(debugfs("stat /a/sym").contains("Fast link dest: \"../moved-target\""));
    let listing = debugfs("ls /a/b/tree");
    assert!(
        !listing.contains(" one "),
        "removed file still listed: {listing}"
    );
    assert!(listing.contains("page-1"));
    assert!(debugfs("ls /a/b/tree/dir").contains("big.bin"));
    assert!(!debugfs("ls /a/b/tree/dir").contains("deeper"));
    assert!(!debugfs("ls /a").contains("note.txt"));
    assert_eq!(debugfs("cat /into/second.txt"), "a note\n");
    assert!(debugfs("stat /into/sub").contains("Type: directory"));
    let links = debugfs("stat /a/b/tree/hardlink-to-big");
    assert!(links.contains("Links: 2"), "hard link kept: {links}");

    // In and out again through lkl: nanosecond mtimes survive both ways.
    let round = s.path("round");
    lklfs_ok(&["mkdir", &img("/round")]);
    lklfs_ok(&["cp", "-r", "-p", &s.arg("tree"), &img("/round/tree")]);
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &img("/round/tree"),
        &round.display().to_string(),
    ]);
    assert_same_tree(&s.path("tree"), &round, EXACT);

    // `dir/.` is what is in dir, both ways, as cp takes it.
    lklfs_ok(&["mkdir", &img("/contents")]);
    let contents = format!("{}/.", s.path("tree").display());
    lklfs_ok(&["cp", "-r", "-p", &contents, &img("/contents")]);
    let listing = debugfs("ls /contents");
    assert!(
        listing.contains("page-1") && !listing.contains("tree"),
        "{listing}"
    );
    let back = s.path("back");
    std::fs::create_dir(&back).unwrap();
    lklfs_ok(&[
        "cp",
        "-r",
        "-p",
        &img("/contents/."),
        &back.display().to_string(),
    ]);
    assert_same_tree(&s.path("tree"), &back, EXACT);
    e2fsck_clean(&image);
}

/// An image cut short (a partial download, a copy that stopped): lklfs
/// says which file system it holds and why Linux will not mount it,
/// changes nothing, and exits 1.
#[test]
fn a_short_image_says_why() {
    let s = Scratch::new("short");
    let image = s.path("short.img");
    make_ext4(&image, None, &[], "16M");
    std::fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(12 << 20)
        .unwrap();
    let before = sha256(&image);
    let out = lklfs(&["ls", &format!("{}:/", image.display())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}: its ext4 file system cannot be mounted",
            image.display()
        )) && err.contains("exceeds size of device"),
        "{err}"
    );
    assert_eq!(sha256(&image), before);
}

#[test]
fn errors_are_clear_and_write_nothing() {
    let s = Scratch::new("errors");
    let tree = s.path("tree");
    std::fs::create_dir(&tree).unwrap();
    tool("mkfifo", &[&tree.join("fifo").display().to_string()]);
    let image = s.path("e.img");
    make_ext4(&image, Some(&tree), &[], "16M");
    let before = sha256(&image);
    let img = |p: &str| format!("{}:{p}", image.display());
    let cases: &[(&[&str], &str)] = &[
        (&["ls", &img("/missing")], "No such file or directory"),
        // The path as the user named it, not the kernel's mount point.
        (
            &["cat", &img("/missing/file")],
            "lklfs: /missing/file: No such file or directory",
        ),
        (&["mkdir", &img("/no/parent")], "No such file or directory"),
        (&["rm", &img("/lost+found")], "Is a directory"),
        (
            &["mv", &img("/missing"), &img("/x")],
            "No such file or directory",
        ),
        (&["--ro", "mkdir", &img("/d")], "Read-only file system"),
        (&["-P", "2", "ls", &img("/")], "no partition 2"),
        (&["-t", "xfs", "ls", &img("/")], "not a xfs file system"),
        // The driver's commands, on Linux.
        (&["volumes"], "the lklfsd driver, which is for Windows"),
        // Nothing to read, and no writer could ever come: not a wait.
        (&["cat", &img("/fifo")], "lklfs: /fifo: not a regular file"),
        (&["cat", &img("/")], "lklfs: /: Is a directory"),
    ];
    let fails_with = |args: &[&str], message: &str| {
        let out = lklfs(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(message),
            "{args:?}: stderr {err:?}, expected {message:?}"
        );
        assert_eq!(sha256(&image), before, "{args:?} changed the image");
    };
    for (args, message) in cases {
        fails_with(args, message);
    }
    // An image that is not there is named, in whichever argument.
    let missing = s.path("missing.img").display().to_string();
    let in_missing = format!("{missing}:/f");
    let no_image = format!("{missing}: no such image file");
    let host = tree.display().to_string();
    fails_with(&["ls", &in_missing], &no_image);
    fails_with(&["cp", &in_missing, &host], &no_image);
    fails_with(&["cp", &host, &in_missing], &no_image);
    fails_with(&["ls", &host], "expected IMAGE:/PATH");
    let out = s.path("out");
    let copied = lklfs(&["cp", "-r", &img("/"), &out.display().to_string()]);
    let err = String::from_utf8_lossy(&copied.stderr);
    assert!(copied.status.success(), "{err}");
    assert!(
        err.contains("lklfs: /fifo: skipping a special file"),
        "{err}"
    );
    assert!(out.join("lost+found").is_dir() && !out.join("fifo").exists());
}

#[test]
fn bad_images_fail_cleanly_and_stay_unchanged() {
    let s = Scratch::new("bad");
    let good = s.path("good.img");
    make_ext4(&good, None, &[], "16M");
    let bytes = std::fs::read(&good).unwrap();

    let truncated = s.path("truncated.img");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let zeroed = s.path("zeroed-sb.img");
    let mut z = bytes.clone();
    z[1024..2048].fill(0);
    std::fs::write(&zeroed, z).unwrap();
    let random = s.path("random.img");
    let noise: Vec<u8> = (0..4u64 << 20)
        .map(|i| {
            (i.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 33) as u8
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    let tiny = s.path("tiny.img");
    std::fs::write(&tiny, b"x").unwrap();

    for image in [&truncated, &zeroed, &random, &tiny] {
        let before = sha256(image);
        let out = lklfs(&["ls", &format!("{}:/", image.display())]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", image.display());
        assert!(err.starts_with("lklfs: "), "{}: {err}", image.display());
        assert_eq!(sha256(image), before, "{} changed", image.display());
    }
}

#[test]
fn no_space_is_an_error_and_leaves_a_consistent_file_system() {
    let s = Scratch::new("nospace");
    let image = s.path("small.img");
    make_ext4(&image, None, &[], "8M");
    let img = |p: &str| format!("{}:{p}", image.display());
    std::fs::write(s.path("small"), b"fits").unwrap();
    lklfs_ok(&["cp", &s.arg("small"), &img("/kept")]);
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i % 253) as u8).collect();
    std::fs::write(s.path("big"), &big).unwrap();
    // A new file that does not fit, then one that would replace a file:
    // an error each time, no part of the big file left, the old file as
    // it was.
    for target in ["/big", "/kept"] {
        let out = lklfs(&["cp", &s.arg("big"), &img(target)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("No space left on device"), "stderr: {err}");
        e2fsck_clean(&image);
        assert_eq!(
            lklfs_ok(&["ls", "-a", &img("/")]),
            ".\n..\nkept\nlost+found\n"
        );
        assert_eq!(lklfs_ok(&["cat", &img("/kept")]), "fits");
    }
    // The space the partial copies took is free again: a file of half the
    // image fits.
    std::fs::write(s.path("half"), vec![7u8; 3 << 20]).unwrap();
    lklfs_ok(&["cp", &s.arg("half"), &img("/half")]);
    e2fsck_clean(&image);
}

/// Metadata that fails its checksum is named for what it is, and the
/// rest of the image still reads. With --ro nothing is written; without,
/// Linux records the error in the superblock, as a mount on Linux does,
/// so that the next e2fsck checks the file system in full.
#[test]
fn damaged_metadata_is_reported_as_such() {
    let s = Scratch::new("damaged");
    let tree = s.path("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("victim"), b"lost").unwrap();
    std::fs::write(tree.join("fine"), b"kept").unwrap();
    let image = s.path("d.img");
    make_ext4(&image, Some(&tree), &["-O", "metadata_csum"], "16M");
    let img = image.display().to_string();
    tool(
        "debugfs",
        &["-w", "-R", "sif /victim checksum 0xdead", &img],
    );
    let before = sha256(&image);

    let victim = format!("{img}:/victim");
    for ro in [true, false] {
        let args: &[&str] = if ro {
            &["--ro", "cat", &victim]
        } else {
            &["cat", &victim]
        };
        let out = lklfs(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("lklfs: /victim: Bad message (file system metadata fails its checksum"),
            "{err}"
        );
        if ro {
            assert_eq!(sha256(&image), before, "--ro wrote to the image");
        }
    }
    let header = tool("dumpe2fs", &["-h", &img]);
    assert!(header.contains("clean with errors"), "{header}");
    assert!(header.contains("EFSBADCRC"), "{header}");
    assert_eq!(lklfs_ok(&["cat", &format!("{img}:/fine")]), "kept");
}

/// Exits 1 with `message` on stderr.
fn fails_with(args: &[&str], message: &str) {
    let out = lklfs(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.contains(message),
        "{args:?}: {err:?}, expected {message:?}"
    );
}

/// An image another program reads may be read too, not written; one
/// another program writes is left alone; one the host kernel has on a
/// loop device (mounted) is never written, not even to replay its
/// journal for a read.
#[test]
fn images_in_use_elsewhere_are_left_alone() {
    let s = Scratch::new("in-use");
    let image = s.path("u.img");
    make_ext4(&image, None, &[], "16M");
    let root = format!("{}:/", image.display());
    let new_dir = format!("{}:/d", image.display());
    let before = sha256(&image);
    let other = std::fs::File::open(&image).unwrap();
    other.lock_shared().unwrap();
    lklfs_ok(&["ls", &root]);
    fails_with(&["mkdir", &new_dir], "in use: another program has it open");
    other.unlock().unwrap();
    other.lock().unwrap();
    fails_with(&["ls", &root], "in use: another program has it open");
    drop(other);
    assert_eq!(sha256(&image), before);

    let Some(device) = loop_device(&image, "the host's own use") else {
        return;
    };
    let mounted = s.path("host-mount");
    std::fs::create_dir(&mounted).unwrap();
    let mount = std::process::Command::new("mount")
        .args([&device, &mounted.display().to_string()])
        .status()
        .unwrap();
    let outcome = std::panic::catch_unwind(|| {
        if mount.success() {
            std::fs::write(mounted.join("host"), b"written by the host").unwrap();
            tool("sync", &[]);
            // Mounted: its journal needs replaying, which is a write.
            fails_with(&["ls", &root], "its journal must be replayed");
        }
        fails_with(
            &["mkdir", &new_dir],
            &format!("the host has it on {device}"),
        );
    });
    if mount.success() {
        tool("umount", &[&mounted.display().to_string()]);
    }
    tool("losetup", &["-d", &device]);
    outcome.unwrap();
    e2fsck_clean(&image);
    lklfs_ok(&["mkdir", &new_dir]);
    e2fsck_clean(&image);
}

/// Blocks of zeros become holes both ways (as `cp --sparse=always`): a
/// 256 MiB file of mostly holes fits a 32 MiB image and comes out taking
/// next to no space, with the same bytes.
#[test]
fn sparse_files_stay_sparse() {
    use std::os::unix::fs::MetadataExt;
    let s = Scratch::new("sparse");
    let tree = s.path("tree");
    std::fs::create_dir(&tree).unwrap();
    let sparse = tree.join("sparse");
    let file = std::fs::File::create(&sparse).unwrap();
    file.set_len(256 << 20).unwrap();
    drop(file);
    let mut contents = std::fs::read(&sparse).unwrap();
    for (at, data) in [
        (0usize, &b"head"[..]),
        (100 << 20, b"middle"),
        ((256 << 20) - 4, b"tail"),
    ] {
        contents[at..at + data.len()].copy_from_slice(data);
    }
    std::fs::write(&sparse, &contents).unwrap();
    // Written whole: punch the holes back with fallocate(1).
    tool("fallocate", &["--dig-holes", &sparse.display().to_string()]);
    assert!(std::fs::metadata(&sparse).unwrap().blocks() * 512 < 1 << 20);
    let image = s.path("s.img");
    make_ext4(&image, None, &[], "32M");

    let inside = format!("{}:/sparse", image.display());
    lklfs_ok(&["cp", &sparse.display().to_string(), &inside]);
    e2fsck_clean(&image);
    let blocks = tool(
        "debugfs",
        &["-R", "stat /sparse", &image.display().to_string()],
    );
    assert!(blocks.contains("Size: 268435456"), "{blocks}");
    let out = s.path("out");
    lklfs_ok(&["cp", &inside, &out.display().to_string()]);
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!(meta.len(), 256 << 20);
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "{} bytes taken",
        meta.blocks() * 512
    );
    assert!(std::fs::read(&out).unwrap() == contents, "the bytes differ");
}

/// Linux names are bytes: names and link targets that are not UTF-8 come
/// out, go in, list and are removed as they are.
#[test]
fn names_that_are_not_utf8_are_kept() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new("bytes");
    let tree = s.path("tree");
    let dir = tree.join(OsStr::from_bytes(b"dir-\xff"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"file-\xfe\x80")), b"latin-1").unwrap();
    std::fs::write(tree.join(OsStr::from_bytes(b"caf\xe9")), b"other").unwrap();
    std::os::unix::fs::symlink(OsStr::from_bytes(b"to-\xff"), tree.join("link")).unwrap();
    let image = s.path("b.img");
    make_ext4(&image, Some(&tree), &[], "16M");
    let img = |p: &str| format!("{}:{p}", image.display());

    let listed = lklfs(&["ls", &img("/")]);
    assert!(listed.status.success());
    assert!(
        listed.stdout.windows(5).any(|w| w == b"dir-\xff"),
        "{:?}",
        listed.stdout
    );
    let out = s.path("out");
    lklfs_ok(&["cp", "-r", &img("/"), &out.display().to_string()]);
    let file = out.join(OsStr::from_bytes(b"dir-\xff/file-\xfe\x80"));
    assert_eq!(std::fs::read(file).unwrap(), b"latin-1");
    assert_eq!(
        std::fs::read(out.join(OsStr::from_bytes(b"caf\xe9"))).unwrap(),
        b"other"
    );
    let target = std::fs::read_link(out.join("link")).unwrap();
    assert_eq!(target.as_os_str().as_bytes(), b"to-\xff");

    lklfs_ok(&["cp", "-r", &tree.display().to_string(), &img("/again")]);
    e2fsck_clean(&image);
    let dumped = s.path("dumped");
    let inside = "/again/dir-\u{fffd}/file-\u{fffd}\u{fffd}";
    let wrong = tool(
        "debugfs",
        &[
            "-R",
            &format!("dump {inside} {}", dumped.display()),
            &image.display().to_string(),
        ],
    );
    assert!(!dumped.exists(), "a name was made UTF-8: {wrong}");
    let again = s.path("again");
    lklfs_ok(&["cp", "-r", &img("/again"), &again.display().to_string()]);
    let file = again.join(OsStr::from_bytes(b"dir-\xff/file-\xfe\x80"));
    assert_eq!(std::fs::read(file).unwrap(), b"latin-1");

    lklfs_ok(&["rm", "-r", &img("/again")]);
    e2fsck_clean(&image);
    let root = tool("debugfs", &["-R", "ls /", &image.display().to_string()]);
    assert!(!root.contains("again"), "{root}");
}

/// `lklfs cat IMAGE:/big | head`: when the reader goes, lklfs stops
/// quietly (no "Broken pipe"), with status 0, and unmounts cleanly.
#[test]
fn a_reader_that_goes_early_is_not_an_error() {
    use std::io::Read;
    let s = Scratch::new("pipe");
    let tree = s.path("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("big"), vec![b'x'; 4 << 20]).unwrap();
    let image = s.path("p.img");
    make_ext4(&image, Some(&tree), &[], "16M");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lklfs"))
        .args(["cat", &format!("{}:/big", image.display())])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first, b"xxxxxxxxxxxxxxxx");
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    e2fsck_clean(&image);
}
