//! The core builds for 64-bit Windows with `core` and `alloc` alone, as
//! the kernel-mode driver that links it must (no `std` there).
use std::path::Path;
use std::process::Command;

#[test]
fn builds_for_windows_with_core_and_alloc_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/windows.sh"))
        .args(["-p", "fsd", "--lib"])
        .env("LKL_BUILD_STD", "core,alloc")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = Path::new(String::from_utf8(out.stdout).unwrap().trim()).join("libfsd.rlib");
    assert!(lib.exists(), "{} missing", lib.display());
}
