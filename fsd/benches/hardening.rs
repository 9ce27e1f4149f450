//! What the kernel's hardening costs: the same requests through the fsd
//! core on the default kernel (this binary; `lkl_defconfig` has hardened
//! usercopy, slab freelist randomisation and hardening, and list checks)
//! and on the same kernel without them (`configs/unhardened.config`): the
//! benchmark builds itself again with `LKL_KERNEL_VARIANT=unhardened`
//! into `target/bench/unhardened` (the first run builds that kernel, about
//! four minutes on two cores; cached after) and runs it as a child, in
//! turn with its own rounds, each result the median of its rounds,
//! printed as hardened / unhardened.
//!
//! The requests: a file created, written (4 KiB), deleted on close (slab
//! objects made and freed, lists changed); 64 KiB read (copies out of the
//! kernel); a directory of 1,000 entries listed.
#[path = "support/image.rs"]
mod image;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::{NtStatus, Volume, VolumeOptions};
use lkl::bench::{median, ns_per_call, Measurement};
use lkl::{Config, FileDisk, Kernel};

const CHILD: &str = "LKL_HARDENING_BENCH_IMAGE";
const ROUNDS: usize = 5;
const OPS: [&str; 3] = ["create_write_delete", "read_64k", "list_1000"];

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn create_file(
    vol: &Volume,
    name: &[u16],
    disposition: u32,
    options: u32,
    access: u32,
) -> fsd::Ccb {
    create(
        vol,
        &CreateRequest {
            related: None,
            name,
            disposition,
            options,
            desired_access: access,
            share_access: FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            file_attributes: 0,
            caller: None,
        },
    )
    .unwrap()
    .ccb
}

/// ns per request of each of [`OPS`] on the volume on `image`, one round.
fn measure(vol: &Volume) -> [f64; 3] {
    let data = vec![5u8; 4096];
    let mut n = 0u32;
    let created = ns_per_call(300, || {
        n += 1;
        let name = w(&format!("\\scratch-{n}"));
        let options = FILE_DELETE_ON_CLOSE | FILE_NON_DIRECTORY_FILE;
        let mut c = create_file(vol, &name, FILE_CREATE, options, GENERIC_WRITE | DELETE);
        let written = fsd::write::write(vol, &mut c, fsd::write::WriteAt::Offset(0), &data);
        assert_eq!(written.status, NtStatus::SUCCESS);
        fsd::cleanup::cleanup(vol, &mut c);
        fsd::close::close(vol, c);
    });
    let mut big = create_file(vol, &w("\\big.bin"), FILE_OPEN, 0, GENERIC_READ);
    let mut buf = vec![0u8; 64 << 10];
    let read = ns_per_call(2000, || {
        let r = fsd::read::read(vol, &mut big, Some(65536), &mut buf);
        assert_eq!(r.information, 65536);
    });
    fsd::close::close(vol, big);
    let mut dir = create_file(
        vol,
        &w("\\many"),
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
        GENERIC_READ,
    );
    let mut listing = vec![0u8; 64 << 10];
    let pattern = w("*");
    let listed = ns_per_call(50, || {
        let mut restart = true;
        loop {
            let c = dirctrl::query_directory(
                vol,
                &mut dir,
                &QueryDirectory {
                    class: dirctrl::FILE_NAMES_INFORMATION,
                    pattern: Some(&pattern),
                    restart_scan: restart,
                    return_single_entry: false,
                    index: None,
                },
                &mut listing,
            );
            restart = false;
            if c.status != NtStatus::SUCCESS {
                break;
            }
        }
    });
    fsd::close::close(vol, dir);
    [created, read, listed]
}

/// The kernel booted and `image` mounted, for the life of the process.
fn mounted(image: &Path) -> (Kernel, lkl::AddedDisk, Volume) {
    let kernel = Kernel::boot(&Config::default()).unwrap();
    let disk = lkl::add_disk(Arc::new(FileDisk::open(image, false).unwrap())).unwrap();
    let vol = Volume::mount(&disk, &VolumeOptions::default()).unwrap();
    (kernel, disk, vol)
}

/// This benchmark built on the unhardened kernel: its executable.
fn unhardened_build(target: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["bench", "--no-run", "-p", "fsd", "--bench", "hardening"])
        .arg("--message-format=json")
        .env("CARGO_TARGET_DIR", target.join("bench/unhardened"))
        .env("LKL_KERNEL_VARIANT", "unhardened")
        .output()
        .expect("cargo");
    assert!(
        out.status.success(),
        "building the unhardened benchmark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"name\":\"hardening\""))
        .find_map(|l| {
            let at = l.find("\"executable\":\"")? + 14;
            let end = l[at..].find('"')? + at;
            Some(PathBuf::from(&l[at..end]))
        })
        .expect("the unhardened benchmark's executable")
}

fn main() {
    if let Some(image) = std::env::var_os(CHILD) {
        let (_kernel, _disk, vol) = mounted(Path::new(&image));
        let times = measure(&vol);
        println!("{} {} {}", times[0], times[1], times[2]);
        vol.dismount().unwrap();
        return;
    }
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let dir = target.join("bench/hardening");
    let image = image::make(&dir);
    // The child's own copy: one image is never mounted by two kernels.
    let child_image = dir.join("hardening-child.img");
    std::fs::copy(&image, &child_image).unwrap();
    let reference = unhardened_build(&target);
    let (_kernel, _disk, vol) = mounted(&image);
    let mut hardened = [const { Vec::new() }; 3];
    let mut unhardened = [const { Vec::new() }; 3];
    for _ in 0..ROUNDS {
        let out = Command::new(&reference)
            .env(CHILD, &child_image)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let times: Vec<f64> = text
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        for (i, t) in times.into_iter().enumerate() {
            unhardened[i].push(t);
        }
        for (i, t) in measure(&vol).into_iter().enumerate() {
            hardened[i].push(t);
        }
    }
    for (i, op) in OPS.iter().enumerate() {
        Measurement {
            bench: "hardening",
            subject_name: &format!("hardened_{op}"),
            reference_name: &format!("unhardened_{op}"),
            subject: median(hardened[i].iter().copied()),
            reference: Some(median(unhardened[i].iter().copied())),
            unit: "ns",
        }
        .report(&target);
    }
    vol.dismount().unwrap();
}
