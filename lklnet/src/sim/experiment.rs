//! The experiments a topology asks for, run on its nodes: ping (ICMP
//! echoes from one node's namespace, round trips timed on the host's
//! monotonic clock).
use std::time::{Duration, Instant};

use lkl::net::PingSocket;
use lkl::Errno;
use serde::Serialize;

use super::nodes::Nodes;
use super::topology::Experiment;

#[derive(Serialize, Debug)]
pub struct PingReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub sent: u32,
    pub received: u32,
    /// Each answered echo's round trip, in milliseconds, in order.
    pub rtt_ms: Vec<f64>,
    pub min_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl PingReport {
    pub fn summary(&self) -> String {
        let stats = match (self.min_ms, self.avg_ms, self.max_ms) {
            (Some(min), Some(avg), Some(max)) => {
                format!(", rtt min/avg/max {min:.3}/{avg:.3}/{max:.3} ms")
            }
            _ => String::new(),
        };
        format!(
            "ping {} -> {}: {}/{} answered{stats}",
            self.from, self.to, self.received, self.sent
        )
    }
}

/// How long an echo may take before it counts as lost.
const ECHO_TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(nodes: &Nodes, experiment: &Experiment) -> Result<PingReport, String> {
    match experiment {
        Experiment::Ping {
            from,
            to,
            count,
            interval,
        } => {
            let ns = nodes.namespace(from);
            let ping = || -> Result<Vec<f64>, Errno> {
                let socket = PingSocket::new(to.is_ipv6())?;
                socket.set_read_timeout(Some(ECHO_TIMEOUT))?;
                let mut rtts = Vec::new();
                for seq in 0..*count as u16 {
                    let sent = Instant::now();
                    socket.send_echo(*to, seq, &[0x5a; 56])?;
                    loop {
                        match socket.recv_echo() {
                            Ok((s, _)) if s == seq => {
                                rtts.push(sent.elapsed().as_secs_f64() * 1e3);
                                break;
                            }
                            Ok(_) => continue,
                            Err(Errno::EAGAIN) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    if let Some(rest) = interval.checked_sub(sent.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
                Ok(rtts)
            };
            let rtts = ns
                .run(ping)
                .and_then(|r| r)
                .map_err(|e| format!("ping from {from} to {to}: {e}"))?;
            let received = rtts.len() as u32;
            let min = rtts.iter().copied().reduce(f64::min);
            let max = rtts.iter().copied().reduce(f64::max);
            let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<f64>() / rtts.len() as f64);
            Ok(PingReport {
                kind: "ping",
                from: from.clone(),
                to: to.to_string(),
                sent: *count,
                received,
                rtt_ms: rtts,
                min_ms: min,
                avg_ms: avg,
                max_ms: max,
            })
        }
    }
}
