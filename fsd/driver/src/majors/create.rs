//! IRP_MJ_CREATE on a volume: decodes the stack location (disposition and
//! options, share access, attributes, the security context's access, the
//! name and the related file object) into the core's request; in the full
//! mode, the oplocks other opens hold on the file are broken as the new
//! open needs (and an open that cannot have them is undone).
use fsd::create::{self, CreateRequest};
use fsd::{Completion, NtStatus};

use lkl_ntk::nt;

use crate::irp::Irp;
use crate::volume::MountedVolume;
use crate::{cached_io, file};

/// A CREATE with SL_OPEN_TARGET_DIRECTORY (a rename's or link's first
/// step): the target's directory opened, and the file object's name cut
/// to the target's last component, in its own buffer (FastFat's
/// FatOpenTargetDirectory), which SET_INFORMATION reads as the new name.
fn open_target_directory(
    vol: &MountedVolume,
    fo: *mut nt::FILE_OBJECT,
    req: &CreateRequest,
) -> Completion {
    let (created, last) = match create::open_target_directory(&vol.core, req) {
        Ok(opened) => opened,
        Err(e) => return e.into(),
    };
    // SAFETY: the file object of this CREATE; its name's buffer holds the
    // whole name, which the last component (a part of it) fits in.
    unsafe {
        let name = &mut (*fo).FileName;
        core::ptr::copy(last.as_ptr(), name.Buffer, last.len());
        name.Length = (last.len() * 2) as u16;
    }
    file::attach(fo, vol, Some(created.ccb));
    vol.opened();
    Completion::ok(created.information)
}

/// Whether `irp` opens the volume itself (`\\.\X:`: no name, no related
/// file object), which needs no Linux.
pub fn opens_the_volume(irp: Irp) -> bool {
    let fo = irp.file_object();
    // SAFETY: the file object of this CREATE, if any.
    !fo.is_null() && file::name(fo).is_empty() && unsafe { (*fo).RelatedFileObject }.is_null()
}

/// Opens the volume itself (see [`opens_the_volume`]).
pub fn open_volume(vol: &MountedVolume, irp: Irp) -> Completion {
    file::attach(irp.file_object(), vol, None);
    vol.opened();
    Completion::ok(fsd::create::FILE_OPENED)
}

pub fn create(
    vol: &MountedVolume,
    irp: Irp,
    caller: Option<&fsd::permissions::Caller>,
) -> Completion {
    let stack = irp.stack();
    let fo = stack.FileObject;
    if fo.is_null() {
        return NtStatus::INVALID_PARAMETER.into();
    }
    // SAFETY: the Create view of a CREATE stack location.
    let p = unsafe { stack.Parameters.Create };
    // SAFETY: the security context is the sender's, valid during CREATE.
    let access = unsafe { p.SecurityContext.as_ref() }.map_or(0, |s| s.DesiredAccess);
    let name = file::name(fo);
    // SAFETY: the file object of this CREATE.
    let related_fo = unsafe { (*fo).RelatedFileObject };
    let related_held = if related_fo.is_null() {
        None
    } else {
        match file::ccb(related_fo) {
            Ok(c) => Some(c),
            Err(_) if name.is_empty() => None,
            Err(e) => return e.into(),
        }
    };
    let related = related_held.as_deref();
    if name.is_empty() && related.is_none() {
        // The volume itself (`\\.\LklFsdVolumeN`).
        return open_volume(vol, irp);
    }
    let req = CreateRequest {
        related,
        name,
        disposition: p.Options >> 24,
        options: p.Options & 0x00FF_FFFF,
        desired_access: access,
        share_access: p.ShareAccess as u32,
        file_attributes: p.FileAttributes as u32,
        caller,
    };
    if stack.Flags as u32 & nt::SL_OPEN_TARGET_DIRECTORY != 0 {
        return open_target_directory(vol, fo, &req);
    }
    if crate::driver().settings.cached {
        cached_io::break_batch_oplock(vol, irp, &req);
    }
    let created = match create::create(&vol.core, &req) {
        Ok(created) => created,
        Err(e) => return e.into(),
    };
    let emptied = matches!(
        created.information,
        fsd::create::FILE_OVERWRITTEN | fsd::create::FILE_SUPERSEDED
    );
    file::attach(fo, vol, Some(created.ccb));
    let delete_on_close = req.options & fsd::create::FILE_DELETE_ON_CLOSE != 0;
    let oplocks = match (file::fcb(fo), file::ccb(fo)) {
        (Some(fcb), Ok(held)) if fcb.cached => {
            let purged = if emptied {
                cached_io::overwritten(vol, &held, fcb)
            } else {
                Ok(())
            };
            purged
                .and_then(|()| cached_io::image_allows(fcb, held.granted_access(), delete_on_close))
                .and_then(|()| cached_io::oplock_create(fcb, irp))
        }
        _ => Ok(NtStatus::SUCCESS),
    };
    match oplocks {
        Ok(status) => {
            vol.opened();
            Completion {
                status,
                information: created.information,
            }
        }
        Err(e) => {
            if let Some(Some(mut ccb)) = file::detach(fo) {
                let _ = fsd::cleanup::cleanup(&vol.core, &mut ccb);
                fsd::close::close(&vol.core, ccb);
            }
            e.into()
        }
    }
}
