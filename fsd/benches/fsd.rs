//! The core's overhead: time per request through fsd against the same work
//! through the bare lkl API, in one run (measured in turn over seven rounds,
//! each the median), on an ext4 image made by mkfs.ext4 -d (a directory of
//! 1,000 files and a 1 MiB file).
//!
//! fsd_open_close opens and closes one file again and again, as programs
//! do: after the first, the FCB cache serves the opens. The cost of an open
//! the cache cannot serve is fsd_open_close_uncached: the 1,000 files in
//! turn, more than the cache keeps FCBs for (it still remembers where
//! their paths lead, so the opens need no fstat); its second reference is
//! what a create of a name never seen must do at least: open, learn what
//! was opened (its inode, for the FCB, and its type), close.
#[path = "support/image.rs"]
mod image;

use std::path::PathBuf;
use std::sync::Arc;

use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::{Volume, VolumeOptions};
use lkl::bench::{ns_per_call_interleaved, Measurement};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Config, FileDisk, Kernel};

const ROUNDS: u32 = 2000;

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn open(vol: &Volume, name: &[u16]) -> fsd::Ccb {
    create(
        vol,
        &CreateRequest {
            related: None,
            name,
            disposition: FILE_OPEN,
            options: 0,
            desired_access: GENERIC_READ,
            share_access: FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            file_attributes: 0,
            caller: None,
        },
    )
    .unwrap()
    .ccb
}

/// Subject and references, measured in turn over several rounds (see
/// `ns_per_call_interleaved`): `calls` calls each per round.
fn measure<const N: usize>(calls: u32, mut subjects: [&mut dyn FnMut(); N]) -> [f64; N] {
    ns_per_call_interleaved(7, calls, &mut subjects)
        .try_into()
        .expect("one time per subject")
}

fn main() {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let dir = target.join("bench/fsd");
    let image = image::make(&dir);

    let kernel = Kernel::boot(&Config::default()).unwrap();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(&image, false).unwrap())).unwrap();
    let vol = Volume::mount(&disk, &VolumeOptions::default()).unwrap();
    let root = vol.root().to_string();

    let name = w("\\big.bin");
    let path = format!("{root}/big.bin");
    let [core_open, bare_open] = measure(
        ROUNDS,
        [
            &mut || {
                let c = open(&vol, &name);
                fsd::close::close(&vol, c);
            },
            &mut || {
                let fd = sys::openat(AT_FDCWD, &path, uapi::O_RDONLY, 0).unwrap();
                sys::close(fd).unwrap();
            },
        ],
    );

    let names: Vec<Vec<u16>> = (0..1000)
        .map(|i| w(&format!("\\many\\file-{i:04}.txt")))
        .collect();
    let paths: Vec<String> = (0..1000)
        .map(|i| format!("{root}/many/file-{i:04}.txt\0"))
        .collect();
    let turn = |next: &mut usize| {
        *next = (*next + 1) % 1000;
        *next
    };
    let (mut core_next, mut bare_next, mut floor_next) = (0, 0, 0);
    let [core_cold, bare_cold, floor_cold] = measure(
        ROUNDS,
        [
            &mut || {
                let c = open(&vol, &names[turn(&mut core_next)]);
                fsd::close::close(&vol, c);
            },
            &mut || {
                let path = &paths[turn(&mut bare_next)];
                let fd = sys::openat(AT_FDCWD, path, uapi::O_RDONLY, 0).unwrap();
                sys::close(fd).unwrap();
            },
            &mut || {
                let path = &paths[turn(&mut floor_next)];
                let fd = sys::openat(AT_FDCWD, path, uapi::O_RDONLY, 0).unwrap();
                sys::fstat(fd).unwrap();
                sys::close(fd).unwrap();
            },
        ],
    );

    let mut c = open(&vol, &name);
    let fd = sys::openat(AT_FDCWD, &path, uapi::O_RDONLY, 0).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut bare_buf = vec![0u8; 64 << 10];
    let [core_read, bare_read] = measure(
        ROUNDS,
        [
            &mut || {
                let r = fsd::read::read(&vol, &mut c, Some(65536), &mut buf);
                assert_eq!(r.information, 65536);
            },
            &mut || {
                assert_eq!(sys::pread64(fd, &mut bare_buf, 65536).unwrap(), 65536);
            },
        ],
    );
    sys::close(fd).unwrap();
    fsd::close::close(&vol, c);

    let many = w("\\many");
    let many_path = format!("{root}/many");
    let mut out = vec![0u8; 256 << 10];
    let mut bare_out = vec![0u8; 256 << 10];
    let [core_dir, bare_dir] = measure(
        50,
        [
            &mut || {
                let mut d = open(&vol, &many);
                let req = QueryDirectory {
                    class: dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION,
                    pattern: None,
                    restart_scan: false,
                    return_single_entry: false,
                    index: None,
                };
                while dirctrl::query_directory(&vol, &mut d, &req, &mut out).status
                    == fsd::NtStatus::SUCCESS
                {}
                fsd::close::close(&vol, d);
            },
            &mut || {
                let fd = sys::openat(AT_FDCWD, &many_path, uapi::O_RDONLY | uapi::O_DIRECTORY, 0)
                    .unwrap();
                loop {
                    let n = sys::getdents64(fd, &mut bare_out).unwrap();
                    if n == 0 {
                        break;
                    }
                    for e in sys::dirents(&bare_out[..n]).collect::<Vec<_>>() {
                        sys::statx(
                            fd,
                            &e.name,
                            uapi::AT_SYMLINK_NOFOLLOW,
                            uapi::STATX_BASIC_STATS | uapi::STATX_BTIME,
                        )
                        .unwrap();
                    }
                }
                sys::close(fd).unwrap();
            },
        ],
    );

    drop(vol);
    drop(disk);
    kernel.halt().unwrap();
    for (bench, core, reference_name, bare) in [
        ("fsd_open_close", core_open, "bare lkl", bare_open),
        ("fsd_open_close_uncached", core_cold, "bare lkl", bare_cold),
        (
            "fsd_open_close_uncached",
            core_cold,
            "open+fstat+close",
            floor_cold,
        ),
        ("fsd_read_64k", core_read, "bare lkl", bare_read),
        ("fsd_query_directory_1000", core_dir, "bare lkl", bare_dir),
    ] {
        Measurement {
            bench,
            subject_name: "fsd",
            reference_name,
            subject: core / 1000.0,
            reference: Some(bare / 1000.0),
            unit: "us",
        }
        .report(&target);
    }
}
