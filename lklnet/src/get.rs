//! `lklnet get`: one HTTP/1.1 GET through the kernel's TCP, the body
//! (sized, chunked, or up to the close) written as it comes, a progress
//! line on a terminal, the rate at the end. The fetch itself is async on
//! the kernel's non-blocking sockets (`aio`): the command runs it alone,
//! the simulator alongside its other work.
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use lkl::net::{Descriptor, TcpStream};
use lkl::sys::{POLLIN, POLLOUT};
use lkl::Errno;

use crate::aio;
use crate::url::Url;

/// The longest response head taken.
const HEAD_MAX: usize = 64 << 10;
const READ_CHUNK: usize = 256 << 10;

fn net_error(what: &str, e: Errno) -> String {
    let reason = match e {
        Errno::EAGAIN => "timed out".to_string(),
        Errno::EINPROGRESS | Errno::ETIMEDOUT => "timed out".to_string(),
        e => e.message().unwrap_or("error").to_lowercase(),
    };
    format!("{what}: {reason} ({e:?})")
}

/// Reads from the connection, keeping what was read past what the
/// caller took.
struct Body<'a> {
    stream: &'a TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How long a read may wait.
    timeout: f64,
    /// When the first byte came, on the kernel's clock.
    first_byte: Option<f64>,
}

impl Body<'_> {
    async fn fill(&mut self) -> Result<bool, String> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let deadline = aio::now() + self.timeout;
        let (stream, buf) = (self.stream, &mut self.buf[self.end..]);
        let n = aio::retry(stream.descriptor(), POLLIN, Some(deadline), || {
            stream.read(buf)
        })
        .await
        .map_err(|e| net_error("reading the response", e))?;
        self.first_byte.get_or_insert_with(aio::now);
        self.end += n;
        Ok(n > 0)
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// One line (chunked encoding's sizes), without its CRLF.
    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.available().windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.available()[..i]).into_owned();
                self.consume(i + 2);
                return Ok(line);
            }
            if self.available().len() > 1024 {
                return Err("a chunk size line longer than 1 KiB".into());
            }
            if !self.fill().await? {
                return Err("the connection closed inside the chunked body".into());
            }
        }
    }
}

struct Progress {
    total: Option<u64>,
    done: u64,
    started: Instant,
    shown: Instant,
    terminal: bool,
}

impl Progress {
    fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.terminal && self.shown.elapsed() >= Duration::from_millis(200) {
            self.shown = Instant::now();
            let rate = self.rate();
            match self.total {
                Some(t) if t > 0 => eprint!(
                    "\r{:>5.1}%  {} of {}  {rate}   ",
                    self.done as f64 * 100.0 / t as f64,
                    bytes(self.done),
                    bytes(t)
                ),
                _ => eprint!("\r{}  {rate}   ", bytes(self.done)),
            }
        }
    }

    fn rate(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        format!("{:.1} MB/s", self.done as f64 / secs / 1e6)
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// What a fetch got, timed on the kernel's clock from its start.
pub struct Fetched {
    pub bytes: u64,
    pub seconds: f64,
    pub first_byte: Option<f64>,
}

/// Fetches `url` from `addr` into `output` (standard output if None).
pub fn get(
    url: &Url,
    addr: SocketAddr,
    output: Option<&Path>,
    timeout: Duration,
) -> Result<(), String> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(io::BufWriter::with_capacity(
            READ_CHUNK,
            File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let terminal = io::stderr().is_terminal();
    let got = aio::block_on(fetch(url, addr, &mut out, timeout, terminal))?;
    if terminal {
        eprint!("\r");
    }
    eprintln!(
        "{} in {:.2} s, {:.1} MB/s",
        bytes(got.bytes),
        got.seconds,
        got.bytes as f64 / got.seconds.max(1e-6) / 1e6
    );
    Ok(())
}

/// Connects to `addr` from the calling thread's namespace, fetches `url`
/// and writes its body to `out` (with a progress line if `terminal`).
pub async fn fetch(
    url: &Url,
    addr: SocketAddr,
    out: &mut dyn Write,
    timeout: Duration,
    terminal: bool,
) -> Result<Fetched, String> {
    let start = aio::now();
    let timeout = timeout.as_secs_f64();
    let connecting = |e| net_error(&format!("connecting to {addr}"), e);
    let stream = TcpStream::connect_started(addr).map_err(connecting)?;
    let fd = stream.descriptor();
    // Writable once connected (or refused: the error says which).
    aio::retry(fd, POLLOUT, Some(start + timeout), || {
        match stream.peer_addr() {
            Ok(_) => Ok(()),
            Err(Errno::ENOTCONN) => stream.take_error().and(Err(Errno::EAGAIN)),
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(connecting)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lklnet/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header(),
        env!("CARGO_PKG_VERSION")
    );
    let mut sent = 0;
    while sent < request.len() {
        let deadline = aio::now() + timeout;
        sent += aio::retry(fd, POLLOUT, Some(deadline), || {
            stream.write(&request.as_bytes()[sent..])
        })
        .await
        .map_err(|e| net_error("sending the request", e))?;
    }

    let mut body = Body {
        stream: &stream,
        buf: vec![0; READ_CHUNK.max(HEAD_MAX)],
        start: 0,
        end: 0,
        timeout,
        first_byte: None,
    };
    let (length, chunked) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 100];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(body.available()) {
            Ok(httparse::Status::Complete(head_len)) => {
                let code = response.code.unwrap_or(0);
                if !(200..300).contains(&code) {
                    return Err(format!(
                        "{addr}: HTTP {code} {}",
                        response.reason.unwrap_or("")
                    ));
                }
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
                };
                let chunked = header("transfer-encoding").is_some_and(|v| v.ends_with("chunked"));
                let length = match header("content-length") {
                    Some(v) if !chunked => Some(
                        v.parse::<u64>()
                            .map_err(|_| format!("{addr}: a bad Content-Length: {v}"))?,
                    ),
                    _ => None,
                };
                body.consume(head_len);
                break (length, chunked);
            }
            Ok(httparse::Status::Partial) => {
                if body.available().len() >= HEAD_MAX {
                    return Err(format!(
                        "{addr}: a response head over {} KiB",
                        HEAD_MAX >> 10
                    ));
                }
                if !body.fill().await? {
                    return Err(format!("{addr}: the connection closed before a response"));
                }
            }
            Err(e) => return Err(format!("{addr}: a bad response: {e}")),
        }
    };

    let mut progress = Progress {
        total: length,
        done: 0,
        started: Instant::now(),
        shown: Instant::now(),
        terminal,
    };
    let mut write = |data: &[u8], progress: &mut Progress| -> Result<(), String> {
        out.write_all(data)
            .map_err(|e| format!("writing the body: {e}"))?;
        progress.add(data.len());
        Ok(())
    };
    if chunked {
        loop {
            let line = body.line().await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let mut left = u64::from_str_radix(size, 16)
                .map_err(|_| format!("{addr}: a bad chunk size: {line}"))?;
            if left == 0 {
                break;
            }
            while left > 0 {
                if body.available().is_empty() && !body.fill().await? {
                    return Err(format!("{addr}: the connection closed inside a chunk"));
                }
                let n = body.available().len().min(left as usize);
                write(&body.available()[..n], &mut progress)?;
                body.consume(n);
                left -= n as u64;
            }
            if !body.line().await?.is_empty() {
                return Err(format!("{addr}: no CRLF after a chunk"));
            }
        }
    } else {
        loop {
            let want = length.map_or(usize::MAX, |l| (l - progress.done) as usize);
            if want == 0 {
                break;
            }
            if body.available().is_empty() && !body.fill().await? {
                if let Some(l) = length {
                    return Err(format!(
                        "{addr}: the connection closed after {} of {l} bytes",
                        progress.done
                    ));
                }
                break;
            }
            let n = body.available().len().min(want);
            write(&body.available()[..n], &mut progress)?;
            body.consume(n);
        }
    }
    out.flush().map_err(|e| format!("writing the body: {e}"))?;
    Ok(Fetched {
        bytes: progress.done,
        seconds: aio::now() - start,
        first_byte: body.first_byte.map(|t| t - start),
    })
}
