//! Packet captures: every frame a link carries, as its first end sends and
//! receives it, written to one pcap file per link (libpcap's format with
//! nanosecond times, Ethernet frames), for tcpdump and Wireshark. Times
//! are the kernel's wall clock, virtual in virtual time.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lkl::net::{self, PacketSocket};
use lkl::virtual_time::{self, Joiner};
use lkl::{sys, Errno};

use super::clock;
use super::nodes::Nodes;
use super::topology::Topology;

/// pcap's magic for nanosecond times, version 2.4, LINKTYPE_ETHERNET.
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
/// Bytes kept of each frame: all of any frame the links carry.
const SNAPLEN: usize = 65_535;
/// Seconds the captures go on after the last experiment, for the last
/// packets of its connections.
const LINGER: f64 = 1.0;
/// How often a capture looks whether it should stop.
const POLL: Duration = Duration::from_millis(100);

/// The captures running, one per link.
pub struct Captures {
    stop: Arc<AtomicBool>,
    running: Vec<(PathBuf, Joiner<Result<u64, String>>)>,
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

/// Writes frames from `socket` to `out` until `stop`: how many.
fn capture(
    socket: PacketSocket,
    mut out: BufWriter<File>,
    stop: &AtomicBool,
) -> Result<u64, String> {
    let mut frame = vec![0u8; SNAPLEN + 4];
    let mut frames = 0u64;
    let write_err = |e: std::io::Error| e.to_string();
    out.write_all(&header()).map_err(write_err)?;
    loop {
        // Once told to stop, what is queued still goes in.
        let stopping = stop.load(Ordering::SeqCst);
        let (mut kept, mut len, vlan) = match socket.recv(&mut frame[4..], !stopping) {
            Ok(got) => (got.copied, got.len, got.vlan),
            Err(Errno::EAGAIN) if stopping => break,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.to_string()),
        };
        // The frame is at 4..; a VLAN tag the kernel held apart goes back
        // after the two MAC addresses, the addresses moving 4 bytes down.
        let start = match vlan {
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
        out.write_all(&record).map_err(write_err)?;
        out.write_all(&frame[start..start + kept])
            .map_err(write_err)?;
        frames += 1;
    }
    out.flush().map_err(write_err)?;
    Ok(frames)
}

impl Captures {
    /// Starts capturing every link of `topology` into `dir`, as
    /// `link<N>-<node>-<node>.pcap` (N from 1, in the file's order).
    pub fn start(nodes: &Nodes, topology: &Topology, dir: &Path) -> Result<Captures, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut running = Vec::new();
        for (i, link) in topology.links.iter().enumerate() {
            let [a, b] = &link.ends;
            let path = dir.join(format!("link{}-{}-{}.pcap", i + 1, a.node, b.node));
            let dev = nodes.device(i, 0);
            let socket = nodes
                .namespace(&a.node)
                .run(|| {
                    let socket = PacketSocket::bind(net::ifindex(dev)?)?;
                    socket.set_read_timeout(Some(POLL))?;
                    Ok(socket)
                })
                .and_then(|r| r)
                .map_err(|e: Errno| format!("capturing {} {dev}: {e}", a.node))?;
            let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let stop = stop.clone();
            let out = BufWriter::new(file);
            running.push((
                path,
                virtual_time::spawn(move || capture(socket, out, &stop)),
            ));
        }
        Ok(Captures { stop, running })
    }

    /// Stops the captures, [`LINGER`] from now: each file and its number
    /// of frames.
    pub fn finish(self) -> Result<Vec<(PathBuf, u64)>, String> {
        clock::sleep(LINGER).map_err(|e| format!("capturing: {e}"))?;
        self.stop.store(true, Ordering::SeqCst);
        let mut done = Vec::new();
        for (path, capture) in self.running {
            let frames = capture
                .join()
                .map_err(|_| format!("{}: the capture panicked", path.display()))?
                .map_err(|e| format!("{}: {e}", path.display()))?;
            done.push((path, frames));
        }
        Ok(done)
    }
}
