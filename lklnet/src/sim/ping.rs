//! The ping experiment: ICMP echoes from one node's namespace, one every
//! interval whatever comes back, each answer's round trip on the
//! kernel's clock.
use std::net::IpAddr;
use std::time::Duration;

use lkl::net::{Descriptor, PingSocket};
use lkl::sys::PollFd;
use lkl::Errno;
use serde::Serialize;

use super::engine::{readable, Activity, Running};
use super::experiment::Report;
use crate::aio;

/// How long an echo may take before it counts as lost.
const ECHO_TIMEOUT: f64 = 2.0;

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

pub struct Ping {
    from: String,
    to: IpAddr,
    count: u32,
    interval: f64,
    socket: PingSocket,
    start: f64,
    /// The next echo to send.
    next: u32,
    /// When each echo went.
    sent: Vec<Option<f64>>,
    /// Answered echoes: sequence number and round trip (ms).
    answers: Vec<(u16, f64)>,
}

impl Ping {
    /// Starts pinging `to` from the calling thread's namespace at `now`.
    pub fn start(
        from: &str,
        to: IpAddr,
        count: u32,
        interval: Duration,
        now: f64,
    ) -> Result<Ping, Errno> {
        let socket = PingSocket::new(to.is_ipv6())?;
        socket.set_nonblocking(true)?;
        Ok(Ping {
            from: from.to_string(),
            to,
            count,
            interval: interval.as_secs_f64(),
            socket,
            start: now,
            next: 0,
            sent: vec![None; count as usize],
            answers: Vec::new(),
        })
    }

    fn last_wait(&self) -> f64 {
        self.start + (self.count - 1) as f64 * self.interval + ECHO_TIMEOUT
    }

    fn failed(&self, e: Errno) -> String {
        format!("ping from {} to {}: {e}", self.from, self.to)
    }
}

impl Activity for Ping {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        fds.push(readable(self.socket.descriptor()));
    }

    fn deadline(&self) -> Option<f64> {
        if self.next < self.count {
            Some(self.start + self.next as f64 * self.interval)
        } else {
            Some(self.last_wait())
        }
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        loop {
            match self.socket.recv_echo() {
                Ok((seq, _)) => {
                    // The clock as it is now: in real time, later than
                    // the step's.
                    let now = aio::now();
                    let sent = self.sent.get(seq as usize).copied().flatten();
                    let fresh = !self.answers.iter().any(|a| a.0 == seq);
                    if let Some(sent) = sent.filter(|t| fresh && now - t <= ECHO_TIMEOUT) {
                        self.answers.push((seq, (now - sent) * 1e3));
                    }
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(self.failed(e)),
            }
        }
        while self.next < self.count && now >= self.start + self.next as f64 * self.interval {
            self.sent[self.next as usize] = Some(aio::now());
            match self
                .socket
                .send_echo(self.to, self.next as u16, &[0x5a; 56])
            {
                // No route now: this echo is lost, as ping counts it.
                Ok(()) | Err(Errno::ENETUNREACH | Errno::EHOSTUNREACH | Errno::ENETDOWN) => {}
                Err(e) => return Err(self.failed(e)),
            }
            self.next += 1;
        }
        Ok(self.next == self.count
            && (self.answers.len() == self.count as usize || now >= self.last_wait()))
    }
}

impl Running for Ping {
    fn report(mut self: Box<Self>) -> Report {
        self.answers.sort_by_key(|a| a.0);
        let rtts: Vec<f64> = self.answers.iter().map(|a| a.1).collect();
        let sent_at = self
            .answers
            .iter()
            .map(|a| self.sent[a.0 as usize].unwrap() - self.start)
            .collect();
        let min = rtts.iter().copied().reduce(f64::min);
        let max = rtts.iter().copied().reduce(f64::max);
        let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<f64>() / rtts.len() as f64);
        Report::Ping(PingReport {
            kind: "ping",
            from: self.from,
            to: self.to.to_string(),
            sent: self.count,
            received: rtts.len() as u32,
            rtt_ms: rtts,
            sent_at_s: sent_at,
            min_ms: min,
            avg_ms: avg,
            max_ms: max,
        })
    }
}
