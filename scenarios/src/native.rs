//! Scenarios only a real Windows drive can run (through `NtDrive`): a file
//! mapped into memory and written through its view, change notification,
//! and an oplock that another open breaks. The fsd core in-process has no
//! memory manager, I/O manager or oplock package to do them with.
use std::ffi::c_void;
use std::ptr::{null, null_mut};

use fsd::access::*;
use fsd::create::*;
use fsd::NtStatus;

use crate::bytes::{name_at, ok, u32_at};
use crate::files::{contents, make_file, open, open_dir, size, SHARE_ALL};
use crate::nt_drive::{completion, io, Event, Handle, IoStatus, NtClose, NtDrive, NtFsControlFile};
use crate::runner::{run_list, Scenario};
use crate::sizes::FILE_NO_INTERMEDIATE_BUFFERING;
use crate::{Dir, Drive, Outcome, Report, Settings, Skip};

#[link(name = "kernel32")]
unsafe extern "system" {
    fn CreateFileMappingW(
        file: Handle,
        attributes: *mut c_void,
        protect: u32,
        size_high: u32,
        size_low: u32,
        name: *const u16,
    ) -> Handle;
    fn MapViewOfFile(map: Handle, access: u32, high: u32, low: u32, bytes: usize) -> *mut u8;
    fn FlushViewOfFile(base: *const u8, bytes: usize) -> i32;
    fn UnmapViewOfFile(base: *const u8) -> i32;
    fn GetLastError() -> u32;
}

#[link(name = "ntdll")]
unsafe extern "system" {
    fn NtNotifyChangeDirectoryFile(
        h: Handle,
        event: Handle,
        apc: *mut c_void,
        ctx: *mut c_void,
        iosb: *mut IoStatus,
        buf: *mut c_void,
        len: u32,
        filter: u32,
        watch_tree: u8,
    ) -> i32;
}

const PAGE_READWRITE: u32 = 4;
const PAGE_READONLY: u32 = 2;
const FILE_MAP_WRITE: u32 = 2;
const FILE_MAP_READ: u32 = 4;
const FILE_NOTIFY_CHANGE_FILE_NAME: u32 = 1;
const FILE_ACTION_ADDED: u32 = 1;
const FILE_ACTION_REMOVED: u32 = 2;
const FILE_ACTION_RENAMED_OLD_NAME: u32 = 4;
const FILE_ACTION_RENAMED_NEW_NAME: u32 = 5;
const FSCTL_REQUEST_BATCH_OPLOCK: u32 = 0x0009_0008;
const FSCTL_OPLOCK_BREAK_ACKNOWLEDGE: u32 = 0x0009_000C;
const FILE_COMPLETE_IF_OPLOCKED: u32 = 0x0000_0100;
const STATUS_PENDING: i32 = 0x103;
const FILE_OPLOCK_BROKEN_TO_LEVEL_2: u64 = 7;
const FILE_OPLOCK_BROKEN_TO_NONE: u64 = 8;
/// How long a notification or an oplock break may take to arrive.
const WAIT_MS: u64 = 10_000;

/// The Windows-only scenarios, in order.
pub fn scenarios() -> Vec<(&'static str, Scenario<NtDrive>)> {
    vec![
        ("memory_mapped", memory_mapped),
        ("change_notification", change_notification),
        ("oplocks", oplocks),
    ]
}

pub fn run(d: &NtDrive, settings: &Settings) -> Report {
    run_list(d, &scenarios(), settings)
}

/// A section mapped over an open file; unmapped and closed on drop.
struct View {
    map: Handle,
    base: *mut u8,
    len: usize,
}

impl View {
    /// Maps `len` bytes of the file open as `file` (the file grows to
    /// `len` if it is shorter and the view is writable).
    fn new(file: Handle, len: usize, writable: bool) -> Result<View, u32> {
        let protect = if writable {
            PAGE_READWRITE
        } else {
            PAGE_READONLY
        };
        let access = if writable {
            FILE_MAP_WRITE
        } else {
            FILE_MAP_READ
        };
        // SAFETY: an open file handle; no name, no attributes.
        let map = unsafe { CreateFileMappingW(file, null_mut(), protect, 0, len as u32, null()) };
        if map.is_null() {
            // SAFETY: no arguments.
            return Err(unsafe { GetLastError() });
        }
        // SAFETY: the section just made.
        let base = unsafe { MapViewOfFile(map, access, 0, 0, len) };
        if base.is_null() {
            // SAFETY: no arguments.
            let e = unsafe { GetLastError() };
            // SAFETY: our section handle, closed once.
            unsafe { NtClose(map) };
            return Err(e);
        }
        Ok(View { map, base, len })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the view maps `len` bytes until it is dropped.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }

    fn flush(&self) {
        // SAFETY: the whole view, mapped.
        assert_ne!(
            unsafe { FlushViewOfFile(self.base, self.len) },
            0,
            "FlushViewOfFile"
        );
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: our view and section, each released once.
        unsafe {
            UnmapViewOfFile(self.base);
            NtClose(self.map);
        }
    }
}

/// A file written through a mapped view and read back non-cached; a
/// writable mapping longer than the file extends it; a read-only view
/// shows what was written through a handle.
fn memory_mapped(d: &NtDrive, t: &Dir) -> Outcome {
    let f = t.path("mapped");
    make_file(d, &f, &[0x11; 8192]);
    let (h, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    let mut view = View::new(h.0, 16384, true)
        .map_err(|e| Skip(format!("the drive maps no files (Win32 error {e})")))?;
    assert_eq!(
        size(d, &h),
        16384,
        "a mapping longer than the file extends it"
    );
    view.bytes()[100..107].copy_from_slice(b"mapping");
    view.bytes()[16380..].copy_from_slice(b"tail");
    view.flush();
    drop(view);
    d.close(h);

    let (mut direct, _) = d
        .create(
            &f,
            FILE_OPEN,
            FILE_NO_INTERMEDIATE_BUFFERING,
            GENERIC_READ,
            SHARE_ALL,
        )
        .unwrap();
    #[repr(C, align(4096))]
    struct Pages([u8; 16384]);
    let mut pages = Box::new(Pages([0; 16384]));
    assert_eq!(ok(d.read(&mut direct, 0, &mut pages.0)), 16384);
    d.close(direct);
    assert_eq!(
        &pages.0[100..107],
        b"mapping",
        "a non-cached read of a mapped write"
    );
    assert_eq!(&pages.0[16380..], b"tail");
    assert!(
        pages.0[8192..16380].iter().all(|&b| b == 0),
        "the extension reads as zeros"
    );

    let (mut w, _) = open(d, &f, FILE_OPEN, 0).unwrap();
    ok(d.write(&mut w, Some(0), b"handle"));
    let mut view = View::new(w.0, 16384, false).expect("a read-only view");
    assert_eq!(&view.bytes()[..6], b"handle", "a view of a handle's write");
    drop(view);
    d.close(w);
    assert_eq!(&contents(d, &f)[..6], b"handle");
    Ok(())
}

/// Watches a directory for names, as Explorer does: each change arrives
/// as FILE_NOTIFY_INFORMATION with the action and the name.
fn change_notification(d: &NtDrive, t: &Dir) -> Outcome {
    let dir = open_dir(d, &format!("\\{}", t.name));
    // Changes after the first wait in the directory's notify buffer for
    // the next request, which then completes at once.
    let watch = |change: &mut dyn FnMut(), want: usize| {
        let mut seen: Vec<(u32, String)> = Vec::new();
        let mut change = Some(change);
        while seen.len() < want {
            let mut buf = vec![0u8; 4096];
            let event = Event::new();
            let mut iosb = IoStatus {
                status: 0,
                information: 0,
            };
            // SAFETY: the buffer, IO_STATUS_BLOCK and event outlive the
            // call: it is waited for below (a request left pending on
            // failure ends when the directory closes, before they go).
            let s = unsafe {
                NtNotifyChangeDirectoryFile(
                    dir.0,
                    event.0,
                    null_mut(),
                    null_mut(),
                    &mut iosb,
                    buf.as_mut_ptr().cast(),
                    buf.len() as u32,
                    FILE_NOTIFY_CHANGE_FILE_NAME,
                    0,
                )
            };
            let status = NtStatus(s as u32);
            if status.is_error() {
                return Err(Skip(format!("no change notification: {status:?}")));
            }
            if let Some(change) = change.take() {
                change();
            }
            assert!(
                event.wait(Some(WAIT_MS)),
                "no notification within {WAIT_MS} ms (seen: {seen:?})"
            );
            let c = completion(iosb.status as i32, &iosb);
            ok(c);
            let mut at = 0;
            while at + 12 <= c.information as usize {
                let action = u32_at(&buf, at + 4);
                let len = u32_at(&buf, at + 8) as usize;
                seen.push((action, name_at(&buf, at + 12, len)));
                match u32_at(&buf, at) {
                    0 => break,
                    next => at += next as usize,
                }
            }
        }
        Ok(seen)
    };
    let seen = watch(&mut || make_file(d, &t.path("new.txt"), b"x"), 1)?;
    assert_eq!(seen, [(FILE_ACTION_ADDED, "new.txt".to_string())]);
    let seen = watch(
        &mut || {
            let (mut h, _) = open(d, &t.path("new.txt"), FILE_OPEN, 0).unwrap();
            let to = crate::bytes::rename_info(false, &t.path("renamed.txt"));
            ok(d.set_information(&mut h, fsd::fileinfo::FILE_RENAME_INFORMATION, &to));
            d.close(h);
        },
        2,
    )?;
    assert_eq!(
        seen,
        [
            (FILE_ACTION_RENAMED_OLD_NAME, "new.txt".to_string()),
            (FILE_ACTION_RENAMED_NEW_NAME, "renamed.txt".to_string())
        ]
    );
    let seen = watch(
        &mut || {
            let (h, _) = d
                .create(
                    &t.path("renamed.txt"),
                    FILE_OPEN,
                    FILE_DELETE_ON_CLOSE,
                    DELETE,
                    SHARE_ALL,
                )
                .unwrap();
            d.close(h);
        },
        1,
    )?;
    assert_eq!(seen, [(FILE_ACTION_REMOVED, "renamed.txt".to_string())]);
    d.close(dir);
    Ok(())
}

/// A batch oplock (what Office and build tools take) granted, broken by
/// another open, acknowledged.
fn oplocks(d: &NtDrive, t: &Dir) -> Outcome {
    let f = t.path("locked.doc");
    make_file(d, &f, b"document");
    let (holder, _) = d.create(&f, FILE_OPEN, 0, GENERIC_READ, SHARE_ALL).unwrap();
    let event = Event::new();
    let mut iosb = IoStatus {
        status: 0,
        information: 0,
    };
    // SAFETY: the IO_STATUS_BLOCK and event outlive the request: it is
    // waited for below, or ends when `holder` closes.
    let s = unsafe {
        NtFsControlFile(
            holder.0,
            event.0,
            null_mut(),
            null_mut(),
            &mut iosb,
            FSCTL_REQUEST_BATCH_OPLOCK,
            null(),
            0,
            null_mut(),
            0,
        )
    };
    if s != STATUS_PENDING {
        d.close(holder);
        return Err(Skip(format!("no batch oplock: {:?}", NtStatus(s as u32))));
    }
    let (breaker, _) = d
        .create(
            &f,
            FILE_OPEN,
            FILE_COMPLETE_IF_OPLOCKED,
            GENERIC_WRITE,
            SHARE_ALL,
        )
        .expect("an open that breaks the oplock");
    assert!(
        event.wait(Some(WAIT_MS)),
        "no oplock break within {WAIT_MS} ms"
    );
    let c = completion(iosb.status as i32, &iosb);
    assert_eq!(
        c.status,
        NtStatus::SUCCESS,
        "the oplock request's completion"
    );
    assert!(
        matches!(
            c.information,
            FILE_OPLOCK_BROKEN_TO_LEVEL_2 | FILE_OPLOCK_BROKEN_TO_NONE
        ),
        "broken to {}",
        c.information
    );
    let mut holder = holder;
    let ack = io(|event, iosb| {
        // SAFETY: no buffers; `io` waits for the call.
        unsafe {
            NtFsControlFile(
                holder.0,
                event,
                null_mut(),
                null_mut(),
                iosb,
                FSCTL_OPLOCK_BREAK_ACKNOWLEDGE,
                null(),
                0,
                null_mut(),
                0,
            )
        }
    });
    assert!(!ack.status.is_error(), "acknowledging the break: {ack:?}");
    let mut buf = [0u8; 16];
    assert_eq!(ok(d.read(&mut holder, 0, &mut buf)), 8);
    d.close(breaker);
    d.close(holder);
    Ok(())
}
