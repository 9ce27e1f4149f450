//! `lklnet serve`: a static HTTP/1.1 server on the kernel's TCP. GET and
//! HEAD of the files under one host directory, a listing for
//! directories; one thread per connection, one request per connection.
//! Paths never leave the directory: `..`, NUL and backslashes are
//! refused, and what a symlink leads to must still be under it.
use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use std::time::Duration;

use lkl::net::{Shutdown, TcpListener, TcpStream};

const HEAD_MAX: usize = 16 << 10;
const IDLE: Duration = Duration::from_secs(30);
const CHUNK: usize = 256 << 10;

pub fn serve(root: &Path, port: u16, requests: Option<u64>) -> Result<(), String> {
    // IPv6's any address takes IPv4 too (mapped).
    let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let listener = TcpListener::bind(any).map_err(|e| format!("port {port}: {e}"))?;
    eprintln!("lklnet: serving on port {port}");
    let mut handles = Vec::new();
    let mut accepted = 0u64;
    while requests.is_none_or(|n| accepted < n) {
        let (stream, peer) = match listener.accept() {
            Ok(s) => s,
            Err(e) => return Err(format!("accepting: {e}")),
        };
        accepted += 1;
        let root = root.to_path_buf();
        let handle = std::thread::spawn(move || {
            if let Err(e) = answer(&stream, &root) {
                eprintln!("lklnet: {peer}: {e}");
            }
            // The response's last bytes may still be on their way (or be
            // sent again): the connection, and this program, last until
            // the client has them all and closes its side.
            let _ = stream.shutdown(Shutdown::Write);
            let mut rest = [0u8; 512];
            while stream.read(&mut rest).is_ok_and(|n| n > 0) {}
        });
        if requests.is_some() {
            handles.push(handle);
        }
    }
    for handle in handles {
        let _ = handle.join();
    }
    Ok(())
}

fn send(stream: &TcpStream, data: &[u8]) -> Result<(), String> {
    stream.write_all(data).map_err(|e| format!("sending: {e}"))
}

fn status(stream: &TcpStream, code: u16, reason: &str) -> Result<(), String> {
    let body = format!("{code} {reason}\n");
    send(
        stream,
        format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn answer(stream: &TcpStream, root: &Path) -> Result<(), String> {
    stream
        .set_read_timeout(Some(IDLE))
        .and_then(|()| stream.set_write_timeout(Some(IDLE)))
        .map_err(|e| e.to_string())?;
    let mut head = vec![0u8; HEAD_MAX];
    let mut len = 0;
    let (method, target) = loop {
        let n = stream
            .read(&mut head[len..])
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
                return status(stream, 431, "Request Header Fields Too Large")
            }
            Err(_) => return status(stream, 400, "Bad Request"),
        }
    };
    if method != "GET" && method != "HEAD" {
        return status(stream, 405, "Method Not Allowed");
    }
    let Some(path) = local_path(root, &target) else {
        return status(stream, 404, "Not Found");
    };
    if path.is_dir() {
        let index = path.join("index.html");
        if index.is_file() {
            return send_file(stream, &index, method == "HEAD");
        }
        return send_listing(stream, &path, &target, method == "HEAD");
    }
    send_file(stream, &path, method == "HEAD")
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

fn send_file(stream: &TcpStream, path: &Path, head_only: bool) -> Result<(), String> {
    let Ok(mut file) = File::open(path) else {
        return status(stream, 403, "Forbidden");
    };
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    send(
        stream,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )?;
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
        send(stream, &buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn send_listing(
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
    )?;
    if !head_only {
        send(stream, body.as_bytes())?;
    }
    Ok(())
}
