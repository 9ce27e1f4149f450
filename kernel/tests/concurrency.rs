//! Many host threads in the kernel at once, time, and IRQs raised from
//! threads the kernel does not know.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{irq_count, kernel, test_dir};
use lkl::sys;
use lkl::uapi::{self, Timespec, AT_FDCWD};

fn sleep_ms(ms: i64) {
    sys::nanosleep(&Timespec {
        tv_sec: 0,
        tv_nsec: ms * 1_000_000,
    })
    .unwrap();
}

#[test]
fn nanosleep_takes_its_time() {
    kernel();
    for _ in 0..3 {
        let start = Instant::now();
        sleep_ms(20);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(20), "slept {took:?}");
        assert!(took < Duration::from_millis(500), "slept {took:?}");
    }
}

/// Each thread works in a directory of its own and checks every result.
fn worker(id: usize, dir: &str, calls: usize) {
    let path = format!("{dir}/t{id}");
    let fd = sys::openat(AT_FDCWD, &path, uapi::O_RDWR | uapi::O_CREAT, 0o644).unwrap();
    let mut buf = [0u8; 64];
    let mut done = 0;
    let mut round = 0u64;
    while done < calls {
        let record = format!("thread {id} round {round}");
        let offset = (round % 50) as i64 * 64;
        assert_eq!(
            sys::pwrite64(fd, record.as_bytes(), offset).unwrap(),
            record.len()
        );
        let n = sys::pread64(fd, &mut buf[..record.len()], offset).unwrap();
        assert_eq!(&buf[..n], record.as_bytes());
        assert_eq!(sys::getpid().unwrap(), 1);
        let st = sys::fstat(fd).unwrap();
        assert!(st.st_size >= offset + record.len() as i64);
        let name = format!("{dir}/t{id}-{round}");
        sys::mkdirat(AT_FDCWD, &name, 0o700).unwrap();
        assert_eq!(
            sys::newfstatat(AT_FDCWD, &name, 0).unwrap().st_mode & uapi::S_IFMT,
            uapi::S_IFDIR
        );
        sys::unlinkat(AT_FDCWD, &name, uapi::AT_REMOVEDIR).unwrap();
        assert_eq!(
            sys::newfstatat(AT_FDCWD, &name, 0).err(),
            Some(lkl::Errno::ENOENT)
        );
        done += 8;
        round += 1;
    }
    sys::close(fd).unwrap();
}

#[test]
fn eight_threads_mixed_syscalls_with_foreign_irqs() {
    let dir = test_dir("threads");
    let timer_before = irq_count("timer");
    let stop = Arc::new(AtomicBool::new(false));
    let raised = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                lkl::irq_raise(0).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    let workers: Vec<_> = (0..8)
        .map(|id| {
            let dir = dir.clone();
            std::thread::spawn(move || worker(id, &dir, 1000))
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    stop.store(true, Ordering::Relaxed);
    let raised = raised.join().unwrap();
    assert!(raised > 0);
    let timer_after = irq_count("timer");
    assert!(
        timer_after > timer_before,
        "timer IRQs raised from a foreign thread were not handled ({timer_before} -> {timer_after})"
    );
    // Every thread's file holds its own records.
    for id in 0..8 {
        let st = sys::newfstatat(AT_FDCWD, format!("{dir}/t{id}"), 0).unwrap();
        assert!(st.st_size > 0);
    }
}

#[test]
fn timers_fire_while_other_threads_make_syscalls() {
    kernel();
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    sys::getpid().unwrap();
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let start = Instant::now();
    for _ in 0..10 {
        sleep_ms(10);
    }
    let took = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let calls: u64 = busy.into_iter().map(|b| b.join().unwrap()).sum();
    assert!(calls > 1000, "busy threads made only {calls} calls");
    assert!(
        took >= Duration::from_millis(100),
        "ten 10 ms sleeps took {took:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "ten 10 ms sleeps took {took:?}"
    );
}
