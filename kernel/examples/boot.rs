//! Boots the kernel in this process, shows what it reports, and halts it.
use lkl::{sys, Config, Kernel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let kernel = Kernel::boot(&Config::default())?;
    let booted = started.elapsed();
    let uts = sys::uname()?;
    println!(
        "{} {} {} {}",
        sys::field_str(&uts.sysname),
        sys::field_str(&uts.nodename),
        sys::field_str(&uts.release),
        sys::field_str(&uts.machine)
    );
    println!(
        "booted in {:.1} ms, pid {}",
        booted.as_secs_f64() * 1e3,
        sys::getpid()?
    );
    let fd = sys::openat(lkl::uapi::AT_FDCWD, "/proc/meminfo", lkl::uapi::O_RDONLY, 0)?;
    let mut buf = vec![0u8; 4096];
    let n = sys::read(fd, &mut buf)?;
    sys::close(fd)?;
    for line in String::from_utf8_lossy(&buf[..n]).lines().take(3) {
        println!("{line}");
    }
    let console = lkl::console_output();
    println!("--- kernel log ({} bytes), first lines:", console.len());
    for line in String::from_utf8_lossy(&console).lines().take(8) {
        println!("{line}");
    }
    kernel.halt()?;
    println!("halted");
    Ok(())
}
