//! An idle kernel costs (almost) no CPU: no busy waiting anywhere.
use std::time::Duration;

use lkl::{Config, Kernel};

/// User + system CPU time of this whole process, from /proc/self/stat.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
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
    kernel.halt().unwrap();
}
