//! `lklfs cp` as a crash-consistency workload: lklfs copies the sample
//! tree into an ext4 image with `--record`, and the recording is checked
//! against the image it produced (the image is exactly the one before
//! plus the recorded writes, and nothing was left unflushed when lklfs
//! exited); then every crash state of it is mounted through the library
//! in this process and checked (no file holds a byte its copy never had,
//! e2fsck -fn clean), as crash/tests do.
mod common;
#[path = "../../crash/tests/common/mod.rs"]
mod crash_common;

use std::collections::HashMap;
use std::path::Path;

use common::{lklfs_ok, make_ext4, sample_tree, Scratch};
use crash_common::{check_recorded_file, Fs};

/// ext4 as the image is made here (16 MiB, for the sample tree).
const EXT4: Fs = Fs {
    name: "lklfs-cp",
    size: 16 << 20,
    ..crash_common::EXT4
};

/// The bytes of every regular file under `dir`, by its path under `under`.
fn contents(dir: &Path, under: &str, out: &mut HashMap<String, Vec<Vec<u8>>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{under}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            contents(&entry.path(), &name, out);
        } else if kind.is_file() {
            out.insert(name, vec![std::fs::read(entry.path()).unwrap()]);
        }
    }
}

#[test]
fn every_crash_state_of_lklfs_cp() {
    let s = Scratch::new("crash-cp");
    let tree = s.path("tree");
    sample_tree(&tree);
    let image = s.path("cp.img");
    make_ext4(&image, None, &[], "16M");
    let base = std::fs::read(&image).unwrap();
    let record = s.path("cp.log");
    lklfs_ok(&[
        "--record",
        &record.display().to_string(),
        "cp",
        "-r",
        &tree.display().to_string(),
        &format!("{}:/t", image.display()),
    ]);
    let mut versions = HashMap::new();
    contents(&tree, "t", &mut versions);
    check_recorded_file(&EXT4, &s.0, &base, &image, &record, &versions).assert_clean(50);
}
