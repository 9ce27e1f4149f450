//! `lklfsd.sys`: the Windows kernel-mode file system driver. It boots the
//! Linux kernel (lkl, on the NTK host of `lkl-ntk`) inside the Windows
//! kernel and serves IRPs for Linux volumes through the `fsd` core.
//!
//! One module per IRP major function (create, close, cleanup, read,
//! write, dirctrl, fileinfo, volinfo, fsctl, flush) decodes its stack
//! location into the core's request and completes the IRP, over support
//! modules: `dispatch` (routing, and posting to the workers that alone
//! run Linux code), `irp` and `buffers` (IRP access), `file` (file object
//! to CCB), `devices`, `control` (the control device's IOCTLs),
//! `image_disk` (image files as disks), `lower_disk` (the Linux disk over
//! a lower device), `mount`, `volume`, `linux` (Linux's lifetime),
//! `registry` (settings), `send` (IRPs the driver sends), `stats`,
//! `selftest` and `runtime` (allocator,
//! panic handler).
#![cfg(windows)]
#![no_std]

extern crate alloc;

mod buffers;
mod cleanup;
mod close;
mod control;
mod create;
mod devices;
mod dirctrl;
mod dispatch;
mod file;
mod fileinfo;
mod flush;
mod fsctl;
mod image_disk;
mod irp;
mod linux;
mod lower_disk;
mod mount;
mod read;
mod registry;
mod runtime;
mod selftest;
mod send;
mod stats;
mod volinfo;
mod volume;
mod write;

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

use lkl_ntk::{nt, threads, workers};

/// What DriverEntry set up, for the whole driver's life.
pub struct Driver {
    pub object: *mut nt::DRIVER_OBJECT,
    pub control: *mut nt::DEVICE_OBJECT,
    pub settings: registry::Settings,
}

static DRIVER: AtomicPtr<Driver> = AtomicPtr::new(null_mut());

/// The driver's state (set before any request can arrive).
pub fn driver() -> &'static Driver {
    // SAFETY: DriverEntry stores it before making devices, and it lives
    // until unload has deleted them all.
    unsafe { &*DRIVER.load(Ordering::Acquire) }
}

/// Workers that may run Linux code at once (one runs while others wait
/// for the disk or the CPU).
const WORKERS: usize = 4;

#[no_mangle]
pub unsafe extern "C" fn DriverEntry(
    object: *mut nt::DRIVER_OBJECT,
    registry_path: *mut nt::UNICODE_STRING,
) -> nt::NTSTATUS {
    lkl_ntk::init();
    let settings = registry::Settings::read(registry_path);
    let driver = alloc::boxed::Box::new(Driver {
        object,
        control: null_mut(),
        settings,
    });
    let driver = alloc::boxed::Box::into_raw(driver);
    DRIVER.store(driver, Ordering::Release);
    // SAFETY: the driver object is the I/O manager's, ours to fill now.
    unsafe {
        for f in (*object).MajorFunction.iter_mut() {
            *f = Some(dispatch::dispatch);
        }
        (*object).DriverUnload = Some(unload);
    }
    if let Err(s) = workers::start(WORKERS) {
        return s;
    }
    let control = match devices::create(
        object,
        lklfsd_control::DEVICE_NAME,
        nt::FILE_DEVICE_DISK_FILE_SYSTEM,
        devices::Kind::Control,
        null_mut(),
        0,
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
    // SAFETY: our control device, registered once.
    unsafe { nt::IoRegisterFileSystem(control) };
    0
}

fn stop_workers() {
    workers::stop();
    threads::wait_all();
}

/// Unload: dismount everything, halt Linux, end every thread, delete the
/// devices and free what DriverEntry made. After a Linux panic the
/// parked threads are let go and Linux's memory is freed by us.
unsafe extern "C" fn unload(_object: *mut nt::DRIVER_OBJECT) {
    let d = driver();
    if !lkl_ntk::death::is_dead() {
        let _ = workers::run(volume::dismount_all);
    }
    image_disk::detach_all();
    linux::halt();
    if lkl_ntk::death::is_dead() {
        lkl_ntk::death::release_parked();
    }
    stop_workers();
    if lkl_ntk::death::is_dead() {
        lkl_ntk::reclaim_after_death();
    }
    volume::dismount_all();
    // SAFETY: our control device; no request can reach it any more.
    unsafe { nt::IoUnregisterFileSystem(d.control) };
    devices::unlink(lklfsd_control::DOS_NAME);
    devices::delete(d.control);
    let driver = DRIVER.swap(null_mut(), Ordering::AcqRel);
    // SAFETY: the box DriverEntry leaked; nothing uses it any more.
    drop(unsafe { alloc::boxed::Box::from_raw(driver) });
    let pool = lkl_ntk::pool::usage();
    lkl_ntk::console::print(
        alloc::format!(
            "lklfsd: unloaded; pool held: LklM {} blocks {} bytes, LklH {} blocks {} bytes\n",
            pool[0].blocks,
            pool[0].bytes,
            pool[1].blocks,
            pool[1].bytes
        )
        .as_bytes(),
    );
}
