//! The network a command runs on: the kernel booted, one NIC on the link
//! the user named (`udp:LOCAL,PEER`: frames as UDP datagrams to another
//! program running Linux; `tap:NAME`: a TAP device of the host's Linux),
//! brought up with its addresses and routes, and loopback up.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use clap::Args;
#[cfg(target_os = "linux")]
use lkl::net::TapLink;
use lkl::net::{self, config, AddedNic, NicBackend, NicReceiver, UdpLink};
use lkl::{Config, Kernel};

/// The kernel's memory: sockets' buffers for a few hundred connections.
const KERNEL_MEMORY: usize = 128 << 20;

#[derive(Args, Debug, Clone)]
pub struct NetworkArgs {
    /// The link: udp:LOCAL,PEER (host addresses, such as
    /// udp:127.0.0.1:7001,127.0.0.1:7002), or tap:NAME (Linux hosts)
    #[arg(long)]
    pub link: String,
    /// An address of the NIC, with its prefix length (10.0.0.2/24,
    /// fd00::2/64); repeatable
    #[arg(long = "addr", required = true)]
    pub addrs: Vec<String>,
    /// A default gateway; repeatable (one per address family)
    #[arg(long = "gw")]
    pub gateways: Vec<IpAddr>,
    /// The link's MTU (1500; up to 65000 between two lklnet programs)
    #[arg(long, default_value_t = 1500)]
    pub mtu: u32,
    /// Plain Ethernet frames on a udp: link (both ends must agree):
    /// no checksum or segmentation offloads
    #[arg(long)]
    pub no_offload: bool,
    /// At the end, print the NIC's and TCP's counters (standard error)
    #[arg(long)]
    pub stats: bool,
}

/// What carries the NIC's frames.
enum Link {
    Udp(Arc<UdpLink>),
    #[cfg(target_os = "linux")]
    Tap(Arc<TapLink>),
}

impl Link {
    fn open(spec: &str, mtu: u32, offload: bool) -> Result<Link, String> {
        #[cfg(target_os = "linux")]
        if let Some(name) = spec.strip_prefix("tap:") {
            return TapLink::open(name, mtu)
                .map(Link::Tap)
                .map_err(|e| format!("the TAP device {name}: {e}"));
        }
        let (local, peer) = parse_link(spec)?;
        UdpLink::bind(local, peer, mtu, offload)
            .map(Link::Udp)
            .map_err(|e| format!("the link's socket {local}: {e}"))
    }

    fn backend(&self) -> Arc<dyn NicBackend> {
        match self {
            Link::Udp(l) => l.clone(),
            #[cfg(target_os = "linux")]
            Link::Tap(l) => l.clone(),
        }
    }

    fn start(&self, receiver: NicReceiver) -> std::io::Result<()> {
        match self {
            Link::Udp(l) => l.start(receiver).map(drop),
            #[cfg(target_os = "linux")]
            Link::Tap(l) => l.start(receiver).map(drop),
        }
    }

    fn stop(&self) {
        match self {
            Link::Udp(l) => l.stop(),
            #[cfg(target_os = "linux")]
            Link::Tap(l) => l.stop(),
        }
    }
}

/// A running network; dropping it removes the NIC and halts the kernel.
pub struct Network {
    nic: Option<AddedNic>,
    link: Link,
    stats: bool,
    _kernel: Kernel,
}

/// `10.0.0.2/24` as an address and a prefix length.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("{text}: not ADDRESS/PREFIX"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{text}: {addr} is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match prefix.parse::<u8>() {
        Ok(p) if p <= max => Ok((addr, p)),
        _ => Err(format!("{text}: the prefix length must be 0 to {max}")),
    }
}

/// `udp:LOCAL,PEER` as two host socket addresses.
pub fn parse_link(text: &str) -> Result<(SocketAddr, SocketAddr), String> {
    let spec = text
        .strip_prefix("udp:")
        .ok_or_else(|| format!("{text}: the link must be udp:LOCAL,PEER or tap:NAME"))?;
    let (local, peer) = spec
        .split_once(',')
        .ok_or_else(|| format!("{text}: the link must be udp:LOCAL,PEER"))?;
    let parse = |s: &str| {
        s.parse::<SocketAddr>()
            .map_err(|_| format!("{text}: {s} is not HOST:PORT"))
    };
    Ok((parse(local)?, parse(peer)?))
}

impl Network {
    pub fn up(args: &NetworkArgs) -> Result<Network, String> {
        let addrs = args
            .addrs
            .iter()
            .map(|a| parse_cidr(a))
            .collect::<Result<Vec<_>, _>>()?;
        if !(68..=65_000).contains(&args.mtu) {
            return Err(format!("MTU {}: from 68 to 65000", args.mtu));
        }
        let link = Link::open(&args.link, args.mtu, !args.no_offload)?;
        let kernel = Kernel::boot(&Config {
            memory: KERNEL_MEMORY,
            ..Config::default()
        })
        .map_err(|e| format!("cannot boot the kernel: {e}"))?;
        let nic = net::add_nic(link.backend(), [0; 6]).map_err(|e| format!("the NIC: {e}"))?;
        link.start(nic.receiver())
            .map_err(|e| format!("the link's thread: {e}"))?;
        let ifindex = nic.ifindex().map_err(|e| format!("the NIC: {e}"))?;
        let configure = || -> Result<(), lkl::Errno> {
            config::set_link_up(config::LOOPBACK, true)?;
            config::set_link_up(ifindex, true)?;
            for (addr, prefix) in &addrs {
                config::add_address(ifindex, *addr, *prefix)?;
            }
            for gateway in &args.gateways {
                let any = if gateway.is_ipv4() {
                    IpAddr::from([0u8; 4])
                } else {
                    IpAddr::from([0u8; 16])
                };
                config::add_route(any, 0, Some(*gateway), Some(ifindex))?;
            }
            Ok(())
        };
        configure().map_err(|e| format!("configuring the NIC: {e}"))?;
        Ok(Network {
            nic: Some(nic),
            link,
            stats: args.stats,
            _kernel: kernel,
        })
    }
}

/// A file of the kernel's (procfs, sysfs), as text.
fn kernel_file(path: &str) -> String {
    let Ok(fd) = lkl::sys::openat(lkl::uapi::AT_FDCWD, path, lkl::uapi::O_RDONLY, 0) else {
        return String::new();
    };
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = lkl::sys::read(fd, &mut buf) {
        text.extend_from_slice(&buf[..n]);
    }
    let _ = lkl::sys::close(fd);
    String::from_utf8_lossy(&text).into_owned()
}

impl Network {
    /// The NIC's counters, and TCP's from /proc/net/snmp.
    fn report(&self) {
        let mut line = String::from("eth0:");
        for name in [
            "rx_packets",
            "rx_bytes",
            "rx_errors",
            "rx_dropped",
            "rx_length_errors",
            "rx_frame_errors",
            "tx_packets",
            "tx_bytes",
            "tx_dropped",
        ] {
            let value = kernel_file(&format!("/sys/class/net/eth0/statistics/{name}"));
            line += &format!(" {name} {}", value.trim());
        }
        if let Some(nic) = &self.nic {
            line += &format!(" refused {}", nic.refused());
        }
        eprintln!("{line}");
        let snmp = kernel_file("/proc/net/snmp");
        let tcp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Tcp:")).collect();
        if let [names, values] = tcp[..] {
            let pairs: Vec<String> = names
                .split_whitespace()
                .zip(values.split_whitespace())
                .skip(1)
                .map(|(n, v)| format!("{n} {v}"))
                .collect();
            eprintln!("tcp: {}", pairs.join(" "));
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if self.stats {
            self.report();
        }
        self.link.stop();
        drop(self.nic.take());
    }
}
