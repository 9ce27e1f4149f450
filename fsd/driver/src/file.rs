//! A FILE_OBJECT of ours: FsContext names the volume, FsContext2 holds the
//! open's CCB (in a box of the CCB lookaside list; null for an open of the
//! volume itself).
use core::ptr::null_mut;

use fsd::{Ccb, NtStatus};
use lkl_ntk::nt;

use crate::lookaside::Lookaside;
use crate::volume::MountedVolume;

static CCBS: Lookaside<Ccb> = Lookaside::new();

/// Attaches an open to its file object.
pub fn attach(file: *mut nt::FILE_OBJECT, vol: &MountedVolume, ccb: Option<Ccb>) {
    // SAFETY: the file object of the CREATE being served.
    unsafe {
        (*file).FsContext = (vol as *const MountedVolume).cast_mut().cast();
        (*file).FsContext2 = ccb.map_or(null_mut(), |c| CCBS.put(c).cast());
    }
}

/// The open of a file object, if it is a file's (not the volume's).
pub fn ccb<'a>(file: *mut nt::FILE_OBJECT) -> Result<&'a mut Ccb, NtStatus> {
    if file.is_null() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // SAFETY: a file object this driver opened; FsContext2 is its CCB box
    // or null. Requests on one file object are not run at once by the
    // I/O manager for synchronous opens; the core's locks cover the rest.
    unsafe { ((*file).FsContext2 as *mut Ccb).as_mut() }.ok_or(NtStatus::INVALID_PARAMETER)
}

/// Takes the open out of its file object (CLOSE): None if the file object
/// was never ours (under Wine a CREATE that failed still gets a CLOSE),
/// else the file's open, if it is not the volume's.
pub fn detach(file: *mut nt::FILE_OBJECT) -> Option<Option<Ccb>> {
    if file.is_null() {
        return None;
    }
    // SAFETY: as in ccb; the CCB is taken once, and the pointers cleared.
    unsafe {
        if (*file).FsContext.is_null() {
            return None;
        }
        let p = (*file).FsContext2 as *mut Ccb;
        (*file).FsContext = null_mut();
        (*file).FsContext2 = null_mut();
        Some((!p.is_null()).then(|| CCBS.take(p)))
    }
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

/// Frees the CCB boxes kept for reuse (unload).
pub fn release() {
    CCBS.drain();
}
