//! `lklnet sim TOPOLOGY`: a network of nodes, each a whole Linux network
//! stack (a namespace of this process's one kernel), joined by links with
//! delay, jitter, loss and rate; the topology's experiments run on it, a
//! summary goes to the terminal and a JSON report where asked.
mod capture;
mod counters;
mod engine;
mod experiment;
mod firewall;
mod http;
mod nodes;
mod ping;
mod plots;
mod tcp;
mod topology;
mod traceroute;
mod udp;

use std::path::Path;

use lkl::{sys, virtual_time, Config, Kernel};

pub use topology::{Time, Topology};

/// The kernel's memory: a base, and room per node for its stack.
fn kernel_memory(nodes: usize) -> usize {
    (96 << 20) + nodes * (1 << 20)
}

/// What `lklnet sim` writes besides its summary.
pub struct Outputs<'a> {
    /// The JSON report.
    pub report: Option<&'a Path>,
    /// A folder for one pcap file per link.
    pub pcap: Option<&'a Path>,
    /// A folder for the pictures (SVG).
    pub plots: Option<&'a Path>,
}

/// How to run a topology, besides its file.
pub struct Options {
    /// The clock, if not the file's.
    pub time: Option<Time>,
    /// The seed of the kernel's random numbers, if not the file's.
    pub seed: Option<u64>,
}

pub fn run(path: &Path, outputs: &Outputs, options: &Options) -> Result<(), String> {
    let Options { time, seed } = *options;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let topology = Topology::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let time = time.unwrap_or(topology.time);
    let config = Config {
        memory: kernel_memory(topology.nodes.len()),
        ..Config::default()
    };
    let started = std::time::Instant::now();
    let _kernel = match time {
        Time::Real => Kernel::boot(&config),
        Time::Virtual => virtual_time::boot(&config),
    }
    .map_err(|e| format!("cannot boot the kernel: {e}"))?;
    let booted = started.elapsed().as_secs_f64();
    // Waits end when asked, not up to 50 µs later.
    sys::set_timer_slack(1).map_err(|e| format!("setting the timer slack: {e}"))?;
    let seed = seed.or(topology.seed);
    if let Some(seed) = seed {
        // 32 bytes: enough for the kernel to key its generator from them.
        let bytes: Vec<u8> = (0..4u64)
            .flat_map(|i| {
                seed.rotate_left(16 * i as u32)
                    .wrapping_add(i)
                    .to_le_bytes()
            })
            .collect();
        sys::add_entropy(&bytes)
            .map_err(|e| format!("seeding the kernel's random numbers: {e}"))?;
    }
    let free_at_boot = counters::free_memory()?;
    let nodes = nodes::Nodes::build(&topology)?;
    let built = started.elapsed().as_secs_f64() - booted;
    let per_node = (free_at_boot.saturating_sub(counters::free_memory()?))
        / topology.nodes.len().max(1) as u64;
    nodes.wait_running(&topology)?;
    eprintln!(
        "lklnet: {} nodes, {} links, built in {:.3} s, {} KiB of kernel memory per node",
        topology.nodes.len(),
        topology.links.len(),
        built,
        per_node >> 10
    );
    let mut captures = match outputs.pcap {
        Some(dir) => Some(capture::Captures::start(&nodes, &topology, dir)?),
        None => None,
    };
    let results = engine::run(&topology, &nodes, captures.as_mut())?;
    for result in &results {
        println!("{}", result.summary());
    }
    if let Some(mut captures) = captures {
        engine::linger(&mut captures, capture::LINGER)?;
        for (path, frames) in captures.finish()? {
            eprintln!("lklnet: {} frames in {}", frames, path.display());
        }
    }
    if let Some(dir) = outputs.plots {
        for path in plots::draw(&topology, &results, dir)? {
            eprintln!("lklnet: drew {}", path.display());
        }
    }
    let simulated = virtual_time::now_ns() as f64 / 1e9;
    let wall = started.elapsed().as_secs_f64();
    eprintln!("lklnet: {simulated:.2} s simulated in {wall:.2} s of wall time ({time:?} time)");
    if let Some(report) = outputs.report {
        let links = counters::links(&nodes, &topology)?;
        let node_counters = counters::nodes(&nodes, &topology)?;
        let json = serde_json::json!({
            "time": format!("{time:?}").to_lowercase(),
            "seed": seed,
            "simulated_seconds": simulated,
            "wall_seconds": wall,
            "boot_seconds": booted,
            "build_seconds": built,
            "kernel_bytes_per_node": per_node,
            "experiments": results,
            "links": links,
            "nodes": node_counters,
        });
        std::fs::write(report, serde_json::to_string_pretty(&json).unwrap() + "\n")
            .map_err(|e| format!("{}: {e}", report.display()))?;
    }
    Ok(())
}
