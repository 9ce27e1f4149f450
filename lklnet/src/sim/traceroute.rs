//! The traceroute experiment: ICMP echoes from one node with hop limits
//! 1, 2, 3, ... (a raw ICMP socket of its namespace), one at a time, each
//! router on the way answering with "time exceeded", until the
//! destination answers or one says it cannot be reached.
use std::net::IpAddr;

use lkl::net::{Descriptor, IcmpSocket};
use lkl::sys::PollFd;
use lkl::Errno;
use serde::Serialize;

use super::engine::{readable, Activity, Running};
use super::experiment::Report;

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

/// A traceroute under way: one probe out at a time.
pub struct Trace {
    from: String,
    to: IpAddr,
    socket: IcmpSocket,
    /// The hop limit of the probe out, and when it went.
    limit: u8,
    sent: f64,
    hops: Vec<Hop>,
    end: Option<Option<Answer>>,
}

impl Trace {
    /// Sends the first probe from the calling thread's namespace at `now`.
    pub fn start(from: &str, to: IpAddr, now: f64) -> Result<Trace, Errno> {
        let socket = IcmpSocket::new(to.is_ipv6())?;
        socket.set_nonblocking(true)?;
        let mut trace = Trace {
            from: from.to_string(),
            to,
            socket,
            limit: 0,
            sent: now,
            hops: Vec::new(),
            end: None,
        };
        trace.probe(now)?;
        Ok(trace)
    }

    fn probe(&mut self, now: f64) -> Result<(), Errno> {
        self.limit += 1;
        self.socket.set_hops(self.limit)?;
        self.sent = now;
        self.socket
            .send_to(&echo_request(self.to.is_ipv6(), self.limit as u16), self.to)
    }

    /// Records this hop's answer (None: none in time); the next probe, or
    /// the end.
    fn hop(&mut self, now: f64, answer: Option<(IpAddr, Answer)>) -> Result<(), Errno> {
        self.hops.push(Hop {
            hops: self.limit,
            address: answer.map(|a| a.0.to_string()),
            rtt_ms: answer.map(|_| (now - self.sent) * 1e3),
        });
        match answer {
            Some((_, end @ (Answer::Reached | Answer::Unreachable))) => self.end = Some(Some(end)),
            _ if self.limit == MAX_HOPS => self.end = Some(None),
            _ => self.probe(now)?,
        }
        Ok(())
    }

    fn failed(&self, e: Errno) -> String {
        format!("traceroute from {} to {}: {e}", self.from, self.to)
    }
}

impl Activity for Trace {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        fds.push(readable(self.socket.descriptor()));
    }

    fn deadline(&self) -> Option<f64> {
        Some(self.sent + PROBE_TIMEOUT)
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        let mut buf = [0u8; 2048];
        while self.end.is_none() {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let v6 = self.to.is_ipv6();
                    if let Some(answer) = answers(v6, &buf[..n], self.limit as u16) {
                        self.hop(now, Some((from, answer)))
                            .map_err(|e| self.failed(e))?;
                    }
                }
                Err(Errno::EAGAIN) => {
                    if now - self.sent < PROBE_TIMEOUT {
                        break;
                    }
                    self.hop(now, None).map_err(|e| self.failed(e))?;
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(self.end.is_some())
    }
}

impl Running for Trace {
    fn report(self: Box<Self>) -> Report {
        let end = self.end.flatten();
        Report::Traceroute(TraceReport {
            kind: "traceroute",
            from: self.from,
            to: self.to.to_string(),
            hops: self.hops,
            reached: end == Some(Answer::Reached),
            unreachable: end == Some(Answer::Unreachable),
        })
    }
}
