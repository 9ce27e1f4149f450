//! What the lklnet tests share: free UDP port pairs for links, and an
//! `lklnet serve` process on one end of a link, ready when it says so.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const LKLNET: &str = env!("CARGO_BIN_EXE_lklnet");

/// Two free UDP ports on loopback: the two ends of a link.
pub fn ports() -> (u16, u16) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// The `--link` argument of the end at `local` facing `peer`.
pub fn link(local: u16, peer: u16) -> String {
    format!("udp:127.0.0.1:{local},127.0.0.1:{peer}")
}

/// `lklnet serve DIR` on port 8080 at 10.0.0.1/24 and fd00::1/64, on
/// the link end `local` facing `peer`; returns once it serves.
pub fn serve(dir: &Path, local: u16, peer: u16, extra: &[&str]) -> Server {
    let mut child = Command::new(LKLNET)
        .args(["serve"])
        .arg(dir)
        .args(["--port", "8080", "--link", &link(local, peer)])
        .args(["--addr", "10.0.0.1/24", "--addr", "fd00::1/64"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("serving"), "lklnet serve said: {line}");
    Server { child }
}

/// A server process, killed when dropped.
pub struct Server {
    pub child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bytes that no two files share by chance.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
