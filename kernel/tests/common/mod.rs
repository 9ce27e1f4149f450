//! One kernel per test process, booted on first use and shared by the
//! tests of that process (a kernel cannot boot twice in one process).
#![allow(dead_code)]
use std::sync::OnceLock;

use lkl::{sys, uapi, Config, Kernel};

pub fn kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    KERNEL.get_or_init(|| Kernel::boot(&Config::default()).expect("boot"))
}

/// A fresh directory of the RAM root for one test.
pub fn test_dir(name: &str) -> String {
    kernel();
    let dir = format!("/{name}");
    sys::mkdirat(uapi::AT_FDCWD, &dir, 0o755).expect("mkdir test dir");
    dir
}

/// The count of IRQ line `name` in /proc/interrupts.
pub fn irq_count(name: &str) -> u64 {
    let text = read_file("/proc/interrupts");
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no IRQ {name} in /proc/interrupts:\n{text}"))
}

pub fn read_file(path: &str) -> Vec<u8> {
    let fd = sys::openat(uapi::AT_FDCWD, path, uapi::O_RDONLY, 0).expect(path);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sys::read(fd, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    sys::close(fd).unwrap();
    out
}
