//! The experiments a topology asks for, run on its nodes: ping (ICMP
//! echoes from one node's namespace) and tcp (one stream between two
//! nodes, its rate measured where it is received). Every time is the
//! kernel's clock, real or virtual, and every wait a wait in the kernel.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lkl::net::{PingSocket, Shutdown, TcpListener, TcpStream};
use lkl::uapi::Timespec;
use lkl::{sys, virtual_time, Errno};
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

#[derive(Serialize, Debug)]
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

#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum Report {
    Ping(PingReport),
    Tcp(TcpReport),
}

impl Report {
    pub fn summary(&self) -> String {
        match self {
            Report::Ping(p) => p.summary(),
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

/// The kernel's clock, in seconds.
fn now() -> f64 {
    virtual_time::now_ns() as f64 / 1e9
}

/// Sleeps `seconds` in the kernel (in virtual time, the clock moves).
fn sleep(seconds: f64) -> Result<(), Errno> {
    let ns = (seconds * 1e9) as i64;
    sys::nanosleep(&Timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    })
}

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
const ECHO_TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(nodes: &Nodes, experiment: &Experiment) -> Result<Report, String> {
    match experiment {
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
            let ns = nodes.namespace(from);
            let ping = || -> Result<Vec<(f64, f64)>, Errno> {
                let socket = PingSocket::new(to.is_ipv6())?;
                socket.set_read_timeout(Some(ECHO_TIMEOUT))?;
                let mut rtts = Vec::new();
                let start = now();
                for seq in 0..*count as u16 {
                    let sent = now();
                    socket.send_echo(*to, seq, &[0x5a; 56])?;
                    loop {
                        match socket.recv_echo() {
                            Ok((s, _)) if s == seq => {
                                rtts.push((sent - start, (now() - sent) * 1e3));
                                break;
                            }
                            Ok(_) => continue,
                            Err(Errno::EAGAIN) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    let rest = interval.as_secs_f64() - (now() - sent);
                    if rest > 0.0 {
                        sleep(rest)?;
                    }
                }
                Ok(rtts)
            };
            let (sent_at, rtts): (Vec<f64>, Vec<f64>) = ns
                .run(ping)
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
