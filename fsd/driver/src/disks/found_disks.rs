//! Linux file systems on the disks and partitions Windows presents.
//! Windows gives a GPT Linux data partition, an MBR type 0x83 one or a
//! disk without a partition table no drive letter, and asks no file system
//! to mount it. So the driver watches disks and volumes arrive
//! (IoRegisterPlugPlayNotification for GUID_DEVINTERFACE_DISK, _VOLUME and
//! _HIDDEN_VOLUME), reads the start of each, and one holding ext2/3/4,
//! btrfs or xfs it attaches as a disk of its own (an `image_disk` whose
//! data is the device's), which the Mount Manager gives a letter (the one
//! its database keeps for the file system's UUID, else the next free one)
//! and which our file system mounts when it is first opened. A simpler
//! design than a PnP bus of our own (WinBtrfs' way): no second INF, no
//! device node, the same disk code as images.
//!
//! Interface arrivals and removals are handled one at a time, in order, on
//! a worker; every job this module posts counts as in flight, and unload
//! (`stop`) waits for them, so nothing registers after it. A target-device
//! callback waits for the departure it asked for, but the departure's
//! unregistration of that same callback is posted, never waited for (the
//! deadlock WDK "IoUnregisterPlugPlayNotificationEx" warns of).
//!
//! When the device goes the disk is dismounted and detached: on the
//! interface's removal, on a removal query (an eject: the device may go
//! once our handle is closed), and on surprise removal, where the device
//! is gone before we hear of it. What Linux could not write then fails
//! the volume's open handles with STATUS_LOST_WRITEBEHIND_DATA instead of
//! being dropped silently.
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use fsd::NtStatus;
use lkl_ntk::{nt, workers, zeroed, Shared};
use lklfsd_control::ATTACH_FOUND;
use spin::Mutex;

use crate::devices::Wide;
use crate::{drive_letters, image_disk, volume};

/// A GUID as the DDK spells it: Data1, Data2, Data3, Data4.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
struct Guid(u32, u16, u16, [u8; 8]);

const GUID_DEVINTERFACE_DISK: Guid = Guid(
    0x53f5_6307,
    0xb6bf,
    0x11d0,
    [0x94, 0xf2, 0x00, 0xa0, 0xc9, 0x1e, 0xfb, 0x8b],
);
const GUID_DEVINTERFACE_VOLUME: Guid = Guid(
    0x53f5_630d,
    0xb6bf,
    0x11d0,
    [0x94, 0xf2, 0x00, 0xa0, 0xc9, 0x1e, 0xfb, 0x8b],
);
const GUID_DEVINTERFACE_HIDDEN_VOLUME: Guid = Guid(
    0x7f10_8a28,
    0x9833,
    0x4b3b,
    [0xb7, 0x80, 0x2c, 0x6b, 0x5f, 0xa5, 0xc0, 0x62],
);
const GUID_DEVICE_INTERFACE_ARRIVAL: Guid = Guid(
    0xcb3a_4004,
    0x46f0,
    0x11d0,
    [0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f],
);
const GUID_DEVICE_INTERFACE_REMOVAL: Guid = Guid(
    0xcb3a_4005,
    0x46f0,
    0x11d0,
    [0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f],
);
const GUID_TARGET_DEVICE_QUERY_REMOVE: Guid = Guid(
    0xcb3a_4001,
    0x46f0,
    0x11d0,
    [0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f],
);
const GUID_TARGET_DEVICE_REMOVE_COMPLETE: Guid = Guid(
    0xcb3a_4003,
    0x46f0,
    0x11d0,
    [0xb0, 0x8f, 0x00, 0x60, 0x97, 0x13, 0x05, 0x3f],
);

/// DEVICE_INTERFACE_CHANGE_NOTIFICATION.
#[repr(C)]
struct InterfaceChange {
    version: u16,
    size: u16,
    event: Guid,
    class: Guid,
    link: *mut nt::UNICODE_STRING,
}

/// TARGET_DEVICE_REMOVAL_NOTIFICATION.
#[repr(C)]
struct TargetChange {
    version: u16,
    size: u16,
    event: Guid,
    file: *mut nt::FILE_OBJECT,
}

const PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES: u32 = 1;

/// What a found disk is watched by: its device's path, and the
/// target-device notification for its handle.
struct Watched {
    path: Vec<u16>,
    /// The target-device notification entry (null: none).
    entry: usize,
    /// Its device's file object, referenced while watched.
    file: usize,
}

/// The interface notifications registered at load.
static REGISTERED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// UUIDs of file systems being attached as found disks: the attach's own
/// open of the device makes the I/O manager ask the file systems to mount
/// it, and ours must not (see `mount::recognise`).
static CLAIMED: Mutex<Vec<[u8; 16]>> = Mutex::new(Vec::new());

/// Whether the file system with UUID `uuid` is, or is being, served as a
/// found disk: then no volume is mounted on its device itself.
pub fn serves(uuid: &[u8; 16]) -> bool {
    CLAIMED.lock().contains(uuid) || image_disk::found_with_uuid(uuid).is_some()
}

/// Interface changes not yet handled (event, device path), and whether a
/// job is handling them: one at a time, in order.
static CHANGES: Mutex<VecDeque<(Guid, Vec<u16>)>> = Mutex::new(VecDeque::new());
static HANDLING: AtomicBool = AtomicBool::new(false);

/// Unload has begun: no new work starts.
static STOPPED: AtomicBool = AtomicBool::new(false);
/// Jobs and callbacks of this module at work; the last to leave after
/// STOPPED sets IDLE.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static IDLE: Shared<nt::KEVENT> = Shared::new(zeroed());

/// Work begins, unless unload has begun.
fn enter() -> bool {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    if STOPPED.load(Ordering::SeqCst) {
        leave();
        return false;
    }
    true
}

/// Work ends.
fn leave() {
    if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 && STOPPED.load(Ordering::SeqCst) {
        // SAFETY: initialised by stop before STOPPED was set.
        unsafe { nt::KeSetEvent(IDLE.get(), 0, 0) };
    }
}

/// Posts `work` as work in flight (it runs even if the kernel died: it
/// must need no Linux then).
fn post_counted(work: impl FnOnce() + Send + Clone + 'static) {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let if_dead = work.clone();
    workers::post(workers::Job {
        work: Box::new(move || {
            work();
            leave();
        }),
        if_dead: Box::new(move || {
            if_dead();
            leave();
        }),
    });
}

/// Registers for disk and volume arrivals (those present now included).
/// A failure leaves images working, only found disks unseen.
pub fn watch(driver: *mut nt::DRIVER_OBJECT) {
    for class in [
        GUID_DEVINTERFACE_DISK,
        GUID_DEVINTERFACE_VOLUME,
        GUID_DEVINTERFACE_HIDDEN_VOLUME,
    ] {
        let mut class = class;
        let mut entry = null_mut();
        // SAFETY: the class GUID is read during the call (the PnP manager
        // keeps a copy); the callback is ours, for the life of the driver.
        let s = unsafe {
            nt::IoRegisterPlugPlayNotification(
                nt::EventCategoryDeviceInterfaceChange,
                PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES,
                (&mut class as *mut Guid).cast(),
                driver,
                Some(interface_changed),
                null_mut(),
                &mut entry,
            )
        };
        if s >= 0 {
            REGISTERED.lock().push(entry as usize);
        }
    }
}

/// Stops watching (unload): no callback runs after this, and the work
/// they started has ended.
pub fn stop() {
    // SAFETY: a static event, initialised before STOPPED lets leave set it.
    unsafe { nt::KeInitializeEvent(IDLE.get(), nt::NotificationEvent, 0) };
    STOPPED.store(true, Ordering::SeqCst);
    for entry in core::mem::take(&mut *REGISTERED.lock()) {
        unregister(entry);
    }
    if IN_FLIGHT.load(Ordering::SeqCst) != 0 {
        // SAFETY: the event initialised above; the last job sets it.
        unsafe { lkl_ntk::wait(IDLE.get()) };
    }
    let watched = core::mem::take(&mut *WATCHED.lock());
    for w in watched {
        forget(w.entry, w.file);
    }
    let left = core::mem::take(&mut *CHANGES.lock());
    drop(left);
}

/// Ends a target-device notification and lets its file object go.
fn forget(entry: usize, file: usize) {
    if entry != 0 {
        unregister(entry);
    }
    if file != 0 {
        // SAFETY: the file object this module referenced, released once.
        unsafe { nt::ObfDereferenceObject(file as *mut c_void) };
    }
}

/// Ends a registration (an entry IoRegisterPlugPlayNotification gave):
/// with IoUnregisterPlugPlayNotificationEx, which a callback may call,
/// where the system has it (looked up at run time: Wine 8 lacks it), else
/// IoUnregisterPlugPlayNotification.
fn unregister(entry: usize) {
    type Unregister = unsafe extern "C" fn(*mut c_void) -> i32;
    let ex = lkl_ntk::system_routine("IoUnregisterPlugPlayNotificationEx");
    // SAFETY: the routine's documented signature, on an entry of ours,
    // ended once.
    unsafe {
        if ex.is_null() {
            nt::IoUnregisterPlugPlayNotification(entry as *mut c_void);
        } else {
            core::mem::transmute::<*mut c_void, Unregister>(ex)(entry as *mut c_void);
        }
    }
}

/// The PnP manager's call: a disk or volume came or went. The work is a
/// worker's (it reads the device, and Linux may have to dismount).
unsafe extern "C" fn interface_changed(structure: *mut c_void, _context: *mut c_void) -> i32 {
    // SAFETY: an interface change notification, valid for the call.
    let change = unsafe { &*(structure as *const InterfaceChange) };
    // SAFETY: its symbolic link name, likewise.
    let path = unsafe {
        let link = &*change.link;
        core::slice::from_raw_parts(link.Buffer, link.Length as usize / 2).to_vec()
    };
    if STOPPED.load(Ordering::SeqCst) {
        return 0;
    }
    CHANGES.lock().push_back((change.event, path));
    if !HANDLING.swap(true, Ordering::SeqCst) {
        post_counted(handle_changes);
    }
    0
}

/// Handles the queued interface changes one by one, until none is left.
fn handle_changes() {
    loop {
        let next = CHANGES.lock().pop_front();
        let Some((event, path)) = next else {
            HANDLING.store(false, Ordering::SeqCst);
            // A change queued while HANDLING was still set: ours to handle.
            if CHANGES.lock().is_empty() || HANDLING.swap(true, Ordering::SeqCst) {
                return;
            }
            continue;
        };
        if STOPPED.load(Ordering::SeqCst) || lkl_ntk::death::is_dead() {
            continue;
        }
        if event == GUID_DEVICE_INTERFACE_ARRIVAL {
            if let Ok((disk, true)) = arrived(&path) {
                watch_removal(disk, &path);
            }
        } else if event == GUID_DEVICE_INTERFACE_REMOVAL {
            let _ = departed(&path, true);
        }
    }
}

/// A device at NT path `path` arrived: attached and given a letter if it
/// holds a file system of ours. The disk's number, and whether it is new
/// (not a path or file system already attached).
pub fn arrived(path: &[u16]) -> Result<(u32, bool), NtStatus> {
    if let Some(disk) = image_disk::by_source(path) {
        return Ok((disk, false));
    }
    // A device is probed without a mount; an image file (the test IOCTL's
    // arrivals) through a handle, which mounts nothing; Wine's drive
    // devices are no kernel device objects, so the non-cached mode (Wine's)
    // probes every path so.
    let direct = crate::driver().settings.cached && !image_disk::is_drive_path(path);
    let head = if direct {
        probe_device(path)?
    } else {
        probe_file(path)?
    };
    let Some((_, uuid)) = lkl::mount::identify(&head) else {
        return Err(NtStatus::UNRECOGNIZED_VOLUME);
    };
    // The same file system by another path (a second interface of one
    // partition): mounted once.
    if let Some(disk) = image_disk::found_with_uuid(&uuid) {
        return Ok((disk, false));
    }
    CLAIMED.lock().push(uuid);
    let attached = image_disk::attach(
        crate::driver().object,
        ATTACH_FOUND,
        path.to_vec(),
        image_disk::Caller::Driver,
    );
    CLAIMED.lock().retain(|u| *u != uuid);
    let disk = attached?;
    // Without a Mount Manager (Wine) the disk has no letter; it is still
    // there to mount (IOCTL_MOUNT) and list.
    let _ = drive_letters::announce(disk, &uuid);
    Ok((disk, true))
}

/// The first bytes of the image file or device at `path`, read through a
/// handle (a file mounts nothing).
fn probe_file(path: &[u16]) -> Result<Vec<u8>, NtStatus> {
    let file = image_disk::open(Wide::from_units(path.to_vec()), true, true, false)?;
    let mut head = vec![0u8; lkl::mount::IDENTIFY_BYTES];
    let read = image_disk::read_at(file, &mut head, 0);
    image_disk::close(file);
    head.truncate(read.unwrap_or(0) as usize);
    Ok(head)
}

/// The first bytes of the device at `path`, read by IRPs through a direct
/// device open (IoGetDeviceObjectPointer for FILE_READ_ATTRIBUTES, which
/// mounts no file system on it: WinBtrfs `search.c`). A device whose VPB
/// our file system has mounted already (Windows gave it a letter and
/// opened it) is not attached a second time: STATUS_DEVICE_BUSY.
fn probe_device(path: &[u16]) -> Result<Vec<u8>, NtStatus> {
    let mut name = Wide::from_units(path.to_vec());
    let mut file: *mut nt::FILE_OBJECT = null_mut();
    let mut device: *mut nt::DEVICE_OBJECT = null_mut();
    // SAFETY: a live name; the file object comes back referenced.
    let s = unsafe {
        nt::IoGetDeviceObjectPointer(name.ptr(), FILE_READ_ATTRIBUTES, &mut file, &mut device)
    };
    if s < 0 {
        return Err(NtStatus(s as u32));
    }
    // SAFETY: the referenced file object of a direct device open; its
    // DeviceObject is the device the path names (the one with the VPB).
    let named = unsafe { (*file).DeviceObject };
    let head = if volume::on_device(named).is_some() {
        Err(NtStatus::DEVICE_BUSY)
    } else {
        let mut head = vec![0u8; lkl::mount::IDENTIFY_BYTES];
        crate::mount::read_device(device, 0, &mut head).map(|()| head)
    };
    // SAFETY: referenced by IoGetDeviceObjectPointer, released once.
    unsafe { nt::ObfDereferenceObject(file.cast()) };
    head
}

/// FILE_READ_ATTRIBUTES (winnt.h): the access of a direct device open.
const FILE_READ_ATTRIBUTES: u32 = 0x0080;

/// The device at `path` goes: its volumes dismounted, its disk detached.
/// An orderly removal (an eject) is refused with STATUS_ACCESS_DENIED
/// while files are open on it, as NTFS refuses it (Windows then says the
/// device is in use). On a surprise removal the device is gone before we
/// hear of it, so nothing reaches it any more: a volume that could not
/// write everything back is marked so.
pub fn departed(path: &[u16], surprise: bool) -> Result<(), NtStatus> {
    let Some(disk) = image_disk::by_source(path) else {
        return Ok(());
    };
    let device = image_disk::device(disk).ok_or(NtStatus::NO_SUCH_DEVICE)?;
    if surprise {
        image_disk::mark_gone(disk);
    } else if volume::on_device(device).is_some_and(volume::has_open_files) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    while let Some(n) = volume::on_device(device) {
        if volume::dismount(n).is_err() {
            volume::mark_writes_lost(n);
            let name = alloc::format!("{}{n}", lklfsd_control::VOLUME_DEVICE_PREFIX);
            crate::event_log::report(crate::event_log::WRITES_LOST, &name);
        }
    }
    drive_letters::release(disk);
    let _ = image_disk::detach(disk);
    let w = {
        let mut watched = WATCHED.lock();
        let at = watched.iter().position(|w| w.path.as_slice() == path);
        at.map(|at| watched.swap_remove(at))
    };
    if let Some(w) = w {
        // Posted: this may run for that notification's own callback,
        // which waits for us.
        let (entry, file) = (w.entry, w.file);
        post_counted(move || forget(entry, file));
    }
    Ok(())
}

/// Registers for the target-device notifications of disk `disk`'s device
/// (on the file object of the disk's own handle to it), so that a removal
/// query (an eject) lets it go.
fn watch_removal(disk: u32, path: &[u16]) {
    let Some(file) = image_disk::reference_file(disk) else {
        return;
    };
    let mut entry = null_mut();
    // SAFETY: the file object stays referenced until the entry goes.
    let s = unsafe {
        nt::IoRegisterPlugPlayNotification(
            nt::EventCategoryTargetDeviceChange,
            0,
            file,
            crate::driver().object,
            Some(target_changed),
            null_mut(),
            &mut entry,
        )
    };
    let entry = if s >= 0 { entry as usize } else { 0 };
    WATCHED.lock().push(Watched {
        path: path.to_vec(),
        entry,
        file: file as usize,
    });
}

/// A removal query or completion for a found disk's device: the disk lets
/// go of it (waiting, so that the removal can go on once we return).
unsafe extern "C" fn target_changed(structure: *mut c_void, _context: *mut c_void) -> i32 {
    // SAFETY: a target device notification, valid for the call.
    let change = unsafe { &*(structure as *const TargetChange) };
    let event = change.event;
    if event != GUID_TARGET_DEVICE_QUERY_REMOVE && event != GUID_TARGET_DEVICE_REMOVE_COMPLETE {
        return 0;
    }
    let file = change.file as usize;
    let path = WATCHED
        .lock()
        .iter()
        .find(|w| w.file == file)
        .map(|w| w.path.clone());
    let Some(path) = path else {
        return 0;
    };
    let surprise = event == GUID_TARGET_DEVICE_REMOVE_COMPLETE;
    if !enter() {
        return 0;
    }
    let result = workers::run(move || departed(&path, surprise));
    leave();
    match result {
        // A refused query vetoes the removal.
        Some(Err(e)) => e.0 as i32,
        _ => 0,
    }
}
