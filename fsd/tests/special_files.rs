//! Device nodes, FIFOs and sockets in an image: listed, stat'ed, renamed
//! and deleted from Windows, never opened for their data (an image's
//! `mem c 1 1` would be Linux's memory, which is Windows' non-paged pool
//! in the driver). Volumes mount `nodev,nosuid,noexec`, ext4 with
//! `errors=remount-ro`. Checked against debugfs and e2fsck.
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::SetRequest;
use fsd::NtStatus;

/// Device nodes debugfs makes in the image: `/dev/mem`, `/dev/null`,
/// `/dev/zero`, and a block device (Linux's first loop device's numbers).
const NODES: &[(&str, &str)] = &[
    ("mem", "c 1 1"),
    ("null", "c 1 3"),
    ("zero", "c 1 5"),
    ("disk", "b 7 0"),
];

fn volume(name: &str) -> TestVolume {
    TestVolume::prepared(
        name,
        &[],
        |root| {
            run("mkfifo", &[&root.join("fifo").display().to_string()]);
            let socket = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
            drop(socket);
            std::fs::write(root.join("plain"), b"data").unwrap();
        },
        |image| {
            let img = image.display().to_string();
            for (name, node) in NODES {
                run(
                    "debugfs",
                    &["-w", "-R", &format!("mknod {name} {node}"), &img],
                );
            }
        },
        fsd::VolumeOptions::default(),
    )
}

/// Runs `f` on another thread, failing (not hanging) if it takes more
/// than 20 s: a FIFO opened for its data would wait for a writer.
fn within_20s<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let (done, result) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(move || done.send(f()).unwrap());
        match result.recv_timeout(Duration::from_secs(20)) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the opening thread failed"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!("an open did not return within 20 s");
                std::process::exit(1);
            }
        }
    })
}

#[test]
fn special_files_are_never_opened_for_data() {
    let mut t = volume("special-data");
    let specials = ["mem", "null", "zero", "disk", "fifo", "socket"];
    within_20s(|| {
        for name in specials {
            let path = format!("\\{name}");
            for (disposition, access) in [
                (FILE_OPEN, GENERIC_READ),
                (FILE_OPEN, FILE_READ_DATA),
                (FILE_OPEN, GENERIC_WRITE),
                (FILE_OPEN, FILE_APPEND_DATA),
                (FILE_OPEN, FILE_EXECUTE),
                (FILE_OPEN_IF, GENERIC_ALL),
                (FILE_OVERWRITE, GENERIC_WRITE),
                (FILE_SUPERSEDE, GENERIC_WRITE),
            ] {
                assert_eq!(
                    t.create(&path, disposition, 0, access, 7).err(),
                    Some(NtStatus::IO_REPARSE_TAG_NOT_HANDLED),
                    "{path} disposition {disposition} access {access:#x}"
                );
            }
            // Its attributes, and MAXIMUM_ALLOWED narrowed to them.
            for access in [FILE_READ_ATTRIBUTES | SYNCHRONIZE, MAXIMUM_ALLOWED] {
                let c = t
                    .create(&path, FILE_OPEN, 0, access, 7)
                    .unwrap_or_else(|e| panic!("{path}: {e:?}"))
                    .ccb;
                let mut buf = [0u8; 64];
                let mut c = c;
                let read = fsd::read::read(t.vol(), &mut c, Some(0), &mut buf);
                assert_ne!(read.status, NtStatus::SUCCESS, "{path} read");
                t.close(c);
            }
        }
    });
    // Renamed and deleted as any file.
    let mut c = t
        .create("\\mem", FILE_OPEN, 0, DELETE | FILE_READ_ATTRIBUTES, 7)
        .unwrap()
        .ccb;
    let renamed = fsd::fileinfo::set(
        t.vol(),
        &mut c,
        &rename_request(w("\\mem-renamed"), 0),
        None,
    );
    assert_eq!(renamed.status, NtStatus::SUCCESS);
    t.close(c);
    let mut c = t.create("\\fifo", FILE_OPEN, 0, DELETE, 7).unwrap().ccb;
    let set = fsd::fileinfo::set(t.vol(), &mut c, &SetRequest::Disposition(1), None);
    assert_eq!(set.status, NtStatus::SUCCESS);
    fsd::cleanup::cleanup(t.vol(), &mut c);
    t.close(c);
    t.finish();
    let listing = t.debugfs("ls -l /");
    assert!(listing.contains("mem-renamed"), "{listing}");
    assert!(!listing.contains(" fifo"), "{listing}");
    // The nodes themselves are as debugfs made them.
    let stat = t.debugfs("stat /null");
    assert!(stat.contains("Type: character special"), "{stat}");
    assert!(stat.contains("Device major/minor number: 01:03"), "{stat}");
}

/// What the kernel says of the volume's mount: its line in
/// /proc/self/mounts.
fn mount_line(t: &TestVolume) -> String {
    let fd = lkl::sys::openat(lkl::uapi::AT_FDCWD, "/proc/self/mounts", 0, 0).unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = lkl::sys::read(fd, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    lkl::sys::close(fd).unwrap();
    let root = format!(" {} ", t.vol().root());
    String::from_utf8(text)
        .unwrap()
        .lines()
        .find(|l| l.contains(&root))
        .expect("the volume is mounted")
        .to_string()
}

#[test]
fn volumes_mount_nodev_nosuid_noexec() {
    let t = volume("special-mount");
    let line = mount_line(&t);
    for option in ["nodev", "nosuid", "noexec", "errors=remount-ro"] {
        assert!(
            line.split([' ', ',']).any(|o| o == option),
            "{option}: {line}"
        );
    }
    // Linux itself refuses the node, whoever asks.
    let mem = format!("{}/mem", t.vol().root());
    assert_eq!(
        lkl::sys::openat(lkl::uapi::AT_FDCWD, &mem, lkl::uapi::O_RDONLY, 0).err(),
        Some(lkl::Errno::EACCES)
    );
}
