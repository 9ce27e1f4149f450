//! Bridges, the switches of a namespace, through rtnetlink: a bridge made
//! (spanning tree and VLAN filtering on or off), interfaces joined to it
//! as its ports, and VLANs given to ports, as `ip link add type bridge`,
//! `ip link set master` and `bridge vlan add` ask.
use alloc::vec::Vec;

use super::config::{
    name_attr, Message, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_NEWLINK,
};
use super::netlink::{NLM_F_CREATE, NLM_F_EXCL};
use crate::Errno;

const AF_BRIDGE: u8 = 7;
const RTM_SETLINK: u16 = 19;
const IFLA_MASTER: u16 = 10;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_BR_STP_STATE: u16 = 5;
const IFLA_BR_VLAN_FILTERING: u16 = 7;
const IFLA_BR_VLAN_DEFAULT_PVID: u16 = 39;
const IFLA_BRIDGE_VLAN_INFO: u16 = 2;
const BRIDGE_VLAN_INFO_PVID: u16 = 1 << 1;
const BRIDGE_VLAN_INFO_UNTAGGED: u16 = 1 << 2;
/// The highest VLAN id (4095 is reserved).
pub const VLAN_MAX: u16 = 4094;

/// `struct ifinfomsg` of family `family` for interface `ifindex`.
fn ifinfo(family: u8, ifindex: u32) -> Vec<u8> {
    let mut fixed = Vec::with_capacity(16);
    fixed.extend_from_slice(&[family, 0, 0, 0]);
    fixed.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    fixed.extend_from_slice(&[0u8; 8]);
    fixed
}

/// Makes bridge `name` in the calling thread's namespace, down. With
/// `vlan_filtering`, a port passes only the VLANs given to it
/// ([`add_port_vlan`]); new ports get none.
pub fn add_bridge(name: &str, vlan_filtering: bool, stp: bool) -> Result<(), Errno> {
    let name = name_attr(name)?;
    let mut m = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &[0u8; 16]);
    m.attr(IFLA_IFNAME, &name);
    m.nest(IFLA_LINKINFO, |m| {
        m.attr(IFLA_INFO_KIND, b"bridge\0");
        m.nest(IFLA_INFO_DATA, |m| {
            m.attr(IFLA_BR_STP_STATE, &(stp as u32).to_ne_bytes());
            m.attr(IFLA_BR_VLAN_FILTERING, &[vlan_filtering as u8]);
            if vlan_filtering {
                m.attr(IFLA_BR_VLAN_DEFAULT_PVID, &0u16.to_ne_bytes());
            }
        });
    });
    m.send()
}

/// Makes interface `port` a port of bridge `bridge` (both indexes).
pub fn set_master(port: u32, bridge: u32) -> Result<(), Errno> {
    let mut m = Message::new(RTM_NEWLINK, 0, &ifinfo(0, port));
    m.attr(IFLA_MASTER, &bridge.to_ne_bytes());
    m.send()
}

/// Lets VLAN `vid` through bridge port `port`: untagged, and the VLAN of
/// what comes in untagged (an access port), or tagged (a trunk).
pub fn add_port_vlan(port: u32, vid: u16, access: bool) -> Result<(), Errno> {
    if vid == 0 || vid > VLAN_MAX {
        return Err(Errno::EINVAL);
    }
    let flags = if access {
        BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED
    } else {
        0
    };
    let mut info = Vec::with_capacity(4);
    info.extend_from_slice(&flags.to_ne_bytes());
    info.extend_from_slice(&vid.to_ne_bytes());
    let mut m = Message::new(RTM_SETLINK, 0, &ifinfo(AF_BRIDGE, port));
    m.nest(IFLA_AF_SPEC, |m| {
        m.attr(IFLA_BRIDGE_VLAN_INFO, &info);
    });
    m.send()
}
