//! `lklfsd.sys`: the Windows kernel-mode file system driver. It boots the
//! Linux kernel (lkl, on the NTK host of `lkl-ntk`) inside the Windows
//! kernel and serves IRPs for Linux volumes through the `fsd` core.
//!
//! The source is grouped by concern: `majors` (one module per IRP major
//! function, decoding its stack location into the core's request),
//! `requests` (what the IRP handlers share: IRP access, file objects,
//! IRPs that wait, are sent or passed on), `cache` (the full mode's FCBs,
//! cached data path and fast I/O callbacks), `disks` (image files and
//! devices as disks, found disks, drive letters), `volumes` (mounting,
//! volumes, VPBs, the volume lock), `access` (DACLs, callers as Linux
//! users) and `test_mode` (self-test, benchmark, relay); at the top,
//! `dispatch` (routing, and posting to the workers that alone run Linux
//! code), `control` (the control device's IOCTLs), `devices`, `linux`
//! (Linux's lifetime), `registry` (settings), `unload_gate` (unload only
//! while nothing is mounted), `event_log`, `stats` and `runtime`
//! (allocator, panic handler). The root imports every module by its name,
//! so `crate::create` is the create module wherever it lives.
#![cfg(windows)]
#![no_std]

extern crate alloc;

mod access;
mod cache;
mod control;
mod devices;
mod disks;
mod dispatch;
mod event_log;
mod linux;
mod majors;
mod registry;
mod requests;
mod runtime;
mod stats;
mod test_mode;
mod unload_gate;
mod volumes;

use access::{id_map, rights};
use cache::{cached_io, fast_io, file_control};
use disks::{drive_letters, found_disks, image_disk, lower_disk};
use majors::{
    cleanup, close, create, dirctrl, ea, fileinfo, flush, fsctl, lockctl, pnp, read, security,
    shutdown, volinfo, write,
};
use requests::{buffers, file, forward, irp, lookaside, pending, seh, send, sized, user, watches};
use test_mode::{bench, relay, selftest};
use volumes::{mount, volume, volume_lock, vpb};

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

use lkl_ntk::{nt, threads, workers};

/// What DriverEntry set up, for the whole driver's life.
pub struct Driver {
    pub object: *mut nt::DRIVER_OBJECT,
    pub control: *mut nt::DEVICE_OBJECT,
    pub settings: registry::Settings,
    /// The path of the service key's Parameters subkey, where the
    /// settings are read and the unload record written.
    registry_path: [u16; 256],
    registry_len: usize,
}

static DRIVER: AtomicPtr<Driver> = AtomicPtr::new(null_mut());

impl Driver {
    /// Whether the file system with UUID `uuid`, found on a disk of the
    /// machine, may be written (see `registry::opted_in`).
    pub fn may_write(&self, uuid: &[u8; 16]) -> bool {
        registry::opted_in(&self.registry_path[..self.registry_len], uuid)
    }

    /// The drive letter last given to found file system `uuid`, if any.
    pub fn remembered_letter(&self, uuid: &[u8; 16]) -> Option<u16> {
        let path = &self.registry_path[..self.registry_len];
        let text = registry::strings(path, &registry::letter_value(uuid));
        let letter = *text.first()?.as_bytes().first()?;
        letter.is_ascii_uppercase().then_some(u16::from(letter))
    }

    /// Remembers `letter` for found file system `uuid` (its next arrival
    /// asks for the same one).
    pub fn remember_letter(&self, uuid: &[u8; 16], letter: u16) {
        let mut path = self.registry_path;
        let text = [letter as u8];
        registry::record(
            &mut path[..self.registry_len],
            &registry::letter_value(uuid),
            &text,
        );
    }

    /// The uid and gid table for a volume of file system `uuid` (see
    /// `id_map`), None if it ignores permissions.
    pub fn id_map(&self, uuid: Option<&[u8; 16]>) -> Option<id_map::IdMap> {
        id_map::IdMap::read(&self.registry_path[..self.registry_len], uuid)
    }
}

/// The driver's state (set before any request can arrive).
pub fn driver() -> &'static Driver {
    // SAFETY: DriverEntry stores it before making devices, and it lives
    // until unload has deleted them all.
    unsafe { &*DRIVER.load(Ordering::Acquire) }
}

/// Workers that may run Linux code at once (one runs while others wait
/// for the disk or the CPU).
const WORKERS: usize = 4;
/// Workers for paging I/O alone (see lkl_ntk::workers).
const PAGING_WORKERS: usize = 2;

#[no_mangle]
pub unsafe extern "C" fn DriverEntry(
    object: *mut nt::DRIVER_OBJECT,
    registry_path: *mut nt::UNICODE_STRING,
) -> nt::NTSTATUS {
    lkl_ntk::init();
    lkl_ntk::death::on_death(unload_gate::linux_died);
    lkl_ntk::death::on_park(file_control::let_go_of_held);
    // Settings live under the service key's Parameters subkey (driver
    // package isolation: the INF writes them there).
    let mut path = [0u16; 256];
    // SAFETY: the I/O manager's string, Length bytes of UTF-16.
    let given = unsafe {
        let p = &*registry_path;
        core::slice::from_raw_parts(p.Buffer, p.Length as usize / 2)
    };
    let registry_len = registry::parameters_path(given, &mut path);
    let settings = registry::Settings::read(&path[..registry_len]);
    if settings.test_mode {
        lkl_ntk::stack::measure();
    }
    let driver = alloc::boxed::Box::new(Driver {
        object,
        control: null_mut(),
        settings,
        registry_path: path,
        registry_len,
    });
    let driver = alloc::boxed::Box::into_raw(driver);
    DRIVER.store(driver, Ordering::Release);
    // SAFETY: the driver object is the I/O manager's, ours to fill now.
    unsafe {
        for f in (*object).MajorFunction.iter_mut() {
            *f = Some(dispatch::dispatch);
        }
        (*object).DriverUnload = Some(unload);
        (*object).FastIoDispatch = (&fast_io::TABLE as *const nt::FAST_IO_DISPATCH).cast_mut();
    }
    if let Err(s) = workers::start(WORKERS, PAGING_WORKERS) {
        return s;
    }
    let control = match devices::create(
        object,
        lklfsd_control::DEVICE_NAME,
        nt::FILE_DEVICE_DISK_FILE_SYSTEM,
        devices::Kind::Control,
        null_mut(),
        0,
        true,
    ) {
        Ok(d) => d,
        Err(s) => {
            stop_workers();
            return s;
        }
    };
    // SAFETY: set once, before the control device is linked or registered.
    unsafe { (*driver).control = control };
    if let Err(s) = devices::link(lklfsd_control::DOS_NAME, lklfsd_control::DEVICE_NAME) {
        devices::delete(control);
        stop_workers();
        return s;
    }
    // SAFETY: our control device, registered once. As a file system it
    // gets IRP_MJ_SHUTDOWN after the memory manager has written modified
    // pages (IoRegisterShutdownNotification would bring it before, with
    // pages still to come): FastFat's route.
    unsafe { nt::IoRegisterFileSystem(control) };
    found_disks::watch(object);
    0
}

fn stop_workers() {
    workers::stop();
    threads::wait_all();
}

/// Unload: dismount everything, halt Linux, end every thread, delete the
/// devices and free what DriverEntry made. After a Linux panic the
/// parked threads are let go and Linux's memory is freed by us.
pub(crate) unsafe extern "C" fn unload(_object: *mut nt::DRIVER_OBJECT) {
    let d = driver();
    // First, so that no mount or shutdown request comes while everything
    // stops (WDK, IoUnregisterFileSystem).
    // SAFETY: our control device, registered by DriverEntry.
    unsafe { nt::IoUnregisterFileSystem(d.control) };
    found_disks::stop();
    let closed = workers::run(|| {
        relay::close_all();
        volume::dismount_all();
    });
    if closed.is_none() {
        // Linux died: nothing of it may run again.
        volume::abandon_all();
    }
    pending::cancel_all();
    watches::release();
    drive_letters::release_all();
    image_disk::detach_all();
    if lkl_ntk::death::is_dead() {
        lkl_ntk::death::release_parked();
    }
    workers::stop();
    linux::halt();
    if lkl_ntk::death::is_dead() {
        lkl_ntk::reclaim_after_death();
    }
    devices::unlink(lklfsd_control::DOS_NAME);
    devices::delete(d.control);
    let (mut path, path_len) = (d.registry_path, d.registry_len);
    let driver = DRIVER.swap(null_mut(), Ordering::AcqRel);
    // SAFETY: the box DriverEntry leaked; nothing uses it any more.
    drop(unsafe { alloc::boxed::Box::from_raw(driver) });
    file::release();
    file_control::release_all();
    file_control::release_holders();
    lkl_ntk::release_statics();
    record_unload(&mut path[..path_len]);
}

/// Writes what the pool holds after unload, by tag, and the threads still
/// referenced, to the service key's `LastUnload` value (a test reads it:
/// everything should be back to zero, or, after a Linux panic, say what
/// could not be freed).
fn record_unload(path: &mut [u16]) {
    struct Text([u8; 200], usize);
    impl core::fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.0.len() - self.1);
            self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
            self.1 += n;
            Ok(())
        }
    }
    let pool = lkl_ntk::pool::usage();
    let mut text = Text([0; 200], 0);
    let _ = core::fmt::Write::write_fmt(
        &mut text,
        format_args!(
            "LklM {} {} LklH {} {} threads {} semaphores {} timers {} dead {}",
            pool[0].blocks,
            pool[0].bytes,
            pool[1].blocks,
            pool[1].bytes,
            threads::count(),
            lkl_ntk::live_semaphores(),
            lkl_ntk::live_timers(),
            lkl_ntk::death::is_dead() as u8
        ),
    );
    registry::record(path, "LastUnload", &text.0[..text.1]);
}
