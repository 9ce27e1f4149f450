//! Damaged images: ext4 images with random bytes changed in their
//! metadata, mounted read-only and walked the way a file manager would
//! (every directory listed, every file opened, read and queried, twice so
//! the second walk comes from the FCB cache). Every request completes with
//! a status (no panic, no hang), the volume dismounts with nothing left
//! open, and the image is byte for byte what it was.
mod common;

use std::sync::Arc;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::{fileinfo, NtStatus, Volume, VolumeOptions};
use lkl::FileDisk;

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    for i in 0..30 {
        std::fs::write(root.join(format!("a/f{i}")), format!("file {i}")).unwrap();
    }
    std::fs::write(root.join("a/b/big"), vec![5u8; 200_000]).unwrap();
    std::os::unix::fs::symlink("../a/f1", root.join("a/b/link")).unwrap();
}

/// Lists directory `name` and walks what it holds; reads and queries
/// files. Returns how many opens succeeded.
fn walk(vol: &Volume, name: &[u16], depth: usize) -> usize {
    let req = CreateRequest {
        related: None,
        name,
        disposition: FILE_OPEN,
        options: 0,
        desired_access: GENERIC_READ,
        share_access: FILE_SHARE_READ,
        file_attributes: 0,
        caller: None,
    };
    let Ok(created) = create(vol, &req) else {
        return 0;
    };
    let mut c = created.ccb;
    let mut info = [0u8; 512];
    fileinfo::query(vol, &c, fileinfo::FILE_ALL_INFORMATION, &mut info);
    if !c.is_directory() {
        let mut buf = [0u8; 4096];
        fsd::read::read(vol, &mut c, Some(0), &mut buf);
        fsd::close::close(vol, c);
        return 1;
    }
    let query = QueryDirectory {
        class: dirctrl::FILE_ID_BOTH_DIRECTORY_INFORMATION,
        pattern: None,
        restart_scan: false,
        return_single_entry: false,
        index: None,
    };
    let mut out = vec![0u8; 16 << 10];
    let mut names = Vec::new();
    while dirctrl::query_directory(vol, &mut c, &query, &mut out).status == NtStatus::SUCCESS {
        let mut at = 0;
        loop {
            let entry = name_at(&out, at + 104, u32_at(&out, at + 60) as usize);
            if entry != "." && entry != ".." {
                names.push(entry);
            }
            match u32_at(&out, at) {
                0 => break,
                next => at += next as usize,
            }
        }
    }
    fsd::close::close(vol, c);
    let mut opened = 1;
    if depth < 4 {
        let base = String::from_utf16(name).unwrap();
        for entry in names {
            let child = w(&format!("{}\\{entry}", base.trim_end_matches('\\')));
            opened += walk(vol, &child, depth + 1);
        }
    }
    opened
}

#[test]
fn damaged_images_fail_cleanly_and_stay_unchanged() {
    let base = TestVolume::made_by("damaged", tree, &["true"], |tree, image| {
        let (tree, image) = (tree.display().to_string(), image.display().to_string());
        run("mkfs.ext4", &["-q", "-F", "-d", &tree, &image, "8M"]);
    });
    let pristine = std::fs::read(&base.image).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut mounted, mut walked) = (0, 0);
    for round in 0..12 {
        let mut bytes = pristine.clone();
        for _ in 0..60 {
            let at = 1024 + (next() % (1 << 20)) as usize;
            bytes[at] = next() as u8;
        }
        let image = base.dir.join(format!("damaged-{round}.img"));
        std::fs::write(&image, &bytes).unwrap();
        let disk = lkl::add_disk(Arc::new(FileDisk::open(&image, true).unwrap())).unwrap();
        let options = VolumeOptions {
            read_only: true,
            ..VolumeOptions::default()
        };
        if let Ok(vol) = Volume::mount(&disk, &options) {
            mounted += 1;
            let root = w("\\");
            walked += walk(&vol, &root, 0);
            walked += walk(&vol, &root, 0);
            assert_eq!(vol.dismount(), Ok(()), "round {round}: nothing left open");
        }
        disk.remove().unwrap();
        assert!(
            std::fs::read(&image).unwrap() == bytes,
            "round {round}: image changed"
        );
    }
    // The damage leaves most images usable: the walk did reach files.
    assert!(
        mounted > 0 && walked > mounted * 10,
        "{mounted} mounted, {walked} opens"
    );
}
