//! Counters read back from the kernel: every qdisc's of the calling
//! thread's namespace (a dump of RTM_GETQDISC over rtnetlink), with what
//! it sent, dropped and holds, as `tc -s qdisc` shows them.
use alloc::string::String;
use alloc::vec::Vec;

use crate::sys::{self, arg};
use crate::uapi::nr;
use crate::Errno;

const AF_NETLINK: i64 = 16;
const SOCK_RAW: i64 = 3;
const SOCK_CLOEXEC: i64 = 0o2000000;
const NETLINK_ROUTE: i64 = 0;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
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

fn call(nr: i64, args: [i64; 6]) -> Result<i64, Errno> {
    // SAFETY: the callers pass buffers with their true lengths.
    Errno::from_ret(unsafe { sys::syscall(nr, args) })
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
    let fd = call(
        nr::SOCKET,
        [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE, 0, 0, 0],
    )?;
    let result = dump(fd, ifindex);
    let _ = sys::close(fd as i32);
    result
}

fn dump(fd: i64, ifindex: u32) -> Result<Vec<QdiscStats>, Errno> {
    // nlmsghdr, then struct tcmsg asking for the interface's qdiscs.
    let mut request = Vec::with_capacity(16 + TCMSG_LEN);
    request.extend_from_slice(&((16 + TCMSG_LEN) as u32).to_ne_bytes());
    request.extend_from_slice(&RTM_GETQDISC.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&[0, 0, 0, 0]);
    request.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    request.extend_from_slice(&[0u8; 12]);
    call(
        nr::SENDTO,
        [fd, arg(request.as_ptr()), request.len() as i64, 0, 0, 0],
    )?;
    let mut found = Vec::new();
    let mut answer = alloc::vec![0u8; 32 << 10];
    loop {
        let n = call(
            nr::RECVFROM,
            [fd, arg(answer.as_mut_ptr()), answer.len() as i64, 0, 0, 0],
        )? as usize;
        let mut at = 0;
        while at + 16 <= n {
            let len = u32_at(&answer, at) as usize;
            let kind = u16::from_ne_bytes([answer[at + 4], answer[at + 5]]);
            if len < 16 || at + len > n {
                return Err(Errno::EPROTO);
            }
            match kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    let error = u32_at(&answer, at + 16) as i32;
                    return Err(if error < 0 {
                        Errno(-error)
                    } else {
                        Errno::EPROTO
                    });
                }
                RTM_NEWQDISC => {
                    if let Some(q) = parse(&answer[at + 16..at + len]) {
                        if q.ifindex == ifindex {
                            found.push(q);
                        }
                    }
                }
                _ => {}
            }
            at += len.next_multiple_of(4);
        }
    }
}
