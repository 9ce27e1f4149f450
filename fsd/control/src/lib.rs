//! The control device of `lklfsd.sys`: its name, IOCTL codes and the
//! layouts of their buffers (little-endian, packed by hand), shared by the
//! driver and its user-mode clients. Every input is checked by the driver:
//! a short, long or odd buffer gets STATUS_INVALID_PARAMETER or
//! STATUS_BUFFER_TOO_SMALL and changes nothing.
#![no_std]

extern crate alloc;

#[cfg(all(windows, feature = "client"))]
pub mod client;
#[cfg(all(windows, feature = "client"))]
pub mod settings;

/// The service key's value that lists (REG_MULTI_SZ) the UUIDs of the file
/// systems on the machine's own disks that may be written; the others
/// mount read-only.
pub const READ_WRITE_VOLUMES: &str = "ReadWriteVolumes";

use alloc::vec::Vec;

/// `\\.\LklFsd` from user mode.
pub const DEVICE_NAME: &str = "\\Device\\LklFsd";
pub const DOS_NAME: &str = "\\DosDevices\\LklFsd";
/// The image disks: `\Device\LklFsdImage0`, ...
pub const IMAGE_DEVICE_PREFIX: &str = "\\Device\\LklFsdImage";
/// The NT name of image disk `number`.
pub fn image_device_name(number: u32) -> alloc::string::String {
    alloc::format!("{IMAGE_DEVICE_PREFIX}{number}")
}

/// The mounted volumes: `\Device\LklFsdVolume0`, ... (`\\.\LklFsdVolume0`).
pub const VOLUME_DEVICE_PREFIX: &str = "\\Device\\LklFsdVolume";
pub const VOLUME_DOS_PREFIX: &str = "\\DosDevices\\LklFsdVolume";

/// FILE_DEVICE_DISK_FILE_SYSTEM
const DEVICE_TYPE: u32 = 0x0000_0008;
const METHOD_BUFFERED: u32 = 0;
const FILE_READ_ACCESS: u32 = 1;
const FILE_WRITE_ACCESS: u32 = 2;

const fn ctl_code(function: u32, access: u32) -> u32 {
    (DEVICE_TYPE << 16) | (access << 14) | (function << 2) | METHOD_BUFFERED
}

/// In: [`AttachImage`] then the image's NT path (UTF-16, `\??\C:\x.img`).
/// Out: the disk's number (u32).
pub const IOCTL_ATTACH_IMAGE: u32 = ctl_code(0x800, FILE_WRITE_ACCESS);
/// In: a disk number (u32). Dismounts what is mounted on it first.
pub const IOCTL_DETACH_IMAGE: u32 = ctl_code(0x801, FILE_WRITE_ACCESS);
/// Out: [`ImageInfo`] records, one per attached image.
pub const IOCTL_LIST_IMAGES: u32 = ctl_code(0x802, FILE_READ_ACCESS);
/// Out: [`Statistics`], then the last bytes of the kernel's console.
pub const IOCTL_STATISTICS: u32 = ctl_code(0x803, FILE_READ_ACCESS);
/// In: [`MountRequest`]. Mounts a disk (as a Windows MOUNT_VOLUME would,
/// in the disk's own VPB, so that opens of the disk's names reach the
/// volume), makes `\\.\LklFsdVolumeN`, and gives the disk the drive
/// letter asked for. Out: [`Mounted`].
pub const IOCTL_MOUNT: u32 = ctl_code(0x804, FILE_WRITE_ACCESS);
/// In: a disk number (u32): the self-test's IRPs run on that disk's
/// volume (mounted and dismounted by the test). Out: the report (text).
/// Test mode only.
pub const IOCTL_SELF_TEST: u32 = ctl_code(0x810, FILE_WRITE_ACCESS);
/// In: a disk number (u32). The IRP path against the core's functions on
/// that disk's volume; out: the results (text). Test mode only.
pub const IOCTL_BENCH: u32 = ctl_code(0x813, FILE_WRITE_ACCESS);
/// In: an NT path (UTF-16). Treats the device there as one that just
/// arrived (what the driver does on a PnP arrival: attached if it holds a
/// Linux file system, given a letter by the Mount Manager). Out: the
/// disk's number. Test mode only.
pub const IOCTL_TEST_ARRIVAL: u32 = ctl_code(0x814, FILE_WRITE_ACCESS);
/// In: a u32 (1: surprise removal, the device gone before we hear of it;
/// 0: an orderly removal) and an NT path. What the driver does when that
/// device goes. Test mode only.
pub const IOCTL_TEST_DEPARTURE: u32 = ctl_code(0x815, FILE_WRITE_ACCESS);
/// Makes Linux panic (test mode only).
pub const IOCTL_PANIC: u32 = ctl_code(0x812, FILE_WRITE_ACCESS);

/// Flags of [`AttachImage`].
pub const ATTACH_READ_ONLY: u32 = 1;
/// A disk or partition Windows presents, which the driver found holding a
/// Linux file system and attached itself (a device path, shared with the
/// system, instead of an image file of ours alone).
pub const ATTACH_FOUND: u32 = 2;
/// The image is of a disk with 4 KiB logical sectors (a 4Kn disk): its
/// partition table counts in 4 KiB units and every transfer is a multiple
/// of 4 KiB.
pub const ATTACH_SECTORS_4K: u32 = 4;

/// The fixed head of IOCTL_ATTACH_IMAGE's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttachImage {
    pub flags: u32,
}

impl AttachImage {
    pub const SIZE: usize = 4;

    pub fn encode(&self, path: &[u16], out: &mut [u8]) -> usize {
        out[..4].copy_from_slice(&self.flags.to_le_bytes());
        for (i, c) in path.iter().enumerate() {
            out[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
        Self::SIZE + 2 * path.len()
    }

    /// The head and the path's bytes; None for a short or odd buffer.
    pub fn decode(input: &[u8]) -> Option<(AttachImage, &[u8])> {
        let (head, path) = (input.get(..4)?, &input[4..]);
        if path.is_empty() || path.len() % 2 != 0 {
            return None;
        }
        Some((
            AttachImage {
                flags: u32::from_le_bytes(head.try_into().ok()?),
            },
            path,
        ))
    }
}

/// One attached image, as IOCTL_LIST_IMAGES reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub disk: u32,
    pub flags: u32,
    pub size: u64,
    /// The volume mounted on it, or u32::MAX.
    pub volume: u32,
    /// Its drive letter ('A'..='Z' as UTF-16), or 0.
    pub letter: u16,
}

impl ImageInfo {
    pub const SIZE: usize = 24;

    pub fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.disk.to_le_bytes());
        out[4..8].copy_from_slice(&self.flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.size.to_le_bytes());
        out[16..20].copy_from_slice(&self.volume.to_le_bytes());
        out[20..22].copy_from_slice(&self.letter.to_le_bytes());
        out[22..24].fill(0);
    }

    pub fn decode(b: &[u8]) -> Option<ImageInfo> {
        let b = b.get(..Self::SIZE)?;
        Some(ImageInfo {
            disk: u32::from_le_bytes(b[0..4].try_into().ok()?),
            flags: u32::from_le_bytes(b[4..8].try_into().ok()?),
            size: u64::from_le_bytes(b[8..16].try_into().ok()?),
            volume: u32::from_le_bytes(b[16..20].try_into().ok()?),
            letter: u16::from_le_bytes(b[20..22].try_into().ok()?),
        })
    }
}

/// IOCTL_MOUNT's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountRequest {
    pub disk: u32,
    /// 0: the whole disk; N: Linux's partition N.
    pub partition: u32,
    pub flags: u32,
    /// A drive letter to give the disk ('A'..='Z' as UTF-16), or 0.
    pub letter: u32,
}

impl MountRequest {
    pub const SIZE: usize = 16;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[0..4].copy_from_slice(&self.disk.to_le_bytes());
        b[4..8].copy_from_slice(&self.partition.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..16].copy_from_slice(&self.letter.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<MountRequest> {
        if b.len() != Self::SIZE {
            return None;
        }
        let word = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        Some(MountRequest {
            disk: word(0),
            partition: word(4),
            flags: word(8),
            letter: word(12),
        })
    }
}

/// IOCTL_MOUNT's output: the volume's number, and how its letter was made
/// (`LETTER_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mounted {
    pub volume: u32,
    pub letter_by: u32,
}

/// No letter was asked for.
pub const LETTER_NONE: u32 = 0;
/// The Mount Manager made the letter (Windows).
pub const LETTER_BY_MOUNT_MANAGER: u32 = 1;
/// A symbolic link in `\DosDevices` is the letter (where the Mount
/// Manager refused: Wine).
pub const LETTER_BY_LINK: u32 = 2;

impl Mounted {
    pub const SIZE: usize = 8;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[0..4].copy_from_slice(&self.volume.to_le_bytes());
        b[4..8].copy_from_slice(&self.letter_by.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Mounted> {
        let b = b.get(..Self::SIZE)?;
        Some(Mounted {
            volume: u32::from_le_bytes(b[0..4].try_into().ok()?),
            letter_by: u32::from_le_bytes(b[4..8].try_into().ok()?),
        })
    }
}

/// IRP major functions, numbered as Windows numbers them (0..=27).
pub const MAJOR_FUNCTIONS: usize = 28;

/// IOCTL_STATISTICS's fixed part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Requests by IRP major function.
    pub requests: [u64; MAJOR_FUNCTIONS],
    /// Requests completed with an error status.
    pub errors: u64,
    /// Pool held by tag: Linux's memory ("LklM") and the driver's heap
    /// ("LklH"), blocks and bytes.
    pub linux_blocks: u64,
    pub linux_bytes: u64,
    pub heap_blocks: u64,
    pub heap_bytes: u64,
    /// Nanoseconds spent running jobs in Linux.
    pub linux_ns: u64,
    /// Nanoseconds from DriverEntry's boot to the kernel ready (0 before).
    pub boot_ns: u64,
    /// 1 once the kernel has booted, 2 if it died.
    pub kernel_state: u64,
    /// Threads of ours that may still run.
    pub threads: u64,
    /// Images attached, volumes mounted.
    pub images: u64,
    pub volumes: u64,
    /// 1 in the full mode (cache manager, sections, oplocks), 0 in the
    /// non-cached one (the service key's `NonCached`).
    pub cached: u64,
    /// Events logged (journal replays, read-only mounts, lost writes).
    pub events: u64,
    /// The deepest use, in bytes, of the expanded stack Linux runs on
    /// (jobs and Linux threads), measured in test mode (0 otherwise).
    pub stack_deepest: u64,
    /// Requests answered on the dispatch thread, without a worker (what
    /// needs no Linux: see the driver's `dispatch`).
    pub in_place: u64,
}

impl Statistics {
    pub const SIZE: usize = 8 * (MAJOR_FUNCTIONS + 15);

    pub fn encode(&self, out: &mut [u8]) {
        let tail = [
            self.errors,
            self.linux_blocks,
            self.linux_bytes,
            self.heap_blocks,
            self.heap_bytes,
            self.linux_ns,
            self.boot_ns,
            self.kernel_state,
            self.threads,
            self.images,
            self.volumes,
            self.cached,
            self.events,
            self.stack_deepest,
            self.in_place,
        ];
        let words = self.requests.iter().chain(tail.iter());
        for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
    }

    pub fn decode(b: &[u8]) -> Option<Statistics> {
        let b = b.get(..Self::SIZE)?;
        let w = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
        let mut requests = [0; MAJOR_FUNCTIONS];
        for (i, r) in requests.iter_mut().enumerate() {
            *r = w(i);
        }
        let m = MAJOR_FUNCTIONS;
        Some(Statistics {
            requests,
            errors: w(m),
            linux_blocks: w(m + 1),
            linux_bytes: w(m + 2),
            heap_blocks: w(m + 3),
            heap_bytes: w(m + 4),
            linux_ns: w(m + 5),
            boot_ns: w(m + 6),
            kernel_state: w(m + 7),
            threads: w(m + 8),
            images: w(m + 9),
            volumes: w(m + 10),
            cached: w(m + 11),
            events: w(m + 12),
            stack_deepest: w(m + 13),
            in_place: w(m + 14),
        })
    }
}

/// In: [`RelayRequest`] and its name and data; out: [`RelayReply`] and
/// the request's output bytes. A described request becomes a real IRP
/// sent through IoCallDriver to a mounted volume (test mode only): what
/// lets a user-mode program run requests Wine never sends a driver.
pub const IOCTL_RELAY: u32 = ctl_code(0x811, FILE_WRITE_ACCESS);

/// The `volume` of a [`RelayRequest`] for the control device (IRP_MJ_SHUTDOWN).
pub const RELAY_TO_CONTROL: u32 = u32::MAX;

/// What [`IOCTL_RELAY`] asks: the IRP's major and minor function, the
/// volume, the relay handle the request is on (its file object; a CREATE
/// makes a new one), four request-specific words, an offset, and how many
/// output bytes the caller wants. The name (UTF-16) and the input data
/// follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayRequest {
    pub major: u32,
    pub minor: u32,
    pub volume: u32,
    pub handle: u32,
    /// CREATE: disposition, options, access, share. Queries: the class
    /// (a), flags (b). Locks: the length (a, b as low and high words).
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub d: u32,
    pub offset: u64,
    pub output: u32,
}

impl RelayRequest {
    pub const SIZE: usize = 4 * 9 + 8 + 8;

    /// The request, `name` and `data`, as IOCTL_RELAY's input.
    pub fn encode(&self, name: &[u16], data: &[u8]) -> Vec<u8> {
        let mut b = Vec::with_capacity(Self::SIZE + 2 * name.len() + data.len());
        let words = [
            self.major,
            self.minor,
            self.volume,
            self.handle,
            self.a,
            self.b,
            self.c,
            self.d,
        ];
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.extend_from_slice(&self.output.to_le_bytes());
        b.extend_from_slice(&(name.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        for u in name {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    /// The request, its name's bytes and its data; None if the input is
    /// short, long, or its lengths disagree.
    pub fn decode(input: &[u8]) -> Option<(RelayRequest, &[u8], &[u8])> {
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                input.get(4 * i..4 * i + 4)?.try_into().ok()?,
            ))
        };
        let offset = u64::from_le_bytes(input.get(32..40)?.try_into().ok()?);
        let output = word(10)?;
        let name_len = word(11)? as usize;
        let data_len = word(12)? as usize;
        let name_end = Self::SIZE.checked_add(name_len.checked_mul(2)?)?;
        if input.len() != name_end.checked_add(data_len)? {
            return None;
        }
        let req = RelayRequest {
            major: word(0)?,
            minor: word(1)?,
            volume: word(2)?,
            handle: word(3)?,
            a: word(4)?,
            b: word(5)?,
            c: word(6)?,
            d: word(7)?,
            offset,
            output,
        };
        Some((req, &input[Self::SIZE..name_end], &input[name_end..]))
    }
}

/// The head of IOCTL_RELAY's output: the IRP's status and Information,
/// and the relay handle (a CREATE's new one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayReply {
    pub status: u32,
    pub handle: u32,
    pub information: u64,
}

impl RelayReply {
    pub const SIZE: usize = 16;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.status.to_le_bytes());
        b[4..8].copy_from_slice(&self.handle.to_le_bytes());
        b[8..16].copy_from_slice(&self.information.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<RelayReply> {
        Some(RelayReply {
            status: u32::from_le_bytes(b.get(0..4)?.try_into().ok()?),
            handle: u32::from_le_bytes(b.get(4..8)?.try_into().ok()?),
            information: u64::from_le_bytes(b.get(8..16)?.try_into().ok()?),
        })
    }
}

/// Bytes as the relay's text lines carry them: lower-case hex, `-` for
/// none (`lklfsd-ctl relay` and its callers).
pub fn hex(b: &[u8]) -> alloc::string::String {
    use core::fmt::Write;
    if b.is_empty() {
        return alloc::string::String::from("-");
    }
    let mut s = alloc::string::String::with_capacity(2 * b.len());
    for byte in b {
        let _ = write!(s, "{byte:02x}");
    }
    s
}

/// The bytes of [`hex`]'s text; None if it is not such text.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return Some(Vec::new());
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
