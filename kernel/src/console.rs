//! The kernel's console for the user-space hosts: what printk wrote is kept
//! (the last MiB, see [`console_output`]) and echoed to stderr when the
//! environment variable `LKL_CONSOLE` is set; a panic is reported on stderr
//! and ends the process.
use alloc::vec::Vec;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};

const CONSOLE_KEEP: usize = 1 << 20;

static CONSOLE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn console() -> MutexGuard<'static, Vec<u8>> {
    CONSOLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything the kernel printed so far (up to the last MiB).
pub fn console_output() -> Vec<u8> {
    console().clone()
}

/// Keeps `text` and echoes it if asked to.
pub(crate) fn print(text: &[u8]) {
    {
        let mut console = console();
        if console.len() + text.len() > CONSOLE_KEEP {
            let drop = (console.len() + text.len() - CONSOLE_KEEP).min(console.len());
            console.drain(..drop);
        }
        console.extend_from_slice(text);
    }
    if std::env::var_os("LKL_CONSOLE").is_some() {
        let _ = std::io::stderr().write_all(text);
    }
}

/// Reports a kernel panic and aborts the process.
pub(crate) fn panic(message: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "lkl: kernel panic: {message}");
    std::process::abort()
}
