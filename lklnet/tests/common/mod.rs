//! What the lklnet tests share: free UDP port pairs for links, and an
//! `lklnet serve` process on one end of a link, ready when it says so.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use lkl::net::{self, config, AddedNic, TapLink, UdpLink};

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

/// A network namespace of the test's (root), with two TAP devices: tap0
/// at 10.9.0.1/24 and fd09::1/64, tap1 at 10.9.1.1/24 and fd09:1::1/64;
/// its processes and itself gone on drop.
pub struct Namespace(pub String);

impl Namespace {
    pub fn new() -> Namespace {
        // SAFETY: geteuid only reads the process's credentials.
        assert_eq!(
            unsafe { libc_geteuid() },
            0,
            "this test makes a network namespace: run it as root"
        );
        let ns = Namespace(format!("lklnet-{}", std::process::id()));
        let _ = Command::new("ip").args(["netns", "del", &ns.0]).status();
        ns.sh("ip netns add NS");
        ns.run("ip link set lo up");
        for (tap, v4, v6) in [
            ("tap0", "10.9.0.1/24", "fd09::1/64"),
            ("tap1", "10.9.1.1/24", "fd09:1::1/64"),
        ] {
            ns.run(&format!("ip tuntap add dev {tap} mode tap"));
            ns.run(&format!("ip addr add {v4} dev {tap}"));
            ns.run(&format!("ip addr add {v6} dev {tap} nodad"));
            ns.run(&format!("ip link set {tap} up"));
        }
        ns
    }

    pub fn sh(&self, command: &str) {
        let command = command.replace("NS", &self.0);
        let out = Command::new("sh").args(["-c", &command]).output().unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `command` (split at spaces) inside the namespace.
    pub fn run(&self, command: &str) {
        let out = self.command(command.split(' ')).output().unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn command<'a>(&self, args: impl IntoIterator<Item = &'a str>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "ip netns pids {0} | xargs -r kill -9; ip netns del {0}",
                    self.0
                ),
            ])
            .status();
    }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

impl Namespace {
    /// Opens `tap` from inside the namespace (a thread of this process
    /// enters it for that: a TAP is attached in the namespace it was
    /// opened in, and its descriptor then works from any thread).
    pub fn open_tap(&self, tap: &str, mtu: u32) -> Arc<TapLink> {
        let path = format!("/var/run/netns/{}", self.0);
        let tap = tap.to_string();
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on a namespace file this thread holds open;
            // it changes this thread's network namespace only.
            let entered = unsafe { setns(std::os::fd::AsRawFd::as_raw_fd(&ns), 0x4000_0000) };
            assert_eq!(entered, 0, "setns {path}");
            TapLink::open(&tap, mtu).unwrap()
        })
        .join()
        .unwrap()
    }
}

extern "C" {
    fn setns(fd: i32, nstype: i32) -> i32;
}

/// A NIC of this process's kernel on a UDP link from port `local` to
/// `peer` on loopback (offloads as asked, MAC `mac`), up at 10.0.0.2/24.
pub fn udp_nic(local: u16, peer: u16, offload: bool, mac: [u8; 6]) -> (Arc<UdpLink>, AddedNic) {
    let link = UdpLink::bind(
        format!("127.0.0.1:{local}").parse().unwrap(),
        format!("127.0.0.1:{peer}").parse().unwrap(),
        1500,
        offload,
    )
    .unwrap();
    let nic = net::add_nic(link.clone(), mac).unwrap();
    link.start(nic.receiver()).unwrap();
    let ifindex = nic.ifindex().unwrap();
    config::set_link_up(ifindex, true).unwrap();
    config::add_address(ifindex, "10.0.0.2".parse().unwrap(), 24).unwrap();
    (link, nic)
}

/// The test's end of a UDP link: a host socket on port `local` facing
/// `peer`, reads giving up after 200 ms.
pub fn link_peer(local: u16, peer: u16) -> UdpSocket {
    let socket = UdpSocket::bind(format!("127.0.0.1:{local}")).unwrap();
    socket.connect(format!("127.0.0.1:{peer}")).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    socket
}
