//! Boot, what the kernel reports, and halt: one boot per process, so this
//! file is one test.
use lkl::{sys, uapi, Config, Errno, Kernel};

#[test]
fn boots_reports_and_halts() {
    assert_eq!(sys::getpid(), Err(Errno::ENODEV), "before boot");

    let kernel = Kernel::boot(&Config::default()).expect("boot");
    let uts = sys::uname().unwrap();
    assert_eq!(sys::field_str(&uts.sysname), "Linux");
    assert!(
        sys::field_str(&uts.release).starts_with("6.12."),
        "release {}",
        sys::field_str(&uts.release)
    );
    assert_eq!(sys::field_str(&uts.machine), "lkl");
    assert_eq!(sys::getpid(), Ok(1), "host threads are threads of init");

    let console = String::from_utf8_lossy(&lkl::console_output()).into_owned();
    assert!(console.contains("Linux version 6.12"), "console: {console}");
    assert!(console.contains("Run /init as init process"));

    let meminfo = String::from_utf8(read("/proc/meminfo")).unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("MemTotal");
    assert!(
        (60_000..=65_536).contains(&total_kb),
        "MemTotal {total_kb} kB of a 64 MiB pool"
    );

    assert_eq!(
        Kernel::boot(&Config::default()).err(),
        Some(Errno::EBUSY),
        "second boot while running"
    );

    // A thread blocked in the kernel when it halts gets ENODEV back.
    let sleeper = std::thread::spawn(|| {
        let started = std::time::Instant::now();
        let ret = sys::nanosleep(&uapi::Timespec {
            tv_sec: 30,
            tv_nsec: 0,
        });
        (ret, started.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(100));

    kernel.halt().expect("halt");
    let (ret, slept) = sleeper.join().unwrap();
    assert_eq!(ret, Err(Errno::ENODEV));
    assert!(
        slept < std::time::Duration::from_secs(5),
        "sleeper held halt for {slept:?}"
    );
    let console = String::from_utf8_lossy(&lkl::console_output()).into_owned();
    assert!(console.contains("System halted"), "console: {console}");
    assert_eq!(sys::getpid(), Err(Errno::ENODEV), "after halt");
    assert_eq!(
        Kernel::boot(&Config::default()).err(),
        Some(Errno::EBUSY),
        "boot after halt"
    );
}

fn read(path: &str) -> Vec<u8> {
    let fd = sys::openat(uapi::AT_FDCWD, path, uapi::O_RDONLY, 0).unwrap();
    let mut buf = vec![0u8; 16384];
    let n = sys::read(fd, &mut buf).unwrap();
    sys::close(fd).unwrap();
    buf.truncate(n);
    buf
}
