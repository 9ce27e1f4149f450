//! lklfs against the host's own file system as the model: a random
//! sequence of mkdir, cp, rm, mv and ln on a few names, each done by
//! lklfs on an image and by std::fs on a host directory the way the
//! command's documented rules say (cp and mv into an existing directory or
//! a symlink to one, a copy replacing a symlink to a file rather than
//! writing through it; symlinks resolve inside the image). Each must
//! succeed or fail alike; at the end the image, copied out, is the host
//! tree, and e2fsck finds it clean.
mod common;
#[path = "../../tests/support/rng.rs"]
mod rng;

use std::fs;
use std::path::Path;

use common::*;
use rng::Rng;

/// A path of one to three of a few names.
fn random_path(rng: &mut Rng) -> String {
    let depth = 1 + rng.below(3);
    (0..depth)
        .map(|_| ["a", "b", "c"][rng.below(3)])
        .collect::<Vec<_>>()
        .join("/")
}

fn last_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// `lstat` says a directory (not a symlink to one).
fn is_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Where `cp` and `mv` put `source` when asked for `dest` (a path in the
/// host tree): into it if it is a directory or a symlink to one.
fn placed(dest: &Path, source_name: &str) -> std::path::PathBuf {
    if dest.is_dir() {
        dest.join(source_name)
    } else {
        dest.to_path_buf()
    }
}

/// The host side of `lklfs cp FILE IMAGE:/dest`: a new file made beside
/// its place, renamed over whatever non-directory was there.
fn model_cp(file: &Path, dest: &Path) -> std::io::Result<()> {
    let target = placed(dest, file.file_name().unwrap().to_str().unwrap());
    if is_dir(&target) {
        return Err(std::io::ErrorKind::IsADirectory.into());
    }
    let temp = target.with_file_name(".model-copying");
    fs::copy(file, &temp)?;
    fs::rename(&temp, &target).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

fn model_rm(path: &Path) -> std::io::Result<()> {
    if is_dir(path) {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn model_mv(old: &Path, new: &Path, old_rel: &str, new_rel: &str) -> std::io::Result<()> {
    fs::symlink_metadata(old)?;
    let target = if old_rel != new_rel {
        placed(new, last_name(old_rel))
    } else {
        new.to_path_buf()
    };
    fs::rename(old, target)
}

fn model_ln(target: &str, path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[test]
fn random_commands_do_what_the_host_does() {
    let s = Scratch::new("model");
    let host = s.path("host");
    fs::create_dir(&host).unwrap();
    let image = s.path("m.img");
    make_ext4(&image, None, &[], "16M");
    let img = |p: &str| format!("{}:/{p}", image.display());
    let mut rng = Rng(0x4D4F_4445_4C00_0001);
    let (mut agreed_ok, mut agreed_err) = (0, 0);
    for step in 0..150 {
        let p = random_path(&mut rng);
        let host_p = host.join(&p);
        let (what, lklfs_args, model): (String, Vec<String>, std::io::Result<()>) =
            match rng.below(5) {
                0 => (
                    "mkdir -p".into(),
                    vec!["mkdir".into(), "-p".into(), img(&p)],
                    fs::create_dir_all(&host_p),
                ),
                1 => {
                    let file = s.path(&format!("src-{step}"));
                    fs::write(&file, format!("step {step}\n").repeat(1 + rng.below(300))).unwrap();
                    (
                        "cp".into(),
                        vec!["cp".into(), file.display().to_string(), img(&p)],
                        model_cp(&file, &host_p),
                    )
                }
                2 => (
                    "rm -r".into(),
                    vec!["rm".into(), "-r".into(), img(&p)],
                    model_rm(&host_p),
                ),
                3 => {
                    let to = random_path(&mut rng);
                    let result = model_mv(&host_p, &host.join(&to), &p, &to);
                    (
                        format!("mv to {to}"),
                        vec!["mv".into(), img(&p), img(&to)],
                        result,
                    )
                }
                _ => {
                    // Relative and downward only, wherever the link is
                    // moved later: never above the root, where the host
                    // and the image would differ.
                    let target = random_path(&mut rng);
                    let result = model_ln(&target, &host_p);
                    (
                        format!("ln -s {target}"),
                        vec!["ln".into(), "-s".into(), target, img(&p)],
                        result,
                    )
                }
            };
        let args: Vec<&str> = lklfs_args.iter().map(String::as_str).collect();
        let out = lklfs(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            model.is_ok(),
            "step {step}: {what} {p}: lklfs says {err:?}, the host {model:?}"
        );
        if model.is_ok() {
            agreed_ok += 1;
        } else {
            agreed_err += 1;
        }
    }
    assert!(
        agreed_ok > 50 && agreed_err > 10,
        "{agreed_ok} done, {agreed_err} refused"
    );
    e2fsck_clean(&image);
    let out = s.path("out");
    lklfs_ok(&["cp", "-r", &img(""), &out.display().to_string()]);
    assert_same_tree(&host, &out, CONTENTS);
}

/// Symlinks resolve inside the image, absolute ones too, as on the system
/// the image belongs to (not in the kernel's own tree, where lklfs runs):
/// a copy into `/abs/`, a symlink to `/real`, lands in `/real`.
#[test]
fn absolute_symlinks_resolve_inside_the_image() {
    let s = Scratch::new("absolute");
    let image = s.path("a.img");
    make_ext4(&image, None, &[], "16M");
    let img = |p: &str| format!("{}:{p}", image.display());
    lklfs_ok(&["mkdir", &img("/real")]);
    lklfs_ok(&["ln", "-s", "/real", &img("/abs")]);
    lklfs_ok(&["ln", "-s", "/../../real", &img("/above")]);
    fs::write(s.path("note"), b"through a link").unwrap();
    lklfs_ok(&["cp", &s.arg("note"), &img("/abs/")]);
    lklfs_ok(&["mkdir", "-p", &img("/above/sub")]);
    assert_eq!(lklfs_ok(&["ls", &img("/above/")]), "note\nsub\n");
    e2fsck_clean(&image);
    let debugfs = |req: &str| tool("debugfs", &["-R", req, &image.display().to_string()]);
    assert_eq!(debugfs("cat /real/note"), "through a link");
    assert!(debugfs("ls /real").contains("sub"));
}
