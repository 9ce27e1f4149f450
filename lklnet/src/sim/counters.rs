//! What the nodes and links counted, read at the end of a run: each link
//! end's interface counters (`/proc/net/dev` of its node) and qdiscs (as
//! `tc -s qdisc` shows them: what netem lost, what tbf held back), and
//! each node's protocol counters (`/proc/net/snmp`, those not zero); and
//! the kernel's free memory.
use std::collections::BTreeMap;

use lkl::net::{self, stats};
use lkl::{sys, uapi, Errno};
use serde::Serialize;

use super::nodes::Nodes;
use super::topology::Topology;

#[derive(Serialize, Debug)]
pub struct Qdisc {
    pub kind: String,
    /// "1:0" and its parent, as tc writes them.
    pub handle: String,
    pub parent: String,
    pub packets: u32,
    pub bytes: u64,
    pub drops: u32,
    pub overlimits: u32,
    pub backlog: u32,
}

#[derive(Serialize, Debug)]
pub struct EndCounters {
    pub node: String,
    pub interface: String,
    /// From /proc/net/dev: rx_bytes, rx_packets, rx_dropped, tx_bytes...
    pub interface_counters: BTreeMap<String, u64>,
    pub qdiscs: Vec<Qdisc>,
}

#[derive(Serialize, Debug)]
pub struct LinkCounters {
    pub ends: [EndCounters; 2],
}

/// A file of the kernel's (its /proc), whole, as text.
fn kernel_file(path: &str) -> Result<String, Errno> {
    let fd = sys::openat(uapi::AT_FDCWD, path, uapi::O_RDONLY, 0)?;
    let mut text = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    let result = loop {
        match sys::read(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    let _ = sys::close(fd);
    result.map(|()| String::from_utf8_lossy(&text).into_owned())
}

/// The calling thread's `/proc/thread-self/net/FILE`, from its namespace.
fn proc_net(file: &str) -> Result<String, Errno> {
    kernel_file(&format!("/proc/thread-self/net/{file}"))
}

/// The kernel's free memory (MemFree of its /proc/meminfo).
pub fn free_memory() -> Result<u64, String> {
    let failed = |e: Errno| format!("reading the kernel's /proc/meminfo: {e}");
    kernel_file("/proc/meminfo")
        .map_err(failed)?
        .lines()
        .find_map(|l| l.strip_prefix("MemFree:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb << 10)
        .ok_or_else(|| "the kernel's /proc/meminfo has no MemFree".to_string())
}

/// `dev`'s line of /proc/net/dev, by the column names of its header.
fn interface_counters(dev: &str) -> Result<BTreeMap<String, u64>, Errno> {
    const NAMES: [&str; 16] = [
        "rx_bytes",
        "rx_packets",
        "rx_errors",
        "rx_dropped",
        "rx_fifo",
        "rx_frame",
        "rx_compressed",
        "rx_multicast",
        "tx_bytes",
        "tx_packets",
        "tx_errors",
        "tx_dropped",
        "tx_fifo",
        "tx_collisions",
        "tx_carrier",
        "tx_compressed",
    ];
    let text = proc_net("dev")?;
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(dev)?.strip_prefix(':'))
        .ok_or(Errno::ENODEV)?;
    Ok(NAMES
        .iter()
        .zip(line.split_whitespace())
        .filter_map(|(name, v)| Some((name.to_string(), v.parse().ok()?)))
        .collect())
}

/// A handle as tc writes it: "major:minor" in hex.
fn handle(h: u32) -> String {
    if h == u32::MAX {
        return "root".into();
    }
    format!("{:x}:{:x}", h >> 16, h & 0xffff)
}

fn end_counters(node: &str, dev: &str) -> Result<EndCounters, Errno> {
    let qdiscs = stats::qdisc_stats(net::ifindex(dev)?)?
        .into_iter()
        .map(|q| Qdisc {
            kind: q.kind,
            handle: handle(q.handle),
            parent: handle(q.parent),
            packets: q.packets,
            bytes: q.bytes,
            drops: q.drops,
            overlimits: q.overlimits,
            backlog: q.backlog,
        })
        .collect();
    Ok(EndCounters {
        node: node.to_string(),
        interface: dev.to_string(),
        interface_counters: interface_counters(dev)?,
        qdiscs,
    })
}

/// Every link's counters, in the file's order.
pub fn links(nodes: &Nodes, topology: &Topology) -> Result<Vec<LinkCounters>, String> {
    let mut all = Vec::new();
    for (i, link) in topology.links.iter().enumerate() {
        let mut ends = Vec::new();
        for (e, end) in link.ends.iter().enumerate() {
            let dev = nodes.device(i, e);
            let counters = nodes
                .namespace(&end.node)
                .run(|| end_counters(&end.node, dev))
                .and_then(|r| r)
                .map_err(|e| format!("counters of {} {dev}: {e}", end.node))?;
            ends.push(counters);
        }
        let ends: [EndCounters; 2] = ends.try_into().expect("a link has two ends");
        all.push(LinkCounters { ends });
    }
    Ok(all)
}

/// /proc/net/snmp's counters that are not zero: "Tcp.RetransSegs" and
/// the like.
fn snmp() -> Result<BTreeMap<String, i64>, Errno> {
    let text = proc_net("snmp")?;
    let lines: Vec<&str> = text.lines().collect();
    let mut counters = BTreeMap::new();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((proto, names)), Some((_, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = value.parse::<i64>() {
                if v != 0 {
                    counters.insert(format!("{proto}.{name}"), v);
                }
            }
        }
    }
    Ok(counters)
}

/// Each node's protocol counters.
pub fn nodes(
    nodes: &Nodes,
    topology: &Topology,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>, String> {
    let mut all = BTreeMap::new();
    for node in &topology.nodes {
        let counters = nodes
            .namespace(&node.name)
            .run(snmp)
            .and_then(|r| r)
            .map_err(|e| format!("counters of {}: {e}", node.name))?;
        all.insert(node.name.clone(), counters);
    }
    Ok(all)
}
