//! The simulator's topology file (TOML): nodes, links between them, and
//! experiments; read and checked whole before anything is built, every
//! error with its line.
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::firewall;
use toml::Spanned;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct File {
    /// "real" or "virtual".
    time: Option<Spanned<String>>,
    /// Seeds the kernel's random numbers.
    seed: Option<u64>,
    #[serde(default)]
    nodes: BTreeMap<String, Spanned<NodeFile>>,
    #[serde(default)]
    links: Vec<Spanned<LinkFile>>,
    #[serde(default)]
    experiments: Vec<Spanned<ExperimentFile>>,
    #[serde(default)]
    events: Vec<Spanned<EventFile>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    /// Forwards packets between its interfaces (a router).
    #[serde(default)]
    forward: bool,
    /// Bridges its links (a switch).
    #[serde(default)]
    switch: bool,
    /// Runs the spanning tree protocol (a switch).
    #[serde(default)]
    stp: bool,
    /// nftables rules, as `nft -f` takes them.
    firewall: Option<Spanned<String>>,
    /// "PREFIX via ADDRESS", "default via ADDRESS", "... table N".
    #[serde(default)]
    routes: Vec<Spanned<String>>,
    /// Routing rules: "from PREFIX table N", "iif eth1 table N".
    #[serde(default)]
    rules: Vec<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct LinkFile {
    /// Two ends: "NODE" or "NODE ADDRESS/PREFIX ...".
    ends: [Spanned<String>; 2],
    delay: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    /// "0.5%"
    loss: Option<Spanned<String>>,
    /// "25%": sent ahead of the delayed ones.
    reorder: Option<Spanned<String>>,
    /// "10mbit", "1gbit", "500kbit"
    rate: Option<Spanned<String>>,
    /// "fq_codel" or "pfifo".
    queue: Option<Spanned<String>>,
    mtu: Option<u32>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    kind: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<String>,
    count: Option<u32>,
    interval: Option<Spanned<String>>,
    duration: Option<Spanned<String>>,
    /// The port of a tcp or udp experiment's receiver.
    port: Option<u16>,
    /// A udp experiment's offered rate ("5mbit") and datagram size; an
    /// http experiment's body size.
    rate: Option<Spanned<String>>,
    size: Option<u32>,
    /// When it begins, from the start of the run; without, it follows the
    /// one before it.
    start: Option<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct EventFile {
    at: Spanned<String>,
    /// The two nodes the link joins.
    link: Option<Spanned<[String; 2]>>,
    /// The node whose firewall changes.
    node: Option<Spanned<String>>,
    /// "down", "up" or "change" (a link), "firewall" (a node).
    action: Spanned<String>,
    /// The node's rules from then on, in place of all it had.
    firewall: Option<Spanned<String>>,
    delay: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    loss: Option<Spanned<String>>,
    reorder: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
}

/// One end of a link: its node and addresses.
#[derive(Debug, Clone)]
pub struct End {
    pub node: String,
    pub addrs: Vec<(IpAddr, u8)>,
    /// At a switch: the VLANs of this port.
    pub port: Port,
}

/// The VLANs of a switch port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port {
    /// The switch's VLANs are off: everything passes.
    Plain,
    /// "vlan=N": VLAN N, untagged.
    Access(u16),
    /// "trunk=N,M": these VLANs, tagged.
    Trunk(Vec<u16>),
}

/// What a link does to the packets it carries, each way.
#[derive(Debug, Clone, Default)]
pub struct Shaping {
    pub delay: Duration,
    pub jitter: Duration,
    /// 0.0 to 1.0.
    pub loss: f64,
    /// The share sent ahead of the delayed ones, 0.0 to 1.0.
    pub reorder: f64,
    /// Bits per second; 0: unlimited.
    pub rate_bps: u64,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub ends: [End; 2],
    pub shaping: Shaping,
    /// The queue packets wait in for the rate: "fq_codel", "pfifo";
    /// None: netem's or tbf's own.
    pub queue: Option<String>,
    pub mtu: u32,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub dest: IpAddr,
    pub prefix: u8,
    pub via: IpAddr,
    /// The routing table (254: main).
    pub table: u32,
}

/// A routing rule: packets it picks are routed by `table`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub v6: bool,
    pub picks: lkl::net::config::RuleMatch,
    pub table: u32,
    pub priority: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub forward: bool,
    pub rules: Vec<Rule>,
    pub switch: bool,
    pub stp: bool,
    /// Its nftables rules, parsed.
    pub firewall: Option<firewall::Ruleset>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub enum Experiment {
    Ping {
        from: String,
        to: IpAddr,
        count: u32,
        interval: Duration,
    },
    /// The routers on the way from `from` to `to`.
    Traceroute { from: String, to: IpAddr },
    /// An HTTP/1.1 fetch by `from` of a `size`-byte body from a server at
    /// port `port` of the node holding `to`.
    Http {
        from: String,
        to: IpAddr,
        to_node: String,
        port: u16,
        size: u64,
    },
    /// Datagrams of `size` bytes from `from` to port `port` of the node
    /// holding `to`, at `rate_bps`, for `duration`.
    Udp {
        from: String,
        to: IpAddr,
        to_node: String,
        port: u16,
        rate_bps: u64,
        size: usize,
        duration: Duration,
    },
    /// One TCP stream from `from` to port `port` of the node holding
    /// `to`, for `duration`.
    Tcp {
        from: String,
        to: IpAddr,
        to_node: String,
        port: u16,
        duration: Duration,
    },
}

/// The simulation's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Time {
    /// The host's clock: waits take their time.
    Real,
    /// The kernel's clock jumps over waits when every thread is idle.
    Virtual,
}

/// An experiment and when it begins.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// From the start of the run; None: when the one before has ended.
    pub start: Option<Duration>,
    pub experiment: Experiment,
}

/// What happens to a link at a scheduled time.
#[derive(Debug, Clone)]
pub enum Action {
    Down,
    Up,
    /// The link's delay, jitter, loss and rate from then on.
    Change(Shaping),
}

/// What an event changes.
#[derive(Debug, Clone)]
pub enum Change {
    /// A link (index into `Topology::links`).
    Link { link: usize, action: Action },
    /// A node's firewall: its new rules, in place of all it had.
    Firewall {
        node: String,
        rules: firewall::Ruleset,
    },
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: Duration,
    pub change: Change,
}

#[derive(Debug)]
pub struct Topology {
    pub time: Time,
    /// The seed of the kernel's random numbers, if given.
    pub seed: Option<u64>,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub experiments: Vec<Scheduled>,
    /// In order of time.
    pub events: Vec<Event>,
}

/// The 1-based line of byte offset `at` in `text`.
fn line(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The line of `text` a string's content starts on (a multi-line
/// string's on the line after its quotes).
fn string_line(text: &str, string: &Spanned<String>) -> usize {
    let at = string.span().start;
    line(text, at) + text[at..].starts_with("\"\"\"\n") as usize
}

/// "5ms", "1.5s", "200us", "0".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let ns = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    (value >= 0.0 && value.is_finite()).then(|| Duration::from_nanos((value * ns) as u64))
}

/// "10mbit", "1gbit", "64kbit", "1000bit": bits per second.
pub fn parse_rate(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => return None,
    };
    (value > 0.0 && value.is_finite()).then_some((value * scale) as u64)
}

/// Refuses links that close a loop of switches of which one runs no
/// spanning tree: frames would go round it for ever.
fn check_switch_loops(file: &File, links: &[Link], text: &str) -> Result<(), String> {
    let node = |name: &str| file.nodes[name].get_ref();
    // Union-find over the switches joined by links.
    let mut parent: HashMap<&str, &str> = HashMap::new();
    fn root<'a>(parent: &HashMap<&'a str, &'a str>, mut at: &'a str) -> &'a str {
        while let Some(&up) = parent.get(at) {
            at = up;
        }
        at
    }
    for (link, spanned) in links.iter().zip(&file.links) {
        let [a, b] = &link.ends;
        if !node(&a.node).switch || !node(&b.node).switch {
            continue;
        }
        let (ra, rb) = (root(&parent, &a.node), root(&parent, &b.node));
        if ra != rb {
            parent.insert(ra, rb);
            continue;
        }
        let members: Vec<&str> = file
            .nodes
            .keys()
            .map(String::as_str)
            .filter(|n| node(n).switch && root(&parent, n) == ra)
            .collect();
        if members.iter().any(|n| !node(n).stp) {
            return Err(format!(
                "line {}: this link closes a loop of switches ({}): give each stp = true",
                line(text, spanned.span().start),
                members.join(", ")
            ));
        }
    }
    Ok(())
}

/// Parses the fields a link and a change share; errors name the line.
struct Fields<'a> {
    text: &'a str,
}

impl Fields<'_> {
    fn err(&self, at: &Spanned<String>, what: &str) -> String {
        format!(
            "line {}: {:?}: {what}",
            line(self.text, at.span().start),
            at.get_ref()
        )
    }

    fn duration(&self, v: &Option<Spanned<String>>) -> Result<Duration, String> {
        match v {
            None => Ok(Duration::ZERO),
            Some(s) => parse_duration(s.get_ref())
                .ok_or_else(|| self.err(s, "not a time (5ms, 1.5s, 200us)")),
        }
    }

    /// A share: "25%", as 0.25.
    fn share(&self, v: &Option<Spanned<String>>) -> Result<f64, String> {
        match v {
            None => Ok(0.0),
            Some(s) => Ok(s
                .get_ref()
                .trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| self.err(s, "not a share from 0% to 100%"))?
                / 100.0),
        }
    }

    fn shaping(&self, f: ShapingFields) -> Result<Shaping, String> {
        let rate_bps = match f.rate {
            None => 0,
            Some(s) => {
                parse_rate(s.get_ref()).ok_or_else(|| self.err(s, "not a rate (10mbit, 1gbit)"))?
            }
        };
        let shaping = Shaping {
            delay: self.duration(f.delay)?,
            jitter: self.duration(f.jitter)?,
            loss: self.share(f.loss)?,
            reorder: self.share(f.reorder)?,
            rate_bps,
        };
        if let Some(r) = f.reorder.as_ref().filter(|_| shaping.delay.is_zero()) {
            return Err(self.err(
                r,
                "reordering sends some packets ahead of the delayed ones: give a delay",
            ));
        }
        Ok(shaping)
    }
}

/// The fields a link and a change share.
struct ShapingFields<'a> {
    delay: &'a Option<Spanned<String>>,
    jitter: &'a Option<Spanned<String>>,
    loss: &'a Option<Spanned<String>>,
    reorder: &'a Option<Spanned<String>>,
    rate: &'a Option<Spanned<String>>,
}

/// The main routing table.
const MAIN_TABLE: u32 = 254;

/// A routing table's number: 1 to 2^32 - 1, or "main".
fn parse_table(text: &str) -> Option<u32> {
    match text {
        "main" => Some(MAIN_TABLE),
        n => n.parse::<u32>().ok().filter(|&t| t > 0),
    }
}

/// "[from PREFIX] [to PREFIX] [iif NAME] table N [priority P]": one rule,
/// or, with no address to tell the family, one for IPv4 and one for IPv6.
fn parse_rule(text: &str) -> Option<Vec<Rule>> {
    let mut picks = lkl::net::config::RuleMatch::default();
    let (mut table, mut priority) = (None, None);
    let mut words = text.split_whitespace();
    while let Some(word) = words.next() {
        let value = words.next()?;
        match word {
            "from" => picks.from = Some(parse_cidr(value).or_else(|| single(value))?),
            "to" => picks.to = Some(parse_cidr(value).or_else(|| single(value))?),
            "iif" if (1..=15).contains(&value.len()) => picks.iif = Some(value.to_string()),
            "table" => table = Some(parse_table(value)?),
            "priority" => priority = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    let families: Vec<bool> = match (&picks.from, &picks.to) {
        (Some((a, _)), Some((b, _))) if a.is_ipv6() != b.is_ipv6() => return None,
        (Some((a, _)), _) | (_, Some((a, _))) => vec![a.is_ipv6()],
        (None, None) => vec![false, true],
    };
    let table = table?;
    Some(
        families
            .into_iter()
            .map(|v6| Rule {
                v6,
                picks: picks.clone(),
                table,
                priority,
            })
            .collect(),
    )
}

/// An address alone, as a prefix of its whole length.
fn single(text: &str) -> Option<(IpAddr, u8)> {
    let addr: IpAddr = text.parse().ok()?;
    Some((addr, if addr.is_ipv4() { 32 } else { 128 }))
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= if addr.is_ipv4() { 32 } else { 128 }).then_some((addr, prefix))
}

impl Topology {
    /// Reads a topology; errors name the line.
    pub fn parse(text: &str) -> Result<Topology, String> {
        let file: File = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            format!("line {}: {}", line(text, at), e.message())
        })?;
        let err = |at: usize, what: String| format!("line {}: {what}", line(text, at));
        let time = match file.time.as_ref().map(|t| (t.get_ref().as_str(), t.span())) {
            None | Some(("real", _)) => Time::Real,
            Some(("virtual", _)) => Time::Virtual,
            Some((other, span)) => {
                return Err(err(
                    span.start,
                    format!("{other:?}: time is \"real\" or \"virtual\""),
                ))
            }
        };
        let mut nodes = Vec::new();
        for (name, node) in &file.nodes {
            if name.is_empty()
                || name.len() > 32
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err(
                    node.span().start,
                    format!("{name:?}: a node's name is letters, digits, - and _"),
                ));
            }
            let mut routes = Vec::new();
            for route in &node.get_ref().routes {
                let words: Vec<&str> = route.get_ref().split_whitespace().collect();
                let bad = || {
                    err(
                        route.span().start,
                        format!(
                            "{:?}: not \"PREFIX via ADDRESS [table N]\"",
                            route.get_ref()
                        ),
                    )
                };
                let (dest, via, table) = match words[..] {
                    [dest, "via", via] => (dest, via, MAIN_TABLE),
                    [dest, "via", via, "table", table] => {
                        (dest, via, parse_table(table).ok_or_else(bad)?)
                    }
                    _ => return Err(bad()),
                };
                let via: IpAddr = via.parse().map_err(|_| bad())?;
                let (dest, prefix) = if dest == "default" {
                    if via.is_ipv4() {
                        (IpAddr::from([0u8; 4]), 0)
                    } else {
                        (IpAddr::from([0u8; 16]), 0)
                    }
                } else {
                    parse_cidr(dest).ok_or_else(bad)?
                };
                if dest.is_ipv4() != via.is_ipv4() {
                    return Err(err(
                        route.span().start,
                        format!("{:?}: the gateway is of another family", route.get_ref()),
                    ));
                }
                routes.push(Route {
                    dest,
                    prefix,
                    via,
                    table,
                });
            }
            let mut rules = Vec::new();
            for rule in &node.get_ref().rules {
                rules.extend(parse_rule(rule.get_ref()).ok_or_else(|| {
                    err(
                        rule.span().start,
                        format!(
                            "{:?}: not \"[from PREFIX] [to PREFIX] [iif NAME] table N [priority P]\"",
                            rule.get_ref()
                        ),
                    )
                })?);
            }
            if node.get_ref().stp && !node.get_ref().switch {
                return Err(err(
                    node.span().start,
                    format!("{name}: stp is for a switch"),
                ));
            }
            let firewall = match &node.get_ref().firewall {
                None => None,
                Some(rules) => Some(
                    firewall::parse(rules.get_ref(), string_line(text, rules), false)
                        .map_err(|e| format!("{e} (the firewall of {name})"))?,
                ),
            };
            nodes.push(Node {
                name: name.clone(),
                rules,
                firewall,
                forward: node.get_ref().forward,
                switch: node.get_ref().switch,
                stp: node.get_ref().stp,
                routes,
            });
        }

        let mut seen: HashMap<IpAddr, usize> = HashMap::new();
        let mut links = Vec::new();
        for link in &file.links {
            let l = link.get_ref();
            let mut ends = Vec::new();
            for end in &l.ends {
                let mut words = end.get_ref().split_whitespace();
                let node = words.next().unwrap_or("").to_string();
                if !file.nodes.contains_key(&node) {
                    return Err(err(end.span().start, format!("{node:?}: no such node")));
                }
                let switch = file.nodes[&node].get_ref().switch;
                let mut addrs = Vec::new();
                let mut port = Port::Plain;
                for word in words {
                    let bad_port = || {
                        err(
                            end.span().start,
                            format!("{word:?}: not vlan=N or trunk=N,M (N from 1 to 4094)"),
                        )
                    };
                    let vid = |v: &str| {
                        v.parse::<u16>()
                            .ok()
                            .filter(|v| (1..=lkl::net::bridge::VLAN_MAX).contains(v))
                    };
                    if let Some((key, value)) = word.split_once('=') {
                        if !switch {
                            return Err(err(
                                end.span().start,
                                format!("{word:?}: VLANs are for a switch's ports"),
                            ));
                        }
                        port = match key {
                            "vlan" => Port::Access(vid(value).ok_or_else(bad_port)?),
                            "trunk" => Port::Trunk(
                                value
                                    .split(',')
                                    .map(vid)
                                    .collect::<Option<Vec<u16>>>()
                                    .ok_or_else(bad_port)?,
                            ),
                            _ => return Err(bad_port()),
                        };
                        continue;
                    }
                    if switch {
                        return Err(err(
                            end.span().start,
                            format!("{word:?}: a switch's port has no address"),
                        ));
                    }
                    let cidr = parse_cidr(word).ok_or_else(|| {
                        err(end.span().start, format!("{word:?}: not ADDRESS/PREFIX"))
                    })?;
                    if let Some(first) = seen.insert(cidr.0, line(text, end.span().start)) {
                        return Err(err(
                            end.span().start,
                            format!("{} is already given on line {first}", cidr.0),
                        ));
                    }
                    addrs.push(cidr);
                }
                ends.push(End { node, addrs, port });
            }
            let [a, b]: [End; 2] = ends.try_into().unwrap();
            if a.node == b.node {
                return Err(err(
                    link.span().start,
                    format!("a link from {} to itself", a.node),
                ));
            }
            let shaping = Fields { text }.shaping(ShapingFields {
                delay: &l.delay,
                jitter: &l.jitter,
                loss: &l.loss,
                reorder: &l.reorder,
                rate: &l.rate,
            })?;
            let mtu = l.mtu.unwrap_or(1500);
            if !(68..=65535).contains(&mtu) {
                return Err(err(
                    link.span().start,
                    format!("MTU {mtu}: from 68 to 65535"),
                ));
            }
            let queue = match &l.queue {
                None => None,
                Some(q) if ["fq_codel", "pfifo"].contains(&q.get_ref().as_str()) => {
                    Some(q.get_ref().clone())
                }
                Some(q) => {
                    return Err(err(
                        q.span().start,
                        format!("{:?}: not fq_codel or pfifo", q.get_ref()),
                    ))
                }
            };
            links.push(Link {
                ends: [a, b],
                shaping,
                queue,
                mtu,
            });
        }

        check_switch_loops(&file, &links, text)?;

        let mut experiments = Vec::new();
        for e in &file.experiments {
            let x = e.get_ref();
            if !file.nodes.contains_key(x.from.get_ref()) {
                return Err(err(
                    x.from.span().start,
                    format!("{:?}: no such node", x.from.get_ref()),
                ));
            }
            let experiment = match x.kind.get_ref().as_str() {
                "ping" => {
                    let to: IpAddr = x.to.get_ref().parse().map_err(|_| {
                        err(
                            x.to.span().start,
                            format!("{:?}: not an IP address", x.to.get_ref()),
                        )
                    })?;
                    let interval = match &x.interval {
                        None => Duration::from_millis(200),
                        Some(s) => parse_duration(s.get_ref()).ok_or_else(|| {
                            err(s.span().start, format!("{:?}: not a time", s.get_ref()))
                        })?,
                    };
                    Experiment::Ping {
                        from: x.from.get_ref().clone(),
                        to,
                        count: x.count.unwrap_or(5).clamp(1, 65_535),
                        interval,
                    }
                }
                "traceroute" => Experiment::Traceroute {
                    from: x.from.get_ref().clone(),
                    to: x.to.get_ref().parse().map_err(|_| {
                        err(
                            x.to.span().start,
                            format!("{:?}: not an IP address", x.to.get_ref()),
                        )
                    })?,
                },
                "tcp" | "udp" | "http" => {
                    let to: IpAddr = x.to.get_ref().parse().map_err(|_| {
                        err(
                            x.to.span().start,
                            format!("{:?}: not an IP address", x.to.get_ref()),
                        )
                    })?;
                    let to_node = links
                        .iter()
                        .flat_map(|l: &Link| l.ends.iter())
                        .find(|end| end.addrs.iter().any(|(a, _)| *a == to))
                        .map(|end| end.node.clone())
                        .ok_or_else(|| {
                            err(x.to.span().start, format!("{to}: no node has this address"))
                        })?;
                    let duration = match &x.duration {
                        None => Duration::from_secs(5),
                        Some(s) => parse_duration(s.get_ref())
                            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
                            .ok_or_else(|| {
                                err(
                                    s.span().start,
                                    format!("{:?}: not a time up to an hour", s.get_ref()),
                                )
                            })?,
                    };
                    let port = x.port.filter(|&p| p != 0).unwrap_or(super::tcp::PORT);
                    let from = x.from.get_ref().clone();
                    if x.kind.get_ref() == "http" {
                        let size = x.size.map_or(1 << 20, u64::from);
                        if size > 1 << 30 {
                            return Err(err(e.span().start, format!("size {size}: up to 1 GiB")));
                        }
                        Experiment::Http {
                            from,
                            to,
                            to_node,
                            port: x.port.filter(|&p| p != 0).unwrap_or(80),
                            size,
                        }
                    } else if x.kind.get_ref() == "tcp" {
                        Experiment::Tcp {
                            from,
                            to,
                            to_node,
                            port,
                            duration,
                        }
                    } else {
                        let rate_bps = match &x.rate {
                            None => 1_000_000,
                            Some(s) => parse_rate(s.get_ref())
                                .filter(|&r| r <= 10_000_000_000)
                                .ok_or_else(|| {
                                    err(
                                        s.span().start,
                                        format!("{:?}: not a rate up to 10gbit", s.get_ref()),
                                    )
                                })?,
                        };
                        let size = x.size.unwrap_or(1200);
                        if !(16..=65_000).contains(&size) {
                            return Err(err(
                                e.span().start,
                                format!("size {size}: from 16 to 65000 bytes"),
                            ));
                        }
                        Experiment::Udp {
                            from,
                            to,
                            to_node,
                            port,
                            rate_bps,
                            size: size as usize,
                            duration,
                        }
                    }
                }
                other => {
                    return Err(err(
                        x.kind.span().start,
                        format!("{other:?}: no such experiment (ping, tcp, udp, http, traceroute)"),
                    ))
                }
            };
            let start = match &x.start {
                None => None,
                Some(s) => Some(parse_duration(s.get_ref()).ok_or_else(|| {
                    err(s.span().start, format!("{:?}: not a time", s.get_ref()))
                })?),
            };
            experiments.push(Scheduled { start, experiment });
        }

        let fields = Fields { text };
        let mut events = Vec::new();
        for e in &file.events {
            let x = e.get_ref();
            let at = parse_duration(x.at.get_ref())
                .ok_or_else(|| fields.err(&x.at, "not a time (5s, 1.5s)"))?;
            if x.action.get_ref() == "firewall" {
                let (Some(node), Some(rules), None) = (&x.node, &x.firewall, &x.link) else {
                    return Err(err(
                        x.action.span().start,
                        "a firewall event gives the node and its firewall, no link".into(),
                    ));
                };
                if !file.nodes.contains_key(node.get_ref()) {
                    return Err(fields.err(node, "no such node"));
                }
                events.push(Event {
                    at,
                    change: Change::Firewall {
                        node: node.get_ref().clone(),
                        rules: firewall::parse(rules.get_ref(), string_line(text, rules), true)?,
                    },
                });
                continue;
            }
            let (Some(link_ends), None, None) = (&x.link, &x.node, &x.firewall) else {
                return Err(err(
                    x.action.span().start,
                    "a link's event gives the link, no node or firewall".into(),
                ));
            };
            let [a, b] = link_ends.get_ref();
            let link = links
                .iter()
                .position(|l| {
                    let [p, q] = &l.ends;
                    (p.node == *a && q.node == *b) || (p.node == *b && q.node == *a)
                })
                .ok_or_else(|| err(link_ends.span().start, format!("no link joins {a} and {b}")))?;
            let changes = x.delay.is_some()
                || x.jitter.is_some()
                || x.loss.is_some()
                || x.reorder.is_some()
                || x.rate.is_some();
            let action = match x.action.get_ref().as_str() {
                "down" if !changes => Action::Down,
                "up" if !changes => Action::Up,
                "change" if changes => Action::Change(fields.shaping(ShapingFields {
                    delay: &x.delay,
                    jitter: &x.jitter,
                    loss: &x.loss,
                    reorder: &x.reorder,
                    rate: &x.rate,
                })?),
                "down" | "up" => {
                    return Err(err(
                        x.action.span().start,
                        "delay, jitter, loss, reorder and rate go with \"change\"".to_string(),
                    ))
                }
                "change" => {
                    return Err(err(
                        x.action.span().start,
                        "a change gives delay, jitter, loss, reorder or rate".to_string(),
                    ))
                }
                other => {
                    return Err(err(
                        x.action.span().start,
                        format!("{other:?}: no such action (down, up, change, firewall)"),
                    ))
                }
            };
            events.push(Event {
                at,
                change: Change::Link { link, action },
            });
        }
        events.sort_by_key(|e| e.at);
        Ok(Topology {
            time,
            seed: file.seed,
            nodes,
            links,
            experiments,
            events,
        })
    }
}
