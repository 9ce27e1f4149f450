//! Host threads come and go: each one that ends takes its kernel task along.
mod common;

use common::kernel;
use lkl::sys;

/// The count of threads of init (pid 1): one per live host task.
fn init_threads() -> u64 {
    let status = String::from_utf8(common::read_file("/proc/1/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Threads: in /proc/1/status")
}

#[test]
fn ended_host_threads_leave_no_task_behind() {
    kernel();
    let before = init_threads();
    for _ in 0..5 {
        let batch: Vec<_> = (0..10)
            .map(|_| std::thread::spawn(|| sys::getpid().unwrap()))
            .collect();
        for t in batch {
            assert_eq!(t.join().unwrap(), 1);
        }
    }
    let after = init_threads();
    assert!(
        after <= before + 1,
        "50 ended threads left tasks: {before} threads of init before, {after} after"
    );
}
