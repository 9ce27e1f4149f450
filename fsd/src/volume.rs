//! The volume (VCB): a Linux file system mounted for Windows callers, its
//! table of FCBs, and the volume-wide rules (read-only, lock, dismount).
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use hashbrown::HashMap;

use lkl::mount::{self, Mount, MountOptions};
use lkl::AddedDisk;
use spin::Mutex;

use crate::cache::NameCache;
use crate::fcb::Fcb;
use crate::sleep_lock::SleepLock;
use crate::status::NtStatus;

/// How to present the volume.
#[derive(Clone, Debug, Default)]
pub struct VolumeOptions {
    pub partition: Option<u32>,
    pub read_only: bool,
    /// Names starting with a dot get FILE_ATTRIBUTE_HIDDEN.
    pub hide_dotfiles: bool,
    /// File system options, as for mount(8) `-o` (after the defaults
    /// every mount has: see `lkl::mount`).
    pub fs_options: String,
}

/// What happened to a name, numbered as FILE_ACTION_* numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Added = 1,
    Removed = 2,
    Modified = 3,
    RenamedOldName = 4,
    RenamedNewName = 5,
}

/// One change: the directory (kernel path), the entry's Windows name, and
/// what happened to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub dir: Vec<u8>,
    pub name: Vec<u16>,
    pub action: Action,
}

/// What the host asks before an overwrite or supersede empties the
/// existing file with this file id: its own reasons to refuse (Windows: a
/// section that maps the file, MmCanFileBeTruncated), as an error status.
pub type EmptyCheck = Arc<dyn Fn(u64) -> Result<(), NtStatus> + Send + Sync>;

pub struct Volume {
    pub(crate) root: String,
    pub(crate) fstype: String,
    pub(crate) read_only: bool,
    pub(crate) hide_dotfiles: bool,
    pub(crate) block_size: u32,
    pub(crate) state: Mutex<VolumeState>,
    /// Held by requests that change names by path, from finding the path
    /// of their file to their change: no other name changes in between
    /// (so a path found is still the file's). Taken before `state`.
    pub(crate) names_lock: SleepLock,
    mount: Mutex<Option<Mount>>,
    /// FSCTL_LOCK_VOLUME holds the volume: no creates until unlocked.
    /// Changed with the state locked; read without the lock for a quick
    /// answer, and with it where it must not change meanwhile.
    pub(crate) locked: AtomicBool,
    pub(crate) dismounted: AtomicBool,
    /// Mounted read-only because Linux would not write it.
    read_only_for_features: bool,
    /// Dismounted with writes Linux could not make (see
    /// [`Volume::mark_writes_lost`]).
    writes_lost: AtomicBool,
    /// The root directory, held open (O_PATH) for names relative to it;
    /// -1 once dismounted.
    root_fd: AtomicI32,
    /// Moved on by every change of names (see [`crate::cache`]).
    pub(crate) names_generation: AtomicU64,
    /// Changes of names under way.
    pub(crate) names_changing: AtomicU32,
    /// See [`Volume::set_empty_check`].
    empty_check: Mutex<Option<EmptyCheck>>,
    /// Frozen by [`Volume::prepare_for_shutdown`]: writes go through
    /// [`Volume::while_thawed`].
    frozen: AtomicBool,
    /// One thawed request at a time.
    thawing: SleepLock,
}

#[derive(Default)]
pub(crate) struct VolumeState {
    pub fcbs: HashMap<u64, Fcb>,
    /// Paths known to lead to FCBs, and the idle FCBs.
    pub cache: NameCache,
    /// The id of the next open.
    pub next_open: u64,
    /// What changed where, for change notifications.
    pub changes: Vec<Change>,
}

impl VolumeState {
    /// The id of a new open.
    pub fn new_open_id(&mut self) -> u64 {
        self.next_open += 1;
        self.next_open
    }

    /// Records that `action` happened to the entry at kernel path `path`.
    pub fn changed(&mut self, path: &[u8], action: Action) {
        let dir = Volume::parent_of(path).to_vec();
        let name = crate::names::to_windows(crate::info::last_name(path));
        let change = Change { dir, name, action };
        if self.changes.last() != Some(&change) {
            self.changes.push(change);
        }
    }
}

impl Volume {
    /// Mounts the file system of `disk` (detected) for Windows callers.
    pub fn mount(disk: &AddedDisk, options: &VolumeOptions) -> Result<Volume, NtStatus> {
        let mount_as = |read_only: bool| {
            mount::mount(
                disk,
                &MountOptions {
                    partition: options.partition,
                    fstype: None,
                    options: options.fs_options.clone(),
                    read_only,
                },
            )
        };
        let status = |e| match e {
            lkl::Errno::EINVAL => NtStatus::UNRECOGNIZED_VOLUME,
            e => crate::status::from_errno(e, crate::status::Missing::Name),
        };
        // Linux refuses to write a file system with features it cannot
        // write (ext4's unknown read-only-compatible ones): read-only then.
        let (m, read_only_for_features) = match mount_as(options.read_only) {
            Ok(m) => (m, false),
            Err(e @ (lkl::Errno::EINVAL | lkl::Errno::EROFS)) if !options.read_only => {
                (mount_as(true).map_err(|_| status(e))?, true)
            }
            Err(e) => return Err(status(e)),
        };
        let opened = lkl::sys::statfs(&m.path).and_then(|st| {
            let flags = lkl::uapi::O_PATH | lkl::uapi::O_DIRECTORY | lkl::uapi::O_CLOEXEC;
            lkl::sys::openat(lkl::uapi::AT_FDCWD, &m.path, flags, 0).map(|fd| (st, fd))
        });
        let (st, root_fd) = match opened {
            Ok(opened) => opened,
            Err(_) => {
                // Mounted, but not usable: not left mounted either.
                let _ = mount::unmount(m);
                return Err(NtStatus::UNEXPECTED_IO_ERROR);
            }
        };
        Ok(Volume {
            root: m.path.clone(),
            fstype: m.fstype.clone(),
            read_only: options.read_only || disk.read_only() || read_only_for_features,
            read_only_for_features,
            hide_dotfiles: options.hide_dotfiles,
            block_size: st.f_bsize as u32,
            state: Mutex::new(VolumeState::default()),
            names_lock: SleepLock::new(),
            mount: Mutex::new(Some(m)),
            locked: AtomicBool::new(false),
            dismounted: AtomicBool::new(false),
            writes_lost: AtomicBool::new(false),
            root_fd: AtomicI32::new(root_fd),
            names_generation: AtomicU64::new(0),
            names_changing: AtomicU32::new(0),
            empty_check: Mutex::new(None),
            frozen: AtomicBool::new(false),
            thawing: SleepLock::new(),
        })
    }

    /// Has `check` asked before an overwrite or supersede empties an
    /// existing file, after every check of the core's own (share access,
    /// permissions) and before the data goes: a refusal changes nothing.
    pub fn set_empty_check(&self, check: EmptyCheck) {
        *self.empty_check.lock() = Some(check);
    }

    /// The host's answer for emptying file `id` (see [`EmptyCheck`]).
    pub(crate) fn may_empty(&self, id: u64) -> Result<(), NtStatus> {
        // Asked outside the lock: the check may wait (for Windows' memory
        // manager).
        let check = self.empty_check.lock().clone();
        check.map_or(Ok(()), |check| check(id))
    }

    /// Where the volume is mounted in the kernel's tree.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The file system's name as Linux knows it (ext4, vfat, ...).
    pub fn fstype(&self) -> &str {
        &self.fstype
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Unmounts, writing everything out; later requests fail with
    /// STATUS_VOLUME_DISMOUNTED.
    pub fn dismount(&self) -> Result<(), NtStatus> {
        self.thaw_for_good();
        let closing = {
            let mut state = self.state.lock();
            self.dismounted.store(true, Ordering::SeqCst);
            state.evict_idle()
        };
        closing.close();
        // A create that still walks from it fails its check for a
        // dismounted volume before it keeps what it opened.
        let root_fd = self.root_fd.swap(-1, Ordering::SeqCst);
        if root_fd >= 0 {
            let _ = lkl::sys::close(root_fd);
        }
        let Some(m) = self.mount.lock().take() else {
            return Ok(());
        };
        let open = self.state.lock().fcbs.values().any(|f| f.opens > 0);
        let path = m.path.clone();
        // Files still open, or a descriptor a request of the moment still
        // holds (a create that will find the volume dismounted, a close
        // closing): written out and detached; Linux lets the file system
        // go when the last of them is closed.
        let detach = || {
            lkl::sys::sync();
            lkl::sys::umount2(&path, lkl::uapi::MNT_DETACH)
        };
        let result = if open {
            detach()
        } else {
            match mount::unmount(m) {
                Err(lkl::Errno::EBUSY) => detach(),
                other => other,
            }
        };
        result.map_err(|e| crate::status::from_errno(e, crate::status::Missing::Name))
    }

    /// How many handles are open on file `id` (a CCB's `file_id`): an
    /// exclusive oplock goes only to a lone opener.
    pub fn handles_of(&self, id: u64) -> u32 {
        self.state.lock().fcbs.get(&id).map_or(0, |f| f.handles)
    }

    /// Whether Linux mounted it read-only though writing was asked for:
    /// the file system has features Linux cannot write.
    pub fn read_only_for_features(&self) -> bool {
        self.read_only_for_features
    }

    /// Whether any file of the volume is open.
    pub fn has_open_files(&self) -> bool {
        self.state.lock().fcbs.values().any(|f| f.opens > 0)
    }

    /// For IRP_MJ_SHUTDOWN: Windows is going down. A file system that
    /// files are open on (and so stays mounted: FastFat's shutdown
    /// dismounts nothing in use) is written out and frozen, so what is on
    /// the disk is clean (ext4: no journal to replay) however the power
    /// goes; what is written after it still lands, each request with the
    /// file system thawed and frozen again (see [`Volume::while_thawed`]).
    pub fn prepare_for_shutdown(&self) {
        if self.has_open_files() {
            let _guard = self.thawing.lock();
            let frozen = self.with_mount_dir(|fd| {
                let _ = lkl::sys::syncfs(fd);
                lkl::sys::freeze(fd)
            });
            self.frozen
                .store(frozen.is_some_and(|r| r.is_ok()), Ordering::SeqCst);
        }
    }

    /// Whether the volume is frozen for shutdown.
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    /// Runs `f`, a request that may write: on a volume frozen for shutdown
    /// the file system is thawed for it and written out and frozen again
    /// after, so that it lands and the disk is clean again (one such
    /// request at a time); on any other volume, just `f`.
    pub fn while_thawed<R>(&self, f: impl FnOnce() -> R) -> R {
        if !self.is_frozen() {
            return f();
        }
        let _guard = self.thawing.lock();
        if !self.is_frozen() {
            return f();
        }
        self.with_mount_dir(lkl::sys::thaw);
        let r = f();
        self.with_mount_dir(|fd| {
            let _ = lkl::sys::syncfs(fd);
            lkl::sys::freeze(fd)
        });
        r
    }

    /// Thaws a volume frozen for shutdown for good (before a dismount).
    fn thaw_for_good(&self) {
        if self.frozen.swap(false, Ordering::SeqCst) {
            let _guard = self.thawing.lock();
            self.with_mount_dir(lkl::sys::thaw);
        }
    }

    /// Runs `f` on a descriptor of the mounted file system's root (None
    /// if it is not mounted or cannot be opened).
    fn with_mount_dir<R>(&self, f: impl FnOnce(i32) -> R) -> Option<R> {
        let path = self.mount.lock().as_ref().map(|m| m.path.clone())?;
        let flags = lkl::uapi::O_RDONLY | lkl::uapi::O_DIRECTORY | lkl::uapi::O_CLOEXEC;
        let fd = lkl::sys::openat(lkl::uapi::AT_FDCWD, &path, flags, 0).ok()?;
        let r = f(fd);
        let _ = lkl::sys::close(fd);
        Some(r)
    }

    /// The root directory's descriptor (-1 once dismounted).
    pub(crate) fn root_fd(&self) -> i32 {
        self.root_fd.load(Ordering::SeqCst)
    }

    /// Ok while mounted; else what requests on it get (VOLUME_DISMOUNTED,
    /// or LOST_WRITEBEHIND_DATA where writes were lost).
    pub fn check_mounted(&self) -> Result<(), NtStatus> {
        if self.writes_lost.load(Ordering::SeqCst) {
            Err(NtStatus::LOST_WRITEBEHIND_DATA)
        } else if self.dismounted.load(Ordering::SeqCst) {
            Err(NtStatus::VOLUME_DISMOUNTED)
        } else {
            Ok(())
        }
    }

    /// The disk went before Linux had written everything back (surprise
    /// removal): the requests of the opens left fail with
    /// STATUS_LOST_WRITEBEHIND_DATA, which says so, instead of
    /// STATUS_VOLUME_DISMOUNTED.
    pub fn mark_writes_lost(&self) {
        self.writes_lost.store(true, Ordering::SeqCst);
    }

    /// Creates are refused once dismounted and while the volume is locked.
    pub(crate) fn check_creates_allowed(&self) -> Result<(), NtStatus> {
        self.check_mounted()?;
        if self.locked.load(Ordering::SeqCst) {
            Err(NtStatus::ACCESS_DENIED)
        } else {
            Ok(())
        }
    }

    pub(crate) fn check_writable(&self) -> Result<(), NtStatus> {
        if self.read_only {
            Err(NtStatus::MEDIA_WRITE_PROTECTED)
        } else {
            Ok(())
        }
    }

    /// Records that `action` happened to the entry at kernel path `path`.
    pub(crate) fn changed(&self, path: &[u8], action: Action) {
        self.state.lock().changed(path, action);
    }

    /// What changed since the last call, oldest first: what the Windows
    /// half turns into change notifications.
    pub fn take_changes(&self) -> Vec<Change> {
        core::mem::take(&mut self.state.lock().changes)
    }

    /// The Windows name from the volume root of kernel path `path` (a
    /// path on this volume).
    pub(crate) fn windows_path(&self, path: &[u8]) -> Vec<u16> {
        let relative = path.strip_prefix(self.root.as_bytes()).unwrap_or(path);
        let mut out = Vec::with_capacity(relative.len() + 1);
        for name in relative.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
            out.push(b'\\' as u16);
            crate::names::push_windows(&mut out, name);
        }
        if out.is_empty() {
            out.push(b'\\' as u16);
        }
        out
    }

    /// The kernel path of the parent of `path`.
    pub(crate) fn parent_of(path: &[u8]) -> &[u8] {
        match path.iter().rposition(|&c| c == b'/') {
            Some(i) => &path[..i],
            None => path,
        }
    }
}

impl Drop for Volume {
    /// Dismounts, and closes what opens not closed yet held open, so that
    /// the file system goes with the volume.
    fn drop(&mut self) {
        let _ = self.dismount();
        let closing = self.state.lock().let_all_go();
        closing.close();
    }
}
