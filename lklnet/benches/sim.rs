//! The simulator at scale, side by side with the host kernel (root; the
//! host half is skipped otherwise): a line of 10, 100 and 1,000 nodes,
//! each link a veth pair with a /30 at each end, built by `lklnet sim` in
//! one process against the same topology built with `ip netns` and veth
//! on the host (set-up time and memory per node); and the simulated
//! seconds per wall second of 50 concurrent 10 Mbit/s, 10 ms TCP streams
//! among 100 nodes in virtual time, against real time's 1.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lkl::bench::{median, Measurement};

const ROUNDS: usize = 3;

/// The addresses of link `i`'s two ends.
fn link_addrs(i: usize) -> (String, String) {
    let a = i * 4;
    let net = format!("10.{}.{}", (a >> 16) & 255, (a >> 8) & 255);
    (
        format!("{net}.{}/30", (a & 255) + 1),
        format!("{net}.{}/30", (a & 255) + 2),
    )
}

/// `n` nodes in a line.
fn line(n: usize) -> String {
    let mut t: String = (0..n).map(|i| format!("[nodes.n{i}]\n")).collect();
    for i in 0..n - 1 {
        let (a, b) = link_addrs(i);
        t += &format!("[[links]]\nends = [\"n{i} {a}\", \"n{} {b}\"]\n", i + 1);
    }
    t
}

/// 50 pairs, each joined by a 10 Mbit/s link with 10 ms each way, each
/// pair sending one TCP stream for `seconds`, all at once.
fn pairs(seconds: u32) -> String {
    let mut t = String::from("time = \"virtual\"\n");
    for p in 0..50 {
        let (a, b) = link_addrs(p);
        t += &format!(
            "[nodes.s{p}]\n[nodes.r{p}]\n[[links]]\nends = [\"s{p} {a}\", \"r{p} {b}\"]\n\
             rate = \"10mbit\"\ndelay = \"10ms\"\n[[experiments]]\nkind = \"tcp\"\n\
             from = \"s{p}\"\nto = \"{}\"\nduration = \"{seconds}s\"\nstart = \"0s\"\n",
            b.split('/').next().unwrap()
        );
    }
    t
}

fn run_sim(lklnet: &Path, dir: &Path, topology: &str) -> serde_json::Value {
    let file = dir.join("topology.toml");
    let report = dir.join("report.json");
    std::fs::write(&file, topology).unwrap();
    let out = Command::new(lklnet)
        .args(["sim", "--time", "virtual", "--report"])
        .arg(&report)
        .arg(&file)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

fn mem_available() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kb << 10
}

fn delete_host_line(n: usize) {
    let names: String = (0..n).map(|i| format!("netns del lkls{i}\n")).collect();
    let mut ip = Command::new("ip")
        .args(["-force", "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(ip.stdin.as_mut().unwrap(), names.as_bytes()).unwrap();
    drop(ip.stdin.take());
    ip.wait().unwrap();
}

/// The same line on the host with `ip`: one batch for the namespaces and
/// veth pairs, then one `ip -n NODE -batch` per node for its addresses
/// and links (as a tool driving `ip netns` does). Seconds, and bytes of
/// the host's available memory used per node.
fn host_line(n: usize) -> (f64, f64) {
    delete_host_line(n);
    let before = mem_available();
    let start = Instant::now();
    let mut batch: String = (0..n).map(|i| format!("netns add lkls{i}\n")).collect();
    for i in 0..n - 1 {
        batch += &format!(
            "link add e{i}a netns lkls{i} type veth peer name e{i}b netns lkls{}\n",
            i + 1
        );
    }
    let run_batch = |args: &[&str], text: &str| {
        let mut ip = Command::new("ip")
            .args(args)
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(ip.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
        drop(ip.stdin.take());
        assert!(ip.wait().unwrap().success(), "ip {args:?} -batch: {text}");
    };
    run_batch(&[], &batch);
    for i in 0..n {
        let mut node = String::from("link set lo up\n");
        if i > 0 {
            let (_, b) = link_addrs(i - 1);
            node += &format!("addr add {b} dev e{}b\nlink set e{}b up\n", i - 1, i - 1);
        }
        if i < n - 1 {
            let (a, _) = link_addrs(i);
            node += &format!("addr add {a} dev e{i}a\nlink set e{i}a up\n");
        }
        run_batch(&["-n", &format!("lkls{i}")], &node);
    }
    let seconds = start.elapsed().as_secs_f64();
    let used = before.saturating_sub(mem_available()) as f64 / n as f64;
    delete_host_line(n);
    (seconds, used)
}

fn main() {
    let exe = std::env::current_exe().unwrap();
    let target: PathBuf = exe.ancestors().nth(3).unwrap().to_path_buf();
    let lklnet = exe.parent().unwrap().parent().unwrap().join("lklnet");
    let dir = std::env::temp_dir().join(format!("lklnet-bench-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { geteuid() } == 0;
    if !root {
        println!("sim: the host's side skipped (network namespaces need root)");
    }

    for n in [10, 100, 1000] {
        let topology = line(n);
        let (mut ours_s, mut ours_mem, mut host_s, mut host_mem) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let report = run_sim(&lklnet, &dir, &topology);
            ours_s.push(report["build_seconds"].as_f64().unwrap());
            ours_mem.push(report["kernel_bytes_per_node"].as_f64().unwrap());
            if root {
                let (s, m) = host_line(n);
                host_s.push(s);
                host_mem.push(m);
            }
        }
        let bench = format!("sim_{n}_nodes");
        let reference = |v: &Vec<f64>| root.then(|| median(v.iter().copied()));
        Measurement {
            bench: &bench,
            subject_name: "lklnet",
            reference_name: "ip netns",
            subject: median(ours_s.iter().copied()) * 1e3 / n as f64,
            reference: reference(&host_s).map(|s| s * 1e3 / n as f64),
            unit: "ms/node",
        }
        .report(&target);
        Measurement {
            bench: &bench,
            subject_name: "lklnet",
            reference_name: "ip netns",
            subject: median(ours_mem.iter().copied()) / 1024.0,
            reference: reference(&host_mem).map(|m| m / 1024.0),
            unit: "KiB/node",
        }
        .report(&target);
    }

    let mut speed = Vec::new();
    for _ in 0..ROUNDS {
        let report = run_sim(&lklnet, &dir, &pairs(10));
        let simulated = report["simulated_seconds"].as_f64().unwrap();
        let wall = report["wall_seconds"].as_f64().unwrap();
        speed.push(simulated / wall);
    }
    Measurement {
        bench: "sim_100_nodes_tcp",
        subject_name: "virtual",
        reference_name: "real time",
        subject: median(speed),
        reference: Some(1.0),
        unit: "sim s/s",
    }
    .report(&target);
    let _ = std::fs::remove_dir_all(&dir);
}

extern "C" {
    fn geteuid() -> u32;
}
