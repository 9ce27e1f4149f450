//! What the crash tests share: one kernel per process; a workload run on
//! a recording disk, saying as it goes what must hold from then on
//! (promises, put in the log as marks); and the check of every crash
//! state of its recording: mount through the library (journal replay),
//! every promise in force, no byte in any file that the workload never
//! wrote there, unmount, and the file system's own checker.
#![allow(dead_code)]
#[path = "../../../tests/support/lkl_read.rs"]
mod lkl_read;
pub mod workloads;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use lkl::mount::{self, MountOptions};
use lkl::uapi::{self, AT_FDCWD};
use lkl::{add_disk, sys, AddedDisk, Config, Disk, Errno, Kernel, MemDisk};
use lkl_crash::{crash_states, CrashState, Limits, RecordingDisk, ShuffledDisk};
pub use lkl_read::read_file;

pub fn kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    KERNEL.get_or_init(|| Kernel::boot(&Config::default()).expect("boot"))
}

/// What must hold in every crash state after the workload said so (until
/// a later promise about the same path replaces it).
#[derive(Clone, Debug)]
pub enum Promise {
    /// The file is there with exactly these bytes.
    File(String, Vec<u8>),
    /// The file is there and holds one of these, whole.
    OneOf(String, Vec<Vec<u8>>),
    /// The file is there and starts with these bytes.
    Prefix(String, Vec<u8>),
    /// A directory is there.
    Dir(String),
    /// A symbolic link is there with this text.
    Symlink(String, String),
    /// Nothing is there.
    Absent(String),
    /// The file is there and each of its blocks of this size is that block
    /// of one of these versions (which have one length): what a database
    /// overwriting blocks in place may find.
    Blocks(String, Vec<Vec<u8>>, usize),
    /// At least one of these paths is there holding one of its versions,
    /// whole (a save that renames the old file away before the new one
    /// takes its name).
    AnyOf(Vec<(String, Vec<Vec<u8>>)>),
    /// The workload is changing the path: nothing is promised of it until
    /// its next promise (the check that files hold only bytes written to
    /// them still applies).
    Changing(String),
}

impl Promise {
    fn path(&self) -> &str {
        match self {
            Promise::File(p, _)
            | Promise::OneOf(p, _)
            | Promise::Prefix(p, _)
            | Promise::Dir(p)
            | Promise::Symlink(p, _)
            | Promise::Absent(p)
            | Promise::Blocks(p, _, _)
            | Promise::Changing(p) => p,
            Promise::AnyOf(choices) => &choices[0].0,
        }
    }
}

/// A workload's view: the mounted directory, and what it promises.
pub struct Run {
    pub root: String,
    disk: Arc<RecordingDisk>,
    promises: Mutex<Vec<Promise>>,
    /// Every version of every file's bytes the workload wrote, by path.
    versions: Mutex<HashMap<String, Vec<Vec<u8>>>>,
}

impl Run {
    pub fn path(&self, p: &str) -> String {
        format!("{}/{p}", self.root)
    }

    /// From now on `promise` holds (it replaces earlier ones of its path).
    pub fn promise(&self, promise: Promise) {
        let mut promises = self.promises.lock().unwrap();
        promises.push(promise);
        self.disk.mark(promises.len() as u32 - 1);
    }

    /// Remembers bytes the workload put in file `p` (all versions count
    /// as written).
    pub fn wrote(&self, p: &str, data: &[u8]) {
        self.versions
            .lock()
            .unwrap()
            .entry(p.to_string())
            .or_default()
            .push(data.to_vec());
    }

    /// Writes `data` as the whole of file `p`, then fsyncs it if asked.
    pub fn write_file(&self, p: &str, data: &[u8], fsync: bool) {
        self.wrote(p, data);
        let fd = sys::openat(
            AT_FDCWD,
            self.path(p),
            uapi::O_WRONLY | uapi::O_CREAT | uapi::O_TRUNC,
            0o644,
        )
        .expect(p);
        write_all(fd, data);
        if fsync {
            sys::fsync(fd).expect("fsync");
        }
        sys::close(fd).unwrap();
    }

    /// fsync of directory `p` ("" for the root).
    pub fn fsync_dir(&self, p: &str) {
        let fd = sys::openat(
            AT_FDCWD,
            self.path(p),
            uapi::O_RDONLY | uapi::O_DIRECTORY,
            0,
        )
        .expect(p);
        sys::fsync(fd).expect("fsync dir");
        sys::close(fd).unwrap();
    }
}

pub fn write_all(fd: i32, data: &[u8]) {
    let mut done = 0;
    while done < data.len() {
        done += sys::write(fd, &data[done..]).expect("write");
    }
}

/// `len` bytes that name their file and version: none is zero, and two
/// files' (or versions') bytes differ, so stale blocks show.
pub fn pattern(file: u32, version: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (((i as u32 / 7) ^ file.wrapping_mul(97) ^ version.wrapping_mul(31)) % 255 + 1) as u8
        })
        .collect()
}

/// A file system to test: how to make it, mount it and check it.
pub struct Fs {
    pub name: &'static str,
    pub mkfs: &'static [&'static str],
    /// The environment mkfs runs with (beside the caller's).
    pub mkfs_env: &'static [(&'static str, &'static str)],
    /// Whether the disk completes requests late and out of order (a
    /// ShuffledDisk holding up to this many) under the recording.
    pub reorder: Option<usize>,
    pub size: u64,
    pub fstype: &'static str,
    pub options: &'static str,
    pub check: &'static [&'static str],
}

/// ext4 as mkfs.ext4 makes it, small enough that a state is quick.
pub const EXT4: Fs = Fs {
    name: "ext4",
    mkfs: &["mkfs.ext4", "-q", "-F"],
    mkfs_env: &[],
    reorder: None,
    size: 8 << 20,
    fstype: "ext4",
    options: "",
    check: &["e2fsck", "-fn"],
};

/// The smallest btrfs: mixed block groups, 16 MiB.
pub const BTRFS: Fs = Fs {
    name: "btrfs",
    mkfs: &["mkfs.btrfs", "-q", "-f", "--mixed"],
    mkfs_env: &[],
    reorder: None,
    size: 16 << 20,
    fstype: "btrfs",
    options: "",
    check: &["btrfs", "check"],
};

/// A 32 MiB xfs: xfsprogs makes file systems under 300 MB only for
/// fstests, which it recognises by these variables.
pub const XFS: Fs = Fs {
    name: "xfs",
    mkfs: &["mkfs.xfs", "-q", "-f"],
    mkfs_env: &[
        ("TEST_DIR", "/tmp"),
        ("TEST_DEV", "/dev/null"),
        ("QA_CHECK_FS", "xfs"),
    ],
    reorder: None,
    size: 32 << 20,
    fstype: "xfs",
    options: "",
    check: &["xfs_repair", "-n"],
};

/// A fresh directory for one test's images: in memory (/dev/shm) where
/// the machine has it, since every crash state is written out for the
/// checker.
pub fn scratch(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("lkl-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `args` on `file` (with `env` beside the caller's environment):
/// its exit code (-1 if killed) and what it printed.
pub fn run_tool(args: &[&str], env: &[(&str, &str)], file: &Path) -> (i32, String) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .envs(env.iter().copied())
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A fresh file system of `fs` in the file `image`: its bytes.
pub fn make_image(fs: &Fs, image: &Path) -> Vec<u8> {
    std::fs::File::create(image)
        .unwrap()
        .set_len(fs.size)
        .unwrap();
    let (code, text) = run_tool(fs.mkfs, fs.mkfs_env, image);
    assert_eq!(code, 0, "{}: {text}", fs.mkfs[0]);
    std::fs::read(image).unwrap()
}

/// The workload's recording on a fresh file system mounted through the
/// library: the image before, and the log.
pub fn record(fs: &Fs, dir: &Path, workload: impl FnOnce(&Run)) -> (Vec<u8>, Run, lkl_crash::Log) {
    record_with(
        fs,
        dir,
        |added| {
            let m = mount::mount(added, &options(fs)).expect("mount");
            (m.path.clone(), m)
        },
        |m| mount::unmount(m).expect("unmount"),
        |run, _| workload(run),
    )
}

/// The same, with the file system mounted by `mount` (which gives its
/// root in the kernel's tree and what `unmount` takes) and the workload
/// given that too: how a user of the library such as the fsd core is
/// recorded.
pub fn record_with<M>(
    fs: &Fs,
    dir: &Path,
    mount: impl FnOnce(&AddedDisk) -> (String, M),
    unmount: impl FnOnce(M),
    workload: impl FnOnce(&Run, &M),
) -> (Vec<u8>, Run, lkl_crash::Log) {
    kernel();
    let base = make_image(fs, &dir.join("base.img"));
    let medium: Arc<dyn Disk> = Arc::new(MemDisk::new(base.clone()));
    let below: Arc<dyn Disk> = match fs.reorder {
        Some(depth) => Arc::new(ShuffledDisk::new(medium, depth, 7)),
        None => medium,
    };
    let disk = Arc::new(RecordingDisk::new(below));
    let added = add_disk(disk.clone()).unwrap();
    let (root, mounted) = mount(&added);
    let run = Run {
        root,
        disk: disk.clone(),
        promises: Mutex::new(Vec::new()),
        versions: Mutex::new(HashMap::new()),
    };
    workload(&run, &mounted);
    unmount(mounted);
    drop(added);
    let log = disk.log();
    if fs.reorder.is_some() {
        // Completions really came out of order.
        let completed: Vec<u64> = log
            .events
            .iter()
            .filter_map(|e| match e {
                lkl_crash::Event::Completed { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert!(
            completed.windows(2).any(|w| w[1] < w[0]),
            "{}: the disk completed in order",
            fs.name
        );
    }
    (base, run, log)
}

/// How `fs` is mounted through the library.
pub fn options(fs: &Fs) -> MountOptions {
    MountOptions {
        fstype: Some(fs.fstype.to_string()),
        options: fs.options.to_string(),
        ..MountOptions::default()
    }
}

/// What checking a recording found.
#[derive(Debug, Default)]
pub struct Checked {
    pub states: usize,
    pub failures: Vec<String>,
}

impl Checked {
    /// Fails on any failure, or on fewer than `at_least` states.
    pub fn assert_clean(&self, at_least: usize) {
        eprintln!("{} crash states checked", self.states);
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert!(self.states >= at_least, "only {} crash states", self.states);
    }
}

/// A recording another process made into the file `record` while it
/// changed `image` (whose bytes were `base` before; `lklfs --record`):
/// checked to be the image's history (`base` plus the recorded writes is
/// the image, and nothing was left unflushed), then every crash state of
/// it (no promises: files may hold only their `versions`).
pub fn check_recorded_file(
    fs: &Fs,
    dir: &Path,
    base: &[u8],
    image: &Path,
    record: &Path,
    versions: &HashMap<String, Vec<Vec<u8>>>,
) -> Checked {
    let file = std::fs::File::open(record).unwrap();
    let log = lkl_crash::Log::load(&mut std::io::BufReader::new(file)).unwrap();
    assert!(
        log.final_image(base) == std::fs::read(image).unwrap(),
        "the recording is not what was written to {}",
        image.display()
    );
    assert_eq!(log.unflushed_at_end(), 0, "writes left unflushed at exit");
    check_recording(fs, dir, base, &log, &[], versions, limits(32, 2000))
}

/// The image file the checker reads, rewritten for each state where it
/// differs from the last (states differ in a few blocks: writing all of
/// an image took half the time of a state).
struct StateFile {
    file: std::fs::File,
    last: Vec<u8>,
}

impl StateFile {
    fn new(path: &Path) -> StateFile {
        StateFile {
            file: std::fs::File::create(path).unwrap(),
            last: Vec::new(),
        }
    }

    fn update(&mut self, image: Vec<u8>) {
        use std::os::unix::fs::FileExt;
        const CHUNK: usize = 64 << 10;
        if self.last.len() != image.len() {
            self.file.set_len(0).unwrap();
            self.file.write_all_at(&image, 0).unwrap();
        } else {
            for (i, (new, old)) in image.chunks(CHUNK).zip(self.last.chunks(CHUNK)).enumerate() {
                if new != old {
                    self.file.write_all_at(new, (i * CHUNK) as u64).unwrap();
                }
            }
        }
        self.last = image;
    }
}

/// Checks every crash state of the recording (within `limits`).
pub fn check_states(
    fs: &Fs,
    dir: &Path,
    base: &[u8],
    run: &Run,
    log: &lkl_crash::Log,
    limits: Limits,
) -> Checked {
    let promises = run.promises.lock().unwrap().clone();
    let versions = run.versions.lock().unwrap().clone();
    check_recording(fs, dir, base, log, &promises, &versions, limits)
}

/// Checks every crash state of a recording (within `limits`) against
/// `promises` (marks in the log are their indices) and the `versions`
/// each file may hold: for a recording made elsewhere.
pub fn check_recording(
    fs: &Fs,
    dir: &Path,
    base: &[u8],
    log: &lkl_crash::Log,
    promises: &[Promise],
    versions: &HashMap<String, Vec<Vec<u8>>>,
    limits: Limits,
) -> Checked {
    kernel();
    let all = crash_states(log, limits);
    let mut checked = Checked::default();
    let path = dir.join("state.img");
    let mut file = StateFile::new(&path);
    for state in &all.states {
        checked.states += 1;
        let image = all.image(base, state);
        if let Err(e) = check_state(fs, (&mut file, &path), image, state, promises, versions) {
            checked.failures.push(format!(
                "cut {} (volatile writes kept {} of {}, marks {:?}): {e}",
                state.cut, state.volatile_kept, state.volatile, state.marks
            ));
            if checked.failures.len() >= 5 {
                break;
            }
        }
    }
    checked
}

fn check_state(
    fs: &Fs,
    (file, path): (&mut StateFile, &Path),
    image: Vec<u8>,
    state: &CrashState,
    promises: &[Promise],
    versions: &HashMap<String, Vec<Vec<u8>>>,
) -> Result<(), String> {
    let disk = Arc::new(MemDisk::new(image));
    let added = add_disk(disk.clone()).map_err(|e| format!("add disk: {e:?}"))?;
    let m = mount::mount(&added, &options(fs)).map_err(|e| format!("mount: {e:?}"))?;
    // The promises in force: the last of each path.
    let mut in_force: HashMap<&str, &Promise> = HashMap::new();
    for &i in &state.marks {
        let p = &promises[i as usize];
        in_force.insert(p.path(), p);
    }
    let mut found = Vec::new();
    for p in in_force.values() {
        if let Err(e) = keeps(&m.path, p) {
            found.push(e);
        }
    }
    for (path, vs) in versions {
        if let Err(e) = only_written(&format!("{}/{path}", m.path), vs) {
            found.push(format!("{path}: {e}"));
        }
    }
    mount::unmount(m).map_err(|e| format!("unmount: {e:?}"))?;
    drop(added);
    let image = Arc::try_unwrap(disk).map_or_else(|d| d.contents(), MemDisk::into_contents);
    file.update(image);
    let (code, text) = run_tool(fs.check, &[], path);
    if code != 0 {
        found.push(format!("{}: {text}", fs.check[0]));
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(found.join("; "))
    }
}

fn keeps(root: &str, p: &Promise) -> Result<(), String> {
    let at = format!("{root}/{}", p.path());
    let what = |e: Errno| format!("{}: {e:?}", p.path());
    let short = |data: &[u8]| format!("{} bytes", data.len());
    match p {
        Promise::File(_, want) => {
            let got = read_file(&at).map_err(what)?;
            (got == *want).then_some(()).ok_or_else(|| {
                format!(
                    "{}: {} instead of its {}",
                    p.path(),
                    short(&got),
                    short(want)
                )
            })
        }
        Promise::OneOf(_, wants) => {
            let got = read_file(&at).map_err(what)?;
            wants.contains(&got).then_some(()).ok_or_else(|| {
                format!(
                    "{}: {} matching none of its versions",
                    p.path(),
                    short(&got)
                )
            })
        }
        Promise::Prefix(_, want) => {
            let got = read_file(&at).map_err(what)?;
            got.starts_with(want).then_some(()).ok_or_else(|| {
                format!(
                    "{}: {} not starting with its {}",
                    p.path(),
                    short(&got),
                    short(want)
                )
            })
        }
        Promise::Dir(_) => {
            let st = sys::newfstatat(AT_FDCWD, &at, uapi::AT_SYMLINK_NOFOLLOW).map_err(what)?;
            (st.st_mode & uapi::S_IFMT == uapi::S_IFDIR)
                .then_some(())
                .ok_or_else(|| format!("{}: not a directory", p.path()))
        }
        Promise::Symlink(_, want) => {
            let got = sys::readlinkat(AT_FDCWD, &at).map_err(what)?;
            (got == want.as_bytes()).then_some(()).ok_or_else(|| {
                format!(
                    "{}: link text {:?}",
                    p.path(),
                    String::from_utf8_lossy(&got)
                )
            })
        }
        Promise::Blocks(_, versions, size) => {
            let got = read_file(&at).map_err(what)?;
            if got.len() != versions[0].len() {
                return Err(format!(
                    "{}: {} instead of {}",
                    p.path(),
                    short(&got),
                    short(&versions[0])
                ));
            }
            match got.chunks(*size).enumerate().find(|(i, block)| {
                !versions
                    .iter()
                    .any(|v| v.chunks(*size).nth(*i) == Some(*block))
            }) {
                None => Ok(()),
                Some((i, _)) => Err(format!("{}: block {i} is of no version", p.path())),
            }
        }
        Promise::AnyOf(choices) => {
            let holds = |(path, versions): &(String, Vec<Vec<u8>>)| {
                read_file(&format!("{root}/{path}")).is_ok_and(|got| versions.contains(&got))
            };
            if choices.iter().any(holds) {
                Ok(())
            } else {
                Err(format!(
                    "none of {:?} holds a version of it",
                    choices.iter().map(|c| &c.0).collect::<Vec<_>>()
                ))
            }
        }
        Promise::Changing(_) => Ok(()),
        Promise::Absent(_) => match sys::newfstatat(AT_FDCWD, &at, uapi::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => Ok(()),
            other => Err(format!("{}: still there ({other:?})", p.path())),
        },
    }
}

/// A file, if there, holds at each position a byte some version the
/// workload wrote had there: no stale blocks. One rule of Linux's allows
/// more: a block allocated to a file that was not fsync'd, whose data had
/// not reached the disk, reads back as zeroes after a crash (ext4's and
/// xfs's unwritten extents, converted only once the data is written; seen
/// on a disk that completes out of order). So a whole block of zeroes
/// passes; a partly zeroed block, or any byte of other data, does not.
/// (Files the workload fsync'd are held to their exact bytes by their
/// promises.)
fn only_written(path: &str, versions: &[Vec<u8>]) -> Result<(), String> {
    const BLOCK: usize = 1024;
    let data = match read_file(path) {
        Ok(d) => d,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(format!("{e:?}")),
    };
    let unwritten = |i: usize| data[i - i % BLOCK..].iter().take(BLOCK).all(|&b| b == 0);
    let written = |i: usize| versions.iter().any(|v| v.get(i) == Some(&data[i]));
    match (0..data.len()).find(|&i| !written(i) && !unwritten(i)) {
        None => Ok(()),
        Some(i) => Err(format!(
            "byte {i} of {} is {:#x}, which no version had there",
            data.len(),
            data[i]
        )),
    }
}

/// Records every workload on `fs` and checks its crash states (within
/// `limits` for each workload): the states checked, and what failed.
pub fn crash_test(fs: &Fs, limits: Limits) -> (usize, Vec<String>) {
    let mut states = 0;
    let mut failures = Vec::new();
    for (name, workload) in workloads::WORKLOADS {
        let dir = scratch(&format!("{}-{name}", fs.name));
        let (base, run, log) = record(fs, &dir, workload);
        let checked = check_states(fs, &dir, &base, &run, &log, limits);
        eprintln!(
            "{} {name}: {} events, {} crash states checked",
            fs.name,
            log.events.len(),
            checked.states
        );
        states += checked.states;
        failures.extend(
            checked
                .failures
                .into_iter()
                .map(|f| format!("{} {name}: {f}", fs.name)),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    (states, failures)
}

/// `per_cut` and `total` states per workload, from seed 1: or, for a
/// longer campaign (scripts/crash-soak.sh), times `LKL_CRASH_SCALE`, from
/// seed `LKL_CRASH_SEED`.
pub fn limits(per_cut: usize, total: usize) -> Limits {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let scale = var("LKL_CRASH_SCALE", 1).max(1) as usize;
    Limits {
        per_cut: per_cut * scale,
        total: total * scale,
        seed: var("LKL_CRASH_SEED", 1),
    }
}

/// Runs `crash_test` on each of `variants` side by side (one kernel
/// serves them all; the checkers run in parallel); fails on any failure
/// or fewer than `at_least` states in all.
pub fn crash_test_all(variants: &[Fs], limits: Limits, at_least: usize) {
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let runs: Vec<_> = variants
            .iter()
            .map(|fs| s.spawn(move || crash_test(fs, limits)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    Checked {
        states: results.iter().map(|r| r.0).sum(),
        failures: results.into_iter().flat_map(|r| r.1).collect(),
    }
    .assert_clean(at_least);
}
