//! `lklnet serve`: a static HTTP/1.1 server on the kernel's TCP. GET and
//! HEAD of the files under one host directory, a listing for
//! directories; one request per connection, the connections served
//! together by one async loop on the kernel's non-blocking sockets
//! (`aio`), which the simulator can run too. Paths never leave the
//! directory: `..`, NUL and backslashes are refused, and what a symlink
//! leads to must still be under it.
use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use lkl::net::{Descriptor, Shutdown, TcpListener, TcpStream};
use lkl::sys::{POLLIN, POLLOUT};
use lkl::Errno;

use crate::aio;

const HEAD_MAX: usize = 16 << 10;
const IDLE: Duration = Duration::from_secs(30);
const CHUNK: usize = 256 << 10;

pub fn serve(root: &Path, port: u16, requests: Option<u64>) -> Result<(), String> {
    // IPv6's any address takes IPv4 too (mapped).
    let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let listener = TcpListener::bind(any)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("port {port}: {e}"))?;
    eprintln!("lklnet: serving on port {port}");
    aio::block_on(run(&listener, root, requests, true))
}

/// Serves connections from `listener` (non-blocking), `requests` of them
/// or for ever; each connection's problems on standard error if `say`.
pub async fn run(
    listener: &TcpListener,
    root: &Path,
    requests: Option<u64>,
    say: bool,
) -> Result<(), String> {
    let mut connections: Vec<Pin<Box<dyn Future<Output = ()> + '_>>> = Vec::new();
    let mut accepted = 0u64;
    std::future::poll_fn(|cx| {
        while requests.is_none_or(|n| accepted < n) {
            match listener.accept() {
                Ok((stream, peer)) => {
                    accepted += 1;
                    connections.push(Box::pin(connection(stream, peer, root, say)));
                }
                Err(Errno::EAGAIN) => {
                    aio::register(listener.descriptor(), POLLIN, None);
                    break;
                }
                Err(e) => return Poll::Ready(Err(format!("accepting: {e}"))),
            }
        }
        connections.retain_mut(|c| c.as_mut().poll(cx).is_pending());
        if requests.is_some_and(|n| accepted >= n) && connections.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// One connection: its request answered, then kept until the client
/// closes: the response's last bytes may still be on their way (or be
/// sent again), and the program must last until the client has them.
async fn connection(stream: TcpStream, peer: SocketAddr, root: &Path, say: bool) {
    if let Err(e) = stream.set_nonblocking(true) {
        if say {
            eprintln!("lklnet: {peer}: {e}");
        }
        return;
    }
    if let Err(e) = answer(&stream, root).await {
        if say {
            eprintln!("lklnet: {peer}: {e}");
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    let mut rest = [0u8; 512];
    while read(&stream, &mut rest).await.is_ok_and(|n| n > 0) {}
}

/// Reads what has come, waiting up to IDLE.
async fn read(stream: &TcpStream, buf: &mut [u8]) -> Result<usize, Errno> {
    let deadline = aio::now() + IDLE.as_secs_f64();
    aio::retry(stream.descriptor(), POLLIN, Some(deadline), || {
        stream.read(buf)
    })
    .await
}

/// Sends all of `data`, each write waiting up to IDLE.
async fn send(stream: &TcpStream, mut data: &[u8]) -> Result<(), String> {
    while !data.is_empty() {
        let deadline = aio::now() + IDLE.as_secs_f64();
        let n = aio::retry(stream.descriptor(), POLLOUT, Some(deadline), || {
            stream.write(data)
        })
        .await
        .map_err(|e| format!("sending: {e}"))?;
        data = &data[n..];
    }
    Ok(())
}

async fn status(stream: &TcpStream, code: u16, reason: &str) -> Result<(), String> {
    let body = format!("{code} {reason}\n");
    send(
        stream,
        format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
}

async fn answer(stream: &TcpStream, root: &Path) -> Result<(), String> {
    let mut head = vec![0u8; HEAD_MAX];
    let mut len = 0;
    let (method, target) = loop {
        let n = read(stream, &mut head[len..])
            .await
            .map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                break (
                    request.method.unwrap_or("").to_string(),
                    request.path.unwrap_or("").to_string(),
                )
            }
            Ok(httparse::Status::Partial) if len < HEAD_MAX => continue,
            Ok(httparse::Status::Partial) => {
                return status(stream, 431, "Request Header Fields Too Large").await
            }
            Err(_) => return status(stream, 400, "Bad Request").await,
        }
    };
    if method != "GET" && method != "HEAD" {
        return status(stream, 405, "Method Not Allowed").await;
    }
    let Some(path) = local_path(root, &target) else {
        return status(stream, 404, "Not Found").await;
    };
    if path.is_dir() {
        let index = path.join("index.html");
        if index.is_file() {
            return send_file(stream, &index, method == "HEAD").await;
        }
        return send_listing(stream, &path, &target, method == "HEAD").await;
    }
    send_file(stream, &path, method == "HEAD").await
}

/// The file `target` names under `root`, if it is there and stays there.
fn local_path(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let decoded = percent_decode(path)?;
    let mut local = root.to_path_buf();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p if p.contains(['\0', '\\']) => return None,
            p => local.push(p),
        }
    }
    let real = local.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn send_file(stream: &TcpStream, path: &Path, head_only: bool) -> Result<(), String> {
    let Ok(mut file) = File::open(path) else {
        return status(stream, 403, "Forbidden").await;
    };
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    send(
        stream,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    if head_only {
        return Ok(());
    }
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            return Err(format!("{}: shorter than it was", path.display()));
        }
        let n = n.min(left as usize);
        send(stream, &buf[..n]).await?;
        left -= n as u64;
    }
    Ok(())
}

async fn send_listing(
    stream: &TcpStream,
    dir: &Path,
    target: &str,
    head_only: bool,
) -> Result<(), String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| {
            let mut name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                name.push('/');
            }
            name
        })
        .collect();
    names.sort();
    let base = if target.ends_with('/') { "" } else { "/" };
    let mut body = String::new();
    for name in names {
        body.push_str(&format!("{target}{base}{name}\n"));
    }
    send(
        stream,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    if !head_only {
        send(stream, body.as_bytes()).await?;
    }
    Ok(())
}
