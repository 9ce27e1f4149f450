//! Linux's network stack, in kernels built with the `net` feature: NICs
//! whose frames the host carries ([`add_nic`], the native NIC stub),
//! their configuration through rtnetlink on the kernel's own netlink
//! sockets ([`config`], [`bridge`], [`nftables`]), and sockets over the kernel's system calls
//! ([`TcpStream`], [`TcpListener`], [`UdpSocket`]), blocking, usable from
//! any host thread. With `std`, the backends: [`UdpLink`] (frames as UDP
//! datagrams between two processes, no privileges needed) and, on Linux,
//! [`TapLink`] (a TAP device of the host's).
pub mod bridge;
pub mod config;
mod namespace;
mod netlink;
pub mod nftables;
mod nic;
mod socket;
pub mod stats;
#[cfg(all(feature = "std", target_os = "linux"))]
mod tap;

#[cfg(feature = "std")]
mod udp_link;

pub use namespace::{ifindex, is_running, sysctl, Namespace};
pub use nic::{add_nic, AddedNic, NicBackend, NicReceiver, OFFLOAD_HEADER_LEN, RX_IN_FLIGHT_MAX};
#[cfg(feature = "std")]
pub use socket::io_error;
pub use socket::{
    Descriptor, Frame, IcmpSocket, PacketSocket, PingSocket, Shutdown, TcpListener, TcpStream,
    UdpSocket,
};
#[cfg(all(feature = "std", target_os = "linux"))]
pub use tap::TapLink;
#[cfg(feature = "std")]
pub use udp_link::UdpLink;
