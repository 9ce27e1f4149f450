//! The library on 64-bit Windows: the boot example, built for
//! x86_64-pc-windows-gnu with Debian's toolchain (scripts/windows.sh), runs
//! under Wine: the kernel (the ms_abi variant, as COFF) boots, answers
//! system calls and halts; values cross the ms_abi boundary intact; and the
//! kernel's own tests that need no host tools pass on the NT host.
#[path = "../../tests/support/wine.rs"]
mod wine;

use wine::{build_windows, build_windows_tests, Wine};

#[test]
fn boots_under_wine() {
    let bin = build_windows(&["-p", "lkl", "--example", "boot"]);
    let wine = Wine::new();
    let stdout = wine.run_ok(&bin.join("examples/boot.exe"), &[]);
    assert!(stdout.contains("Linux lkl 6.12."), "stdout: {stdout}");
    assert!(stdout.contains("MemTotal:"), "stdout: {stdout}");
    assert!(stdout.contains("Linux version 6.12"), "stdout: {stdout}");
    assert!(stdout.trim_end().ends_with("halted"), "stdout: {stdout}");
}

/// The ms_abi boundary keeps every value: the `abi_check` example built for
/// Windows passes all of its checks under Wine.
#[test]
fn values_cross_the_ms_abi_boundary_intact() {
    let bin = build_windows(&["-p", "lkl", "--example", "abi_check"]);
    let wine = Wine::new();
    let stdout = wine.run_ok(&bin.join("examples/abi_check.exe"), &[]);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        6,
        "{stdout}"
    );
}

/// The NT host (Win32 threads, semaphores, fiber-local storage, waitable
/// timer) carries the same tests as the POSIX host: boot and halt, file
/// calls, small-stack callers, concurrency with foreign IRQs and timers,
/// ended host threads, and an idle CPU.
#[test]
fn kernel_tests_pass_on_the_nt_host() {
    let tests = ["boot_halt", "files", "concurrency", "host_threads", "idle"];
    let wine = Wine::new();
    for (name, exe) in tests.iter().zip(build_windows_tests("lkl", &tests)) {
        let stdout = wine.run_ok(&exe, &[]);
        assert!(
            stdout.contains("test result: ok.") && !stdout.contains(" 0 passed"),
            "{name}: {stdout}"
        );
    }
}
