//! The user-mode side (Windows, `client` feature): the control device and
//! volumes opened through kernel32, IOCTLs sent through ntdll (so every
//! answer is the driver's exact NTSTATUS), and the image operations as
//! calls: attach, mount, detach, list.
extern crate std;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;

use crate::{AttachImage, ImageInfo, MountRequest, Mounted};

type Handle = *mut c_void;

#[repr(C)]
struct IoStatus {
    status: isize,
    information: usize,
}

#[link(name = "kernel32")]
unsafe extern "system" {
    fn CreateFileW(
        name: *const u16,
        access: u32,
        share: u32,
        sa: *mut c_void,
        disposition: u32,
        flags: u32,
        template: Handle,
    ) -> Handle;
    fn CloseHandle(h: Handle) -> i32;
    fn GetFullPathNameW(name: *const u16, len: u32, buf: *mut u16, file_part: *mut *mut u16)
        -> u32;
    fn GetLastError() -> u32;
}

#[link(name = "ntdll")]
unsafe extern "system" {
    fn NtDeviceIoControlFile(
        h: Handle,
        event: Handle,
        apc: *mut c_void,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        code: u32,
        input: *const c_void,
        in_len: u32,
        output: *mut c_void,
        out_len: u32,
    ) -> i32;
}

/// What an answer of the wrong size is taken for:
/// STATUS_INVALID_DEVICE_STATE.
const WRONG_SIZE: i32 = 0xC000_0184_u32 as i32;
const GENERIC_READ_WRITE: u32 = 0x8000_0000 | 0x4000_0000;
const SHARE_ALL: u32 = 7;
const OPEN_EXISTING: u32 = 3;
const INVALID: Handle = usize::MAX as Handle;

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A host path as the NT path the driver opens (`\??\C:\dir\x.img`).
fn nt_path(path: &str) -> Vec<u16> {
    let name = wide(path);
    let mut buf = vec![0u16; 4096];
    // SAFETY: a NUL-terminated name and a buffer of the size given.
    let n = unsafe {
        GetFullPathNameW(
            name.as_ptr(),
            buf.len() as u32,
            buf.as_mut_ptr(),
            null_mut(),
        )
    } as usize;
    let mut out: Vec<u16> = "\\??\\".encode_utf16().collect();
    out.extend_from_slice(&buf[..n.min(buf.len())]);
    out
}

/// An IOCTL on an open handle: its status and output (at most `out_len`
/// bytes).
fn ioctl(h: *mut c_void, code: u32, input: &[u8], out_len: usize) -> (i32, Vec<u8>) {
    let mut out = vec![0u8; out_len];
    let mut iosb = IoStatus {
        status: 0,
        information: 0,
    };
    // SAFETY: live buffers of the lengths given.
    let s = unsafe {
        NtDeviceIoControlFile(
            h,
            null_mut(),
            null_mut(),
            null_mut(),
            &mut iosb,
            code,
            input.as_ptr().cast(),
            input.len() as u32,
            out.as_mut_ptr().cast(),
            out_len as u32,
        )
    };
    out.truncate(iosb.information.min(out_len));
    (s, out)
}

/// The control device from user mode.
pub const CONTROL_PATH: &str = "\\\\.\\LklFsd";

/// An open device (the control device, a volume), closed on drop.
pub struct Device(Handle);

impl Device {
    /// Opens `path` (`\\.\LklFsd`, `\\.\LklFsdVolume0`) for reading and
    /// writing; the Win32 error otherwise.
    pub fn open(path: &str) -> Result<Device, u32> {
        let name = wide(path);
        // SAFETY: a NUL-terminated name; a synchronous handle.
        let h = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ_WRITE,
                SHARE_ALL,
                null_mut(),
                OPEN_EXISTING,
                0,
                null_mut(),
            )
        };
        if h == INVALID {
            // SAFETY: no arguments.
            Err(unsafe { GetLastError() })
        } else {
            Ok(Device(h))
        }
    }

    /// The control device.
    pub fn control() -> Result<Device, u32> {
        Device::open(CONTROL_PATH)
    }

    pub fn handle(&self) -> *mut c_void {
        self.0
    }

    /// An IOCTL: its status and output (at most `out_len` bytes).
    pub fn ioctl(&self, code: u32, input: &[u8], out_len: usize) -> (i32, Vec<u8>) {
        ioctl(self.0, code, input, out_len)
    }

    /// An IOCTL whose output is one u32; the status where it failed.
    fn ioctl_u32(&self, code: u32, input: &[u8]) -> Result<u32, i32> {
        match self.ioctl(code, input, 4) {
            (0, out) if out.len() == 4 => Ok(u32::from_le_bytes([out[0], out[1], out[2], out[3]])),
            (0, _) => Err(WRONG_SIZE),
            (s, _) => Err(s),
        }
    }

    /// Attaches the image file `path` as a disk: its number.
    pub fn attach(&self, path: &str, read_only: bool) -> Result<u32, i32> {
        let flags = if read_only {
            crate::ATTACH_READ_ONLY
        } else {
            0
        };
        self.attach_with(path, flags)
    }

    /// Attaches image `path` with ATTACH_* `flags`: the disk's number.
    pub fn attach_with(&self, path: &str, flags: u32) -> Result<u32, i32> {
        let path = nt_path(path);
        let mut input = vec![0u8; AttachImage::SIZE + 2 * path.len()];
        AttachImage { flags }.encode(&path, &mut input);
        self.ioctl_u32(crate::IOCTL_ATTACH_IMAGE, &input)
    }

    /// Mounts the file system of `disk` (or of its `partition`, 0 for the
    /// whole disk) and gives the disk drive letter `letter` (if any): the
    /// volume's number (`\\.\LklFsdVolumeN`) and how the letter was made.
    pub fn mount(
        &self,
        disk: u32,
        partition: u32,
        read_only: bool,
        letter: Option<char>,
    ) -> Result<Mounted, i32> {
        let req = MountRequest {
            disk,
            partition,
            flags: if read_only {
                crate::ATTACH_READ_ONLY
            } else {
                0
            },
            letter: letter.map_or(0, |l| l.to_ascii_uppercase() as u32),
        };
        match self.ioctl(crate::IOCTL_MOUNT, &req.encode(), Mounted::SIZE) {
            (0, out) => Mounted::decode(&out).ok_or(WRONG_SIZE),
            (s, _) => Err(s),
        }
    }

    /// Dismounts what is mounted on `disk` and detaches it.
    pub fn detach(&self, disk: u32) -> Result<(), i32> {
        match self.ioctl(crate::IOCTL_DETACH_IMAGE, &disk.to_le_bytes(), 0) {
            (0, _) => Ok(()),
            (s, _) => Err(s),
        }
    }

    /// The attached images.
    pub fn list(&self) -> Result<Vec<ImageInfo>, i32> {
        match self.ioctl(crate::IOCTL_LIST_IMAGES, &[], 64 * ImageInfo::SIZE) {
            (0, out) => Ok(out
                .chunks_exact(ImageInfo::SIZE)
                .filter_map(ImageInfo::decode)
                .collect()),
            (s, _) => Err(s),
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: our handle, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// A status as the user reads it (`0xC0000034`).
pub fn status_text(status: i32) -> String {
    alloc::format!("{:#010x}", status as u32)
}
