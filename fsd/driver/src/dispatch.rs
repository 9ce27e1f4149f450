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
    cached_io, cleanup, close, control, create, dirctrl, ea, fileinfo, flush, fsctl, lockctl, pnp,
    read, security, stats, volinfo, write,
};

pub unsafe extern "C" fn dispatch(
    device: *mut nt::DEVICE_OBJECT,
    irp: *mut nt::IRP,
) -> nt::NTSTATUS {
    let irp = Irp(irp);
    stats::request(irp.major());
    let ext = devices::extension(device);
    ext.using(|kind| serve(ext, kind, irp))
}

/// Serves `irp` on a device of `kind` (its extension `ext`).
fn serve(ext: &devices::Extension, kind: Kind, irp: Irp) -> i32 {
    let status = match kind {
        // A detached image disk: its object is gone; handles still open
        // on it only close.
        Kind::Detached => match irp.major() as u32 {
            nt::IRP_MJ_CLOSE | nt::IRP_MJ_CLEANUP => irp.complete(Completion::ok(0)),
            _ => irp.complete_status(NtStatus::NO_SUCH_DEVICE),
        },
        // SAFETY: an Image device's object is its Image, alive until
        // detach, which waits for this dispatch to end (`using`).
        Kind::Image => unsafe { &*(ext.object as *const Image) }.dispatch(irp),
        Kind::Control => control::dispatch(irp),
        Kind::Volume => {
            // SAFETY: a Volume device's object is its MountedVolume, kept
            // until unload.
            let vol = unsafe { &*(ext.object as *const MountedVolume) };
            if irp.major() as u32 == nt::IRP_MJ_CLOSE {
                return close::close(vol, irp);
            }
            if irp.major() as u32 == nt::IRP_MJ_PNP {
                return pnp::pnp(vol, irp);
            }
            if for_the_device_below(irp) {
                return crate::forward::pass_down(irp, vol.target);
            }
            if let Some(status) = oplock_request(vol, irp) {
                return status;
            }
            if let Some(status) = refused_for_the_caller(irp).or_else(|| refused_after_cleanup(irp))
            {
                return irp.complete_status(status);
            }
            if let Some(c) = answered_in_place(vol, irp) {
                stats::answered_in_place();
                return irp.complete(c);
            }
            // A user-mode caller's own buffers are reached only in its
            // process: the dispatch thread's, not a worker's.
            let security = matches!(
                irp.major() as u32,
                nt::IRP_MJ_QUERY_SECURITY | nt::IRP_MJ_SET_SECURITY
            );
            if security && irp.from_user() && !workers::is_worker() {
                return security::for_user(vol, irp);
            }
            if irp.major() as u32 == nt::IRP_MJ_QUERY_EA && irp.from_user() && !workers::is_worker()
            {
                return ea::query_for_user(vol, irp);
            }
            // Who opens, found here on the caller's own thread (a worker's
            // token is the system's), for the permission check.
            let caller = (irp.major() as u32 == nt::IRP_MJ_CREATE && irp.from_user())
                .then(|| vol.ids.as_ref().map(crate::id_map::IdMap::caller))
                .flatten();
            let vol = vol as *const MountedVolume as usize;
            let serve = move |irp| {
                // SAFETY: as above.
                volume_request(
                    unsafe { &*(vol as *const MountedVolume) },
                    irp,
                    caller.as_ref(),
                )
            };
            if irp.raw().Flags & IRP_PAGING_IO != 0 {
                in_linux_on(Lane::Paging, irp, serve)
            } else {
                in_linux(irp, serve)
            }
        }
    };
    status
}

/// FileInformationClass FilePositionInformation, FsInformationClass
/// FileFsDeviceInformation.
const FILE_POSITION_INFORMATION: u32 = 14;
const FILE_FS_DEVICE_INFORMATION: u32 = 4;

/// What is answered from what the driver holds, without Linux and so on
/// the dispatch thread, taking no worker (as FastFat answers what it can
/// in its FSD before it would post): an open of the volume itself,
/// FileFsDeviceInformation (asked of almost every open), and a
/// synchronous file object's position (its CurrentByteOffset, which the
/// driver keeps). Everything else needs
/// Linux, which runs only on the workers (their stacks, their tasks), so
/// no acquire is tried here first: FastFat's "post only on a failed
/// no-wait acquire" has no room in this design.
fn answered_in_place(vol: &MountedVolume, irp: Irp) -> Option<Completion> {
    let stack = irp.stack();
    match irp.major() as u32 {
        // Completed before the dispatch returns: no later request on the
        // handle can come before its open (Wine hands the caller the handle
        // without waiting for a pended CREATE).
        nt::IRP_MJ_CREATE if create::opens_the_volume(irp) => Some(create::open_volume(vol, irp)),
        nt::IRP_MJ_QUERY_VOLUME_INFORMATION => {
            // SAFETY: the QueryVolume view of its stack location.
            let p = unsafe { stack.Parameters.QueryVolume };
            if p.FsInformationClass as u32 != FILE_FS_DEVICE_INFORMATION {
                return None;
            }
            Some(match crate::buffers::system(irp, p.Length as usize) {
                Ok(out) => fsd::volinfo::device_information(&vol.core, out),
                Err(e) => e.into(),
            })
        }
        nt::IRP_MJ_QUERY_INFORMATION => {
            // SAFETY: the QueryFile view of its stack location.
            let p = unsafe { stack.Parameters.QueryFile };
            let file = irp.file_object();
            let positioned = p.FileInformationClass as u32 == FILE_POSITION_INFORMATION
                && !file.is_null()
                && crate::file::is_synchronous(file)
                && crate::file::handle(file).is_ok();
            if !positioned {
                return None;
            }
            if let Err(e) = vol.core.check_mounted() {
                return Some(e.into());
            }
            Some(match crate::buffers::system(irp, p.Length as usize) {
                Ok(out) if out.len() >= 8 => {
                    // SAFETY: the integer view of the file object's offset.
                    let at = unsafe { (*file).CurrentByteOffset.QuadPart };
                    out[..8].copy_from_slice(&at.to_le_bytes());
                    Completion::ok(8)
                }
                Ok(_) => NtStatus::INFO_LENGTH_MISMATCH.into(),
                Err(e) => e.into(),
            })
        }
        _ => None,
    }
}

/// A device control on a volume handle that is no file system control
/// (not of FILE_DEVICE_FILE_SYSTEM: the storage, disk, volume and Mount
/// Manager IOCTLs Windows asks of volumes): the device below answers it,
/// as FastFat's FatCommonDeviceControl passes it on. (Under Wine FSCTLs
/// arrive as device controls too; they stay ours.)
fn for_the_device_below(irp: Irp) -> bool {
    if irp.major() as u32 != nt::IRP_MJ_DEVICE_CONTROL {
        return false;
    }
    // SAFETY: the DeviceIoControl view of a device control stack location.
    let code = unsafe { irp.stack().Parameters.DeviceIoControl.IoControlCode };
    code >> 16 != nt::FILE_DEVICE_FILE_SYSTEM && crate::file::is_volume_open(irp.file_object())
}

/// IRP flags (wdm.h): paging I/O, from the cache or memory manager.
const IRP_PAGING_IO: u32 = 0x2;

/// What the oplock package serves on the dispatch thread, without Linux
/// (the full mode's cached files): oplock FSCTLs, which FsRtl completes or
/// pends itself, and a cleanup's release of its oplock (then served as
/// usual). A create waiting for an oplock break holds a worker until the
/// holder acknowledges or closes: neither may wait for a worker. The
/// status to return, if the request was served here.
fn oplock_request(vol: &MountedVolume, irp: Irp) -> Option<i32> {
    let file = irp.file_object();
    let fcb = crate::file::fcb(file).filter(|f| f.cached)?;
    match irp.major() as u32 {
        nt::IRP_MJ_CLEANUP => {
            cached_io::oplock_cleanup(fcb, irp);
            None
        }
        nt::IRP_MJ_FILE_SYSTEM_CONTROL if irp.minor() as u32 == nt::IRP_MN_USER_FS_REQUEST => {
            // SAFETY: the FileSystemControl view of an FSCTL stack location.
            let code = unsafe { irp.stack().Parameters.FileSystemControl.FsControlCode };
            if !cached_io::is_oplock_fsctl(code) {
                return None;
            }
            // The dispatch thread takes no handle lock (it sleeps in
            // Linux): the file id never changes.
            let file_id = crate::file::handle(file).ok()?.file_id();
            Some(cached_io::oplock_fsctl(
                fcb,
                irp,
                vol.core.handles_of(file_id),
            ))
        }
        _ => None,
    }
}

/// FSCTL_SET_REPARSE_POINT (a symlink, our only reparse point) from a
/// caller who may not make symlinks: STATUS_PRIVILEGE_NOT_HELD, asked here
/// on the dispatch thread, which is the caller's (a worker's token is the
/// system's). Under Wine an FSCTL arrives as DEVICE_CONTROL.
fn refused_for_the_caller(irp: Irp) -> Option<NtStatus> {
    let fsctl = match irp.major() as u32 {
        nt::IRP_MJ_FILE_SYSTEM_CONTROL => irp.minor() as u32 == nt::IRP_MN_USER_FS_REQUEST,
        nt::IRP_MJ_DEVICE_CONTROL => true,
        _ => false,
    };
    // SAFETY: FileSystemControl and DeviceIoControl share the code's place.
    let code = unsafe { irp.stack().Parameters.DeviceIoControl.IoControlCode };
    let symlink = fsctl && code == fsd::fsctl::FSCTL_SET_REPARSE_POINT;
    (symlink && !crate::rights::may_create_symlinks(irp)).then_some(NtStatus::PRIVILEGE_NOT_HELD)
}

/// A request on a file object already cleaned up (its last handle gone):
/// STATUS_FILE_CLOSED, unless it is paging I/O (the cache and memory
/// managers still write its pages), CLOSE, or a query or set of
/// information, as FastFat's FatVerifyOperationIsLegal lets through.
fn refused_after_cleanup(irp: Irp) -> Option<NtStatus> {
    let file = irp.file_object();
    // SAFETY: a file object of a request in service, if any.
    let cleaned =
        !file.is_null() && unsafe { (*file).Flags } & crate::cleanup::FO_CLEANUP_COMPLETE != 0;
    let allowed = match irp.major() as u32 {
        nt::IRP_MJ_READ | nt::IRP_MJ_WRITE => irp.raw().Flags & IRP_PAGING_IO != 0,
        nt::IRP_MJ_CLOSE | nt::IRP_MJ_QUERY_INFORMATION | nt::IRP_MJ_SET_INFORMATION => true,
        _ => false,
    };
    (cleaned && !allowed).then_some(NtStatus::FILE_CLOSED)
}

/// Serves a request on a volume; None when it was pended (a lock that
/// waits, a change notification), to be completed later. Whatever it
/// changed completes the notifications waiting for it.
fn volume_request(
    vol: &MountedVolume,
    irp: Irp,
    caller: Option<&fsd::permissions::Caller>,
) -> Option<Completion> {
    if may_write(irp) {
        vol.core
            .while_thawed(|| serve_volume_request(vol, irp, caller))
    } else {
        serve_volume_request(vol, irp, caller)
    }
}

/// Whether a request may write to the file system (then a volume frozen
/// for shutdown is thawed for it): all but reads, queries, listings and
/// byte-range locks.
fn may_write(irp: Irp) -> bool {
    !matches!(
        irp.major() as u32,
        nt::IRP_MJ_READ
            | nt::IRP_MJ_QUERY_INFORMATION
            | nt::IRP_MJ_QUERY_EA
            | nt::IRP_MJ_QUERY_VOLUME_INFORMATION
            | nt::IRP_MJ_QUERY_SECURITY
            | nt::IRP_MJ_DIRECTORY_CONTROL
            | nt::IRP_MJ_LOCK_CONTROL
    )
}

fn serve_volume_request(
    vol: &MountedVolume,
    irp: Irp,
    caller: Option<&fsd::permissions::Caller>,
) -> Option<Completion> {
    let c = match irp.major() as u32 {
        nt::IRP_MJ_CREATE => create::create(vol, irp, caller),
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
    in_linux_on(Lane::Requests, irp, serve)
}

/// Which workers serve a request.
#[derive(Clone, Copy)]
pub enum Lane {
    Requests,
    /// Paging I/O, which a cached request may be waiting for.
    Paging,
}

/// As [`in_linux`], on the workers of `lane`.
pub fn in_linux_on(
    lane: Lane,
    irp: Irp,
    serve: impl FnOnce(Irp) -> Option<Completion> + Send + 'static,
) -> i32 {
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
    let job = workers::Job {
        work: Box::new(move || {
            if let Some(c) = timed(serve, irp) {
                irp.complete(c);
            }
        }),
        if_dead: Box::new(move || {
            irp.complete(dead(irp));
        }),
    };
    match lane {
        Lane::Requests => workers::post(job),
        Lane::Paging => workers::post_paging(job),
    }
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
