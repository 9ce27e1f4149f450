//! The self-test (test mode only): real IRPs, built here and sent through
//! IoCallDriver to the driver's own devices, for what Wine never sends a
//! driver (MOUNT_VOLUME, CREATE with names and security contexts,
//! directory queries, file information, CLEANUP, dismount). It runs on a
//! worker, so every request is served in place. Its report is text, one
//! line per step (`step status information detail`), which the test on
//! the Linux side checks against the image's tree.
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

use fsd::access::{FILE_LIST_DIRECTORY, GENERIC_READ, GENERIC_WRITE, WRITE_DAC, WRITE_OWNER};
use fsd::create::{FILE_CREATE, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, FILE_OPEN};
use fsd::dirctrl::FILE_NAMES_INFORMATION;
use fsd::fileinfo::{FILE_END_OF_FILE_INFORMATION, FILE_STANDARD_INFORMATION};
use fsd::fsctl::{FSCTL_DISMOUNT_VOLUME, FSCTL_LOCK_VOLUME, FSCTL_UNLOCK_VOLUME};
use fsd::NtStatus;
use lkl_ntk::{nt, zeroed, Shared};

use crate::driver;
use crate::pending;
use crate::send::{send, Outcome};

/// A file object of our own, named `name`, for CREATE and what follows.
pub(crate) struct File {
    object: Box<nt::FILE_OBJECT>,
    _name: Vec<u16>,
}

const IO_TYPE_FILE: i16 = 5;

impl File {
    pub(crate) fn new(name: &str) -> File {
        File::from_units(name.encode_utf16().collect())
    }

    pub(crate) fn from_units(mut units: Vec<u16>) -> File {
        let mut object: Box<nt::FILE_OBJECT> = Box::new(zeroed());
        object.Type = IO_TYPE_FILE;
        object.Size = core::mem::size_of::<nt::FILE_OBJECT>() as i16;
        object.FileName.Length = (units.len() * 2) as u16;
        object.FileName.MaximumLength = object.FileName.Length;
        object.FileName.Buffer = units.as_mut_ptr();
        File {
            object,
            _name: units,
        }
    }

    /// The file object, for requests made while others may look at it.
    pub(crate) fn raw(&self) -> *mut nt::FILE_OBJECT {
        (&*self.object as *const nt::FILE_OBJECT).cast_mut()
    }

    pub(crate) fn ptr(&mut self) -> *mut nt::FILE_OBJECT {
        &mut *self.object
    }

    /// Makes it a synchronous file object (FO_SYNCHRONOUS_IO): its
    /// position is the file system's to move.
    fn synchronous(&mut self) {
        self.object.Flags |= 0x2;
    }

    /// Its position (CurrentByteOffset).
    fn position(&self) -> i64 {
        // SAFETY: the integer view of the LARGE_INTEGER.
        unsafe { self.object.CurrentByteOffset.QuadPart }
    }
}

struct Report(String);

impl Report {
    fn step(&mut self, name: &str, o: &Outcome, detail: &str) {
        let status = o
            .status
            .name()
            .map_or_else(|| format!("{:#010x}", o.status.0), String::from);
        self.0 += &format!("{name} {status} {} {detail}\n", o.information);
    }
}

const GENERIC_READ_WRITE: u32 = GENERIC_READ | GENERIC_WRITE;

pub(crate) fn create(
    vdo: *mut nt::DEVICE_OBJECT,
    f: &mut File,
    disposition: u32,
    options: u32,
    access: u32,
) -> Outcome {
    let mut security: nt::IO_SECURITY_CONTEXT = zeroed();
    security.DesiredAccess = access;
    let sec = &mut security as *mut nt::IO_SECURITY_CONTEXT;
    send(vdo, nt::IRP_MJ_CREATE, 0, f.ptr(), |s, _| {
        s.Parameters.Create.SecurityContext = sec;
        s.Parameters.Create.Options = (disposition << 24) | options;
        s.Parameters.Create.ShareAccess = 7;
    })
}

fn close(vdo: *mut nt::DEVICE_OBJECT, f: &mut File, report: &mut Report, name: &str) {
    let o = send(vdo, nt::IRP_MJ_CLEANUP, 0, f.ptr(), |_, _| {});
    report.step(&format!("cleanup:{name}"), &o, "");
    let o = send(vdo, nt::IRP_MJ_CLOSE, 0, f.ptr(), |_, _| {});
    report.step(&format!("close:{name}"), &o, "");
}

/// Names in a FILE_NAMES_INFORMATION listing.
fn names(buf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= buf.len() {
        let next = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(buf[at + 8..at + 12].try_into().unwrap()) as usize;
        let units: Vec<u16> = buf[at + 12..(at + 12 + len).min(buf.len())]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        out.push(String::from_utf16_lossy(&units));
        if next == 0 {
            break;
        }
        at += next;
    }
    out
}

const FILE_NOTIFY_CHANGE_FILE_NAME: u32 = 1;
const OWNER_GROUP_DACL: u32 = 1 | 2 | 4;
const IRP_MN_LOCK: u32 = 1;
const IRP_MN_UNLOCK_SINGLE: u32 = 2;

/// A FILE_FULL_EA_INFORMATION of one EA.
fn full_ea(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut ea = vec![0u8; 8];
    ea[5] = name.len() as u8;
    ea[6..8].copy_from_slice(&(value.len() as u16).to_le_bytes());
    ea.extend_from_slice(name);
    ea.push(0);
    ea.extend_from_slice(value);
    ea
}

/// The first EA of a FILE_FULL_EA_INFORMATION list, as `NAME=value`.
fn first_ea(buf: &[u8]) -> String {
    if buf.len() < 8 {
        return String::new();
    }
    let (n, v) = (
        buf[5] as usize,
        u16::from_le_bytes([buf[6], buf[7]]) as usize,
    );
    let name = buf.get(8..8 + n).unwrap_or(&[]);
    let value = buf.get(9 + n..9 + n + v).unwrap_or(&[]);
    format!(
        "{}={}",
        String::from_utf8_lossy(name),
        String::from_utf8_lossy(value)
    )
}

/// The first FILE_NOTIFY_INFORMATION record, as `action:name`.
fn first_notification(buf: &[u8]) -> String {
    if buf.len() < 12 {
        return String::new();
    }
    let action = u32::from_le_bytes(buf[4..8].try_into().unwrap());
    let len = u32::from_le_bytes(buf[8..12].try_into().unwrap()) as usize;
    let units: Vec<u16> = buf[12..(12 + len).min(buf.len())]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    format!("{action}:{}", String::from_utf16_lossy(&units))
}

/// A byte-range lock request (IRP_MN_LOCK or IRP_MN_UNLOCK_SINGLE).
fn lock_irp(
    vdo: *mut nt::DEVICE_OBJECT,
    f: &mut File,
    minor: u32,
    length: &mut nt::LARGE_INTEGER,
    flags: u32,
) -> crate::send::Sent {
    lock_irp_on(vdo, f.ptr(), minor, length, flags)
}

/// As [`lock_irp`], for the file object `fo`.
fn lock_irp_on(
    vdo: *mut nt::DEVICE_OBJECT,
    fo: *mut nt::FILE_OBJECT,
    minor: u32,
    length: *mut nt::LARGE_INTEGER,
    flags: u32,
) -> crate::send::Sent {
    let len = length;
    crate::send::start(vdo, nt::IRP_MJ_LOCK_CONTROL, minor, fo, |s, _| {
        s.Parameters.LockControl.Length = len;
        s.Parameters.LockControl.ByteOffset.QuadPart = 0;
        s.Flags = flags as u8;
    })
}

/// Lock waits hold no worker: from a thread of its own (whose requests go
/// to the workers, as a user's do), more lock requests than there are
/// workers wait for the lock `holder` takes, and then a read on another
/// open must still be served (if each wait held a worker, the read would
/// wait for ever: after 30 s the step fails). Then the holder unlocks and
/// the waiters' handles are cleaned up: every wait completes, granted or
/// cancelled.
fn waits_hold_no_worker(
    vdo: *mut nt::DEVICE_OBJECT,
    holder: &mut File,
    ten: &mut nt::LARGE_INTEGER,
    report: &mut Report,
) -> (Outcome, String) {
    const WAITERS: usize = 6;
    let exclusive = nt::SL_EXCLUSIVE_LOCK;
    let held = lock_irp(
        vdo,
        holder,
        IRP_MN_LOCK,
        ten,
        exclusive | nt::SL_FAIL_IMMEDIATELY,
    );
    if held.wait().status != NtStatus::SUCCESS {
        return (Outcome::of(NtStatus::UNEXPECTED_IO_ERROR), "lock".into());
    }
    let mut waiters: Vec<File> = (0..WAITERS).map(|_| File::new("\\hello.txt")).collect();
    let mut reader = File::new("\\hello.txt");
    for f in waiters.iter_mut().chain(core::iter::once(&mut reader)) {
        let o = create(
            vdo,
            f,
            FILE_OPEN,
            FILE_NON_DIRECTORY_FILE,
            GENERIC_READ_WRITE,
        );
        if o.status.is_error() {
            return (o, "create".into());
        }
    }
    let events = Arc::new([Shared::new(zeroed::<nt::KEVENT>()), Shared::new(zeroed())]);
    // SAFETY: the Arc's events, initialised before either thread waits.
    unsafe {
        for e in events.iter() {
            nt::KeInitializeEvent(e.get(), nt::NotificationEvent, 0);
        }
    }
    let outcome = Arc::new(spin::Mutex::new(Vec::new()));
    let fos: Vec<usize> = waiters.iter().map(|f| f.raw() as usize).collect();
    let (read_fo, vdo_at, len_at) = (reader.raw() as usize, vdo as usize, ten as *mut _ as usize);
    let (mine, seen) = (events.clone(), outcome.clone());
    let spawned = lkl_ntk::threads::spawn(move || {
        let vdo = vdo_at as *mut nt::DEVICE_OBJECT;
        let len = len_at as *mut nt::LARGE_INTEGER;
        let sent: Vec<_> = fos
            .iter()
            .map(|&fo| lock_irp_on(vdo, fo as *mut _, IRP_MN_LOCK, len, exclusive))
            .collect();
        let pending = sent.iter().filter(|s| !s.is_done()).count();
        let mut buf = [0u8; 16];
        let at = buf.as_mut_ptr();
        // Past the locked range: a read the lock does not refuse.
        let read = send(vdo, nt::IRP_MJ_READ, 0, read_fo as *mut _, |s, irp| {
            irp.UserBuffer = at.cast();
            s.Parameters.Read.Length = 16;
            s.Parameters.Read.ByteOffset.QuadPart = 10;
        });
        seen.lock().extend([pending as u32, read.status.0]);
        // SAFETY: the Arc's events.
        unsafe {
            nt::KeSetEvent(mine[0].get(), 0, 0);
        }
        let ended: Vec<u32> = sent.into_iter().map(|s| s.wait().status.0).collect();
        seen.lock().extend(ended);
        // SAFETY: as above.
        unsafe { nt::KeSetEvent(mine[1].get(), 0, 0) };
    });
    if spawned.is_err() {
        return (Outcome::of(NtStatus::INSUFFICIENT_RESOURCES), String::new());
    }
    let mut timeout: nt::LARGE_INTEGER = zeroed();
    timeout.QuadPart = -300_000_000;
    // SAFETY: the Arc's event; a relative timeout of 30 s.
    let waited = unsafe {
        nt::KeWaitForSingleObject(
            events[0].get().cast(),
            nt::Executive,
            nt::KernelMode as i8,
            0,
            &mut timeout,
        )
    };
    if waited != 0 {
        return (
            Outcome::of(NtStatus::UNEXPECTED_IO_ERROR),
            "the read never ran".into(),
        );
    }
    let unlocked = lock_irp(vdo, holder, IRP_MN_UNLOCK_SINGLE, ten, 0).wait();
    for (i, f) in waiters.iter_mut().enumerate() {
        close(vdo, f, report, &format!("\\hello.txt#waiter{i}"));
    }
    close(vdo, &mut reader, report, "\\hello.txt#reader");
    // SAFETY: the Arc's event; the waits all ended with their handles.
    unsafe { lkl_ntk::wait(events[1].get()) };
    let seen = outcome.lock().clone();
    let (pending, read) = (seen[0] as usize, NtStatus(seen[1]));
    let ended_ok = seen[2..]
        .iter()
        .all(|&s| s == NtStatus::SUCCESS.0 || s == pending::STATUS_CANCELLED.0);
    let served = matches!(read, NtStatus::SUCCESS | NtStatus::END_OF_FILE);
    let ok = pending == WAITERS && served && ended_ok && !unlocked.status.is_error();
    let detail = format!(
        "waiting={pending} read={:#x} ended={:x?}",
        read.0,
        &seen[2..]
    );
    let status = if ok {
        NtStatus::SUCCESS
    } else {
        NtStatus::UNEXPECTED_IO_ERROR
    };
    (Outcome::of(status), detail)
}

/// A thread of its own that cancels the IRP it is handed (IoCancelIrp),
/// as the I/O manager does when a caller's thread or handle goes.
struct Canceller {
    go: Shared<nt::KEVENT>,
    done: Shared<nt::KEVENT>,
    irp: AtomicPtr<nt::IRP>,
}

impl Canceller {
    fn start() -> Option<Arc<Canceller>> {
        let c = Arc::new(Canceller {
            go: Shared::new(zeroed()),
            done: Shared::new(zeroed()),
            irp: AtomicPtr::new(null_mut()),
        });
        // SAFETY: the events live in the Arc, which both threads hold.
        unsafe {
            nt::KeInitializeEvent(c.go.get(), nt::SynchronizationEvent, 0);
            nt::KeInitializeEvent(c.done.get(), nt::SynchronizationEvent, 0);
        }
        let mine = c.clone();
        lkl_ntk::threads::spawn(move || loop {
            // SAFETY: the Arc's events.
            unsafe { lkl_ntk::wait(mine.go.get()) };
            let irp = mine.irp.load(Ordering::Acquire);
            if irp.is_null() {
                return;
            }
            // SAFETY: the sender keeps the IRP until `done` is set.
            unsafe {
                nt::IoCancelIrp(irp);
                nt::KeSetEvent(mine.done.get(), 0, 0);
            }
        })
        .ok()?;
        Some(c)
    }

    /// Has `irp` cancelled, racing the caller.
    fn cancel(&self, irp: *mut nt::IRP) {
        self.irp.store(irp, Ordering::Release);
        // SAFETY: the Arc's event.
        unsafe { nt::KeSetEvent(self.go.get(), 0, 0) };
    }

    /// Waits until the cancel has been made.
    fn wait(&self) {
        // SAFETY: the Arc's event.
        unsafe { lkl_ntk::wait(self.done.get()) };
    }

    fn stop(&self) {
        self.cancel(null_mut());
    }
}

/// Cancels against completions, a thousand times: `other` waits for the
/// lock `holder` takes; `holder`'s unlock grants the wait while, every
/// other round, a thread of its own cancels the wait, after a delay that
/// shifts from round to round. Each wait must complete once, with
/// SUCCESS (then `other` holds the lock: its unlock succeeds) or, if it
/// was cancelled, STATUS_CANCELLED (then it holds nothing: its unlock
/// finds no lock). A round not cancelled must be granted. SUCCESS with the
/// counts, or the first round that broke the rule.
fn cancel_race(
    vdo: *mut nt::DEVICE_OBJECT,
    holder: &mut File,
    other: &mut File,
    ten: &mut nt::LARGE_INTEGER,
) -> (Outcome, String) {
    const ROUNDS: usize = 1000;
    let Some(canceller) = Canceller::start() else {
        return (Outcome::of(NtStatus::INSUFFICIENT_RESOURCES), String::new());
    };
    let (mut granted, mut cancelled) = (0, 0);
    let mut failure = None;
    for round in 0..ROUNDS {
        let exclusive = nt::SL_EXCLUSIVE_LOCK;
        let held = lock_irp(
            vdo,
            holder,
            IRP_MN_LOCK,
            ten,
            exclusive | nt::SL_FAIL_IMMEDIATELY,
        );
        let held = held.wait().status;
        let waiting = lock_irp(vdo, other, IRP_MN_LOCK, ten, exclusive);
        let cancel = round % 2 == 0 && !waiting.irp().is_null();
        if cancel {
            canceller.cancel(waiting.irp());
            for _ in 0..(round / 2 % 50) * 4000 {
                core::hint::spin_loop();
            }
        }
        let unlocked = lock_irp(vdo, holder, IRP_MN_UNLOCK_SINGLE, ten, 0)
            .wait()
            .status;
        if cancel {
            canceller.wait();
        }
        let wait = waiting.wait().status;
        let release = lock_irp(vdo, other, IRP_MN_UNLOCK_SINGLE, ten, 0).wait();
        let ok = match wait {
            NtStatus::SUCCESS => {
                granted += 1;
                release.status == NtStatus::SUCCESS
            }
            pending::STATUS_CANCELLED if cancel => {
                cancelled += 1;
                release.status == NtStatus::RANGE_NOT_LOCKED
            }
            _ => false,
        };
        if !ok || held != NtStatus::SUCCESS || unlocked != NtStatus::SUCCESS {
            failure = Some(format!(
                "round {round}: lock {:#x} unlock {:#x} wait {:#x} release {:#x}",
                held.0, unlocked.0, wait.0, release.status.0
            ));
            break;
        }
    }
    canceller.stop();
    match failure {
        Some(f) => (Outcome::of(NtStatus::UNEXPECTED_IO_ERROR), f),
        None => {
            let detail = format!("granted={granted} cancelled={cancelled}");
            (Outcome::of(NtStatus::SUCCESS), detail)
        }
    }
}

fn fsctl(vdo: *mut nt::DEVICE_OBJECT, f: &mut File, code: u32) -> Outcome {
    send(
        vdo,
        nt::IRP_MJ_FILE_SYSTEM_CONTROL,
        nt::IRP_MN_USER_FS_REQUEST,
        f.ptr(),
        |s, _| {
            s.Parameters.FileSystemControl.FsControlCode = code;
        },
    )
}

/// Sends MOUNT_VOLUME for `device` to the control device, as the I/O
/// manager does at a device's first open: through the device's VPB, which
/// is given to the device first if it has none (Windows gives a disk its
/// VPB when the device is made, Wine none). The VPB (the volume's) and the
/// outcome; a VPB given here is taken back if the mount failed.
pub(crate) fn mount_volume(device: *mut nt::DEVICE_OBJECT) -> (*mut nt::VPB, Outcome) {
    // SAFETY: a device of ours, whose VPB the self-test stands in for the
    // I/O manager on.
    let given = unsafe { (*device).Vpb.is_null() };
    if given {
        let vpb = crate::vpb::allocate();
        if vpb.is_null() {
            return (vpb, Outcome::of(NtStatus::INSUFFICIENT_RESOURCES));
        }
        // SAFETY: a fresh VPB, the device's from now on.
        unsafe {
            (*vpb).Type = crate::vpb::IO_TYPE_VPB;
            (*vpb).Size = core::mem::size_of::<nt::VPB>() as i16;
            (*vpb).RealDevice = device;
            (*device).Vpb = vpb;
        }
    }
    // SAFETY: as above.
    let vpb = unsafe { (*device).Vpb };
    let o = send(
        driver().control,
        nt::IRP_MJ_FILE_SYSTEM_CONTROL,
        nt::IRP_MN_MOUNT_VOLUME,
        null_mut(),
        |s, _| {
            s.Parameters.MountVolume.Vpb = vpb;
            s.Parameters.MountVolume.DeviceObject = device;
        },
    );
    if o.status.is_error() && given {
        release_device_vpb(device);
        return (null_mut(), o);
    }
    (vpb, o)
}

/// What deleting a device does with its VPB: frees it (the self-test's and
/// the benchmark's end, on devices Wine gave none).
pub(crate) fn release_device_vpb(device: *mut nt::DEVICE_OBJECT) {
    // SAFETY: a device of ours whose VPB the self-test gave it; unmounted
    // (a volume that swapped it in has it no more).
    unsafe {
        let vpb = core::mem::replace(&mut (*device).Vpb, null_mut());
        crate::vpb::free(vpb);
    }
}

/// The VPB protocol after a dismount with a file still open: the device
/// has a fresh, unmounted VPB, and the old one still names the volume
/// device (so the file's CLOSE comes back), unmounted.
fn vpb_swapped(
    device: *mut nt::DEVICE_OBJECT,
    old: *mut nt::VPB,
    vdo: *mut nt::DEVICE_OBJECT,
) -> (Outcome, String) {
    // SAFETY: the device's VPB and the volume's old one, kept by the
    // driver while a file object of the volume is open.
    let (now, fresh, kept) = unsafe {
        let now = (*device).Vpb;
        let mounted = nt::VPB_MOUNTED as u16;
        let fresh = !now.is_null()
            && now != old
            && (*now).Type == crate::vpb::IO_TYPE_VPB
            && (*now).RealDevice == device
            && (*now).DeviceObject.is_null()
            && (*now).Flags & mounted == 0;
        let kept = (*old).DeviceObject == vdo && (*old).Flags & mounted == 0;
        (now, fresh, kept)
    };
    let status = if fresh && kept {
        NtStatus::SUCCESS
    } else {
        NtStatus::UNEXPECTED_IO_ERROR
    };
    let detail = format!("fresh={fresh} old_kept={kept} swapped={}", now != old);
    (Outcome::of(status), detail)
}

/// IRP_MJ_PNP IRP_MN_QUERY_REMOVE_DEVICE to the volume device, as the PnP
/// manager sends it before a removal.
fn query_remove(vdo: *mut nt::DEVICE_OBJECT) -> Outcome {
    send(
        vdo,
        nt::IRP_MJ_PNP,
        nt::IRP_MN_QUERY_REMOVE_DEVICE,
        null_mut(),
        |_, irp| {
            irp.IoStatus.__bindgen_anon_1.Status = NtStatus::NOT_SUPPORTED.0 as i32;
        },
    )
}

/// Mounts the disk `device` with MOUNT_VOLUME, works on it through IRPs
/// of every major function a file system serves, and dismounts it with
/// FSCTL_DISMOUNT_VOLUME.
/// A Mount Manager question (IOCTL_MOUNTDEV_*) to the disk, with an
/// answer buffer of `room` bytes: the outcome and the answer (its count
/// and bytes).
fn mountdev(device: *mut nt::DEVICE_OBJECT, code: u32, room: usize) -> (Outcome, Vec<u8>) {
    let mut answer = vec![0u8; room];
    let out = answer.as_mut_ptr();
    let o = send(
        device,
        nt::IRP_MJ_DEVICE_CONTROL,
        0,
        null_mut(),
        |s, irp| {
            irp.AssociatedIrp.SystemBuffer = out.cast();
            s.Parameters.DeviceIoControl.IoControlCode = code;
            s.Parameters.DeviceIoControl.OutputBufferLength = room as u32;
        },
    );
    answer.truncate(o.information as usize);
    (o, answer)
}

pub fn run(device: *mut nt::DEVICE_OBJECT) -> String {
    let mut report = Report(String::new());
    // What the Mount Manager asks a disk before it gives it a letter: its
    // name (first with room for the count only, as it does) and its
    // unique ID.
    let (o, short) = mountdev(device, nt::IOCTL_MOUNTDEV_QUERY_DEVICE_NAME, 4);
    let count = short
        .get(..2)
        .map_or(0, |c| u16::from_le_bytes([c[0], c[1]]));
    report.step("mountdev_name_short", &o, &format!("{count}"));
    let (o, name) = mountdev(device, nt::IOCTL_MOUNTDEV_QUERY_DEVICE_NAME, 512);
    let units: Vec<u16> = name
        .get(2..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    report.step("mountdev_name", &o, &String::from_utf16_lossy(&units));
    let (o, id) = mountdev(device, nt::IOCTL_MOUNTDEV_QUERY_UNIQUE_ID, 512);
    report.step(
        "mountdev_unique_id",
        &o,
        &lklfsd_control::hex(id.get(2..).unwrap_or_default()),
    );
    // The disk IOCTLs Windows sends a volume.
    for (step, code, room) in [
        ("stable_guid", 0x004D_0018, 16),
        ("partition_info", 0x0007_0048, 144),
        ("geometry_ex", 0x0007_00A0, 32),
        ("hotplug_info", 0x002D_0C14, 8),
    ] {
        let (o, answer) = mountdev(device, code, room);
        report.step(step, &o, &lklfsd_control::hex(&answer));
    }
    // A device with no file system of ours (the control device, which
    // answers no reads): refused at once, without Linux.
    let (_, o) = mount_volume(driver().control);
    report.step("mount_not_ours", &o, "");
    let (vpb, o) = mount_volume(device);
    report.step("mount", &o, "");
    if o.status.is_error() {
        return report.0;
    }
    // SAFETY: the VPB the mount filled in.
    let vdo = unsafe { (*vpb).DeviceObject };
    if vdo.is_null() {
        return report.0;
    }

    // VERIFY_VOLUME, as the I/O manager sends it when the device says its
    // media may have changed: the same file system is still there.
    let vpb_ptr = vpb;
    let o = send(
        vdo,
        nt::IRP_MJ_FILE_SYSTEM_CONTROL,
        nt::IRP_MN_VERIFY_VOLUME,
        null_mut(),
        |s, _| {
            s.Parameters.VerifyVolume.Vpb = vpb_ptr;
            s.Parameters.VerifyVolume.DeviceObject = device;
        },
    );
    report.step("verify_volume", &o, "");

    // The SEH-guarded copy: an address no memory can be at (not
    // canonical) fails with the access violation's code instead of taking
    // the process (or Windows) down.
    let mut probe = [0u8; 16];
    let nowhere = 0x8000_0000_0000_0000_usize as *const u8;
    // SAFETY: probe is ours; the other side is guarded.
    let code = unsafe { crate::user::guarded_copy(probe.as_mut_ptr(), nowhere, 16) };
    report.step(
        "guarded_copy_fault",
        &Outcome::of(NtStatus(code as u32)),
        "",
    );

    let mut root = File::new("\\");
    let o = create(
        vdo,
        &mut root,
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
        FILE_LIST_DIRECTORY,
    );
    report.step("create:\\", &o, "");
    let mut listing = vec![0u8; 64 << 10];
    let buf = listing.as_mut_ptr();
    let o = send(
        vdo,
        nt::IRP_MJ_DIRECTORY_CONTROL,
        nt::IRP_MN_QUERY_DIRECTORY,
        root.ptr(),
        |s, irp| {
            irp.UserBuffer = buf.cast();
            s.Parameters.QueryDirectory.Length = (64 << 10) as u32;
            s.Parameters.QueryDirectory.FileInformationClass = FILE_NAMES_INFORMATION;
            s.Flags = nt::SL_RESTART_SCAN as u8;
        },
    );
    let mut listed = names(&listing[..(o.information as usize).min(listing.len())]);
    listed.sort();
    report.step("query_directory:\\", &o, &listed.join("|"));
    // A change notification on the root, pended until a file is made.
    let mut notified = vec![0u8; 4096];
    let nbuf = notified.as_mut_ptr();
    let notify = crate::send::start(
        vdo,
        nt::IRP_MJ_DIRECTORY_CONTROL,
        nt::IRP_MN_NOTIFY_CHANGE_DIRECTORY,
        root.ptr(),
        |s, irp| {
            irp.UserBuffer = nbuf.cast();
            s.Parameters.NotifyDirectory.Length = 4096;
            s.Parameters.NotifyDirectory.CompletionFilter = FILE_NOTIFY_CHANGE_FILE_NAME;
        },
    );
    let o = Outcome::of(if notify.is_done() {
        NtStatus::UNEXPECTED_IO_ERROR
    } else {
        NtStatus::PENDING
    });
    report.step("notify_pending:\\", &o, "");

    let mut hello = File::new("\\hello.txt");
    // WRITE_DAC and WRITE_OWNER: the security descriptor is set back below.
    let o = create(
        vdo,
        &mut hello,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ_WRITE | WRITE_DAC | WRITE_OWNER,
    );
    report.step("create:\\hello.txt", &o, "");
    let mut info = [0u8; 24];
    let info_ptr = info.as_mut_ptr();
    let o = send(
        vdo,
        nt::IRP_MJ_QUERY_INFORMATION,
        0,
        hello.ptr(),
        |s, irp| {
            irp.AssociatedIrp.SystemBuffer = info_ptr.cast();
            s.Parameters.QueryFile.Length = 24;
            s.Parameters.QueryFile.FileInformationClass = FILE_STANDARD_INFORMATION;
        },
    );
    let size = u64::from_le_bytes(info[8..16].try_into().unwrap());
    report.step("query_information:\\hello.txt", &o, &format!("size={size}"));
    let mut data = vec![0u8; 4096];
    let data_ptr = data.as_mut_ptr();
    hello.synchronous();
    let o = send(vdo, nt::IRP_MJ_READ, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = data_ptr.cast();
        s.Parameters.Read.Length = 4096;
        s.Parameters.Read.ByteOffset.QuadPart = 0;
    });
    let text =
        String::from_utf8_lossy(&data[..(o.information as usize).min(4096)]).replace('\n', "\\n");
    report.step("read:\\hello.txt", &o, &text);
    report.step("position:\\hello.txt", &o, &format!("{}", hello.position()));

    // Extended attributes: set one, read it back.
    let mut ea = full_ea(b"SELFTEST", b"through IRP_MJ_SET_EA");
    let (ea_ptr, ea_len) = (ea.as_mut_ptr(), ea.len());
    let o = send(vdo, nt::IRP_MJ_SET_EA, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = ea_ptr.cast();
        s.Parameters.SetEa.Length = ea_len as u32;
    });
    report.step("set_ea:\\hello.txt", &o, "");
    let mut eas = vec![0u8; 1024];
    let eas_ptr = eas.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_QUERY_EA, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = eas_ptr.cast();
        s.Parameters.QueryEa.Length = 1024;
        s.Flags = nt::SL_RESTART_SCAN as u8;
    });
    report.step(
        "query_ea:\\hello.txt",
        &o,
        &first_ea(&eas[..(o.information as usize).min(1024)]),
    );

    // Security: the descriptor made from owner, group and mode, and set
    // back unchanged.
    let mut sd = vec![0u8; 4096];
    let sd_ptr = sd.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_QUERY_SECURITY, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = sd_ptr.cast();
        s.Parameters.QuerySecurity.SecurityInformation = OWNER_GROUP_DACL;
        s.Parameters.QuerySecurity.Length = 4096;
    });
    report.step("query_security:\\hello.txt", &o, "");
    // A user-mode caller that says its buffer is 4 GiB (it is 4 KiB): the
    // descriptor still fits in it, and nothing is allocated by that size
    // (which would fail, a panic that ends Linux).
    let mut huge = vec![0u8; 4096];
    let huge_ptr = huge.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_QUERY_SECURITY, 0, hello.ptr(), |s, irp| {
        irp.RequestorMode = nt::UserMode;
        irp.UserBuffer = huge_ptr.cast();
        s.Parameters.QuerySecurity.SecurityInformation = OWNER_GROUP_DACL;
        s.Parameters.QuerySecurity.Length = u32::MAX;
    });
    let same = huge[..o.information as usize] == sd[..o.information as usize];
    report.step(
        "query_security_4gib:\\hello.txt",
        &o,
        if same { "same" } else { "differs" },
    );
    let o = send(vdo, nt::IRP_MJ_SET_SECURITY, 0, hello.ptr(), |s, _| {
        s.Parameters.SetSecurity.SecurityInformation = OWNER_GROUP_DACL;
        s.Parameters.SetSecurity.SecurityDescriptor = sd_ptr.cast();
    });
    report.step("set_security:\\hello.txt", &o, "");

    // Byte-range locks: a second open's lock waits (pended) until the
    // first open unlocks.
    let mut other = File::new("\\hello.txt");
    let o = create(
        vdo,
        &mut other,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ_WRITE,
    );
    report.step("create:\\hello.txt#2", &o, "");
    let mut ten: nt::LARGE_INTEGER = zeroed();
    ten.QuadPart = 10;
    let first = lock_irp(
        vdo,
        &mut hello,
        IRP_MN_LOCK,
        &mut ten,
        nt::SL_EXCLUSIVE_LOCK | nt::SL_FAIL_IMMEDIATELY,
    )
    .wait();
    report.step("lock", &first, "");
    let waiting = lock_irp(
        vdo,
        &mut other,
        IRP_MN_LOCK,
        &mut ten,
        nt::SL_EXCLUSIVE_LOCK,
    );
    let o = Outcome::of(if waiting.is_done() {
        NtStatus::UNEXPECTED_IO_ERROR
    } else {
        NtStatus::PENDING
    });
    report.step("lock_pending", &o, "");
    let o = lock_irp(vdo, &mut hello, IRP_MN_UNLOCK_SINGLE, &mut ten, 0).wait();
    report.step("unlock", &o, "");
    report.step("lock_granted", &waiting.wait(), "");
    // The same wait again, given up: IoCancelIrp runs the cancel routine.
    let o = lock_irp(vdo, &mut other, IRP_MN_UNLOCK_SINGLE, &mut ten, 0).wait();
    report.step("unlock#2", &o, "");
    let o = lock_irp(
        vdo,
        &mut hello,
        IRP_MN_LOCK,
        &mut ten,
        nt::SL_EXCLUSIVE_LOCK | nt::SL_FAIL_IMMEDIATELY,
    )
    .wait();
    report.step("lock_again", &o, "");
    let waiting = lock_irp(
        vdo,
        &mut other,
        IRP_MN_LOCK,
        &mut ten,
        nt::SL_EXCLUSIVE_LOCK,
    );
    waiting.cancel();
    report.step("lock_cancelled", &waiting.wait(), "");
    let o = lock_irp(vdo, &mut hello, IRP_MN_UNLOCK_SINGLE, &mut ten, 0).wait();
    report.step("unlock#3", &o, "");
    let (o, detail) = cancel_race(vdo, &mut hello, &mut other, &mut ten);
    report.step("cancel_race", &o, &detail);
    let (o, detail) = waits_hold_no_worker(vdo, &mut hello, &mut ten, &mut report);
    report.step("waits_hold_no_worker", &o, &detail);
    close(vdo, &mut other, &mut report, "\\hello.txt#2");
    // Cleaned up, the file object takes no more reads (FO_CLEANUP_COMPLETE).
    let o = send(vdo, nt::IRP_MJ_CLEANUP, 0, hello.ptr(), |_, _| {});
    report.step("cleanup:\\hello.txt", &o, "");
    let o = send(vdo, nt::IRP_MJ_READ, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = data_ptr.cast();
        s.Parameters.Read.Length = 16;
        s.Parameters.Read.ByteOffset.QuadPart = 0;
    });
    report.step("read_after_cleanup:\\hello.txt", &o, "");
    let o = send(vdo, nt::IRP_MJ_CLOSE, 0, hello.ptr(), |_, _| {});
    report.step("close:\\hello.txt", &o, "");

    let mut made = File::new("\\from-driver.txt");
    let o = create(
        vdo,
        &mut made,
        FILE_CREATE,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ_WRITE,
    );
    report.step("create:\\from-driver.txt", &o, "");
    // Completed by the create; if not, the root's cleanup below ends it.
    let mut unfinished = None;
    if notify.is_done() {
        let o = notify.wait();
        let d = first_notification(&notified[..(o.information as usize).min(4096)]);
        report.step("notify_completed:\\", &o, &d);
    } else {
        report.step(
            "notify_completed:\\",
            &Outcome::of(NtStatus::UNEXPECTED_IO_ERROR),
            "still pending",
        );
        unfinished = Some(notify);
    }
    // A name made while no notification is pending: the root's watch
    // keeps it, and the next request completes at once with it.
    let mut quiet = File::new("\\quiet.txt");
    let o = create(
        vdo,
        &mut quiet,
        FILE_CREATE,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ_WRITE,
    );
    report.step("create:\\quiet.txt", &o, "");
    close(vdo, &mut quiet, &mut report, "\\quiet.txt");
    let mut again = vec![0u8; 4096];
    let abuf = again.as_mut_ptr();
    let buffered = crate::send::start(
        vdo,
        nt::IRP_MJ_DIRECTORY_CONTROL,
        nt::IRP_MN_NOTIFY_CHANGE_DIRECTORY,
        root.ptr(),
        |s, irp| {
            irp.UserBuffer = abuf.cast();
            s.Parameters.NotifyDirectory.Length = 4096;
            s.Parameters.NotifyDirectory.CompletionFilter = FILE_NOTIFY_CHANGE_FILE_NAME;
        },
    );
    // Pended instead (the change lost): the root's cleanup ends it.
    let mut unfinished_buffered = None;
    if buffered.is_done() {
        let o = buffered.wait();
        let d = first_notification(&again[..(o.information as usize).min(4096)]);
        report.step("notify_buffered:\\", &o, &d);
    } else {
        report.step(
            "notify_buffered:\\",
            &Outcome::of(NtStatus::UNEXPECTED_IO_ERROR),
            "pended",
        );
        unfinished_buffered = Some(buffered);
    }
    let mut written = *b"written through IRP_MJ_WRITE\n";
    let w = written.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_WRITE, 0, made.ptr(), |s, irp| {
        irp.UserBuffer = w.cast();
        s.Parameters.Write.Length = written.len() as u32;
        s.Parameters.Write.ByteOffset.QuadPart = 0;
    });
    report.step("write:\\from-driver.txt", &o, "");
    // The media may have changed (DO_VERIFY_VOLUME, as a card reader sets
    // it): the disk refuses the flush's writes with VERIFY_REQUIRED until
    // the volume is verified, which the driver does and then writes again.
    // SAFETY: the image disk's device, ours.
    unsafe { (*device).Flags |= nt::DO_VERIFY_VOLUME };
    let o = send(vdo, nt::IRP_MJ_FLUSH_BUFFERS, 0, made.ptr(), |_, _| {});
    // SAFETY: as above.
    let cleared = unsafe { (*device).Flags } & nt::DO_VERIFY_VOLUME == 0;
    report.step(
        "flush:\\from-driver.txt",
        &o,
        &format!("verified={cleared}"),
    );
    close(vdo, &mut made, &mut report, "\\from-driver.txt");

    let mut sized = File::new("\\sized.bin");
    let o = create(
        vdo,
        &mut sized,
        FILE_CREATE,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ_WRITE,
    );
    report.step("create:\\sized.bin", &o, "");
    let mut eof = 12345u64.to_le_bytes();
    let eof_ptr = eof.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_SET_INFORMATION, 0, sized.ptr(), |s, irp| {
        irp.AssociatedIrp.SystemBuffer = eof_ptr.cast();
        s.Parameters.SetFile.Length = 8;
        s.Parameters.SetFile.FileInformationClass = FILE_END_OF_FILE_INFORMATION;
    });
    report.step("set_information:\\sized.bin", &o, "");
    close(vdo, &mut sized, &mut report, "\\sized.bin");
    close(vdo, &mut root, &mut report, "\\");
    if let Some(notify) = unfinished {
        report.step("notify_cleanup:\\", &notify.wait(), "");
    }
    if let Some(notify) = unfinished_buffered {
        notify.wait();
    }

    // The volume itself: a lock goes with the handle that took it (only it
    // unlocks, and its cleanup releases it); lock, unlock, dismount.
    let mut locker = File::new("");
    let o = create(vdo, &mut locker, FILE_OPEN, 0, GENERIC_READ_WRITE);
    report.step("create:volume#locker", &o, "");
    report.step(
        "fsctl:lock_volume#locker",
        &fsctl(vdo, &mut locker, FSCTL_LOCK_VOLUME),
        "",
    );
    let mut whole = File::new("");
    let o = create(vdo, &mut whole, FILE_OPEN, 0, GENERIC_READ_WRITE);
    report.step("create:volume", &o, "");
    report.step(
        "unlock_by_another_handle",
        &fsctl(vdo, &mut whole, FSCTL_UNLOCK_VOLUME),
        "",
    );
    close(vdo, &mut locker, &mut report, "volume#locker");
    report.step(
        "fsctl:lock_volume",
        &fsctl(vdo, &mut whole, FSCTL_LOCK_VOLUME),
        "",
    );
    report.step(
        "fsctl:unlock_volume",
        &fsctl(vdo, &mut whole, FSCTL_UNLOCK_VOLUME),
        "",
    );
    // A storage question on the volume handle goes to the disk below.
    let mut hotplug = [0u8; 8];
    let hotplug_ptr = hotplug.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_DEVICE_CONTROL, 0, whole.ptr(), |s, irp| {
        irp.AssociatedIrp.SystemBuffer = hotplug_ptr.cast();
        s.Parameters.DeviceIoControl.IoControlCode =
            crate::image_disk::IOCTL_STORAGE_GET_HOTPLUG_INFO;
        s.Parameters.DeviceIoControl.OutputBufferLength = 8;
    });
    report.step("forwarded_ioctl", &o, &lklfsd_control::hex(&hotplug));
    // A file kept open across the dismount.
    let mut kept = File::new("\\hello.txt");
    let o = create(
        vdo,
        &mut kept,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ,
    );
    report.step("create:\\hello.txt#kept", &o, "");
    report.step(
        "fsctl:dismount_volume",
        &fsctl(vdo, &mut whole, FSCTL_DISMOUNT_VOLUME),
        "",
    );
    let (o, detail) = vpb_swapped(device, vpb, vdo);
    report.step("vpb_swapped", &o, &detail);
    let mut info = [0u8; 24];
    let info_ptr = info.as_mut_ptr();
    let o = send(
        vdo,
        nt::IRP_MJ_QUERY_INFORMATION,
        0,
        kept.ptr(),
        |s, irp| {
            irp.AssociatedIrp.SystemBuffer = info_ptr.cast();
            s.Parameters.QueryFile.Length = 24;
            s.Parameters.QueryFile.FileInformationClass = FILE_STANDARD_INFORMATION;
        },
    );
    report.step("after_dismount:\\hello.txt", &o, "");
    close(vdo, &mut kept, &mut report, "\\hello.txt#kept");
    close(vdo, &mut whole, &mut report, "volume");

    // Mounted again through the device's fresh VPB, then a removal query:
    // refused while a file is open, then agreed to (the disk below
    // agreeing), which dismounts the volume.
    let (vpb, o) = mount_volume(device);
    report.step("mount#again", &o, "");
    if o.status.is_error() {
        return report.0;
    }
    // SAFETY: the VPB the mount filled in.
    let vdo = unsafe { (*vpb).DeviceObject };
    let mut open = File::new("\\hello.txt");
    let o = create(
        vdo,
        &mut open,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ,
    );
    report.step("create:\\hello.txt#again", &o, "");
    report.step("query_remove_in_use", &query_remove(vdo), "");
    close(vdo, &mut open, &mut report, "\\hello.txt#again");
    let volumes = crate::volume::count();
    let o = query_remove(vdo);
    let detail = format!("volumes {volumes}->{}", crate::volume::count());
    report.step("query_remove", &o, &detail);
    release_device_vpb(device);
    report.0
}

/// Makes Linux panic, as a crash inside the kernel would.
pub fn panic_linux() {
    lkl::crash(c"crash requested by IOCTL_PANIC");
}
