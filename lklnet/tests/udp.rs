//! UDP both ways between Linux in this process and the host's Linux, over
//! a TAP device in a test namespace (root), IPv4 and IPv6, datagrams from
//! 1 byte to 8,000 (IP fragmentation both ways): the host's side is
//! Python's sockets.
mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::{random_bytes, Namespace};
use lkl::net::{self, config, UdpSocket};
use lkl::{Config, Kernel};

const SIZES: [usize; 6] = [1, 100, 1472, 1473, 4000, 8000];

/// A host UDP echo server on both families, port 7000.
const HOST_ECHO: &str = r#"
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 7000))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
"#;

/// A host client: each size to ADDRESS port 7001, its echo checked.
const HOST_CLIENT: &str = r#"
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
for size in [1, 100, 1472, 1473, 4000, 8000]:
    data = bytes((i * 7 + size) % 256 for i in range(size))
    for attempt in range(5):
        s.sendto(data, (sys.argv[1], 7001))
        try:
            got, _ = s.recvfrom(65535)
            break
        except socket.timeout:
            continue
    else:
        sys.exit("no echo of %d bytes" % size)
    if got != data:
        sys.exit("the echo of %d bytes differs" % size)
print("ok")
"#;

#[test]
fn udp_both_ways_with_the_host_kernel() {
    let ns = Namespace::new();
    let link = ns.open_tap("tap0", 1500);
    let _kernel = Kernel::boot(&Config::default()).unwrap();
    let nic = net::add_nic(link.clone(), [0; 6]).unwrap();
    link.start(nic.receiver()).unwrap();
    let ifindex = nic.ifindex().unwrap();
    config::set_link_up(ifindex, true).unwrap();
    config::add_address(ifindex, "10.9.0.2".parse().unwrap(), 24).unwrap();
    config::add_address(ifindex, "fd09::2".parse().unwrap(), 64).unwrap();

    // Ours to the host's echo server.
    let mut echo = ns.command(["python3", "-c", HOST_ECHO]);
    let mut echo = echo.stdout(Stdio::piped()).spawn().unwrap();
    let mut ready = [0u8; 5];
    std::io::Read::read_exact(echo.stdout.as_mut().unwrap(), &mut ready).unwrap();
    for server in ["10.9.0.1:7000", "[fd09::1]:7000"] {
        let server: SocketAddr = server.parse().unwrap();
        let any: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .unwrap();
        let socket = UdpSocket::bind(any).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        for size in SIZES {
            let data = random_bytes(size, size as u64);
            let mut buf = vec![0u8; 65536];
            // The first datagram may wait on neighbour discovery: resend.
            let (n, from) = (0..5)
                .find_map(|_| {
                    socket.send_to(&data, server).unwrap();
                    socket.recv_from(&mut buf).ok()
                })
                .unwrap_or_else(|| panic!("no echo of {size} bytes from {server}"));
            assert_eq!(from, server);
            assert!(
                buf[..n] == data[..],
                "{server}: the echo of {size} bytes differs"
            );
        }
    }
    let _ = echo.kill();
    let _ = echo.wait();

    // The host's client to our echo server, on both families.
    let socket = UdpSocket::bind("[::]:7001".parse().unwrap()).unwrap();
    // Echoes until the kernel halts at the end of the test.
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    for address in ["10.9.0.2", "fd09::2"] {
        let out = ns
            .command(["python3", "-c", HOST_CLIENT, address])
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout == b"ok\n",
            "{address}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    link.stop();
}
