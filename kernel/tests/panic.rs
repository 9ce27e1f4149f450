//! A kernel panic reaches the host's panic operation: the POSIX host
//! aborts the process with the panic text on stderr.
use std::process::Command;

use lkl::{sys, uapi, Config, Kernel};

const CHILD: &str = "LKL_PANIC_TEST_CHILD";

#[test]
fn kernel_panic_aborts_with_its_message() {
    if std::env::var_os(CHILD).is_some() {
        let _kernel = Kernel::boot(&Config::default()).unwrap();
        // No magic SysRq to ask for it from a system call.
        assert_eq!(
            sys::openat(uapi::AT_FDCWD, "/proc/sysrq-trigger", uapi::O_WRONLY, 0).err(),
            Some(lkl::Errno::ENOENT)
        );
        lkl::crash(c"crash requested by the test");
        unreachable!("the kernel survived a crash request");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kernel_panic_aborts_with_its_message",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(6),
        "child should abort (SIGABRT); stderr: {stderr}"
    );
    assert!(
        stderr.contains("lkl: kernel panic: crash requested by the test"),
        "stderr: {stderr}"
    );
}
