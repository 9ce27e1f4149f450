//! The FCB Windows sees: what every file object of one file points at
//! (FsContext), headed by the FSRTL_ADVANCED_FCB_HEADER the cache and
//! memory managers read (the file's sizes, its main and paging I/O
//! resources), with its SECTION_OBJECT_POINTERS and, in the full mode, its
//! oplock. One per file of a volume (and one for opens of the volume
//! itself), made with the file's first file object; after the last one's
//! close it stays idle for the file's next open (up to 64, the oldest
//! freed first, as the core keeps its own), since making one costs more
//! than the open it serves. A section that maps the file keeps a file
//! object, and so the FCB, until the section goes. The file's data and names stay
//! the core's (its own FCB, behind the open's CCB in FsContext2).
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::ptr::null_mut;

use lkl_ntk::{nt, zeroed};
use spin::Mutex;

/// FSRTL_FLAG_ADVANCED_FCB_HEADER (ntifs.h).
const FSRTL_FLAG_ADVANCED_FCB_HEADER: u8 = 0x40;
/// Ours, as file systems mark their FCBs (NodeTypeCode).
const NODE_TYPE: i16 = 0x4C46;
/// The file id of the volume's own opens.
pub const VOLUME_ID: u64 = u64::MAX;

#[repr(C)]
pub struct FileControl {
    /// First: FsContext points at it.
    pub header: nt::FSRTL_ADVANCED_FCB_HEADER,
    pub section: nt::SECTION_OBJECT_POINTERS,
    main: nt::ERESOURCE,
    paging: nt::ERESOURCE,
    header_mutex: nt::FAST_MUTEX,
    pub oplock: nt::OPLOCK,
    /// Cached, mappable and oplocked: a regular file in the full mode.
    pub cached: bool,
    key: Key,
    /// File objects pointing at it.
    references: usize,
}

// SAFETY: the kernel objects inside are usable from any thread; the
// registry below is behind a lock.
unsafe impl Send for FileControl {}

/// A volume's address, a file id, and whether the FCB caches (a file id
/// Linux gives anew may come back as another kind of file).
type Key = (usize, u64, bool);

/// The FCBs, and the idle ones (no file object) oldest first.
struct Registry {
    fcbs: BTreeMap<Key, Box<FileControl>>,
    idle: VecDeque<Key>,
}

static FCBS: Mutex<Registry> = Mutex::new(Registry {
    fcbs: BTreeMap::new(),
    idle: VecDeque::new(),
});

/// Idle FCBs kept.
const IDLE: usize = 64;

/// The FCB of file `id` on `volume` (a MountedVolume's address), made if
/// it has none, with one more file object pointing at it. A cached FCB
/// made or taken from idle gets its sizes (allocation, end of file) from
/// `sizes` (asked outside the registry's lock: it is a system call); the
/// others' header sizes serve no one and are left alone.
pub fn attach(
    volume: usize,
    id: u64,
    cached: bool,
    sizes: impl FnOnce() -> (u64, u64),
) -> *mut FileControl {
    let key = (volume, id, cached);
    if let Some(f) = FCBS.lock().fcbs.get_mut(&key).filter(|f| f.references > 0) {
        f.references += 1;
        return &mut **f;
    }
    let sizes = if cached { sizes() } else { (0, 0) };
    let mut registry = FCBS.lock();
    let Registry { fcbs, idle } = &mut *registry;
    if let Some(f) = fcbs.get_mut(&key) {
        if f.references == 0 {
            // Idle: the file may have changed since, by another name.
            idle.retain(|k| *k != key);
            f.set_sizes(sizes.0, sizes.1);
        }
        f.references += 1;
        return &mut **f;
    }
    let mut f = Box::new(FileControl {
        header: zeroed(),
        section: zeroed(),
        main: zeroed(),
        paging: zeroed(),
        header_mutex: zeroed(),
        oplock: null_mut(),
        cached,
        key,
        references: 1,
    });
    // SAFETY: the FCB is boxed (its address stays) and not yet shared.
    unsafe { f.init(sizes) };
    let p: *mut FileControl = &mut *f;
    fcbs.insert(key, f);
    p
}

/// One file object less points at `fcb` (its CLOSE); with the last the
/// FCB goes idle, and the oldest idle one beyond [`IDLE`] is freed.
pub fn release(fcb: *mut FileControl) {
    let evicted = {
        let mut registry = FCBS.lock();
        let Registry { fcbs, idle } = &mut *registry;
        // SAFETY: an FCB of the registry (attach gave it), alive while a
        // file object points at it.
        let key = unsafe { (*fcb).key };
        match fcbs.get_mut(&key) {
            Some(f) if f.references > 1 => {
                f.references -= 1;
                None
            }
            Some(f) => {
                f.references = 0;
                idle.push_back(key);
                if idle.len() > IDLE {
                    idle.pop_front().and_then(|old| fcbs.remove(&old))
                } else {
                    None
                }
            }
            None => None,
        }
    };
    if let Some(mut f) = evicted {
        // SAFETY: idle, so nothing uses the FCB.
        unsafe { f.teardown() };
    }
}

/// The cached FCBs of `volume` (a MountedVolume's address) that file
/// objects point at (only those can have a cache or section), each with
/// one more reference, for the caller to give back with [`release`].
pub fn cached_of(volume: usize) -> Vec<*mut FileControl> {
    let mut registry = FCBS.lock();
    registry
        .fcbs
        .values_mut()
        .filter(|f| f.cached && f.key.0 == volume && f.references > 0)
        .map(|f| {
            f.references += 1;
            &mut **f as *mut FileControl
        })
        .collect()
}

/// Whether any cached FCB of `volume` has file objects pointing at it
/// (only such a file can hold an oplock).
pub fn any_cached_in_use(volume: usize) -> bool {
    FCBS.lock()
        .fcbs
        .values()
        .any(|f| f.cached && f.key.0 == volume && f.references > 0)
}

/// The cached FCB of file `id` on `volume` if file objects point at it,
/// with one more reference, for the caller to give back with [`release`].
pub fn cached_in_use(volume: usize, id: u64) -> Option<*mut FileControl> {
    let mut registry = FCBS.lock();
    let f = registry
        .fcbs
        .get_mut(&(volume, id, true))
        .filter(|f| f.references > 0)?;
    f.references += 1;
    Some(&mut **f as *mut FileControl)
}

/// Frees what unload finds left (file objects the system never closed).
pub fn release_all() {
    let all = {
        let mut registry = FCBS.lock();
        registry.idle = VecDeque::new();
        core::mem::take(&mut registry.fcbs)
    };
    for (_, mut f) in all {
        // SAFETY: unload: no request runs any more.
        unsafe { f.teardown() };
    }
}

/// The FCB a file object of ours points at.
pub fn of<'a>(file: *mut nt::FILE_OBJECT) -> Option<&'a mut FileControl> {
    if file.is_null() {
        return None;
    }
    // SAFETY: FsContext of our file objects is an FCB of the registry (or
    // null), alive while the file object is.
    unsafe { ((*file).FsContext as *mut FileControl).as_mut() }
}

impl FileControl {
    /// Sets up the header (what ExInitializeFastMutex and
    /// FsRtlSetupAdvancedHeader, both inline in the DDK, do), the
    /// resources and, when cached, the oplock.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    unsafe fn init(&mut self, (allocation, size): (u64, u64)) {
        // SAFETY: fresh objects of ours, at their final addresses.
        unsafe {
            nt::ExInitializeResourceLite(&mut self.main);
            nt::ExInitializeResourceLite(&mut self.paging);
            self.header_mutex.Count = 1;
            nt::KeInitializeEvent(&mut self.header_mutex.Event, nt::SynchronizationEvent, 0);
            if self.cached {
                nt::FsRtlInitializeOplock(&mut self.oplock);
            }
        }
        let h = &mut self.header;
        h.NodeTypeCode = NODE_TYPE;
        h.NodeByteSize = core::mem::size_of::<FileControl>() as i16;
        h.Resource = &mut self.main;
        h.PagingIoResource = &mut self.paging;
        h.Flags |= FSRTL_FLAG_ADVANCED_FCB_HEADER;
        if self.cached {
            h.Flags2 |= nt::FSRTL_FLAG2_SUPPORTS_FILTER_CONTEXTS as u8;
        }
        h.set_Version(0);
        let list: *mut nt::LIST_ENTRY = &mut h.FilterContexts;
        h.FilterContexts.Flink = list;
        h.FilterContexts.Blink = list;
        h.FastMutex = &mut self.header_mutex;
        self.set_sizes(allocation, size);
    }

    /// # Safety
    /// The last reference: nothing uses the FCB after.
    unsafe fn teardown(&mut self) {
        // SAFETY: what init set up, undone once.
        unsafe {
            if self.cached {
                nt::FsRtlTeardownPerStreamContexts(&mut self.header);
                nt::FsRtlUninitializeOplock(&mut self.oplock);
            }
            nt::ExDeleteResourceLite(&mut self.main);
            nt::ExDeleteResourceLite(&mut self.paging);
        }
    }

    /// The header's sizes: allocation, end of file.
    pub fn sizes(&self) -> (u64, u64) {
        // SAFETY: the integer views of the header's LARGE_INTEGERs.
        unsafe {
            (
                self.header.AllocationSize.QuadPart as u64,
                self.header.FileSize.QuadPart as u64,
            )
        }
    }

    /// Sets the header's sizes (valid data: the end of file, as Linux
    /// reads what was never written as zeros). Callers hold the paging
    /// I/O resource exclusively where the cache may read them.
    pub fn set_sizes(&mut self, allocation: u64, size: u64) {
        let allocation = allocation.max(size);
        self.header.AllocationSize.QuadPart = allocation as i64;
        self.header.FileSize.QuadPart = size as i64;
        self.header.ValidDataLength.QuadPart = size as i64;
    }

    /// The main resource, shared or exclusive, until the guard goes.
    pub fn main(&mut self, exclusive: bool) -> Held {
        Held::acquire(&mut self.main, exclusive)
    }

    /// The paging I/O resource, likewise.
    pub fn paging(&mut self, exclusive: bool) -> Held {
        Held::acquire(&mut self.paging, exclusive)
    }

    /// The main resource, for a caller that gives it back in another call
    /// (the fast I/O acquire and release callbacks): held until
    /// [`FileControl::release_kept`].
    pub fn keep_main(&mut self, exclusive: bool) {
        core::mem::forget(Held::acquire(&mut self.main, exclusive));
    }

    /// The paging I/O resource, likewise; without waiting if `wait` is
    /// false (then whether it was had).
    pub fn keep_paging(&mut self, exclusive: bool, wait: bool) -> bool {
        match Held::try_acquire(&mut self.paging, exclusive, wait) {
            Some(held) => {
                core::mem::forget(held);
                true
            }
            None => false,
        }
    }

    /// The paging I/O resource's address (what the modified page writer
    /// is told to release).
    pub fn paging_resource(&mut self) -> *mut nt::ERESOURCE {
        &mut self.paging
    }

    /// The main resource's address.
    pub fn main_resource(&mut self) -> *mut nt::ERESOURCE {
        &mut self.main
    }

    /// Gives back a resource kept by `keep_main` or `keep_paging`.
    ///
    /// # Safety
    /// `resource` is this FCB's, kept by the calling thread.
    pub unsafe fn release_kept(resource: *mut nt::ERESOURCE) {
        drop(Held(resource));
    }

    /// The cache manager's sizes.
    pub fn cc_sizes(&self) -> nt::CC_FILE_SIZES {
        nt::CC_FILE_SIZES {
            AllocationSize: self.header.AllocationSize,
            FileSize: self.header.FileSize,
            ValidDataLength: self.header.ValidDataLength,
        }
    }
}

/// A resource held (in a critical region, as resources must be).
pub struct Held(*mut nt::ERESOURCE);

/// The resources held now, by thread: what a thread that parks after a
/// Linux panic lets go of (see [`let_go_of_held`]).
static HOLDERS: Mutex<alloc::vec::Vec<(usize, usize)>> = Mutex::new(alloc::vec::Vec::new());

fn current_thread() -> usize {
    // SAFETY: no arguments; the calling thread's object.
    unsafe { nt::KeGetCurrentThread() as usize }
}

/// Run by a thread that parks for good after a Linux panic (see
/// `lkl_ntk::death::on_park`): the FCB resources it holds are released
/// and its critical regions left, so that the cache and memory managers
/// do not wait for it for ever, and it ends with APCs enabled.
pub fn let_go_of_held() {
    let me = current_thread();
    let mine: alloc::vec::Vec<usize> = {
        let mut holders = HOLDERS.lock();
        let mine = holders.iter().filter(|h| h.0 == me).map(|h| h.1).collect();
        holders.retain(|h| h.0 != me);
        mine
    };
    for resource in mine.into_iter().rev() {
        // SAFETY: a resource this thread acquired (in a critical region)
        // and will never release otherwise: it parks.
        unsafe {
            nt::ExReleaseResourceLite(resource as *mut nt::ERESOURCE);
            nt::KeLeaveCriticalRegion();
        }
    }
}

/// Frees the table of holders (unload).
pub fn release_holders() {
    drop(core::mem::take(&mut *HOLDERS.lock()));
}

impl Held {
    fn acquire(resource: *mut nt::ERESOURCE, exclusive: bool) -> Held {
        Held::try_acquire(resource, exclusive, true).expect("a waiting acquire")
    }

    /// Acquires `resource`, waiting for it if `wait`; None if it could not
    /// be had at once.
    fn try_acquire(resource: *mut nt::ERESOURCE, exclusive: bool, wait: bool) -> Option<Held> {
        // SAFETY: an initialised resource of a live FCB; waiting allowed
        // (callers run at PASSIVE_LEVEL), inside a critical region.
        let had = unsafe {
            nt::KeEnterCriticalRegion();
            if exclusive {
                nt::ExAcquireResourceExclusiveLite(resource, wait as u8)
            } else {
                nt::ExAcquireResourceSharedLite(resource, wait as u8)
            }
        };
        if had == 0 {
            // SAFETY: entered above.
            unsafe { nt::KeLeaveCriticalRegion() };
            return None;
        }
        HOLDERS.lock().push((current_thread(), resource as usize));
        Some(Held(resource))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let me = (current_thread(), self.0 as usize);
        let mut holders = HOLDERS.lock();
        if let Some(at) = holders.iter().rposition(|h| *h == me) {
            holders.swap_remove(at);
        }
        drop(holders);
        // SAFETY: the resource acquired by this guard's thread.
        unsafe {
            nt::ExReleaseResourceLite(self.0);
            nt::KeLeaveCriticalRegion();
        }
    }
}
