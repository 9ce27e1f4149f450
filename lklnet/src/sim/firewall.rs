//! A node's firewall: nftables rules written as `nft -f` takes them (a
//! subset), compiled here into the kernel's expressions and applied
//! through netlink (`lkl::net::nftables`) as one batch, in the node's
//! namespace. What it takes:
//!
//! ```text
//! table inet|ip|ip6 NAME {
//!   chain NAME {
//!     type filter|nat hook prerouting|input|forward|output|postrouting priority N|filter|srcnat|dstnat; policy accept|drop;
//!     [MATCH ...] [counter] accept|drop|masquerade|snat to ADDR|dnat to ADDR[:PORT]
//!   }
//! }
//! ```
//!
//! where a MATCH is `iifname|oifname [!=] "NAME"`, `ip|ip6 saddr|daddr
//! [!=] ADDR[/PREFIX]`, `tcp|udp sport|dport PORT`, `ip protocol` or `meta
//! l4proto tcp|udp|icmp|icmpv6`, `ct state STATE[,STATE...]`.
use std::net::IpAddr;

use lkl::net::nftables::{self as nft, Batch, Expr, Hook};

const REG_ADDR: u32 = nft::REG_1;
const REG_PORT: u32 = 2;

/// A token and its line.
#[derive(Clone, Debug, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

/// Words, quoted names, `{`, `}`, and `;` for each `;` and line end.
fn tokens(text: &str, first_line: usize) -> Vec<Token> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = first_line + i;
        let line = line.split('#').next().unwrap_or("");
        let mut chars = line.chars().peekable();
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut Vec<Token>| {
            if !word.is_empty() {
                out.push(Token {
                    text: std::mem::take(word),
                    line: line_no,
                });
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    flush(&mut word, &mut out);
                    let quoted: String = chars.by_ref().take_while(|&c| c != '"').collect();
                    out.push(Token {
                        text: format!("\"{quoted}\""),
                        line: line_no,
                    });
                }
                '{' | '}' | ';' => {
                    flush(&mut word, &mut out);
                    out.push(Token {
                        text: c.to_string(),
                        line: line_no,
                    });
                }
                c if c.is_whitespace() => flush(&mut word, &mut out),
                c => word.push(c),
            }
        }
        flush(&mut word, &mut out);
        out.push(Token {
            text: ";".into(),
            line: line_no,
        });
    }
    out
}

/// A ruleset ready to apply, and the line of each table, chain and rule,
/// in the order of its messages.
#[derive(Clone, Debug)]
pub struct Ruleset {
    batch: Batch,
    lines: Vec<usize>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

type Parsed<T> = Result<T, String>;

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(|t| t.text.as_str())
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.at.min(self.tokens.len().saturating_sub(1)))
            .map_or(0, |t| t.line)
    }

    fn err<T>(&self, what: impl std::fmt::Display) -> Parsed<T> {
        Err(format!("line {}: {what}", self.line()))
    }

    fn next(&mut self) -> Parsed<String> {
        match self.tokens.get(self.at) {
            Some(t) => {
                self.at += 1;
                Ok(t.text.clone())
            }
            None => self.err("the rules end too soon"),
        }
    }

    fn expect(&mut self, word: &str) -> Parsed<()> {
        let got = self.next()?;
        if got == word {
            Ok(())
        } else {
            self.at -= 1;
            self.err(format!("{got:?} where {word:?} goes"))
        }
    }

    fn skip_ends(&mut self) {
        while self.peek() == Some(";") {
            self.at += 1;
        }
    }

    /// `!=` if it comes next.
    fn negated(&mut self) -> bool {
        let neg = self.peek() == Some("!=");
        if neg {
            self.at += 1;
        }
        neg
    }

    fn name(&mut self) -> Parsed<String> {
        let name = self.next()?;
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(name)
        } else {
            self.at -= 1;
            self.err(format!("{name:?}: not a name"))
        }
    }
}

fn cmp(negated: bool, data: Vec<u8>) -> Expr {
    Expr::Cmp {
        sreg: nft::REG_1,
        op: if negated { nft::CMP_NEQ } else { nft::CMP_EQ },
        data,
    }
}

/// In an inet table, what follows holds only for packets of `proto`.
fn only(family: u8, proto: u8, exprs: &mut Vec<Expr>) {
    if family == nft::NFPROTO_INET {
        exprs.push(Expr::Meta {
            key: nft::META_NFPROTO,
            dreg: nft::REG_1,
        });
        exprs.push(cmp(false, vec![proto]));
    }
}

fn l4proto(name: &str) -> Option<u8> {
    Some(match name {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" | "ipv6-icmp" => 58,
        _ => return None,
    })
}

/// Parses one rule's matches and action, up to its end.
fn rule(p: &mut Parser, family: u8) -> Parsed<Vec<Expr>> {
    let mut exprs = Vec::new();
    loop {
        let word = p.next()?;
        match word.as_str() {
            ";" | "}" => {
                p.at -= 1;
                return p.err("a rule without accept, drop, masquerade, snat or dnat");
            }
            "iifname" | "oifname" => {
                let neg = p.negated();
                let name = p.next()?;
                let name = name.trim_matches('"');
                if name.is_empty() || name.len() > 15 {
                    return p.err(format!("{name:?}: not an interface name"));
                }
                let key = if word == "iifname" {
                    nft::META_IIFNAME
                } else {
                    nft::META_OIFNAME
                };
                exprs.push(Expr::Meta {
                    key,
                    dreg: nft::REG_1,
                });
                let mut padded = name.as_bytes().to_vec();
                padded.resize(16, 0);
                exprs.push(cmp(neg, padded));
            }
            "ip" | "ip6" => {
                let v6 = word == "ip6";
                let field = p.next()?;
                if !v6 && field == "protocol" {
                    let proto = p.next()?;
                    let Some(n) = l4proto(&proto) else {
                        p.at -= 1;
                        return p.err(format!("{proto:?}: not tcp, udp or icmp"));
                    };
                    // The IPv4 header's protocol field.
                    only(family, nft::NFPROTO_IPV4, &mut exprs);
                    exprs.push(Expr::Payload {
                        base: nft::PAYLOAD_NETWORK,
                        offset: 9,
                        len: 1,
                        dreg: nft::REG_1,
                    });
                    exprs.push(cmp(false, vec![n]));
                    continue;
                }
                let offset = match (v6, field.as_str()) {
                    (false, "saddr") => 12,
                    (false, "daddr") => 16,
                    (true, "saddr") => 8,
                    (true, "daddr") => 24,
                    _ => {
                        p.at -= 1;
                        return p.err(format!("{field:?}: not saddr or daddr"));
                    }
                };
                if (family == nft::NFPROTO_IPV4 && v6) || (family == nft::NFPROTO_IPV6 && !v6) {
                    return p.err(format!("{word} in a table of another family"));
                }
                let neg = p.negated();
                let text = p.next()?;
                let (addr, prefix) = match text.split_once('/') {
                    Some((a, n)) => (a, n.parse::<u8>().ok()),
                    None => (text.as_str(), Some(if v6 { 128 } else { 32 })),
                };
                let addr: Option<IpAddr> = addr.parse().ok();
                let (Some(addr), Some(prefix)) = (addr, prefix) else {
                    p.at -= 1;
                    return p.err(format!("{text:?}: not an address"));
                };
                let bits = if v6 { 128 } else { 32 };
                if addr.is_ipv6() != v6 || prefix > bits {
                    p.at -= 1;
                    return p.err(format!("{text:?}: not an {word} address"));
                }
                let bytes = match addr {
                    IpAddr::V4(a) => a.octets().to_vec(),
                    IpAddr::V6(a) => a.octets().to_vec(),
                };
                let mask: Vec<u8> = (0..bytes.len())
                    .map(|i| {
                        let keep = (prefix as usize).saturating_sub(i * 8).min(8);
                        (0xffu16 << (8 - keep)) as u8
                    })
                    .collect();
                let proto = if v6 {
                    nft::NFPROTO_IPV6
                } else {
                    nft::NFPROTO_IPV4
                };
                only(family, proto, &mut exprs);
                exprs.push(Expr::Payload {
                    base: nft::PAYLOAD_NETWORK,
                    offset,
                    len: bytes.len() as u32,
                    dreg: nft::REG_1,
                });
                if prefix < bits {
                    exprs.push(Expr::Bitwise {
                        sreg: nft::REG_1,
                        dreg: nft::REG_1,
                        xor: vec![0; mask.len()],
                        mask: mask.clone(),
                    });
                }
                let network = bytes.iter().zip(&mask).map(|(b, m)| b & m).collect();
                exprs.push(cmp(neg, network));
            }
            "tcp" | "udp" => {
                let field = p.next()?;
                let offset = match field.as_str() {
                    "sport" => 0,
                    "dport" => 2,
                    _ => {
                        p.at -= 1;
                        return p.err(format!("{field:?}: not sport or dport"));
                    }
                };
                let neg = p.negated();
                let text = p.next()?;
                let Ok(port) = text.parse::<u16>() else {
                    p.at -= 1;
                    return p.err(format!("{text:?}: not a port"));
                };
                exprs.push(Expr::Meta {
                    key: nft::META_L4PROTO,
                    dreg: nft::REG_1,
                });
                exprs.push(cmp(false, vec![l4proto(&word).unwrap()]));
                exprs.push(Expr::Payload {
                    base: nft::PAYLOAD_TRANSPORT,
                    offset,
                    len: 2,
                    dreg: nft::REG_1,
                });
                exprs.push(cmp(neg, port.to_be_bytes().to_vec()));
            }
            "meta" => {
                p.expect("l4proto")?;
                let proto = p.next()?;
                let Some(n) = l4proto(&proto) else {
                    p.at -= 1;
                    return p.err(format!("{proto:?}: not tcp, udp, icmp or icmpv6"));
                };
                exprs.push(Expr::Meta {
                    key: nft::META_L4PROTO,
                    dreg: nft::REG_1,
                });
                exprs.push(cmp(false, vec![n]));
            }
            "ct" => {
                p.expect("state")?;
                let text = p.next()?;
                let mut bits = 0u32;
                for state in text.split(',') {
                    bits |= match state {
                        "established" => nft::CT_STATE_ESTABLISHED,
                        "related" => nft::CT_STATE_RELATED,
                        "new" => nft::CT_STATE_NEW,
                        "invalid" => nft::CT_STATE_INVALID,
                        _ => {
                            p.at -= 1;
                            return p.err(format!("{state:?}: not a connection state"));
                        }
                    };
                }
                exprs.push(Expr::Ct {
                    key: nft::CT_STATE,
                    dreg: nft::REG_1,
                });
                exprs.push(Expr::Bitwise {
                    sreg: nft::REG_1,
                    dreg: nft::REG_1,
                    mask: bits.to_ne_bytes().to_vec(),
                    xor: vec![0; 4],
                });
                exprs.push(cmp(true, vec![0; 4]));
            }
            "counter" => exprs.push(Expr::Counter),
            "accept" | "drop" => {
                let code = if word == "accept" {
                    nft::NF_ACCEPT
                } else {
                    nft::NF_DROP
                };
                exprs.push(Expr::Verdict(code));
                return Ok(exprs);
            }
            "masquerade" => {
                exprs.push(Expr::Masquerade);
                return Ok(exprs);
            }
            "snat" | "dnat" => {
                p.expect("to")?;
                let text = p.next()?;
                let (addr, port) = match text.rsplit_once(':') {
                    Some((a, port)) if !a.contains(':') || a.ends_with(']') => {
                        (a.trim_matches(['[', ']']), Some(port))
                    }
                    _ => (text.as_str(), None),
                };
                let addr: Option<IpAddr> = addr.parse().ok();
                let port = port.map(|p| p.parse::<u16>().ok());
                let (Some(addr), None | Some(Some(_))) = (addr, port) else {
                    p.at -= 1;
                    return p.err(format!("{text:?}: not ADDRESS or ADDRESS:PORT"));
                };
                let (bytes, family) = match addr {
                    IpAddr::V4(a) => (a.octets().to_vec(), nft::NFPROTO_IPV4),
                    IpAddr::V6(a) => (a.octets().to_vec(), nft::NFPROTO_IPV6),
                };
                exprs.push(Expr::Immediate {
                    dreg: REG_ADDR,
                    data: bytes,
                });
                let port = port.flatten();
                if let Some(port) = port {
                    exprs.push(Expr::Immediate {
                        dreg: REG_PORT,
                        data: port.to_be_bytes().to_vec(),
                    });
                }
                exprs.push(Expr::Nat {
                    kind: if word == "snat" {
                        nft::NAT_SNAT
                    } else {
                        nft::NAT_DNAT
                    },
                    family,
                    addr_reg: REG_ADDR,
                    port_reg: port.map(|_| REG_PORT),
                });
                return Ok(exprs);
            }
            other => {
                p.at -= 1;
                return p.err(format!("{other:?}: not understood here (see `lklnet sim`'s firewall syntax in the README)"));
            }
        }
    }
}

/// `type K hook H priority P; [policy V;]`
fn hook(p: &mut Parser) -> Parsed<Hook> {
    p.expect("type")?;
    let kind = p.next()?;
    if kind != "filter" && kind != "nat" {
        p.at -= 1;
        return p.err(format!("{kind:?}: not filter or nat"));
    }
    p.expect("hook")?;
    let name = p.next()?;
    let hook = match name.as_str() {
        "prerouting" => nft::HOOK_PREROUTING,
        "input" => nft::HOOK_INPUT,
        "forward" => nft::HOOK_FORWARD,
        "output" => nft::HOOK_OUTPUT,
        "postrouting" => nft::HOOK_POSTROUTING,
        _ => {
            p.at -= 1;
            return p.err(format!("{name:?}: not a hook"));
        }
    };
    p.expect("priority")?;
    let text = p.next()?;
    let priority = match text.as_str() {
        "filter" => 0,
        "srcnat" => 100,
        "dstnat" => -100,
        n => match n.parse::<i32>() {
            Ok(n) => n,
            Err(_) => {
                p.at -= 1;
                return p.err(format!("{text:?}: not a priority"));
            }
        },
    };
    p.expect(";")?;
    p.skip_ends();
    let mut policy = nft::NF_ACCEPT;
    if p.peek() == Some("policy") {
        p.at += 1;
        policy = match p.next()?.as_str() {
            "accept" => nft::NF_ACCEPT,
            "drop" => nft::NF_DROP,
            other => {
                p.at -= 1;
                return p.err(format!("{other:?}: not accept or drop"));
            }
        };
        p.expect(";")?;
    }
    Ok(Hook {
        kind,
        hook,
        priority,
        policy,
    })
}

/// Parses `text`, whose first line is line `first_line` of its file; with
/// `replace`, the rules take the place of all the node has (in the same
/// batch, so that no packet sees the node without rules).
pub fn parse(text: &str, first_line: usize, replace: bool) -> Result<Ruleset, String> {
    let mut p = Parser {
        tokens: tokens(text, first_line),
        at: 0,
    };
    let mut batch = Batch::new();
    let mut lines = Vec::new();
    if replace {
        batch.flush_ruleset();
        lines.push(first_line);
    }
    p.skip_ends();
    while p.peek().is_some() {
        p.expect("table")?;
        let family_word = p.next()?;
        let family = match family_word.as_str() {
            "inet" => nft::NFPROTO_INET,
            "ip" => nft::NFPROTO_IPV4,
            "ip6" => nft::NFPROTO_IPV6,
            _ => {
                p.at -= 1;
                return p.err(format!("{family_word:?}: not inet, ip or ip6"));
            }
        };
        let table = p.name()?;
        lines.push(p.line());
        batch.table(family, &table);
        p.expect("{")?;
        p.skip_ends();
        while p.peek() != Some("}") {
            p.expect("chain")?;
            let chain = p.name()?;
            let line = p.line();
            p.expect("{")?;
            p.skip_ends();
            let hook = if p.peek() == Some("type") {
                Some(hook(&mut p)?)
            } else {
                None
            };
            lines.push(line);
            batch.chain(family, &table, &chain, hook.as_ref());
            p.skip_ends();
            while p.peek() != Some("}") {
                let line = p.line();
                let exprs = rule(&mut p, family)?;
                if p.peek() != Some(";") && p.peek() != Some("}") {
                    return p.err("more after the rule's action");
                }
                lines.push(line);
                batch.rule(family, &table, &chain, &exprs);
                p.skip_ends();
            }
            p.expect("}")?;
            p.skip_ends();
        }
        p.expect("}")?;
        p.skip_ends();
    }
    Ok(Ruleset { batch, lines })
}

impl Ruleset {
    /// Applies the rules in the calling thread's namespace, all or none.
    pub fn apply(&self) -> Result<(), String> {
        let lines = &self.lines;
        self.batch
            .clone()
            .commit()
            .map_err(|(e, i)| match lines.get(i) {
                Some(line) => format!("line {line}: the kernel refused this: {e}"),
                None => format!("the kernel refused the rules: {e}"),
            })
    }
}
