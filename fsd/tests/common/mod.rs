//! Test support: one kernel per test process, ext4 images made by
//! mkfs.ext4 -d, volumes on them, and debugfs/e2fsck as the reference.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use fsd::create::{self, CreateRequest, Created};
use fsd::{access, Ccb, NtStatus, Volume, VolumeOptions};
use lkl::{AddedDisk, Config, FileDisk, Kernel};

pub fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// FileRenameInformation(Ex) to `name` from the volume root, with `flags`
/// (FILE_RENAME_*).
pub fn rename_request(name: Vec<u16>, flags: u32) -> fsd::fileinfo::SetRequest {
    fsd::fileinfo::SetRequest::Rename {
        flags,
        root_directory: 0,
        name,
    }
}

/// Entries chained as Windows lists them: each but the last padded to 4
/// bytes, its first four bytes the offset of the next (NextEntryOffset).
pub fn chained(entries: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut last_start = None;
    for entry in entries {
        if let Some(start) = last_start {
            while !out.len().is_multiple_of(4) {
                out.push(0);
            }
            let next = (out.len() - start) as u32;
            out[start..start + 4].copy_from_slice(&next.to_le_bytes());
        }
        last_start = Some(out.len());
        out.extend_from_slice(&entry);
    }
    out
}

/// A FILE_FULL_EA_INFORMATION list of (name, value).
pub fn ea_list(eas: &[(&str, &[u8])]) -> Vec<u8> {
    chained(eas.iter().map(|(name, value)| {
        let mut e = vec![0, 0, 0, 0, 0, name.len() as u8];
        e.extend_from_slice(&(value.len() as u16).to_le_bytes());
        e.extend_from_slice(name.as_bytes());
        e.push(0);
        e.extend_from_slice(value);
        e
    }))
}

/// A symlink reparse buffer (IO_REPARSE_TAG_SYMLINK) for `target`.
pub fn symlink_reparse(target: &str, relative: bool) -> Vec<u8> {
    let name: Vec<u8> = target.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut b = Vec::new();
    b.extend_from_slice(&fsd::attributes::IO_REPARSE_TAG_SYMLINK.to_le_bytes());
    b.extend_from_slice(&((12 + 2 * name.len()) as u16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    for offset_length in [0, name.len(), name.len(), name.len()] {
        b.extend_from_slice(&(offset_length as u16).to_le_bytes());
    }
    b.extend_from_slice(&u32::from(relative).to_le_bytes());
    b.extend_from_slice(&name);
    b.extend_from_slice(&name);
    b
}

/// Makes a 128 MiB btrfs image at `image` holding `tree` (mkfs.btrfs
/// --rootdir).
pub fn make_btrfs(tree: &Path, image: &Path) {
    std::fs::File::create(image)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    let (tree, image) = (tree.display().to_string(), image.display().to_string());
    run("mkfs.btrfs", &["-q", "--rootdir", &tree, &image]);
}

pub fn kernel() {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    KERNEL.get_or_init(|| Kernel::boot(&Config::default()).unwrap());
}

pub struct TestVolume {
    pub vol: Option<Volume>,
    pub disk: Option<AddedDisk>,
    pub image: PathBuf,
    pub dir: PathBuf,
    /// The file system's checker and its arguments before the image.
    pub fsck: &'static [&'static str],
}

impl TestVolume {
    /// An ext4 image made from the tree `populate` builds, mounted.
    pub fn new(name: &str, mkfs_args: &[&str], populate: impl FnOnce(&Path)) -> TestVolume {
        Self::with_options(name, mkfs_args, populate, VolumeOptions::default())
    }

    pub fn with_options(
        name: &str,
        mkfs_args: &[&str],
        populate: impl FnOnce(&Path),
        options: VolumeOptions,
    ) -> TestVolume {
        Self::prepared(name, mkfs_args, populate, |_| {}, options)
    }

    /// As [`TestVolume::with_options`], with `prepare` run on the image
    /// before it is mounted (to damage it, say).
    pub fn prepared(
        name: &str,
        mkfs_args: &[&str],
        populate: impl FnOnce(&Path),
        prepare: impl FnOnce(&Path),
        options: VolumeOptions,
    ) -> TestVolume {
        Self::made_by(name, populate, &["e2fsck", "-fn"], |tree, image| {
            let mut args = vec!["-q", "-F"];
            args.extend_from_slice(mkfs_args);
            let tree = tree.display().to_string();
            let img = image.display().to_string();
            args.extend_from_slice(&["-d", &tree, &img, "32M"]);
            run("mkfs.ext4", &args);
            prepare(image);
        })
        .mounted(options)
    }

    /// An image that `make` makes (any file system) from the tree
    /// `populate` builds, not yet mounted; `fsck` checks it at the end.
    pub fn made_by(
        name: &str,
        populate: impl FnOnce(&Path),
        fsck: &'static [&'static str],
        make: impl FnOnce(&Path, &Path),
    ) -> TestVolume {
        kernel();
        let dir = std::env::temp_dir().join(format!("fsd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tree")).unwrap();
        populate(&dir.join("tree"));
        let image = dir.join("vol.img");
        make(&dir.join("tree"), &image);
        TestVolume {
            vol: None,
            disk: None,
            image,
            dir,
            fsck,
        }
    }

    /// Mounts the image.
    pub fn mounted(mut self, options: VolumeOptions) -> TestVolume {
        let disk = lkl::add_disk(Arc::new(FileDisk::open(&self.image, false).unwrap())).unwrap();
        self.vol = Some(Volume::mount(&disk, &options).unwrap());
        self.disk = Some(disk);
        self
    }

    pub fn vol(&self) -> &Volume {
        self.vol.as_ref().unwrap()
    }

    /// Opens or creates `name` from the volume root.
    pub fn create(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        desired: u32,
        share: u32,
    ) -> Result<Created, NtStatus> {
        self.create_as(None, name, disposition, options, desired, share)
    }

    /// As [`TestVolume::create`], for `caller` (see `fsd::permissions`).
    pub fn create_as(
        &self,
        caller: Option<&fsd::permissions::Caller>,
        name: &str,
        disposition: u32,
        options: u32,
        desired: u32,
        share: u32,
    ) -> Result<Created, NtStatus> {
        let name = w(name);
        create::create(
            self.vol(),
            &CreateRequest {
                related: None,
                name: &name,
                disposition,
                options,
                desired_access: desired,
                share_access: share,
                file_attributes: 0,
                caller,
            },
        )
    }

    pub fn open(&self, name: &str) -> Ccb {
        self.create(
            name,
            create::FILE_OPEN,
            0,
            access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
            7,
        )
        .unwrap_or_else(|e| panic!("open {name}: {e:?}"))
        .ccb
    }

    /// Opens directory `name` from the volume root for listing.
    pub fn open_dir(&self, name: &str) -> Ccb {
        self.create(
            name,
            create::FILE_OPEN,
            create::FILE_DIRECTORY_FILE,
            access::GENERIC_READ,
            7,
        )
        .unwrap_or_else(|e| panic!("open {name}: {e:?}"))
        .ccb
    }

    pub fn close(&self, ccb: Ccb) {
        fsd::close::close(self.vol(), ccb);
    }

    /// Dismounts, removes the disk and checks the file system.
    pub fn finish(&mut self) {
        if let Some(v) = self.vol.take() {
            let device = v.root().trim_start_matches("/mnt/").to_string();
            v.dismount().unwrap();
            drop(v);
            // A descriptor left open would keep the file system alive
            // (detached): ext4 shows it while it lives.
            if self.fsck[0] == "e2fsck" {
                let registered = format!("/sys/fs/ext4/{device}");
                let alive = lkl::sys::newfstatat(lkl::uapi::AT_FDCWD, &registered, 0);
                assert_eq!(
                    alive.err(),
                    Some(lkl::Errno::ENOENT),
                    "{registered}: a descriptor leaked"
                );
            }
        }
        if let Some(d) = self.disk.take() {
            d.remove().unwrap();
        }
        let (checker, args) = self.fsck.split_first().expect("a checker");
        let mut args = args.to_vec();
        let image = self.image.display().to_string();
        args.push(&image);
        run(checker, &args);
    }

    pub fn debugfs(&self, req: &str) -> String {
        run("debugfs", &["-R", req, &self.image.display().to_string()])
    }
}

impl Drop for TestVolume {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn name_at(b: &[u8], at: usize, bytes: usize) -> String {
    let units: Vec<u16> = b[at..at + bytes]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// The kernel's tree outside the volumes (`/mnt`), `/proc` and `/sys`,
/// and the disks' nodes in `/dev` (other tests add and remove them): each
/// path with its mode, size and modification time; and every descriptor
/// the process holds that leads outside `/mnt`. What a request must never
/// change, however malformed.
pub fn outside_volumes() -> std::collections::BTreeSet<String> {
    use lkl::{sys, uapi};
    // One walk at a time: a walk's own descriptors are not another's news.
    static WALK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _walking = WALK.lock().unwrap_or_else(|e| e.into_inner());
    fn walk(dir: &str, out: &mut std::collections::BTreeSet<String>) {
        let Ok(fd) = sys::openat(uapi::AT_FDCWD, dir, uapi::O_RDONLY | uapi::O_DIRECTORY, 0) else {
            return;
        };
        let mut buf = vec![0u8; 32 << 10];
        let mut names = Vec::new();
        while let Ok(n) = sys::getdents64(fd, &mut buf) {
            if n == 0 {
                break;
            }
            names.extend(sys::dirent_names(&buf[..n]).map(|n| n.to_vec()));
        }
        sys::close(fd).unwrap();
        for name in names {
            let name = String::from_utf8_lossy(&name).into_owned();
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            let skip = name == "."
                || name == ".."
                || ["/mnt", "/proc", "/sys"].contains(&path.as_str())
                || (dir == "/dev" && name.starts_with("vd"));
            if skip {
                continue;
            }
            let Ok(st) = sys::newfstatat(uapi::AT_FDCWD, &path, uapi::AT_SYMLINK_NOFOLLOW) else {
                continue;
            };
            // A directory by its entries (`/dev` changes as disks come
            // and go), anything else with its size and time.
            if st.st_mode & uapi::S_IFMT == uapi::S_IFDIR {
                out.insert(format!("{path} {:o}", st.st_mode));
                walk(&path, out);
            } else {
                out.insert(format!(
                    "{path} {:o} {} {}.{}",
                    st.st_mode, st.st_size, st.st_mtime, st.st_mtime_nsec
                ));
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk("/", &mut out);
    let fds = sys::openat(
        uapi::AT_FDCWD,
        "/proc/self/fd",
        uapi::O_RDONLY | uapi::O_DIRECTORY,
        0,
    )
    .unwrap();
    let mut buf = vec![0u8; 32 << 10];
    let n = sys::getdents64(fds, &mut buf).unwrap();
    for name in sys::dirent_names(&buf[..n]) {
        let link = format!("/proc/self/fd/{}", String::from_utf8_lossy(name));
        if let Ok(target) = sys::readlinkat(uapi::AT_FDCWD, &link) {
            let target = String::from_utf8_lossy(&target).into_owned();
            // The volumes, their disks, and this listing.
            let ours = target.starts_with("/mnt/")
                || target.starts_with("/dev/vd")
                || target == "/proc/1/fd";
            if !ours && target.starts_with('/') {
                out.insert(format!("open: {target}"));
            }
        }
    }
    sys::close(fds).unwrap();
    out
}

/// One QUERY_DIRECTORY of FileNamesInformation on `ccb` into `out`:
/// pattern `pattern`, `restart`, resuming at `index`, one entry if
/// `single`.
pub fn query_names(
    vol: &Volume,
    ccb: &mut Ccb,
    pattern: Option<&[u16]>,
    restart: bool,
    index: Option<u32>,
    single: bool,
    out: &mut [u8],
) -> fsd::Completion {
    fsd::dirctrl::query_directory(
        vol,
        ccb,
        &fsd::dirctrl::QueryDirectory {
            class: fsd::dirctrl::FILE_NAMES_INFORMATION,
            pattern,
            restart_scan: restart,
            return_single_entry: single,
            index,
        },
        out,
    )
}

/// The entries of a FileNamesInformation answer: FileIndex and name.
pub fn listed_names(out: &[u8]) -> Vec<(u32, String)> {
    let mut names = Vec::new();
    let mut at = 0;
    loop {
        let next = u32_at(out, at) as usize;
        let len = u32_at(out, at + 8) as usize;
        names.push((u32_at(out, at + 4), name_at(out, at + 12, len)));
        if next == 0 {
            return names;
        }
        at += next;
    }
}

/// Lists the directory open as `ccb` whole from a restart, `room` bytes
/// an answer: every entry's FileIndex and name, in the order returned.
pub fn list_all(vol: &Volume, ccb: &mut Ccb, pattern: &str, room: usize) -> Vec<(u32, String)> {
    let pattern = w(pattern);
    let mut out = vec![0u8; room];
    let mut all = Vec::new();
    let mut restart = true;
    loop {
        let done = query_names(vol, ccb, Some(&pattern), restart, None, false, &mut out);
        restart = false;
        if done.status == NtStatus::NO_MORE_FILES {
            return all;
        }
        assert_eq!(done.status, NtStatus::SUCCESS);
        all.extend(listed_names(&out));
    }
}
