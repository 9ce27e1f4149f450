//! The workloads every file system's crash test runs: each does what
//! programs do to their files and promises, as it goes, what must survive
//! a crash from then on.
use lkl::sys;
use lkl::uapi::{self, AT_FDCWD};

use super::{pattern, write_all, Promise, Run};

/// Files written and fsync'd (each, and then their directory), one
/// rewritten, and a document saved as editors do: the new version written
/// to a temporary file and fsync'd, then renamed over the old.
fn save_documents(run: &Run) {
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let data = pattern(i as u32, 0, 3000 + i * 5000);
        run.write_file(name, &data, true);
        run.fsync_dir("");
        run.promise(Promise::File(name.to_string(), data));
    }
    let v1 = pattern(10, 1, 9000);
    run.write_file("doc", &v1, true);
    run.fsync_dir("");
    run.promise(Promise::File("doc".into(), v1.clone()));
    let v2 = pattern(10, 2, 12000);
    run.write_file("doc.tmp", &v2, true);
    // From the rename on, the document is the old or the new, whole.
    run.promise(Promise::OneOf("doc".into(), vec![v1, v2.clone()]));
    run.wrote("doc", &v2);
    sys::renameat2(AT_FDCWD, run.path("doc.tmp"), AT_FDCWD, run.path("doc"), 0).unwrap();
    run.fsync_dir("");
    run.promise(Promise::File("doc".into(), v2));
    run.promise(Promise::Absent("doc.tmp".into()));
    // Rewritten in place (O_TRUNC, write): anything of it until the fsync.
    run.promise(Promise::Changing("b".into()));
    let b2 = pattern(1, 1, 8000);
    run.write_file("b", &b2, true);
    run.promise(Promise::File("b".into(), b2));
}

/// A log appended to, fsync after each append: what was fsync'd stays.
fn appends(run: &Run) {
    let fd = sys::openat(
        AT_FDCWD,
        run.path("log"),
        uapi::O_WRONLY | uapi::O_CREAT | uapi::O_APPEND,
        0o644,
    )
    .unwrap();
    run.fsync_dir("");
    let mut all = Vec::new();
    for i in 0..6 {
        let chunk = pattern(20, i, 1500 + i as usize * 700);
        all.extend_from_slice(&chunk);
        run.wrote("log", &all);
        write_all(fd, &chunk);
        sys::fsync(fd).unwrap();
        run.promise(Promise::Prefix("log".into(), all.clone()));
    }
    sys::close(fd).unwrap();
}

/// Directories made and removed, hard links, symbolic links, each made
/// durable by an fsync of its directory.
fn directories_and_links(run: &Run) {
    sys::mkdirat(AT_FDCWD, run.path("d"), 0o755).unwrap();
    sys::mkdirat(AT_FDCWD, run.path("gone"), 0o755).unwrap();
    run.fsync_dir("");
    run.promise(Promise::Dir("d".into()));
    let data = pattern(30, 0, 5000);
    run.write_file("d/f", &data, true);
    run.fsync_dir("d");
    run.promise(Promise::File("d/f".into(), data.clone()));
    sys::linkat(AT_FDCWD, run.path("d/f"), AT_FDCWD, run.path("hard"), 0).unwrap();
    run.wrote("hard", &data);
    sys::symlinkat("d/f", AT_FDCWD, run.path("soft")).unwrap();
    run.fsync_dir("");
    run.promise(Promise::File("hard".into(), data));
    run.promise(Promise::Symlink("soft".into(), "d/f".into()));
    sys::unlinkat(AT_FDCWD, run.path("gone"), uapi::AT_REMOVEDIR).unwrap();
    run.fsync_dir("");
    run.promise(Promise::Absent("gone".into()));
}

/// A file cut shorter, and space allocated beyond a file's end
/// (fallocate), each fsync'd.
fn truncate_and_fallocate(run: &Run) {
    let data = pattern(40, 0, 20000);
    run.write_file("t", &data, true);
    run.fsync_dir("");
    run.promise(Promise::File("t".into(), data.clone()));
    // Until the truncate is fsync'd the file may be either length; ext4
    // zeroes the rest of the new last block first, in place (a data write
    // that data=ordered does not hold back), so the old length may show
    // those zeroes.
    run.promise(Promise::Changing("t".into()));
    let mut zeroed_tail = data.clone();
    zeroed_tail[6000..8192].fill(0);
    run.wrote("t", &zeroed_tail);
    run.wrote("t", &data[..6000]);
    let fd = sys::openat(AT_FDCWD, run.path("t"), uapi::O_WRONLY, 0).unwrap();
    sys::ftruncate(fd, 6000).unwrap();
    sys::fsync(fd).unwrap();
    run.promise(Promise::File("t".into(), data[..6000].to_vec()));
    let mut grown = data[..6000].to_vec();
    grown.resize(16384, 0);
    run.promise(Promise::OneOf(
        "t".into(),
        vec![data[..6000].to_vec(), grown.clone()],
    ));
    run.wrote("t", &grown);
    match sys::fallocate(fd, 0, 0, 16384) {
        Ok(()) => {
            sys::fsync(fd).unwrap();
            run.promise(Promise::File("t".into(), grown));
        }
        // ext3's block-mapped files have no fallocate: nothing changed.
        Err(lkl::Errno::EOPNOTSUPP) => {
            run.promise(Promise::File("t".into(), data[..6000].to_vec()))
        }
        Err(e) => panic!("fallocate: {e:?}"),
    }
    sys::close(fd).unwrap();
}

/// A tree copied in as `lklfs cp -r` copies (files and directories
/// made and written, nothing fsync'd), then one syncfs: until then any
/// part of it may be missing, after it all is there. Many writes in one
/// flush epoch: the states a write cache allows are many.
fn copy_tree(run: &Run) {
    let mut made = Vec::new();
    sys::mkdirat(AT_FDCWD, run.path("tree"), 0o755).unwrap();
    for d in 0..8 {
        let dir = format!("tree/d{d}");
        sys::mkdirat(AT_FDCWD, run.path(&dir), 0o755).unwrap();
        for f in 0..12 {
            let name = format!("{dir}/f{f}");
            let data = pattern(50 + d * 12 + f, 0, 700 + (f as usize) * 900);
            run.write_file(&name, &data, false);
            made.push((name, data));
        }
    }
    let fd = sys::openat(
        AT_FDCWD,
        run.path(""),
        uapi::O_RDONLY | uapi::O_DIRECTORY,
        0,
    )
    .unwrap();
    sys::syncfs(fd).unwrap();
    sys::close(fd).unwrap();
    for (name, data) in made {
        run.promise(Promise::File(name, data));
    }
}

/// A database's way: blocks of a file overwritten in place, scattered
/// (so each reaches the disk as a request of its own), then one fsync.
/// Until then each block is the old or the new, after it the new.
fn overwrite_blocks(run: &Run) {
    const PAGE: usize = 4096;
    let old = pattern(60, 0, 256 * PAGE);
    run.write_file("db", &old, true);
    run.fsync_dir("");
    run.promise(Promise::File("db".into(), old.clone()));
    let mut new = old.clone();
    let fd = sys::openat(AT_FDCWD, run.path("db"), uapi::O_WRONLY, 0).unwrap();
    // Every fifth page, in a scrambled order.
    let pages: Vec<usize> = (0..51).map(|i| (i * 37 % 51) * 5).collect();
    for &page in &pages {
        let at = page * PAGE;
        new[at..at + PAGE].copy_from_slice(&pattern(61, page as u32, PAGE));
    }
    run.wrote("db", &new);
    run.promise(Promise::Blocks("db".into(), vec![old, new.clone()], 1024));
    for &page in &pages {
        let at = page * PAGE;
        sys::pwrite64(fd, &new[at..at + PAGE], at as i64).unwrap();
    }
    sys::fsync(fd).unwrap();
    sys::close(fd).unwrap();
    run.promise(Promise::File("db".into(), new));
}

/// A workload: its name, and what it does on the mounted file system.
pub type Workload = (&'static str, fn(&Run));

pub const WORKLOADS: &[Workload] = &[
    ("save_documents", save_documents),
    ("appends", appends),
    ("directories_and_links", directories_and_links),
    ("truncate_and_fallocate", truncate_and_fallocate),
    ("copy_tree", copy_tree),
    ("overwrite_blocks", overwrite_blocks),
];
