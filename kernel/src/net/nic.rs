//! The native NIC stub: a host backend that carries Ethernet frames is
//! shown to Linux as `ethN`. Frames Linux sends reach
//! [`NicBackend::transmit`] on the kernel's thread; frames the backend
//! receives go to Linux through a [`NicReceiver`], each as an IRQ
//! carrying it (copied once into the kernel's skb, then freed).
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::{ffi, Errno};

/// Frames handed to the kernel and not yet copied, per NIC, above which
/// [`NicReceiver::receive`] refuses more (`EAGAIN`): the NIC's ring.
pub const RX_IN_FLIGHT_MAX: usize = 1024;

/// The offload header in front of every frame, both ways, of a backend
/// whose [`NicBackend::offload_max`] is not 0: Linux's `struct
/// virtio_net_hdr` (little-endian), as a TAP device with IFF_VNET_HDR
/// reads and writes it.
pub const OFFLOAD_HEADER_LEN: usize = 10;

/// What carries a NIC's frames outside the kernel.
pub trait NicBackend: Send + Sync + 'static {
    /// Sends one Ethernet frame (no FCS), given in pieces: with offloads,
    /// the first piece is the offload header. Runs on the kernel's
    /// thread: must not block for long. An error counts the frame
    /// dropped.
    fn transmit(&self, frame: &[&[u8]]) -> Result<(), Errno>;
    /// The largest payload the backend carries (the NIC's MTU).
    fn mtu(&self) -> u32 {
        1500
    }
    /// 0: plain frames. Otherwise frames both ways carry the offload
    /// header ([`OFFLOAD_HEADER_LEN`]), checksums and TCP segmentation
    /// are left to whoever receives them, and a frame after its header
    /// may be this long.
    fn offload_max(&self) -> u32 {
        0
    }
}

struct Slot {
    c: ffi::Nic,
    backend: Arc<dyn NicBackend>,
}

unsafe extern "C" fn xmit(handle: *mut c_void, segs: *const ffi::NicSegment, nsegs: u32) -> c_int {
    let n = (nsegs as usize).min(ffi::NIC_SEGMENTS_MAX);
    let mut pieces: [&[u8]; ffi::NIC_SEGMENTS_MAX] = [&[]; ffi::NIC_SEGMENTS_MAX];
    // SAFETY: handle is the Slot registered with this NIC, alive until the
    // NIC is removed; the kernel passes nsegs segments (at most
    // NIC_SEGMENTS_MAX), each readable for its length during this call.
    let slot = unsafe {
        for (i, piece) in pieces.iter_mut().enumerate().take(n) {
            let seg = &*segs.add(i);
            *piece = core::slice::from_raw_parts(seg.buf.cast::<u8>(), seg.len as usize);
        }
        &*handle.cast::<Slot>()
    };
    match slot.backend.transmit(&pieces[..n]) {
        Ok(()) => 0,
        Err(e) => -e.0,
    }
}

/// A received frame lent to the kernel: the C frame first, so that the
/// kernel's pointer to it is a pointer to the whole.
#[repr(C)]
struct RxFrame {
    c: ffi::NicFrame,
    data: Vec<u8>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    refused: AtomicU64,
}

unsafe extern "C" fn frame_done(frame: *mut ffi::NicFrame) {
    // SAFETY: every frame the kernel gives back is an RxFrame that
    // NicReceiver::receive leaked, given back once.
    let frame = unsafe { Box::from_raw(frame.cast::<RxFrame>()) };
    frame.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
}

/// A NIC shown to the kernel; dropping it removes the NIC.
pub struct AddedNic {
    id: i32,
    slot: Option<Box<Slot>>,
    counters: Arc<Counters>,
}

// SAFETY: the slot's raw handle points at the slot itself and its backend
// is Send + Sync; nothing in it is tied to the thread that added it.
unsafe impl Send for AddedNic {}
// SAFETY: shared access only reads the id and the counters.
unsafe impl Sync for AddedNic {}

/// Shows `backend` to the kernel as an Ethernet device, down until
/// configured (see [`crate::net::config`]). `mac` all zero: a random one.
pub fn add_nic(backend: Arc<dyn NicBackend>, mac: [u8; 6]) -> Result<AddedNic, Errno> {
    let mut slot = Box::new(Slot {
        c: ffi::Nic {
            handle: core::ptr::null_mut(),
            mac,
            mtu: backend.mtu(),
            offload_max: backend.offload_max(),
            xmit,
        },
        backend,
    });
    slot.c.handle = (&*slot as *const Slot).cast_mut().cast();
    // SAFETY: the struct and its handle stay alive (boxed, owned by the
    // AddedNic) until lkl_nic_remove has returned.
    let id = unsafe { ffi::lkl_nic_add(&slot.c) };
    let id = Errno::from_ret(id as i64)? as i32;
    Ok(AddedNic {
        id,
        slot: Some(slot),
        counters: Arc::default(),
    })
}

impl AddedNic {
    /// The NIC's interface index in the kernel.
    pub fn ifindex(&self) -> Result<u32, Errno> {
        // SAFETY: any id is checked.
        Errno::from_ret(unsafe { ffi::lkl_nic_ifindex(self.id) } as i64).map(|i| i as u32)
    }

    /// What the backend's receiving side hands frames to.
    pub fn receiver(&self) -> NicReceiver {
        NicReceiver {
            id: self.id,
            counters: self.counters.clone(),
        }
    }

    /// Frames [`NicReceiver::receive`] refused (the ring full, or the
    /// kernel gone).
    pub fn refused(&self) -> u64 {
        self.counters.refused.load(Ordering::Relaxed)
    }

    /// Removes the NIC: its sockets see the network go away; frames still
    /// queued are dropped.
    pub fn remove(mut self) -> Result<(), Errno> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<(), Errno> {
        let Some(slot) = self.slot.take() else {
            return Ok(());
        };
        // SAFETY: id is a NIC this value added.
        let ret = unsafe { ffi::lkl_nic_remove(self.id) };
        ffi::release_after_removal(slot, ret)
    }
}

impl Drop for AddedNic {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}

/// Hands received frames to one NIC, from any thread.
#[derive(Clone)]
pub struct NicReceiver {
    id: i32,
    counters: Arc<Counters>,
}

impl NicReceiver {
    /// Gives the kernel a copy of `frame` (an Ethernet frame, no FCS).
    /// `EAGAIN` when [`RX_IN_FLIGHT_MAX`] frames are still waiting (retry
    /// or drop it, as a NIC with a full ring would); `ENODEV` once the
    /// kernel has halted. Frames the kernel finds malformed are counted
    /// in the device's statistics, never passed on.
    pub fn receive(&self, frame: &[u8]) -> Result<(), Errno> {
        if self.counters.in_flight.fetch_add(1, Ordering::AcqRel) >= RX_IN_FLIGHT_MAX {
            self.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Errno::EAGAIN);
        }
        let mut data = frame.to_vec();
        let rx = Box::new(RxFrame {
            c: ffi::NicFrame {
                event: ffi::IrqEvent {
                    next: core::ptr::null_mut(),
                    irq: 0,
                    data: core::ptr::null_mut(),
                },
                next: core::ptr::null_mut(),
                nic: self.id,
                len: data.len() as u32,
                data: data.as_mut_ptr().cast(),
                done: frame_done,
            },
            data,
            counters: self.counters.clone(),
        });
        let raw = Box::into_raw(rx);
        // SAFETY: raw is a complete frame, the kernel's until it calls
        // frame_done; the Vec's buffer does not move with the box.
        let ret = unsafe { ffi::lkl_nic_rx(raw.cast()) };
        if let Err(e) = Errno::from_ret(ret as i64) {
            // SAFETY: the kernel refused the frame: it is still ours.
            drop(unsafe { Box::from_raw(raw) });
            self.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    /// As [`NicReceiver::receive`], waiting up to 50 ms while the ring
    /// is full: true if the kernel took the frame, false if it was
    /// dropped after the wait; `ENODEV` once the kernel has halted.
    #[cfg(feature = "std")]
    pub fn receive_waiting(&self, frame: &[u8]) -> Result<bool, Errno> {
        for _ in 0..1000 {
            match self.receive(frame) {
                Ok(()) => return Ok(true),
                Err(Errno::EAGAIN) => std::thread::sleep(core::time::Duration::from_micros(50)),
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }
}
