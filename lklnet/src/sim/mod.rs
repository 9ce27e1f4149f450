//! `lklnet sim TOPOLOGY`: a network of nodes, each a whole Linux network
//! stack (a namespace of this process's one kernel), joined by links with
//! delay, jitter, loss and rate; the topology's experiments run on it, a
//! summary goes to the terminal and a JSON report where asked.
mod experiment;
mod nodes;
mod topology;

use std::path::Path;

use lkl::{Config, Kernel};

pub use topology::Topology;

/// The kernel's memory: a base, and room per node for its stack.
fn kernel_memory(nodes: usize) -> usize {
    (96 << 20) + nodes * (1 << 20)
}

pub fn run(path: &Path, report: Option<&Path>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let topology = Topology::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let _kernel = Kernel::boot(&Config {
        memory: kernel_memory(topology.nodes.len()),
        ..Config::default()
    })
    .map_err(|e| format!("cannot boot the kernel: {e}"))?;
    let nodes = nodes::Nodes::build(&topology)?;
    eprintln!(
        "lklnet: {} nodes, {} links",
        topology.nodes.len(),
        topology.links.len()
    );
    let mut results = Vec::new();
    for e in &topology.experiments {
        let result = experiment::run(&nodes, e)?;
        println!("{}", result.summary());
        results.push(result);
    }
    if let Some(report) = report {
        let json = serde_json::json!({ "experiments": results });
        std::fs::write(report, serde_json::to_string_pretty(&json).unwrap() + "\n")
            .map_err(|e| format!("{}: {e}", report.display()))?;
    }
    Ok(())
}
