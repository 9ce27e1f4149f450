//! The experiments a topology asks for: their reports, and starting one
//! on its nodes (ping, tcp, udp, http, traceroute: each its own module).
use serde::Serialize;

use super::engine::Running;
use super::http::{Http, HttpReport};
use super::nodes::Nodes;
use super::ping::{Ping, PingReport};
use super::tcp::{Tcp, TcpReport};
use super::topology::Experiment;
use super::traceroute::{Trace, TraceReport};
use super::udp::{Udp, UdpReport};

#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum Report {
    Ping(PingReport),
    Tcp(TcpReport),
    Traceroute(TraceReport),
    Udp(UdpReport),
    Http(HttpReport),
}

impl Report {
    pub fn summary(&self) -> String {
        match self {
            Report::Ping(p) => p.summary(),
            Report::Traceroute(t) => t.summary(),
            Report::Http(h) => match &h.error {
                Some(e) => format!("http {} -> {}: failed: {e}", h.from, h.to),
                None => format!(
                    "http {} -> {}: {:.1} MB in {:.3} s ({:.2} Mbit/s), first byte after {:.1} ms",
                    h.from,
                    h.to,
                    h.bytes as f64 / 1e6,
                    h.seconds,
                    h.mbit_per_s,
                    h.time_to_first_byte_ms.unwrap_or(0.0)
                ),
            },
            Report::Udp(u) => format!(
                "udp {} -> {}: {}/{} received ({:.1}% lost), {:.2} Mbit/s, delay {}, jitter {}",
                u.from,
                u.to,
                u.received,
                u.sent,
                u.lost * 100.0,
                u.mbit_per_s,
                u.delay_avg_ms.map_or("-".into(), |d| format!("{d:.3} ms")),
                u.jitter_ms.map_or("-".into(), |j| format!("{j:.3} ms")),
            ),
            Report::Tcp(t) => match &t.error {
                Some(e) => format!("tcp {} -> {}: no stream: {e}", t.from, t.to),
                None => format!(
                    "tcp {} -> {}: {:.1} MB in {:.2} s, {:.2} Mbit/s",
                    t.from,
                    t.to,
                    t.bytes as f64 / 1e6,
                    t.seconds,
                    t.mbit_per_s
                ),
            },
        }
    }
}

/// Starts `experiment` at `now`.
pub fn start<'a>(
    nodes: &'a Nodes,
    experiment: &Experiment,
    now: f64,
) -> Result<Box<dyn Running + 'a>, String> {
    match experiment {
        Experiment::Ping {
            from,
            to,
            count,
            interval,
        } => nodes
            .namespace(from)
            .run(|| Ping::start(from, *to, *count, *interval, now))
            .and_then(|r| r)
            .map(|p| Box::new(p) as Box<dyn Running>)
            .map_err(|e| format!("ping from {from} to {to}: {e}")),
        Experiment::Traceroute { from, to } => nodes
            .namespace(from)
            .run(|| Trace::start(from, *to, now))
            .and_then(|r| r)
            .map(|t| Box::new(t) as Box<dyn Running>)
            .map_err(|e| format!("traceroute from {from} to {to}: {e}")),
        Experiment::Tcp {
            from,
            to,
            to_node,
            port,
            duration,
        } => Tcp::start(nodes, from, *to, to_node, *port, *duration, now)
            .map(|t| Box::new(t) as Box<dyn Running>),
        Experiment::Http {
            from,
            to,
            to_node,
            port,
            size,
        } => Http::start(
            nodes,
            from,
            std::net::SocketAddr::new(*to, *port),
            to_node,
            *size,
        )
        .map(|h| Box::new(h) as Box<dyn Running>),
        Experiment::Udp {
            from,
            to,
            to_node,
            port,
            rate_bps,
            size,
            duration,
        } => Udp::start(
            nodes,
            from,
            std::net::SocketAddr::new(*to, *port),
            to_node,
            *rate_bps,
            *size,
            *duration,
            now,
        )
        .map(|u| Box::new(u) as Box<dyn Running>),
    }
}
