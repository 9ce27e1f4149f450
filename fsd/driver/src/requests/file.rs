//! A FILE_OBJECT of ours: FsContext is the file's FCB (`file_control`:
//! what the cache and memory managers read; its SECTION_OBJECT_POINTERS
//! are the file object's in the full mode, so the file can be cached and
//! mapped), FsContext2 the open's CCB in its handle lock (`fsd::Handle`,
//! in a box of the lookaside list; null for an open of the volume
//! itself): requests on one file object take turns with the CCB.
use core::ptr::null_mut;

use fsd::{Ccb, Handle, HandleGuard, NtStatus};
use lkl_ntk::nt;

use crate::file_control::{self, FileControl};
use crate::lookaside::Lookaside;
use crate::volume::MountedVolume;

static HANDLES: Lookaside<Handle> = Lookaside::new();

/// Attaches an open to its file object: the file's FCB (made with its
/// first open, sized as the core says) and the open's CCB.
pub fn attach(file: *mut nt::FILE_OBJECT, vol: &MountedVolume, ccb: Option<Ccb>) {
    let volume = vol as *const MountedVolume as usize;
    let fcb = match &ccb {
        None => file_control::attach(volume, file_control::VOLUME_ID, false, || (0, 0)),
        Some(c) => {
            let cached = crate::driver().settings.cached && !c.is_directory();
            file_control::attach(volume, c.file_id(), cached, || sizes(vol, c))
        }
    };
    // SAFETY: the file object of the CREATE being served; the FCB lives
    // until this file object's CLOSE releases it.
    unsafe {
        (*file).FsContext = fcb.cast();
        (*file).FsContext2 = ccb.map_or(null_mut(), |c| HANDLES.put(Handle::new(c)).cast());
        if (*fcb).cached {
            (*file).SectionObjectPointer = &mut (*fcb).section;
        }
    }
}

/// FILE_STANDARD_INFORMATION of an open, as the core reports it.
pub fn standard_information(vol: &MountedVolume, ccb: &Ccb) -> Option<[u8; 24]> {
    let mut standard = [0u8; 24];
    let c = fsd::fileinfo::query(
        &vol.core,
        ccb,
        fsd::fileinfo::FILE_STANDARD_INFORMATION,
        &mut standard,
    );
    (!c.status.is_error()).then_some(standard)
}

/// A file's allocation and end of file, as the core reports them.
pub fn sizes(vol: &MountedVolume, ccb: &Ccb) -> (u64, u64) {
    standard_information(vol, ccb).map_or((0, 0), |s| {
        let field = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
        (field(0), field(8))
    })
}

/// The FCB of a file object of ours.
pub fn fcb<'a>(file: *mut nt::FILE_OBJECT) -> Option<&'a mut FileControl> {
    file_control::of(file)
}

/// The handle of a file object's open, unlocked, if it is a file's (not
/// the volume's): for paging I/O and what never changes (see
/// `fsd::handle`).
pub fn handle<'a>(file: *mut nt::FILE_OBJECT) -> Result<&'a Handle, NtStatus> {
    if file.is_null() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // SAFETY: a file object this driver opened; FsContext2 is its handle's
    // box or null, kept until CLOSE, after every other request on it.
    unsafe { ((*file).FsContext2 as *const Handle).as_ref() }.ok_or(NtStatus::INVALID_PARAMETER)
}

/// The open of a file object, if it is a file's (not the volume's), held
/// until the guard goes: two requests on one handle (an overlapped one,
/// which the I/O manager does not serialise) take turns. On workers only
/// (the lock sleeps in Linux).
pub fn ccb<'a>(file: *mut nt::FILE_OBJECT) -> Result<HandleGuard<'a>, NtStatus> {
    handle(file).map(Handle::lock)
}

/// Whether `file` is an open of the volume itself (`\\.\X:`), which only
/// administrators can make (the disk's and volume's DACLs): what locks,
/// unlocks and dismounts the volume, as on FastFat.
pub fn is_volume_open(file: *mut nt::FILE_OBJECT) -> bool {
    !file.is_null() && fcb(file).is_some() && handle(file).is_err()
}

/// Takes the open out of its file object (CLOSE): None if the file object
/// was never ours (under Wine a CREATE that failed still gets a CLOSE),
/// else the file's open, if it is not the volume's.
pub fn detach(file: *mut nt::FILE_OBJECT) -> Option<Option<Ccb>> {
    if file.is_null() {
        return None;
    }
    // SAFETY: as in ccb; the CCB is taken once, the FCB released once, and
    // the pointers cleared.
    unsafe {
        let fcb = (*file).FsContext as *mut FileControl;
        if fcb.is_null() {
            return None;
        }
        let p = (*file).FsContext2 as *mut Handle;
        (*file).FsContext = null_mut();
        (*file).FsContext2 = null_mut();
        (*file).SectionObjectPointer = null_mut();
        file_control::release(fcb);
        Some((!p.is_null()).then(|| HANDLES.take(p).into_inner()))
    }
}

/// FO_SYNCHRONOUS_IO (wdm.h): the I/O manager keeps the position.
const FO_SYNCHRONOUS_IO: u32 = 0x2;

/// A read or write on `file` ended at byte `end`: a synchronous file
/// object's position moves there, as the file system must move it (the
/// I/O manager hands the next request that position).
pub fn moved_to(file: *mut nt::FILE_OBJECT, end: u64) {
    // SAFETY: a file object this driver opened, by the request's thread.
    unsafe {
        if (*file).Flags & FO_SYNCHRONOUS_IO != 0 {
            (*file).CurrentByteOffset.QuadPart = end as i64;
        }
    }
}

/// Whether `file` is a synchronous file object.
pub fn is_synchronous(file: *mut nt::FILE_OBJECT) -> bool {
    // SAFETY: as above.
    unsafe { (*file).Flags & FO_SYNCHRONOUS_IO != 0 }
}

/// A file object's name as UTF-16.
pub fn name<'a>(file: *mut nt::FILE_OBJECT) -> &'a [u16] {
    // SAFETY: the name the I/O manager (or the sender) set; Length bytes.
    unsafe {
        let s = &(*file).FileName;
        if s.Buffer.is_null() {
            &[]
        } else {
            core::slice::from_raw_parts(s.Buffer, s.Length as usize / 2)
        }
    }
}

/// Frees the handle boxes kept for reuse (unload).
pub fn release() {
    HANDLES.drain();
}
