//! `lklnet sim`: a topology built in one process, each node a Linux
//! network namespace. Pings through a chain of routers take the delays
//! the links were given; topology files with mistakes are refused with
//! the line and what is wrong, before anything is built.
mod common;

use std::process::{Command, Output};

use common::LKLNET;

fn sim(name: &str, topology: &str) -> (Output, Option<serde_json::Value>) {
    let dir = std::env::temp_dir().join(format!("lklnet-sim-{name}-{}", std::process::id()));
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
        .output()
        .unwrap();
    let json = std::fs::read_to_string(&report)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
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
