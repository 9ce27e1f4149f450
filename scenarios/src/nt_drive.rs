//! The suite on a real drive or directory (Windows): every request a
//! system call of ntdll, as programs reach any drive, on handles opened
//! relative to the directory the suite was given. Handles are
//! asynchronous (as oplocks need), so each call that may pend waits on an
//! event of its own.
use std::ffi::c_void;
use std::ptr::{null, null_mut};

use fsd::fileinfo::{
    FILE_LINK_INFORMATION, FILE_LINK_INFORMATION_EX, FILE_RENAME_INFORMATION,
    FILE_RENAME_INFORMATION_EX,
};
use fsd::{Completion, NtStatus};

use crate::bytes::u32_at;
use crate::drive::Drive;

pub type Handle = *mut c_void;

#[repr(C)]
pub struct IoStatus {
    pub status: isize,
    pub information: usize,
}

#[repr(C)]
pub struct UnicodeString {
    length: u16,
    maximum_length: u16,
    buffer: *const u16,
}

#[repr(C)]
struct ObjectAttributes {
    length: u32,
    root_directory: Handle,
    object_name: *const UnicodeString,
    attributes: u32,
    security_descriptor: *mut c_void,
    security_quality_of_service: *mut c_void,
}

type Apc = *mut c_void;

#[link(name = "ntdll")]
unsafe extern "system" {
    fn NtCreateFile(
        handle: *mut Handle,
        access: u32,
        attributes: *const ObjectAttributes,
        iosb: *mut IoStatus,
        allocation: *const i64,
        file_attributes: u32,
        share: u32,
        disposition: u32,
        options: u32,
        ea: *const c_void,
        ea_length: u32,
    ) -> i32;
    pub(crate) fn NtClose(handle: Handle) -> i32;
    fn NtCreateEvent(
        handle: *mut Handle,
        access: u32,
        attributes: *const ObjectAttributes,
        kind: u32,
        initial: u8,
    ) -> i32;
    fn NtWaitForSingleObject(handle: Handle, alertable: u8, timeout: *const i64) -> i32;
    fn NtReadFile(
        h: Handle,
        event: Handle,
        apc: Apc,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        offset: *const i64,
        key: *const u32,
    ) -> i32;
    fn NtWriteFile(
        h: Handle,
        event: Handle,
        apc: Apc,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        buf: *const c_void,
        len: u32,
        offset: *const i64,
        key: *const u32,
    ) -> i32;
    fn NtQueryInformationFile(
        h: Handle,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        class: u32,
    ) -> i32;
    fn NtSetInformationFile(
        h: Handle,
        iosb: *mut IoStatus,
        buf: *const c_void,
        len: u32,
        class: u32,
    ) -> i32;
    fn NtQueryDirectoryFile(
        h: Handle,
        event: Handle,
        apc: Apc,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        class: u32,
        single: u8,
        pattern: *const UnicodeString,
        restart: u8,
    ) -> i32;
    fn NtQueryVolumeInformationFile(
        h: Handle,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        class: u32,
    ) -> i32;
    pub(crate) fn NtFsControlFile(
        h: Handle,
        event: Handle,
        apc: Apc,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        code: u32,
        input: *const c_void,
        input_len: u32,
        output: *mut c_void,
        output_len: u32,
    ) -> i32;
    fn NtQueryEaFile(
        h: Handle,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        single: u8,
        list: *const c_void,
        list_len: u32,
        index: *const u32,
        restart: u8,
    ) -> i32;
    fn NtFlushBuffersFile(h: Handle, iosb: *mut IoStatus) -> i32;
    fn NtSetEaFile(h: Handle, iosb: *mut IoStatus, buf: *const c_void, len: u32) -> i32;
    fn NtQuerySecurityObject(
        h: Handle,
        which: u32,
        buf: *mut c_void,
        len: u32,
        needed: *mut u32,
    ) -> i32;
    fn RtlGetLastNtStatus() -> i32;
    fn RtlAdjustPrivilege(privilege: u32, enable: u8, thread: u8, was: *mut u8) -> i32;
}

#[repr(C)]
struct Overlapped {
    internal: usize,
    internal_high: usize,
    offset: u32,
    offset_high: u32,
    event: Handle,
}

#[link(name = "kernel32")]
unsafe extern "system" {
    fn LockFileEx(
        h: Handle,
        flags: u32,
        reserved: u32,
        low: u32,
        high: u32,
        overlapped: *mut Overlapped,
    ) -> i32;
    fn UnlockFileEx(
        h: Handle,
        reserved: u32,
        low: u32,
        high: u32,
        overlapped: *mut Overlapped,
    ) -> i32;
    fn GetOverlappedResult(
        h: Handle,
        overlapped: *mut Overlapped,
        bytes: *mut u32,
        wait: i32,
    ) -> i32;
    fn GetFullPathNameW(name: *const u16, len: u32, buf: *mut u16, file_part: *mut *mut u16)
        -> u32;
    fn GetLastError() -> u32;
}

const SYNCHRONIZE: u32 = 0x0010_0000;
const FILE_LIST_DIRECTORY: u32 = 1;
const FILE_TRAVERSE: u32 = 0x20;
const FILE_DIRECTORY_FILE: u32 = 1;
const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x20;
const OBJ_CASE_INSENSITIVE: u32 = 0x40;
const SHARE_ALL: u32 = 7;
const FILE_OPEN: u32 = 1;
const NOTIFICATION_EVENT: u32 = 0;
const EVENT_ALL_ACCESS: u32 = 0x001F_0003;
const STATUS_PENDING: i32 = 0x103;
/// SeCreateSymbolicLinkPrivilege, which NTFS wants for symlinks.
const SE_CREATE_SYMBOLIC_LINK_PRIVILEGE: u32 = 35;
/// FILE_WRITE_TO_END_OF_FILE as a byte offset (LowPart 0xFFFFFFFF,
/// HighPart -1).
const TO_END_OF_FILE: i64 = -1;

/// `s` as UTF-16 without a terminating NUL.
fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// An event for one call's completion, closed on drop.
pub struct Event(pub Handle);

impl Event {
    pub fn new() -> Event {
        let mut h = null_mut();
        // SAFETY: an out-pointer for the handle; no attributes.
        let s = unsafe { NtCreateEvent(&mut h, EVENT_ALL_ACCESS, null(), NOTIFICATION_EVENT, 0) };
        assert_eq!(s, 0, "NtCreateEvent");
        Event(h)
    }

    /// Waits up to `ms` milliseconds; whether it was signalled.
    pub fn wait(&self, ms: Option<u64>) -> bool {
        let timeout = ms.map(|ms| -(ms as i64) * 10_000);
        let t = timeout.as_ref().map_or(null(), |t| t as *const i64);
        // SAFETY: our event handle; a relative timeout or none.
        unsafe { NtWaitForSingleObject(self.0, 0, t) == 0 }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: our handle, closed once.
        unsafe { NtClose(self.0) };
    }
}

/// Runs a call that takes an event and an IO_STATUS_BLOCK, waits if it
/// pends, and returns its completion.
pub(crate) fn io(call: impl FnOnce(Handle, *mut IoStatus) -> i32) -> Completion {
    let event = Event::new();
    let mut iosb = IoStatus {
        status: 0,
        information: 0,
    };
    let status = call(event.0, &mut iosb);
    if status == STATUS_PENDING {
        event.wait(None);
        return completion(iosb.status as i32, &iosb);
    }
    completion(status, &iosb)
}

/// The completion of a call that returned `status` with `iosb`: an error
/// status leaves the IO_STATUS_BLOCK unwritten.
pub fn completion(status: i32, iosb: &IoStatus) -> Completion {
    let status = NtStatus(status as u32);
    let information = if status.is_error() {
        0
    } else {
        iosb.information as u64
    };
    Completion {
        status,
        information,
    }
}

/// A call that completes at once, with an IO_STATUS_BLOCK.
fn sync(call: impl FnOnce(*mut IoStatus) -> i32) -> Completion {
    let mut iosb = IoStatus {
        status: 0,
        information: 0,
    };
    let status = call(&mut iosb);
    completion(status, &iosb)
}

const LOCKFILE_FAIL_IMMEDIATELY: u32 = 1;
const LOCKFILE_EXCLUSIVE_LOCK: u32 = 2;
const ERROR_IO_PENDING: u32 = 997;

/// An OVERLAPPED for `offset`, signalling `event`.
fn overlapped(offset: u64, event: &Event) -> Overlapped {
    Overlapped {
        internal: 0,
        internal_high: 0,
        offset: offset as u32,
        offset_high: (offset >> 32) as u32,
        event: event.0,
    }
}

/// The NTSTATUS of a kernel32 call on `o` that returned `done` (its
/// status is in the OVERLAPPED once complete, else the thread's last).
fn win32_completion(h: &NtHandle, done: i32, o: &mut Overlapped) -> Completion {
    let mut bytes = 0u32;
    // SAFETY: no arguments, or the OVERLAPPED the call was given (waited
    // for).
    let status = unsafe {
        if done != 0 {
            o.internal as i32
        } else if GetLastError() == ERROR_IO_PENDING {
            GetOverlappedResult(h.0, o, &mut bytes, 1);
            o.internal as i32
        } else {
            RtlGetLastNtStatus()
        }
    };
    Completion {
        status: NtStatus(status as u32),
        information: 0,
    }
}

/// An open file or directory of the drive, closed when the suite closes
/// it.
pub struct NtHandle(pub Handle);

/// The suite's root: a directory handle the suite's names are opened
/// relative to.
pub struct NtDrive {
    pub(crate) root: Handle,
}

impl NtDrive {
    /// Opens `dir` (a Win32 path: `E:\`, `E:\tests`) as the suite's root.
    pub fn open(dir: &str) -> Result<NtDrive, String> {
        let wide: Vec<u16> = dir.encode_utf16().chain([0]).collect();
        let mut full = vec![0u16; 32768];
        // SAFETY: a NUL-terminated name and a buffer of the length given.
        let n = unsafe {
            GetFullPathNameW(
                wide.as_ptr(),
                full.len() as u32,
                full.as_mut_ptr(),
                null_mut(),
            )
        } as usize;
        if n == 0 || n >= full.len() {
            return Err(format!("{dir}: not a path"));
        }
        let mut nt = utf16("\\??\\");
        nt.extend_from_slice(&full[..n]);
        let mut was = 0u8;
        // SAFETY: a privilege number and an out-byte; failure (not held)
        // only means NTFS will refuse symlinks, which the suite reports.
        unsafe { RtlAdjustPrivilege(SE_CREATE_SYMBOLIC_LINK_PRIVILEGE, 1, 0, &mut was) };
        let access = FILE_LIST_DIRECTORY | FILE_TRAVERSE | SYNCHRONIZE;
        let options = FILE_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT;
        open_nt(null_mut(), &nt, FILE_OPEN, options, access, SHARE_ALL)
            .map(|(root, _)| NtDrive { root })
            .map_err(|s| format!("{dir}: {s:?}"))
    }
}

impl Drop for NtDrive {
    fn drop(&mut self) {
        // SAFETY: our root handle, closed once.
        unsafe { NtClose(self.root) };
    }
}

/// NtCreateFile of `name` relative to `root` (absolute if `root` is null).
pub(crate) fn open_nt(
    root: Handle,
    name: &[u16],
    disposition: u32,
    options: u32,
    access: u32,
    share: u32,
) -> Result<(Handle, u64), NtStatus> {
    let name_string = UnicodeString {
        length: (name.len() * 2) as u16,
        maximum_length: (name.len() * 2) as u16,
        buffer: name.as_ptr(),
    };
    let attributes = ObjectAttributes {
        length: std::mem::size_of::<ObjectAttributes>() as u32,
        root_directory: root,
        object_name: &name_string,
        attributes: OBJ_CASE_INSENSITIVE,
        security_descriptor: null_mut(),
        security_quality_of_service: null_mut(),
    };
    let mut h = null_mut();
    let mut iosb = IoStatus {
        status: 0,
        information: 0,
    };
    // SAFETY: the attributes and name outlive the call; out-pointers for
    // the handle and status.
    let s = unsafe {
        NtCreateFile(
            &mut h,
            access,
            &attributes,
            &mut iosb,
            null(),
            0,
            share,
            disposition,
            options,
            null(),
            0,
        )
    };
    let status = NtStatus(s as u32);
    if status.is_error() {
        Err(status)
    } else {
        Ok((h, iosb.information as u64))
    }
}

/// A rename or link request with its target made relative to `root`
/// (the suite names targets from its root, RootDirectory 0).
fn rooted(root: Handle, input: &[u8]) -> Vec<u8> {
    if input.len() < 20 {
        return input.to_vec();
    }
    let len = (u32_at(input, 16) as usize).min(input.len() - 20);
    let name = &input[20..20 + len];
    let name = name.strip_prefix(&[b'\\', 0]).unwrap_or(name);
    let mut out = input[..20].to_vec();
    out[8..16].copy_from_slice(&(root as usize as u64).to_le_bytes());
    out[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name);
    out.resize(out.len().max(24), 0);
    out
}

impl Drive for NtDrive {
    type Handle = NtHandle;

    fn create(
        &self,
        name: &str,
        disposition: u32,
        options: u32,
        access: u32,
        share: u32,
    ) -> Result<(NtHandle, u64), NtStatus> {
        let relative = utf16(name.strip_prefix('\\').unwrap_or(name));
        open_nt(
            self.root,
            &relative,
            disposition,
            options,
            access | SYNCHRONIZE,
            share,
        )
        .map(|(h, info)| (NtHandle(h), info))
    }

    fn close(&self, h: NtHandle) {
        // SAFETY: a handle the suite opened, closed once (moved in).
        unsafe { NtClose(h.0) };
    }

    fn read(&self, h: &mut NtHandle, offset: u64, buf: &mut [u8]) -> Completion {
        let offset = offset as i64;
        // SAFETY: a live buffer of the length given; the IO_STATUS_BLOCK
        // and offset outlive the call, which `io` waits for.
        io(|event, iosb| unsafe {
            NtReadFile(
                h.0,
                event,
                null_mut(),
                null_mut(),
                iosb,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                &offset,
                null(),
            )
        })
    }

    fn write(&self, h: &mut NtHandle, offset: Option<u64>, data: &[u8]) -> Completion {
        let offset = offset.map_or(TO_END_OF_FILE, |o| o as i64);
        // SAFETY: as for read.
        io(|event, iosb| unsafe {
            NtWriteFile(
                h.0,
                event,
                null_mut(),
                null_mut(),
                iosb,
                data.as_ptr().cast(),
                data.len() as u32,
                &offset,
                null(),
            )
        })
    }

    fn flush(&self, h: &mut NtHandle) -> Completion {
        // SAFETY: an open handle and an IO_STATUS_BLOCK.
        sync(|iosb| unsafe { NtFlushBuffersFile(h.0, iosb) })
    }

    fn query_information(&self, h: &NtHandle, class: u32, buf: &mut [u8]) -> Completion {
        // SAFETY: a live buffer of the length given.
        sync(|iosb| unsafe {
            NtQueryInformationFile(h.0, iosb, buf.as_mut_ptr().cast(), buf.len() as u32, class)
        })
    }

    fn set_information(&self, h: &mut NtHandle, class: u32, input: &[u8]) -> Completion {
        let input = match class {
            FILE_RENAME_INFORMATION
            | FILE_RENAME_INFORMATION_EX
            | FILE_LINK_INFORMATION
            | FILE_LINK_INFORMATION_EX => rooted(self.root, input),
            _ => input.to_vec(),
        };
        // SAFETY: a live buffer of the length given.
        sync(|iosb| unsafe {
            NtSetInformationFile(h.0, iosb, input.as_ptr().cast(), input.len() as u32, class)
        })
    }

    fn query_directory(
        &self,
        h: &mut NtHandle,
        class: u32,
        pattern: Option<&str>,
        restart: bool,
        buf: &mut [u8],
    ) -> Completion {
        let pattern = pattern.map(utf16);
        let string = pattern.as_ref().map(|p| UnicodeString {
            length: (p.len() * 2) as u16,
            maximum_length: (p.len() * 2) as u16,
            buffer: p.as_ptr(),
        });
        let string = string
            .as_ref()
            .map_or(null(), |s| s as *const UnicodeString);
        let mut iosb = IoStatus {
            status: 0,
            information: 0,
        };
        // SAFETY: a live buffer of the length given; the pattern and the
        // IO_STATUS_BLOCK outlive the call, which is waited for (on the
        // handle: Wine takes no event here) if it pends.
        let s = unsafe {
            let s = NtQueryDirectoryFile(
                h.0,
                null_mut(),
                null_mut(),
                null_mut(),
                &mut iosb,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                class,
                0,
                string,
                restart as u8,
            );
            if s == STATUS_PENDING {
                NtWaitForSingleObject(h.0, 0, null());
                iosb.status as i32
            } else {
                s
            }
        };
        completion(s, &iosb)
    }

    fn query_volume_information(&self, class: u32, buf: &mut [u8]) -> Completion {
        // SAFETY: a live buffer of the length given.
        sync(|iosb| unsafe {
            NtQueryVolumeInformationFile(
                self.root,
                iosb,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                class,
            )
        })
    }

    fn fsctl(&self, h: &mut NtHandle, code: u32, input: &[u8], output: &mut [u8]) -> Completion {
        let out_ptr = if output.is_empty() {
            null_mut()
        } else {
            output.as_mut_ptr().cast()
        };
        let in_ptr = if input.is_empty() {
            null()
        } else {
            input.as_ptr().cast()
        };
        // SAFETY: live buffers of the lengths given (or none).
        io(|event, iosb| unsafe {
            NtFsControlFile(
                h.0,
                event,
                null_mut(),
                null_mut(),
                iosb,
                code,
                in_ptr,
                input.len() as u32,
                out_ptr,
                output.len() as u32,
            )
        })
    }

    fn lock(&self, h: &NtHandle, offset: u64, length: u64, exclusive: bool) -> Completion {
        let flags = LOCKFILE_FAIL_IMMEDIATELY
            | if exclusive {
                LOCKFILE_EXCLUSIVE_LOCK
            } else {
                0
            };
        let event = Event::new();
        let mut o = overlapped(offset, &event);
        // SAFETY: the OVERLAPPED and its event outlive the call, which is
        // waited for if it pends.
        let done =
            unsafe { LockFileEx(h.0, flags, 0, length as u32, (length >> 32) as u32, &mut o) };
        win32_completion(h, done, &mut o)
    }

    fn unlock(&self, h: &NtHandle, offset: u64, length: u64) -> Completion {
        let event = Event::new();
        let mut o = overlapped(offset, &event);
        // SAFETY: as for lock.
        let done = unsafe { UnlockFileEx(h.0, 0, length as u32, (length >> 32) as u32, &mut o) };
        win32_completion(h, done, &mut o)
    }

    fn query_ea(&self, h: &mut NtHandle, buf: &mut [u8]) -> Completion {
        // SAFETY: a live buffer of the length given.
        sync(|iosb| unsafe {
            NtQueryEaFile(
                h.0,
                iosb,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                0,
                null(),
                0,
                null(),
                1,
            )
        })
    }

    fn set_ea(&self, h: &NtHandle, input: &[u8]) -> Completion {
        // SAFETY: a live buffer of the length given.
        sync(|iosb| unsafe { NtSetEaFile(h.0, iosb, input.as_ptr().cast(), input.len() as u32) })
    }

    fn query_security(&self, h: &NtHandle, which: u32, buf: &mut [u8]) -> Completion {
        let mut needed = 0u32;
        // SAFETY: a live buffer of the length given; an out-length.
        let s = unsafe {
            NtQuerySecurityObject(
                h.0,
                which,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                &mut needed,
            )
        };
        let status = NtStatus(s as u32);
        Completion {
            status,
            information: if status.is_error() {
                0
            } else {
                u64::from(needed)
            },
        }
    }
}
