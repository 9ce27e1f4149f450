//! The experiments a topology asks for, run on its nodes: ping (ICMP
//! echoes from one node's namespace) and tcp (one stream between two
//! nodes, its rate measured where it is received). Every time is the
//! kernel's clock, real or virtual, and every wait a wait in the kernel.
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lkl::net::{PingSocket, Shutdown, TcpListener, TcpStream};
use lkl::{virtual_time, Errno};
use serde::Serialize;

use super::clock::{self, now};
use super::nodes::Nodes;
use super::topology::Experiment;
use super::traceroute::{self, TraceReport};

#[derive(Serialize, Debug, Clone)]
pub struct PingReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub sent: u32,
    pub received: u32,
    /// Each answered echo's round trip, in milliseconds, in order.
    pub rtt_ms: Vec<f64>,
    /// When each answered echo was sent, in seconds from the first.
    pub sent_at_s: Vec<f64>,
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

#[derive(Serialize, Debug, Clone)]
pub struct TcpReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub bytes: u64,
    /// From the first byte received to the end of the stream.
    pub seconds: f64,
    pub mbit_per_s: f64,
    /// The rate in each half second, in Mbit/s.
    pub mbit_per_s_each_half_second: Vec<f64>,
}

#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum Report {
    Ping(PingReport),
    Tcp(TcpReport),
    Traceroute(TraceReport),
}

impl Report {
    pub fn summary(&self) -> String {
        match self {
            Report::Ping(p) => p.summary(),
            Report::Traceroute(t) => t.summary(),
            Report::Tcp(t) => format!(
                "tcp {} -> {}: {:.1} MB in {:.2} s, {:.2} Mbit/s",
                t.from,
                t.to,
                t.bytes as f64 / 1e6,
                t.seconds,
                t.mbit_per_s
            ),
        }
    }
}

/// The port the tcp experiment's receiver listens on.
const TCP_PORT: u16 = 5201;

/// Receives one stream on `listener` to its end: bytes, the time from
/// the first byte to the end, bytes per half second.
fn receive(listener: TcpListener) -> Result<(u64, f64, Vec<u64>), Errno> {
    let (stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut first, mut halves) = (0u64, None, Vec::new());
    loop {
        let n = stream.read(&mut buf)?;
        let now = now();
        let start = *first.get_or_insert(now);
        if n == 0 {
            return Ok((total, now - start, halves));
        }
        total += n as u64;
        let half = ((now - start) * 2.0) as usize;
        if halves.len() <= half {
            halves.resize(half + 1, 0);
        }
        halves[half] += n as u64;
    }
}

fn tcp(
    nodes: &Nodes,
    from: &str,
    to: IpAddr,
    to_node: &str,
    duration: Duration,
) -> Result<TcpReport, String> {
    let failed = |e: Errno| format!("tcp from {from} to {to}: {e}");
    let unspecified = if to.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u8; 16])
    };
    let listener = nodes
        .namespace(to_node)
        .run(|| TcpListener::bind(SocketAddr::new(unspecified, TCP_PORT)))
        .and_then(|r| r)
        .map_err(failed)?;
    let receiver = virtual_time::spawn(move || receive(listener));
    let send = || -> Result<(), Errno> {
        let stream =
            TcpStream::connect_timeout(SocketAddr::new(to, TCP_PORT), Duration::from_secs(10))?;
        let buf = vec![0x5au8; 1 << 16];
        let end = now() + duration.as_secs_f64();
        while now() < end {
            stream.write_all(&buf)?;
        }
        stream.shutdown(Shutdown::Write)
    };
    nodes
        .namespace(from)
        .run(send)
        .and_then(|r| r)
        .map_err(failed)?;
    let (bytes, seconds, halves) = receiver
        .join()
        .map_err(|_| format!("tcp from {from} to {to}: the receiver died"))?
        .map_err(failed)?;
    Ok(TcpReport {
        kind: "tcp",
        from: from.to_string(),
        to: to.to_string(),
        bytes,
        seconds,
        mbit_per_s: bytes as f64 * 8.0 / seconds.max(1e-9) / 1e6,
        mbit_per_s_each_half_second: halves
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                // The last half second ends with the stream.
                let span = (seconds - i as f64 * 0.5).clamp(1e-9, 0.5);
                b as f64 * 8.0 / span / 1e6
            })
            .collect(),
    })
}

/// How long an echo may take before it counts as lost.
const ECHO_TIMEOUT: f64 = 2.0;

/// Sends `count` echoes to `to`, one every `interval` whatever comes
/// back, from a socket of the calling thread's namespace: for each one
/// answered in time, in order, when it was sent (seconds from the first)
/// and its round trip (ms).
fn echoes(to: IpAddr, count: u32, interval: Duration) -> Result<Vec<(f64, f64)>, Errno> {
    let socket = Arc::new(PingSocket::new(to.is_ipv6())?);
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let start = now();
    let interval = interval.as_secs_f64();
    let last_wait = start + (count - 1) as f64 * interval + ECHO_TIMEOUT;
    let sent: Arc<Mutex<Vec<Option<f64>>>> = Arc::new(Mutex::new(vec![None; count as usize]));
    let (receiving, seen) = (socket.clone(), sent.clone());
    let receiver = virtual_time::spawn(move || -> Result<Vec<(u16, f64)>, Errno> {
        let mut answers = Vec::new();
        while answers.len() < count as usize && now() < last_wait {
            match receiving.recv_echo() {
                Ok((seq, _)) => {
                    let at = now();
                    let sent_at = seen.lock().unwrap().get(seq as usize).copied().flatten();
                    if let Some(sent_at) = sent_at.filter(|t| at - t <= ECHO_TIMEOUT) {
                        answers.push((seq, (at - sent_at) * 1e3));
                    }
                }
                Err(Errno::EAGAIN) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(answers)
    });
    for seq in 0..count {
        clock::sleep_until(start + seq as f64 * interval)?;
        sent.lock().unwrap()[seq as usize] = Some(now());
        match socket.send_echo(to, seq as u16, &[0x5a; 56]) {
            // No route now: this echo is lost, as ping counts it.
            Ok(()) | Err(Errno::ENETUNREACH | Errno::EHOSTUNREACH | Errno::ENETDOWN) => {}
            Err(e) => return Err(e),
        }
    }
    let mut answers = receiver.join().map_err(|_| Errno::EIO)??;
    answers.sort_by_key(|a| a.0);
    answers.dedup_by_key(|a| a.0);
    let sent = sent.lock().unwrap();
    Ok(answers
        .into_iter()
        .map(|(seq, rtt)| (sent[seq as usize].unwrap() - start, rtt))
        .collect())
}

pub fn run(nodes: &Nodes, experiment: &Experiment) -> Result<Report, String> {
    match experiment {
        Experiment::Traceroute { from, to } => {
            let report = nodes
                .namespace(from)
                .run(|| traceroute::trace(from, *to))
                .and_then(|r| r)
                .map_err(|e| format!("traceroute from {from} to {to}: {e}"))?;
            Ok(Report::Traceroute(report))
        }
        Experiment::Tcp {
            from,
            to,
            to_node,
            duration,
        } => tcp(nodes, from, *to, to_node, *duration).map(Report::Tcp),
        Experiment::Ping {
            from,
            to,
            count,
            interval,
        } => {
            let (sent_at, rtts): (Vec<f64>, Vec<f64>) = nodes
                .namespace(from)
                .run(|| echoes(*to, *count, *interval))
                .and_then(|r| r)
                .map_err(|e| format!("ping from {from} to {to}: {e}"))?
                .into_iter()
                .unzip();
            let received = rtts.len() as u32;
            let min = rtts.iter().copied().reduce(f64::min);
            let max = rtts.iter().copied().reduce(f64::max);
            let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<f64>() / rtts.len() as f64);
            Ok(Report::Ping(PingReport {
                kind: "ping",
                from: from.clone(),
                to: to.to_string(),
                sent: *count,
                received,
                rtt_ms: rtts,
                sent_at_s: sent_at,
                min_ms: min,
                avg_ms: avg,
                max_ms: max,
            }))
        }
    }
}
