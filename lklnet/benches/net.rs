//! Networking side by side with the host kernel, in network namespaces
//! this bench makes (root; skipped otherwise): one TCP stream from Linux
//! in-process over a TAP device to the host, against the host to itself
//! over a veth pair; 1-byte round trips the same two ways; `lklnet get`
//! of a 1 GiB file against curl, from the same host server. The host's
//! ends are this program too (`--sink`, `--echo`, `--host-send`,
//! `--host-rtt`), run inside the namespaces.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lkl::bench::{median, Measurement};
use lkl::net::{self, config, TapLink};
use lkl::{Config, Kernel};

const STREAM_BYTES: u64 = 512 << 20;
const ROUND_TRIPS: u32 = 2000;
const FILE_BYTES: u64 = 1 << 30;
const ROUNDS: usize = 3;
const NS_A: &str = "lklnet-bench-a";
const NS_B: &str = "lklnet-bench-b";

fn sink(addr: &str) {
    let listener = TcpListener::bind(addr).unwrap();
    println!("ready");
    for stream in listener.incoming() {
        let mut stream = stream.unwrap();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            while stream.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
    }
}

fn echo(addr: &str) {
    let listener = TcpListener::bind(addr).unwrap();
    println!("ready");
    for stream in listener.incoming() {
        let mut stream = stream.unwrap();
        stream.set_nodelay(true).unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 1];
            while stream.read_exact(&mut b).is_ok() && stream.write_all(&b).is_ok() {}
        });
    }
}

/// Seconds to send STREAM_BYTES to `addr` and close.
fn host_send(addr: SocketAddr) -> f64 {
    let mut s = TcpStream::connect(addr).unwrap();
    let buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..STREAM_BYTES >> 20 {
        s.write_all(&buf).unwrap();
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = s.read(&mut [0u8; 1]);
    start.elapsed().as_secs_f64()
}

/// Microseconds per 1-byte round trip with the echo server at `addr`.
fn host_rtt(addr: SocketAddr) -> f64 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut b = [7u8; 1];
    let start = Instant::now();
    for _ in 0..ROUND_TRIPS {
        s.write_all(&b).unwrap();
        s.read_exact(&mut b).unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / ROUND_TRIPS as f64
}

/// In namespace A: Linux in-process on tap0, sending then echoing.
fn lkl_side(sink: SocketAddr, echo: SocketAddr) -> (f64, f64) {
    let _kernel = Kernel::boot(&Config {
        memory: 128 << 20,
        ..Config::default()
    })
    .unwrap();
    let link = TapLink::open("tap0", 1500).unwrap();
    let nic = net::add_nic(link.clone(), [0; 6]).unwrap();
    link.start(nic.receiver()).unwrap();
    let ifindex = nic.ifindex().unwrap();
    config::set_link_up(ifindex, true).unwrap();
    config::add_address(ifindex, "10.9.0.2".parse().unwrap(), 24).unwrap();

    let s = net::TcpStream::connect(sink).unwrap();
    let buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..STREAM_BYTES >> 20 {
        s.write_all(&buf).unwrap();
    }
    s.shutdown(net::Shutdown::Write).unwrap();
    let _ = s.read(&mut [0u8; 1]);
    let stream = start.elapsed().as_secs_f64();

    let s = net::TcpStream::connect(echo).unwrap();
    s.set_nodelay(true).unwrap();
    let mut b = [7u8; 1];
    let start = Instant::now();
    for _ in 0..ROUND_TRIPS {
        s.write_all(&b).unwrap();
        let mut got = 0;
        while got == 0 {
            got = s.read(&mut b).unwrap();
        }
    }
    let rtt = start.elapsed().as_secs_f64() * 1e6 / ROUND_TRIPS as f64;
    link.stop();
    (stream, rtt)
}

fn sh(command: &str) {
    let ok = Command::new("sh")
        .args(["-c", command])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{command}");
}

fn in_ns(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

fn output(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A host process in a namespace that prints "ready" once listening.
fn ready(mut c: Command) -> Child {
    c.stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut line = [0u8; 6];
    child.stdout.take().unwrap().read_exact(&mut line).unwrap();
    child
}

fn cleanup() {
    let _ = Command::new("sh")
        .args([
            "-c",
            &format!(
                "for n in {NS_A} {NS_B}; do ip netns pids $n | xargs -r kill -9; ip netns del $n; done 2>/dev/null"
            ),
        ])
        .status();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args[i].clone();
    match args.get(1).map(String::as_str) {
        Some("--sink") => return sink(&arg(2)),
        Some("--echo") => return echo(&arg(2)),
        Some("--host-send") => return println!("{}", host_send(arg(2).parse().unwrap())),
        Some("--host-rtt") => return println!("{}", host_rtt(arg(2).parse().unwrap())),
        Some("--lkl") => {
            let (s, r) = lkl_side(arg(2).parse().unwrap(), arg(3).parse().unwrap());
            return println!("{s} {r}");
        }
        _ => {}
    }
    // SAFETY: geteuid only reads the process's credentials.
    if unsafe { geteuid() } != 0 {
        println!("net: skipped (network namespaces need root)");
        return;
    }
    cleanup();
    sh(&format!("ip netns add {NS_A} && ip netns add {NS_B}"));
    sh(&format!(
        "ip link add vA netns {NS_A} type veth peer name vB netns {NS_B} && \
         ip -n {NS_A} addr add 10.8.0.1/24 dev vA && ip -n {NS_B} addr add 10.8.0.2/24 dev vB && \
         ip -n {NS_A} link set vA up && ip -n {NS_B} link set vB up && \
         ip -n {NS_A} link set lo up && ip -n {NS_B} link set lo up && \
         ip netns exec {NS_A} ip tuntap add dev tap0 mode tap && \
         ip -n {NS_A} addr add 10.9.0.1/24 dev tap0 && ip -n {NS_A} link set tap0 up"
    ));
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let mut children = vec![
        ready(in_ns(NS_A, &[exe, "--sink", "0.0.0.0:5001"])),
        ready(in_ns(NS_A, &[exe, "--echo", "0.0.0.0:5002"])),
    ];
    let dir = std::env::temp_dir().join(format!("lklnet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join("file"))
        .unwrap()
        .set_len(FILE_BYTES)
        .unwrap();
    let mut http = in_ns(
        NS_A,
        &["python3", "-m", "http.server", "8000", "--bind", "::"],
    );
    http.arg("--directory")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    children.push(http.spawn().unwrap());
    std::thread::sleep(Duration::from_secs(1));
    let lklnet = Path::new(exe)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lklnet");

    let (mut host_stream, mut lkl_stream, mut host_rtt, mut lkl_rtt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut curl, mut get) = (Vec::new(), Vec::new());
    let mb = STREAM_BYTES as f64 / 1e6;
    for _ in 0..ROUNDS {
        let secs: f64 = output(in_ns(NS_B, &[exe, "--host-send", "10.8.0.1:5001"]))
            .parse()
            .unwrap();
        host_stream.push(mb / secs);
        host_rtt.push(
            output(in_ns(NS_B, &[exe, "--host-rtt", "10.8.0.1:5002"]))
                .parse::<f64>()
                .unwrap(),
        );
        let lkl = output(in_ns(
            NS_A,
            &[exe, "--lkl", "10.9.0.1:5001", "10.9.0.1:5002"],
        ));
        let (s, r) = lkl.split_once(' ').unwrap();
        lkl_stream.push(mb / s.parse::<f64>().unwrap());
        lkl_rtt.push(r.parse::<f64>().unwrap());
        curl.push(
            output(in_ns(
                NS_B,
                &[
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{time_total}",
                    "http://10.8.0.1:8000/file",
                ],
            ))
            .parse::<f64>()
            .unwrap(),
        );
        let start = Instant::now();
        output(in_ns(
            NS_A,
            &[
                lklnet.to_str().unwrap(),
                "get",
                "http://10.9.0.1:8000/file",
                "-o",
                "/dev/null",
                "--link",
                "tap:tap0",
                "--addr",
                "10.9.0.2/24",
            ],
        ));
        get.push(start.elapsed().as_secs_f64());
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    cleanup();
    let _ = std::fs::remove_dir_all(&dir);

    let target = Path::new(exe).ancestors().nth(3).unwrap().to_path_buf();
    for (bench, subject_name, subject, reference_name, reference, unit) in [
        (
            "tcp_stream",
            "lkl_tap",
            median(lkl_stream),
            "host_veth",
            median(host_stream),
            "MB/s",
        ),
        (
            "tcp_rtt",
            "lkl_tap",
            median(lkl_rtt),
            "host_veth",
            median(host_rtt),
            "us",
        ),
        (
            "http_1GiB",
            "lklnet_get",
            median(get),
            "curl",
            median(curl),
            "s",
        ),
    ] {
        Measurement {
            bench,
            subject_name,
            reference_name,
            subject,
            reference: Some(reference),
            unit,
        }
        .report(&target);
    }
}

extern "C" {
    fn geteuid() -> u32;
}
