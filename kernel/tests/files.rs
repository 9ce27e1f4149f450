//! File operations on the RAM root, checked through other system calls,
//! and bad input.
mod common;

use common::{kernel, test_dir};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Config, Errno, Kernel};

fn write_file(path: &str, data: &[u8], mode: u32) {
    let fd = sys::openat(
        AT_FDCWD,
        path,
        uapi::O_WRONLY | uapi::O_CREAT | uapi::O_EXCL,
        mode,
    )
    .unwrap();
    assert_eq!(sys::write(fd, data).unwrap(), data.len());
    sys::close(fd).unwrap();
}

fn names(dir: &str) -> Vec<(String, u8)> {
    let fd = sys::openat(AT_FDCWD, dir, uapi::O_RDONLY | uapi::O_DIRECTORY, 0).unwrap();
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::new();
    loop {
        let n = sys::getdents64(fd, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend(sys::dirents(&buf[..n]).map(|e| (String::from_utf8(e.name).unwrap(), e.kind)));
    }
    sys::close(fd).unwrap();
    out.retain(|(n, _)| n != "." && n != "..");
    out.sort();
    out
}

#[test]
fn write_read_back_and_stat() {
    let dir = test_dir("rw");
    let path = format!("{dir}/data");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write_file(&path, &data, 0o640);

    let fd = sys::openat(AT_FDCWD, &path, uapi::O_RDWR, 0).unwrap();
    let mut back = vec![0u8; data.len() + 10];
    let mut got = 0;
    while got < back.len() {
        let n = sys::read(fd, &mut back[got..]).unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    assert_eq!(got, data.len());
    assert_eq!(&back[..got], &data[..]);

    assert_eq!(sys::pwrite64(fd, b"XYZ", 5000).unwrap(), 3);
    let mut three = [0u8; 3];
    assert_eq!(sys::pread64(fd, &mut three, 5000).unwrap(), 3);
    assert_eq!(&three, b"XYZ");
    assert_eq!(
        sys::lseek(fd, 0, uapi::SEEK_END).unwrap(),
        data.len() as u64
    );

    let st = sys::fstat(fd).unwrap();
    assert_eq!(st.st_size, data.len() as i64);
    assert_eq!(st.st_mode & uapi::S_IFMT, uapi::S_IFREG);
    assert_eq!(st.st_mode & 0o777, 0o640);
    assert_eq!(st.st_nlink, 1);
    assert_eq!(st.st_uid, 0);

    let stx = sys::statx(AT_FDCWD, &path, 0, uapi::STATX_BASIC_STATS).unwrap();
    assert_eq!(stx.stx_size, data.len() as u64);
    assert_eq!(stx.stx_ino, st.st_ino);
    assert_eq!(stx.stx_mode as u32, st.st_mode);
    assert_eq!(stx.stx_mtime.tv_sec, st.st_mtime);

    sys::ftruncate(fd, 10).unwrap();
    assert_eq!(sys::fstat(fd).unwrap().st_size, 10);
    sys::fsync(fd).unwrap();
    sys::close(fd).unwrap();

    let times = [
        uapi::Timespec {
            tv_sec: 1_000_000_000,
            tv_nsec: 5,
        },
        uapi::Timespec {
            tv_sec: 1_234_567_890,
            tv_nsec: 123_456_789,
        },
    ];
    sys::utimensat(AT_FDCWD, &path, Some(&times), 0).unwrap();
    let st = sys::newfstatat(AT_FDCWD, &path, 0).unwrap();
    assert_eq!((st.st_atime, st.st_atime_nsec), (1_000_000_000, 5));
    assert_eq!(
        (st.st_mtime, st.st_mtime_nsec),
        (1_234_567_890, 123_456_789)
    );

    sys::fchmodat(AT_FDCWD, &path, 0o600).unwrap();
    sys::fchownat(AT_FDCWD, &path, 1000, 100, 0).unwrap();
    let st = sys::newfstatat(AT_FDCWD, &path, 0).unwrap();
    assert_eq!(
        (st.st_mode & 0o777, st.st_uid, st.st_gid),
        (0o600, 1000, 100)
    );
}

#[test]
fn rename_link_symlink_unlink() {
    let dir = test_dir("names");
    write_file(&format!("{dir}/a"), b"alpha", 0o644);
    sys::renameat2(
        AT_FDCWD,
        format!("{dir}/a"),
        AT_FDCWD,
        format!("{dir}/b"),
        0,
    )
    .unwrap();
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{dir}/a"), 0).err(),
        Some(Errno::ENOENT)
    );
    sys::linkat(
        AT_FDCWD,
        format!("{dir}/b"),
        AT_FDCWD,
        format!("{dir}/c"),
        0,
    )
    .unwrap();
    let b = sys::newfstatat(AT_FDCWD, format!("{dir}/b"), 0).unwrap();
    let c = sys::newfstatat(AT_FDCWD, format!("{dir}/c"), 0).unwrap();
    assert_eq!(b.st_ino, c.st_ino);
    assert_eq!(b.st_nlink, 2);

    sys::symlinkat("b", AT_FDCWD, format!("{dir}/s")).unwrap();
    assert_eq!(sys::readlinkat(AT_FDCWD, format!("{dir}/s")).unwrap(), b"b");
    let s = sys::newfstatat(AT_FDCWD, format!("{dir}/s"), uapi::AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!(s.st_mode & uapi::S_IFMT, uapi::S_IFLNK);
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{dir}/s"), 0)
            .unwrap()
            .st_ino,
        b.st_ino
    );

    sys::mkdirat(AT_FDCWD, format!("{dir}/d"), 0o750).unwrap();
    assert_eq!(
        names(&dir),
        vec![
            ("b".into(), uapi::DT_REG),
            ("c".into(), uapi::DT_REG),
            ("d".into(), uapi::DT_DIR),
            ("s".into(), uapi::DT_LNK),
        ]
    );
    assert_eq!(
        sys::renameat2(
            AT_FDCWD,
            format!("{dir}/b"),
            AT_FDCWD,
            format!("{dir}/c"),
            uapi::RENAME_NOREPLACE
        )
        .err(),
        Some(Errno::EEXIST)
    );
    write_file(&format!("{dir}/d/inner"), b"x", 0o644);
    assert_eq!(
        sys::unlinkat(AT_FDCWD, format!("{dir}/d"), uapi::AT_REMOVEDIR).err(),
        Some(Errno::ENOTEMPTY)
    );
    sys::unlinkat(AT_FDCWD, format!("{dir}/d/inner"), 0).unwrap();
    sys::unlinkat(AT_FDCWD, format!("{dir}/d"), uapi::AT_REMOVEDIR).unwrap();
    sys::unlinkat(AT_FDCWD, format!("{dir}/b"), 0).unwrap();
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{dir}/c"), 0)
            .unwrap()
            .st_nlink,
        1
    );
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{dir}/s"), 0).err(),
        Some(Errno::ENOENT),
        "dangling symlink"
    );
    sys::unlinkat(AT_FDCWD, format!("{dir}/s"), 0).unwrap();
    assert_eq!(names(&dir), vec![("c".into(), uapi::DT_REG)]);
}

#[test]
fn getdents_lists_exactly_what_was_made() {
    let dir = test_dir("many");
    let mut made: Vec<(String, u8)> = (0..300)
        .map(|i| (format!("file-{i:04}"), uapi::DT_REG))
        .collect();
    for (name, _) in &made {
        write_file(&format!("{dir}/{name}"), name.as_bytes(), 0o644);
    }
    for i in 0..20 {
        let name = format!("dir-{i}");
        sys::mkdirat(AT_FDCWD, format!("{dir}/{name}"), 0o755).unwrap();
        made.push((name, uapi::DT_DIR));
    }
    made.sort();
    assert_eq!(names(&dir), made);
}

#[test]
fn chdir_and_statfs() {
    let dir = test_dir("cwd");
    sys::chdir(&dir).unwrap();
    write_file("relative", b"r", 0o644);
    sys::chdir("/").unwrap();
    assert_eq!(
        sys::newfstatat(AT_FDCWD, format!("{dir}/relative"), 0)
            .unwrap()
            .st_size,
        1
    );
    let st = sys::statfs("/").unwrap();
    assert_eq!(st.f_type, 0x858458f6, "ramfs magic");
    assert_eq!(st.f_bsize, 4096);
}

#[test]
fn bad_input_gets_errors() {
    kernel();
    let mut buf = [0u8; 16];
    assert_eq!(sys::read(9999, &mut buf).err(), Some(Errno::EBADF));
    assert_eq!(sys::close(-1).err(), Some(Errno::EBADF));
    assert_eq!(sys::fstat(12345).err(), Some(Errno::EBADF));
    assert_eq!(
        sys::openat(AT_FDCWD, "/no/such/file", uapi::O_RDONLY, 0).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(sys::chdir("/missing").err(), Some(Errno::ENOENT));
    assert_eq!(
        sys::mkdirat(AT_FDCWD, "/proc", 0o755).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        sys::openat(AT_FDCWD, "a\0b", 0, 0).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        sys::openat(AT_FDCWD, "/proc\0/x\0", 0, 0).err(),
        Some(Errno::EINVAL)
    );
    // A path that ends in its NUL is taken as the C string it is.
    let fd = sys::openat(AT_FDCWD, "/proc/meminfo\0", uapi::O_RDONLY, 0).unwrap();
    assert!(sys::read(fd, &mut buf).unwrap() > 0);
    sys::close(fd).unwrap();
    // A pointer the kernel cannot use: EFAULT, not a crash.
    // SAFETY: the kernel validates a NULL path pointer itself.
    let ret = unsafe { sys::syscall(uapi::nr::OPENAT, [AT_FDCWD as i64, 0, 0, 0, 0, 0]) };
    assert_eq!(ret, -(Errno::EFAULT.0 as i64));
    // SAFETY: an out-of-range system call number touches nothing.
    assert_eq!(
        unsafe { sys::syscall(100_000, [0; 6]) },
        -(Errno::ENOSYS.0 as i64)
    );
    assert_eq!(
        Kernel::boot(&Config::default()).err(),
        Some(Errno::EBUSY),
        "second boot"
    );
}

/// The syscall path runs on the caller's stack: a caller with no more
/// stack than a Windows kernel thread gets (24 KiB) must be enough.
#[test]
fn callers_with_small_stacks() {
    let dir = test_dir("small-stack");
    let worker = std::thread::Builder::new()
        .stack_size(lkl::KERNEL_THREAD_STACK)
        .spawn(move || {
            for i in 0..50 {
                let path = format!("{dir}/f{i}");
                write_file(&path, &[i as u8; 3000], 0o644);
                let st = sys::statx(AT_FDCWD, &path, 0, uapi::STATX_BASIC_STATS).unwrap();
                assert_eq!(st.stx_size, 3000);
                sys::renameat2(AT_FDCWD, &path, AT_FDCWD, format!("{path}.moved"), 0).unwrap();
            }
            assert_eq!(names(&dir).len(), 50);
            sys::nanosleep(&uapi::Timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            })
            .unwrap();
        })
        .unwrap();
    worker.join().expect("small-stack caller");
}
