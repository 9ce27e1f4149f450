//! Linux's network stack, in kernels built with the `net` feature: NICs
//! whose frames the host carries ([`add_nic`], the native NIC stub),
//! their configuration through rtnetlink on the kernel's own netlink
//! sockets ([`config`]), and sockets over the kernel's system calls
//! ([`TcpStream`], [`TcpListener`], [`UdpSocket`]), blocking, usable from
//! any host thread. With `std`, the backend [`UdpLink`]: frames as UDP
//! datagrams between two processes, no privileges needed.
pub mod config;
mod nic;
mod socket;

#[cfg(feature = "std")]
mod udp_link;

pub use nic::{add_nic, AddedNic, NicBackend, NicReceiver, RX_IN_FLIGHT_MAX};
#[cfg(feature = "std")]
pub use socket::io_error;
pub use socket::{Shutdown, TcpListener, TcpStream, UdpSocket};
#[cfg(feature = "std")]
pub use udp_link::UdpLink;
