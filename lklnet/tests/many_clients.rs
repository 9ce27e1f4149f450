//! This process's Linux as the client of an `lklnet serve` process: 100
//! connections at once from 100 host threads, every body checked; then
//! the NIC removed under an open connection (the read ends, nothing
//! hangs, the network is gone).
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ports, random_bytes, serve, udp_nic};
use lkl::net::TcpStream;
use lkl::{Config, Errno, Kernel};

const CLIENTS: usize = 100;

fn fetch(server: SocketAddr, path: &str) -> Result<Vec<u8>, Errno> {
    let stream = TcpStream::connect_timeout(server, Duration::from_secs(20))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(Errno::EPROTO)?;
    assert!(response.starts_with(b"HTTP/1.1 200 "), "{path}");
    Ok(response[head_end + 4..].to_vec())
}

#[test]
fn a_hundred_connections_at_once_then_the_nic_goes() {
    let dir = std::env::temp_dir().join(format!("lklnet-many-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..CLIENTS {
        std::fs::write(dir.join(format!("f{i}")), random_bytes(64 << 10, i as u64)).unwrap();
    }
    std::fs::write(dir.join("big"), random_bytes(32 << 20, 999)).unwrap();
    let (a, b) = ports();
    let _server = serve(&dir, a, b, &[]);

    let _kernel = Kernel::boot(&Config {
        memory: 128 << 20,
        ..Config::default()
    })
    .unwrap();
    let (link, nic) = udp_nic(b, a, true, [0; 6]);
    let server: SocketAddr = "10.0.0.1:8080".parse().unwrap();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let body = fetch(server, &format!("/f{i}")).unwrap();
                assert!(body == random_bytes(64 << 10, i as u64), "/f{i} differs");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }

    // A connection left open while its NIC goes away.
    let stream = Arc::new(TcpStream::connect_timeout(server, Duration::from_secs(20)).unwrap());
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    assert!(stream.read(&mut buf).unwrap() > 0);
    link.stop();
    nic.remove().unwrap();
    let started = Instant::now();
    let ended = loop {
        match stream.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => continue,
            Err(e) => break Err(e),
        }
    };
    // What was buffered is read; then the read times out (the peer can
    // no longer be heard), never blocking past its timeout.
    assert_eq!(ended, Err(Errno::EAGAIN));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        TcpStream::connect_timeout(server, Duration::from_secs(2)).err(),
        Some(Errno::ENETUNREACH)
    );
}
