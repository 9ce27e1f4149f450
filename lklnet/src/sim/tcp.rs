//! The tcp experiment: one stream from a node to a listener on another
//! for a while, its rate measured where it is received, per half second.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lkl::net::{Descriptor, Shutdown, TcpListener, TcpStream};
use lkl::sys::{PollFd, POLLOUT};
use lkl::Errno;
use serde::Serialize;

use super::engine::{readable, Activity, Running};
use super::experiment::Report;
use super::nodes::Nodes;

/// The port the receiver listens on unless the topology says otherwise.
pub const PORT: u16 = 5201;
/// How long the connection may take.
const CONNECT_TIMEOUT: f64 = 10.0;

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
    /// The sender's address and port as the receiver saw them (after any
    /// NAT on the way).
    pub seen_from: Option<String>,
    /// Why no stream got through (refused, timed out, reset), if so.
    pub error: Option<String>,
}

pub struct Tcp {
    from: String,
    to: IpAddr,
    duration: f64,
    started: f64,
    listener: TcpListener,
    sender: TcpStream,
    receiver: Option<TcpStream>,
    seen_from: Option<String>,
    error: Option<Errno>,
    /// When sending stops; set once the connection is up.
    end: Option<f64>,
    /// Whether the sender waits for room to write.
    blocked: bool,
    shut: bool,
    buf: Vec<u8>,
    bytes: u64,
    first: Option<f64>,
    last: f64,
    halves: Vec<u64>,
    eof: bool,
}

impl Tcp {
    /// Listens in `to_node` and connects from `from`, at `now`.
    pub fn start(
        nodes: &Nodes,
        from: &str,
        to: IpAddr,
        to_node: &str,
        port: u16,
        duration: Duration,
        now: f64,
    ) -> Result<Tcp, String> {
        let failed = |e: Errno| format!("tcp from {from} to {to}: {e}");
        let listener = nodes
            .listen(to_node, SocketAddr::new(to, port))
            .map_err(failed)?;
        let sender = nodes
            .namespace(from)
            .run(|| TcpStream::connect_started(SocketAddr::new(to, port)))
            .and_then(|r| r)
            .map_err(failed)?;
        Ok(Tcp {
            from: from.to_string(),
            to,
            duration: duration.as_secs_f64(),
            started: now,
            listener,
            sender,
            receiver: None,
            seen_from: None,
            error: None,
            end: None,
            blocked: false,
            shut: false,
            buf: vec![0x5a; 1 << 16],
            bytes: 0,
            first: None,
            last: now,
            halves: Vec::new(),
            eof: false,
        })
    }

    fn failed(&self, e: Errno) -> String {
        format!("tcp from {} to {}: {e}", self.from, self.to)
    }

    /// Writes until the socket is full or the time is up. A connection
    /// that fails (refused, timed out, reset) ends the experiment with its
    /// error: that is its outcome, not a failure of the run.
    fn send(&mut self, now: f64) -> Result<(), String> {
        self.blocked = false;
        while !self.shut && self.error.is_none() {
            if self.end.is_some_and(|end| now >= end) {
                self.sender
                    .shutdown(Shutdown::Write)
                    .map_err(|e| self.failed(e))?;
                self.shut = true;
                break;
            }
            match self.sender.write(&self.buf) {
                Ok(_) => {
                    self.end.get_or_insert(now + self.duration);
                }
                Err(Errno::EAGAIN) => {
                    if self.end.is_none() && now - self.started >= CONNECT_TIMEOUT {
                        self.error = Some(Errno::ETIMEDOUT);
                        break;
                    }
                    self.blocked = true;
                    break;
                }
                Err(e @ (Errno::ECONNREFUSED | Errno::ECONNRESET | Errno::EPIPE)) => {
                    self.error = Some(e);
                }
                Err(Errno::EHOSTUNREACH | Errno::ENETUNREACH) => {
                    self.error = Some(Errno::EHOSTUNREACH);
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(())
    }

    fn receive(&mut self, now: f64) -> Result<(), String> {
        if self.receiver.is_none() {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    stream.set_nonblocking(true).map_err(|e| self.failed(e))?;
                    self.receiver = Some(stream);
                    self.seen_from = Some(peer.to_string());
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(self.failed(e)),
            }
        }
        let Some(stream) = &self.receiver else {
            return Ok(());
        };
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    self.last = now;
                    return Ok(());
                }
                Ok(n) => {
                    let first = *self.first.get_or_insert(now);
                    self.bytes += n as u64;
                    self.last = now;
                    let half = ((now - first) * 2.0) as usize;
                    if self.halves.len() <= half {
                        self.halves.resize(half + 1, 0);
                    }
                    self.halves[half] += n as u64;
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(self.failed(e)),
            }
        }
    }
}

impl Activity for Tcp {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        if self.blocked && !self.shut {
            fds.push(PollFd {
                fd: self.sender.descriptor(),
                events: POLLOUT,
                revents: 0,
            });
        }
        let reading = match &self.receiver {
            Some(stream) => stream.descriptor(),
            None => self.listener.descriptor(),
        };
        fds.push(readable(reading));
    }

    fn deadline(&self) -> Option<f64> {
        match self.end {
            Some(end) if !self.shut => Some(end),
            None if self.error.is_none() => Some(self.started + CONNECT_TIMEOUT),
            _ => None,
        }
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        self.send(now)?;
        self.receive(now)?;
        Ok(self.eof || self.error.is_some())
    }
}

impl Running for Tcp {
    fn report(self: Box<Self>) -> Report {
        let seconds = self.first.map_or(0.0, |f| self.last - f);
        let rates = self
            .halves
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                // The last half second ends with the stream.
                let span = (seconds - i as f64 * 0.5).clamp(1e-9, 0.5);
                b as f64 * 8.0 / span / 1e6
            })
            .collect();
        Report::Tcp(TcpReport {
            kind: "tcp",
            from: self.from,
            to: self.to.to_string(),
            bytes: self.bytes,
            seconds,
            mbit_per_s: self.bytes as f64 * 8.0 / seconds.max(1e-9) / 1e6,
            mbit_per_s_each_half_second: rates,
            seen_from: self.seen_from,
            error: self.error.map(|e| e.to_string()),
        })
    }
}
