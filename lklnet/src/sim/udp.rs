//! The udp experiment: datagrams from one node to another at a steady
//! offered rate, each carrying its number and when it left, so that the
//! receiver counts what was lost, the one-way delay and its jitter.
use std::net::SocketAddr;
use std::time::Duration;

use lkl::net::{Descriptor, UdpSocket};
use lkl::sys::PollFd;
use lkl::Errno;
use serde::Serialize;

use super::engine::{readable, Activity, Running};
use super::experiment::Report;
use super::nodes::{unspecified, Nodes};
use crate::aio;

/// How long the receiver waits for the last datagrams.
const DRAIN: f64 = 2.0;
/// A datagram's header: its number and when it was sent (ns).
const HEADER: usize = 16;

#[derive(Serialize, Debug, Clone)]
pub struct UdpReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub sent: u64,
    pub received: u64,
    /// Datagrams that came after one sent later than they were.
    pub reordered: u64,
    /// The share of datagrams that did not arrive, 0 to 1.
    pub lost: f64,
    /// What arrived, over the sending time.
    pub mbit_per_s: f64,
    pub delay_min_ms: Option<f64>,
    pub delay_avg_ms: Option<f64>,
    pub delay_max_ms: Option<f64>,
    /// The mean difference between consecutive datagrams' delays (RFC
    /// 3550's interarrival jitter, without its smoothing).
    pub jitter_ms: Option<f64>,
}

pub struct Udp {
    from: String,
    to: SocketAddr,
    sender: UdpSocket,
    receiver: UdpSocket,
    start: f64,
    /// Seconds between datagrams, and their size.
    gap: f64,
    size: usize,
    count: u64,
    sent: u64,
    received: u64,
    reordered: u64,
    /// The highest datagram number received.
    highest: Option<u64>,
    bytes: u64,
    delays: Vec<f64>,
}

impl Udp {
    /// Binds the receiver in `to_node` and starts sending from `from` at
    /// `rate_bps` in datagrams of `size` bytes, for `duration`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        nodes: &Nodes,
        from: &str,
        to: SocketAddr,
        to_node: &str,
        rate_bps: u64,
        size: usize,
        duration: Duration,
        now: f64,
    ) -> Result<Udp, String> {
        let failed = |e: Errno| format!("udp from {from} to {to}: {e}");
        let bind = |port: u16| -> Result<UdpSocket, Errno> {
            let s = UdpSocket::bind(SocketAddr::new(unspecified(to.ip()), port))?;
            s.set_nonblocking(true)?;
            Ok(s)
        };
        let receiver = nodes
            .namespace(to_node)
            .run(|| bind(to.port()))
            .and_then(|r| r)
            .map_err(failed)?;
        let sender = nodes
            .namespace(from)
            .run(|| bind(0))
            .and_then(|r| r)
            .map_err(failed)?;
        let gap = size as f64 * 8.0 / rate_bps as f64;
        Ok(Udp {
            from: from.to_string(),
            to,
            sender,
            receiver,
            start: now,
            gap,
            size,
            count: (duration.as_secs_f64() / gap).ceil() as u64,
            sent: 0,
            received: 0,
            reordered: 0,
            highest: None,
            bytes: 0,
            delays: Vec::new(),
        })
    }

    fn failed(&self, e: Errno) -> String {
        format!("udp from {} to {}: {e}", self.from, self.to)
    }

    fn end(&self) -> f64 {
        self.start + self.count as f64 * self.gap + DRAIN
    }
}

impl Activity for Udp {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        fds.push(readable(self.receiver.descriptor()));
    }

    fn deadline(&self) -> Option<f64> {
        if self.sent < self.count {
            Some(self.start + self.sent as f64 * self.gap)
        } else {
            Some(self.end())
        }
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        let mut buf = vec![0u8; self.size.max(HEADER)];
        while self.sent < self.count && now >= self.start + self.sent as f64 * self.gap {
            buf[..8].copy_from_slice(&self.sent.to_le_bytes());
            // The clock as it is now: in real time, later than the step's.
            buf[8..16].copy_from_slice(&((aio::now() * 1e9) as u64).to_le_bytes());
            match self.sender.send_to(&buf, self.to) {
                Ok(_) => self.sent += 1,
                // The socket's buffer is full: again at the next step.
                Err(Errno::EAGAIN | Errno::ENOBUFS) => break,
                // No route now: this one is lost.
                Err(Errno::ENETUNREACH | Errno::EHOSTUNREACH) => self.sent += 1,
                Err(e) => return Err(self.failed(e)),
            }
        }
        loop {
            match self.receiver.recv_from(&mut buf) {
                Ok((n, _)) if n >= HEADER => {
                    let number = u64::from_le_bytes(buf[..8].try_into().unwrap());
                    if self.highest.is_some_and(|h| number < h) {
                        self.reordered += 1;
                    }
                    self.highest = self.highest.max(Some(number));
                    let sent_ns = u64::from_le_bytes(buf[8..16].try_into().unwrap());
                    self.delays.push(aio::now() - sent_ns as f64 / 1e9);
                    self.received += 1;
                    self.bytes += n as u64;
                }
                Ok(_) => {}
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(self.sent == self.count && (self.received == self.count || now >= self.end()))
    }
}

impl Running for Udp {
    fn report(self: Box<Self>) -> Report {
        let ms: Vec<f64> = self.delays.iter().map(|d| d * 1e3).collect();
        let n = ms.len() as f64;
        let jitter = (ms.len() > 1)
            .then(|| ms.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (n - 1.0));
        Report::Udp(UdpReport {
            kind: "udp",
            from: self.from,
            to: self.to.to_string(),
            sent: self.sent,
            received: self.received,
            reordered: self.reordered,
            lost: 1.0 - self.received as f64 / self.sent.max(1) as f64,
            mbit_per_s: self.bytes as f64 * 8.0 / (self.count as f64 * self.gap) / 1e6,
            delay_min_ms: ms.iter().copied().reduce(f64::min),
            delay_avg_ms: (!ms.is_empty()).then(|| ms.iter().sum::<f64>() / n),
            delay_max_ms: ms.iter().copied().reduce(f64::max),
            jitter_ms: jitter,
        })
    }
}
