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
    pub fn new() -> Wine {
        static N: AtomicUsize = AtomicUsize::new(0);
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
        assert!(
            out.status.success(),
            "wineboot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wine
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(WINE);
        c.arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all");
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
        let out = self.command(program).args(args).output().unwrap();
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

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = Command::new("/usr/lib/wine/wineserver")
            .arg("-k")
            .env("WINEPREFIX", &self.prefix)
            .status();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

pub fn build_windows(args: &[&str]) -> PathBuf {
    build_windows_with(args, &[])
}

/// As [`build_windows`], with `envs` set for scripts/windows.sh (say
/// `LKL_BUILD_STD`).
pub fn build_windows_with(args: &[&str], envs: &[(&str, &str)]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
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
