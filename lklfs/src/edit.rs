//! Commands that change an image's tree: mkdir, rm, mv, ln -s. Each checks
//! everything it can on the read-only mount before it writes.
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Errno};

use crate::error::{Context, Error};
use crate::fsops::{self, is_dir, lstat, stat};
use crate::session::{check_interrupt, Access, Session};
use crate::target::ImagePath;
use crate::ImageOptions;

/// The directory that will hold `path` must exist (a symlink to one
/// will do).
fn check_parent(s: &Session, path: &str) -> Result<(), Error> {
    let parent = fsops::parent(path);
    match stat(s.path(parent)) {
        Ok(st) if is_dir(&st) => Ok(()),
        Ok(_) => Err(Error::sys(parent, Errno::ENOTDIR)),
        Err(e) => Err(Error::sys(parent, e)),
    }
}

pub fn mkdir(opts: &ImageOptions, p: &ImagePath, parents: bool) -> Result<(), Error> {
    let mut s = Session::open(&p.image, opts, Access::Write)?;
    let full = s.path(&p.path);
    match lstat(&full) {
        // With -p, a directory there (or a symlink to one) is all right.
        Ok(_) if parents && stat(&full).is_ok_and(|st| is_dir(&st)) => return s.close(),
        Ok(_) => return Err(Error::sys(&p.path, Errno::EEXIST)),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(&p.path, e)),
    }
    if !parents {
        check_parent(&s, &p.path)?;
    }
    s.make_writable()?;
    let mut at = String::new();
    for part in p.path.split('/').filter(|c| !c.is_empty()) {
        at = format!("{at}/{part}");
        match sys::mkdirat(AT_FDCWD, s.path(&at), 0o755) {
            Ok(()) => {}
            Err(Errno::EEXIST) if parents => {}
            Err(e) => return Err(Error::sys(&at, e)),
        }
    }
    s.close()
}

pub fn rm(opts: &ImageOptions, p: &ImagePath, recursive: bool) -> Result<(), Error> {
    let mut s = Session::open(&p.image, opts, Access::Write)?;
    let st = lstat(s.path(&p.path)).at(&p.path)?;
    if p.path.trim_matches('/').is_empty() {
        return Err(Error::Msg("refusing to remove the root directory".into()));
    }
    if is_dir(&st) && !recursive {
        return Err(Error::sys(&p.path, Errno::EISDIR));
    }
    s.make_writable()?;
    remove_tree(s.path(&p.path).as_bytes())?;
    s.close()
}

fn remove_tree(path: &[u8]) -> Result<(), Error> {
    check_interrupt()?;
    let shown = fsops::shown(path);
    let st = lstat(path).at(&shown)?;
    if !is_dir(&st) {
        return sys::unlinkat(AT_FDCWD, path, 0).at(&shown);
    }
    for entry in fsops::read_dir(path)? {
        remove_tree(&fsops::child(path, &entry.name))?;
    }
    sys::unlinkat(AT_FDCWD, path, uapi::AT_REMOVEDIR).at(&shown)
}

pub fn mv(opts: &ImageOptions, old: &ImagePath, new: &ImagePath) -> Result<(), Error> {
    if old.image != new.image {
        return Err(Error::Msg("mv works within one image".into()));
    }
    let mut s = Session::open(&old.image, opts, Access::Write)?;
    lstat(s.path(&old.path)).at(&old.path)?;
    // Into an existing directory (or a symlink to one), as mv(1) moves.
    let target = match stat(s.path(&new.path)) {
        Ok(st)
            if is_dir(&st) && old.path.trim_end_matches('/') != new.path.trim_end_matches('/') =>
        {
            let dir = new.path.trim_end_matches('/');
            format!("{dir}/{}", fsops::file_name(&old.path))
        }
        _ => new.path.clone(),
    };
    check_parent(&s, &target)?;
    s.make_writable()?;
    sys::renameat2(AT_FDCWD, s.path(&old.path), AT_FDCWD, s.path(&target), 0).at(&target)?;
    s.close()
}

pub fn symlink(opts: &ImageOptions, target: &str, p: &ImagePath) -> Result<(), Error> {
    let mut s = Session::open(&p.image, opts, Access::Write)?;
    match lstat(s.path(&p.path)) {
        Ok(_) => return Err(Error::sys(&p.path, Errno::EEXIST)),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(&p.path, e)),
    }
    check_parent(&s, &p.path)?;
    s.make_writable()?;
    sys::symlinkat(target, AT_FDCWD, s.path(&p.path)).at(&p.path)?;
    s.close()
}
