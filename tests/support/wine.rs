//! Wine for the tests of Windows builds: builds a workspace package for
//! x86_64-pc-windows-gnu (scripts/windows.sh) and runs programs in a fresh,
//! private Wine prefix. Test crates include it with `#[path]`.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Debian's 64-bit Wine loader.
pub const WINE: &str = "/usr/lib/wine/wine64";

/// A fresh Wine prefix of its own, stopped and removed on drop.
pub struct Wine {
    prefix: PathBuf,
}

impl Wine {
    /// A fresh prefix. Making one (wineboot) now and then fails under load
    /// ("could not load kernel32.dll", seen with two cores busy): such a
    /// prefix is thrown away and made again, up to three times.
    pub fn new() -> Wine {
        static N: AtomicUsize = AtomicUsize::new(0);
        let mut failures = String::new();
        for _ in 0..3 {
            let prefix = std::env::temp_dir().join(format!(
                "lkl-wine-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&prefix);
            let wine = Wine { prefix };
            let out = wine
                .command("wineboot")
                .arg("-i")
                .output()
                .expect("wine64 (package wine64)");
            if out.status.success() {
                return wine;
            }
            failures += &String::from_utf8_lossy(&out.stderr);
        }
        panic!("wineboot failed three times: {failures}");
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(WINE);
        c.arg(program)
            .env("WINEPREFIX", &self.prefix)
            // LKL_WINEDEBUG (e.g. "err+all") shows Wine's messages when a
            // test fails for want of them.
            .env(
                "WINEDEBUG",
                std::env::var("LKL_WINEDEBUG").unwrap_or_else(|_| "-all".into()),
            );
        c
    }

    /// Makes `\\.\X:` (X = `letter`) the Unix file or block device
    /// `target`, as Wine maps drives to devices (`dosdevices/x::`).
    pub fn map_device(&self, letter: char, target: &Path) {
        let link = self
            .prefix
            .join(format!("dosdevices/{}::", letter.to_ascii_lowercase()));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, link).unwrap();
    }

    /// Where the prefix keeps drive C:.
    pub fn drive_c(&self) -> PathBuf {
        self.prefix.join("drive_c")
    }

    /// Runs `program` with `args`, requires success, and returns stdout.
    pub fn run_ok(&self, program: &Path, args: &[&str]) -> String {
        let mut out = self.command(program).args(args).output().unwrap();
        if !out.status.success() && out.stdout.is_empty() && out.stderr.is_empty() {
            // Under load Wine has (once in many runs) started a program
            // and ended it before it did anything: one more try.
            eprintln!(
                "{} {args:?}: ended with nothing printed; again",
                program.display()
            );
            out = self.command(program).args(args).output().unwrap();
        }
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{} {args:?}: {stdout}{}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Wine {
    /// Ends every process of the prefix at once (wineserver -k).
    pub fn kill(&self) {
        let _ = Command::new("/usr/lib/wine/wineserver")
            .arg("-k")
            .env("WINEPREFIX", &self.prefix)
            .status();
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// The workspace's top directory (the first above the crate with scripts/).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("scripts/windows.sh").exists())
        .expect("the workspace's scripts/")
        .to_path_buf()
}

pub fn build_windows(args: &[&str]) -> PathBuf {
    build_windows_with(args, &[])
}

/// As [`build_windows`], with `envs` set for scripts/windows.sh (say
/// `LKL_BUILD_STD`).
pub fn build_windows_with(args: &[&str], envs: &[(&str, &str)]) -> PathBuf {
    let root = workspace_root();
    let out = Command::new("bash")
        .arg(root.join("scripts/windows.sh"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "windows build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Builds the test binaries `tests` of workspace package `package` for
/// Windows and returns their paths: the newest `deps/NAME-HASH.exe` each.
pub fn build_windows_tests(package: &str, tests: &[&str]) -> Vec<PathBuf> {
    let mut args = vec!["-p", package];
    for t in tests {
        args.extend(["--test", t]);
    }
    let deps = build_windows(&args).join("deps");
    tests
        .iter()
        .map(|t| {
            std::fs::read_dir(&deps)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.starts_with(&format!("{t}-")) && name.ends_with(".exe")
                })
                .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
                .unwrap_or_else(|| panic!("no {t}-*.exe in {}", deps.display()))
        })
        .collect()
}

/// Keeps the prefix's services (and so its drivers) running while it
/// lives: Wine ends them when the last program of the prefix ends.
pub struct Session(std::process::Child);

impl Wine {
    pub fn session(&self) -> Session {
        let child = self
            .command("cmd")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("wine cmd");
        Session(child)
    }

    /// Runs a Wine program (`net`, `reg`, `rundll32`, ...) with `args`;
    /// its exit status and stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let (ok, out, _) = self.run_to_files(self.command(program).args(args));
        (ok, out)
    }

    /// Runs `command` with its output going to files, and waits for the
    /// program alone: processes it starts (a service, a driver's host)
    /// inherit its handles, so pipes would stay open after it ended.
    /// Returns its success, stdout and stderr.
    pub fn run_to_files(&self, command: &mut Command) -> (bool, String, String) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let out_path = self.prefix.join(format!("run-{n}.out"));
        let err_path = self.prefix.join(format!("run-{n}.err"));
        let status = command
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        let read =
            |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        let (out, err) = (read(&out_path), read(&err_path));
        let _ = std::fs::remove_file(out_path);
        let _ = std::fs::remove_file(err_path);
        (status.success(), out, err)
    }

    /// The data of registry value `name` of `key`, as `reg query` shows it.
    pub fn reg_query(&self, key: &str, name: &str) -> Option<String> {
        let (ok, out) = self.run("reg", &["query", key, "/v", name]);
        if !ok {
            return None;
        }
        out.lines().find_map(|l| {
            let rest = l.trim().strip_prefix(name)?.trim_start();
            let (_kind, data) = rest.split_once(char::is_whitespace)?;
            Some(data.trim().to_string())
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
