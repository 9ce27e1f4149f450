//! The full mode's data path (a regular file's FCB is `cached`): reads and
//! writes through the cache manager (CcInitializeCacheMap on a file
//! object's first, CcCopyRead / CcCopyWrite), paging I/O (the cache and
//! memory managers filling and writing back pages) to the core uncached;
//! a read or write that asks for no cache sees the cached data first
//! (flush, and for a write a purge, as fastfat keeps them coherent);
//! sizes kept in the FCB's header and told to the cache manager; the
//! callbacks by which the lazy writer and read-ahead take the FCB's
//! resources (paging I/O, then main: the order every path here takes
//! them in); and oplocks through the FsRtl package. Every cache manager
//! call that can raise runs guarded (`seh`). None of this runs under Wine
//! (its Cc and FsRtl routines abort): the non-cached mode serves there.
use core::ffi::c_void;
use core::ptr::null_mut;

use fsd::fileinfo::SetRequest;
use fsd::{Ccb, Completion, NtStatus};
use lkl_ntk::{nt, zeroed};

use crate::file_control::FileControl;
use crate::irp::Irp;
use crate::seh::guarded;
use crate::volume::MountedVolume;

/// IRP flags (wdm.h).
const IRP_NOCACHE: u32 = 0x1;
const IRP_PAGING_IO: u32 = 0x2;

/// How an IRP_MJ_READ or WRITE on a file travels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Through the cache manager.
    Cached,
    /// Paging I/O: to the core, ignoring locks and positions.
    Paging,
    /// To the core, the cache (if any) made coherent first.
    Direct,
}

/// The path of `irp` on a file whose FCB is `fcb`.
pub fn path(irp: Irp, fcb: &FileControl) -> Path {
    let flags = irp.raw().Flags;
    if flags & IRP_PAGING_IO != 0 {
        Path::Paging
    } else if fcb.cached && flags & IRP_NOCACHE == 0 {
        Path::Cached
    } else {
        Path::Direct
    }
}

static CALLBACKS: nt::CACHE_MANAGER_CALLBACKS = nt::CACHE_MANAGER_CALLBACKS {
    AcquireForLazyWrite: Some(acquire_for_lazy_write),
    ReleaseFromLazyWrite: Some(release_from_lazy_write),
    AcquireForReadAhead: Some(acquire_for_read_ahead),
    ReleaseFromReadAhead: Some(release_from_read_ahead),
};

/// The lazy writer is about to write pages back: the paging I/O resource,
/// shared (it is what size changes take exclusively).
unsafe extern "C" fn acquire_for_lazy_write(context: *mut c_void, wait: u8) -> u8 {
    // SAFETY: the FCB given to CcInitializeCacheMap, alive while cached.
    let fcb = unsafe { &mut *(context as *mut FileControl) };
    // SAFETY: an initialised resource; the lazy writer's thread.
    unsafe { nt::ExAcquireResourceSharedLite(fcb.header.PagingIoResource, wait) }
}

unsafe extern "C" fn release_from_lazy_write(context: *mut c_void) {
    // SAFETY: as above; acquired by acquire_for_lazy_write.
    unsafe {
        let fcb = &mut *(context as *mut FileControl);
        nt::ExReleaseResourceLite(fcb.header.PagingIoResource);
    }
}

/// Read-ahead: the main resource, shared.
unsafe extern "C" fn acquire_for_read_ahead(context: *mut c_void, wait: u8) -> u8 {
    // SAFETY: as for the lazy writer.
    let fcb = unsafe { &mut *(context as *mut FileControl) };
    // SAFETY: likewise.
    unsafe { nt::ExAcquireResourceSharedLite(fcb.header.Resource, wait) }
}

unsafe extern "C" fn release_from_read_ahead(context: *mut c_void) {
    // SAFETY: acquired by acquire_for_read_ahead.
    unsafe {
        let fcb = &mut *(context as *mut FileControl);
        nt::ExReleaseResourceLite(fcb.header.Resource);
    }
}

/// The file object's cache map, set up on its first cached request.
fn ensure_cache_map(file: *mut nt::FILE_OBJECT, fcb: &mut FileControl) -> Result<(), NtStatus> {
    // SAFETY: our file object.
    if !unsafe { (*file).PrivateCacheMap }.is_null() {
        return Ok(());
    }
    let mut sizes = fcb.cc_sizes();
    let context: *mut FileControl = fcb;
    let callbacks = &CALLBACKS as *const _ as *mut nt::CACHE_MANAGER_CALLBACKS;
    // SAFETY: the FCB outlives the cache map (uninitialised at cleanup,
    // torn down with the section); the callbacks are static.
    guarded(|| unsafe { nt::CcInitializeCacheMap(file, &mut sizes, 0, callbacks, context.cast()) })
}

/// The byte offset of a request, resolving "the current position".
fn offset_of(file: *mut nt::FILE_OBJECT, ccb: &Ccb, offset: i64) -> u64 {
    if offset == crate::read::USE_FILE_POINTER {
        if crate::file::is_synchronous(file) {
            // SAFETY: likewise.
            return unsafe { (*file).CurrentByteOffset.QuadPart } as u64;
        }
        return ccb.position();
    }
    offset as u64
}

/// After a request moved `n` bytes from `offset`: the position of a
/// synchronous file object and of the open.
fn advance(vol: &MountedVolume, file: *mut nt::FILE_OBJECT, ccb: &mut Ccb, end: u64) {
    crate::file::moved_to(file, end);
    let _ = fsd::fileinfo::set(&vol.core, ccb, &SetRequest::Position(end), None);
}

/// A cached read.
pub fn read(
    vol: &MountedVolume,
    irp: Irp,
    ccb: &mut Ccb,
    fcb: &mut FileControl,
    offset: i64,
    buf: &mut [u8],
) -> Completion {
    let file = irp.file_object();
    if ccb.granted_access() & (fsd::access::FILE_READ_DATA | fsd::access::FILE_EXECUTE) == 0 {
        return NtStatus::ACCESS_DENIED.into();
    }
    if let Err(s) = oplock_check(fcb, irp) {
        return s.into();
    }
    let _main = fcb.main(false);
    let offset = offset_of(file, ccb, offset);
    let (_, size) = fcb.sizes();
    if offset >= size {
        return NtStatus::END_OF_FILE.into();
    }
    let n = (buf.len() as u64).min(size - offset) as usize;
    if let Err(s) = fsd::read::check_locks(&vol.core, ccb, offset, n as u64, false) {
        return s.into();
    }
    if let Err(s) = ensure_cache_map(file, fcb) {
        return s.into();
    }
    let mut at: nt::LARGE_INTEGER = zeroed();
    at.QuadPart = offset as i64;
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    let target = buf.as_mut_ptr().cast();
    // SAFETY: the caller's buffer of n bytes or more, alive for the call.
    let copied = guarded(|| unsafe {
        nt::CcCopyRead(file, &mut at, n as u32, 1, target, &mut iosb);
    });
    if let Err(s) = copied {
        return s.into();
    }
    if let Err(s) = status_of(&iosb) {
        return s.into();
    }
    advance(vol, file, ccb, offset + n as u64);
    Completion::ok(n as u64)
}

/// FO_WRITE_THROUGH (wdm.h): the file was opened write-through.
const FO_WRITE_THROUGH: u32 = 0x0000_0010;

/// A cached write; past the end of the file it extends the file first
/// (in the core, then in the header and the cache manager). The cache
/// manager may hold it back first while too much is dirty (CcCanIWrite,
/// waiting: FastFat `write.c` asks before it takes the FCB; the lazy
/// writer's writes go to paging workers, so the wait ends). A
/// write-through write (the open's or the request's) is written out of
/// the cache and to the disk before it completes.
pub fn write(
    vol: &MountedVolume,
    irp: Irp,
    ccb: &mut Ccb,
    fcb: &mut FileControl,
    offset: i64,
    data: &[u8],
) -> Completion {
    let file = irp.file_object();
    if ccb.granted_access() & fsd::access::WRITES_DATA == 0 {
        return NtStatus::ACCESS_DENIED.into();
    }
    if let Err(s) = oplock_check(fcb, irp) {
        return s.into();
    }
    // SAFETY: our file object; with Wait set the call returns once the
    // write may go (its answer is then always yes).
    let asked = guarded(|| unsafe {
        nt::CcCanIWrite(file, data.len() as u32, 1, 0);
    });
    if let Err(s) = asked {
        return s.into();
    }
    let _main = fcb.main(true);
    let (_, size) = fcb.sizes();
    let offset = match offset {
        crate::write::TO_END_OF_FILE => size,
        o if o < 0 && o != crate::read::USE_FILE_POINTER => {
            return NtStatus::INVALID_PARAMETER.into();
        }
        o => offset_of(file, ccb, o),
    };
    if data.is_empty() {
        return Completion::ok(0);
    }
    let end = offset + data.len() as u64;
    if let Err(s) = fsd::read::check_locks(&vol.core, ccb, offset, data.len() as u64, true) {
        return s.into();
    }
    if let Err(s) = ensure_cache_map(file, fcb) {
        return s.into();
    }
    if end > size {
        let grown = fsd::fileinfo::set(&vol.core, ccb, &SetRequest::EndOfFile(end), None);
        if grown.status.is_error() {
            return grown;
        }
        if let Err(s) = set_sizes(vol, file, ccb, fcb) {
            return s.into();
        }
    }
    let mut at: nt::LARGE_INTEGER = zeroed();
    at.QuadPart = offset as i64;
    let source = data.as_ptr().cast_mut().cast();
    let mut wrote = 0u8;
    // SAFETY: the caller's data of data.len() bytes, alive for the call.
    let copied = guarded(|| unsafe {
        wrote = nt::CcCopyWrite(file, &mut at, data.len() as u32, 1, source);
    });
    match copied {
        Err(s) => return s.into(),
        Ok(()) if wrote == 0 => return NtStatus::INSUFFICIENT_RESOURCES.into(),
        Ok(()) => {}
    }
    // SAFETY: our file object.
    let through = unsafe { (*file).Flags } & FO_WRITE_THROUGH != 0
        || irp.stack().Flags as u32 & nt::SL_WRITE_THROUGH != 0;
    if through {
        let written = {
            let _paging = fcb.paging(false);
            flush_cache(fcb, &mut at, data.len())
        };
        if let Err(s) = written {
            return s.into();
        }
        let synced = fsd::flush::flush(&vol.core, ccb);
        if synced.status.is_error() {
            return synced;
        }
    }
    advance(vol, file, ccb, end);
    Completion::ok(data.len() as u64)
}

/// Paging I/O: the pages' data to or from the core, uncached. The caller
/// (the cache or memory manager) holds what it needs of the FCB.
pub fn paging(
    vol: &MountedVolume,
    handle: &fsd::Handle,
    write: bool,
    offset: i64,
    buf: &mut [u8],
) -> Completion {
    if offset < 0 {
        return NtStatus::INVALID_PARAMETER.into();
    }
    if write {
        fsd::write::write_paging(&vol.core, handle, offset as u64, buf)
    } else {
        fsd::read::read_paging(&vol.core, handle, offset as u64, buf)
    }
}

/// Before a non-cached read (`write` false) or write of a cached file:
/// what the cache holds there written out, and for a write dropped, so
/// that neither side sees stale data.
pub fn make_coherent(
    fcb: &mut FileControl,
    write: bool,
    offset: i64,
    length: usize,
) -> Result<(), NtStatus> {
    if fcb.section.DataSectionObject.is_null() {
        return Ok(());
    }
    let _paging = fcb.paging(true);
    let mut at: nt::LARGE_INTEGER = zeroed();
    at.QuadPart = offset.max(0);
    flush_cache(fcb, &mut at, length)?;
    let section: *mut nt::SECTION_OBJECT_POINTERS = &mut fcb.section;
    if write {
        // SAFETY: the file's section pointers; a purge of the range just
        // written out.
        guarded(|| unsafe {
            nt::CcPurgeCacheSection(section, &mut at, length as u32, 0);
        })?;
    }
    Ok(())
}

/// The header's sizes from the core (after a size change there, by any
/// file object of the file), told to the cache and memory managers
/// whether or not this file object caches: "MM always wants to know"
/// (FastFat `fileinfo.c` FatSetEndOfFileInfo calls CcSetFileSizes
/// unconditionally; it does nothing for a file neither cached nor mapped).
pub fn set_sizes(
    vol: &MountedVolume,
    file: *mut nt::FILE_OBJECT,
    ccb: &Ccb,
    fcb: &mut FileControl,
) -> Result<(), NtStatus> {
    let (allocation, size) = crate::file::sizes(vol, ccb);
    {
        let _paging = fcb.paging(true);
        fcb.set_sizes(allocation, size);
    }
    tell_sizes(file, fcb)
}

/// CcSetFileSizes with the header's sizes, through `file` (any file object
/// of the FCB: the call reaches the file's shared cache map and sections).
fn tell_sizes(file: *mut nt::FILE_OBJECT, fcb: &mut FileControl) -> Result<(), NtStatus> {
    let mut sizes = fcb.cc_sizes();
    // SAFETY: a file object of the FCB, whose section pointers it carries.
    guarded(|| unsafe { nt::CcSetFileSizes(file, &mut sizes) })
}

/// Asked by the core before an overwrite or supersede empties file `id`
/// of the volume at `volume` (see `fsd::EmptyCheck`): refused with
/// STATUS_USER_MAPPED_FILE while a section maps it (FastFat `create.c`
/// FatSupersedeOrOverwriteFile: MmCanFileBeTruncated to zero).
pub fn may_empty(volume: usize, id: u64) -> Result<(), NtStatus> {
    let Some(fcb) = crate::file_control::cached_in_use(volume, id) else {
        return Ok(());
    };
    // SAFETY: referenced by cached_in_use until released below.
    let f = unsafe { &mut *fcb };
    let mut zero: nt::LARGE_INTEGER = zeroed();
    // SAFETY: the file's section pointers and a size of zero.
    let can = unsafe { nt::MmCanFileBeTruncated(&mut f.section, &mut zero) } != 0;
    crate::file_control::release(fcb);
    if can {
        Ok(())
    } else {
        Err(NtStatus::USER_MAPPED_FILE)
    }
}

/// An open of a cached file that writes its data or deletes it on close,
/// while an image section (a running program) maps the file: the image
/// section is flushed if it can be, else the open is refused
/// (STATUS_SHARING_VIOLATION, or STATUS_CANNOT_DELETE for a
/// delete-on-close open), as FastFat's `create.c` FatOpenExistingFcb
/// does with MmFlushImageSection.
pub fn image_allows(
    fcb: &mut FileControl,
    access: u32,
    delete_on_close: bool,
) -> Result<(), NtStatus> {
    let writes = access & fsd::access::WRITES_DATA != 0;
    if !(writes || delete_on_close) || fcb.section.ImageSectionObject.is_null() {
        return Ok(());
    }
    // SAFETY: the file's section pointers.
    if unsafe { nt::MmFlushImageSection(&mut fcb.section, nt::MmFlushForWrite) } != 0 {
        return Ok(());
    }
    Err(if delete_on_close {
        NtStatus::CANNOT_DELETE
    } else {
        NtStatus::SHARING_VIOLATION
    })
}

/// A create that emptied a cached file (FILE_OVERWRITE(_IF),
/// FILE_SUPERSEDE) another open may have had cached: the header follows
/// the core, and what the cache held of the old data goes.
pub fn overwritten(vol: &MountedVolume, ccb: &Ccb, fcb: &mut FileControl) -> Result<(), NtStatus> {
    let (allocation, size) = crate::file::sizes(vol, ccb);
    let _paging = fcb.paging(true);
    fcb.set_sizes(allocation, size);
    if fcb.section.DataSectionObject.is_null() {
        return Ok(());
    }
    let section: *mut nt::SECTION_OBJECT_POINTERS = &mut fcb.section;
    // SAFETY: the file's section pointers; the whole file.
    guarded(|| unsafe {
        nt::CcPurgeCacheSection(section, null_mut(), 0, 0);
    })
}

/// A change of the end of file or allocation of a cached file (IRP_MJ_SET_
/// INFORMATION): refused (STATUS_USER_MAPPED_FILE) if it would cut a
/// mapped section short; the oplocks others hold broken first; made in the
/// core and the header under the paging I/O resource when it cuts the
/// file (no paging I/O then runs past the new end: FastFat `fileinfo.c`
/// FatSetEndOfFileInfo), then told to the cache manager.
pub fn set_size(
    vol: &MountedVolume,
    irp: Irp,
    ccb: &mut Ccb,
    fcb: &mut FileControl,
    req: &SetRequest,
) -> Completion {
    let file = irp.file_object();
    if let Err(s) = oplock_check(fcb, irp) {
        return s.into();
    }
    let _main = fcb.main(true);
    let (_, size) = fcb.sizes();
    let cut = match *req {
        SetRequest::EndOfFile(new) | SetRequest::Allocation(new) => new < size,
        _ => false,
    };
    if let (true, SetRequest::EndOfFile(new) | SetRequest::Allocation(new)) = (cut, req) {
        let mut at: nt::LARGE_INTEGER = zeroed();
        at.QuadPart = *new as i64;
        // SAFETY: the file's section pointers and the new size.
        if unsafe { nt::MmCanFileBeTruncated(&mut fcb.section, &mut at) } == 0 {
            return NtStatus::USER_MAPPED_FILE.into();
        }
    }
    let c = {
        let _paging = cut.then(|| fcb.paging(true));
        let c = fsd::fileinfo::set(&vol.core, ccb, req, None);
        if !c.status.is_error() {
            let (allocation, size) = crate::file::sizes(vol, ccb);
            let _paging = (!cut).then(|| fcb.paging(true));
            fcb.set_sizes(allocation, size);
        }
        c
    };
    if c.status.is_error() {
        return c;
    }
    match tell_sizes(file, fcb) {
        Ok(()) => c,
        Err(s) => s.into(),
    }
}

/// The file object's last handle went: its cache map goes (the data stays
/// cached for the file's other opens, and is written back by the lazy
/// writer; a file being deleted is purged), under the FCB's main resource
/// held exclusive, as FastFat's FatCommonCleanup purges.
pub fn cleanup(file: *mut nt::FILE_OBJECT, fcb: &mut FileControl, deleted: bool) {
    let _main = fcb.main(true);
    let mut zero: nt::LARGE_INTEGER = zeroed();
    let truncate = if deleted {
        &mut zero as *mut _
    } else {
        null_mut()
    };
    // SAFETY: our file object; its cache map (if any) goes.
    let _ = guarded(|| unsafe {
        nt::CcUninitializeCacheMap(file, truncate, null_mut());
    });
}

/// Before a lock, dismount or removal of `vol` decides anything: every
/// cached file's dirty pages written out and its cache purged, so that
/// nothing the lazy writer holds is lost and the file objects the cache
/// keeps without handles are let go (FastFat `fsctrl.c`
/// FatLockVolumeInternal: FatFlushVolume, then
/// FatPurgeReferencedFileObjects); for a dismount (`force`) the file's
/// sections are closed too (MmForceSectionClosed), where nothing maps
/// them. Each file under its main resource held exclusive, as purges must
/// be. The first flush that failed, if any (every file is still tried).
pub fn flush_and_purge(vol: &MountedVolume, force: bool) -> Result<(), NtStatus> {
    let mut result = Ok(());
    for fcb in crate::file_control::cached_of(vol as *const MountedVolume as usize) {
        // SAFETY: referenced by cached_of until released below.
        let f = unsafe { &mut *fcb };
        if !f.section.DataSectionObject.is_null() || !f.section.SharedCacheMap.is_null() {
            let _main = f.main(true);
            let flushed = {
                let _paging = f.paging(true);
                flush_cache(f, null_mut(), 0)
            };
            result = result.and(flushed);
            let section: *mut nt::SECTION_OBJECT_POINTERS = &mut f.section;
            // SAFETY: the file's section pointers; the whole file; then, for a
            // dismount, its sections, which Mm closes only if unmapped.
            let _ = guarded(|| unsafe {
                nt::CcPurgeCacheSection(section, null_mut(), 0, 0);
                if force {
                    nt::MmForceSectionClosed(section, 1);
                }
            });
        }
        crate::file_control::release(fcb);
    }
    result
}

/// IRP_MJ_FLUSH_BUFFERS of a cached file: the cache written out first.
pub fn flush(fcb: &mut FileControl) -> Result<(), NtStatus> {
    if !fcb.cached || fcb.section.DataSectionObject.is_null() {
        return Ok(());
    }
    let _main = fcb.main(true);
    let _paging = fcb.paging(false);
    flush_cache(fcb, null_mut(), 0)
}

/// What the cache holds of the file written out: `length` bytes from
/// `at`, or all of it (`at` null).
fn flush_cache(
    fcb: &mut FileControl,
    at: *mut nt::LARGE_INTEGER,
    length: usize,
) -> Result<(), NtStatus> {
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    let section: *mut nt::SECTION_OBJECT_POINTERS = &mut fcb.section;
    // SAFETY: the file's section pointers; a range of the file or none.
    guarded(|| unsafe { nt::CcFlushCache(section, at, length as u32, &mut iosb) })?;
    status_of(&iosb)
}

/// The status a cache manager call left in its IO_STATUS_BLOCK.
fn status_of(iosb: &nt::IO_STATUS_BLOCK) -> Result<(), NtStatus> {
    // SAFETY: the status view of the IO_STATUS_BLOCK's union.
    match unsafe { iosb.__bindgen_anon_1.Status } {
        s if s < 0 => Err(NtStatus(s as u32)),
        _ => Ok(()),
    }
}

/// FSCTL codes of the oplock package (ntifs.h): requests, their
/// acknowledgements and queries.
pub fn is_oplock_fsctl(code: u32) -> bool {
    matches!(
        code,
        0x0009_0000 // FSCTL_REQUEST_OPLOCK_LEVEL_1
            | 0x0009_0004 // FSCTL_REQUEST_OPLOCK_LEVEL_2
            | 0x0009_0008 // FSCTL_REQUEST_BATCH_OPLOCK
            | 0x0009_000C // FSCTL_OPLOCK_BREAK_ACKNOWLEDGE
            | 0x0009_0010 // FSCTL_OPBATCH_ACK_CLOSE_PENDING
            | 0x0009_0014 // FSCTL_OPLOCK_BREAK_NOTIFY
            | 0x0009_005C // FSCTL_REQUEST_FILTER_OPLOCK
            | 0x0009_0050 // FSCTL_OPLOCK_BREAK_ACK_NO_2
            | 0x0009_0240 // FSCTL_REQUEST_OPLOCK
    )
}

/// An oplock FSCTL on a cached file, through the FsRtl package, which
/// completes or pends the IRP itself (on the dispatch thread: an
/// acknowledgement must not wait for a worker a create's break holds).
/// `open_count`: the file's open handles (exclusive oplocks go to a lone
/// opener). Guarded: if the package raises, the IRP is not its, and is
/// completed here with the exception's status.
pub fn oplock_fsctl(fcb: &mut FileControl, irp: Irp, open_count: u32) -> i32 {
    let mut status = 0;
    // SAFETY: the file's oplock; FsRtlOplockFsctrl owns the IRP from here,
    // unless it raises.
    let called = guarded(|| unsafe {
        status = nt::FsRtlOplockFsctrl(&mut fcb.oplock, irp.raw(), open_count);
    });
    match called {
        Ok(()) => status,
        Err(s) => irp.complete_status(s),
    }
}

/// The oplocks other opens hold, broken as `irp` needs (waiting for their
/// holders' acknowledgements: no completion routine), guarded against the
/// package raising (FastFat's calls run inside its exception handlers):
/// its status (STATUS_OPLOCK_BREAK_IN_PROGRESS is a success).
fn check_oplock(fcb: &mut FileControl, irp: Irp) -> Result<NtStatus, NtStatus> {
    let mut s = 0;
    // SAFETY: the file's oplock and a request on it.
    guarded(|| unsafe {
        s = nt::FsRtlCheckOplock(&mut fcb.oplock, irp.raw(), null_mut(), None, None);
    })?;
    if s < 0 {
        Err(NtStatus(s as u32))
    } else {
        Ok(NtStatus(s as u32))
    }
}

/// Before a read, write, size change, flush or byte-range lock of a cached
/// file: the oplocks others hold are broken as this request needs
/// (FastFat `read.c`, `write.c`, `fileinfo.c`, `flush.c`, `lockctrl.c`).
pub fn oplock_check(fcb: &mut FileControl, irp: Irp) -> Result<(), NtStatus> {
    if !fcb.cached {
        return Ok(());
    }
    check_oplock(fcb, irp).map(|_| ())
}

/// A create of a cached file: the oplocks others hold are broken as the
/// new open needs (STATUS_OPLOCK_BREAK_IN_PROGRESS, a success, for
/// FILE_COMPLETE_IF_OPLOCKED).
pub fn oplock_create(fcb: &mut FileControl, irp: Irp) -> Result<NtStatus, NtStatus> {
    if !fcb.cached {
        return Ok(NtStatus::SUCCESS);
    }
    check_oplock(fcb, irp)
}

/// Before a create decides share access: a batch oplock on the existing
/// file it names is broken first (waiting for its holder, which may close
/// the handle it only kept for later), as FastFat's FatOpenExistingFcb
/// checks FsRtlCurrentBatchOplock before IoCheckShareAccess. What the
/// break says is for the create's own oplock check after the open.
pub fn break_batch_oplock(vol: &MountedVolume, irp: Irp, req: &fsd::create::CreateRequest) {
    let volume = vol as *const MountedVolume as usize;
    if !crate::file_control::any_cached_in_use(volume) {
        return;
    }
    let Some(id) = fsd::create::existing_id(&vol.core, req) else {
        return;
    };
    let Some(fcb) = crate::file_control::cached_in_use(volume, id) else {
        return;
    };
    // SAFETY: referenced by cached_in_use until released below.
    let f = unsafe { &mut *fcb };
    let mut batch = 0;
    // SAFETY: the file's oplock.
    let asked = guarded(|| unsafe { batch = nt::FsRtlCurrentBatchOplock(&mut f.oplock) });
    if asked.is_ok() && batch != 0 {
        let _ = check_oplock(f, irp);
    }
    crate::file_control::release(fcb);
}

/// A cleanup lets go of what the file object's handle held of the oplock
/// (on the dispatch thread: a create waiting for that break may hold every
/// worker).
pub fn oplock_cleanup(fcb: &mut FileControl, irp: Irp) {
    let _ = oplock_check(fcb, irp);
}
