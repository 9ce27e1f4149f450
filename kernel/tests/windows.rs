//! The library on 64-bit Windows: the boot example, built for
//! x86_64-pc-windows-gnu with Debian's toolchain (scripts/windows.sh), runs
//! under Wine: the kernel (the ms_abi variant, as COFF) boots, answers
//! system calls and halts.
use std::path::{Path, PathBuf};
use std::process::Command;

const WINE: &str = "/usr/lib/wine/wine64";

/// A fresh Wine prefix, stopped and removed on drop.
struct Wine {
    prefix: PathBuf,
}

impl Wine {
    fn new() -> Wine {
        let prefix = std::env::temp_dir().join(format!("lkl-wine-{}", std::process::id()));
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

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(WINE);
        c.arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all");
        c
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

fn build_windows(args: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/windows.sh"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "windows build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn boots_under_wine() {
    let bin = build_windows(&["-p", "lkl", "--example", "boot"]);
    let wine = Wine::new();
    let out = wine
        .command(bin.join("examples/boot.exe"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "boot.exe: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Linux lkl 6.12."), "stdout: {stdout}");
    assert!(stdout.contains("MemTotal:"), "stdout: {stdout}");
    assert!(stdout.contains("Linux version 6.12"), "stdout: {stdout}");
    assert!(stdout.trim_end().ends_with("halted"), "stdout: {stdout}");
}
