//! Frames a NIC's peer may send that are not Ethernet: empty, too short,
//! too long, random bytes; and on a NIC with offloads, offload headers
//! that lie (segmentation of what is not TCP, checksum offsets past the
//! frame, random bytes). Linux drops them, its counters say so, and it
//! still answers an ARP request built here byte by byte.
mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{link_peer, ports, random_bytes, udp_nic};
use lkl::{sys, Config, Kernel};

fn read_sys(path: &str) -> String {
    let fd = sys::openat(-100, path, 0, 0).unwrap();
    let mut buf = [0u8; 256];
    let n = sys::read(fd, &mut buf).unwrap();
    sys::close(fd).unwrap();
    String::from_utf8_lossy(&buf[..n]).trim().to_string()
}

fn counter(dev: &str, name: &str) -> u64 {
    read_sys(&format!("/sys/class/net/{dev}/statistics/{name}"))
        .parse()
        .unwrap()
}

/// An ARP request for 10.0.0.2 from `ours` at 10.0.0.1.
fn arp_request(ours: [u8; 6]) -> Vec<u8> {
    let mut request = vec![0xff; 6];
    request.extend_from_slice(&ours);
    request.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    request.extend_from_slice(&ours);
    request.extend_from_slice(&[10, 0, 0, 1]);
    request.extend_from_slice(&[0; 6]);
    request.extend_from_slice(&[10, 0, 0, 2]);
    request.resize(60, 0);
    request
}

/// Sends `request` until an ARP reply comes back (`skip` bytes of
/// header in front of frames both ways); the reply's frame.
fn arp_reply(peer: &UdpSocket, request: &[u8], skip: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no ARP reply");
        peer.send(request).unwrap();
        let mut buf = [0u8; 2048];
        if let Ok(n) = peer.recv(&mut buf) {
            let frame = &buf[skip.min(n)..n];
            if frame.len() >= 42 && frame[12..14] == [0x08, 0x06] && frame[20..22] == [0, 2] {
                return frame.to_vec();
            }
        }
    }
}

#[test]
fn malformed_frames_are_counted_and_dropped() {
    let (a, b) = ports();
    let _kernel = Kernel::boot(&Config::default()).unwrap();
    let (_link, nic) = udp_nic(b, a, false, [0x02, 0, 0, 0, 0, 0x02]);
    let peer = link_peer(a, b);

    // Shorter than an Ethernet header, and longer than MTU + VLAN header.
    let mut bad_lengths = 0;
    for len in (0..14).chain([1519, 4000, 65_000]) {
        peer.send(&random_bytes(len, len as u64)).unwrap();
        bad_lengths += 1;
    }
    // Frames of Ethernet's sizes full of noise.
    for i in 0..300u64 {
        let len = 14 + (i as usize * 37) % 1500;
        peer.send(&random_bytes(len, 1000 + i)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter("eth0", "rx_length_errors") < bad_lengths && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(counter("eth0", "rx_length_errors"), bad_lengths);
    assert_eq!(nic.refused(), 0);

    let ours = [0x02, 0, 0, 0, 0, 0x01];
    let reply = arp_reply(&peer, &arp_request(ours), 0);
    let nic_mac = [0x02, 0, 0, 0, 0, 0x02];
    assert_eq!(reply[0..6], ours, "to us");
    assert_eq!(reply[6..12], nic_mac, "from the NIC");
    assert_eq!(reply[22..28], nic_mac, "sender hardware address");
    assert_eq!(reply[28..32], [10, 0, 0, 2], "sender protocol address");
    assert_eq!(reply[32..38], ours, "target hardware address");
    assert_eq!(reply[38..42], [10, 0, 0, 1], "target protocol address");
    assert_eq!(read_sys("/sys/class/net/eth0/address"), "02:00:00:00:00:02");
    assert!(counter("eth0", "tx_packets") >= 1);

    // A second NIC, with offloads: every frame behind a virtio_net_hdr.
    let (c, d) = ports();
    let (_link, _nic) = udp_nic(d, c, true, [0x02, 0, 0, 0, 0, 0x03]);
    let peer = link_peer(c, d);
    // Offload headers, in front of an IPv4 UDP packet, that ask for what
    // cannot be done.
    let mut udp = vec![0xff; 6];
    udp.extend_from_slice(&ours);
    udp.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0]);
    udp.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    udp.resize(62, 0);
    let lies: [[u8; 10]; 3] = [
        // A checksum to fill in past the frame's end.
        [1, 0, 0, 0, 0, 0, 60, 0, 200, 0],
        // A checksum that starts past the frame.
        [1, 0, 0, 0, 0, 0, 255, 0, 0, 0],
        // Segmentation of a kind there is not.
        [0, 0x7f, 54, 0, 120, 5, 0, 0, 0, 0],
    ];
    let mut sent_bad = 0;
    for lie in lies {
        let mut frame = lie.to_vec();
        frame.extend_from_slice(&udp);
        peer.send(&frame).unwrap();
        sent_bad += 1;
    }
    for i in 0..300u64 {
        peer.send(&random_bytes(10 + 14 + (i as usize * 53) % 1500, 5000 + i))
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter("eth1", "rx_frame_errors") < sent_bad && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(counter("eth1", "rx_frame_errors") >= sent_bad);
    let mut request = vec![0u8; 10];
    request.extend_from_slice(&arp_request(ours));
    let reply = arp_reply(&peer, &request, 10);
    assert_eq!(reply[22..28], [0x02, 0, 0, 0, 0, 0x03], "eth1 answers");
}
