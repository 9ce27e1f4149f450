//! The http experiment: a client on one node fetches a body of a given
//! size from a server on another, over HTTP/1.1, both on the kernel's
//! non-blocking sockets and parsed with httparse, as `lklnet get` and
//! `serve` do; the time to the first byte, the whole fetch and its rate.
use std::net::SocketAddr;

use lkl::net::{Descriptor, TcpListener, TcpStream};
use lkl::sys::{PollFd, POLLOUT};
use lkl::Errno;
use serde::Serialize;

use super::engine::{readable, Activity, Running};
use super::experiment::Report;
use super::nodes::Nodes;

/// How long the fetch may take to connect.
const CONNECT_TIMEOUT: f64 = 10.0;
/// The most of a request or a response header kept.
const HEADER_MAX: usize = 16 << 10;

#[derive(Serialize, Debug, Clone)]
pub struct HttpReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub status: Option<u16>,
    /// Body bytes received.
    pub bytes: u64,
    pub time_to_first_byte_ms: Option<f64>,
    /// From the start to the body's last byte.
    pub seconds: f64,
    pub mbit_per_s: f64,
    /// Why the fetch failed, if it did.
    pub error: Option<String>,
}

/// The server's side: the request read, then the response written.
struct Server {
    listener: TcpListener,
    conn: Option<TcpStream>,
    request: Vec<u8>,
    /// The response's header still to write, then the body's bytes.
    header: Vec<u8>,
    body_left: u64,
    done: bool,
}

/// The client's side.
struct Client {
    stream: TcpStream,
    request: Vec<u8>,
    sent: usize,
    header: Vec<u8>,
    length: Option<u64>,
    status: Option<u16>,
    bytes: u64,
    first_byte: Option<f64>,
    finished: Option<f64>,
}

pub struct Http {
    from: String,
    to: SocketAddr,
    size: u64,
    start: f64,
    server: Server,
    client: Client,
    error: Option<String>,
}

impl Http {
    /// Listens in `to_node` and starts the fetch from `from`, at `now`.
    pub fn start(
        nodes: &Nodes,
        from: &str,
        to: SocketAddr,
        to_node: &str,
        size: u64,
        now: f64,
    ) -> Result<Http, String> {
        let failed = |e: Errno| format!("http from {from} to {to}: {e}");
        let listener = nodes.listen(to_node, to).map_err(failed)?;
        let stream = nodes
            .namespace(from)
            .run(|| TcpStream::connect_started(to))
            .and_then(|r| r)
            .map_err(failed)?;
        let host = match to {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lklnet-sim\r\nConnection: close\r\n\r\n"
        );
        Ok(Http {
            from: from.to_string(),
            to,
            size,
            start: now,
            server: Server {
                listener,
                conn: None,
                request: Vec::new(),
                header: Vec::new(),
                body_left: 0,
                done: false,
            },
            client: Client {
                stream,
                request: request.into_bytes(),
                sent: 0,
                header: Vec::new(),
                length: None,
                status: None,
                bytes: 0,
                first_byte: None,
                finished: None,
            },
            error: None,
        })
    }

    /// The server: accept, read the request, answer 200 with the body (or
    /// 400 for what does not parse).
    fn serve(&mut self) -> Result<(), Errno> {
        let s = &mut self.server;
        if s.done {
            return Ok(());
        }
        if s.conn.is_none() {
            match s.listener.accept() {
                Ok((c, _)) => {
                    c.set_nonblocking(true)?;
                    s.conn = Some(c);
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let conn = s.conn.as_ref().unwrap();
        if s.header.is_empty() && s.body_left == 0 {
            let mut buf = [0u8; 4096];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) => return Err(Errno::ECONNRESET),
                    Ok(n) => s.request.extend_from_slice(&buf[..n]),
                    Err(Errno::EAGAIN) => break,
                    Err(e) => return Err(e),
                }
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&s.request) {
                Ok(httparse::Status::Complete(_)) => {
                    let ok = req.method == Some("GET") && req.path == Some("/");
                    let (status, length) = if ok {
                        ("200 OK", self.size)
                    } else {
                        ("400 Bad Request", 0)
                    };
                    s.header = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes();
                    s.body_left = length;
                }
                Ok(httparse::Status::Partial) if s.request.len() < HEADER_MAX => return Ok(()),
                _ => return Err(Errno::EPROTO),
            }
        }
        let body = [0x5au8; 1 << 16];
        loop {
            let (chunk, header): (&[u8], bool) = if !s.header.is_empty() {
                (&s.header, true)
            } else if s.body_left > 0 {
                (&body[..s.body_left.min(body.len() as u64) as usize], false)
            } else {
                s.done = true;
                s.conn = None;
                return Ok(());
            };
            match conn.write(chunk) {
                Ok(n) if header => {
                    s.header.drain(..n);
                }
                Ok(n) => s.body_left -= n as u64,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The client: send the request, read the status, the header and the
    /// body.
    fn fetch(&mut self, now: f64) -> Result<(), Errno> {
        let c = &mut self.client;
        while c.sent < c.request.len() {
            match c.stream.write(&c.request[c.sent..]) {
                Ok(n) => c.sent += n,
                Err(Errno::EAGAIN) => {
                    if now - self.start >= CONNECT_TIMEOUT {
                        return Err(Errno::ETIMEDOUT);
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match c.stream.read(&mut buf) {
                Ok(0) => {
                    if c.length.is_some_and(|l| c.bytes < l) || c.status.is_none() {
                        return Err(Errno::ECONNRESET);
                    }
                    c.finished.get_or_insert(now);
                    return Ok(());
                }
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(e),
            };
            c.first_byte.get_or_insert(now);
            let mut data = &buf[..n];
            if c.status.is_none() {
                c.header.extend_from_slice(data);
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&c.header) {
                    Ok(httparse::Status::Complete(end)) => {
                        c.status = resp.code;
                        c.length = resp
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok());
                        let rest = c.header.split_off(end);
                        c.bytes += rest.len() as u64;
                        data = &[];
                    }
                    Ok(httparse::Status::Partial) if c.header.len() < HEADER_MAX => continue,
                    _ => return Err(Errno::EPROTO),
                }
            }
            c.bytes += data.len() as u64;
            if c.length.is_some_and(|l| c.bytes >= l) {
                c.finished.get_or_insert(now);
            }
        }
    }
}

impl Activity for Http {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        let s = &self.server;
        if !s.done {
            match &s.conn {
                None => fds.push(readable(s.listener.descriptor())),
                Some(c) if s.header.is_empty() && s.body_left == 0 => {
                    fds.push(readable(c.descriptor()))
                }
                Some(c) => fds.push(PollFd {
                    fd: c.descriptor(),
                    events: POLLOUT,
                    revents: 0,
                }),
            }
        }
        let c = &self.client;
        let events = if c.sent < c.request.len() {
            POLLOUT
        } else {
            lkl::sys::POLLIN
        };
        fds.push(PollFd {
            fd: c.stream.descriptor(),
            events,
            revents: 0,
        });
    }

    fn deadline(&self) -> Option<f64> {
        (self.client.sent < self.client.request.len()).then_some(self.start + CONNECT_TIMEOUT)
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        if let Err(e) = self.serve() {
            self.error = Some(format!("the server: {e}"));
            return Ok(true);
        }
        if let Err(e) = self.fetch(now) {
            self.error = Some(e.to_string());
            return Ok(true);
        }
        Ok(self.client.finished.is_some())
    }
}

impl Running for Http {
    fn report(self: Box<Self>) -> Report {
        let c = &self.client;
        let seconds = c.finished.unwrap_or(self.start) - self.start;
        Report::Http(HttpReport {
            kind: "http",
            from: self.from.clone(),
            to: self.to.to_string(),
            status: c.status,
            bytes: c.bytes,
            time_to_first_byte_ms: c.first_byte.map(|t| (t - self.start) * 1e3),
            seconds,
            mbit_per_s: c.bytes as f64 * 8.0 / seconds.max(1e-9) / 1e6,
            error: self.error.clone(),
        })
    }
}
