//! The topology built in one kernel: each node a network namespace (its
//! own interfaces, routes, neighbours, sockets; a switch's joined by a
//! bridge, with VLANs per port), each link a veth pair
//! between two of them, with a qdisc on both ends for the link's delay,
//! jitter, loss and rate (netem; tbf for a rate alone); and the scheduled
//! changes to links.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use lkl::net::config::Place;
use lkl::net::{self, bridge, config, Descriptor, Namespace, TcpListener};
use lkl::Errno;

use super::topology::{Action, Change, End, Event, Link, Port, Shaping, Topology};
use crate::aio;

/// The built nodes, by name.
pub struct Nodes {
    namespaces: HashMap<String, Namespace>,
    /// Each link's two interfaces, in the order of its ends.
    devices: Vec<[String; 2]>,
    /// Each link's shaping now, and whether it is down.
    state: Mutex<Vec<(Shaping, bool)>>,
}

fn step<T>(what: impl Fn() -> String, r: Result<T, Errno>) -> Result<T, String> {
    r.map_err(|e| format!("{}: {e}", what()))
}

impl Nodes {
    pub fn build(topology: &Topology) -> Result<Nodes, String> {
        let mut namespaces = HashMap::new();
        for node in &topology.nodes {
            let ns = step(|| format!("node {}", node.name), Namespace::new())?;
            let forward = if node.forward { "1" } else { "0" };
            let setup = || -> Result<(), Errno> {
                config::set_link_up(config::LOOPBACK, true)?;
                // Echo sockets for everyone (the simulator runs as root).
                net::sysctl("net.ipv4.ping_group_range", "0 2147483647")?;
                net::sysctl("net.ipv4.ip_forward", forward)?;
                net::sysctl("net.ipv6.conf.all.forwarding", forward)?;
                net::sysctl("net.ipv6.conf.default.accept_dad", "0")?;
                Ok(())
            };
            step(
                || format!("node {}", node.name),
                ns.run(setup).and_then(|r| r),
            )?;
            if node.switch {
                let filtering = topology
                    .links
                    .iter()
                    .flat_map(|l| &l.ends)
                    .any(|e| e.node == node.name && e.port != Port::Plain);
                let bridge = || -> Result<(), Errno> {
                    bridge::add_bridge(BRIDGE, filtering, node.stp)?;
                    config::set_link_up(net::ifindex(BRIDGE)?, true)
                };
                step(
                    || format!("switch {}", node.name),
                    ns.run(bridge).and_then(|r| r),
                )?;
            }
            namespaces.insert(node.name.clone(), ns);
        }
        let mut interfaces: HashMap<String, u32> = HashMap::new();
        let mut devices = Vec::new();
        for link in &topology.links {
            let [a, b] = &link.ends;
            let mut name = |node: &str| {
                let n = interfaces.entry(node.to_string()).or_insert(0);
                *n += 1;
                format!("eth{}", *n - 1)
            };
            let (name_a, name_b) = (name(&a.node), name(&b.node));
            let (ns_a, ns_b) = (&namespaces[&a.node], &namespaces[&b.node]);
            let what = || format!("the link {} {name_a} - {} {name_b}", a.node, b.node);
            step(
                what,
                ns_a.run(|| config::add_veth(&name_a, &name_b, ns_b.fd()))
                    .and_then(|r| r),
            )?;
            for (end, ns, dev) in [(a, ns_a, &name_a), (b, ns_b, &name_b)] {
                let switch = topology
                    .nodes
                    .iter()
                    .any(|n| n.name == end.node && n.switch);
                let r = ns.run(|| set_up_end(link, dev, end, switch));
                step(|| format!("{} {dev}", end.node), r.and_then(|r| r))?;
            }
            devices.push([name_a, name_b]);
        }
        for node in &topology.nodes {
            let ns = &namespaces[&node.name];
            if let Some(rules) = &node.firewall {
                ns.run(|| rules.apply())
                    .map_err(|e| format!("node {}: {e}", node.name))?
                    .map_err(|e| format!("node {}'s firewall: {e}", node.name))?;
            }
            for rule in &node.rules {
                let r =
                    ns.run(|| config::add_rule(rule.v6, &rule.picks, rule.table, rule.priority));
                step(
                    || format!("node {}: the rule {:?}", node.name, rule.picks),
                    r.and_then(|r| r),
                )?;
            }
            for route in &node.routes {
                let r = ns.run(|| {
                    config::add_route_in(
                        route.table,
                        route.dest,
                        route.prefix,
                        Some(route.via),
                        None,
                    )
                });
                step(
                    || {
                        format!(
                            "node {}: the route to {}/{} via {}",
                            node.name, route.dest, route.prefix, route.via
                        )
                    },
                    r.and_then(|r| r),
                )?;
            }
        }
        Ok(Nodes {
            namespaces,
            devices,
            state: Mutex::new(
                topology
                    .links
                    .iter()
                    .map(|l| (l.shaping.clone(), false))
                    .collect(),
            ),
        })
    }

    /// Does what `event` says to its link, at both ends. A link that is
    /// down loses every packet, as a cut cable: its interfaces stay up
    /// and the nodes' routes stay as they were.
    pub fn apply(&self, topology: &Topology, event: &Event) -> Result<(), String> {
        let (index, action) = match &event.change {
            Change::Link { link, action } => (*link, action),
            Change::Firewall { node, rules } => {
                return self
                    .namespace(node)
                    .run(|| rules.apply())
                    .map_err(|e| format!("node {node}: {e}"))?
                    .map_err(|e| format!("at {:?}, node {node}'s firewall: {e}", event.at));
            }
        };
        let link = &topology.links[index];
        let mut state = self.state.lock().unwrap();
        let (shaping, down) = &mut state[index];
        match action {
            Action::Down => *down = true,
            Action::Up => *down = false,
            Action::Change(new) => *shaping = new.clone(),
        }
        let now = if *down {
            Shaping {
                loss: 1.0,
                ..shaping.clone()
            }
        } else {
            shaping.clone()
        };
        for (end, node) in link.ends.iter().enumerate() {
            let dev = self.device(index, end);
            let r = self
                .namespace(&node.node)
                .run(|| set_shaping(net::ifindex(dev)?, &now, link.queue.as_deref(), false));
            step(
                || format!("at {:?}, {} {dev}", event.at, node.node),
                r.and_then(|r| r),
            )?;
        }
        Ok(())
    }

    /// Waits until every link's interfaces carry packets (the kernel
    /// brings a new link's carrier up within a second; until then its
    /// packets are dropped).
    pub fn wait_running(&self, topology: &Topology) -> Result<(), String> {
        for (i, link) in topology.links.iter().enumerate() {
            for (end, node) in link.ends.iter().enumerate() {
                let dev = self.device(i, end);
                let ns = self.namespace(&node.node);
                while !step(
                    || format!("{} {dev}", node.node),
                    ns.run(|| net::is_running(dev)).and_then(|r| r),
                )? {
                    aio::sleep(0.01).map_err(|e| format!("waiting for {dev}: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// A non-blocking TCP listener in node `node` on `port` of every
    /// address of `addr`'s family.
    pub fn listen(&self, node: &str, addr: SocketAddr) -> Result<TcpListener, Errno> {
        self.namespace(node)
            .run(|| {
                let l = TcpListener::bind(SocketAddr::new(unspecified(addr.ip()), addr.port()))?;
                l.set_nonblocking(true)?;
                Ok(l)
            })
            .and_then(|r| r)
    }

    /// The interface of link `link`'s end `end` (0 or 1), in that end's
    /// node.
    pub fn device(&self, link: usize, end: usize) -> &str {
        &self.devices[link][end]
    }

    /// Node `name`'s namespace.
    pub fn namespace(&self, name: &str) -> &Namespace {
        &self.namespaces[name]
    }
}

/// The bytes a token bucket lets through at once.
pub const TBF_BURST: u32 = 32 << 10;

/// A token bucket's queue, as `tc ... tbf rate R burst 32kb limit L`
/// makes it: 100 ms of the rate, at least 128 KiB.
fn tbf_limit(rate: u64) -> u32 {
    (rate / 10).clamp(128 << 10, u32::MAX as u64) as u32
}

/// Puts `shaping` on interface `ifindex` of the calling thread's
/// namespace. Without a `queue`: tbf for a rate alone, netem otherwise
/// (delay, jitter, loss, reordering, and the rate if any), nothing if it
/// asks for nothing and `initial`. With one, a tree as a lab's `tc` makes
/// it: netem for the delays at the root, under it tbf for the rate, and
/// under that the queue (fq_codel, pfifo) where packets wait for it.
fn set_shaping(
    ifindex: u32,
    shaping: &Shaping,
    queue: Option<&str>,
    initial: bool,
) -> Result<(), Errno> {
    let delayed = !shaping.delay.is_zero()
        || !shaping.jitter.is_zero()
        || shaping.loss > 0.0
        || shaping.reorder > 0.0;
    let rate = shaping.rate_bps / 8;
    let netem = |rate| config::Netem {
        delay_ns: shaping.delay.as_nanos() as u64,
        jitter_ns: shaping.jitter.as_nanos() as u64,
        loss: shaping.loss,
        rate,
        reorder: shaping.reorder,
        // Packets queued: tc's default.
        limit: 1_000,
    };
    if let Some(queue) = queue {
        if !initial {
            config::delete_root_qdisc(ifindex)?;
        }
        let mut place = Place::ROOT;
        if delayed {
            config::set_netem_at(ifindex, place, &netem(0))?;
            place = place.below();
        }
        if rate > 0 {
            config::set_tbf_at(ifindex, place, rate, TBF_BURST, tbf_limit(rate))?;
            place = place.below();
        }
        return config::set_plain_qdisc(ifindex, place, queue);
    }
    if !delayed && rate > 0 {
        config::set_tbf(ifindex, rate, TBF_BURST, tbf_limit(rate))
    } else if delayed || !initial {
        config::set_netem(ifindex, &netem(rate))
    } else {
        Ok(())
    }
}

/// In the end's namespace: MTU, the link's qdisc, addresses (or, at a
/// switch, the port and its VLANs), up.
fn set_up_end(link: &Link, dev: &str, end: &End, switch: bool) -> Result<(), Errno> {
    let ifindex = net::ifindex(dev)?;
    config::set_mtu(ifindex, link.mtu)?;
    set_shaping(ifindex, &link.shaping, link.queue.as_deref(), true)?;
    for (addr, prefix) in &end.addrs {
        config::add_address(ifindex, *addr, *prefix)?;
    }
    if switch {
        bridge::set_master(ifindex, net::ifindex(BRIDGE)?)?;
        match &end.port {
            Port::Plain => {}
            Port::Access(vid) => bridge::add_port_vlan(ifindex, *vid, true)?,
            Port::Trunk(vids) => {
                for vid in vids {
                    bridge::add_port_vlan(ifindex, *vid, false)?;
                }
            }
        }
    }
    config::set_link_up(ifindex, true)
}

/// The unspecified address of `like`'s family ("every address").
pub fn unspecified(like: IpAddr) -> IpAddr {
    if like.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u8; 16])
    }
}

/// A switch's bridge.
const BRIDGE: &str = "br0";
