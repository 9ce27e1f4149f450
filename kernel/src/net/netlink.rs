//! Netlink sockets of the kernel's own, in the calling thread's network
//! namespace: a request sent whole, then the kernel's answers read back
//! message by message. rtnetlink ([`super::config`], [`super::bridge`],
//! [`super::stats`]) and nf_tables ([`super::nftables`]) speak through it.
use alloc::vec::Vec;

use crate::sys::{self, arg};
use crate::uapi::nr;
use crate::Errno;

const AF_NETLINK: i64 = 16;
const SOCK_RAW: i64 = 3;
const SOCK_CLOEXEC: i64 = 0o2000000;

/// Protocols.
pub(super) const NETLINK_ROUTE: i64 = 0;
pub(super) const NETLINK_NETFILTER: i64 = 12;

/// Message types every family shares.
pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;

/// Request flags.
pub(super) const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_ACK: u16 = 0x4;
pub(super) const NLM_F_DUMP: u16 = 0x300;
pub(super) const NLM_F_REPLACE: u16 = 0x100;
pub(super) const NLM_F_EXCL: u16 = 0x200;
pub(super) const NLM_F_CREATE: u16 = 0x400;
pub(super) const NLM_F_APPEND: u16 = 0x800;

/// The length of `struct nlmsghdr`.
const HEADER: usize = 16;

/// One message of the kernel's answers.
pub(super) struct Answer<'a> {
    pub kind: u16,
    pub seq: u32,
    /// What follows the header.
    pub body: &'a [u8],
}

impl Answer<'_> {
    /// An NLMSG_ERROR's errno: Ok(()) for an acknowledgement.
    pub fn result(&self) -> Result<(), Errno> {
        let error = self.body.get(..4).map_or(-Errno::EPROTO.0, |e| {
            i32::from_ne_bytes(e.try_into().unwrap())
        });
        match error {
            0 => Ok(()),
            e => Err(Errno(-e)),
        }
    }
}

/// A netlink socket, closed on drop.
pub(super) struct Netlink {
    fd: i32,
    buf: Vec<u8>,
}

fn call(nr: i64, args: [i64; 6]) -> Result<i64, Errno> {
    // SAFETY: the callers pass buffers with their true lengths.
    Errno::from_ret(unsafe { sys::syscall(nr, args) })
}

impl Netlink {
    pub fn open(protocol: i64) -> Result<Netlink, Errno> {
        let fd = call(
            nr::SOCKET,
            [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol, 0, 0, 0],
        )?;
        Ok(Netlink {
            fd: fd as i32,
            buf: alloc::vec![0u8; 32 << 10],
        })
    }

    /// Sends `request`: one or more whole messages.
    pub fn send(&self, request: &[u8]) -> Result<(), Errno> {
        call(
            nr::SENDTO,
            [
                self.fd as i64,
                arg(request.as_ptr()),
                request.len() as i64,
                0,
                0,
                0,
            ],
        )
        .map(drop)
    }

    /// Reads the kernel's answers, giving each message to `each` until it
    /// returns a result; `EPROTO` for a message that does not hold
    /// together.
    pub fn answers<T>(&mut self, mut each: impl FnMut(Answer) -> Option<T>) -> Result<T, Errno> {
        loop {
            let n = call(
                nr::RECVFROM,
                [
                    self.fd as i64,
                    arg(self.buf.as_mut_ptr()),
                    self.buf.len() as i64,
                    0,
                    0,
                    0,
                ],
            )? as usize;
            let mut at = 0;
            while at + HEADER <= n {
                let word = |i: usize| u32::from_ne_bytes(self.buf[i..i + 4].try_into().unwrap());
                let len = word(at) as usize;
                if len < HEADER || at + len > n {
                    return Err(Errno::EPROTO);
                }
                let answer = Answer {
                    kind: u16::from_ne_bytes([self.buf[at + 4], self.buf[at + 5]]),
                    seq: word(at + 8),
                    body: &self.buf[at + HEADER..at + len],
                };
                if let Some(result) = each(answer) {
                    return Ok(result);
                }
                at += len.next_multiple_of(4);
            }
        }
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}
