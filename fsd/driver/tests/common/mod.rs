//! lklfsd.sys under Wine for the tests and the benchmark: the driver
//! built from Linux, a Wine prefix with it installed from its INF and
//! started in test mode, the client program beside it, and the images the
//! driver works on (made by e2fsprogs).
#![allow(dead_code)]
#[path = "../../../../tests/support/wine.rs"]
pub mod wine;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wine::Wine;

pub const SERVICE_KEY: &str = "HKLM\\System\\CurrentControlSet\\Services\\lklfsd";
/// Where the driver's settings are (the INF writes them there).
pub const PARAMETERS_KEY: &str = "HKLM\\System\\CurrentControlSet\\Services\\lklfsd\\Parameters";

/// Builds the driver; the directory with lklfsd.sys and lklfsd.inf.
pub fn build_driver() -> PathBuf {
    let out = Command::new("bash")
        .arg(wine::workspace_root().join("scripts/driver.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "driver build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("lklfsd-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An ext4 image of a small tree, made by e2fsprogs.
pub fn make_image(dir: &Path) -> PathBuf {
    make_image_with(dir, &[])
}

/// As [`make_image`], with more `mkfs.ext4` arguments.
pub fn make_image_with(dir: &Path, mkfs_args: &[&str]) -> PathBuf {
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("dir")).unwrap();
    fs::write(tree.join("hello.txt"), "hello from ext4\n").unwrap();
    fs::write(tree.join("dir/a.txt"), "a\n").unwrap();
    fs::write(
        tree.join("big.bin"),
        (0..200_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let image = dir.join("disk.img");
    let f = fs::File::create(&image).unwrap();
    f.set_len(64 << 20).unwrap();
    tool(
        Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .args(mkfs_args)
            .arg("-d")
            .arg(&tree)
            .arg(&image)
            .env("E2FSPROGS_FAKE_TIME", "1700000000"),
    );
    image
}

/// Runs a Linux tool (mkfs, a checker, ...) and requires its success;
/// its stdout.
pub fn tool(command: &mut Command) -> String {
    let out = command.output().expect("a tool scripts/deps.sh installs");
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        command,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Windows path Wine gives a Unix path (drive Z: is `/`).
pub fn z_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// A Wine prefix with the driver installed from its INF and started in
/// test mode, and the client program beside it.
pub struct Installed {
    pub wine: Wine,
    _session: wine::Session,
    /// The client program's Windows path.
    pub ctl: String,
}

impl Installed {
    pub fn new(driver: &Path) -> Installed {
        let client = wine::build_windows(&["-p", "lklfsd-control", "--bin", "lklfsd-ctl"]);
        let wine = Wine::new();
        let session = wine.session();
        let dir = wine.drive_c().join("lklfsd");
        fs::create_dir_all(&dir).unwrap();
        for f in ["lklfsd.sys", "lklfsd.inf"] {
            fs::copy(driver.join(f), dir.join(f)).unwrap();
        }
        for f in ["lklfsd-ctl.exe", "bcryptprimitives.dll"] {
            fs::copy(client.join(f), dir.join(f)).unwrap();
        }
        // The INF's DefaultInstall copies the driver, adds the service and
        // starts it (AddService flag 0x800).
        let (ok, out) = wine.run(
            "rundll32",
            &[
                "setupapi.dll,InstallHinfSection",
                "DefaultInstall.NTamd64",
                "132",
                "C:\\lklfsd\\lklfsd.inf",
            ],
        );
        assert!(ok, "INF install: {out}");
        // DIRID 13 (the driver store): Wine 8 knows no such directory and
        // copies to system32\unknown; the service names what it copied.
        let image = wine.reg_query(SERVICE_KEY, "ImagePath").unwrap_or_default();
        let copied = image
            .strip_prefix("C:\\")
            .map(|p| wine.drive_c().join(p.replace('\\', "/")));
        assert!(
            image.ends_with("\\lklfsd.sys") && copied.is_some_and(|c| c.exists()),
            "the service's binary {image}"
        );
        assert_eq!(wine.reg_query(SERVICE_KEY, "Type").as_deref(), Some("0x2"));
        assert_eq!(wine.reg_query(SERVICE_KEY, "Start").as_deref(), Some("0x3"));
        assert_eq!(
            wine.reg_query(SERVICE_KEY, "Group").as_deref(),
            Some("File System")
        );
        assert_eq!(
            wine.reg_query(PARAMETERS_KEY, "LinuxMemoryMiB").as_deref(),
            Some("0x40")
        );
        let installed = Installed {
            wine,
            _session: session,
            ctl: String::from("C:\\lklfsd\\lklfsd-ctl.exe"),
        };
        // The full mode (cache manager, sections, oplocks) unless the
        // service key says NonCached: the INF leaves it on.
        assert_eq!(installed.stat("cached"), 1, "the default mode");
        // Out of test mode, the test IOCTLs are refused: the relay (sent
        // raw: IOCTL_RELAY is 0x8a044) and the arrivals too.
        let relay = (lklfsd_control::IOCTL_RELAY as u64).to_string();
        for args in [
            &["panic"][..],
            &["selftest", "0"],
            &["bench", "0"],
            &["raw", &relay, "64", "0"],
            &["arrive", "\\??\\Z:\\tmp\\none.img"],
            &["depart", "\\??\\Z:\\tmp\\none.img"],
        ] {
            let (status, _) = installed.ctl(args);
            assert_eq!(status, 0xC000_0022, "{args:?} outside test mode");
        }
        installed.stop();
        installed.set_dword("TestMode", 1);
        // Wine has no cache manager, sections or oplocks: the non-cached
        // mode (every FsRtl and Cc routine aborts winedevice).
        installed.set_dword("NonCached", 1);
        installed.start();
        assert_eq!(installed.stat("cached"), 0, "NonCached = 1");
        installed
    }

    /// Sets DWORD value `name` of the service key.
    pub fn set_dword(&self, name: &str, value: u32) {
        let value = value.to_string();
        let args = [
            "add",
            PARAMETERS_KEY,
            "/v",
            name,
            "/t",
            "REG_DWORD",
            "/d",
            &value,
            "/f",
        ];
        let (ok, out) = self.wine.run("reg", &args);
        assert!(ok, "reg add {name}: {out}");
    }

    pub fn start(&self) {
        let (ok, out) = self.wine.run("net", &["start", "lklfsd"]);
        assert!(ok, "net start: {out}");
    }

    /// Asks the service to stop: whether it did, and what `net` said.
    pub fn try_stop(&self) -> (bool, String) {
        self.wine.run("net", &["stop", "lklfsd"])
    }

    /// Stops the service (unload); the pool and threads it left, as the
    /// driver recorded them.
    pub fn stop(&self) -> String {
        let (ok, out) = self.try_stop();
        if !ok {
            // Wine's `net stop` stops waiting after a while; an unload on
            // a loaded machine can take longer, and must still end.
            assert!(out.contains("is stopping"), "net stop: {out}");
            self.wait_stopped(std::time::Duration::from_secs(60));
        }
        self.wine
            .reg_query(PARAMETERS_KEY, "LastUnload")
            .unwrap_or_default()
    }

    /// Waits until `sc query` says the service has stopped.
    fn wait_stopped(&self, limit: std::time::Duration) {
        let start = std::time::Instant::now();
        loop {
            let (_, out) = self.wine.run("sc", &["query", "lklfsd"]);
            if out.contains("STOPPED") {
                return;
            }
            assert!(start.elapsed() < limit, "the service did not stop: {out}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Sends relay requests (lines of `lklfsd-ctl relay`: major, minor,
    /// volume, handle, four words, offset, output length, name and data in
    /// hex) and returns the replies (status, handle, information, data).
    pub fn relay(&self, lines: &[String]) -> Vec<String> {
        let dir = self.wine.drive_c().join("lklfsd");
        fs::write(dir.join("relay.in"), lines.concat()).unwrap();
        let status = self
            .wine
            .command(&self.ctl)
            .arg("relay")
            .stdin(fs::File::open(dir.join("relay.in")).unwrap())
            .stdout(fs::File::create(dir.join("relay.out")).unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let out = fs::read_to_string(dir.join("relay.out")).unwrap();
        let replies: Vec<String> = out.lines().map(str::to_string).collect();
        assert!(
            status.success() && replies.len() == lines.len(),
            "relay: {out}"
        );
        replies
    }

    /// Ends Wine at once (as a power cut ends Windows): no unload, no
    /// dismount.
    pub fn kill(&self) {
        self.wine.kill();
    }

    /// Runs the client: the status it printed and the lines after it.
    pub fn ctl(&self, args: &[&str]) -> (u32, String) {
        let run = || {
            self.wine
                .run_to_files(self.wine.command(&self.ctl).args(args))
        };
        let (_, mut text, mut err) = run();
        if text.is_empty() && err.is_empty() {
            // Under load Wine has (once in many runs) started the client
            // and ended it before it printed anything: one more try.
            eprintln!("lklfsd-ctl {args:?}: nothing printed; again");
            (_, text, err) = run();
        }
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let status = first
            .strip_prefix("status 0x")
            .and_then(|s| u32::from_str_radix(s.trim(), 16).ok())
            .unwrap_or_else(|| panic!("lklfsd-ctl {args:?}: {text}{err}"));
        (status, rest.trim_end().to_string())
    }

    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let (status, out) = self.ctl(args);
        assert_eq!(status, 0, "lklfsd-ctl {args:?}: {status:#x} {out}");
        out
    }

    pub fn stat(&self, name: &str) -> u64 {
        let stats = self.ctl_ok(&["stats"]);
        stats
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stats}"))
    }
}
