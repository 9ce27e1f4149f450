//! `lklnet sim`: a topology built in one process, each node a Linux
//! network namespace. Pings through a chain of routers take the delays
//! the links were given; topology files with mistakes are refused with
//! the line and what is wrong, before anything is built.
mod common;

use std::process::{Command, Output};

use common::LKLNET;

fn sim(name: &str, topology: &str) -> (Output, Option<serde_json::Value>) {
    sim_with(name, topology, &[])
}

/// `lklnet sim` with more arguments, which must succeed: its JSON report.
fn sim_ok(name: &str, topology: &str, args: &[&str]) -> serde_json::Value {
    let (out, report) = sim_with(name, topology, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report.expect("a report")
}

/// `lklnet sim` with more arguments: its output and its JSON report.
fn sim_with(name: &str, topology: &str, args: &[&str]) -> (Output, Option<serde_json::Value>) {
    let dir = std::env::temp_dir().join(format!("lklnet-sim-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topology.toml");
    std::fs::write(&file, topology).unwrap();
    let report = dir.join("report.json");
    let out = Command::new(LKLNET)
        .arg("sim")
        .arg(&file)
        .arg("--report")
        .arg(&report)
        .args(args)
        .output()
        .unwrap();
    let json = std::fs::read_to_string(&report)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    (out, json)
}

/// a - r1 - r2 - b, with one-way delays `d1`, `d2`, `d3` (ms).
fn chain(d1: u32, d2: u32, d3: u32, count: u32) -> String {
    format!(
        r#"
[nodes.a]
routes = ["default via 10.0.1.2", "default via fd00:1::2"]
[nodes.r1]
forward = true
routes = ["10.0.3.0/24 via 10.0.2.2", "fd00:3::/64 via fd00:2::2"]
[nodes.r2]
forward = true
routes = ["10.0.1.0/24 via 10.0.2.1", "fd00:1::/64 via fd00:2::1"]
[nodes.b]
routes = ["default via 10.0.3.1", "default via fd00:3::1"]

[[links]]
ends = ["a 10.0.1.1/24 fd00:1::1/64", "r1 10.0.1.2/24 fd00:1::2/64"]
delay = "{d1}ms"
[[links]]
ends = ["r1 10.0.2.1/24 fd00:2::1/64", "r2 10.0.2.2/24 fd00:2::2/64"]
delay = "{d2}ms"
[[links]]
ends = ["r2 10.0.3.1/24 fd00:3::1/64", "b 10.0.3.2/24 fd00:3::2/64"]
delay = "{d3}ms"

[[experiments]]
kind = "ping"
from = "a"
to = "10.0.3.2"
count = {count}
interval = "50ms"

[[experiments]]
kind = "ping"
from = "b"
to = "fd00:1::1"
count = {count}
interval = "50ms"
"#
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn pings_through_a_chain_of_routers_take_the_links_delays() {
    let (out, report) = sim("chain", &chain(2, 10, 3, 11));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report.unwrap();
    let experiments = report["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 2);
    for e in experiments {
        assert_eq!(e["received"], 11, "{e}");
        let rtts: Vec<f64> = e["rtt_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        // The first echo waits for neighbour discovery on every hop. The
        // path's delay is the least round trip (as ping's min); the
        // median, with the host's scheduling in it, stays within 2 ms.
        let settled = &rtts[1..];
        let least = settled.iter().copied().fold(f64::INFINITY, f64::min);
        let middle = median(settled.to_vec());
        let path = format!("{} -> {}", e["from"], e["to"]);
        assert!(
            (30.0..31.0).contains(&least),
            "{path}: min {least:.3} ms, configured 30 ({rtts:?})"
        );
        assert!(
            (30.0..32.0).contains(&middle),
            "{path}: median {middle:.3} ms ({rtts:?})"
        );
        assert!(rtts[0] >= 30.0, "{rtts:?}");
    }
    assert!(
        stdout.contains("ping a -> 10.0.3.2: 11/11 answered"),
        "{stdout}"
    );
}

#[test]
fn a_topology_with_mistakes_is_refused_with_its_line() {
    let good = chain(1, 1, 1, 1);
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("forward = true", "forwrd = true"),
            "line 5: unknown field `forwrd`",
        ),
        (
            good.replace("r1 10.0.1.2/24", "r1 10.0.1.1/24"),
            "line 14: 10.0.1.1 is already given on line 14",
        ),
        (
            good.replace("\"r2 10.0.3.1/24", "\"r3 10.0.3.1/24"),
            "line 20: \"r3\": no such node",
        ),
        (
            good.replace("10.0.3.0/24 via", "10.0.3.0/24 through"),
            "line 6: \"10.0.3.0/24 through 10.0.2.2\": not",
        ),
        (
            good.replace("delay = \"10", "delay = \"1").replace(
                "delay = \"1ms\"\n[[links]]\nends = [\"r2",
                "delay = \"1 parsec\"\n[[links]]\nends = [\"r2",
            ),
            "not a time",
        ),
        (
            good.replace("kind = \"ping\"", "kind = \"pong\""),
            "\"pong\": no such experiment",
        ),
        (
            good.replace("10.0.2.2/24", "10.0.2.2/33"),
            "not ADDRESS/PREFIX",
        ),
        (good.replace("[nodes.b]", "[nodes.b]\n[nodes.b]"), "line 11"),
        (
            good.clone() + "[[events]]\nat = \"1s\"\nlink = [\"a\", \"b\"]\naction = \"down\"\n",
            "line 38: no link joins a and b",
        ),
        (
            good.clone() + "[[events]]\nat = \"1s\"\nlink = [\"a\", \"r1\"]\naction = \"down\"\ndelay = \"1ms\"\n",
            "delay, jitter, loss, reorder and rate go with \"change\"",
        ),
        (
            good.clone() + "[[events]]\nat = \"soon\"\nlink = [\"a\", \"r1\"]\naction = \"up\"\n",
            "line 37: \"soon\": not a time",
        ),
        (
            good.replace("[nodes.r1]\n", "[nodes.r1]\nrules = [\"from 10.0.1.0/24 tabel 100\"]\n"),
            "line 5: \"from 10.0.1.0/24 tabel 100\": not \"[from PREFIX]",
        ),
        (
            good.replace("via 10.0.2.2\"", "via 10.0.2.2 table 0\""),
            "not \"PREFIX via ADDRESS [table N]\"",
        ),
        (good.replace("[nodes.a]", "time = \"fast\"\n[nodes.a]"), "time is \"real\" or \"virtual\""),
    ];
    for (topology, expected) in cases {
        assert_ne!(topology, good, "the case for {expected:?} changed nothing");
        let (out, report) = sim("bad", &topology);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "wanted {expected:?}, got: {stderr}"
        );
        assert!(report.is_none(), "{expected}: a report was written");
        assert!(
            !stderr.contains("nodes,"),
            "{expected}: something was built: {stderr}"
        );
    }
}

/// Receives one TCP stream on 10.0.0.2:5201 and prints its bytes and the
/// seconds from its first byte to its end; or, given `send SECONDS`,
/// sends to it for that long.
const TCP_SCRIPT: &str = r#"
import socket, sys, time
if sys.argv[1] == "receive":
    s = socket.socket()
    s.bind(("10.0.0.2", 5201))
    s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    total, first = 0, None
    while True:
        n = len(c.recv(65536))
        now = time.monotonic()
        first = first or now
        if n == 0:
            break
        total += n
    print(total, now - first, flush=True)
else:
    c = socket.create_connection(("10.0.0.2", 5201))
    buf = b"Z" * 65536
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        c.sendall(buf)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
"#;

/// The host kernel's rate for a 5 s TCP stream from namespace a to b over
/// a veth pair whose a end has `tc qdisc ... tbf rate 10mbit burst 32kb
/// limit 128kb`, as the simulator builds a link with `rate = "10mbit"`.
fn host_tbf_mbit_per_s() -> f64 {
    // SAFETY: geteuid only reads the process's credentials.
    assert_eq!(
        unsafe { geteuid() },
        0,
        "this test makes network namespaces: run it as root"
    );
    let id = std::process::id();
    let (a, b) = (format!("lklnet-tbf-a-{id}"), format!("lklnet-tbf-b-{id}"));
    let sh = |command: &str| {
        let out = Command::new("sh").args(["-c", command]).output().unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    struct Gone(String, String);
    impl Drop for Gone {
        fn drop(&mut self) {
            for ns in [&self.0, &self.1] {
                let _ = Command::new("sh")
                    .args([
                        "-c",
                        &format!("ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"),
                    ])
                    .status();
            }
        }
    }
    let _gone = Gone(a.clone(), b.clone());
    sh(&format!(
        "ip netns add {a} && ip netns add {b} && \
         ip -n {a} link set lo up && ip -n {b} link set lo up && \
         ip -n {a} link add eth0 type veth peer name eth0 netns {b} && \
         ip -n {a} addr add 10.0.0.1/24 dev eth0 && ip -n {b} addr add 10.0.0.2/24 dev eth0 && \
         ip -n {a} link set eth0 up && ip -n {b} link set eth0 up && \
         ip netns exec {a} tc qdisc add dev eth0 root tbf rate 10mbit burst 32kb limit 128kb"
    ));
    let mut receiver = Command::new("ip")
        .args(["netns", "exec", &b, "python3", "-c", TCP_SCRIPT, "receive"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(receiver.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    sh(&format!(
        "ip netns exec {a} python3 -c '{TCP_SCRIPT}' send 5"
    ));
    let result = lines.next().unwrap().unwrap();
    receiver.wait().unwrap();
    let (bytes, seconds) = result.split_once(' ').unwrap();
    let (bytes, seconds): (f64, f64) = (bytes.parse().unwrap(), seconds.parse().unwrap());
    bytes * 8.0 / seconds / 1e6
}

extern "C" {
    fn geteuid() -> u32;
}

const TBF_LINK: &str = r#"
[nodes.a]
[nodes.b]

[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
rate = "10mbit"

[[experiments]]
kind = "tcp"
from = "a"
to = "10.0.0.2"
duration = "5s"
"#;

#[test]
fn tcp_through_a_10mbit_tbf_link_runs_at_the_host_kernels_rate() {
    let host = host_tbf_mbit_per_s();
    let (out, report) = sim("tbf", TBF_LINK);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = report.unwrap()["experiments"][0]["mbit_per_s"]
        .as_f64()
        .unwrap();
    eprintln!("tbf 10mbit, 5 s: lklnet {ours:.3} Mbit/s, the host kernel {host:.3} Mbit/s");
    assert!(
        (ours / host - 1.0).abs() < 0.05,
        "lklnet {ours:.3} Mbit/s, the host kernel {host:.3} Mbit/s"
    );
}

fn rtts(experiment: &serde_json::Value) -> Vec<f64> {
    experiment["rtt_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn in_virtual_time_pings_take_exactly_the_links_delays() {
    let (out, report) = sim_with(
        "chain-virtual",
        &chain(2, 10, 3, 11),
        &["--time", "virtual"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = report.unwrap();
    assert_eq!(report["time"], "virtual");
    for e in report["experiments"].as_array().unwrap() {
        let rtts = rtts(e);
        assert_eq!(rtts.len(), 11, "{e}");
        // Work takes no virtual time: once neighbour discovery on the
        // three hops is done (it holds the first two echoes, sent 50 ms
        // apart), each round trip is the links' delays both ways, to the
        // nanosecond.
        for rtt in &rtts[2..] {
            assert!((rtt - 30.0).abs() < 1e-6, "{rtts:?}");
        }
        assert!(rtts[0] > 30.0 && rtts[1] > 30.0, "{rtts:?}");
    }
    // 2 x 11 echoes 50 ms apart: over a simulated second, in less wall time.
    let simulated = report["simulated_seconds"].as_f64().unwrap();
    let wall = report["wall_seconds"].as_f64().unwrap();
    assert!(simulated > 1.0, "{simulated}");
    assert!(wall < simulated, "{wall} s of wall time for {simulated} s");
}

#[test]
fn virtual_time_agrees_with_real_time_and_runs_faster() {
    let (real_out, real) = sim_with("tbf-real", TBF_LINK, &["--time", "real"]);
    assert!(
        real_out.status.success(),
        "{}",
        String::from_utf8_lossy(&real_out.stderr)
    );
    let (virt_out, virt) = sim_with("tbf-virtual", TBF_LINK, &["--time", "virtual"]);
    assert!(
        virt_out.status.success(),
        "{}",
        String::from_utf8_lossy(&virt_out.stderr)
    );
    let (real, virt) = (real.unwrap(), virt.unwrap());
    let rate = |r: &serde_json::Value| r["experiments"][0]["mbit_per_s"].as_f64().unwrap();
    let (real_rate, virt_rate) = (rate(&real), rate(&virt));
    assert!(
        (virt_rate / real_rate - 1.0).abs() < 0.05,
        "virtual {virt_rate:.3} Mbit/s, real {real_rate:.3} Mbit/s"
    );
    // The rate over time: each half second after the first, past slow
    // start, within 5% of real time's median.
    let halves = |r: &serde_json::Value| -> Vec<f64> {
        r["experiments"][0]["mbit_per_s_each_half_second"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let reference = median(halves(&real)[1..9].to_vec());
    for (i, h) in halves(&virt)[1..9].iter().enumerate() {
        assert!(
            (h / reference - 1.0).abs() < 0.05,
            "half second {}: virtual {h:.3} Mbit/s, real median {reference:.3}",
            i + 1
        );
    }
    let wall = virt["wall_seconds"].as_f64().unwrap();
    let simulated = virt["simulated_seconds"].as_f64().unwrap();
    assert!(simulated >= 5.0, "{simulated}");
    assert!(wall < simulated, "{wall} s of wall time for {simulated} s");
}

#[test]
fn a_virtual_run_is_the_same_every_time() {
    // The chain with a 10 Mbit/s link straight from a to b for 2 s of
    // TCP; and the switches with VLANs (IPv6's timers draw random delays
    // there).
    let direct = TBF_LINK
        .replace("[nodes.a]\n[nodes.b]\n", "")
        .replace("\"5s\"", "\"2s\"");
    let dir = std::env::temp_dir().join(format!("lklnet-sim-repeat-{}", std::process::id()));
    // An HTTP fetch between a and b too: `lklnet get` and `serve` run by
    // the engine.
    let http = "[[experiments]]\nkind = \"http\"\nfrom = \"a\"\nto = \"10.0.3.2\"\nsize = 300000\n";
    for (name, topology, links) in [
        ("chain", chain(2, 10, 3, 5) + &direct + http, 4),
        ("vlans", VLANS.to_string(), 5),
    ] {
        let run = |n: u32| {
            let pcap = dir.join(format!("{name}-{n}"));
            let args = ["--time", "virtual", "--pcap", pcap.to_str().unwrap()];
            let mut report = sim_ok("repeat", &topology, &args);
            for wall in ["wall_seconds", "boot_seconds", "build_seconds"] {
                report.as_object_mut().unwrap().remove(wall).unwrap();
            }
            let mut captures = Vec::new();
            for link in 1..=links {
                let file = std::fs::read_dir(&pcap)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .find(|n| n.starts_with(&format!("link{link}-")))
                    .unwrap();
                captures.push(std::fs::read(pcap.join(file)).unwrap());
            }
            (report, captures)
        };
        let (first, second) = (run(1), run(2));
        assert_eq!(first.0, second.0, "{name}");
        // The same frames, bytes and times, on every link.
        for (link, (a, b)) in first.1.iter().zip(&second.1).enumerate() {
            assert!(
                a.len() > 24 * 10,
                "{name} link {}: {} bytes",
                link + 1,
                a.len()
            );
            assert!(a == b, "{name} link {}: the captures differ", link + 1);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn captures_are_read_back_by_tcpdump_and_pictures_are_drawn() {
    let dir = std::env::temp_dir().join(format!("lklnet-sim-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (pcap, plots) = (dir.join("pcap"), dir.join("plots"));
    let (out, report) = sim_with(
        "capture",
        &chain(2, 10, 3, 4),
        &[
            "--time",
            "virtual",
            "--pcap",
            pcap.to_str().unwrap(),
            "--plots",
            plots.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(report.unwrap()["experiments"][0]["received"], 4);

    // The middle link (r1 - r2, 10 ms) as tcpdump reads it at r1: 4 echo
    // requests and 4 replies (v4, and v6 the other way). A request is
    // seen as it leaves r1's qdisc; its reply comes back after r2 - b
    // twice (3 ms) and r2 - r1 (10 ms): 16 ms later, to the nanosecond in
    // virtual time, once neighbours are known.
    let file = pcap.join("link2-r1-r2.pcap");
    let out = Command::new("tcpdump")
        .args(["-nn", "-tt", "--nano", "-r"])
        .arg(&file)
        .args(["icmp or icmp6"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each matching line's time, in nanoseconds.
    let times = |what: &str| -> Vec<u64> {
        text.lines()
            .filter(|l| l.contains(what))
            .map(|l| {
                let (s, ns) = l.split(' ').next().unwrap().split_once('.').unwrap();
                s.parse::<u64>().unwrap() * 1_000_000_000 + ns.parse::<u64>().unwrap()
            })
            .collect()
    };
    let requests = times("10.0.1.1 > 10.0.3.2: ICMP echo request");
    let replies = times("10.0.3.2 > 10.0.1.1: ICMP echo reply");
    assert_eq!((requests.len(), replies.len()), (4, 4), "{text}");
    for (q, r) in requests.iter().zip(&replies).skip(1) {
        assert_eq!(r - q, 16_000_000, "{q} -> {r}:\n{text}");
    }
    assert_eq!(
        times("fd00:3::2 > fd00:1::1: ICMP6, echo request").len(),
        4,
        "{text}"
    );
    // One file per link, each named for its ends.
    for name in ["link1-a-r1.pcap", "link3-r2-b.pcap"] {
        assert!(pcap.join(name).is_file(), "{name}: {stderr}");
    }

    let topology = std::fs::read_to_string(plots.join("topology.svg")).unwrap();
    assert!(topology.starts_with("<svg"), "{topology}");
    for text in ["a", "r1", "r2", "b", "10ms"] {
        let element = format!(">\n{text}\n</text>");
        assert!(topology.contains(&element), "{text} missing: {topology}");
    }
    for i in 1..=2 {
        let chart = std::fs::read_to_string(plots.join(format!("experiment{i}.svg"))).unwrap();
        assert!(chart.contains("RTT (ms)"), "{chart}");
        // One marker per answered echo.
        assert_eq!(chart.matches("<circle").count(), 4, "{chart}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// a - b, 5 ms each way, pinged 30 times 100 ms apart; the link is cut
/// from 1.05 s to 2.05 s, and its delay becomes 20 ms at 2.55 s.
const EVENTS: &str = r#"
[nodes.a]
[nodes.b]

[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
delay = "5ms"

[[experiments]]
kind = "ping"
from = "a"
to = "10.0.0.2"
count = 30
interval = "100ms"

[[events]]
at = "1.05s"
link = ["b", "a"]
action = "down"

[[events]]
at = "2.05s"
link = ["a", "b"]
action = "up"

[[events]]
at = "2.55s"
link = ["a", "b"]
action = "change"
delay = "20ms"
"#;

#[test]
fn scheduled_events_cut_a_link_and_change_its_delay() {
    for time in ["virtual", "real"] {
        let report = sim_ok(&format!("events-{time}"), EVENTS, &["--time", time]);
        let e = &report["experiments"][0];
        let rtts = rtts(e);
        let seqs: Vec<u32> = e["sent_at_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t.as_f64().unwrap() * 10.0).round() as u32)
            .collect();
        // Echoes 11 to 20 go out while the link is cut.
        let expected: Vec<u32> = (0..=10).chain(21..30).collect();
        assert_eq!(seqs, expected, "{time}: {e}");
        for (seq, rtt) in seqs.iter().zip(&rtts).skip(1) {
            let configured = if *seq >= 26 { 40.0 } else { 10.0 };
            let off = rtt - configured;
            match time {
                "virtual" => assert!(off.abs() < 1e-6, "{time}: echo {seq}: {rtt} ms"),
                _ => assert!((0.0..1.0).contains(&off), "{time}: echo {seq}: {rtt} ms"),
            }
        }
    }
}

/// Namespaces of the test's on the host, deleted (with their processes)
/// on drop.
struct HostNamespaces(Vec<String>);

impl HostNamespaces {
    fn new(names: &[&str]) -> HostNamespaces {
        // SAFETY: geteuid only reads the process's credentials.
        assert_eq!(
            unsafe { geteuid() },
            0,
            "this test makes network namespaces: run it as root"
        );
        let id = std::process::id();
        let all = HostNamespaces(names.iter().map(|n| format!("lklnet-{n}-{id}")).collect());
        for ns in &all.0 {
            all.sh(&format!(
                "ip netns add {ns} && ip -n {ns} link set lo up && \
                 ip netns exec {ns} sysctl -qw net.ipv6.conf.default.accept_dad=0"
            ));
        }
        all
    }

    /// Runs `command` in sh with each `{name}` replaced by the namespace
    /// made for it.
    fn sh(&self, command: &str) -> String {
        let mut command = command.to_string();
        for ns in &self.0 {
            let short = ns.rsplit_once('-').unwrap().0.trim_start_matches("lklnet-");
            command = command.replace(&format!("{{{short}}}"), ns);
        }
        let out = Command::new("sh").args(["-c", &command]).output().unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for HostNamespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("sh")
                .args([
                    "-c",
                    &format!("ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"),
                ])
                .status();
        }
    }
}

/// The hops from `{from}` to `to` as the host kernel finds them: `ping`
/// with hop limits 1, 2, 3, ... until the destination answers, three
/// tries a hop (as traceroute's three probes).
fn host_hops(host: &HostNamespaces, from: &str, to: &str) -> Vec<String> {
    let mut hops = Vec::new();
    for limit in 1..=8 {
        let mut hop = "*".to_string();
        for _ in 0..3 {
            let ping = format!("ping -n -c 1 -W 1 -t {limit} {to}");
            let out = Command::new("sh")
                .args(["-c", &host_command(host, from, &ping)])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(line) = text.lines().find(|l| l.starts_with("From ")) {
                hop = line.split(' ').nth(1).unwrap().to_string();
                break;
            } else if text.contains(" bytes from ") {
                hops.push(to.to_string());
                return hops;
            }
        }
        hops.push(hop);
    }
    hops
}

fn host_command(host: &HostNamespaces, node: &str, command: &str) -> String {
    let ns = host
        .0
        .iter()
        .find(|n| n.starts_with(&format!("lklnet-{node}-")))
        .unwrap();
    format!("ip netns exec {ns} {command}")
}

#[test]
fn traceroute_finds_the_hops_the_host_kernel_finds() {
    // The chain on the host: the same addresses and routes, no delays
    // (the host kernel has no netem).
    let host = HostNamespaces::new(&["a", "r1", "r2", "b"]);
    for (i, (x, y)) in [("a", "r1"), ("r1", "r2"), ("r2", "b")].iter().enumerate() {
        let n = i + 1;
        host.sh(&format!(
            "ip -n {{{x}}} link add e{n} type veth peer name e{n} netns {{{y}}} && \
             ip -n {{{x}}} addr add 10.0.{n}.1/24 dev e{n} && ip -n {{{y}}} addr add 10.0.{n}.2/24 dev e{n} && \
             ip -n {{{x}}} addr add fd00:{n}::1/64 dev e{n} nodad && ip -n {{{y}}} addr add fd00:{n}::2/64 dev e{n} nodad && \
             ip -n {{{x}}} link set e{n} up && ip -n {{{y}}} link set e{n} up"
        ));
    }
    host.sh(
        "for r in {r1} {r2}; do ip netns exec $r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1; done && \
         ip -n {a} route add default via 10.0.1.2 && ip -n {a} route add default via fd00:1::2 && \
         ip -n {r1} route add 10.0.3.0/24 via 10.0.2.2 && ip -n {r1} route add fd00:3::/64 via fd00:2::2 && \
         ip -n {r2} route add 10.0.1.0/24 via 10.0.2.1 && ip -n {r2} route add fd00:1::/64 via fd00:2::1 && \
         ip -n {b} route add default via 10.0.3.1 && ip -n {b} route add default via fd00:3::1",
    );
    let cases = [("a", "10.0.3.2"), ("b", "fd00:1::1"), ("r2", "10.0.1.1")];
    let mut topology = chain(2, 10, 3, 1);
    for (from, to) in cases {
        topology +=
            &format!("[[experiments]]\nkind = \"traceroute\"\nfrom = \"{from}\"\nto = \"{to}\"\n");
    }
    let report = sim_ok("traceroute", &topology, &["--time", "virtual"]);
    let experiments = report["experiments"].as_array().unwrap();
    for (i, (from, to)) in cases.iter().enumerate() {
        let ours: Vec<String> = experiments[2 + i]["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["address"].as_str().unwrap_or("*").to_string())
            .collect();
        let reference = host_hops(&host, from, to);
        assert_eq!(ours, reference, "{from} -> {to}");
        assert_eq!(experiments[2 + i]["reached"], true);
    }
}

/// Two switches joined by a trunk carrying VLANs 10 and 20; h1 and h3 in
/// VLAN 10, h2 and h4 in VLAN 20, all four in one subnet.
const VLANS: &str = r#"
[nodes.h1]
[nodes.h2]
[nodes.h3]
[nodes.h4]
[nodes.sw1]
switch = true
[nodes.sw2]
switch = true

[[links]]
ends = ["h1 10.0.0.1/24", "sw1 vlan=10"]
[[links]]
ends = ["h2 10.0.0.2/24", "sw1 vlan=20"]
[[links]]
ends = ["sw1 trunk=10,20", "sw2 trunk=10,20"]
delay = "1ms"
[[links]]
ends = ["h3 10.0.0.3/24", "sw2 vlan=10"]
[[links]]
ends = ["h4 10.0.0.4/24", "sw2 vlan=20"]

[[experiments]]
kind = "ping"
from = "h1"
to = "10.0.0.3"
count = 3
[[experiments]]
kind = "ping"
from = "h2"
to = "10.0.0.4"
count = 3
[[experiments]]
kind = "ping"
from = "h1"
to = "10.0.0.4"
count = 3
[[experiments]]
kind = "ping"
from = "h1"
to = "10.0.0.2"
count = 3
"#;

#[test]
fn switches_keep_vlans_apart_and_tag_them_on_the_trunk() {
    let dir = std::env::temp_dir().join(format!("lklnet-sim-vlans-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = sim_ok(
        "vlans",
        VLANS,
        &["--time", "virtual", "--pcap", dir.to_str().unwrap()],
    );
    let received: Vec<u64> = report["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["received"].as_u64().unwrap())
        .collect();
    // Within a VLAN, across the trunk: answered. Across VLANs, even
    // within one switch: nothing.
    assert_eq!(received, [3, 3, 0, 0]);
    // On the trunk, as tcpdump reads it: VLAN 10's and 20's echoes tagged.
    let out = Command::new("tcpdump")
        .args(["-nn", "-e", "-r"])
        .arg(dir.join("link3-sw1-sw2.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for (vlan, echo) in [(10, "10.0.0.1 > 10.0.0.3"), (20, "10.0.0.2 > 10.0.0.4")] {
        let tagged = text
            .lines()
            .filter(|l| l.contains(&format!("vlan {vlan},")) && l.contains(echo))
            .count();
        assert_eq!(tagged, 3, "VLAN {vlan}:\n{text}");
    }
    assert!(!text.contains("10.0.0.1 > 10.0.0.4"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);

    for (from, to, expected) in [
        (
            "sw1 vlan=20\"]",
            "sw1 vlan=5000\"]",
            "line 14: \"vlan=5000\": not vlan=N",
        ),
        (
            "sw1 vlan=10\"]",
            "sw1 vlan=10 10.0.0.9/24\"]",
            "a switch's port has no address",
        ),
        (
            "h1 10.0.0.1/24\"",
            "h1 10.0.0.1/24 vlan=10\"",
            "VLANs are for a switch's ports",
        ),
        (
            "switch = true\n[nodes.sw2]",
            "stp = true\n[nodes.sw2]",
            "sw1: stp is for a switch",
        ),
    ] {
        let topology = VLANS.replacen(from, to, 1);
        assert_ne!(topology, VLANS, "{expected}");
        let (out, _) = sim("bad-vlans", &topology);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "wanted {expected:?}: {stderr}");
    }
}

/// h1 - sw1, sw1 - sw2 - sw3 - sw1 (a loop), sw3 - h2.
const SWITCH_LOOP: &str = r#"
[nodes.h1]
[nodes.h2]
[nodes.sw1]
switch = true
stp = true
[nodes.sw2]
switch = true
stp = true
[nodes.sw3]
switch = true
stp = true

[[links]]
ends = ["h1 10.0.0.1/24", "sw1"]
[[links]]
ends = ["sw1", "sw2"]
[[links]]
ends = ["sw2", "sw3"]
[[links]]
ends = ["sw3", "sw1"]
[[links]]
ends = ["h2 10.0.0.2/24", "sw3"]

[[experiments]]
kind = "ping"
from = "h1"
to = "10.0.0.2"
count = 40
interval = "1s"
"#;

#[test]
fn a_loop_of_switches_needs_spanning_tree_and_then_works() {
    let report = sim_ok("stp", SWITCH_LOOP, &["--time", "virtual"]);
    let e = &report["experiments"][0];
    // Ports forward after listening and learning (15 s each, Linux's
    // defaults); from then on every echo is answered, once.
    let first = e["sent_at_s"][0].as_f64().unwrap();
    assert!((29.0..=33.0).contains(&first), "{e}");
    assert_eq!(e["received"].as_u64().unwrap(), 40 - first as u64, "{e}");

    let (out, report) = sim("no-stp", &SWITCH_LOOP.replace("stp = true\n", ""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 17: this link closes a loop of switches (sw1, sw2, sw3)"),
        "{stderr}"
    );
    assert!(report.is_none());
}

/// The firewall of the tests: forwarding only what the client starts to
/// port 5201 and its echoes, and the answers; the client's addresses
/// hidden behind the firewall's (the server has no route back).
const FIREWALL_RULES: &str = r#"table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "eth0" oifname "eth1" tcp dport 5201 accept
    iifname "eth0" oifname "eth1" ip protocol icmp accept
  }
}
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth1" masquerade
  }
}
"#;

fn firewall_topology() -> String {
    format!(
        r#"
[nodes.client]
routes = ["default via 10.0.1.2"]
[nodes.fw]
forward = true
firewall = """
{FIREWALL_RULES}"""
[nodes.server]

[[links]]
ends = ["client 10.0.1.1/24", "fw 10.0.1.2/24"]
rate = "100mbit"
[[links]]
ends = ["fw 10.0.2.1/24", "server 10.0.2.2/24"]
rate = "100mbit"

[[experiments]]
kind = "ping"
from = "client"
to = "10.0.2.2"
count = 3
[[experiments]]
kind = "tcp"
from = "client"
to = "10.0.2.2"
duration = "1s"
[[experiments]]
kind = "tcp"
from = "client"
to = "10.0.2.2"
port = 5202
duration = "1s"
"#
    )
}

/// Listens on 10.0.2.2 at the ports given and prints, for each
/// connection, the port and the peer's address.
const LISTEN_SCRIPT: &str = r#"
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.2.2", int(port)))
    s.listen(4)
    sel.register(s, selectors.EVENT_READ, port)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        c, peer = key.fileobj.accept()
        print(key.data, peer[0], flush=True)
        c.close()
"#;

/// Connects to 10.0.2.2:PORT within 2 s: "connected" or the error's name.
const CONNECT_SCRIPT: &str = r#"
import socket, sys
try:
    socket.create_connection(("10.0.2.2", int(sys.argv[1])), timeout=2).close()
    print("connected")
except OSError as e:
    print(type(e).__name__)
"#;

#[test]
fn a_firewall_drops_and_nats_what_the_host_kernels_nftables_does() {
    // The host kernel: the same nodes, interface names and rules, loaded
    // by nft.
    let host = HostNamespaces::new(&["client", "fw", "server"]);
    host.sh(
        "ip -n {client} link add eth0 type veth peer name eth0 netns {fw} && \
         ip -n {fw} link add eth1 type veth peer name eth0 netns {server} && \
         ip -n {client} addr add 10.0.1.1/24 dev eth0 && ip -n {fw} addr add 10.0.1.2/24 dev eth0 && \
         ip -n {fw} addr add 10.0.2.1/24 dev eth1 && ip -n {server} addr add 10.0.2.2/24 dev eth0 && \
         for l in '{client} eth0' '{fw} eth0' '{fw} eth1' '{server} eth0'; do set -- $l; ip -n $1 link set $2 up; done && \
         ip -n {client} route add default via 10.0.1.2 && \
         ip netns exec {fw} sysctl -qw net.ipv4.ip_forward=1",
    );
    let rules = std::env::temp_dir().join(format!("lklnet-fw-{}.nft", std::process::id()));
    std::fs::write(&rules, FIREWALL_RULES).unwrap();
    host.sh(&format!("ip netns exec {{fw}} nft -f {}", rules.display()));
    let _ = std::fs::remove_file(&rules);
    let mut listener = Command::new("sh")
        .args([
            "-c",
            &host_command(
                &host,
                "server",
                &format!("python3 -c '{LISTEN_SCRIPT}' 5201 5202"),
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut heard =
        std::io::BufRead::lines(std::io::BufReader::new(listener.stdout.take().unwrap()));
    assert_eq!(heard.next().unwrap().unwrap(), "ready");
    let ping = host.sh(&host_command(
        &host,
        "client",
        "ping -n -c 3 -i 0.2 -W 1 10.0.2.2 | grep -c 'bytes from' || true",
    ));
    let host_answered: u64 = ping.trim().parse().unwrap();
    let connect = |port: u16| {
        host.sh(&host_command(
            &host,
            "client",
            &format!("python3 -c '{CONNECT_SCRIPT}' {port}"),
        ))
        .trim()
        .to_string()
    };
    assert_eq!(connect(5201), "connected");
    let host_seen = heard.next().unwrap().unwrap();
    let host_blocked = connect(5202);
    let _ = listener.kill();
    let _ = listener.wait();

    // The simulator, in virtual time.
    let report = sim_ok("firewall", &firewall_topology(), &["--time", "virtual"]);
    let e = report["experiments"].as_array().unwrap();
    // Echoes forwarded and NATed both ways, as on the host.
    assert_eq!(host_answered, 3);
    assert_eq!(
        e[0]["received"].as_u64().unwrap(),
        host_answered,
        "{}",
        e[0]
    );
    // Port 5201 let through, the client seen as the firewall's address.
    assert_eq!(host_seen, "5201 10.0.2.1");
    let seen = e[1]["seen_from"].as_str().unwrap();
    assert_eq!(seen.split(':').next().unwrap(), "10.0.2.1", "{}", e[1]);
    assert!(e[1]["bytes"].as_u64().unwrap() > 1 << 20, "{}", e[1]);
    // Port 5202 dropped: the connection times out, nothing is heard.
    assert_eq!(host_blocked, "TimeoutError");
    assert!(
        e[2]["error"].as_str().unwrap().starts_with("ETIMEDOUT"),
        "{}",
        e[2]
    );
    assert!(e[2]["seen_from"].is_null(), "{}", e[2]);

    // Rules that do not parse, or that the kernel refuses: the line.
    for (bad, expected) in [
        ("tcp dport 5201 accept", "tcp dport 5201 acept"),
        ("priority filter;", "priority sometimes;"),
        (
            "oifname \"eth1\" masquerade",
            "oifname \"eth1\" dnat to 10.0.2.2:99999",
        ),
        // NAT in a filter chain: the kernel's refusal, with its line.
        (
            "established,related accept",
            "established,related masquerade",
        ),
    ] {
        let topology = firewall_topology().replace(bad, expected);
        assert_ne!(topology, firewall_topology());
        let (out, report) = sim("bad-firewall", &topology);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let line = topology.lines().position(|l| l.contains(expected)).unwrap() + 1;
        assert!(
            stderr.contains(&format!("line {line}: ")),
            "{expected}: {stderr}"
        );
        assert!(report.is_none());
    }
}

#[test]
fn a_seed_sets_the_kernels_random_numbers() {
    // 30% loss each way: an echo comes back with probability 0.49.
    let lossy = r#"
[nodes.a]
[nodes.b]
[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
delay = "5ms"
loss = "30%"
[[experiments]]
kind = "ping"
from = "a"
to = "10.0.0.2"
count = 200
interval = "20ms"
"#;
    let answered = |seed: &str| -> Vec<f64> {
        let report = sim_ok("seed", lossy, &["--time", "virtual", "--seed", seed]);
        assert_eq!(report["seed"].as_u64().unwrap().to_string(), seed);
        report["experiments"][0]["sent_at_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (one, again, two) = (answered("1"), answered("1"), answered("2"));
    assert_eq!(one, again, "the same seed, another run");
    assert_ne!(one, two, "another seed, the same echoes lost");
    for got in [&one, &two] {
        // 200 x 0.49 = 98, sd 7: within 4 sd.
        assert!(
            (70..=126).contains(&got.len()),
            "{} of 200 answered",
            got.len()
        );
    }
}

/// a - b; neighbours found by one echo, then from 0.5 s the link delays
/// by 5 ms +- 1 ms (uniform) and loses 10%, and 5 Mbit/s of datagrams
/// cross it for 10 s.
const UDP: &str = r#"
seed = 7
[nodes.a]
[nodes.b]
[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
[[experiments]]
kind = "ping"
from = "a"
to = "10.0.0.2"
count = 1
[[experiments]]
kind = "udp"
from = "a"
to = "10.0.0.2"
rate = "5mbit"
duration = "10s"
start = "1s"
[[events]]
at = "0.5s"
link = ["a", "b"]
action = "change"
delay = "5ms"
jitter = "1ms"
loss = "10%"
"#;

#[test]
fn udp_sees_the_links_loss_delay_and_jitter() {
    for time in ["virtual", "real"] {
        let report = sim_ok(&format!("udp-{time}"), UDP, &["--time", time]);
        let u = &report["experiments"][1];
        // The datagrams lost are the drops a's netem counted (with, at
        // most, a few neighbour and multicast packets of its own).
        let end = &report["links"][0]["ends"][0];
        assert_eq!(end["node"], "a");
        let netem = &end["qdiscs"][0];
        assert_eq!(netem["kind"], "netem", "{end}");
        let lost = u["sent"].as_u64().unwrap() - u["received"].as_u64().unwrap();
        let drops = netem["drops"].as_u64().unwrap();
        assert!(
            (lost..=lost + 5).contains(&drops),
            "{lost} lost, {drops} dropped: {end}"
        );
        assert_eq!(report["nodes"]["a"]["Udp.OutDatagrams"], u["sent"]);
        let get = |k: &str| u[k].as_f64().unwrap();
        // 5 Mbit/s of 1,200-byte datagrams for 10 s.
        assert_eq!(u["sent"], 5209, "{u}");
        // 10% lost, within 4 standard deviations (0.42% each).
        assert!((get("lost") - 0.10).abs() < 0.017, "{time}: {u}");
        // Uniform in 4 to 6 ms: its mean 5 ms, consecutive differences
        // 2/3 ms on average. Real time adds the host's scheduling: a
        // little to the mean, sometimes milliseconds to the greatest.
        let late = if time == "virtual" { 1e-6 } else { 1.0 };
        assert!(get("delay_min_ms") >= 4.0 - 1e-6, "{time}: {u}");
        if time == "virtual" {
            assert!(get("delay_max_ms") <= 6.0 + late, "{time}: {u}");
        }
        assert!(
            (get("delay_avg_ms") - 5.0).abs() < 0.05 + late / 4.0,
            "{time}: {u}"
        );
        assert!(
            (get("jitter_ms") - 2.0 / 3.0).abs() < 0.05 + late / 4.0,
            "{time}: {u}"
        );
    }
}

/// Two LANs behind router r, two ways from r to server s (through p1 and
/// through p2); r sends LAN 2's packets the other way, by a rule.
const POLICY: &str = r#"
[nodes.h1]
routes = ["default via 10.0.1.254"]
[nodes.h2]
routes = ["default via 10.0.4.254"]
[nodes.r]
forward = true
routes = ["10.0.7.0/24 via 10.0.2.2", "10.0.7.0/24 via 10.0.3.2 table 100"]
rules = ["from 10.0.4.0/24 table 100"]
[nodes.p1]
forward = true
routes = ["10.0.1.0/24 via 10.0.2.1", "10.0.4.0/24 via 10.0.2.1"]
[nodes.p2]
forward = true
routes = ["10.0.7.0/24 via 10.0.8.2", "10.0.1.0/24 via 10.0.3.1", "10.0.4.0/24 via 10.0.3.1"]
[nodes.s]
routes = ["10.0.1.0/24 via 10.0.7.1", "10.0.4.0/24 via 10.0.8.1"]

[[links]]
ends = ["h1 10.0.1.1/24", "r 10.0.1.254/24"]
[[links]]
ends = ["h2 10.0.4.1/24", "r 10.0.4.254/24"]
[[links]]
ends = ["r 10.0.2.1/24", "p1 10.0.2.2/24"]
[[links]]
ends = ["r 10.0.3.1/24", "p2 10.0.3.2/24"]
[[links]]
ends = ["p1 10.0.7.1/24", "s 10.0.7.2/24"]
[[links]]
ends = ["p2 10.0.8.1/24", "s 10.0.8.2/24"]

[[experiments]]
kind = "traceroute"
from = "h1"
to = "10.0.7.2"
[[experiments]]
kind = "traceroute"
from = "h2"
to = "10.0.7.2"
"#;

#[test]
fn routing_rules_pick_tables_as_the_host_kernels_do() {
    // The same on the host kernel: namespaces, veth (named as the
    // simulator names them: eth0, eth1, ... in the order of links),
    // routes, the rule.
    let host = HostNamespaces::new(&["h1", "h2", "r", "p1", "p2", "s"]);
    let mut next: std::collections::HashMap<&str, u32> = Default::default();
    for (x, xa, y, ya) in [
        ("h1", "10.0.1.1", "r", "10.0.1.254"),
        ("h2", "10.0.4.1", "r", "10.0.4.254"),
        ("r", "10.0.2.1", "p1", "10.0.2.2"),
        ("r", "10.0.3.1", "p2", "10.0.3.2"),
        ("p1", "10.0.7.1", "s", "10.0.7.2"),
        ("p2", "10.0.8.1", "s", "10.0.8.2"),
    ] {
        let mut dev = |n: &'static str| {
            let i = next.entry(n).or_insert(0);
            *i += 1;
            format!("eth{}", *i - 1)
        };
        let (dx, dy) = (dev(x), dev(y));
        host.sh(&format!(
            "ip -n {{{x}}} link add {dx} type veth peer name {dy} netns {{{y}}} && \
             ip -n {{{x}}} addr add {xa}/24 dev {dx} && ip -n {{{y}}} addr add {ya}/24 dev {dy} && \
             ip -n {{{x}}} link set {dx} up && ip -n {{{y}}} link set {dy} up"
        ));
    }
    host.sh(
        "for n in {r} {p1} {p2}; do ip netns exec $n sysctl -qw net.ipv4.ip_forward=1; done && \
         ip -n {h1} route add default via 10.0.1.254 && ip -n {h2} route add default via 10.0.4.254 && \
         ip -n {r} route add 10.0.7.0/24 via 10.0.2.2 && \
         ip -n {r} route add 10.0.7.0/24 via 10.0.3.2 table 100 && \
         ip -n {r} rule add from 10.0.4.0/24 table 100 && \
         ip -n {p1} route add 10.0.1.0/24 via 10.0.2.1 && ip -n {p1} route add 10.0.4.0/24 via 10.0.2.1 && \
         ip -n {p2} route add 10.0.7.0/24 via 10.0.8.2 && \
         ip -n {p2} route add 10.0.1.0/24 via 10.0.3.1 && ip -n {p2} route add 10.0.4.0/24 via 10.0.3.1 && \
         ip -n {s} route add 10.0.1.0/24 via 10.0.7.1 && ip -n {s} route add 10.0.4.0/24 via 10.0.8.1",
    );
    let report = sim_ok("policy", POLICY, &["--time", "virtual"]);
    for (i, from) in ["h1", "h2"].iter().enumerate() {
        let e = &report["experiments"][i];
        let ours: Vec<String> = e["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["address"].as_str().unwrap_or("*").to_string())
            .collect();
        assert_eq!(ours, host_hops(&host, from, "10.0.7.2"), "{from}");
    }
    // And the way each took: through p1, and by the rule through p2.
    assert_eq!(report["experiments"][0]["hops"][1]["address"], "10.0.2.2");
    assert_eq!(report["experiments"][1]["hops"][1]["address"], "10.0.3.2");
}

#[test]
fn reordering_sends_a_share_ahead_of_the_delayed() {
    // netem's reorder: 25% go at once, the others 10 ms later.
    let topology = r#"
seed = 3
[nodes.a]
[nodes.b]
[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
delay = "10ms"
reorder = "25%"
[[experiments]]
kind = "ping"
from = "a"
to = "10.0.0.2"
count = 1
[[experiments]]
kind = "udp"
from = "a"
to = "10.0.0.2"
rate = "1mbit"
duration = "10s"
"#;
    let report = sim_ok("reorder", topology, &["--time", "virtual"]);
    let u = &report["experiments"][1];
    assert_eq!(u["received"], u["sent"], "{u}");
    assert_eq!(u["delay_min_ms"].as_f64().unwrap(), 0.0, "{u}");
    // (The clock event device takes no timer nearer than 1 us: a wait
    // can end that much late.)
    let max = u["delay_max_ms"].as_f64().unwrap();
    assert!((10.0..=10.001 + 1e-9).contains(&max), "{u}");
    // The share sent at once, from the mean delay: 25% within 4
    // standard deviations (1.3% each, 1,042 datagrams).
    let at_once = 1.0 - u["delay_avg_ms"].as_f64().unwrap() / 10.0;
    assert!((at_once - 0.25).abs() < 0.055, "{at_once}: {u}");
    assert!(u["reordered"].as_u64().unwrap() > 0, "{u}");

    let (out, _) = sim(
        "reorder-no-delay",
        &topology.replace("delay = \"10ms\"\n", ""),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 7: \"25%\": reordering sends"),
        "{stderr}"
    );
}

#[test]
fn fq_codel_keeps_a_ping_fast_beside_a_stream_and_pfifo_does_not() {
    // 20 ms each way, 10 Mbit/s, the queue before the rate fq_codel or
    // pfifo; a stream fills it while a ping runs.
    let topology = |queue: &str| {
        format!(
            r#"
[nodes.a]
[nodes.b]
[[links]]
ends = ["a 10.0.0.1/24", "b 10.0.0.2/24"]
delay = "20ms"
rate = "10mbit"
queue = "{queue}"
[[experiments]]
kind = "ping"
from = "a"
to = "10.0.0.2"
count = 80
interval = "100ms"
start = "0s"
[[experiments]]
kind = "tcp"
from = "a"
to = "10.0.0.2"
duration = "8s"
start = "0s"
"#
        )
    };
    let run = |queue: &str| {
        let report = sim_ok(queue, &topology(queue), &["--time", "virtual"]);
        let rtts = rtts(&report["experiments"][0]);
        let rate = report["experiments"][1]["mbit_per_s"].as_f64().unwrap();
        (median(rtts), rate)
    };
    let (fq, fq_rate) = run("fq_codel");
    let (fifo, fifo_rate) = run("pfifo");
    // FQ-CoDel (RFC 8290) gives the ping's sparse flow its own queue, and
    // keeps the stream's near CoDel's 5 ms target: the ping sees the path's
    // 40 ms and little more. Behind the stream in one FIFO it waits
    // hundreds of milliseconds. The stream gets the rate either way.
    assert!((40.0..45.0).contains(&fq), "fq_codel: median RTT {fq} ms");
    assert!(fifo > 200.0, "pfifo: median RTT {fifo} ms");
    for rate in [fq_rate, fifo_rate] {
        assert!(rate > 9.0, "{rate} Mbit/s");
    }
    let (out, _) = sim("queue", &topology("red"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 8: \"red\": not fq_codel or pfifo"),
        "{stderr}"
    );
}

#[test]
fn a_firewall_changes_its_rules_at_a_scheduled_time() {
    // fw forwards nothing; at 1.05 s its rules are replaced by rules that
    // forward ICMP. Echoes go every 100 ms.
    let topology = include_str!("firewall_event.toml");
    for time in ["virtual", "real"] {
        let report = sim_ok(&format!("fw-event-{time}"), topology, &["--time", time]);
        let e = &report["experiments"][0];
        let answered: Vec<u32> = e["sent_at_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t.as_f64().unwrap() * 10.0).round() as u32)
            .collect();
        assert_eq!(answered, (11..20).collect::<Vec<_>>(), "{time}: {e}");
    }
    let bad = topology.replace("meta l4proto icmp accept", "meta l4proto icmp acept");
    let (out, _) = sim("fw-event-bad", &bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = bad.lines().position(|l| l.contains("acept")).unwrap() + 1;
    assert!(
        stderr.contains(&format!("line {line}: \"acept\"")),
        "{stderr}"
    );
    let (out, _) = sim(
        "fw-event-link",
        &topology.replace("node = \"fw\"", "link = [\"a\", \"fw\"]"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a firewall event gives the node and its firewall, no link"),
        "{stderr}"
    );
}

#[test]
fn http_fetches_a_body_across_the_network() {
    // a - r - b, 10 ms each way on each link, 10 Mbit/s on the second;
    // one echo finds the neighbours, then `lklnet get` on a fetches 1 MB
    // from `lklnet serve` on b.
    let topology = include_str!("http_fetch.toml");
    let mut took = Vec::new();
    for time in ["virtual", "real"] {
        let report = sim_ok(&format!("http-{time}"), topology, &["--time", time]);
        let h = &report["experiments"][1];
        assert_eq!(h["bytes"], 1_000_000, "{h}");
        assert!(h["error"].is_null(), "{h}");
        // The first byte after two round trips of 40 ms (connect, then
        // request and answer), and what crossing 10 Mbit/s adds.
        let first = h["time_to_first_byte_ms"].as_f64().unwrap();
        let slack = if time == "virtual" { 1.0 } else { 10.0 };
        assert!((80.0..80.0 + slack).contains(&first), "{time}: {h}");
        took.push(h["seconds"].as_f64().unwrap());
    }
    assert!(
        (took[0] / took[1] - 1.0).abs() < 0.05,
        "virtual {} s, real {} s",
        took[0],
        took[1]
    );
}
