//! IRP_MJ_CREATE: opening and creating files and directories, with every
//! disposition, the create options that matter, access checks against the
//! file's mode and the volume, and share access between opens.
use alloc::vec::Vec;

use lkl::sys;
use lkl::uapi::{self, Stat};

use crate::access::{self, map_generic};
use crate::attributes::{self, is_dir, is_symlink};
use crate::beneath;
use crate::cache::Node;
use crate::ccb::Ccb;
use crate::fcb::{Fcb, FdKind};
use crate::linux::nt;
use crate::names;
use crate::permissions::{self, Caller};
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
    /// Who asks, when the volume checks permissions (see `permissions`);
    /// None: a trusted sender (kernel mode), or a volume that ignores
    /// them.
    pub caller: Option<&'a Caller>,
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
fn allowed(vol: &Volume, mode: Option<u32>) -> u32 {
    let mut allowed = access::FILE_ALL_ACCESS;
    if vol.read_only {
        allowed &= !access::MODIFYING;
    }
    if let Some(mode) = mode {
        if mode & 0o222 == 0 && !matches!(mode & uapi::S_IFMT, uapi::S_IFDIR | uapi::S_IFLNK) {
            allowed &= !access::WRITES_DATA;
        }
    }
    allowed
}

/// Grants `desired` (generic rights mapped; MAXIMUM_ALLOWED narrowed to
/// what is allowed) or fails as Windows does.
fn grant(vol: &Volume, desired: u32, mode: Option<u32>) -> Result<u32, NtStatus> {
    let allowed = allowed(vol, mode);
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

/// The open flags for a file of mode `mode` opened with `granted` rights.
/// FIFOs, sockets and devices open as a location only (O_PATH): their
/// data is never reached from Windows (see [`admit`]).
fn open_flags(mode: u32, granted: u32, options: u32) -> i32 {
    match mode & uapi::S_IFMT {
        uapi::S_IFLNK if options & FILE_OPEN_REPARSE_POINT != 0 => uapi::O_PATH | uapi::O_NOFOLLOW,
        uapi::S_IFDIR => uapi::O_RDONLY | uapi::O_DIRECTORY,
        uapi::S_IFREG => data_mode(granted),
        _ => uapi::O_PATH | uapi::O_NOFOLLOW,
    }
}

/// Whether a file of mode `mode` is a device node, FIFO or socket: a
/// door into the kernel rather than data (a device node in an image could
/// be `/dev/mem`), listed, stat'ed, renamed and deleted but never opened
/// for its data.
fn is_special(mode: u32) -> bool {
    !matches!(
        mode & uapi::S_IFMT,
        uapi::S_IFREG | uapi::S_IFDIR | uapi::S_IFLNK
    )
}

/// The rights granted and the open flags of an open of the file `node`
/// at `path`, or why it is refused.
fn admit(
    vol: &Volume,
    req: &CreateRequest,
    information: u64,
    node: &Node,
    path: &[u8],
) -> Result<(u32, i32), NtStatus> {
    let mode = node.mode;
    // The creator of a new file gets the access it asked for, even with
    // FILE_ATTRIBUTE_READONLY.
    let mode_limits = (information != FILE_CREATED).then_some(mode);
    let special = is_special(mode);
    // As WSL's special files answer Windows callers: "the file cannot be
    // accessed by the system", whatever their mode.
    let maximum = req.desired_access & access::MAXIMUM_ALLOWED != 0;
    if special && !maximum && map_generic(req.desired_access) & access::DATA != 0 {
        return Err(NtStatus::IO_REPARSE_TAG_NOT_HANDLED);
    }
    let mut granted = grant(vol, req.desired_access, mode_limits)?;
    if let Some(caller) = req.caller.filter(|_| information != FILE_CREATED) {
        granted = check_caller(vol, caller, granted, maximum, node, path)?;
    }
    if special {
        granted &= !access::DATA;
    }
    let kind = mode & uapi::S_IFMT;
    if kind == uapi::S_IFDIR && req.options & FILE_NON_DIRECTORY_FILE != 0 {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    if kind != uapi::S_IFDIR
        && req.options & FILE_DIRECTORY_FILE != 0
        && !(kind == uapi::S_IFLNK && beneath::points_to_dir(vol, path))
    {
        return Err(NtStatus::NOT_A_DIRECTORY);
    }
    if req.options & FILE_DELETE_ON_CLOSE != 0 && mode & 0o222 == 0 && kind != uapi::S_IFDIR {
        return Err(NtStatus::CANNOT_DELETE);
    }
    Ok((granted, open_flags(mode, granted, req.options)))
}

/// `granted` narrowed to what `caller` has on the file `node` at `path`
/// (see `permissions`), or ACCESS_DENIED; the directory's status is read
/// only for a DELETE the file's own rights do not give.
fn check_caller(
    vol: &Volume,
    caller: &Caller,
    granted: u32,
    maximum: bool,
    node: &Node,
    path: &[u8],
) -> Result<u32, NtStatus> {
    let st = node.stat();
    let needs_parent = granted & access::DELETE != 0 && caller.rights_on(&st) & access::DELETE == 0;
    let parent = needs_parent
        .then(|| beneath::lstat(vol, Volume::parent_of(path)).ok())
        .flatten();
    permissions::check(caller, granted, maximum, &st, parent.as_ref())
}

/// O_RDWR for `rights` that change data, else O_RDONLY.
fn data_mode(rights: u32) -> i32 {
    if rights & access::WRITES_DATA != 0 {
        uapi::O_RDWR
    } else {
        uapi::O_RDONLY
    }
}

/// A descriptor that is closed unless it is handed on.
struct Opened {
    fd: i32,
    flags: i32,
}

impl Opened {
    fn open(vol: &Volume, path: &[u8], flags: i32) -> Result<Opened, NtStatus> {
        let fd = nt(beneath::open(vol, path, flags, 0))?;
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

/// The kernel path of `components` under `base`, if every component has
/// one (the careful way reports the others).
fn exact_path(base: &[u8], components: &[&[u16]]) -> Option<Vec<u8>> {
    let mut path = Vec::with_capacity(
        base.len() + components.iter().map(|c| 1 + 3 * c.len()).sum::<usize>() + 1,
    );
    path.extend_from_slice(base);
    for c in components {
        path.push(b'/');
        names::push_linux(&mut path, c).ok()?;
    }
    Some(path)
}

/// An open added to its file's FCB: what its CCB is made from.
struct Added {
    id: u64,
    node: Node,
    /// The FCB's descriptor the open uses.
    fd: i32,
    granted: u32,
}

/// What the FCB cache can do for an open by an exact path.
enum Cached {
    /// The open, made without a system call (or refused).
    Opened(Result<Added, NtStatus>),
    /// Where the path leads, remembered in the generation looked up in;
    /// but no FCB holds the file the way the open needs.
    Known(Node),
    Unknown,
}

/// An open that makes no system call: `path` is remembered (see
/// [`crate::cache`]) in `generation`, still the current one, and its FCB
/// holds the file open the way this open needs.
fn open_cached(vol: &Volume, req: &CreateRequest, path: &[u8], generation: u64) -> Cached {
    if !matches!(req.disposition, FILE_OPEN | FILE_OPEN_IF) {
        return Cached::Unknown;
    }
    let mut state = vol.state.lock();
    if vol.names_generation() != Some(generation) {
        return Cached::Unknown;
    }
    let Some(node) = state.cache.lookup(path, generation) else {
        return Cached::Unknown;
    };
    let Some(fcb) = state.fcbs.get_mut(&node.ino) else {
        return Cached::Known(node);
    };
    let (granted, flags) = match admit(vol, req, FILE_OPENED, &node, path) {
        Ok(admitted) => admitted,
        Err(e) => return Cached::Opened(Err(e)),
    };
    let Some(fd) = fcb.fd(FdKind::of(flags)) else {
        return Cached::Known(node);
    };
    let added = vol
        .check_creates_allowed()
        .and_then(|()| fcb.add_open(granted, req.share_access));
    if added.is_ok() {
        fcb.opened_at(path);
    }
    Cached::Opened(added.map(|()| Added {
        id: state.new_open_id(),
        node,
        fd,
        granted,
    }))
}

/// The quick way to an existing regular file or directory that FILE_OPEN
/// or FILE_OPEN_IF names exactly: one openat2 of `path` that follows no
/// symlink (O_NONBLOCK only keeps a FIFO from blocking; it does nothing to
/// regular files and directories; a device node does not open at all on a
/// `nodev` mount), then fstat, unless the FCB cache knew
/// where the path leads (`known`, in `generation`) and no name changed
/// since. None sends the request the careful way: case-insensitive names,
/// symlinks, other file types, any error.
fn open_exact(
    vol: &Volume,
    req: &CreateRequest,
    base: &[u8],
    components: &[&[u16]],
    mut path: Vec<u8>,
    known: Option<Node>,
    generation: Option<u64>,
) -> Option<(Vec<u8>, Node, Opened)> {
    if !matches!(req.disposition, FILE_OPEN | FILE_OPEN_IF) {
        return None;
    }
    let flags = data_mode(map_generic(req.desired_access));
    // From the directory the name is relative to, held open by the volume
    // or the related open: a shorter walk (`.` for that directory itself).
    // It cannot leave that directory: components are never `.` or `..`,
    // no symlink is followed, and the walk is confined beneath it.
    let dir_fd = match req.related {
        Some(r) if r.is_dir => r.fd,
        Some(_) => return None,
        None => vol.root_fd(),
    };
    let how = uapi::OpenHow {
        flags: (flags | uapi::O_NOFOLLOW | uapi::O_NONBLOCK | uapi::O_CLOEXEC) as u64,
        mode: 0,
        resolve: uapi::RESOLVE_NO_SYMLINKS | beneath::CONFINED,
    };
    // With its NUL, the path goes to the kernel without a copy.
    path.push(0);
    let relative: &[u8] = if components.is_empty() {
        b".\0"
    } else {
        &path[base.len() + 1..]
    };
    let fd = sys::openat2(dir_fd, relative, &how);
    path.pop();
    let opened = Opened {
        fd: fd.ok()?,
        flags,
    };
    let node = match known.filter(|_| generation.is_some() && vol.names_generation() == generation)
    {
        Some(node) => node,
        None => Node::of(&sys::fstat(opened.fd).ok()?),
    };
    let kind = node.mode & uapi::S_IFMT;
    (kind == uapi::S_IFREG || kind == uapi::S_IFDIR).then_some((path, node, opened))
}

/// An IRP_MJ_CREATE with SL_OPEN_TARGET_DIRECTORY, the I/O manager's first
/// step of a rename or link: opens the directory the name's last
/// component is in (with the access asked for), and says whether that
/// component exists there (Information FILE_EXISTS or
/// FILE_DOES_NOT_EXIST). Returns the open and the last component, which
/// the caller leaves as the file object's name (FastFat's
/// FatOpenTargetDirectory does the same); SET_INFORMATION then takes the
/// new name from it.
pub fn open_target_directory(
    vol: &Volume,
    req: &CreateRequest,
) -> Result<(Created, Vec<u16>), NtStatus> {
    let components = names::split_path(req.name)?;
    let last = components
        .last()
        .ok_or(NtStatus::OBJECT_NAME_INVALID)?
        .to_vec();
    // The name up to its last separator: the directory (the root for
    // `\c`, the related directory itself for `c`).
    const BACKSLASH: u16 = b'\\' as u16;
    let name = match req.name {
        [rest @ .., BACKSLASH] if rest.len() > 1 => rest,
        name => name,
    };
    let dir_name: &[u16] = match name.iter().rposition(|&c| c == BACKSLASH) {
        Some(0) => &name[..1],
        Some(i) => &name[..i],
        None => &[],
    };
    let dir = create(
        vol,
        &CreateRequest {
            name: dir_name,
            disposition: FILE_OPEN,
            options: (req.options & !FILE_NON_DIRECTORY_FILE) | FILE_DIRECTORY_FILE,
            ..*req
        },
    )?;
    let exists = resolve::find(vol, &dir.ccb.path, &last)?.is_some();
    let information = if exists {
        FILE_EXISTS
    } else {
        FILE_DOES_NOT_EXIST
    };
    Ok((
        Created {
            ccb: dir.ccb,
            information,
        },
        last,
    ))
}

/// Performs an IRP_MJ_CREATE.
pub fn create(vol: &Volume, req: &CreateRequest) -> Result<Created, NtStatus> {
    vol.check_creates_allowed()?;
    let mut components = names::split_path(req.name)?;
    // `name::$DATA` is the file `name` itself, which must not be a
    // directory (a directory has no data stream).
    let data_stream;
    let req = if names::strip_default_stream(&mut components)? {
        data_stream = CreateRequest {
            options: req.options | FILE_NON_DIRECTORY_FILE,
            ..*req
        };
        &data_stream
    } else {
        req
    };
    check_request(req)?;
    // Read before any name is looked at: what is learnt from names is used
    // or kept only if no change of names came since (see `crate::cache`).
    let generation = vol.names_generation();
    let moved;
    let (base, base_win): (&[u8], &[u16]) = match req.related {
        Some(r) if r.path_is_current(vol) => (&r.path, &r.win_path),
        Some(r) => {
            // Another open moved the directory: names are relative to
            // where it is now.
            let path = r.moved_to(vol).ok_or(NtStatus::FILE_DELETED)?;
            moved = (vol.windows_path(&path), path);
            (&moved.1, &moved.0)
        }
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

    let Some(path) = exact_path(base, &components) else {
        return create_uncached(vol, req, generation, base, &components, None, win_path);
    };
    let cached = generation.map_or(Cached::Unknown, |g| open_cached(vol, req, &path, g));
    let known = match cached {
        Cached::Opened(added) => {
            return Ok(Created {
                ccb: new_ccb(req, added?, generation, path, win_path),
                information: FILE_OPENED,
            });
        }
        Cached::Known(node) => Some(node),
        Cached::Unknown => None,
    };
    create_uncached(
        vol,
        req,
        generation,
        base,
        &components,
        Some((path, known)),
        win_path,
    )
}

/// The file id of the existing file `req` names, if there is one, found
/// without opening it: what a host asks before the create decides share
/// access (Windows breaks a batch oplock on that file first, so that a
/// handle its holder was only keeping for later goes instead of
/// refusing the open). None for a new name, the volume or related
/// directory itself, or a name that does not resolve.
pub fn existing_id(vol: &Volume, req: &CreateRequest) -> Option<u64> {
    let mut components = names::split_path(req.name).ok()?;
    names::strip_default_stream(&mut components).ok()?;
    if components.is_empty() {
        return None;
    }
    let base = match req.related {
        Some(r) if r.path_is_current(vol) => r.path.clone(),
        Some(r) => r.moved_to(vol)?,
        None => vol.root.as_bytes().to_vec(),
    };
    let target = resolve::resolve(vol, &base, &components).ok()?;
    if !target.exists {
        return None;
    }
    let st = match target.stat {
        Some(st) => st,
        None => beneath::lstat(vol, &target.path()).ok()?,
    };
    Some(st.st_ino)
}

/// A create that goes to the kernel: `exact` is the kernel path of the
/// name as it is spelled, if it has one, with where it leads if the FCB
/// cache knew; `generation` the names generation read before `base` was.
fn create_uncached(
    vol: &Volume,
    req: &CreateRequest,
    generation: Option<u64>,
    base: &[u8],
    components: &[&[u16]],
    exact: Option<(Vec<u8>, Option<Node>)>,
    win_path: Vec<u16>,
) -> Result<Created, NtStatus> {
    let want_dir = req.options & FILE_DIRECTORY_FILE != 0;
    let found = exact
        .and_then(|(path, known)| open_exact(vol, req, base, components, path, known, generation));
    let exactly = found.is_some();
    let (path, information, node, opened) = match found {
        Some((path, node, opened)) => (path, FILE_OPENED, node, Some(opened)),
        None if components.is_empty() => {
            // The directory itself (the root, or the related directory).
            let st = nt(beneath::lstat(vol, base))?;
            if req.disposition == FILE_CREATE {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            (base.to_vec(), FILE_OPENED, Node::of(&st), None)
        }
        None => {
            let target = resolve::resolve(vol, base, components)?;
            if target.exists {
                let (path, information, st) = open_existing(vol, req, &target)?;
                (path, information, Node::of(&st), None)
            } else {
                let (path, information, st, opened) = create_new(vol, req, &target, want_dir)?;
                (path, information, Node::of(&st), opened)
            }
        }
    };
    let (granted, flags) = admit(vol, req, information, &node, &path)?;
    let kind = FdKind::of(flags);
    let keep_open = matches!(node.mode & uapi::S_IFMT, uapi::S_IFREG | uapi::S_IFDIR);
    // What was opened to learn the file serves if it is open the right
    // way and the FCB does not hold the file so already; if neither, the
    // file is opened and the FCB looked at again.
    let mut opened = opened.filter(|o| FdKind::of(o.flags) == kind);
    let (added, spare) = loop {
        let mut state = vol.state.lock();
        // Checked again now that a lock or dismount cannot come between.
        vol.check_creates_allowed()?;
        let fcb = state
            .fcbs
            .entry(node.ino)
            .or_insert_with(|| Fcb::new(generation, keep_open));
        let (fd, spare) = match (fcb.fd(kind), opened.take()) {
            (Some(fd), spare) => (fd, spare),
            (None, Some(o)) => {
                let fd = o.into_fd();
                fcb.fds[kind as usize] = Some(fd);
                (fd, None)
            }
            (None, None) => {
                state.forget_if_unused(node.ino);
                drop(state);
                opened = Some(Opened::open(vol, &path, flags)?);
                continue;
            }
        };
        if let Err(e) = fcb.add_open(granted, req.share_access) {
            state.forget_if_unused(node.ino);
            drop(state);
            return Err(e);
        }
        fcb.opened_at(&path);
        let id = state.new_open_id();
        if let Some(g) = generation.filter(|&g| exactly && vol.names_generation() == Some(g)) {
            state.cache.remember(&path, node, g);
        }
        let added = Added {
            id,
            node,
            fd,
            granted,
        };
        break (added, spare);
    };
    // Not needed after all: closed now that the state is unlocked.
    drop(spare);
    Ok(Created {
        ccb: new_ccb(req, added, generation, path, win_path),
        information,
    })
}

/// The CCB of `added`, an open made by `req` by `path`, looked up in names
/// `generation`.
fn new_ccb(
    req: &CreateRequest,
    added: Added,
    generation: Option<u64>,
    path: Vec<u8>,
    win_path: Vec<u16>,
) -> Ccb {
    Ccb {
        id: added.id,
        ino: added.node.ino,
        path,
        path_generation: generation,
        win_path,
        fd: added.fd,
        is_dir: added.node.mode & uapi::S_IFMT == uapi::S_IFDIR,
        access: added.granted,
        share: req.share_access,
        options: req.options,
        delete_on_close: req.options & FILE_DELETE_ON_CLOSE != 0,
        position: 0,
        scan: None,
        ea_position: 0,
        fixed_times: [None, None],
        modified: false,
        cleaned_up: false,
    }
}

fn open_existing(
    vol: &Volume,
    req: &CreateRequest,
    target: &Resolved,
) -> Result<(Vec<u8>, u64, Stat), NtStatus> {
    let mut path = target.path();
    let mut st = match target.stat {
        Some(st) => st,
        None => nt(beneath::lstat(vol, &path))?,
    };
    if is_symlink(&st) && req.options & FILE_OPEN_REPARSE_POINT == 0 {
        path = resolve::follow(vol, path)?;
        st = beneath::lstat(vol, &path).map_err(|_| NtStatus::OBJECT_NAME_NOT_FOUND)?;
    }
    if req.disposition == FILE_CREATE {
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    let information = match req.disposition {
        FILE_SUPERSEDE | FILE_OVERWRITE | FILE_OVERWRITE_IF => {
            if is_dir(&st) {
                return Err(NtStatus::FILE_IS_A_DIRECTORY);
            }
            if is_special(st.st_mode) {
                // Its data is never reached (see `admit`).
                return Err(NtStatus::IO_REPARSE_TAG_NOT_HANDLED);
            }
            vol.check_writable()?;
            if st.st_mode & 0o222 == 0 {
                return Err(NtStatus::ACCESS_DENIED);
            }
            // Everything that could refuse the open is asked before the
            // data goes: a refused open changes nothing.
            admit(vol, req, FILE_OVERWRITTEN, &Node::of(&st), &path)?;
            if let Some(f) = vol.state.lock().fcbs.get(&st.st_ino) {
                if f.delete_pending {
                    return Err(NtStatus::DELETE_PENDING);
                }
                if f.share
                    .check(access::FILE_WRITE_DATA, req.share_access)
                    .is_err()
                {
                    return Err(NtStatus::SHARING_VIOLATION);
                }
            }
            vol.may_empty(st.st_ino)?;
            // Non-blocking: a FIFO without a reader fails instead of waiting.
            let fd = nt(beneath::open(
                vol,
                &path,
                uapi::O_WRONLY | uapi::O_TRUNC | uapi::O_NONBLOCK,
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
    let st = nt(beneath::lstat(vol, &path))?;
    Ok((path, information, st))
}

/// Makes the file or directory `target` names. A file is created open the
/// way the request asks for its data (which serves the open if that is how
/// it is granted).
fn create_new(
    vol: &Volume,
    req: &CreateRequest,
    target: &Resolved,
    want_dir: bool,
) -> Result<(Vec<u8>, u64, Stat, Option<Opened>), NtStatus> {
    if matches!(req.disposition, FILE_OPEN | FILE_OVERWRITE) {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    vol.check_writable()?;
    if let Some(caller) = req.caller {
        // FILE_ADD_FILE or FILE_ADD_SUBDIRECTORY on the directory.
        let parent = nt(beneath::lstat(vol, &target.parent))?;
        if !permissions::may_add(caller, &parent, want_dir) {
            return Err(NtStatus::ACCESS_DENIED);
        }
    }
    let path = target.path();
    if want_dir {
        nt(beneath::mkdir(vol, &path, 0o755))?;
        vol.changed(&path, Action::Added);
        if owner_of_new(req).is_some() {
            let dir = nt(beneath::open(
                vol,
                &path,
                uapi::O_PATH | uapi::O_DIRECTORY,
                0,
            ))?;
            let owned = owned_by_caller(req, dir);
            let _ = sys::close(dir);
            owned?;
        }
        let st = nt(beneath::lstat(vol, &path))?;
        return Ok((path, FILE_CREATED, st, None));
    }
    let read_only = req.file_attributes & attributes::READONLY != 0;
    let mode = if read_only { 0o444 } else { 0o644 };
    let flags = data_mode(map_generic(req.desired_access));
    let fd = nt(beneath::open(
        vol,
        &path,
        uapi::O_CREAT | uapi::O_EXCL | flags,
        mode,
    ))?;
    let opened = Opened { fd, flags };
    vol.changed(&path, Action::Added);
    owned_by_caller(req, opened.fd)?;
    let st = nt(sys::fstat(opened.fd))?;
    Ok((path, FILE_CREATED, st, Some(opened)))
}

/// The owner and group a file made by `req` gets: the caller's uid, if
/// it maps to one, and its first gid (its uid where it has none, as a
/// Linux user's private group); None leaves the kernel's (root's).
fn owner_of_new(req: &CreateRequest) -> Option<(u32, u32)> {
    let caller = req.caller?;
    let uid = caller.uid?;
    Some((uid, caller.gids.first().copied().unwrap_or(uid)))
}

/// The file just made, open as `fd` (O_PATH too), belongs to the caller
/// who made it (see [`owner_of_new`]), as on Linux.
fn owned_by_caller(req: &CreateRequest, fd: i32) -> Result<(), NtStatus> {
    match owner_of_new(req) {
        Some((uid, gid)) => nt(sys::fchownat(fd, "", uid, gid, uapi::AT_EMPTY_PATH)),
        None => Ok(()),
    }
}
