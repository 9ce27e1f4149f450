//! Nothing leaves the volume: no spelling of `.` or `..` (U+F02E is the
//! escaped dot, which stands for a Linux name's trailing dot) names a
//! parent, in opens, creates, rename and link targets, reparse targets or
//! listing patterns; and a directory swapped for a symlink to the
//! kernel's root behind the core's back leads nowhere, because every call
//! walks from the volume's root descriptor (RESOLVE_BENEATH). The kernel's
//! own tree outside the volumes is compared before and after.
mod common;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::dirctrl::{self, QueryDirectory};
use fsd::fileinfo::SetRequest;
use fsd::{fsctl, NtStatus};
use lkl::{sys, uapi};

const DOT: &str = "\u{f02e}";

fn tree(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("dir/sub")).unwrap();
    std::fs::write(root.join("dir/a.txt"), b"inside").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
}

/// Every spelling of `.` and `..` that is not the plain one.
fn dots() -> Vec<String> {
    vec![
        DOT.to_string(),
        format!("{DOT}{DOT}"),
        format!(".{DOT}"),
        format!("{DOT}."),
    ]
}

/// Paths built from `dots` that would climb out of the volume, or into
/// the kernel's /proc, /dev and /mnt, were the dots parents.
fn escaping_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for d in dots() {
        paths.push(format!("\\{d}"));
        paths.push(format!("\\{d}\\{d}\\proc\\version"));
        paths.push(format!("\\{d}\\{d}\\dev"));
        paths.push(format!("\\{d}\\{d}\\outside.txt"));
        paths.push(format!("\\dir\\{d}\\{d}\\{d}\\mnt"));
        paths.push(format!("\\dir\\sub\\{d}\\a.txt"));
        paths.push(format!("\\dir\\{d}"));
    }
    paths
}

#[test]
fn escaped_dots_never_name_a_parent() {
    let mut t = TestVolume::new("escapes-open", &[], tree);
    let before = outside_volumes();
    for path in escaping_paths() {
        for disposition in [
            FILE_OPEN,
            FILE_CREATE,
            FILE_OPEN_IF,
            FILE_OVERWRITE_IF,
            FILE_SUPERSEDE,
        ] {
            for options in [0, FILE_DIRECTORY_FILE] {
                let dir_disposition = matches!(disposition, FILE_OPEN | FILE_CREATE | FILE_OPEN_IF);
                if options == FILE_DIRECTORY_FILE && !dir_disposition {
                    continue;
                }
                let r = t.create(&path, disposition, options, GENERIC_READ | GENERIC_WRITE, 7);
                assert_eq!(
                    r.err(),
                    Some(NtStatus::OBJECT_NAME_INVALID),
                    "{path:?} disposition {disposition} options {options:#x}"
                );
            }
        }
        // Relative to an open directory, too.
        let dir = t.open_dir("\\dir");
        let name = w(path.trim_start_matches('\\'));
        let r = fsd::create::create(
            t.vol(),
            &CreateRequest {
                related: Some(&dir),
                name: &name,
                disposition: FILE_OPEN_IF,
                options: 0,
                desired_access: GENERIC_READ,
                share_access: 7,
                file_attributes: 0,
                caller: None,
            },
        );
        assert_eq!(r.err(), Some(NtStatus::OBJECT_NAME_INVALID), "{path:?}");
        t.close(dir);
    }
    assert_eq!(outside_volumes(), before, "the kernel's tree changed");
    t.finish();
}

#[test]
fn rename_and_link_targets_stay_inside() {
    let mut t = TestVolume::new("escapes-rename", &[], tree);
    let before = outside_volumes();
    for path in escaping_paths() {
        let mut c = t.open("\\dir\\a.txt");
        for req in [
            rename_request(w(&path), 0),
            rename_request(w(&path), 1),
            SetRequest::Link {
                flags: 0,
                root_directory: 0,
                name: w(&path),
            },
        ] {
            let status = fsd::fileinfo::set(t.vol(), &mut c, &req, None).status;
            assert_eq!(status, NtStatus::OBJECT_NAME_INVALID, "{path:?}");
        }
        t.close(c);
    }
    assert_eq!(outside_volumes(), before, "the kernel's tree changed");
    t.finish();
    assert!(t.debugfs("ls /dir").contains("a.txt"));
}

#[test]
fn reparse_targets_stay_inside() {
    let mut t = TestVolume::new("escapes-reparse", &[], tree);
    let before = outside_volumes();
    let set = |target: &str, relative: bool| {
        let mut c = t
            .create(
                "\\empty",
                FILE_OPEN,
                FILE_OPEN_REPARSE_POINT,
                GENERIC_ALL,
                7,
            )
            .unwrap()
            .ccb;
        let status =
            fsctl::set_reparse_point(t.vol(), &mut c, &symlink_reparse(target, relative)).status;
        t.close(c);
        status
    };
    for d in dots() {
        for (target, relative) in [
            (format!("{d}\\{d}\\proc\\version"), true),
            (format!("\\{d}\\{d}\\proc"), false),
            (format!("dir\\{d}"), true),
        ] {
            assert_eq!(
                set(&target, relative),
                NtStatus::OBJECT_NAME_INVALID,
                "{target:?}"
            );
        }
    }
    // Plain `..` is a relative target Linux keeps; followed, it stops at
    // the volume's root.
    assert_eq!(set("..\\..\\..\\proc\\version", true), NtStatus::SUCCESS);
    assert_eq!(
        t.create("\\empty", FILE_OPEN, 0, GENERIC_READ, 7).err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(outside_volumes(), before, "the kernel's tree changed");
    t.finish();
    assert!(t
        .debugfs("stat /empty")
        .contains("Fast link dest: \"../../../proc/version\""));
}

#[test]
fn listing_patterns_find_only_entries() {
    let t = TestVolume::new("escapes-pattern", &[], tree);
    let mut dir = t.open_dir("\\dir");
    for d in dots().into_iter().chain([String::from("..")]) {
        let pattern = w(&d);
        let mut out = vec![0u8; 4096];
        let done = dirctrl::query_directory(
            t.vol(),
            &mut dir,
            &QueryDirectory {
                class: dirctrl::FILE_NAMES_INFORMATION,
                pattern: Some(&pattern),
                restart_scan: true,
                return_single_entry: false,
                index: None,
            },
            &mut out,
        );
        // `..` lists the entry of that name, as NTFS does; the escaped
        // spellings match nothing.
        if d == ".." {
            assert_eq!(done.status, NtStatus::SUCCESS);
            assert_eq!(name_at(&out, 12, u32_at(&out, 8) as usize), "..");
        } else {
            assert_eq!(done.status, NtStatus::NO_SUCH_FILE, "{d:?}");
        }
    }
    t.close(dir);
}

/// A directory that becomes a symlink to the kernel's root between the
/// core's lookup and its use: an open's delete, made by the path it was
/// opened by, does not follow it out of the volume.
#[test]
fn a_directory_swapped_for_a_symlink_leads_nowhere() {
    let t = TestVolume::new("escapes-swap", &[], tree);
    let root = t.vol().root().to_string();
    let decoy = format!("escape-decoy-{}", std::process::id());
    let make = |path: &str| {
        let flags = uapi::O_CREAT | uapi::O_WRONLY;
        sys::close(sys::openat(uapi::AT_FDCWD, path, flags, 0o644).unwrap()).unwrap();
    };
    make(&format!("{root}/dir/{decoy}"));
    let mut c = t
        .create(
            &format!("\\dir\\{decoy}"),
            FILE_OPEN,
            FILE_DELETE_ON_CLOSE,
            DELETE | FILE_READ_ATTRIBUTES,
            7,
        )
        .unwrap()
        .ccb;
    // Behind the core's back (the names generation does not move): `dir`
    // moves away and a symlink to `/` takes its place, so the open's path
    // `dir/<decoy>` would be the kernel's `/<decoy>`.
    sys::renameat2(
        uapi::AT_FDCWD,
        format!("{root}/dir"),
        uapi::AT_FDCWD,
        format!("{root}/moved"),
        0,
    )
    .unwrap();
    sys::symlinkat("/", uapi::AT_FDCWD, format!("{root}/dir")).unwrap();
    let outside = format!("/{decoy}");
    make(&outside);
    fsd::cleanup::cleanup(t.vol(), &mut c);
    t.close(c);
    let kept = sys::newfstatat(uapi::AT_FDCWD, &outside, 0).is_ok();
    let _ = sys::unlinkat(uapi::AT_FDCWD, &outside, 0);
    assert!(kept, "the delete reached {outside}, outside the volume");
    // Through the symlink by name, the volume's root is the root.
    let through = t.create(&format!("\\dir\\{decoy}"), FILE_OPEN, 0, GENERIC_READ, 7);
    assert_eq!(through.err(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
}
