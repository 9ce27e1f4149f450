//! The driver's benchmark, under Wine: inside lklfsd.sys, the IRP path
//! (IRPs built and sent through IoCallDriver to the volume device, served
//! by the per-major-function modules) against the core's functions called
//! directly, on one volume, in interleaved rounds: open+close of one file,
//! a 64 KiB read, listing 1,000 entries. Also what one IRP that does
//! nothing costs (the I/O manager's part and the dispatch), the boot of Linux inside the
//! driver and the pool held once a volume is mounted. Rows `driver_irp_*`
//! and `driver_*` in target/bench/results.jsonl.
#[path = "../tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::{build_driver, tool, z_path, Installed, Scratch};
use lkl::bench::Measurement;

/// An ext4 image with `data.bin` (1 MiB) and `dir1000/` (1,000 files).
fn bench_image(dir: &std::path::Path) -> PathBuf {
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("dir1000")).unwrap();
    fs::write(
        tree.join("data.bin"),
        (0..1u32 << 20).map(|i| (i * 7) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    for i in 0..1000 {
        fs::write(tree.join(format!("dir1000/file{i:04}")), b"").unwrap();
    }
    let image = dir.join("bench.img");
    fs::File::create(&image)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    tool(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-d"])
            .arg(&tree)
            .arg(&image),
    );
    image
}

fn main() {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let driver = build_driver();
    let scratch = Scratch::new("bench");
    let image = bench_image(&scratch.0);
    let d = Installed::new(&driver);
    assert_eq!(d.ctl_ok(&["attach", &z_path(&image)]), "0");
    let results = d.ctl_ok(&["bench", "0"]);
    let value = |name: &str| -> Vec<f64> {
        results
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in {results}"))
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect()
    };
    for (bench, unit, scale) in [
        ("open_close", "us", 1e3),
        ("read_64k", "us", 1e3),
        ("list_1000", "ms", 1e6),
    ] {
        let v = value(bench);
        Measurement {
            bench: &format!("driver_irp_{bench}"),
            subject_name: "IRP path",
            reference_name: "core direct",
            subject: v[0] / scale,
            reference: Some(v[1] / scale),
            unit,
        }
        .report(&target);
    }
    for (bench, name, unit, scale) in [
        ("driver_irp_null", "null_irp", "us", 1e3),
        ("driver_boot", "boot_ns", "ms", 1e6),
        (
            "driver_pool_after_mount",
            "pool_after_mount",
            "MiB",
            (1u64 << 20) as f64,
        ),
    ] {
        Measurement {
            bench,
            subject_name: "lklfsd",
            reference_name: "",
            subject: value(name)[0] / scale,
            reference: None,
            unit,
        }
        .report(&target);
    }
    d.ctl_ok(&["detach", "0"]);
    d.stop();
}
