//! lklnet.exe (x86_64-pc-windows-gnu, the NT user-space host) under Wine:
//! two programs, each with its own Linux, on a UDP link over Windows'
//! loopback; a file comes back byte for byte, a missing one is a 404.
mod common;
#[path = "../../tests/support/wine.rs"]
mod wine;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{link, ports, random_bytes};
use wine::{build_windows, Wine};

#[test]
fn two_windows_programs_talk_through_their_linux_stacks() {
    let exe = build_windows(&["-p", "lklnet"]).join("lklnet.exe");
    let dir = std::env::temp_dir().join(format!("lklnet-wine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    let body = random_bytes(4 << 20, 7);
    std::fs::write(dir.join("www/file"), &body).unwrap();
    let z = |p: &std::path::Path| format!("Z:{}", p.display()).replace('/', "\\");
    let (a, b) = ports();
    let wine = Wine::new();

    let mut server = wine
        .command(&exe)
        .args([
            "serve",
            &z(&dir.join("www")),
            "--port",
            "8080",
            "--requests",
            "2",
        ])
        .args(["--link", &link(a, b), "--addr", "10.0.0.1/24"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert!(said.contains("serving"), "lklnet.exe serve said: {said}");

    let get = |path: &str, out: &std::path::Path| {
        wine.command(&exe)
            .args(["get", &format!("http://10.0.0.1:8080{path}"), "-o", &z(out)])
            .args(["--link", &link(b, a), "--addr", "10.0.0.2/24"])
            .output()
            .unwrap()
    };
    let got = dir.join("got");
    let out = get("/file", &got);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&got).unwrap() == body, "the body differs");
    let out = get("/missing", &dir.join("missing"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
    assert!(server.wait().unwrap().success());
}

/// A chain of routers with delays and a 10 Mbit/s link, pinged, streamed
/// through, traced and fetched through (`lklnet get` from `lklnet serve`)
/// in virtual time.
const TOPOLOGY: &str = r#"
[nodes.a]
routes = ["default via 10.0.1.2"]
[nodes.r]
forward = true
[nodes.b]
routes = ["default via 10.0.2.1"]

[[links]]
ends = ["a 10.0.1.1/24", "r 10.0.1.2/24"]
delay = "5ms"
[[links]]
ends = ["r 10.0.2.1/24", "b 10.0.2.2/24"]
rate = "10mbit"

[[experiments]]
kind = "ping"
from = "a"
to = "10.0.2.2"
count = 5
[[experiments]]
kind = "tcp"
from = "a"
to = "10.0.2.2"
duration = "2s"
[[experiments]]
kind = "traceroute"
from = "b"
to = "10.0.1.1"
[[experiments]]
kind = "http"
from = "a"
to = "10.0.2.2"
size = 500000
"#;

#[test]
fn the_simulator_runs_the_same_on_windows_as_on_linux() {
    let exe = build_windows(&["-p", "lklnet"]).join("lklnet.exe");
    let dir = std::env::temp_dir().join(format!("lklnet-wine-sim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topology.toml");
    std::fs::write(&file, TOPOLOGY).unwrap();
    let z = |p: &std::path::Path| format!("Z:{}", p.display()).replace('/', "\\");
    let report = |path: &std::path::Path| {
        let mut r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // Wall time and memory differ by host. So do the kernels' random
        // numbers: the Windows kernel is built apart (its own ABI), and an
        // ephemeral port or a sequence number drawn differently moves a
        // packet or two in the links' counters. What the experiments
        // measure does not move.
        for apart in [
            "wall_seconds",
            "boot_seconds",
            "build_seconds",
            "kernel_bytes_per_node",
            "links",
            "nodes",
            "simulated_seconds",
        ] {
            r.as_object_mut().unwrap().remove(apart).unwrap();
        }
        let tcp = &mut r["experiments"][1];
        let seen = tcp["seen_from"]
            .as_str()
            .unwrap()
            .rsplit_once(':')
            .unwrap()
            .0;
        tcp["seen_from"] = seen.into();
        // The fetch's time moves by as much as its packets do: compared
        // apart, within 1%.
        let http = r["experiments"][3].as_object_mut().unwrap();
        http.remove("mbit_per_s").unwrap();
        let seconds = http.remove("seconds").unwrap().as_f64().unwrap();
        (r, seconds)
    };

    let out = Wine::new()
        .command(&exe)
        .args([
            "sim",
            &z(&file),
            "--time",
            "virtual",
            "--report",
            &z(&dir.join("windows.json")),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(common::LKLNET)
        .arg("sim")
        .arg(&file)
        .args(["--time", "virtual", "--report"])
        .arg(dir.join("linux.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ((windows, windows_fetch), (linux, linux_fetch)) = (
        report(&dir.join("windows.json")),
        report(&dir.join("linux.json")),
    );
    assert!(
        (windows_fetch / linux_fetch - 1.0).abs() < 0.01,
        "the fetch took {windows_fetch} s on Windows, {linux_fetch} s on Linux"
    );
    assert_eq!(windows["experiments"][0]["received"], 5, "{windows}");
    assert_eq!(windows["experiments"][2]["reached"], true, "{windows}");
    assert_eq!(windows["experiments"][3]["bytes"], 500_000, "{windows}");
    // One kernel, one clock, one order of events: the same numbers.
    assert_eq!(windows, linux);
    let _ = std::fs::remove_dir_all(&dir);
}
