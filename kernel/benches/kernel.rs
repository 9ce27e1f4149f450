//! Kernel benchmarks, side by side with a reference measured in the same
//! run: system call latency against the host's own getpid(2), from one
//! thread and from two at once; the round trip of a request to another
//! thread over host semaphores, which any queued (non-direct) system call
//! design pays at least; and boot and halt times (one boot per process, so each boot runs in a child process
//! of this benchmark). Each result is printed and appended as a JSON line
//! to target/bench/results.jsonl.
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use lkl::bench::{ns_per_call, Measurement};
use lkl::{sys, Config, Kernel};

const GETPID_CALLS: u32 = 2_000_000;
const BOOTS: usize = 7;

/// ns per call when `threads` threads call `f` at the same time.
fn ns_per_call_threaded(threads: u32, calls: u32, f: fn()) -> f64 {
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..calls {
                    f();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    start.elapsed().as_nanos() as f64 / (threads * calls) as f64
}

/// ns per round trip of a request handed to another thread and answered
/// through host semaphores: the floor of a queued system call design.
fn handoff_round_trip(rounds: u32) -> f64 {
    use lkl::Host;
    type H = lkl::NativeHost;
    let ping = std::sync::Arc::new((H::semaphore(0), H::semaphore(0)));
    let server = {
        let ping = ping.clone();
        std::thread::spawn(move || {
            for _ in 0..rounds {
                H::down(&ping.0);
                H::up(&ping.1);
            }
        })
    };
    let start = Instant::now();
    for _ in 0..rounds {
        H::up(&ping.0);
        H::down(&ping.1);
    }
    let ns = start.elapsed().as_nanos() as f64 / rounds as f64;
    server.join().unwrap();
    ns
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// In a child: boot, answer one syscall, halt; print both times in ms.
fn boot_once() {
    let start = Instant::now();
    let kernel = Kernel::boot(&Config::default()).expect("boot");
    sys::getpid().expect("getpid");
    let booted = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    kernel.halt().expect("halt");
    let halted = start.elapsed().as_secs_f64() * 1e3;
    println!("{booted} {halted}");
}

fn main() {
    if std::env::args().any(|a| a == "--boot-once") {
        return boot_once();
    }

    let (mut boot, mut halt) = (Vec::new(), Vec::new());
    for _ in 0..BOOTS {
        let out = Command::new(std::env::current_exe().unwrap())
            .arg("--boot-once")
            .output()
            .expect("run child");
        assert!(out.status.success(), "boot child failed");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut times = text.split_whitespace().map(|t| t.parse::<f64>().unwrap());
        boot.push(times.next().unwrap());
        halt.push(times.next().unwrap());
    }

    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let kernel = Kernel::boot(&Config::default()).expect("boot");
    let native = ns_per_call(GETPID_CALLS, || {
        std::hint::black_box(std::process::id());
    });
    let lkl = ns_per_call(GETPID_CALLS, || {
        std::hint::black_box(sys::getpid().unwrap());
    });
    let native2 = ns_per_call_threaded(2, GETPID_CALLS / 4, || {
        std::hint::black_box(std::process::id());
    });
    let lkl2 = ns_per_call_threaded(2, GETPID_CALLS / 4, || {
        std::hint::black_box(sys::getpid().unwrap());
    });
    kernel.halt().expect("halt");
    let handoff = handoff_round_trip(50_000);

    Measurement {
        bench: "getpid_2threads",
        subject_name: "lkl",
        reference_name: "native",
        subject: lkl2,
        reference: Some(native2),
        unit: "ns",
    }
    .report(&target);
    Measurement {
        bench: "queued_call_floor",
        subject_name: "handoff",
        reference_name: "native",
        subject: handoff,
        reference: Some(native),
        unit: "ns",
    }
    .report(&target);
    Measurement {
        bench: "syscall_getpid",
        subject_name: "lkl",
        reference_name: "native",
        subject: lkl,
        reference: Some(native),
        unit: "ns",
    }
    .report(&target);
    Measurement {
        bench: "boot_to_ready",
        subject_name: "lkl",
        reference_name: "none",
        subject: median(boot),
        reference: None,
        unit: "ms",
    }
    .report(&target);
    Measurement {
        bench: "halt",
        subject_name: "lkl",
        reference_name: "none",
        subject: median(halt),
        reference: None,
        unit: "ms",
    }
    .report(&target);
}
