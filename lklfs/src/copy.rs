//! `cp`: copies files, directories, symlinks and hard links into or out of
//! an image, optionally keeping mode, owner and times.
use std::collections::HashMap;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Errno};

use crate::error::{Context, Error};
use crate::fsops::{self, is_dir, is_symlink, lstat, stat};
use crate::hostfs;
use crate::session::{check_interrupt, Access, Session};
use crate::target::ImagePath;
use crate::ImageOptions;

pub fn run(
    opts: &ImageOptions,
    args: &[String],
    recursive: bool,
    preserve: bool,
) -> Result<(), Error> {
    let (dest, sources) = args.split_last().expect("clap requires two paths");
    let copy = Copy {
        recursive,
        preserve,
        links_in: HashMap::new(),
        links_out: HashMap::new(),
        progress: Progress::new(),
    };
    match ImagePath::try_parse(dest) {
        Some(dest) => {
            if let Some(src) = sources.iter().find(|s| ImagePath::try_parse(s).is_some()) {
                return Err(Error::Msg(format!(
                    "{src}: copy between images is not supported"
                )));
            }
            copy.into_image(opts, sources, &dest)
        }
        None => {
            if let Some(arg) = args.iter().find(|a| ImagePath::names_missing_image(a)) {
                return Err(ImagePath::not_an_image_path(arg));
            }
            let sources = sources
                .iter()
                .map(|s| ImagePath::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| Error::Msg("one side of cp must be IMAGE:/PATH".into()))?;
            if sources.iter().any(|s| s.image != sources[0].image) {
                return Err(Error::Msg(
                    "cp takes sources from one image at a time".into(),
                ));
            }
            copy.out_of_image(opts, &sources, Path::new(dest))
        }
    }
}

/// Whether host path `src` names a directory's contents (`dir/.`, `.`).
fn contents_of(src: &str) -> bool {
    src == "." || src.ends_with("/.") || (cfg!(windows) && src.ends_with("\\."))
}

struct Copy {
    recursive: bool,
    preserve: bool,
    /// Host files with several links already copied in: (device, inode)
    /// to the path of the first copy in the kernel's tree.
    links_in: HashMap<(u64, u64), Vec<u8>>,
    /// Image files with several links already copied out, likewise.
    links_out: HashMap<(u64, u64), PathBuf>,
    progress: Progress,
}

impl Copy {
    fn into_image(
        mut self,
        opts: &ImageOptions,
        sources: &[String],
        dest: &ImagePath,
    ) -> Result<(), Error> {
        let mut s = Session::open(&dest.image, opts, Access::Write)?;
        let dest_full = s.path(&dest.path);
        // Into an existing directory (or a symlink to one), as cp(1).
        let dest_is_dir = stat(&dest_full).is_ok_and(|st| is_dir(&st));
        // Every check before anything is written.
        let mut plan = Vec::new();
        for src in sources {
            let meta = fs::symlink_metadata(src).at(src)?;
            if meta.is_dir() && !self.recursive {
                return Err(Error::Msg(format!("{src}: is a directory (use -r)")));
            }
            let target = if dest_is_dir {
                match Path::new(src).file_name() {
                    Some(name) if !contents_of(src) => {
                        fsops::child(dest_full.as_bytes(), &hostfs::name_bytes(name))
                    }
                    // `dir/.`: what is in dir, as cp takes it; `/`, `..`.
                    _ => dest_full.clone().into_bytes(),
                }
            } else if sources.len() > 1 {
                return Err(Error::sys(&dest.path, Errno::ENOTDIR));
            } else {
                let parent = fsops::parent(&dest.path);
                match stat(s.path(parent)) {
                    Ok(st) if is_dir(&st) => dest_full.clone().into_bytes(),
                    Ok(_) => return Err(Error::sys(parent, Errno::ENOTDIR)),
                    Err(e) => return Err(Error::sys(parent, e)),
                }
            };
            plan.push((PathBuf::from(src), target));
        }
        s.make_writable()?;
        for (src, target) in plan {
            self.host_to_image(&src, &target)?;
        }
        self.progress.finish();
        s.close()
    }

    fn host_to_image(&mut self, src: &Path, target: &[u8]) -> Result<(), Error> {
        check_interrupt()?;
        let name = src.display().to_string();
        let shown = fsops::shown(target);
        let meta = fs::symlink_metadata(src).at(&name)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            match sys::mkdirat(AT_FDCWD, target, 0o700) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(Error::sys(shown, e)),
            }
            let mut entries: Vec<_> = fs::read_dir(src)
                .at(&name)?
                .collect::<Result<_, _>>()
                .at(&name)?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let child = fsops::child(target, &hostfs::name_bytes(&entry.file_name()));
                self.host_to_image(&entry.path(), &child)?;
            }
        } else if kind.is_symlink() {
            let link = hostfs::read_link(src).at(&name)?;
            in_place_of(target, |t| sys::symlinkat(&link, AT_FDCWD, t).at(&shown))?;
        } else if kind.is_file() {
            let key = hostfs::link_key(&meta);
            if let Some(first) = key.and_then(|k| self.links_in.get(&k)) {
                return in_place_of(target, |t| {
                    sys::linkat(AT_FDCWD, first, AT_FDCWD, t, 0).at(&shown)
                });
            }
            let mut file = fs::File::open(src).at(&name)?;
            let mode = hostfs::mode(&meta) & 0o777;
            let progress = &mut self.progress;
            in_place_of(target, |t| {
                fsops::copy_in(t, &mut file, mode, &mut |n| progress.add(n))
            })?;
            if let Some(key) = key {
                self.links_in.insert(key, target.to_vec());
            }
        } else {
            eprintln!("lklfs: {name}: skipping a special file");
            return Ok(());
        }
        if self.preserve {
            fsops::set_attributes(target, &hostfs::stat(&meta), kind.is_symlink())?;
        } else if kind.is_dir() {
            sys::fchmodat(AT_FDCWD, target, hostfs::mode(&meta) & 0o777).at(&shown)?;
        }
        Ok(())
    }

    fn out_of_image(
        mut self,
        opts: &ImageOptions,
        sources: &[ImagePath],
        dest: &Path,
    ) -> Result<(), Error> {
        let s = Session::open(&sources[0].image, opts, Access::Read)?;
        let dest_is_dir = dest.is_dir();
        if sources.len() > 1 && !dest_is_dir {
            return Err(Error::Msg(format!("{}: not a directory", dest.display())));
        }
        for src in sources {
            let full = s.path(&src.path);
            let st = lstat(&full).at(&src.path)?;
            if is_dir(&st) && !self.recursive {
                return Err(Error::Msg(format!("{}: is a directory (use -r)", src.path)));
            }
            let target = if dest_is_dir {
                dest.join(fsops::file_name(&src.path))
            } else {
                dest.to_path_buf()
            };
            self.image_to_host(full.as_bytes(), &target)?;
        }
        self.progress.finish();
        s.close()
    }

    fn image_to_host(&mut self, src: &[u8], target: &Path) -> Result<(), Error> {
        check_interrupt()?;
        let name = target.display().to_string();
        let shown = fsops::shown(src);
        let st = lstat(src).at(&shown)?;
        if is_dir(&st) {
            match fs::create_dir(target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && target.is_dir() => {}
                Err(e) => return Err(e).at(&name),
            }
            for entry in fsops::read_dir(src)? {
                let host = target.join(hostfs::host_name(&entry.name));
                self.image_to_host(&fsops::child(src, &entry.name), &host)?;
            }
        } else if is_symlink(&st) {
            let link = sys::readlinkat(AT_FDCWD, src).at(&shown)?;
            let _ = fs::remove_file(target);
            hostfs::symlink(&link, target).at(&name)?;
        } else if st.st_mode & uapi::S_IFMT == uapi::S_IFREG {
            if st.st_nlink > 1 {
                if let Some(first) = self.links_out.get(&(st.st_dev, st.st_ino)) {
                    let _ = fs::remove_file(target);
                    return fs::hard_link(first, target).at(&name);
                }
                self.links_out
                    .insert((st.st_dev, st.st_ino), target.to_path_buf());
            }
            let mut file = fs::File::create(target).at(&name)?;
            let progress = &mut self.progress;
            fsops::copy_out_sparse(src, &mut file, &mut |n| progress.add(n))?;
        } else {
            eprintln!("lklfs: {shown}: skipping a special file");
            return Ok(());
        }
        if self.preserve {
            if is_symlink(&st) {
                hostfs::set_link_attributes(target, &st).at(&name)?;
            } else {
                hostfs::set_attributes(target, &st).at(&name)?;
            }
        }
        Ok(())
    }
}

/// Makes the non-directory `target` in the image by `make`, all at once:
/// made under a name of its own beside it, then renamed over it. A copy
/// that fails half-way (no space left, Ctrl-C) leaves what was there
/// before, and no part of a file.
fn in_place_of(target: &[u8], make: impl FnOnce(&[u8]) -> Result<(), Error>) -> Result<(), Error> {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let temp_name = format!(
        ".lklfs-copying-{}-{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    let temp = fsops::child(fsops::parent_of(target), temp_name.as_bytes());
    let made = make(&temp).and_then(|()| {
        sys::renameat2(AT_FDCWD, &temp, AT_FDCWD, target, 0).at(&fsops::shown(target))
    });
    if made.is_err() {
        let _ = sys::unlinkat(AT_FDCWD, &temp, 0);
    }
    made
}

/// A progress line on a terminal, for copies that take over a second.
struct Progress {
    started: Instant,
    shown: Option<Instant>,
    bytes: u64,
    terminal: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            started: Instant::now(),
            shown: None,
            bytes: 0,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn add(&mut self, n: u64) {
        self.bytes += n;
        let now = Instant::now();
        let due = self
            .shown
            .map_or(now - self.started >= Duration::from_secs(1), |t| {
                now - t >= Duration::from_millis(200)
            });
        if self.terminal && due {
            self.shown = Some(now);
            let secs = (now - self.started).as_secs_f64();
            eprint!(
                "\rcopied {:>8.1} MiB  {:>7.1} MiB/s",
                self.bytes as f64 / 1048576.0,
                self.bytes as f64 / 1048576.0 / secs
            );
        }
    }

    fn finish(&self) {
        if self.shown.is_some() {
            eprintln!();
        }
    }
}
