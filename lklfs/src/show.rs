//! Commands that only read: ls, cat, stat, df.
use std::io::Write;
use std::path::Path;

use lkl::sys;
use lkl::uapi::{self, Stat};

use crate::error::{Context, Error};
use crate::fsops::{self, is_dir, lstat};
use crate::session::Session;

pub fn ls(s: &Session, path: &str, long: bool, all: bool) -> Result<(), Error> {
    let full = s.path(path);
    let st = lstat(&full).at(path)?;
    let mut out = std::io::stdout().lock();
    if !is_dir(&st) {
        let name = fsops::file_name(path).as_bytes();
        return print_entry(&mut out, full.as_bytes(), name, &st, long);
    }
    let mut names: Vec<Vec<u8>> = Vec::new();
    if all {
        names.extend([b".".to_vec(), b"..".to_vec()]);
    }
    for e in fsops::read_dir(full.as_bytes())? {
        if all || !e.name.starts_with(b".") {
            names.push(e.name);
        }
    }
    for name in names {
        let child = fsops::child(full.as_bytes(), &name);
        let st = lstat(&child).at(&fsops::shown(&name))?;
        print_entry(&mut out, &child, &name, &st, long)?;
    }
    Ok(())
}

/// One line of `ls`: the name as its bytes are (Linux names need not be
/// UTF-8), after the details with `long`.
fn print_entry(
    out: &mut dyn Write,
    full: &[u8],
    name: &[u8],
    st: &Stat,
    long: bool,
) -> Result<(), Error> {
    let mut line = Vec::new();
    if long {
        line.extend_from_slice(
            format!(
                "{} {:>3} {:>5} {:>5} {:>10} {} ",
                mode_string(st.st_mode),
                st.st_nlink,
                st.st_uid,
                st.st_gid,
                st.st_size,
                time_string(st.st_mtime)
            )
            .as_bytes(),
        );
    }
    line.extend_from_slice(name);
    if long && fsops::is_symlink(st) {
        let target = sys::readlinkat(uapi::AT_FDCWD, full).at(&fsops::shown(name))?;
        line.extend_from_slice(b" -> ");
        line.extend_from_slice(&target);
    }
    line.push(b'\n');
    out.write_all(&line).map_err(Error::output)
}

pub fn cat(s: &Session, path: &str) -> Result<(), Error> {
    let full = s.path(path);
    // Following symlinks, as the open will. A FIFO, socket or device in an
    // image has nothing to read (and a FIFO would wait forever).
    let st = sys::newfstatat(uapi::AT_FDCWD, &full, 0).at(path)?;
    if !is_dir(&st) && st.st_mode & uapi::S_IFMT != uapi::S_IFREG {
        return Err(Error::Msg(format!("{path}: not a regular file")));
    }
    let mut out = std::io::stdout().lock();
    fsops::copy_out(full.as_bytes(), &mut out, &mut |_| {})?;
    out.flush().map_err(Error::output)
}

pub fn stat(s: &Session, path: &str) -> Result<(), Error> {
    let st = lstat(s.path(path)).at(path)?;
    let kind = match st.st_mode & uapi::S_IFMT {
        uapi::S_IFDIR => "directory",
        uapi::S_IFLNK => "symbolic link",
        uapi::S_IFREG => "regular file",
        uapi::S_IFCHR => "character device",
        uapi::S_IFBLK => "block device",
        uapi::S_IFIFO => "fifo",
        _ => "socket",
    };
    let text = format!(
        "  File: {path}\n  Size: {:<12} Blocks: {:<10} {kind}\nInode: {:<12} Links: {}\n\
         Access: ({:04o}/{})  Uid: {}  Gid: {}\n\
         Access: {}.{:09}\nModify: {}.{:09}\nChange: {}.{:09}\n",
        st.st_size,
        st.st_blocks,
        st.st_ino,
        st.st_nlink,
        st.st_mode & 0o7777,
        mode_string(st.st_mode),
        st.st_uid,
        st.st_gid,
        time_string(st.st_atime),
        st.st_atime_nsec,
        time_string(st.st_mtime),
        st.st_mtime_nsec,
        time_string(st.st_ctime),
        st.st_ctime_nsec
    );
    write_out(text.as_bytes())
}

pub fn df(s: &Session, image: &Path) -> Result<(), Error> {
    let st = sys::statfs(s.path("/")).at(&image.display().to_string())?;
    let block = st.f_frsize.max(st.f_bsize) as u64;
    let size = st.f_blocks * block / 1024;
    let used = (st.f_blocks - st.f_bfree) * block / 1024;
    let avail = st.f_bavail * block / 1024;
    let pct = if size > 0 {
        (used * 100).div_ceil(size)
    } else {
        0
    };
    let text = format!(
        "Type   1K-blocks       Used  Available Use%   Inodes  IFree\n\
         {:<6} {size:>9} {used:>10} {avail:>10} {pct:>3}% {:>8} {:>6}\n",
        s.fstype(),
        st.f_files,
        st.f_ffree
    );
    write_out(text.as_bytes())
}

/// Writes `text` to standard output.
fn write_out(text: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .map_err(Error::output)
}

/// `drwxr-xr-x` style.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & uapi::S_IFMT {
        uapi::S_IFDIR => 'd',
        uapi::S_IFLNK => 'l',
        uapi::S_IFCHR => 'c',
        uapi::S_IFBLK => 'b',
        uapi::S_IFIFO => 'p',
        uapi::S_IFSOCK => 's',
        _ => '-',
    };
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// UTC `YYYY-MM-DD HH:MM:SS`.
pub fn time_string(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
