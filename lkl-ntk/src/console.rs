//! The kernel's console: each piece goes to DbgPrintEx and into a ring of
//! the last 16 KiB, which the driver can hand out (statistics IOCTL).
use spin::Mutex;

use crate::nt;

const RING: usize = 16 << 10;

struct Ring {
    bytes: [u8; RING],
    /// Bytes written in all; the ring holds the last RING of them.
    written: usize,
}

static LOG: Mutex<Ring> = Mutex::new(Ring {
    bytes: [0; RING],
    written: 0,
});

pub fn print(text: &[u8]) {
    {
        let mut ring = LOG.lock();
        for &b in text {
            let at = ring.written % RING;
            ring.bytes[at] = b;
            ring.written += 1;
        }
    }
    // DbgPrint takes at most 512 bytes a call.
    for piece in text.chunks(400) {
        // SAFETY: "%.*s" reads exactly piece.len() bytes of piece.
        unsafe {
            nt::DbgPrintEx(
                nt::DPFLTR_IHVDRIVER_ID as u32,
                nt::DPFLTR_INFO_LEVEL,
                c"%.*s".as_ptr(),
                piece.len() as i32,
                piece.as_ptr(),
            )
        };
    }
}

/// The last bytes of the console, oldest first, into `out`; their count.
pub fn tail(out: &mut [u8]) -> usize {
    let ring = LOG.lock();
    let held = ring.written.min(RING);
    let n = held.min(out.len());
    let start = ring.written - n;
    for (i, o) in out[..n].iter_mut().enumerate() {
        *o = ring.bytes[(start + i) % RING];
    }
    n
}
