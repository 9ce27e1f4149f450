//! The kernel built for Windows hosts (LKL_VARIANT=ms_abi), converted to
//! COFF, checked by mingw-w64's binutils and linked into a Windows image
//! at the default 64-bit image base (above 4 GiB): every relocation must
//! resolve there, and the object must import nothing.
use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kernel_links_into_a_windows_program() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let build = run(Command::new("bash")
        .arg(root.join("scripts/kernel.sh"))
        .env("LKL_VARIANT", "ms_abi"));
    let elf = PathBuf::from(build.trim()).join("lkl.o");
    let dir = std::env::temp_dir().join(format!("elf2coff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("lkl.obj");
    let coff = elf2coff::convert(&std::fs::read(&elf).unwrap()).expect("convert");
    std::fs::write(&obj, coff).unwrap();

    // Only lkl_* are global, nothing is undefined.
    let symbols = run(Command::new("x86_64-w64-mingw32-nm").arg(&obj));
    let globals: Vec<&str> = symbols
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace().rev();
            let name = parts.next()?;
            let kind = parts.next()?;
            (kind.chars().all(|c| c.is_ascii_uppercase())).then_some(name)
        })
        .collect();
    assert!(
        globals.iter().all(|n| n.starts_with("lkl_")),
        "globals: {globals:?}"
    );
    for api in [
        "lkl_boot",
        "lkl_syscall",
        "lkl_halt",
        "lkl_disk_add",
        "lkl_irq_raise",
    ] {
        assert!(globals.contains(&api), "{api} missing: {globals:?}");
    }
    assert!(
        !symbols.lines().any(|l| l.trim_start().starts_with("U ")),
        "undefined symbols"
    );

    // It links, alone, into a Windows image at the default 64-bit image
    // base, entered at lkl_boot: every relocation resolves there.
    let exe = dir.join("kernel.exe");
    run(Command::new("x86_64-w64-mingw32-ld")
        .args(["--entry=lkl_boot", "--subsystem=console", "-o"])
        .arg(&exe)
        .arg(&obj));
    let headers = run(Command::new("x86_64-w64-mingw32-objdump")
        .arg("-p")
        .arg(&exe));
    let base = headers
        .lines()
        .find_map(|l| l.strip_prefix("ImageBase"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .expect("ImageBase");
    assert!(base >= 1 << 32, "image base {base:#x} is not above 4 GiB");
    let _ = std::fs::remove_dir_all(&dir);
}
