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
use crash_common::{check_recording, limits, Fs};
use lkl_crash::Log;

const EXT4: Fs = Fs {
    name: "lklfs-cp",
    mkfs: &["mkfs.ext4", "-q", "-F"],
    mkfs_env: &[],
    reorder: None,
    size: 16 << 20,
    fstype: "ext4",
    options: "",
    check: &["e2fsck", "-fn"],
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
    let log = Log::load(&mut std::io::BufReader::new(
        std::fs::File::open(&record).unwrap(),
    ))
    .unwrap();
    assert!(
        log.final_image(&base) == std::fs::read(&image).unwrap(),
        "the recording is not what lklfs wrote"
    );
    assert_eq!(
        log.unflushed_at_end(),
        0,
        "lklfs ended with writes unflushed"
    );
    let mut versions = HashMap::new();
    contents(&tree, "t", &mut versions);
    let checked = check_recording(&EXT4, &s.0, &base, &log, &[], &versions, limits(32, 2000));
    eprintln!("{} crash states checked", checked.states);
    assert!(
        checked.failures.is_empty(),
        "{}",
        checked.failures.join("\n")
    );
    assert!(checked.states >= 50, "only {} crash states", checked.states);
}
