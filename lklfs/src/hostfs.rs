//! The host side of a copy: what lklfs needs from the host's files that
//! differs between Unix and Windows (mode, owner, hard-link identity,
//! symbolic links). On Windows, modes are synthesized from the file type
//! and the read-only attribute, and owners are left to the image's defaults.
use lkl::uapi::Stat;
use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::Path;

use crate::timestamp::{from_system, to_system};

/// The file's Linux mode bits (type and permissions).
#[cfg(unix)]
pub fn mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    meta.mode()
}

/// The file's Linux mode bits: directories 0755, files 0644 (0444 when
/// read-only), links 0777.
#[cfg(windows)]
pub fn mode(meta: &fs::Metadata) -> u32 {
    use lkl::uapi::{S_IFDIR, S_IFLNK, S_IFREG};
    let kind = meta.file_type();
    if kind.is_symlink() {
        S_IFLNK | 0o777
    } else if kind.is_dir() {
        S_IFDIR | 0o755
    } else if meta.permissions().readonly() {
        S_IFREG | 0o444
    } else {
        S_IFREG | 0o644
    }
}

/// Identifies a file with several hard links, so that copying it twice
/// makes a link instead of a second copy.
#[cfg(unix)]
pub fn link_key(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink() > 1).then(|| (meta.dev(), meta.ino()))
}

/// Windows' link count and file index are not in stable std: every file is
/// copied on its own.
#[cfg(windows)]
pub fn link_key(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The host file's attributes as a Linux `stat`, for `cp -p`.
pub fn stat(meta: &fs::Metadata) -> Stat {
    let (atime, atime_nsec) = meta.accessed().map_or((0, 0), from_system);
    let (mtime, mtime_nsec) = meta.modified().map_or((0, 0), from_system);
    let (uid, gid) = owner(meta);
    Stat {
        st_mode: mode(meta),
        st_uid: uid,
        st_gid: gid,
        st_atime: atime,
        st_atime_nsec: atime_nsec,
        st_mtime: mtime,
        st_mtime_nsec: mtime_nsec,
        ..Stat::default()
    }
}

#[cfg(unix)]
fn owner(meta: &fs::Metadata) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    (meta.uid(), meta.gid())
}

/// Windows owners have no Linux ids: files become root's.
#[cfg(windows)]
fn owner(_meta: &fs::Metadata) -> (u32, u32) {
    (0, 0)
}

/// The text of the host symbolic link at `path`, as Linux spells it.
#[cfg(unix)]
pub fn read_link(path: &Path) -> io::Result<Vec<u8>> {
    Ok(fs::read_link(path)?.into_os_string().into_encoded_bytes())
}

/// The text of the host symbolic link at `path`, as Linux spells it:
/// Windows' separators become `/`.
#[cfg(windows)]
pub fn read_link(path: &Path) -> io::Result<Vec<u8>> {
    let text = fs::read_link(path)?.to_string_lossy().replace('\\', "/");
    Ok(text.into_bytes())
}

/// A host file name as a Linux name: the same bytes on Unix.
#[cfg(unix)]
pub fn name_bytes(name: &OsStr) -> Cow<'_, [u8]> {
    Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(name))
}

/// A host file name as a Linux name: UTF-8 on Windows.
#[cfg(windows)]
pub fn name_bytes(name: &OsStr) -> Cow<'_, [u8]> {
    Cow::Owned(name.to_string_lossy().into_owned().into_bytes())
}

/// The host name for Linux name `name`: the same bytes on Unix.
#[cfg(unix)]
pub fn host_name(name: &[u8]) -> OsString {
    <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name).to_os_string()
}

/// The host name for Linux name `name`: on Windows, its UTF-8 (bytes that
/// are not become U+FFFD).
#[cfg(windows)]
pub fn host_name(name: &[u8]) -> OsString {
    OsString::from(String::from_utf8_lossy(name).into_owned())
}

/// Makes a symbolic link at `path` whose text is `target`.
#[cfg(unix)]
pub fn symlink(target: &[u8], path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(host_name(target), path)
}

/// Makes a symbolic link at `path` whose text is `target`, with Linux's
/// slashes turned into Windows' separators. Some hosts (Wine 8) report
/// success without making the link: that is an error, not a lost file.
#[cfg(windows)]
pub fn symlink(target: &[u8], path: &Path) -> io::Result<()> {
    let target = String::from_utf8_lossy(target).replace('/', "\\");
    let resolved = path.parent().unwrap_or(Path::new(".")).join(&target);
    if resolved.is_dir() {
        std::os::windows::fs::symlink_dir(&target, path)?;
    } else {
        std::os::windows::fs::symlink_file(&target, path)?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this system does not make symbolic links",
        )),
    }
}

/// Gives a host file the image file's mode, owner (where allowed) and
/// times, as `cp -p` does.
pub fn set_attributes(path: &Path, st: &Stat) -> io::Result<()> {
    let times = fs::FileTimes::new()
        .set_accessed(to_system(st.st_atime, st.st_atime_nsec))
        .set_modified(to_system(st.st_mtime, st.st_mtime_nsec));
    set_owner_and_mode(path, st)?;
    open_for_times(path)?.set_times(times)
}

#[cfg(unix)]
fn set_owner_and_mode(path: &Path, st: &Stat) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Not root: the files stay the user's, as cp -p does.
    let _ = std::os::unix::fs::chown(path, Some(st.st_uid), Some(st.st_gid));
    fs::set_permissions(path, fs::Permissions::from_mode(st.st_mode & 0o7777))
}

/// Windows keeps one bit of the mode: no write permission for the owner
/// makes the file read-only.
#[cfg(windows)]
fn set_owner_and_mode(path: &Path, st: &Stat) -> io::Result<()> {
    let mut perms = fs::metadata(path)?.permissions();
    perms.set_readonly(st.st_mode & 0o200 == 0);
    fs::set_permissions(path, perms)
}

#[cfg(unix)]
fn open_for_times(path: &Path) -> io::Result<fs::File> {
    fs::File::open(path)
}

/// Times need attribute-write access, which read-only files still grant;
/// directories open only with backup semantics.
#[cfg(windows)]
fn open_for_times(path: &Path) -> io::Result<fs::File> {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    fs::OpenOptions::new()
        .access_mode(FILE_WRITE_ATTRIBUTES)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
}

/// Gives a host symbolic link the image link's owner (where allowed) and
/// times, on the link itself, as `cp -p` does (a link has no mode of its
/// own to set).
#[cfg(unix)]
pub fn set_link_attributes(path: &Path, st: &Stat) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    // Not root: the link stays the user's, as cp -p does.
    let _ = std::os::unix::fs::lchown(path, Some(st.st_uid), Some(st.st_gid));
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    let time = |sec: i64, nsec: u64| libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec as i64,
    };
    let times = [
        time(st.st_atime, st.st_atime_nsec),
        time(st.st_mtime, st.st_mtime_nsec),
    ];
    // SAFETY: a NUL-terminated path and two timespecs, alive for the call.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Gives a host symbolic link the image link's times, on the link itself
/// (opened as a reparse point, not followed).
#[cfg(windows)]
pub fn set_link_attributes(path: &Path, st: &Stat) -> io::Result<()> {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    let times = fs::FileTimes::new()
        .set_accessed(to_system(st.st_atime, st.st_atime_nsec))
        .set_modified(to_system(st.st_mtime, st.st_mtime_nsec));
    fs::OpenOptions::new()
        .access_mode(FILE_WRITE_ATTRIBUTES)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)?
        .set_times(times)
}
