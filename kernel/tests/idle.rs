//! An idle kernel costs (almost) no CPU: no busy waiting anywhere.
use std::time::Duration;

use lkl::{Config, Kernel};

/// User + system CPU time of this whole process, from /proc/self/stat.
#[cfg(unix)]
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// User + kernel CPU time of this whole process, from GetProcessTimes.
#[cfg(windows)]
fn process_cpu() -> Duration {
    use std::ffi::c_void;
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn GetCurrentProcess() -> *mut c_void;
        fn GetProcessTimes(
            process: *mut c_void,
            creation: *mut u64,
            exit: *mut u64,
            kernel: *mut u64,
            user: *mut u64,
        ) -> i32;
    }
    let (mut creation, mut exit, mut kernel, mut user) = (0u64, 0u64, 0u64, 0u64);
    // SAFETY: four live u64s (FILETIMEs: two u32 halves, low first) for the
    // outputs; the pseudo-handle of this process needs no closing.
    let ok = unsafe {
        GetProcessTimes(
            GetCurrentProcess(),
            &mut creation,
            &mut exit,
            &mut kernel,
            &mut user,
        )
    };
    assert_ne!(ok, 0, "GetProcessTimes");
    Duration::from_nanos((kernel + user) * 100)
}

#[test]
fn one_idle_second_costs_under_5_percent_of_a_core() {
    let kernel = Kernel::boot(&Config::default()).expect("boot");
    // Let boot-time work (deferred initcalls, first timers) settle.
    std::thread::sleep(Duration::from_millis(200));
    let before = process_cpu();
    std::thread::sleep(Duration::from_secs(1));
    let used = process_cpu() - before;
    assert!(
        used < Duration::from_millis(50),
        "idle second used {used:?} of CPU"
    );
    // The measure itself sees a busy spell: spinning shows as CPU time
    // (within seconds however busy the machine's other cores are).
    let before = process_cpu();
    let start = std::time::Instant::now();
    while process_cpu() - before < Duration::from_millis(100) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "10 s of spinning measured as {:?} of CPU",
            process_cpu() - before
        );
        for _ in 0..10_000 {
            std::hint::spin_loop();
        }
    }
    kernel.halt().unwrap();
}
