//! The traceroute experiment: ICMP echoes from one node with hop limits
//! 1, 2, 3, ... (a raw ICMP socket of its namespace), each router on the
//! way answering with "time exceeded", until the destination answers.
use std::net::IpAddr;
use std::time::Duration;

use lkl::net::IcmpSocket;
use lkl::Errno;
use serde::Serialize;

use super::clock::now;

/// The most hops looked at.
pub const MAX_HOPS: u8 = 30;
/// How long a probe waits for its answer.
const PROBE_TIMEOUT: f64 = 1.0;
/// The echoes' identifier.
const ID: u16 = 0x6c6b;

#[derive(Serialize, Debug, Clone)]
pub struct Hop {
    pub hops: u8,
    /// Who answered; None if nobody did in time.
    pub address: Option<String>,
    pub rtt_ms: Option<f64>,
}

#[derive(Serialize, Debug, Clone)]
pub struct TraceReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub hops: Vec<Hop>,
    /// Whether the destination answered.
    pub reached: bool,
    /// Whether the last hop said the destination cannot be reached.
    pub unreachable: bool,
}

impl TraceReport {
    pub fn summary(&self) -> String {
        let hops: Vec<String> = self
            .hops
            .iter()
            .map(|h| h.address.clone().unwrap_or_else(|| "*".into()))
            .collect();
        let end = match (self.reached, self.unreachable) {
            (true, _) => "",
            (false, true) => " !unreachable",
            (false, false) => ", not reached",
        };
        format!(
            "traceroute {} -> {}: {}{end}",
            self.from,
            self.to,
            hops.join(" ")
        )
    }
}

/// The Internet checksum of `bytes`.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(v6: bool, seq: u16) -> Vec<u8> {
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&ID.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&[0x5a; 32]);
    if !v6 {
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    m
}

/// What an ICMP message says of a probe.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The destination's echo reply.
    Reached,
    /// A router's "time exceeded".
    OnTheWay,
    /// "Destination unreachable".
    Unreachable,
}

/// What ICMP message `message` says of probe `seq`; None: nothing.
fn answers(v6: bool, message: &[u8], seq: u16) -> Option<Answer> {
    let ours = |icmp: &[u8], request: u8| {
        icmp.len() >= 8
            && icmp[0] == request
            && icmp[4..6] == ID.to_be_bytes()
            && icmp[6..8] == seq.to_be_bytes()
    };
    let (icmp, reply, exceeded, unreachable, request) = if v6 {
        (message, 129, 3, 1, 128)
    } else {
        let ihl = (*message.first()? as usize & 0xf) * 4;
        (message.get(ihl..)?, 0, 11, 3, 8)
    };
    if ours(icmp, reply) {
        return Some(Answer::Reached);
    }
    let answer = match *icmp.first()? {
        t if t == exceeded => Answer::OnTheWay,
        t if t == unreachable => Answer::Unreachable,
        _ => return None,
    };
    // The quoted packet: its IP header, then our echo's first 8 bytes.
    let quoted = icmp.get(8..)?;
    let inner_len = if v6 {
        40
    } else {
        (*quoted.first()? as usize & 0xf) * 4
    };
    ours(quoted.get(inner_len..)?, request).then_some(answer)
}

/// Traces the way to `to` from the calling thread's namespace: the hops,
/// and the answer that ended it (None: nobody's, within MAX_HOPS).
fn hops_to(to: IpAddr) -> Result<(Vec<Hop>, Option<Answer>), Errno> {
    let v6 = to.is_ipv6();
    let socket = IcmpSocket::new(v6)?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut hops = Vec::new();
    let mut buf = [0u8; 2048];
    for limit in 1..=MAX_HOPS {
        socket.set_hops(limit)?;
        let sent = now();
        socket.send_to(&echo_request(v6, limit as u16), to)?;
        let mut hop = Hop {
            hops: limit,
            address: None,
            rtt_ms: None,
        };
        let mut last = None;
        while now() - sent < PROBE_TIMEOUT {
            let (n, from) = match socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(Errno::EAGAIN) => continue,
                Err(e) => return Err(e),
            };
            if let Some(answer) = answers(v6, &buf[..n], limit as u16) {
                hop.address = Some(from.to_string());
                hop.rtt_ms = Some((now() - sent) * 1e3);
                last = Some(answer);
                break;
            }
        }
        hops.push(hop);
        if matches!(last, Some(Answer::Reached | Answer::Unreachable)) {
            return Ok((hops, last));
        }
    }
    Ok((hops, None))
}

/// Traces the way from the calling thread's namespace to `to`.
pub fn trace(from: &str, to: IpAddr) -> Result<TraceReport, Errno> {
    let (hops, end) = hops_to(to)?;
    Ok(TraceReport {
        kind: "traceroute",
        from: from.to_string(),
        to: to.to_string(),
        hops,
        reached: end == Some(Answer::Reached),
        unreachable: end == Some(Answer::Unreachable),
    })
}
