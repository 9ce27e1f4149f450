//! IRP_MJ_QUERY_INFORMATION and IRP_MJ_SET_INFORMATION.
use alloc::vec::Vec;

use lkl::uapi::{self, Timespec};
use lkl::{sys, Errno};

use crate::access;
use crate::attributes;
use crate::beneath;
use crate::ccb::Ccb;
use crate::info::{facts_of_open, write_times, FileFacts};
use crate::layout::Out;
use crate::linux::{fchmod, fstat, futimens, nt};
use crate::names;
use crate::resolve;
use crate::status::{Completion, NtStatus};
use crate::time::to_linux;
use crate::volume::{Action, Volume};

pub const FILE_BASIC_INFORMATION: u32 = 4;
pub const FILE_STANDARD_INFORMATION: u32 = 5;
pub const FILE_INTERNAL_INFORMATION: u32 = 6;
pub const FILE_EA_INFORMATION: u32 = 7;
pub const FILE_ACCESS_INFORMATION: u32 = 8;
pub const FILE_NAME_INFORMATION: u32 = 9;
pub const FILE_RENAME_INFORMATION: u32 = 10;
pub const FILE_LINK_INFORMATION: u32 = 11;
pub const FILE_DISPOSITION_INFORMATION: u32 = 13;
pub const FILE_POSITION_INFORMATION: u32 = 14;
pub const FILE_MODE_INFORMATION: u32 = 16;
pub const FILE_ALIGNMENT_INFORMATION: u32 = 17;
pub const FILE_ALL_INFORMATION: u32 = 18;
pub const FILE_ALLOCATION_INFORMATION: u32 = 19;
pub const FILE_END_OF_FILE_INFORMATION: u32 = 20;
pub const FILE_STREAM_INFORMATION: u32 = 22;
pub const FILE_NETWORK_OPEN_INFORMATION: u32 = 34;
pub const FILE_ATTRIBUTE_TAG_INFORMATION: u32 = 35;
pub const FILE_NORMALIZED_NAME_INFORMATION: u32 = 48;
pub const FILE_ID_INFORMATION: u32 = 59;
pub const FILE_DISPOSITION_INFORMATION_EX: u32 = 64;
pub const FILE_RENAME_INFORMATION_EX: u32 = 65;
pub const FILE_STAT_INFORMATION: u32 = 68;
pub const FILE_CASE_SENSITIVE_INFORMATION: u32 = 71;

pub const FILE_DISPOSITION_DELETE: u32 = 0x1;
pub const FILE_DISPOSITION_POSIX_SEMANTICS: u32 = 0x2;
pub const FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE: u32 = 0x10;
pub const FILE_RENAME_REPLACE_IF_EXISTS: u32 = 0x1;
pub const FILE_RENAME_POSIX_SEMANTICS: u32 = 0x2;
pub const FILE_RENAME_IGNORE_READONLY_ATTRIBUTE: u32 = 0x40;
pub const FILE_CS_FLAG_CASE_SENSITIVE_DIR: u32 = 0x1;

const FS_IOC_GETFLAGS: i64 = 0x8008_6601;
const FS_CASEFOLD_FL: u32 = 0x4000_0000;

/// Fixed sizes of the structures, as documented for x64.
fn min_size(class: u32) -> Option<usize> {
    Some(match class {
        FILE_BASIC_INFORMATION => 40,
        FILE_STANDARD_INFORMATION => 24,
        FILE_INTERNAL_INFORMATION => 8,
        FILE_EA_INFORMATION => 4,
        FILE_ACCESS_INFORMATION => 4,
        FILE_NAME_INFORMATION | FILE_NORMALIZED_NAME_INFORMATION => 4,
        FILE_POSITION_INFORMATION => 8,
        FILE_MODE_INFORMATION => 4,
        FILE_ALIGNMENT_INFORMATION => 4,
        FILE_ALL_INFORMATION => 100,
        FILE_STREAM_INFORMATION => 24,
        FILE_NETWORK_OPEN_INFORMATION => 56,
        FILE_ATTRIBUTE_TAG_INFORMATION => 8,
        FILE_ID_INFORMATION => 24,
        FILE_STAT_INFORMATION => 72,
        FILE_CASE_SENSITIVE_INFORMATION => 4,
        _ => return None,
    })
}

/// Facts about the open file itself, wherever its names are now.
fn file_facts(vol: &Volume, ccb: &Ccb) -> Result<FileFacts, NtStatus> {
    nt(facts_of_open(vol, ccb.fd, &ccb.path))
}

fn basic(o: &mut Out, at: usize, f: &FileFacts) {
    write_times(o, at, f);
    o.u32(at + 32, f.attributes);
}

fn standard(o: &mut Out, at: usize, f: &FileFacts, delete_pending: bool) {
    o.u64(at, f.allocation);
    o.u64(at + 8, f.size);
    o.u32(at + 16, f.links);
    o.u8(at + 20, delete_pending as u8);
    o.u8(at + 21, f.is_dir as u8);
}

/// FILE_NAME_INFORMATION at `at`: the full name, or as much as fits with
/// STATUS_BUFFER_OVERFLOW.
fn name_info(o: &mut Out, at: usize, name: &[u16]) -> Completion {
    o.u32(at, (name.len() * 2) as u32);
    let written = o.name(at + 4, name);
    let end = (at + 4 + written) as u64;
    if written < name.len() * 2 {
        Completion {
            status: NtStatus::BUFFER_OVERFLOW,
            information: end,
        }
    } else {
        Completion::ok(end)
    }
}

fn casefolded(ccb: &Ccb) -> bool {
    let mut flags: u32 = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int through the pointer.
    let ret = unsafe {
        sys::syscall(
            uapi::nr::IOCTL,
            [
                ccb.fd as i64,
                FS_IOC_GETFLAGS,
                sys::arg(&mut flags as *mut u32),
                0,
                0,
                0,
            ],
        )
    };
    ret == 0 && flags & FS_CASEFOLD_FL != 0
}

/// Answers a query for information class `class` into `out`.
pub fn query(vol: &Volume, ccb: &Ccb, class: u32, out: &mut [u8]) -> Completion {
    if let Err(e) = vol.check_mounted() {
        return e.into();
    }
    let Some(min) = min_size(class) else {
        return NtStatus::INVALID_INFO_CLASS.into();
    };
    if out.len() < min {
        return NtStatus::INFO_LENGTH_MISMATCH.into();
    }
    let f = match file_facts(vol, ccb) {
        Ok(f) => f,
        Err(e) => return e.into(),
    };
    let delete_pending = vol
        .state
        .lock()
        .fcbs
        .get(&ccb.ino)
        .is_some_and(|f| f.delete_pending);
    out[..min].fill(0);
    let mut o = Out::new(out);
    match class {
        FILE_BASIC_INFORMATION => basic(&mut o, 0, &f),
        FILE_STANDARD_INFORMATION => standard(&mut o, 0, &f, delete_pending),
        FILE_INTERNAL_INFORMATION => o.u64(0, f.ino),
        FILE_EA_INFORMATION => o.u32(0, crate::ea::ea_size(ccb.fd)),
        FILE_ACCESS_INFORMATION => o.u32(0, ccb.access),
        FILE_NAME_INFORMATION => return name_info(&mut o, 0, &ccb.current_win_path(vol)),
        FILE_NORMALIZED_NAME_INFORMATION => {
            return match ccb.current_path(vol) {
                Some(path) => name_info(&mut o, 0, &vol.windows_path(&path)),
                None => NtStatus::FILE_DELETED.into(),
            }
        }
        FILE_POSITION_INFORMATION => o.u64(0, ccb.position),
        FILE_MODE_INFORMATION => o.u32(0, ccb.options & 0x103E),
        FILE_ALIGNMENT_INFORMATION => o.u32(0, 0),
        FILE_ALL_INFORMATION => {
            basic(&mut o, 0, &f);
            standard(&mut o, 40, &f, delete_pending);
            o.u64(64, f.ino);
            o.u32(72, crate::ea::ea_size(ccb.fd));
            o.u32(76, ccb.access);
            o.u64(80, ccb.position);
            o.u32(88, ccb.options & 0x103E);
            o.u32(92, 0);
            return name_info(&mut o, 96, &ccb.current_win_path(vol));
        }
        FILE_STREAM_INFORMATION => {
            if f.is_dir {
                return Completion::ok(0);
            }
            let stream: Vec<u16> = "::$DATA".encode_utf16().collect();
            o.u32(0, 0);
            o.u32(4, (stream.len() * 2) as u32);
            o.u64(8, f.size);
            o.u64(16, f.allocation);
            let written = o.name(24, &stream);
            if written < stream.len() * 2 {
                return Completion {
                    status: NtStatus::BUFFER_OVERFLOW,
                    information: (24 + written) as u64,
                };
            }
            return Completion::ok((24 + written) as u64);
        }
        FILE_NETWORK_OPEN_INFORMATION => {
            write_times(&mut o, 0, &f);
            o.u64(32, f.allocation);
            o.u64(40, f.size);
            o.u32(48, f.attributes);
        }
        FILE_ATTRIBUTE_TAG_INFORMATION => {
            o.u32(0, f.attributes);
            o.u32(4, f.reparse_tag);
        }
        FILE_ID_INFORMATION => {
            o.u64(0, vol.serial());
            o.u64(8, f.ino);
            o.u64(16, 0);
        }
        FILE_STAT_INFORMATION => {
            o.u64(0, f.ino);
            write_times(&mut o, 8, &f);
            o.u64(40, f.allocation);
            o.u64(48, f.size);
            o.u32(56, f.attributes);
            o.u32(60, f.reparse_tag);
            o.u32(64, f.links);
            o.u32(68, ccb.access);
        }
        FILE_CASE_SENSITIVE_INFORMATION => {
            let sensitive = f.is_dir && !casefolded(ccb);
            o.u32(
                0,
                if sensitive {
                    FILE_CS_FLAG_CASE_SENSITIVE_DIR
                } else {
                    0
                },
            );
        }
        _ => return NtStatus::INVALID_INFO_CLASS.into(),
    }
    Completion::ok(min as u64)
}

/// A decoded IRP_MJ_SET_INFORMATION: [`SetRequest::decode`] makes one
/// from the buffer in its x64 layout.
#[derive(Debug, PartialEq, Eq)]
pub enum SetRequest {
    /// Times (0: leave alone, -1: freeze, -2: follow writes again) and
    /// attributes (0: leave alone).
    Basic {
        creation: i64,
        access: i64,
        write: i64,
        change: i64,
        attributes: u32,
    },
    EndOfFile(u64),
    Allocation(u64),
    Position(u64),
    /// FileDispositionInformation(Ex) flags.
    Disposition(u32),
    /// FileRenameInformation(Ex): the new name, relative to the open that
    /// `root_directory` names (a handle the Windows half resolves), or
    /// from the volume root when that is 0.
    Rename {
        flags: u32,
        root_directory: u64,
        name: Vec<u16>,
    },
    /// FileLinkInformation(Ex): a new name for the file, as for Rename
    /// (flags: FILE_LINK_*).
    Link {
        flags: u32,
        root_directory: u64,
        name: Vec<u16>,
    },
}

fn times_arg(t: i64) -> Timespec {
    if t == 0 || t == -1 {
        Timespec {
            tv_sec: 0,
            tv_nsec: uapi::UTIME_OMIT,
        }
    } else {
        let (sec, nsec) = to_linux(t);
        Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        }
    }
}

/// Times of FileBasicInformation: 0 leaves a time alone, -1 freezes it
/// for this open, -2 lets it follow writes again, others set and freeze.
fn set_times(ccb: &mut Ccb, access: i64, write: i64) -> Result<(), NtStatus> {
    let st = nt(fstat(ccb.fd))?;
    let current = [
        Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as i64,
        },
        Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as i64,
        },
    ];
    let mut changed = false;
    for (i, t) in [access, write].into_iter().enumerate() {
        match t {
            0 => {}
            -1 => ccb.fixed_times[i] = Some(current[i]),
            -2 => ccb.fixed_times[i] = None,
            t => {
                ccb.fixed_times[i] = Some(times_arg(t));
                changed = true;
            }
        }
    }
    if changed {
        keep_fixed_times(ccb)?;
    }
    Ok(())
}

/// Puts back the times this open froze, after it changed the file.
pub(crate) fn keep_fixed_times(ccb: &Ccb) -> Result<(), NtStatus> {
    if ccb.fixed_times == [None, None] {
        return Ok(());
    }
    let omit = Timespec {
        tv_sec: 0,
        tv_nsec: uapi::UTIME_OMIT,
    };
    let times = [
        ccb.fixed_times[0].unwrap_or(omit),
        ccb.fixed_times[1].unwrap_or(omit),
    ];
    nt(futimens(ccb.fd, &times))
}

fn require(ccb: &Ccb, right: u32) -> Result<(), NtStatus> {
    if ccb.access & right == right {
        Ok(())
    } else {
        Err(NtStatus::ACCESS_DENIED)
    }
}

/// Performs a set-information request; `root` is the open the request's
/// RootDirectory names, if it names one.
pub fn set(vol: &Volume, ccb: &mut Ccb, req: &SetRequest, root: Option<&Ccb>) -> Completion {
    match set_inner(vol, ccb, req, root) {
        Ok(()) => Completion::ok(0),
        Err(e) => e.into(),
    }
}

fn set_inner(
    vol: &Volume,
    ccb: &mut Ccb,
    req: &SetRequest,
    root: Option<&Ccb>,
) -> Result<(), NtStatus> {
    vol.check_mounted()?;
    if let SetRequest::Position(p) = req {
        ccb.position = *p;
        return Ok(());
    }
    vol.check_writable()?;
    let by_path = matches!(
        req,
        SetRequest::Disposition(_) | SetRequest::Rename { .. } | SetRequest::Link { .. }
    );
    // These work by path: the file's, wherever other opens moved it, and
    // no other name changes until they are done with it.
    let _names = by_path.then(|| vol.names_lock.lock());
    if by_path {
        ccb.refresh_path(vol)?;
    }
    match req {
        SetRequest::Basic {
            access: a,
            write: w,
            attributes: attrs,
            creation,
            change,
        } => {
            let (a, w, attrs) = (*a, *w, *attrs);
            require(ccb, access::FILE_WRITE_ATTRIBUTES)?;
            if [a, w, *creation, *change].iter().any(|&t| t < -2) {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            if attrs & attributes::DIRECTORY != 0 && !ccb.is_dir {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            set_times(ccb, a, w)?;
            ccb.modified = true;
            if attrs != 0 {
                let mode = nt(fstat(ccb.fd))?.st_mode;
                let new = if attrs & attributes::READONLY != 0 {
                    mode & !0o222
                } else if mode & 0o222 == 0 {
                    mode | 0o200
                } else {
                    mode
                };
                if new != mode {
                    nt(vol.changing_names(|| fchmod(ccb.fd, new & 0o7777)))?;
                }
            }
        }
        &SetRequest::EndOfFile(size) | &SetRequest::Allocation(size) => {
            if ccb.is_dir {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            require(ccb, access::FILE_WRITE_DATA)?;
            let current = nt(fstat(ccb.fd))?.st_size as u64;
            let allocation_only = matches!(req, SetRequest::Allocation(_));
            if !allocation_only || size < current {
                nt(sys::ftruncate(ccb.fd, size as i64))?;
                keep_fixed_times(ccb)?;
                ccb.modified = true;
            }
        }
        &SetRequest::Disposition(flags) => disposition(vol, ccb, flags)?,
        SetRequest::Rename { flags, name, .. } => {
            let target = target_name(vol, ccb, name, root);
            rename(vol, ccb, &target, *flags)?
        }
        SetRequest::Link { flags, name, .. } => {
            let target = target_name(vol, ccb, name, root);
            link(vol, ccb, &target, *flags)?
        }
        SetRequest::Position(_) => unreachable!("handled above"),
    }
    Ok(())
}

fn disposition(vol: &Volume, ccb: &mut Ccb, flags: u32) -> Result<(), NtStatus> {
    require(ccb, access::DELETE)?;
    let delete = flags & FILE_DISPOSITION_DELETE != 0;
    if delete {
        let mode = nt(fstat(ccb.fd))?.st_mode;
        if !ccb.is_dir
            && mode & 0o222 == 0
            && flags & FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE == 0
        {
            return Err(NtStatus::CANNOT_DELETE);
        }
        if ccb.is_dir && !nt(resolve::is_empty_dir(ccb.fd))? {
            return Err(NtStatus::DIRECTORY_NOT_EMPTY);
        }
        if flags & FILE_DISPOSITION_POSIX_SEMANTICS != 0 {
            // The name goes now; open handles keep working, as on Linux.
            let how = if ccb.is_dir { uapi::AT_REMOVEDIR } else { 0 };
            nt(vol.changing_names(|| beneath::unlink(vol, &ccb.path, how)))?;
            vol.changed(&ccb.path, Action::Removed);
            return Ok(());
        }
    }
    if let Some(fcb) = vol.state.lock().fcbs.get_mut(&ccb.ino) {
        fcb.delete_pending = delete;
    }
    ccb.delete_on_close = false;
    Ok(())
}

/// A file Windows shows as read-only (no write bit), which a rename or
/// link does not replace unless told to ignore that.
fn read_only(st: &lkl::uapi::Stat) -> bool {
    st.st_mode & 0o222 == 0 && !attributes::is_dir(st) && !attributes::is_symlink(st)
}

/// A rename or link target as a name from the volume root: relative to
/// `root` where it is now (the directory the I/O manager opened with
/// SL_OPEN_TARGET_DIRECTORY, or a RootDirectory handle); a bare name
/// without one is the open's sibling (a rename in place, which the I/O
/// manager sends with no target file object); else from the root.
fn target_name(vol: &Volume, ccb: &Ccb, name: &[u16], root: Option<&Ccb>) -> Vec<u16> {
    const BACKSLASH: u16 = b'\\' as u16;
    let under = |mut dir: Vec<u16>| {
        if dir.last() != Some(&BACKSLASH) {
            dir.push(BACKSLASH);
        }
        dir.extend_from_slice(name);
        dir
    };
    match root {
        Some(dir) => under(dir.current_win_path(vol)),
        None if !name.contains(&BACKSLASH) => {
            let own = ccb.current_win_path(vol);
            let parent = own.iter().rposition(|&c| c == BACKSLASH).unwrap_or(0);
            under(own[..parent.max(1)].to_vec())
        }
        None => name.to_vec(),
    }
}

/// Where a new name from the volume root leads.
fn target_of(vol: &Volume, target: &[u16]) -> Result<resolve::Resolved, NtStatus> {
    let parts = names::split_path(target)?;
    if parts.is_empty() {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    resolve::resolve(vol, vol.root.as_bytes(), &parts)
}

/// Whether an existing rename target `t` (at `path`) is the open's own
/// name, maybe in other case (a file system that ignores case finds it
/// under either spelling).
fn names_itself(ccb: &Ccb, t: &resolve::Resolved, path: &[u8]) -> bool {
    if path == ccb.path.as_slice() {
        return true;
    }
    let (own_parent, own_name) = match ccb.path.iter().rposition(|&c| c == b'/') {
        Some(i) => (&ccb.path[..i], &ccb.path[i + 1..]),
        None => return false,
    };
    own_parent == t.parent.as_slice()
        && names::eq_ignore_case(&names::to_windows(own_name), &names::to_windows(&t.name))
}

fn rename(vol: &Volume, ccb: &mut Ccb, target: &[u16], flags: u32) -> Result<(), NtStatus> {
    require(ccb, access::DELETE)?;
    // Windows does not move a directory while a file below it is open.
    if ccb.is_dir
        && vol
            .state
            .lock()
            .fcbs
            .values()
            .any(|f| f.open_below(&ccb.path))
    {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let t = target_of(vol, target)?;
    let mut new_path = resolve::join(&t.parent, &t.name);
    let itself = t.exists && names_itself(ccb, &t, &new_path);
    if itself {
        // The file itself, named in other case: it takes the caller's
        // spelling (a rename to the very same name changes nothing).
        let parts = names::split_path(target)?;
        let spelled = names::to_linux(parts.last().ok_or(NtStatus::OBJECT_NAME_INVALID)?)?;
        new_path = resolve::join(&t.parent, &spelled);
        if new_path == ccb.path {
            return Ok(());
        }
    } else if t.exists {
        if flags & FILE_RENAME_REPLACE_IF_EXISTS == 0 {
            return Err(NtStatus::OBJECT_NAME_COLLISION);
        }
        // Windows never replaces a directory, nor a file that is open
        // (unless POSIX semantics are asked for).
        let existing = nt(beneath::lstat(vol, &new_path))?;
        if attributes::is_dir(&existing) {
            return Err(NtStatus::ACCESS_DENIED);
        }
        if read_only(&existing) && flags & FILE_RENAME_IGNORE_READONLY_ATTRIBUTE == 0 {
            return Err(NtStatus::ACCESS_DENIED);
        }
        let open = vol
            .state
            .lock()
            .fcbs
            .get(&existing.st_ino)
            .is_some_and(|f| f.handles > 0);
        if open && flags & FILE_RENAME_POSIX_SEMANTICS == 0 {
            return Err(NtStatus::ACCESS_DENIED);
        }
    }
    // FAT's rename(2) takes a name that differs only in case for the
    // file's own and changes nothing: it goes by a name of its own first.
    let by_other_name = itself && vol.fstype() == "vfat";
    nt(vol.changing_names(|| {
        if by_other_name {
            let between = resolve::join(&t.parent, b".lklfsd-case-rename");
            beneath::rename(vol, &ccb.path, &between, uapi::RENAME_NOREPLACE)?;
            beneath::rename(vol, &between, &new_path, 0).inspect_err(|_| {
                let _ = beneath::rename(vol, &between, &ccb.path, 0);
            })
        } else {
            beneath::rename(vol, &ccb.path, &new_path, 0)
        }
    }))?;
    vol.changed(&ccb.path, Action::RenamedOldName);
    vol.changed(&new_path, Action::RenamedNewName);
    if let Some(fcb) = vol.state.lock().fcbs.get_mut(&ccb.ino) {
        fcb.opened_at(&new_path);
    }
    ccb.path = new_path;
    ccb.win_path = target.to_vec();
    Ok(())
}

fn link(vol: &Volume, ccb: &Ccb, target: &[u16], flags: u32) -> Result<(), NtStatus> {
    if ccb.is_dir {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    let t = target_of(vol, target)?;
    let new_path = resolve::join(&t.parent, &t.name);
    if t.exists {
        if flags & FILE_LINK_REPLACE_IF_EXISTS == 0 {
            return Err(NtStatus::OBJECT_NAME_COLLISION);
        }
        if read_only(&nt(beneath::lstat(vol, &new_path))?)
            && flags & FILE_LINK_IGNORE_READONLY_ATTRIBUTE == 0
        {
            return Err(NtStatus::ACCESS_DENIED);
        }
        nt(vol.changing_names(|| beneath::unlink(vol, &new_path, 0)))?;
    }
    match beneath::link(vol, &ccb.path, &new_path) {
        Ok(()) => {
            vol.changed(&new_path, Action::Added);
            Ok(())
        }
        Err(Errno::EMLINK) => Err(NtStatus::TOO_MANY_LINKS),
        Err(e) => nt(Err(e)),
    }
}

pub const FILE_LINK_INFORMATION_EX: u32 = 72;
pub const FILE_LINK_REPLACE_IF_EXISTS: u32 = 0x1;
pub const FILE_LINK_IGNORE_READONLY_ATTRIBUTE: u32 = 0x40;

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION: the flags (or
/// BOOLEAN) word, RootDirectory at 8, FileNameLength at 16, FileName at 20.
fn decode_name(input: &[u8]) -> Result<(u32, u64, Vec<u16>), NtStatus> {
    if input.len() < 24 {
        return Err(NtStatus::INFO_LENGTH_MISMATCH);
    }
    let len = le_u32(input, 16) as usize;
    if len == 0 || !len.is_multiple_of(2) || 20 + len > input.len() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let name = input[20..20 + len]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok((le_u32(input, 0), le_u64(input, 8), name))
}

impl SetRequest {
    /// Decodes the buffer of IRP_MJ_SET_INFORMATION for class `class`;
    /// short buffers give INFO_LENGTH_MISMATCH, malformed ones
    /// INVALID_PARAMETER, unknown classes INVALID_INFO_CLASS.
    pub fn decode(class: u32, input: &[u8]) -> Result<SetRequest, NtStatus> {
        let need = |n: usize| {
            if input.len() < n {
                Err(NtStatus::INFO_LENGTH_MISMATCH)
            } else {
                Ok(())
            }
        };
        Ok(match class {
            FILE_BASIC_INFORMATION => {
                need(40)?;
                SetRequest::Basic {
                    creation: le_u64(input, 0) as i64,
                    access: le_u64(input, 8) as i64,
                    write: le_u64(input, 16) as i64,
                    change: le_u64(input, 24) as i64,
                    attributes: le_u32(input, 32),
                }
            }
            FILE_END_OF_FILE_INFORMATION => {
                need(8)?;
                SetRequest::EndOfFile(le_u64(input, 0))
            }
            FILE_ALLOCATION_INFORMATION => {
                need(8)?;
                SetRequest::Allocation(le_u64(input, 0))
            }
            FILE_POSITION_INFORMATION => {
                need(8)?;
                SetRequest::Position(le_u64(input, 0))
            }
            FILE_DISPOSITION_INFORMATION => {
                need(1)?;
                SetRequest::Disposition(if input[0] != 0 {
                    FILE_DISPOSITION_DELETE
                } else {
                    0
                })
            }
            FILE_DISPOSITION_INFORMATION_EX => {
                need(4)?;
                SetRequest::Disposition(le_u32(input, 0))
            }
            FILE_RENAME_INFORMATION | FILE_RENAME_INFORMATION_EX => {
                let (word, root_directory, name) = decode_name(input)?;
                let flags = if class == FILE_RENAME_INFORMATION {
                    if word & 0xFF != 0 {
                        FILE_RENAME_REPLACE_IF_EXISTS
                    } else {
                        0
                    }
                } else {
                    word
                };
                SetRequest::Rename {
                    flags,
                    root_directory,
                    name,
                }
            }
            FILE_LINK_INFORMATION | FILE_LINK_INFORMATION_EX => {
                let (word, root_directory, name) = decode_name(input)?;
                let flags = if class == FILE_LINK_INFORMATION {
                    if word & 0xFF != 0 {
                        FILE_LINK_REPLACE_IF_EXISTS
                    } else {
                        0
                    }
                } else {
                    word
                };
                SetRequest::Link {
                    flags,
                    root_directory,
                    name,
                }
            }
            _ => return Err(NtStatus::INVALID_INFO_CLASS),
        })
    }
}
