//! `lklfs mount`: the image's file system served through FUSE, every
//! request answered by the kernel's own file system code. FUSE inode
//! numbers are the file system's own (the root is 1); each maps to a path
//! in the kernel's tree, kept up to date across renames and removals.
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, FUSE_ROOT_ID,
};
use lkl::uapi::{self, Stat, Timespec, AT_FDCWD};
use lkl::{sys, Errno};

use crate::error::Error;
use crate::fsops::{self, lstat};
use crate::session::{Access, Session, INTERRUPTED};
use crate::timestamp::{from_system, to_system};
use crate::ImageOptions;

const TTL: Duration = Duration::from_secs(1);

struct LklFuse {
    root: String,
    root_ino: u64,
    /// Inodes to their paths in the kernel's tree (Linux names: bytes).
    paths: HashMap<u64, Vec<u8>>,
    /// Open directories: their entries, read at opendir.
    dirs: HashMap<u64, Vec<(u64, FileType, Vec<u8>)>>,
    next_dir: u64,
}

fn kind(mode: u32) -> FileType {
    match mode & uapi::S_IFMT {
        uapi::S_IFDIR => FileType::Directory,
        uapi::S_IFLNK => FileType::Symlink,
        uapi::S_IFCHR => FileType::CharDevice,
        uapi::S_IFBLK => FileType::BlockDevice,
        uapi::S_IFIFO => FileType::NamedPipe,
        uapi::S_IFSOCK => FileType::Socket,
        _ => FileType::RegularFile,
    }
}

fn timespec(t: TimeOrNow) -> Timespec {
    match t {
        TimeOrNow::Now => Timespec {
            tv_sec: 0,
            tv_nsec: uapi::UTIME_NOW,
        },
        TimeOrNow::SpecificTime(t) => {
            let (tv_sec, nsec) = from_system(t);
            Timespec {
                tv_sec,
                tv_nsec: nsec as i64,
            }
        }
    }
}

impl LklFuse {
    fn ino(&self, st: &Stat) -> u64 {
        if st.st_ino == self.root_ino {
            FUSE_ROOT_ID
        } else {
            st.st_ino
        }
    }

    fn attr(&self, st: &Stat) -> FileAttr {
        FileAttr {
            ino: self.ino(st),
            size: st.st_size as u64,
            blocks: st.st_blocks as u64,
            atime: to_system(st.st_atime, st.st_atime_nsec),
            mtime: to_system(st.st_mtime, st.st_mtime_nsec),
            ctime: to_system(st.st_ctime, st.st_ctime_nsec),
            crtime: UNIX_EPOCH,
            kind: kind(st.st_mode),
            perm: (st.st_mode & 0o7777) as u16,
            nlink: st.st_nlink,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev as u32,
            blksize: st.st_blksize as u32,
            flags: 0,
        }
    }

    fn path(&self, ino: u64) -> Result<&[u8], Errno> {
        self.paths.get(&ino).map(Vec::as_slice).ok_or(Errno::ESTALE)
    }

    fn child(&self, parent: u64, name: &OsStr) -> Result<Vec<u8>, Errno> {
        Ok(fsops::child(self.path(parent)?, name.as_bytes()))
    }

    /// Stats `path` and remembers it as the path of its inode.
    fn entry(&mut self, path: Vec<u8>) -> Result<FileAttr, Errno> {
        let st = lstat(&path)?;
        let attr = self.attr(&st);
        self.paths.insert(attr.ino, path);
        Ok(attr)
    }

    fn forget_path(&mut self, path: &[u8]) {
        self.paths.retain(|_, p| p != path);
    }

    /// After a rename: everything at or below `old` moves to `new`.
    fn moved(&mut self, old: &[u8], new: &[u8]) {
        let below = [old, b"/"].concat();
        for p in self.paths.values_mut() {
            if p == old {
                *p = new.to_vec();
            } else if let Some(rest) = p.strip_prefix(&below[..]) {
                *p = fsops::child(new, rest);
            }
        }
    }

    fn reply_entry(&mut self, path: Result<Vec<u8>, Errno>, reply: ReplyEntry) {
        match path.and_then(|p| self.entry(p)) {
            Ok(attr) => reply.entry(&TTL, &attr, 0),
            Err(e) => reply.error(e.0),
        }
    }
}

impl Filesystem for LklFuse {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let path = self.child(parent, name);
        self.reply_entry(path, reply);
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match self.path(ino).and_then(lstat) {
            Ok(st) => reply.attr(&TTL, &self.attr(&st)),
            Err(e) => reply.error(e.0),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let result = (|| {
            let path = self.path(ino)?.to_vec();
            if let Some(mode) = mode {
                sys::fchmodat(AT_FDCWD, &path, mode & 0o7777)?;
            }
            if uid.is_some() || gid.is_some() {
                let (u, g) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
                sys::fchownat(AT_FDCWD, &path, u, g, uapi::AT_SYMLINK_NOFOLLOW)?;
            }
            if let Some(size) = size {
                let fd = fsops::Fd::open(&path, uapi::O_WRONLY, 0)?;
                sys::ftruncate(fd.0, size as i64)?;
            }
            if atime.is_some() || mtime.is_some() {
                let omit = Timespec {
                    tv_sec: 0,
                    tv_nsec: uapi::UTIME_OMIT,
                };
                let times = [atime.map_or(omit, timespec), mtime.map_or(omit, timespec)];
                sys::utimensat(AT_FDCWD, &path, Some(&times), uapi::AT_SYMLINK_NOFOLLOW)?;
            }
            lstat(&path)
        })();
        match result {
            Ok(st) => reply.attr(&TTL, &self.attr(&st)),
            Err(e) => reply.error(e.0),
        }
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        match self.path(ino).and_then(|p| sys::readlinkat(AT_FDCWD, p)) {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(e.0),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let path = self
            .child(parent, name)
            .and_then(|p| sys::mkdirat(AT_FDCWD, &p, mode & 0o7777).map(|_| p));
        self.reply_entry(path, reply);
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        match self
            .child(parent, name)
            .and_then(|p| sys::unlinkat(AT_FDCWD, &p, 0).map(|_| p))
        {
            Ok(p) => {
                self.forget_path(&p);
                reply.ok()
            }
            Err(e) => reply.error(e.0),
        }
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let removed = self
            .child(parent, name)
            .and_then(|p| sys::unlinkat(AT_FDCWD, &p, uapi::AT_REMOVEDIR).map(|_| p));
        match removed {
            Ok(p) => {
                self.forget_path(&p);
                reply.ok()
            }
            Err(e) => reply.error(e.0),
        }
    }

    fn symlink(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        link: &Path,
        reply: ReplyEntry,
    ) {
        let path = self
            .child(parent, name)
            .and_then(|p| sys::symlinkat(link.as_os_str().as_bytes(), AT_FDCWD, &p).map(|_| p));
        self.reply_entry(path, reply);
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let result = self.child(parent, name).and_then(|old| {
            let new = self.child(newparent, newname)?;
            sys::renameat2(AT_FDCWD, &old, AT_FDCWD, &new, flags)?;
            Ok((old, new))
        });
        match result {
            Ok((old, new)) => {
                self.forget_path(&new);
                self.moved(&old, &new);
                reply.ok()
            }
            Err(e) => reply.error(e.0),
        }
    }

    fn link(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        newparent: u64,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let path = self.path(ino).map(<[u8]>::to_vec).and_then(|old| {
            let new = self.child(newparent, newname)?;
            sys::linkat(AT_FDCWD, &old, AT_FDCWD, &new, 0)?;
            Ok(old)
        });
        self.reply_entry(path, reply);
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        match self
            .path(ino)
            .and_then(|p| sys::openat(AT_FDCWD, p, flags & !uapi::O_CREAT, 0))
        {
            Ok(fd) => reply.opened(fd as u64, 0),
            Err(e) => reply.error(e.0),
        }
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let created = self.child(parent, name).and_then(|p| {
            let fd = sys::openat(AT_FDCWD, &p, flags | uapi::O_CREAT, mode & 0o7777)?;
            match self.entry(p) {
                Ok(attr) => Ok((fd, attr)),
                Err(e) => {
                    let _ = sys::close(fd);
                    Err(e)
                }
            }
        });
        match created {
            Ok((fd, attr)) => reply.created(&TTL, &attr, 0, fd as u64, 0),
            Err(e) => reply.error(e.0),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let mut buf = vec![0u8; size as usize];
        match sys::pread64(fh as i32, &mut buf, offset) {
            Ok(n) => reply.data(&buf[..n]),
            Err(e) => reply.error(e.0),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        match sys::pwrite64(fh as i32, data, offset) {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e.0),
        }
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match sys::fsync(fh as i32) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e.0),
        }
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        match sys::close(fh as i32) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e.0),
        }
    }

    fn opendir(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        let listing = self.path(ino).map(<[u8]>::to_vec).and_then(|dir| {
            let entries = fsops::read_dir(&dir).map_err(|_| Errno::EIO)?;
            let mut out = vec![(ino, FileType::Directory, b".".to_vec())];
            out.push((FUSE_ROOT_ID, FileType::Directory, b"..".to_vec()));
            for e in entries {
                let st = lstat(fsops::child(&dir, &e.name))?;
                out.push((self.ino(&st), kind(st.st_mode), e.name));
            }
            Ok(out)
        });
        match listing {
            Ok(entries) => {
                self.next_dir += 1;
                self.dirs.insert(self.next_dir, entries);
                reply.opened(self.next_dir, 0)
            }
            Err(e) => reply.error(e.0),
        }
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let Some(entries) = self.dirs.get(&fh) else {
            return reply.error(Errno::EBADF.0);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, i as i64 + 1, *kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok()
    }

    fn releasedir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        reply: ReplyEmpty,
    ) {
        self.dirs.remove(&fh);
        reply.ok()
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        match sys::statfs(&self.root) {
            Ok(st) => reply.statfs(
                st.f_blocks,
                st.f_bfree,
                st.f_bavail,
                st.f_files,
                st.f_ffree,
                st.f_bsize as u32,
                st.f_namelen as u32,
                st.f_frsize as u32,
            ),
            Err(e) => reply.error(e.0),
        }
    }
}

/// Serves the image on `mountpoint` until it is unmounted (or Ctrl-C).
pub fn mount(opts: &ImageOptions, image: &Path, mountpoint: &Path) -> Result<(), Error> {
    let mut session = Session::open(image, opts, Access::Write)?;
    if !opts.ro {
        session.make_writable()?;
    }
    let root = session.path("/");
    let root_ino = lstat(&root).map_err(|e| Error::sys(&root, e))?.st_ino;
    let fs = LklFuse {
        root: root.clone(),
        root_ino,
        paths: HashMap::from([(FUSE_ROOT_ID, root.into_bytes())]),
        dirs: HashMap::new(),
        next_dir: 0,
    };
    let mut options = vec![
        MountOption::FSName(format!("lklfs:{}", image.display())),
        MountOption::Subtype(session.fstype().to_string()),
        MountOption::DefaultPermissions,
    ];
    options.push(if opts.ro {
        MountOption::RO
    } else {
        MountOption::RW
    });
    let background = fuser::spawn_mount2(fs, mountpoint, &options)
        .map_err(|e| Error::Msg(format!("{}: cannot mount: {e}", mountpoint.display())))?;
    eprintln!(
        "lklfs: {} mounted on {}; unmount with fusermount3 -u",
        image.display(),
        mountpoint.display()
    );
    while !background.guard.is_finished() && !INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Unmounts (if still mounted) and waits for the FUSE loop to end.
    drop(background);
    session.close()
}
