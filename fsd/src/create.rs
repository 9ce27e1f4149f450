//! IRP_MJ_CREATE: opening and creating files and directories, with every
//! disposition, the create options that matter, access checks against the
//! file's mode and the volume, and share access between opens.
use alloc::vec::Vec;

use lkl::uapi::{self, Stat};
use lkl::{sys, Errno};

use crate::access::{self, map_generic};
use crate::attributes::{self, is_dir, is_symlink};
use crate::ccb::Ccb;
use crate::linux::{lstat, nt};
use crate::names;
use crate::resolve::{self, Resolved};
use crate::status::NtStatus;
use crate::volume::{Action, Volume};

pub const FILE_SUPERSEDE: u32 = 0;
pub const FILE_OPEN: u32 = 1;
pub const FILE_CREATE: u32 = 2;
pub const FILE_OPEN_IF: u32 = 3;
pub const FILE_OVERWRITE: u32 = 4;
pub const FILE_OVERWRITE_IF: u32 = 5;

pub const FILE_SUPERSEDED: u64 = 0;
pub const FILE_OPENED: u64 = 1;
pub const FILE_CREATED: u64 = 2;
pub const FILE_OVERWRITTEN: u64 = 3;
pub const FILE_EXISTS: u64 = 4;
pub const FILE_DOES_NOT_EXIST: u64 = 5;

pub const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;
pub const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
pub const FILE_NON_DIRECTORY_FILE: u32 = 0x0000_0040;
pub const FILE_DELETE_ON_CLOSE: u32 = 0x0000_1000;
pub const FILE_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// A decoded IRP_MJ_CREATE.
pub struct CreateRequest<'a> {
    /// The related file object's open (for a relative name), if any.
    pub related: Option<&'a Ccb>,
    /// The name, from the volume root or relative to `related`.
    pub name: &'a [u16],
    pub disposition: u32,
    pub options: u32,
    pub desired_access: u32,
    pub share_access: u32,
    pub file_attributes: u32,
}

/// An open made by [`create`], and the IRP's `Information`.
pub struct Created {
    pub ccb: Ccb,
    pub information: u64,
}

fn check_request(req: &CreateRequest) -> Result<(), NtStatus> {
    if req.disposition > FILE_OVERWRITE_IF {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let dir = req.options & FILE_DIRECTORY_FILE != 0;
    if dir && req.options & FILE_NON_DIRECTORY_FILE != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if dir && !matches!(req.disposition, FILE_CREATE | FILE_OPEN | FILE_OPEN_IF) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if req.options & FILE_DELETE_ON_CLOSE != 0
        && map_generic(req.desired_access) & access::DELETE == 0
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(())
}

/// Rights the file's mode and the volume allow (root's view: any write bit
/// makes a file writable, as for the owner of the Windows handle).
fn allowed(vol: &Volume, st: Option<&Stat>) -> u32 {
    let mut allowed = access::FILE_ALL_ACCESS;
    if vol.read_only {
        allowed &= !access::MODIFYING;
    }
    if let Some(st) = st {
        if st.st_mode & 0o222 == 0 && !is_dir(st) && !is_symlink(st) {
            allowed &= !access::WRITES_DATA;
        }
    }
    allowed
}

/// Grants `desired` (generic rights mapped; MAXIMUM_ALLOWED narrowed to
/// what is allowed) or fails as Windows does.
fn grant(vol: &Volume, desired: u32, st: Option<&Stat>) -> Result<u32, NtStatus> {
    let allowed = allowed(vol, st);
    let wanted = map_generic(desired);
    if desired & access::MAXIMUM_ALLOWED != 0 {
        return Ok(wanted & allowed);
    }
    let missing = wanted & !allowed;
    if missing == 0 {
        Ok(wanted)
    } else if vol.read_only && missing & access::MODIFYING != 0 {
        Err(NtStatus::MEDIA_WRITE_PROTECTED)
    } else {
        Err(NtStatus::ACCESS_DENIED)
    }
}

/// The open flags for a file of status `st` opened with `granted` rights.
/// FIFOs, sockets and devices open non-blocking: an open of a FIFO with
/// no writer would otherwise wait, holding the request.
fn open_flags(st: &Stat, granted: u32, options: u32) -> i32 {
    let special = if st.st_mode & uapi::S_IFMT == uapi::S_IFREG {
        0
    } else {
        uapi::O_NONBLOCK
    };
    if is_symlink(st) && options & FILE_OPEN_REPARSE_POINT != 0 {
        uapi::O_PATH | uapi::O_NOFOLLOW
    } else if is_dir(st) {
        uapi::O_RDONLY | uapi::O_DIRECTORY
    } else {
        data_mode(granted) | special
    }
}

/// O_RDWR for `rights` that change data, else O_RDONLY.
fn data_mode(rights: u32) -> i32 {
    if rights & access::WRITES_DATA != 0 {
        uapi::O_RDWR
    } else {
        uapi::O_RDONLY
    }
}

const O_ACCMODE: i32 = 3;

/// A descriptor that is closed unless it is handed on.
struct Opened {
    fd: i32,
    flags: i32,
}

impl Opened {
    fn open(path: &[u8], flags: i32) -> Result<Opened, NtStatus> {
        let fd = st_open(sys::openat(
            uapi::AT_FDCWD,
            path,
            flags | uapi::O_CLOEXEC,
            0,
        ))?;
        Ok(Opened { fd, flags })
    }

    /// The descriptor, no longer closed here.
    fn into_fd(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}

/// The quick way to an existing regular file or directory that FILE_OPEN
/// or FILE_OPEN_IF names exactly: one openat2 that follows no symlink
/// (O_NONBLOCK only keeps a FIFO from blocking; it does nothing to regular
/// files and directories), then fstat. None sends the request the careful
/// way: case-insensitive names, symlinks, other file types, any error.
fn open_exact(
    vol: &Volume,
    req: &CreateRequest,
    base: &[u8],
    components: &[&[u16]],
) -> Option<(Vec<u8>, Stat, Opened)> {
    if !matches!(req.disposition, FILE_OPEN | FILE_OPEN_IF) {
        return None;
    }
    let mut path = Vec::with_capacity(
        base.len() + components.iter().map(|c| 1 + 3 * c.len()).sum::<usize>() + 1,
    );
    path.extend_from_slice(base);
    for c in components {
        path.push(b'/');
        names::push_linux(&mut path, c).ok()?;
    }
    let flags = data_mode(map_generic(req.desired_access));
    // From the directory the name is relative to, held open by the volume
    // or the related open: a shorter walk. It cannot leave that directory:
    // components are never `.` or `..`, and no symlink is followed.
    let (dir_fd, relative_at) = match (req.related, components.is_empty()) {
        (_, true) => (uapi::AT_FDCWD, 0),
        (Some(r), false) if r.is_dir => (r.fd, base.len() + 1),
        (Some(_), false) => return None,
        (None, false) => (vol.root_fd(), base.len() + 1),
    };
    let how = uapi::OpenHow {
        flags: (flags | uapi::O_NOFOLLOW | uapi::O_NONBLOCK | uapi::O_CLOEXEC) as u64,
        mode: 0,
        resolve: uapi::RESOLVE_NO_SYMLINKS,
    };
    // With its NUL, the path goes to the kernel without a copy.
    path.push(0);
    let fd = sys::openat2(dir_fd, &path[relative_at..], &how);
    path.pop();
    let opened = Opened {
        fd: fd.ok()?,
        flags,
    };
    let st = sys::fstat(opened.fd).ok()?;
    let kind = st.st_mode & uapi::S_IFMT;
    (kind == uapi::S_IFREG || kind == uapi::S_IFDIR).then_some((path, st, opened))
}

fn st_open(r: Result<i32, Errno>) -> Result<i32, NtStatus> {
    nt(r)
}

/// Performs an IRP_MJ_CREATE.
pub fn create(vol: &Volume, req: &CreateRequest) -> Result<Created, NtStatus> {
    vol.check_mounted()?;
    vol.check_unlocked()?;
    check_request(req)?;
    let components = names::split_path(req.name)?;
    let (base, base_win): (&[u8], &[u16]) = match req.related {
        Some(r) => (&r.path, &r.win_path),
        None => (vol.root.as_bytes(), &[]),
    };
    let mut win_path = Vec::with_capacity(base_win.len() + req.name.len() + 1);
    win_path.extend_from_slice(base_win);
    for c in components.iter() {
        win_path.push(b'\\' as u16);
        win_path.extend_from_slice(c);
    }
    if win_path.is_empty() {
        win_path.push(b'\\' as u16);
    }

    let want_dir = req.options & FILE_DIRECTORY_FILE != 0;
    let (path, information, st, opened) = match open_exact(vol, req, base, &components) {
        Some((path, st, opened)) => (path, FILE_OPENED, st, Some(opened)),
        None if components.is_empty() => {
            // The directory itself (the root, or the related directory).
            let st = nt(lstat(base))?;
            if req.disposition == FILE_CREATE {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            (base.to_vec(), FILE_OPENED, st, None)
        }
        None => {
            let target = resolve::resolve(vol.root.as_bytes(), base, &components)?;
            let (path, information, st) = if target.exists {
                open_existing(vol, req, &target)?
            } else {
                create_new(vol, req, &target, want_dir)?
            };
            (path, information, st, None)
        }
    };

    // The creator of a new file gets the access it asked for, even with
    // FILE_ATTRIBUTE_READONLY.
    let mode_limits = (information != FILE_CREATED).then_some(&st);
    let granted = grant(vol, req.desired_access, mode_limits)?;
    if is_dir(&st) && req.options & FILE_NON_DIRECTORY_FILE != 0 {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    if !is_dir(&st) && want_dir && !(is_symlink(&st) && crate::linux::points_to_dir(&path)) {
        return Err(NtStatus::NOT_A_DIRECTORY);
    }
    if req.options & FILE_DELETE_ON_CLOSE != 0 && st.st_mode & 0o222 == 0 && !is_dir(&st) {
        return Err(NtStatus::CANNOT_DELETE);
    }
    let flags = open_flags(&st, granted, req.options);
    let opened = match opened {
        Some(o) if o.flags & O_ACCMODE == flags & O_ACCMODE && flags & uapi::O_PATH == 0 => o,
        _ => Opened::open(&path, flags)?,
    };
    let id = {
        let mut state = vol.state.lock();
        // Checked again now that a lock or dismount cannot come between.
        vol.check_mounted()?;
        vol.check_unlocked()?;
        let fcb = state.fcbs.entry(st.st_ino).or_default();
        let shared = if fcb.delete_pending {
            Err(NtStatus::DELETE_PENDING)
        } else {
            fcb.share.check(granted, req.share_access)
        };
        if let Err(e) = shared {
            if fcb.opens == 0 {
                state.fcbs.remove(&st.st_ino);
            }
            return Err(e);
        }
        fcb.share.add(granted, req.share_access);
        fcb.opens += 1;
        fcb.handles += 1;
        state.next_open += 1;
        state.next_open
    };
    let fd = opened.into_fd();
    Ok(Created {
        ccb: Ccb {
            id,
            ino: st.st_ino,
            path,
            win_path,
            fd,
            is_dir: is_dir(&st),
            access: granted,
            share: req.share_access,
            options: req.options,
            delete_on_close: req.options & FILE_DELETE_ON_CLOSE != 0,
            position: 0,
            scan: None,
            ea_position: 0,
            fixed_times: [None, None],
            modified: false,
            cleaned_up: false,
        },
        information,
    })
}

fn open_existing(
    vol: &Volume,
    req: &CreateRequest,
    target: &Resolved,
) -> Result<(Vec<u8>, u64, Stat), NtStatus> {
    let mut path = target.path();
    let mut st = match target.stat {
        Some(st) => st,
        None => nt(lstat(&path))?,
    };
    if is_symlink(&st) && req.options & FILE_OPEN_REPARSE_POINT == 0 {
        path = resolve::follow(vol.root.as_bytes(), path)?;
        st = lstat(&path).map_err(|_| NtStatus::OBJECT_NAME_NOT_FOUND)?;
    }
    if req.disposition == FILE_CREATE {
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    let information = match req.disposition {
        FILE_SUPERSEDE | FILE_OVERWRITE | FILE_OVERWRITE_IF => {
            if is_dir(&st) {
                return Err(NtStatus::FILE_IS_A_DIRECTORY);
            }
            vol.check_writable()?;
            if st.st_mode & 0o222 == 0 {
                return Err(NtStatus::ACCESS_DENIED);
            }
            if vol.state.lock().fcbs.get(&st.st_ino).is_some_and(|f| {
                f.share
                    .check(access::FILE_WRITE_DATA, req.share_access)
                    .is_err()
            }) {
                return Err(NtStatus::SHARING_VIOLATION);
            }
            // Non-blocking: a FIFO without a reader fails instead of waiting.
            let fd = st_open(sys::openat(
                uapi::AT_FDCWD,
                &path,
                uapi::O_WRONLY | uapi::O_TRUNC | uapi::O_NONBLOCK | uapi::O_CLOEXEC,
                0,
            ))?;
            let _ = sys::close(fd);
            vol.changed(&path, Action::Modified);
            if req.disposition == FILE_SUPERSEDE {
                FILE_SUPERSEDED
            } else {
                FILE_OVERWRITTEN
            }
        }
        _ => return Ok((path, FILE_OPENED, st)),
    };
    let st = nt(lstat(&path))?;
    Ok((path, information, st))
}

fn create_new(
    vol: &Volume,
    req: &CreateRequest,
    target: &Resolved,
    want_dir: bool,
) -> Result<(Vec<u8>, u64, Stat), NtStatus> {
    if matches!(req.disposition, FILE_OPEN | FILE_OVERWRITE) {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    vol.check_writable()?;
    let path = target.path();
    let read_only = req.file_attributes & attributes::READONLY != 0;
    if want_dir {
        nt(sys::mkdirat(uapi::AT_FDCWD, &path, 0o755))?;
    } else {
        let mode = if read_only { 0o444 } else { 0o644 };
        let fd = st_open(sys::openat(
            uapi::AT_FDCWD,
            &path,
            uapi::O_CREAT | uapi::O_EXCL | uapi::O_WRONLY | uapi::O_CLOEXEC,
            mode,
        ))?;
        let _ = sys::close(fd);
    }
    vol.changed(&path, Action::Added);
    let st = nt(lstat(&path))?;
    Ok((path, FILE_CREATED, st))
}
