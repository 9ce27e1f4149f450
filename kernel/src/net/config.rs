//! Interface configuration through rtnetlink, on a netlink socket of the
//! kernel's own (in the calling thread's network namespace): links up and
//! down, veth pairs across namespaces, addresses, routes, netem qdiscs. The messages are
//! encoded here, with Linux's numbers: the registry's rtnetlink crates
//! take address families from the host's C library, which on Windows are
//! not Linux's.
use alloc::vec::Vec;
use core::net::IpAddr;

use super::netlink::{
    Netlink, NETLINK_ROUTE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use crate::Errno;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

pub(super) const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const RTM_NEWQDISC: u16 = 36;
const RTM_DELQDISC: u16 = 37;

const IFF_UP: u32 = 0x1;
pub(super) const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
pub(super) const IFLA_LINKINFO: u16 = 18;
pub(super) const IFLA_INFO_KIND: u16 = 1;
pub(super) const IFLA_INFO_DATA: u16 = 2;
const IFLA_NET_NS_FD: u16 = 28;
const VETH_INFO_PEER: u16 = 1;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TCA_NETEM_RATE64: u16 = 14;
const TC_H_ROOT: u32 = 0xFFFF_FFFF;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TC_LINKLAYER_ETHERNET: u8 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_TABLE: u16 = 15;
const RTM_NEWRULE: u16 = 32;
const FR_ACT_TO_TBL: u8 = 1;
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_TABLE: u16 = 15;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;

/// The loopback interface's index.
pub const LOOPBACK: u32 = 1;

/// One rtnetlink request: header, fixed part, attributes.
pub(super) struct Message(pub(super) Vec<u8>);

impl Message {
    pub(super) fn new(kind: u16, flags: u16, fixed: &[u8]) -> Message {
        let mut m = Message(Vec::with_capacity(64));
        m.0.extend_from_slice(&0u32.to_ne_bytes()); // length, set in send
        m.0.extend_from_slice(&kind.to_ne_bytes());
        m.0.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        m.0.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        m.0.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
        m.0.extend_from_slice(fixed);
        m.pad();
        m
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    pub(super) fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Message {
        self.0
            .extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(value);
        self.pad();
        self
    }

    /// A nested attribute whose contents `body` writes.
    pub(super) fn nest(&mut self, kind: u16, body: impl FnOnce(&mut Message)) -> &mut Message {
        let start = self.0.len();
        self.0.extend_from_slice(&[0, 0]);
        self.0.extend_from_slice(&kind.to_ne_bytes());
        body(self);
        let len = (self.0.len() - start) as u16;
        self.0[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// The request's bytes, its length set.
    pub(super) fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }

    /// Sends the request and waits for the kernel's answer: Ok on its
    /// acknowledgement, its errno otherwise.
    pub(super) fn send(self) -> Result<(), Errno> {
        let mut socket = Netlink::open(NETLINK_ROUTE)?;
        socket.send(&self.finish())?;
        socket.answers(|a| {
            Some(match a.kind {
                NLMSG_ERROR => a.result(),
                _ => Err(Errno::EPROTO),
            })
        })?
    }
}

fn family(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

fn octets(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `struct ifinfomsg` changing only IFF_UP.
fn link_message(ifindex: u32, up: bool) -> Message {
    let mut fixed = Vec::with_capacity(16);
    fixed.extend_from_slice(&[AF_UNSPEC, 0]);
    fixed.extend_from_slice(&0u16.to_ne_bytes()); // type
    fixed.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    fixed.extend_from_slice(&(if up { IFF_UP } else { 0 }).to_ne_bytes());
    fixed.extend_from_slice(&IFF_UP.to_ne_bytes()); // change
    Message::new(RTM_NEWLINK, 0, &fixed)
}

/// Brings interface `ifindex` up or down.
pub fn set_link_up(ifindex: u32, up: bool) -> Result<(), Errno> {
    link_message(ifindex, up).send()
}

/// Sets interface `ifindex`'s MTU.
pub fn set_mtu(ifindex: u32, mtu: u32) -> Result<(), Errno> {
    let mut m = link_message(ifindex, true);
    // Change nothing of the flags: only the MTU.
    let change_at = m.0.len() - 4;
    m.0[change_at..].copy_from_slice(&0u32.to_ne_bytes());
    m.attr(IFLA_MTU, &mtu.to_ne_bytes());
    m.send()
}

/// Adds `addr/prefix` to interface `ifindex` (IPv6 without duplicate
/// address detection: usable at once).
pub fn add_address(ifindex: u32, addr: IpAddr, prefix: u8) -> Result<(), Errno> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(Errno::EINVAL);
    }
    let flags = if addr.is_ipv6() { IFA_F_NODAD } else { 0 };
    let mut fixed = Vec::with_capacity(8);
    fixed.extend_from_slice(&[family(&addr), prefix, flags, RT_SCOPE_UNIVERSE]);
    fixed.extend_from_slice(&ifindex.to_ne_bytes());
    let mut m = Message::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &fixed);
    let bytes = octets(&addr);
    if addr.is_ipv4() {
        m.attr(IFA_LOCAL, &bytes);
    }
    m.attr(IFA_ADDRESS, &bytes);
    m.send()
}

/// Adds a route to `dest/prefix` (prefix 0: the default route) in the
/// main table, through `gateway` or, without one, directly on `ifindex`.
pub fn add_route(
    dest: IpAddr,
    prefix: u8,
    gateway: Option<IpAddr>,
    ifindex: Option<u32>,
) -> Result<(), Errno> {
    add_route_in(RT_TABLE_MAIN as u32, dest, prefix, gateway, ifindex)
}

/// [`add_route`] into routing table `table` (1 to 2^32 - 1; 254 is the
/// main table), which [`add_rule`]s send packets to.
pub fn add_route_in(
    table: u32,
    dest: IpAddr,
    prefix: u8,
    gateway: Option<IpAddr>,
    ifindex: Option<u32>,
) -> Result<(), Errno> {
    if table == 0 || gateway.is_some_and(|g| g.is_ipv4() != dest.is_ipv4()) {
        return Err(Errno::EINVAL);
    }
    let scope = if gateway.is_some() {
        RT_SCOPE_UNIVERSE
    } else {
        RT_SCOPE_LINK
    };
    let mut fixed = Vec::with_capacity(12);
    fixed.extend_from_slice(&[
        family(&dest),
        prefix,
        0, // source length
        0, // tos
        // Tables above 255 only in RTA_TABLE.
        u8::try_from(table).unwrap_or(0),
        RTPROT_STATIC,
        scope,
        RTN_UNICAST,
    ]);
    fixed.extend_from_slice(&0u32.to_ne_bytes()); // flags
    let mut m = Message::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
    m.attr(RTA_TABLE, &table.to_ne_bytes());
    if prefix > 0 {
        m.attr(RTA_DST, &octets(&dest));
    }
    if let Some(g) = gateway {
        m.attr(RTA_GATEWAY, &octets(&g));
    }
    if let Some(i) = ifindex {
        m.attr(RTA_OIF, &i.to_ne_bytes());
    }
    m.send()
}

/// What a routing rule picks packets by; all given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleMatch {
    /// The source address in this prefix.
    pub from: Option<(IpAddr, u8)>,
    /// The destination address in this prefix.
    pub to: Option<(IpAddr, u8)>,
    /// Came in through this interface.
    pub iif: Option<alloc::string::String>,
}

/// Adds a routing rule (`ip rule add`) for IPv4 or IPv6 (`v6`): the
/// packets it picks are routed by table `table`; rules are tried in order
/// of `priority` (lowest first; None: the kernel picks one just before
/// the main table's).
pub fn add_rule(
    v6: bool,
    picks: &RuleMatch,
    table: u32,
    priority: Option<u32>,
) -> Result<(), Errno> {
    let fam = if v6 { AF_INET6 } else { AF_INET };
    let len = |p: &Option<(IpAddr, u8)>| p.map_or(0, |(_, n)| n);
    for (addr, _) in picks.from.iter().chain(&picks.to) {
        if family(addr) != fam {
            return Err(Errno::EINVAL);
        }
    }
    if table == 0 {
        return Err(Errno::EINVAL);
    }
    // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1,
    // res2, action (FR_ACT_TO_TBL), flags.
    let mut fixed = Vec::with_capacity(12);
    fixed.extend_from_slice(&[
        fam,
        len(&picks.to),
        len(&picks.from),
        0,
        u8::try_from(table).unwrap_or(0),
        0,
        0,
        FR_ACT_TO_TBL,
    ]);
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    let mut m = Message::new(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
    m.attr(FRA_TABLE, &table.to_ne_bytes());
    if let Some((addr, _)) = &picks.to {
        m.attr(FRA_DST, &octets(addr));
    }
    if let Some((addr, _)) = &picks.from {
        m.attr(FRA_SRC, &octets(addr));
    }
    if let Some(iif) = &picks.iif {
        m.attr(FRA_IIFNAME, &name_attr(iif)?);
    }
    if let Some(p) = priority {
        m.attr(FRA_PRIORITY, &p.to_ne_bytes());
    }
    m.send()
}

/// A name as an attribute value: its bytes and a NUL.
pub(super) fn name_attr(name: &str) -> Result<Vec<u8>, Errno> {
    if name.is_empty() || name.len() > 15 || name.contains(['/', '\0', ' ']) {
        return Err(Errno::EINVAL);
    }
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    Ok(v)
}

/// Makes a veth pair: `name` in the calling thread's namespace, `peer`
/// (named `peer_name`) in namespace `peer_ns` (a descriptor: see
/// [`super::Namespace::fd`]). Both down.
pub fn add_veth(name: &str, peer_name: &str, peer_ns: i32) -> Result<(), Errno> {
    let (name, peer_name) = (name_attr(name)?, name_attr(peer_name)?);
    let mut m = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &[0u8; 16]);
    m.attr(IFLA_IFNAME, &name);
    m.nest(IFLA_LINKINFO, |m| {
        m.attr(IFLA_INFO_KIND, b"veth\0");
        m.nest(IFLA_INFO_DATA, |m| {
            m.nest(VETH_INFO_PEER, |m| {
                m.0.extend_from_slice(&[0u8; 16]); // the peer's ifinfomsg
                m.attr(IFLA_IFNAME, &peer_name);
                m.attr(IFLA_NET_NS_FD, &(peer_ns as u32).to_ne_bytes());
            });
        });
    });
    m.send()
}

/// What a netem qdisc does to the packets leaving an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Netem {
    pub delay_ns: u64,
    pub jitter_ns: u64,
    /// The share of packets lost, 0.0 to 1.0.
    pub loss: f64,
    /// Bytes per second; 0: no limit.
    pub rate: u64,
    /// The share of packets sent at once, ahead of those delayed, 0.0 to
    /// 1.0 (it needs a delay).
    pub reorder: f64,
    /// Packets the queue holds.
    pub limit: u32,
}

/// Where a qdisc goes: under its parent (the root, or a class of the
/// qdisc above it), with its own handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    parent: u32,
    handle: u32,
}

impl Place {
    /// The interface's root qdisc, handle 1:.
    pub const ROOT: Place = Place {
        parent: TC_H_ROOT,
        handle: 1 << 16,
    };

    /// Under this one's first class (netem and tbf have one, 1:1): the
    /// next handle down.
    pub fn below(self) -> Place {
        Place {
            parent: self.handle | 1,
            handle: self.handle + (1 << 16),
        }
    }
}

/// A request for a qdisc of `kind` at `place` of interface `ifindex`,
/// replacing what was there (`struct tcmsg`).
fn qdisc(ifindex: u32, place: Place, kind: &[u8]) -> Message {
    let mut fixed = Vec::with_capacity(20);
    fixed.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
    fixed.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    fixed.extend_from_slice(&place.handle.to_ne_bytes());
    fixed.extend_from_slice(&place.parent.to_ne_bytes());
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    let mut m = Message::new(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, &fixed);
    m.attr(TCA_KIND, kind);
    m
}

/// Puts a qdisc of `kind` that takes no options ("fq_codel", "pfifo",
/// with the kernel's defaults) at `place` of interface `ifindex`.
pub fn set_plain_qdisc(ifindex: u32, place: Place, kind: &str) -> Result<(), Errno> {
    let mut name = kind.as_bytes().to_vec();
    name.push(0);
    qdisc(ifindex, place, &name).send()
}

/// Removes interface `ifindex`'s root qdisc and all below it (the
/// interface gets its default back); Ok if it had none of its own.
pub fn delete_root_qdisc(ifindex: u32) -> Result<(), Errno> {
    let mut fixed = Vec::with_capacity(20);
    fixed.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
    fixed.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    fixed.extend_from_slice(&TC_H_ROOT.to_ne_bytes());
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    match Message::new(RTM_DELQDISC, 0, &fixed).send() {
        Err(Errno::ENOENT | Errno::EINVAL) => Ok(()),
        r => r,
    }
}

/// Puts a token bucket filter at the root of interface `ifindex`: `rate`
/// bytes per second, bursts of `burst` bytes, up to `limit` bytes queued
/// (what `tc qdisc add ... tbf rate R burst B limit L` asks).
pub fn set_tbf(ifindex: u32, rate: u64, burst: u32, limit: u32) -> Result<(), Errno> {
    set_tbf_at(ifindex, Place::ROOT, rate, burst, limit)
}

/// [`set_tbf`] at `place`.
pub fn set_tbf_at(
    ifindex: u32,
    place: Place,
    rate: u64,
    burst: u32,
    limit: u32,
) -> Result<(), Errno> {
    if rate == 0 || burst == 0 || limit == 0 {
        return Err(Errno::EINVAL);
    }
    let mut m = qdisc(ifindex, place, b"tbf\0");
    m.nest(TCA_OPTIONS, |m| {
        // struct tc_tbf_qopt: the rate and peak rate (struct
        // tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu,
        // rate), limit, buffer (from TCA_TBF_BURST instead), mtu.
        let mut qopt = Vec::with_capacity(36);
        qopt.extend_from_slice(&[0, TC_LINKLAYER_ETHERNET, 0, 0, 0, 0, 0, 0]);
        qopt.extend_from_slice(&(rate.min(u32::MAX as u64) as u32).to_ne_bytes());
        qopt.extend_from_slice(&[0u8; 12]);
        for v in [limit, 0, 0] {
            qopt.extend_from_slice(&v.to_ne_bytes());
        }
        m.attr(TCA_TBF_PARMS, &qopt);
        if rate > u32::MAX as u64 {
            m.attr(TCA_TBF_RATE64, &rate.to_ne_bytes());
        }
        m.attr(TCA_TBF_BURST, &burst.to_ne_bytes());
    });
    m.send()
}

/// Puts a netem qdisc at the root of interface `ifindex` (replacing what
/// was there).
pub fn set_netem(ifindex: u32, netem: &Netem) -> Result<(), Errno> {
    set_netem_at(ifindex, Place::ROOT, netem)
}

/// [`set_netem`] at `place`.
pub fn set_netem_at(ifindex: u32, place: Place, netem: &Netem) -> Result<(), Errno> {
    let share = |p: f64| (p * u32::MAX as f64) as u32;
    if !(0.0..=1.0).contains(&netem.loss)
        || !(0.0..=1.0).contains(&netem.reorder)
        || (netem.reorder > 0.0 && netem.delay_ns == 0)
        || netem.limit == 0
    {
        return Err(Errno::EINVAL);
    }
    let mut m = qdisc(ifindex, place, b"netem\0");
    let (loss, reorder) = (share(netem.loss), share(netem.reorder));
    m.nest(TCA_OPTIONS, |m| {
        // struct tc_netem_qopt: latency, limit, loss, gap, duplicate,
        // jitter (the times in the attributes below instead). Reordering
        // needs a gap; 1, as tc sets it, makes every packet a candidate.
        let gap = (reorder > 0) as u32;
        for v in [0, netem.limit, loss, gap, 0, 0] {
            m.0.extend_from_slice(&v.to_ne_bytes());
        }
        if reorder > 0 {
            // struct tc_netem_reorder: probability, correlation.
            let mut r = Vec::with_capacity(8);
            r.extend_from_slice(&reorder.to_ne_bytes());
            r.extend_from_slice(&0u32.to_ne_bytes());
            m.attr(TCA_NETEM_REORDER, &r);
        }
        m.attr(TCA_NETEM_LATENCY64, &(netem.delay_ns as i64).to_ne_bytes());
        m.attr(TCA_NETEM_JITTER64, &(netem.jitter_ns as i64).to_ne_bytes());
        if netem.rate > 0 {
            // struct tc_netem_rate: rate (bytes/s, capped), packet
            // overhead, cell size, cell overhead; above 4 GB/s the 64-bit
            // attribute carries the rate.
            let mut rate = Vec::with_capacity(16);
            rate.extend_from_slice(&(netem.rate.min(u32::MAX as u64) as u32).to_ne_bytes());
            rate.extend_from_slice(&[0u8; 12]);
            m.attr(TCA_NETEM_RATE, &rate);
            if netem.rate > u32::MAX as u64 {
                m.attr(TCA_NETEM_RATE64, &netem.rate.to_ne_bytes());
            }
        }
    });
    m.send()
}
