//! The benchmark work shared by `benches/fs.rs` and the `fs_work` example
//! (which runs it as a Windows program under Wine): the sizes of the
//! image's contents, the three timed operations, and lkl as a subject.
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Config, FileDisk, Kernel};

pub const DIRS: usize = 200;
pub const FILES_PER_DIR: usize = 100;
pub const SMALL: usize = 4096;
pub const BIG: u64 = 1 << 30;
pub const CREATE: usize = 10_000;

/// One way to reach the file system: the host's view of a mount point, or
/// lkl's system calls.
pub trait Target {
    fn read_all(&self, path: &str, buf: &mut [u8]) -> u64;
    fn mkdir(&self, path: &str);
    fn create_empty(&self, path: &str);
    fn sync(&self);
}

struct LklTarget(String);

impl Target for LklTarget {
    fn read_all(&self, path: &str, buf: &mut [u8]) -> u64 {
        let fd = sys::openat(AT_FDCWD, format!("{}{path}", self.0), uapi::O_RDONLY, 0).unwrap();
        let mut total = 0;
        loop {
            let n = sys::read(fd, buf).unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        sys::close(fd).unwrap();
        total
    }
    fn mkdir(&self, path: &str) {
        sys::mkdirat(AT_FDCWD, format!("{}{path}", self.0), 0o755).unwrap();
    }
    fn create_empty(&self, path: &str) {
        let fd = sys::openat(
            AT_FDCWD,
            format!("{}{path}", self.0),
            uapi::O_CREAT | uapi::O_WRONLY,
            0o644,
        )
        .unwrap();
        sys::close(fd).unwrap();
    }
    fn sync(&self) {
        let fd = sys::openat(AT_FDCWD, &self.0, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
        sys::syncfs(fd).unwrap();
        sys::close(fd).unwrap();
    }
}

/// Seconds for each of read_1g, tree_read and create_10k.
pub fn run_ops(t: &dyn Target, tag: &str) -> [f64; 3] {
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    assert_eq!(t.read_all("/big.bin", &mut buf), BIG);
    let read_1g = start.elapsed().as_secs_f64();

    let start = Instant::now();
    for d in 0..DIRS {
        for f in 0..FILES_PER_DIR {
            assert_eq!(
                t.read_all(&format!("/tree/d{d}/f{f}"), &mut buf),
                SMALL as u64
            );
        }
    }
    let tree_read = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let dir = format!("/created-{tag}");
    t.mkdir(&dir);
    for i in 0..CREATE {
        t.create_empty(&format!("{dir}/e{i}"));
    }
    t.sync();
    let create_10k = start.elapsed().as_secs_f64();
    [read_1g, tree_read, create_10k]
}

/// lkl through the library's API on the ext4 image `image`: boots, mounts,
/// runs the work, unmounts and halts.
pub fn lkl_subject(image: &Path) -> [f64; 3] {
    let kernel = Kernel::boot(&Config {
        memory: 1 << 30,
        ..Config::default()
    })
    .unwrap();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(image, false).unwrap())).unwrap();
    let m = mount::mount(&disk, &MountOptions::default()).unwrap();
    let times = run_ops(&LklTarget(m.path.clone()), "lkl");
    mount::unmount(m).unwrap();
    disk.remove().unwrap();
    kernel.halt().unwrap();
    times
}
