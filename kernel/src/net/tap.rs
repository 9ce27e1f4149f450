//! A NIC backend on a TAP device of the host's Linux (needs
//! CAP_NET_ADMIN, or a TAP device made for the user with `ip tuntap add
//! ... user NAME`): frames go to and come from the host kernel's stack,
//! which sees the TAP as an Ethernet interface. Offloads on: frames
//! carry the virtio-net header (IFF_VNET_HDR), checksums are left to the
//! host, TCP goes in 64 KiB segments both ways (TUNSETOFFLOAD).
use std::ffi::CString;
use std::format;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

use super::{NicBackend, NicReceiver, OFFLOAD_HEADER_LEN};
use crate::Errno;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_TSO6: libc::c_uint = 0x04;
const TUN_F_TSO_ECN: libc::c_uint = 0x08;
/// The largest frame, after its header, either way: a 64 KiB IP packet
/// behind its Ethernet header.
const FRAME_MAX: usize = 65_535 + 14;
/// How often the receiving thread looks whether the link was stopped.
const POLL_MS: libc::c_int = 100;

#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    pad: [u8; 22],
}

pub struct TapLink {
    fd: OwnedFd,
    mtu: u32,
    stopped: AtomicBool,
    send_errors: AtomicU64,
}

impl TapLink {
    /// Attaches to TAP device `name` (made if it does not exist and the
    /// process may), carrying payloads of up to `mtu` bytes.
    pub fn open(name: &str, mtu: u32) -> io::Result<Arc<TapLink>> {
        if name.is_empty() || name.len() > 15 || name.contains(['/', '\0', ' ']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?}: not an interface name"),
            ));
        }
        let path = CString::new("/dev/net/tun").unwrap();
        // SAFETY: a NUL-terminated path; the descriptor is owned below.
        let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a descriptor just opened and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReq {
            name: [0; 16],
            flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
            pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: TUNSETIFF reads and writes one struct ifreq, which req is.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        // SAFETY: TUNSETOFFLOAD takes its flags as the argument itself.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD, offloads) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Arc::new(TapLink {
            fd,
            mtu,
            stopped: AtomicBool::new(false),
            send_errors: AtomicU64::new(0),
        }))
    }

    /// Starts the thread that hands the host's frames to the NIC; it ends
    /// at [`TapLink::stop`] or when the kernel halts.
    pub fn start(
        self: &Arc<Self>,
        receiver: NicReceiver,
    ) -> io::Result<std::thread::JoinHandle<()>> {
        let link = self.clone();
        std::thread::Builder::new()
            .name("lkl-tap".into())
            .spawn(move || link.receive_loop(receiver))
    }

    fn receive_loop(&self, receiver: NicReceiver) {
        let mut buf = vec![0u8; OFFLOAD_HEADER_LEN + FRAME_MAX];
        while !self.stopped.load(Ordering::Acquire) {
            let mut poll = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, ours.
            if unsafe { libc::poll(&mut poll, 1, POLL_MS) } <= 0 {
                continue;
            }
            // SAFETY: buf is writable for its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            // A frame the kernel's full ring could not take in time is
            // dropped, as a NIC would.
            if receiver.receive_waiting(&buf[..n as usize]).is_err() {
                return;
            }
        }
    }

    /// Ends the receiving thread (within 100 ms).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Frames the host refused to take.
    pub fn send_errors(&self) -> u64 {
        self.send_errors.load(Ordering::Relaxed)
    }
}

impl NicBackend for TapLink {
    fn transmit(&self, frame: &[&[u8]]) -> Result<(), Errno> {
        let iov: Vec<libc::iovec> = frame
            .iter()
            .map(|p| libc::iovec {
                iov_base: p.as_ptr().cast_mut().cast(),
                iov_len: p.len(),
            })
            .collect();
        let len: usize = frame.iter().map(|p| p.len()).sum();
        // SAFETY: each iovec points into a piece readable for its length;
        // a TAP write takes one whole frame (the header first).
        let n =
            unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), iov.len() as libc::c_int) };
        if n == len as isize {
            Ok(())
        } else {
            self.send_errors.fetch_add(1, Ordering::Relaxed);
            Err(Errno::ENOBUFS)
        }
    }

    fn mtu(&self) -> u32 {
        self.mtu
    }

    fn offload_max(&self) -> u32 {
        FRAME_MAX as u32
    }
}
