//! Counters read back from the kernel: every qdisc's of the calling
//! thread's namespace (a dump of RTM_GETQDISC over rtnetlink), with what
//! it sent, dropped and holds, as `tc -s qdisc` shows them.
use alloc::string::String;
use alloc::vec::Vec;

use super::config::Message;
use super::netlink::{Netlink, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP};
use crate::Errno;

const RTM_NEWQDISC: u16 = 36;
const RTM_GETQDISC: u16 = 38;
const TCA_KIND: u16 = 1;
const TCA_STATS2: u16 = 7;
const TCA_STATS_BASIC: u16 = 1;
const TCA_STATS_QUEUE: u16 = 3;
/// The length of `struct tcmsg`.
const TCMSG_LEN: usize = 20;

/// One qdisc and its counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QdiscStats {
    pub ifindex: u32,
    /// "netem", "tbf", "fq_codel", ...
    pub kind: String,
    pub handle: u32,
    pub parent: u32,
    /// What it sent on.
    pub bytes: u64,
    pub packets: u32,
    /// What it dropped (a netem's losses among them).
    pub drops: u32,
    /// What it held back for a limit (a tbf's rate, say).
    pub overlimits: u32,
    pub requeues: u32,
    /// What it holds now.
    pub qlen: u32,
    pub backlog: u32,
}

/// The attributes in `bytes`: (type without flags, value).
fn attrs(mut bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    core::iter::from_fn(move || {
        if bytes.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([bytes[0], bytes[1]]) as usize;
        let kind = u16::from_ne_bytes([bytes[2], bytes[3]]) & 0x3fff;
        if len < 4 || len > bytes.len() {
            return None;
        }
        let value = &bytes[4..len];
        bytes = &bytes[len.next_multiple_of(4).min(bytes.len())..];
        Some((kind, value))
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |v| u32::from_ne_bytes(v.try_into().unwrap()))
}

/// One RTM_NEWQDISC message's body (after the nlmsghdr).
fn parse(body: &[u8]) -> Option<QdiscStats> {
    let fixed = body.get(..TCMSG_LEN)?;
    let mut q = QdiscStats {
        ifindex: u32_at(fixed, 4),
        handle: u32_at(fixed, 8),
        parent: u32_at(fixed, 12),
        ..QdiscStats::default()
    };
    for (kind, value) in attrs(&body[TCMSG_LEN..]) {
        match kind {
            TCA_KIND => {
                let name = value.split(|&b| b == 0).next().unwrap_or(&[]);
                q.kind = String::from_utf8_lossy(name).into_owned();
            }
            TCA_STATS2 => {
                for (stat, v) in attrs(value) {
                    match stat {
                        // struct gnet_stats_basic: bytes (u64), packets.
                        TCA_STATS_BASIC if v.len() >= 12 => {
                            q.bytes = u64::from_ne_bytes(v[..8].try_into().unwrap());
                            q.packets = u32_at(v, 8);
                        }
                        // struct gnet_stats_queue: qlen, backlog, drops,
                        // requeues, overlimits.
                        TCA_STATS_QUEUE if v.len() >= 20 => {
                            q.qlen = u32_at(v, 0);
                            q.backlog = u32_at(v, 4);
                            q.drops = u32_at(v, 8);
                            q.requeues = u32_at(v, 12);
                            q.overlimits = u32_at(v, 16);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(q)
}

/// Every qdisc of interface `ifindex` in the calling thread's namespace,
/// root first as the kernel lists them.
pub fn qdisc_stats(ifindex: u32) -> Result<Vec<QdiscStats>, Errno> {
    // struct tcmsg asking for the interface's qdiscs.
    let mut tcmsg = Vec::with_capacity(TCMSG_LEN);
    tcmsg.extend_from_slice(&[0, 0, 0, 0]);
    tcmsg.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    tcmsg.extend_from_slice(&[0u8; 12]);
    let mut socket = Netlink::open(NETLINK_ROUTE)?;
    socket.send(&Message::new(RTM_GETQDISC, NLM_F_DUMP, &tcmsg).finish())?;
    let mut found = Vec::new();
    socket.answers(|a| match a.kind {
        NLMSG_DONE => Some(Ok(())),
        NLMSG_ERROR => Some(a.result().and(Err(Errno::EPROTO))),
        RTM_NEWQDISC => {
            found.extend(parse(a.body).filter(|q| q.ifindex == ifindex));
            None
        }
        _ => None,
    })??;
    Ok(found)
}
