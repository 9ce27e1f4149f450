//! The one dispatch routine of every major function: counts the request,
//! finds what the device is (control device, image disk, volume), and runs
//! what needs Linux on a worker (see lkl_ntk::workers): the IRP is marked
//! pending, a worker serves and completes it, and the dispatch thread
//! returns STATUS_PENDING at once. On a worker (the self-test, the
//! benchmark) the request runs in place. After a Linux panic every such
//! request fails with STATUS_DRIVER_INTERNAL_ERROR (a CLOSE succeeds: the
//! handle goes, whatever the kernel's state).
use alloc::boxed::Box;

use fsd::{Completion, NtStatus};
use lkl_ntk::{nt, workers};

use crate::devices::{self, Kind};
use crate::image_disk::Image;
use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{
    cleanup, close, control, create, dirctrl, ea, fileinfo, flush, fsctl, lockctl, read, security,
    stats, volinfo, write,
};

pub unsafe extern "C" fn dispatch(
    device: *mut nt::DEVICE_OBJECT,
    irp: *mut nt::IRP,
) -> nt::NTSTATUS {
    let irp = Irp(irp);
    stats::request(irp.major());
    let ext = devices::extension(device);
    let status = match ext.kind {
        // SAFETY: an Image device's object is its Image, alive while the
        // device is.
        Kind::Image => unsafe { &*(ext.object as *const Image) }.dispatch(irp),
        Kind::Control => control::dispatch(irp),
        Kind::Volume => {
            let vol = ext.object as *const MountedVolume as usize;
            in_linux(irp, move |irp| {
                // SAFETY: a Volume device's object is its MountedVolume,
                // kept until unload.
                volume_request(unsafe { &*(vol as *const MountedVolume) }, irp)
            })
        }
    };
    status
}

/// Serves a request on a volume; None when it was pended (a lock that
/// waits, a change notification), to be completed later. Whatever it
/// changed completes the notifications waiting for it.
fn volume_request(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    let c = match irp.major() as u32 {
        nt::IRP_MJ_CREATE => create::create(vol, irp),
        nt::IRP_MJ_CLOSE => close::close(vol, irp),
        nt::IRP_MJ_CLEANUP => cleanup::cleanup(vol, irp),
        nt::IRP_MJ_READ => read::read(vol, irp),
        nt::IRP_MJ_WRITE => write::write(vol, irp),
        nt::IRP_MJ_DIRECTORY_CONTROL => dirctrl::directory_control(vol, irp)?,
        nt::IRP_MJ_QUERY_INFORMATION => fileinfo::query(vol, irp),
        nt::IRP_MJ_SET_INFORMATION => fileinfo::set(vol, irp),
        nt::IRP_MJ_QUERY_EA => ea::query(vol, irp),
        nt::IRP_MJ_SET_EA => ea::set(vol, irp),
        nt::IRP_MJ_QUERY_VOLUME_INFORMATION => volinfo::query(vol, irp),
        nt::IRP_MJ_FLUSH_BUFFERS => flush::flush(vol, irp),
        nt::IRP_MJ_FILE_SYSTEM_CONTROL | nt::IRP_MJ_DEVICE_CONTROL => fsctl::fsctl(vol, irp),
        nt::IRP_MJ_LOCK_CONTROL => lockctl::lock_control(vol, irp)?,
        nt::IRP_MJ_QUERY_SECURITY => security::query(vol, irp),
        nt::IRP_MJ_SET_SECURITY => security::set(vol, irp),
        _ => NtStatus::INVALID_DEVICE_REQUEST.into(),
    };
    dirctrl::deliver(vol);
    Some(c)
}

/// Serves `irp` with `serve` in Linux and completes it (unless `serve`
/// pended it): in place on a worker (its time counted with the request
/// that worker serves), else marked pending and posted to one. Returns
/// what dispatch returns.
pub fn in_linux(irp: Irp, serve: impl FnOnce(Irp) -> Option<Completion> + Send + 'static) -> i32 {
    if workers::is_worker() {
        let c = if lkl_ntk::death::is_dead() {
            Some(dead(irp))
        } else {
            serve(irp)
        };
        return match c {
            Some(c) => irp.complete(c),
            None => NtStatus::PENDING.0 as i32,
        };
    }
    irp.mark_pending();
    workers::post(workers::Job {
        work: Box::new(move || {
            if let Some(c) = timed(serve, irp) {
                irp.complete(c);
            }
        }),
        if_dead: Box::new(move || {
            irp.complete(dead(irp));
        }),
    });
    NtStatus::PENDING.0 as i32
}

fn timed(serve: impl FnOnce(Irp) -> Option<Completion>, irp: Irp) -> Option<Completion> {
    if lkl_ntk::death::is_dead() {
        return Some(dead(irp));
    }
    let start = lkl_ntk::interval_ns();
    let c = serve(irp);
    stats::in_linux(lkl_ntk::interval_ns().saturating_sub(start));
    c
}

/// What a request gets once Linux died.
fn dead(irp: Irp) -> Completion {
    if irp.major() as u32 == nt::IRP_MJ_CLOSE {
        Completion::ok(0)
    } else {
        NtStatus::DRIVER_INTERNAL_ERROR.into()
    }
}
