//! A session on one image: the kernel booted in this process, the image as
//! its disk, the file system mounted. Write commands mount read-only
//! first and switch to read-write only once their checks have passed, so
//! a command that fails early writes nothing. The file system is
//! unmounted cleanly on every way out, Ctrl-C included.
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lkl::mount::{self, Mount, MountOptions};
use lkl::{sys, uapi, AddedDisk, Config, Disk, Errno, FileDisk, Kernel};
use lkl_crash::RecordingDisk;

use crate::error::{Context, Error};
use crate::ImageOptions;

pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

/// Err(Interrupted) once Ctrl-C was pressed: long work checks it often.
pub fn check_interrupt() -> Result<(), Error> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

pub struct Session {
    mount: Option<Mount>,
    /// The kernel's own root, held open while the image's root is the
    /// root (so that symlinks in the image resolve in the image, absolute
    /// ones too, as on the system it belongs to); the way back out.
    outside: Option<i32>,
    disk: Option<AddedDisk>,
    kernel: Option<Kernel>,
    image: String,
    ro: bool,
    /// `--record`: where the recording goes, and the disk making it.
    recording: Option<(PathBuf, Arc<RecordingDisk>)>,
}

const KERNEL_MEMORY: usize = 256 << 20;

impl Session {
    pub fn open(image: &Path, opts: &ImageOptions, access: Access) -> Result<Session, Error> {
        let name = image.display().to_string();
        // Read commands too open the image writable when they can: Linux
        // must be able to replay a dirty journal. --ro never writes. Any
        // number of readers may use an image at once, a writer alone.
        let file = match access {
            Access::Write => FileDisk::open(image, opts.ro),
            Access::Read => match FileDisk::open_shared(image, opts.ro) {
                Err(e) if !opts.ro && e.kind() == ErrorKind::PermissionDenied => {
                    FileDisk::open_shared(image, true)
                }
                other => other,
            },
        }
        .at(&name)?;
        let kernel = Kernel::boot(&Config {
            memory: KERNEL_MEMORY,
            ..Config::default()
        })
        .map_err(|e| Error::sys("cannot boot the kernel", e))?;
        let file: Arc<dyn Disk> = Arc::new(file);
        let recording = opts
            .record
            .as_ref()
            .map(|path| (path.clone(), Arc::new(RecordingDisk::new(file.clone()))));
        let disk = match &recording {
            Some((_, r)) => lkl::add_disk(r.clone()),
            None => lkl::add_disk(file),
        }
        .at(&name)?;
        let options = MountOptions {
            partition: opts.partition,
            fstype: opts.fstype.clone(),
            options: String::new(),
            read_only: true,
        };
        let mut session = Session {
            mount: None,
            outside: None,
            disk: Some(disk),
            kernel: Some(kernel),
            image: name.clone(),
            ro: opts.ro,
            recording,
        };
        let disk = session.disk.as_ref().unwrap();
        let console_before = lkl::console_output().len();
        let mounted = mount::mount(disk, &options);
        session.mount = Some(mounted.map_err(|e| {
            let device = disk.device(opts.partition);
            let why = refusal(&device, console_before);
            mount_error(&name, opts, e, why)
        })?);
        session.enter().at(&name)?;
        session.report_recovery();
        Ok(session)
    }

    /// Tells the user when Linux replayed a journal while mounting.
    fn report_recovery(&self) {
        let log = String::from_utf8_lossy(&lkl::console_output()).into_owned();
        let replayed = [
            "recovery complete",
            "Ending recovery",
            "start tree-log replay",
        ];
        if replayed.iter().any(|m| log.contains(m)) {
            eprintln!(
                "lklfs: {}: not cleanly unmounted before; Linux replayed its journal",
                self.image
            );
        }
    }

    /// Makes the image's root the root (see `outside`).
    fn enter(&mut self) -> Result<(), Errno> {
        let root = &self.mount.as_ref().expect("mounted").path;
        let flags = uapi::O_PATH | uapi::O_DIRECTORY | uapi::O_CLOEXEC;
        self.outside = Some(sys::openat(uapi::AT_FDCWD, "/", flags, 0)?);
        sys::chdir(root)?;
        sys::chroot(".")
    }

    /// Back to the kernel's own root.
    fn leave(&mut self) {
        if let Some(fd) = self.outside.take() {
            let _ = sys::fchdir(fd).and_then(|()| sys::chroot("."));
            let _ = sys::close(fd);
        }
    }

    /// `path` inside the image as a path in the kernel's tree: the same,
    /// the image's root being the root.
    pub fn path(&self, path: &str) -> String {
        format!("/{}", path.trim_start_matches('/'))
    }

    pub fn fstype(&self) -> &str {
        &self.mount.as_ref().expect("mounted").fstype
    }

    /// Switches the mount to read-write, once a command's checks passed.
    pub fn make_writable(&mut self) -> Result<(), Error> {
        if self.ro || self.disk.as_ref().is_some_and(|d| d.read_only()) {
            return Err(Error::sys(&self.image, Errno::EROFS));
        }
        sys::mount("", "/", "", uapi::MS_REMOUNT, None).at(&self.image)
    }

    /// Unmounts (writing everything out) and halts; errors if data could
    /// not be written.
    pub fn close(mut self) -> Result<(), Error> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        self.leave();
        if let Some(m) = self.mount.take() {
            result = mount::unmount(m).at(&self.image);
        }
        if let Some(d) = self.disk.take() {
            let _ = d.remove();
        }
        if let Some(k) = self.kernel.take() {
            let _ = k.halt();
        }
        if let Some((path, disk)) = self.recording.take() {
            let saved = std::fs::File::create(&path)
                .and_then(|f| disk.log().save(&mut std::io::BufWriter::new(f)));
            result = result.and(saved.at(&path.display().to_string()));
        }
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("lklfs: {e}");
        }
    }
}

/// Why the file system on `device` would not mount, if the device holds
/// one we know by its superblock: its type and what its driver said on
/// the console (since the console held `since` bytes): a short device, a
/// damaged superblock.
fn refusal(device: &str, since: usize) -> Option<(&'static str, Vec<String>)> {
    let mut head = vec![0u8; mount::IDENTIFY_BYTES];
    let fd = sys::openat(uapi::AT_FDCWD, device, uapi::O_RDONLY, 0).ok()?;
    let read = sys::pread64(fd, &mut head, 0);
    let _ = sys::close(fd);
    head.truncate(read.ok()?);
    let (fstype, _) = mount::identify(&head)?;
    let name = &device["/dev/".len()..];
    let tag = match fstype {
        "ext4" => format!("EXT4-fs ({name})"),
        "btrfs" => format!("(device {name})"),
        _ => format!("XFS ({name})"),
    };
    let console = lkl::console_output();
    let new = String::from_utf8_lossy(console.get(since..).unwrap_or_default()).into_owned();
    let said = new
        .lines()
        .filter(|l| l.contains(tag.as_str()))
        .map(|l| {
            l.split_once("] ")
                .map_or(l, |(_, rest)| rest)
                .trim()
                .to_string()
        })
        .collect();
    Some((fstype, said))
}

fn mount_error(
    image: &str,
    opts: &ImageOptions,
    e: Errno,
    refusal: Option<(&str, Vec<String>)>,
) -> Error {
    match (e, opts.partition, refusal) {
        (Errno::ENXIO, Some(n), _) => Error::Msg(format!("{image}: no partition {n}")),
        (Errno::EINVAL, _, Some((fstype, said)))
            if opts.fstype.as_deref().is_none_or(|t| t == fstype) =>
        {
            Error::Msg(format!(
                "{image}: its {fstype} file system cannot be mounted{}{}",
                if said.is_empty() { "" } else { ": " },
                said.join("; ")
            ))
        }
        (Errno::EINVAL, _, _) if opts.fstype.is_none() => Error::Msg(format!(
            "{image}: not a file system lklfs knows ({})",
            mount::KNOWN_FILESYSTEMS.join(", ")
        )),
        (Errno::EINVAL, _, _) => Error::Msg(format!(
            "{image}: not a {} file system",
            opts.fstype.as_deref().unwrap_or("")
        )),
        // Linux mounts a file system with a journal to replay only if it
        // may write (ext4: "write access unavailable").
        (Errno::EROFS, _, _) => Error::Msg(format!(
            "{image}: its journal must be replayed, which needs writing to it{}",
            if opts.ro {
                " (not with --ro)"
            } else {
                " (not while the host has it on a loop device, or without write permission)"
            }
        )),
        _ => Error::sys(image, e),
    }
}
