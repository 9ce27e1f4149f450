//! Packet captures: every frame a link carries, as its first end sends and
//! receives it, written to one pcap file per link (libpcap's format with
//! nanosecond times, Ethernet frames), for tcpdump and Wireshark. Times
//! are the kernel's wall clock when the frame is taken, virtual in
//! virtual time (where that is when it passed).
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use lkl::net::{self, Descriptor, PacketSocket};
use lkl::sys::{self, PollFd};
use lkl::Errno;

use super::engine::{readable, Activity};
use super::nodes::Nodes;
use super::topology::Topology;

/// pcap's magic for nanosecond times, version 2.4, LINKTYPE_ETHERNET.
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
/// Bytes kept of each frame: all of any frame the links carry.
const SNAPLEN: usize = 65_535;
/// Seconds the captures go on after the last experiment, for the last
/// packets of its connections.
pub const LINGER: f64 = 1.0;

struct Link {
    path: PathBuf,
    socket: PacketSocket,
    out: BufWriter<File>,
    frames: u64,
}

/// The captures, one per link.
pub struct Captures {
    links: Vec<Link>,
    /// A frame, with room before it for a VLAN tag put back.
    frame: Vec<u8>,
}

fn header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&MAGIC_NS.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&(SNAPLEN as u32).to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

/// Writes the frames waiting on `link`'s socket to its file.
fn drain(link: &mut Link, frame: &mut [u8]) -> Result<(), String> {
    let write_err = |e: std::io::Error| format!("{}: {e}", link.path.display());
    loop {
        let got = match link.socket.recv(&mut frame[4..], false) {
            Ok(got) => got,
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(format!("{}: {e}", link.path.display())),
        };
        let (mut kept, mut len) = (got.copied, got.len);
        // A VLAN tag the kernel held apart goes back after the two MAC
        // addresses, the addresses moving 4 bytes down.
        let start = match got.vlan {
            Some((tpid, tci)) if kept >= 12 => {
                frame.copy_within(4..16, 0);
                frame[12..14].copy_from_slice(&tpid.to_be_bytes());
                frame[14..16].copy_from_slice(&tci.to_be_bytes());
                kept += 4;
                len += 4;
                0
            }
            _ => 4,
        };
        let now = sys::clock_gettime(sys::CLOCK_REALTIME).map_err(|e| e.to_string())?;
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&(now.tv_sec as u32).to_le_bytes());
        record[4..8].copy_from_slice(&(now.tv_nsec as u32).to_le_bytes());
        record[8..12].copy_from_slice(&(kept as u32).to_le_bytes());
        record[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        link.out.write_all(&record).map_err(write_err)?;
        link.out
            .write_all(&frame[start..start + kept])
            .map_err(write_err)?;
        link.frames += 1;
    }
}

impl Captures {
    /// Starts capturing every link of `topology` into `dir`, as
    /// `link<N>-<node>-<node>.pcap` (N from 1, in the file's order).
    pub fn start(nodes: &Nodes, topology: &Topology, dir: &Path) -> Result<Captures, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut links = Vec::new();
        for (i, link) in topology.links.iter().enumerate() {
            let [a, b] = &link.ends;
            let path = dir.join(format!("link{}-{}-{}.pcap", i + 1, a.node, b.node));
            let dev = nodes.device(i, 0);
            let socket = nodes
                .namespace(&a.node)
                .run(|| {
                    let socket = PacketSocket::bind(net::ifindex(dev)?)?;
                    socket.set_nonblocking(true)?;
                    Ok(socket)
                })
                .and_then(|r| r)
                .map_err(|e: Errno| format!("capturing {} {dev}: {e}", a.node))?;
            let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut out = BufWriter::new(file);
            out.write_all(&header())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            links.push(Link {
                path,
                socket,
                out,
                frames: 0,
            });
        }
        Ok(Captures {
            links,
            frame: vec![0u8; SNAPLEN + 4],
        })
    }

    /// Ends the captures: each file and its number of frames.
    pub fn finish(self) -> Result<Vec<(PathBuf, u64)>, String> {
        let mut done = Vec::new();
        for mut link in self.links {
            link.out
                .flush()
                .map_err(|e| format!("{}: {e}", link.path.display()))?;
            done.push((link.path, link.frames));
        }
        Ok(done)
    }
}

impl Activity for Captures {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        for link in &self.links {
            fds.push(readable(link.socket.descriptor()));
        }
    }

    fn deadline(&self) -> Option<f64> {
        None
    }

    fn step(&mut self, _now: f64) -> Result<bool, String> {
        for link in &mut self.links {
            drain(link, &mut self.frame)?;
        }
        Ok(false)
    }
}
