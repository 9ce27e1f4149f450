//! A NIC backend that needs no privileges: each Ethernet frame is one UDP
//! datagram between two host sockets (on loopback, or across machines),
//! so two programs running Linux are joined by a virtual cable. Only the
//! peer's datagrams are taken (the socket is connected to it). With
//! offloads (both ends must agree), frames carry the offload header and
//! TCP sends segments of up to 64 KiB, which the receiving Linux takes
//! whole: far fewer datagrams for the same data.
use std::format;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use super::{NicBackend, NicReceiver, OFFLOAD_HEADER_LEN};
use crate::Errno;

/// How often the receiving thread looks whether the link was stopped.
const POLL: Duration = Duration::from_millis(100);
/// The largest frame a datagram carries (an IPv4 UDP payload's limit).
const FRAME_MAX: usize = 65_507;

pub struct UdpLink {
    socket: UdpSocket,
    mtu: u32,
    offload: bool,
    /// Where a frame given in pieces is put together (one kernel thread
    /// sends at a time: never contended).
    gather: Mutex<Vec<u8>>,
    stopped: AtomicBool,
    send_errors: AtomicU64,
    dropped: AtomicU64,
}

impl UdpLink {
    /// A link from `local` to `peer`, carrying payloads of up to `mtu`
    /// bytes (1500 as Ethernet; up to 65,000 between two programs of
    /// ours, fewer frames for the same data), with or without offloads.
    pub fn bind(
        local: SocketAddr,
        peer: SocketAddr,
        mtu: u32,
        offload: bool,
    ) -> io::Result<Arc<UdpLink>> {
        if !(68..=65_000).contains(&mtu) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("MTU {mtu}: from 68 to 65000"),
            ));
        }
        let socket = UdpSocket::bind(local)?;
        socket.connect(peer)?;
        socket.set_read_timeout(Some(POLL))?;
        Ok(Arc::new(UdpLink {
            socket,
            mtu,
            offload,
            gather: Mutex::new(Vec::with_capacity(FRAME_MAX)),
            stopped: AtomicBool::new(false),
            send_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }))
    }

    /// The host address the link sends from.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts the thread that hands the peer's frames to the NIC; it ends
    /// at [`UdpLink::stop`] or when the kernel halts.
    pub fn start(
        self: &Arc<Self>,
        receiver: NicReceiver,
    ) -> io::Result<std::thread::JoinHandle<()>> {
        let link = self.clone();
        std::thread::Builder::new()
            .name("lkl-udp-link".into())
            .spawn(move || link.receive_loop(receiver))
    }

    fn receive_loop(&self, receiver: NicReceiver) {
        let mut buf = vec![0u8; FRAME_MAX];
        while !self.stopped.load(Ordering::Acquire) {
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                // The peer is not there yet (ICMP port unreachable on
                // loopback): frames will come once it is.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(_) => break,
            };
            if !self.hand_over(&receiver, &buf[..n]) {
                break;
            }
        }
    }

    /// Gives the kernel one frame; false once the kernel is gone.
    fn hand_over(&self, receiver: &NicReceiver, frame: &[u8]) -> bool {
        match receiver.receive_waiting(frame) {
            Ok(true) => true,
            Ok(false) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Ends the receiving thread (within [`POLL`]).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Frames the host refused to send.
    pub fn send_errors(&self) -> u64 {
        self.send_errors.load(Ordering::Relaxed)
    }

    /// Frames received while the kernel's ring stayed full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl NicBackend for UdpLink {
    fn transmit(&self, frame: &[&[u8]]) -> Result<(), Errno> {
        let sent = match frame {
            [one] => self.socket.send(one),
            pieces => {
                let mut buf = self.gather.lock().unwrap_or_else(|p| p.into_inner());
                buf.clear();
                for piece in pieces {
                    buf.extend_from_slice(piece);
                }
                self.socket.send(&buf)
            }
        };
        match sent {
            Ok(_) => Ok(()),
            Err(_) => {
                self.send_errors.fetch_add(1, Ordering::Relaxed);
                Err(Errno::ENOBUFS)
            }
        }
    }

    fn mtu(&self) -> u32 {
        self.mtu
    }

    fn offload_max(&self) -> u32 {
        if self.offload {
            (FRAME_MAX - OFFLOAD_HEADER_LEN) as u32
        } else {
            0
        }
    }
}
