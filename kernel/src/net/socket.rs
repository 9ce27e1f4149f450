//! Sockets of the kernel's network stack, as types shaped like std's:
//! [`TcpStream`], [`TcpListener`], [`UdpSocket`]. Each owns a descriptor
//! of the kernel's (closed on drop); calls block as Linux's do, on the
//! calling host thread, and fail with the kernel's [`Errno`]. With `std`,
//! [`TcpStream`] is also `std::io::Read` and `Write`.
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use core::time::Duration;

use crate::sys::{self, arg, arg_mut};
use crate::uapi::nr;
use crate::Errno;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const SOCK_STREAM: i64 = 1;
const SOCK_DGRAM: i64 = 2;
const SOCK_CLOEXEC: i64 = 0o2000000;
const SOL_SOCKET: i64 = 1;
const SO_REUSEADDR: i64 = 2;
const SO_RCVTIMEO_NEW: i64 = 66;
const SO_SNDTIMEO_NEW: i64 = 67;
const IPPROTO_TCP: i64 = 6;
const TCP_NODELAY: i64 = 1;
const MSG_NOSIGNAL: i64 = 0x4000;
const LISTEN_BACKLOG: i64 = 128;

fn call(nr: i64, args: [i64; 6]) -> Result<i64, Errno> {
    // SAFETY: every caller here passes buffers with their true lengths and
    // socket addresses with the size they were encoded in.
    Errno::from_ret(unsafe { sys::syscall(nr, args) })
}

/// `struct sockaddr_in6`, large enough for `struct sockaddr_in` too.
#[repr(C)]
#[derive(Default)]
struct RawAddr {
    family: u16,
    port: [u8; 2],
    /// IPv4: the address, then zeroes; IPv6: the flow information.
    v4_or_flow: [u8; 4],
    v6: [u8; 16],
    scope_id: u32,
}

const RAW_V4_LEN: i64 = 16;
const RAW_V6_LEN: i64 = core::mem::size_of::<RawAddr>() as i64;

fn encode(addr: SocketAddr) -> (RawAddr, i64) {
    let mut raw = RawAddr {
        port: addr.port().to_be_bytes(),
        ..RawAddr::default()
    };
    match addr {
        SocketAddr::V4(a) => {
            raw.family = AF_INET;
            raw.v4_or_flow = a.ip().octets();
            (raw, RAW_V4_LEN)
        }
        SocketAddr::V6(a) => {
            raw.family = AF_INET6;
            raw.v4_or_flow = a.flowinfo().to_be_bytes();
            raw.v6 = a.ip().octets();
            raw.scope_id = a.scope_id();
            (raw, RAW_V6_LEN)
        }
    }
}

fn decode(raw: &RawAddr) -> Result<SocketAddr, Errno> {
    let port = u16::from_be_bytes(raw.port);
    match raw.family {
        AF_INET => Ok(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::from(raw.v4_or_flow),
            port,
        ))),
        AF_INET6 => Ok(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(raw.v6),
            port,
            u32::from_be_bytes(raw.v4_or_flow),
            raw.scope_id,
        ))),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

fn family(addr: &SocketAddr) -> i64 {
    match addr.ip() {
        IpAddr::V4(_) => AF_INET as i64,
        IpAddr::V6(_) => AF_INET6 as i64,
    }
}

/// A descriptor of the kernel's, closed on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = sys::close(self.0);
    }
}

impl Fd {
    fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
        const F_GETFL: i64 = 3;
        const F_SETFL: i64 = 4;
        const O_NONBLOCK: i64 = 0o4000;
        let flags = call(nr::FCNTL, [self.0 as i64, F_GETFL, 0, 0, 0, 0])?;
        let flags = if on {
            flags | O_NONBLOCK
        } else {
            flags & !O_NONBLOCK
        };
        call(nr::FCNTL, [self.0 as i64, F_SETFL, flags, 0, 0, 0]).map(drop)
    }

    fn socket(addr: &SocketAddr, kind: i64) -> Result<Fd, Errno> {
        call(nr::SOCKET, [family(addr), kind | SOCK_CLOEXEC, 0, 0, 0, 0]).map(|fd| Fd(fd as i32))
    }

    fn bind(&self, addr: SocketAddr) -> Result<(), Errno> {
        let (raw, len) = encode(addr);
        call(nr::BIND, [self.0 as i64, arg(&raw), len, 0, 0, 0]).map(drop)
    }

    fn connect(&self, addr: SocketAddr) -> Result<(), Errno> {
        let (raw, len) = encode(addr);
        call(nr::CONNECT, [self.0 as i64, arg(&raw), len, 0, 0, 0]).map(drop)
    }

    fn name(&self, nr: i64) -> Result<SocketAddr, Errno> {
        let mut raw = RawAddr::default();
        let mut len = RAW_V6_LEN as u32;
        call(
            nr,
            [self.0 as i64, arg_mut(&mut raw), arg_mut(&mut len), 0, 0, 0],
        )?;
        decode(&raw)
    }

    fn set_int(&self, level: i64, name: i64, value: i32) -> Result<(), Errno> {
        call(
            nr::SETSOCKOPT,
            [self.0 as i64, level, name, arg(&value), 4, 0],
        )
        .map(drop)
    }

    /// SO_RCVTIMEO or SO_SNDTIMEO; None: block for ever.
    fn set_timeout(&self, name: i64, timeout: Option<Duration>) -> Result<(), Errno> {
        if timeout == Some(Duration::ZERO) {
            return Err(Errno::EINVAL);
        }
        let d = timeout.unwrap_or(Duration::ZERO);
        let value: [i64; 2] = [d.as_secs() as i64, d.subsec_micros() as i64];
        call(
            nr::SETSOCKOPT,
            [self.0 as i64, SOL_SOCKET, name, arg(&value), 16, 0],
        )
        .map(drop)
    }

    fn send_to(&self, buf: &[u8], to: Option<SocketAddr>) -> Result<usize, Errno> {
        let encoded = to.map(encode);
        let (addr, len) = match &encoded {
            Some((raw, len)) => (arg(raw), *len),
            None => (0, 0),
        };
        call(
            nr::SENDTO,
            [
                self.0 as i64,
                arg(buf.as_ptr()),
                buf.len() as i64,
                MSG_NOSIGNAL,
                addr,
                len,
            ],
        )
        .map(|n| n as usize)
    }

    fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, Option<SocketAddr>), Errno> {
        let mut raw = RawAddr::default();
        let mut len = RAW_V6_LEN as u32;
        let n = call(
            nr::RECVFROM,
            [
                self.0 as i64,
                arg(buf.as_mut_ptr()),
                buf.len() as i64,
                0,
                arg_mut(&mut raw),
                arg_mut(&mut len),
            ],
        )?;
        Ok((n as usize, decode(&raw).ok()))
    }
}

/// A socket as a descriptor of the kernel's: to wait on with
/// [`crate::sys::ppoll`], and to make non-blocking (its calls then answer
/// `EAGAIN` instead of waiting).
pub trait Descriptor {
    fn descriptor(&self) -> i32;
    fn set_nonblocking(&self, on: bool) -> Result<(), Errno>;
}

macro_rules! descriptor {
    ($($socket:ty: $fd:tt),*) => {$(
        impl Descriptor for $socket {
            fn descriptor(&self) -> i32 {
                self.$fd.0
            }

            fn set_nonblocking(&self, on: bool) -> Result<(), Errno> {
                self.$fd.set_nonblocking(on)
            }
        }
    )*};
}

/// Which directions [`TcpStream::shutdown`] closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Read = 0,
    Write = 1,
    Both = 2,
}

/// A TCP connection.
pub struct TcpStream(Fd);

impl TcpStream {
    pub fn connect(addr: SocketAddr) -> Result<TcpStream, Errno> {
        let fd = Fd::socket(&addr, SOCK_STREAM)?;
        fd.connect(addr)?;
        Ok(TcpStream(fd))
    }

    /// Connects, giving up after `timeout` (`ETIMEDOUT`).
    pub fn connect_timeout(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, Errno> {
        let fd = Fd::socket(&addr, SOCK_STREAM)?;
        // Linux's connect waits as long as the send timeout, then answers
        // EINPROGRESS.
        fd.set_timeout(SO_SNDTIMEO_NEW, Some(timeout))?;
        match fd.connect(addr) {
            Err(Errno::EINPROGRESS) => return Err(Errno::ETIMEDOUT),
            r => r?,
        }
        fd.set_timeout(SO_SNDTIMEO_NEW, None)?;
        Ok(TcpStream(fd))
    }

    /// Starts connecting without waiting: the stream is non-blocking, and
    /// writable once connected ([`TcpStream::take_error`] says how it
    /// went).
    pub fn connect_started(addr: SocketAddr) -> Result<TcpStream, Errno> {
        let fd = Fd::socket(&addr, SOCK_STREAM)?;
        fd.set_nonblocking(true)?;
        match fd.connect(addr) {
            Ok(()) | Err(Errno::EINPROGRESS) => Ok(TcpStream(fd)),
            Err(e) => Err(e),
        }
    }

    /// The socket's pending error (SO_ERROR), cleared: Ok if none.
    pub fn take_error(&self) -> Result<(), Errno> {
        const SO_ERROR: i64 = 4;
        let mut error = 0i32;
        let mut len = 4u32;
        call(
            nr::GETSOCKOPT,
            [
                self.0 .0 as i64,
                SOL_SOCKET,
                SO_ERROR,
                arg_mut(&mut error),
                arg_mut(&mut len),
                0,
            ],
        )?;
        match error {
            0 => Ok(()),
            e => Err(Errno(e)),
        }
    }

    /// Reads what has arrived, up to `buf.len()` bytes; 0 at the end.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.recv_from(buf).map(|(n, _)| n)
    }

    /// Sends some of `buf`; how much.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        self.0.send_to(buf, None)
    }

    pub fn write_all(&self, mut buf: &[u8]) -> Result<(), Errno> {
        while !buf.is_empty() {
            let n = self.write(buf)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    pub fn shutdown(&self, how: Shutdown) -> Result<(), Errno> {
        call(nr::SHUTDOWN, [self.0 .0 as i64, how as i64, 0, 0, 0, 0]).map(drop)
    }

    pub fn set_nodelay(&self, on: bool) -> Result<(), Errno> {
        self.0.set_int(IPPROTO_TCP, TCP_NODELAY, on as i32)
    }

    /// How long a read waits before `EAGAIN`; None: for ever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.0.set_timeout(SO_RCVTIMEO_NEW, timeout)
    }

    /// How long a write waits before `EAGAIN`; None: for ever.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.0.set_timeout(SO_SNDTIMEO_NEW, timeout)
    }

    pub fn local_addr(&self) -> Result<SocketAddr, Errno> {
        self.0.name(nr::GETSOCKNAME)
    }

    pub fn peer_addr(&self) -> Result<SocketAddr, Errno> {
        self.0.name(nr::GETPEERNAME)
    }
}

/// A listening TCP socket.
pub struct TcpListener(Fd);

impl TcpListener {
    /// Binds (with SO_REUSEADDR) and listens; port 0 picks one.
    pub fn bind(addr: SocketAddr) -> Result<TcpListener, Errno> {
        let fd = Fd::socket(&addr, SOCK_STREAM)?;
        fd.set_int(SOL_SOCKET, SO_REUSEADDR, 1)?;
        fd.bind(addr)?;
        call(nr::LISTEN, [fd.0 as i64, LISTEN_BACKLOG, 0, 0, 0, 0])?;
        Ok(TcpListener(fd))
    }

    pub fn accept(&self) -> Result<(TcpStream, SocketAddr), Errno> {
        let mut raw = RawAddr::default();
        let mut len = RAW_V6_LEN as u32;
        let fd = call(
            nr::ACCEPT4,
            [
                self.0 .0 as i64,
                arg_mut(&mut raw),
                arg_mut(&mut len),
                SOCK_CLOEXEC,
                0,
                0,
            ],
        )?;
        let stream = TcpStream(Fd(fd as i32));
        Ok((stream, decode(&raw)?))
    }

    pub fn local_addr(&self) -> Result<SocketAddr, Errno> {
        self.0.name(nr::GETSOCKNAME)
    }
}

/// A UDP socket.
pub struct UdpSocket(Fd);

impl UdpSocket {
    pub fn bind(addr: SocketAddr) -> Result<UdpSocket, Errno> {
        let fd = Fd::socket(&addr, SOCK_DGRAM)?;
        fd.bind(addr)?;
        Ok(UdpSocket(fd))
    }

    pub fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<usize, Errno> {
        self.0.send_to(buf, Some(to))
    }

    /// One datagram (cut to `buf.len()`), and who sent it.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), Errno> {
        let (n, from) = self.0.recv_from(buf)?;
        Ok((n, from.ok_or(Errno::EAFNOSUPPORT)?))
    }

    /// How long a receive waits before `EAGAIN`; None: for ever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.0.set_timeout(SO_RCVTIMEO_NEW, timeout)
    }

    pub fn local_addr(&self) -> Result<SocketAddr, Errno> {
        self.0.name(nr::GETSOCKNAME)
    }
}

/// An ICMP echo ("ping") socket: the kernel fills in the identifier and
/// the checksum, and hands back only its own echo replies.
pub struct PingSocket {
    fd: Fd,
    v6: bool,
}

impl PingSocket {
    /// A socket for IPv4 or IPv6 echoes; the namespace's
    /// `net.ipv4.ping_group_range` must hold group 0 (for both families).
    pub fn new(v6: bool) -> Result<PingSocket, Errno> {
        let (family, protocol) = if v6 { (AF_INET6, 58) } else { (AF_INET, 1) };
        let fd = call(
            nr::SOCKET,
            [family as i64, SOCK_DGRAM | SOCK_CLOEXEC, protocol, 0, 0, 0],
        )?;
        Ok(PingSocket {
            fd: Fd(fd as i32),
            v6,
        })
    }

    /// Sends an echo request with sequence number `seq` and `payload`.
    pub fn send_echo(&self, to: IpAddr, seq: u16, payload: &[u8]) -> Result<(), Errno> {
        if to.is_ipv6() != self.v6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        let mut packet = alloc::vec::Vec::with_capacity(8 + payload.len());
        packet.extend_from_slice(&[if self.v6 { 128 } else { 8 }, 0, 0, 0, 0, 0]);
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(payload);
        self.fd
            .send_to(&packet, Some(SocketAddr::new(to, 0)))
            .map(drop)
    }

    /// Waits for an echo reply: its sequence number and sender.
    pub fn recv_echo(&self) -> Result<(u16, IpAddr), Errno> {
        let mut buf = [0u8; 2048];
        loop {
            let (n, from) = self.fd.recv_from(&mut buf)?;
            let reply = if self.v6 { 129 } else { 0 };
            if n >= 8 && buf[0] == reply {
                let from = from.ok_or(Errno::EAFNOSUPPORT)?;
                return Ok((u16::from_be_bytes([buf[6], buf[7]]), from.ip()));
            }
        }
    }

    /// How long [`PingSocket::recv_echo`] waits before `EAGAIN`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.fd.set_timeout(SO_RCVTIMEO_NEW, timeout)
    }
}

const SOCK_RAW_ICMP: i64 = 3;
const IPPROTO_IP: i64 = 0;
const IPPROTO_IPV6: i64 = 41;
const IP_TTL: i64 = 2;
const IPV6_UNICAST_HOPS: i64 = 16;

/// A raw ICMP or ICMPv6 socket (root in the kernel): it sends the ICMP
/// messages it is given, with a chosen hop limit, and receives every ICMP
/// message its namespace gets, errors from routers on the way included.
/// IPv4 messages come with their IP header; ICMPv6 ones without, and the
/// kernel fills in ICMPv6 checksums.
pub struct IcmpSocket {
    fd: Fd,
    v6: bool,
}

impl IcmpSocket {
    pub fn new(v6: bool) -> Result<IcmpSocket, Errno> {
        let (family, protocol) = if v6 { (AF_INET6, 58) } else { (AF_INET, 1) };
        let fd = call(
            nr::SOCKET,
            [
                family as i64,
                SOCK_RAW_ICMP | SOCK_CLOEXEC,
                protocol,
                0,
                0,
                0,
            ],
        )?;
        Ok(IcmpSocket {
            fd: Fd(fd as i32),
            v6,
        })
    }

    /// The hop limit (TTL) of what it sends from now on.
    pub fn set_hops(&self, hops: u8) -> Result<(), Errno> {
        if self.v6 {
            self.fd
                .set_int(IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops as i32)
        } else {
            self.fd.set_int(IPPROTO_IP, IP_TTL, hops as i32)
        }
    }

    /// Sends `message` (an ICMP header and what follows) to `to`.
    pub fn send_to(&self, message: &[u8], to: IpAddr) -> Result<(), Errno> {
        if to.is_ipv6() != self.v6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        self.fd
            .send_to(message, Some(SocketAddr::new(to, 0)))
            .map(drop)
    }

    /// Waits for the next ICMP message: its length in `buf` and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, IpAddr), Errno> {
        let (n, from) = self.fd.recv_from(buf)?;
        Ok((n, from.ok_or(Errno::EAFNOSUPPORT)?.ip()))
    }

    /// How long [`IcmpSocket::recv_from`] waits before `EAGAIN`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.fd.set_timeout(SO_RCVTIMEO_NEW, timeout)
    }
}

const AF_PACKET: i64 = 17;
const SOCK_RAW: i64 = 3;
/// Every protocol (`ETH_P_ALL`), in network order as the socket takes it.
const ETH_P_ALL_BE: u16 = 3u16.to_be();
const MSG_TRUNC: i64 = 0x20;
const MSG_DONTWAIT: i64 = 0x40;
const SOL_PACKET: i64 = 263;
const PACKET_AUXDATA: i64 = 8;
/// `struct tpacket_auxdata`.
const AUXDATA_LEN: usize = 20;
const TP_STATUS_VLAN_VALID: u32 = 0x10;
const TP_STATUS_VLAN_TPID_VALID: u32 = 0x40;
const ETH_P_8021Q: u16 = 0x8100;

/// `struct sockaddr_ll`.
#[repr(C)]
struct LinkAddr {
    family: u16,
    protocol: u16,
    ifindex: i32,
    hatype: u16,
    pkttype: u8,
    halen: u8,
    addr: [u8; 8],
}

/// A frame a [`PacketSocket`] received.
pub struct Frame {
    /// The bytes copied into the caller's buffer.
    pub copied: usize,
    /// The frame's whole length.
    pub len: usize,
    /// Its VLAN tag if the kernel holds it apart from the frame
    /// (offloaded): `(TPID, TCI)`, to be put back after the two MAC
    /// addresses, as libpcap does.
    pub vlan: Option<(u16, u16)>,
}

/// Every frame one interface of the current namespace sends or receives,
/// whole (an `AF_PACKET` raw socket): for captures.
pub struct PacketSocket {
    fd: Fd,
}

impl PacketSocket {
    /// Bound to interface `ifindex`; it sees nothing of other interfaces,
    /// not even between its creation and the bind.
    pub fn bind(ifindex: u32) -> Result<PacketSocket, Errno> {
        let fd = call(nr::SOCKET, [AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0, 0, 0, 0])?;
        let socket = PacketSocket { fd: Fd(fd as i32) };
        let addr = LinkAddr {
            family: AF_PACKET as u16,
            protocol: ETH_P_ALL_BE,
            ifindex: ifindex as i32,
            hatype: 0,
            pkttype: 0,
            halen: 0,
            addr: [0; 8],
        };
        let len = core::mem::size_of::<LinkAddr>() as i64;
        call(nr::BIND, [socket.fd.0 as i64, arg(&addr), len, 0, 0, 0])?;
        socket.fd.set_int(SOL_PACKET, PACKET_AUXDATA, 1)?;
        Ok(socket)
    }

    /// Waits for the next frame (or, without `wait`, takes one that is
    /// there: `EAGAIN` if none) and copies what fits of it into `buf`.
    pub fn recv(&self, buf: &mut [u8], wait: bool) -> Result<Frame, Errno> {
        // struct iovec, struct msghdr (64-bit), and room for one
        // cmsghdr with a struct tpacket_auxdata.
        let iov: [u64; 2] = [buf.as_mut_ptr() as u64, buf.len() as u64];
        let mut control = [0u8; 64];
        let mut msg: [u64; 7] = [
            0,
            0,
            iov.as_ptr() as u64,
            1,
            control.as_mut_ptr() as u64,
            core::mem::size_of_val(&control) as u64,
            0,
        ];
        let n = call(
            nr::RECVMSG,
            [
                self.fd.0 as i64,
                arg_mut(msg.as_mut_ptr()),
                MSG_TRUNC | if wait { 0 } else { MSG_DONTWAIT },
                0,
                0,
                0,
            ],
        )? as usize;
        let control_len = msg[5] as usize;
        let mut vlan = None;
        // cmsghdr: length (8 bytes), level, type; then the data.
        let bytes = &control;
        if control_len >= 16 + AUXDATA_LEN {
            let level = i32::from_ne_bytes(bytes[8..12].try_into().unwrap());
            let kind = i32::from_ne_bytes(bytes[12..16].try_into().unwrap());
            if level as i64 == SOL_PACKET && kind as i64 == PACKET_AUXDATA {
                let aux = &bytes[16..16 + AUXDATA_LEN];
                let status = u32::from_ne_bytes(aux[0..4].try_into().unwrap());
                let tci = u16::from_ne_bytes([aux[16], aux[17]]);
                let tpid = u16::from_ne_bytes([aux[18], aux[19]]);
                if status & TP_STATUS_VLAN_VALID != 0 {
                    let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
                        tpid
                    } else {
                        ETH_P_8021Q
                    };
                    vlan = Some((tpid, tci));
                }
            }
        }
        Ok(Frame {
            copied: n.min(buf.len()),
            len: n,
            vlan,
        })
    }

    /// How long [`PacketSocket::recv`] waits before `EAGAIN`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Errno> {
        self.fd.set_timeout(SO_RCVTIMEO_NEW, timeout)
    }
}

#[cfg(feature = "std")]
mod io {
    //! `std::io` for [`TcpStream`](super::TcpStream): errors keep the
    //! kernel's errno in their message and get the matching kind.
    use super::TcpStream;
    use crate::Errno;
    use std::io;

    pub fn error(e: Errno) -> io::Error {
        let kind = match e {
            Errno::ECONNREFUSED => io::ErrorKind::ConnectionRefused,
            Errno::ECONNRESET => io::ErrorKind::ConnectionReset,
            Errno::ECONNABORTED => io::ErrorKind::ConnectionAborted,
            Errno::ENOTCONN => io::ErrorKind::NotConnected,
            Errno::EADDRINUSE => io::ErrorKind::AddrInUse,
            Errno::EADDRNOTAVAIL => io::ErrorKind::AddrNotAvailable,
            Errno::EPIPE => io::ErrorKind::BrokenPipe,
            Errno::EAGAIN | Errno::ETIMEDOUT => io::ErrorKind::TimedOut,
            Errno::EINTR => io::ErrorKind::Interrupted,
            Errno::ENETUNREACH => io::ErrorKind::NetworkUnreachable,
            Errno::EHOSTUNREACH => io::ErrorKind::HostUnreachable,
            Errno::ENETDOWN => io::ErrorKind::NetworkDown,
            _ => io::ErrorKind::Other,
        };
        let text = e.message().unwrap_or("unknown error");
        io::Error::new(kind, std::format!("{text} ({e:?})"))
    }

    impl io::Read for &TcpStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            TcpStream::read(self, buf).map_err(error)
        }
    }

    impl io::Write for &TcpStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            TcpStream::write(self, buf).map_err(error)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl io::Read for TcpStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            TcpStream::read(self, buf).map_err(error)
        }
    }

    impl io::Write for TcpStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            TcpStream::write(self, buf).map_err(error)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(feature = "std")]
pub use io::error as io_error;

descriptor!(TcpStream: 0, TcpListener: 0, UdpSocket: 0, PingSocket: fd, IcmpSocket: fd, PacketSocket: fd);
