//! nftables through netlink (the nf_tables subsystem of nfnetlink), on a
//! socket of the kernel's own in the calling thread's namespace: tables,
//! base chains and rules made of the kernel's expressions, sent as one
//! batch that the kernel applies whole or not at all. The messages are
//! encoded here with Linux's numbers; what the rules say is the caller's.
use alloc::string::String;
use alloc::vec::Vec;

use super::netlink::{
    Netlink, NETLINK_NETFILTER, NLMSG_ERROR, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};
use crate::Errno;

const NLA_F_NESTED: u16 = 0x8000;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;

/// Families of tables.
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

/// Hooks of base chains.
pub const HOOK_PREROUTING: u32 = 0;
pub const HOOK_INPUT: u32 = 1;
pub const HOOK_FORWARD: u32 = 2;
pub const HOOK_OUTPUT: u32 = 3;
pub const HOOK_POSTROUTING: u32 = 4;

/// Verdicts.
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;

/// The register expressions load into and compare from (16 bytes).
pub const REG_1: u32 = 1;
const REG_VERDICT: u32 = 0;

/// Keys of `meta`.
pub const META_IIFNAME: u32 = 6;
pub const META_OIFNAME: u32 = 7;
pub const META_NFPROTO: u32 = 15;
pub const META_L4PROTO: u32 = 16;
/// Bases of `payload`.
pub const PAYLOAD_NETWORK: u32 = 1;
pub const PAYLOAD_TRANSPORT: u32 = 2;
/// Key of `ct`: the connection's state, bits of [`CT_STATE_ESTABLISHED`]...
pub const CT_STATE: u32 = 0;
pub const CT_STATE_INVALID: u32 = 1;
pub const CT_STATE_ESTABLISHED: u32 = 2;
pub const CT_STATE_RELATED: u32 = 4;
pub const CT_STATE_NEW: u32 = 8;
/// Operators of `cmp`.
pub const CMP_EQ: u32 = 0;
pub const CMP_NEQ: u32 = 1;
/// Types of `nat`.
pub const NAT_SNAT: u32 = 0;
pub const NAT_DNAT: u32 = 1;

/// One expression of a rule, as the kernel's `nft_expr_type`s take them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Loads a packet's metadata (`META_*`) into `dreg`.
    Meta { key: u32, dreg: u32 },
    /// Loads `len` bytes at `offset` of a header (`PAYLOAD_*`).
    Payload {
        base: u32,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// `dreg = (sreg & mask) ^ xor`, over `mask.len()` bytes.
    Bitwise {
        sreg: u32,
        dreg: u32,
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    /// Compares `sreg` with `data`; the rule stops here if false.
    Cmp { sreg: u32, op: u32, data: Vec<u8> },
    /// Loads a connection tracking key (`CT_STATE`).
    Ct { key: u32, dreg: u32 },
    /// Loads `data` into `dreg`.
    Immediate { dreg: u32, data: Vec<u8> },
    /// Ends the rule with a verdict (`NF_ACCEPT`, `NF_DROP`).
    Verdict(u32),
    /// Counts packets and bytes.
    Counter,
    /// Source NAT to the outgoing interface's address.
    Masquerade,
    /// NAT (`NAT_SNAT`, `NAT_DNAT`) of family `family` to the address in
    /// `addr_reg`, and the port in `port_reg` if any.
    Nat {
        kind: u32,
        family: u8,
        addr_reg: u32,
        port_reg: Option<u32>,
    },
}

/// A chain's hook, when it is a base chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// "filter" or "nat".
    pub kind: String,
    pub hook: u32,
    pub priority: i32,
    /// The verdict for what no rule decides.
    pub policy: u32,
}

/// Messages to send as one batch.
#[derive(Clone, Debug)]
pub struct Batch {
    buf: Vec<u8>,
    seq: u32,
    /// Where the message being written starts.
    start: usize,
}

/// An nlattr under construction: where its length goes.
struct Open(usize);

impl Batch {
    pub fn new() -> Batch {
        let mut b = Batch {
            buf: Vec::new(),
            seq: 0,
            start: 0,
        };
        b.message(NFNL_MSG_BATCH_BEGIN, 0, 0, NFNL_SUBSYS_NFTABLES);
        b.end_message();
        b
    }

    /// Starts a message: nlmsghdr (its length set at the end), nfgenmsg.
    fn message(&mut self, kind: u16, flags: u16, family: u8, res_id: u16) {
        self.seq += 1;
        self.start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf
            .extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    fn end_message(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        self.buf
            .extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn attr_str(&mut self, kind: u16, value: &str) {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v);
    }

    /// nf_tables' 32-bit attributes are in network order.
    fn attr_u32(&mut self, kind: u16, value: u32) {
        self.attr(kind, &value.to_be_bytes());
    }

    fn open(&mut self, kind: u16) -> Open {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        Open(at)
    }

    fn close(&mut self, open: Open) {
        let len = (self.buf.len() - open.0) as u16;
        self.buf[open.0..open.0 + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// An nft_data: a value, or a verdict.
    fn data(&mut self, kind: u16, value: &[u8]) {
        let outer = self.open(kind);
        self.attr(NFTA_DATA_VALUE, value);
        self.close(outer);
    }

    fn nft_type(kind: u16) -> u16 {
        (NFNL_SUBSYS_NFTABLES << 8) | kind
    }

    /// Deletes every table of every family, with their chains and rules
    /// (`nft flush ruleset`): what follows in the batch replaces them.
    pub fn flush_ruleset(&mut self) {
        self.message(Self::nft_type(NFT_MSG_DELTABLE), NLM_F_ACK, 0, 0);
        self.end_message();
    }

    /// Adds table `name` of `family` (kept if it is there).
    pub fn table(&mut self, family: u8, name: &str) {
        self.message(
            Self::nft_type(NFT_MSG_NEWTABLE),
            NLM_F_CREATE | NLM_F_ACK,
            family,
            0,
        );
        self.attr_str(NFTA_TABLE_NAME, name);
        self.end_message();
    }

    /// Adds chain `name` to table `table`; with `hook`, a base chain.
    pub fn chain(&mut self, family: u8, table: &str, name: &str, hook: Option<&Hook>) {
        self.message(
            Self::nft_type(NFT_MSG_NEWCHAIN),
            NLM_F_CREATE | NLM_F_ACK,
            family,
            0,
        );
        self.attr_str(NFTA_CHAIN_TABLE, table);
        self.attr_str(NFTA_CHAIN_NAME, name);
        if let Some(hook) = hook {
            let h = self.open(NFTA_CHAIN_HOOK);
            self.attr_u32(NFTA_HOOK_HOOKNUM, hook.hook);
            self.attr_u32(NFTA_HOOK_PRIORITY, hook.priority as u32);
            self.close(h);
            self.attr_u32(NFTA_CHAIN_POLICY, hook.policy);
            self.attr_str(NFTA_CHAIN_TYPE, &hook.kind);
        }
        self.end_message();
    }

    /// Appends a rule to chain `chain` of table `table`.
    pub fn rule(&mut self, family: u8, table: &str, chain: &str, exprs: &[Expr]) {
        self.message(
            Self::nft_type(NFT_MSG_NEWRULE),
            NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
            family,
            0,
        );
        self.attr_str(NFTA_RULE_TABLE, table);
        self.attr_str(NFTA_RULE_CHAIN, chain);
        let list = self.open(NFTA_RULE_EXPRESSIONS);
        for e in exprs {
            let elem = self.open(NFTA_LIST_ELEM);
            self.expr(e);
            self.close(elem);
        }
        self.close(list);
        self.end_message();
    }

    fn expr(&mut self, e: &Expr) {
        let name = match e {
            Expr::Meta { .. } => "meta",
            Expr::Payload { .. } => "payload",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Cmp { .. } => "cmp",
            Expr::Ct { .. } => "ct",
            Expr::Immediate { .. } | Expr::Verdict(_) => "immediate",
            Expr::Counter => "counter",
            Expr::Masquerade => "masq",
            Expr::Nat { .. } => "nat",
        };
        self.attr_str(NFTA_EXPR_NAME, name);
        let data = self.open(NFTA_EXPR_DATA);
        match e {
            // NFTA_META_DREG, NFTA_META_KEY.
            Expr::Meta { key, dreg } => {
                self.attr_u32(1, *dreg);
                self.attr_u32(2, *key);
            }
            // NFTA_PAYLOAD_DREG, _BASE, _OFFSET, _LEN.
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                self.attr_u32(1, *dreg);
                self.attr_u32(2, *base);
                self.attr_u32(3, *offset);
                self.attr_u32(4, *len);
            }
            // NFTA_BITWISE_SREG, _DREG, _LEN, _MASK, _XOR.
            Expr::Bitwise {
                sreg,
                dreg,
                mask,
                xor,
            } => {
                self.attr_u32(1, *sreg);
                self.attr_u32(2, *dreg);
                self.attr_u32(3, mask.len() as u32);
                self.data(4, mask);
                self.data(5, xor);
            }
            // NFTA_CMP_SREG, _OP, _DATA.
            Expr::Cmp { sreg, op, data } => {
                self.attr_u32(1, *sreg);
                self.attr_u32(2, *op);
                self.data(3, data);
            }
            // NFTA_CT_DREG, NFTA_CT_KEY.
            Expr::Ct { key, dreg } => {
                self.attr_u32(1, *dreg);
                self.attr_u32(2, *key);
            }
            // NFTA_IMMEDIATE_DREG, _DATA.
            Expr::Immediate { dreg, data } => {
                self.attr_u32(1, *dreg);
                self.data(2, data);
            }
            Expr::Verdict(code) => {
                self.attr_u32(1, REG_VERDICT);
                let outer = self.open(2);
                let verdict = self.open(NFTA_DATA_VERDICT);
                self.attr_u32(NFTA_VERDICT_CODE, *code);
                self.close(verdict);
                self.close(outer);
            }
            Expr::Counter | Expr::Masquerade => {}
            // NFTA_NAT_TYPE, _FAMILY, _REG_ADDR_MIN, _REG_PROTO_MIN.
            Expr::Nat {
                kind,
                family,
                addr_reg,
                port_reg,
            } => {
                self.attr_u32(1, *kind);
                self.attr_u32(2, *family as u32);
                self.attr_u32(3, *addr_reg);
                if let Some(port) = port_reg {
                    self.attr_u32(5, *port);
                }
            }
        }
        self.close(data);
    }

    /// Sends the batch; the kernel applies all of it or, at the first
    /// message it refuses, none: that message's errno, and its index
    /// among the messages added (0 the first).
    pub fn commit(mut self) -> Result<(), (Errno, usize)> {
        self.message(NFNL_MSG_BATCH_END, 0, 0, NFNL_SUBSYS_NFTABLES);
        self.end_message();
        let last_seq = self.seq;
        let failed = |e: Errno| (e, 0);
        let mut socket = Netlink::open(NETLINK_NETFILTER).map_err(failed)?;
        socket.send(&self.buf).map_err(failed)?;
        // The messages that ask for an ack have sequence numbers 2 to
        // last_seq - 1; a refused one answers with its errno (its index
        // among them: seq - 2) and the kernel stops there.
        socket
            .answers(|a| match (a.kind, a.result()) {
                (NLMSG_ERROR, Err(e)) => Some(Err((e, a.seq.saturating_sub(2) as usize))),
                (NLMSG_ERROR, Ok(())) if a.seq + 1 >= last_seq => Some(Ok(())),
                _ => None,
            })
            .map_err(failed)?
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}
