//! The mounted volumes: each a volume device object (`\Device\LklFsdVolumeN`)
//! whose extension points at the fsd core's Volume, the Linux disk under
//! it, and the device and VPB it was mounted from. A dismounted volume
//! stays in memory (its device may still get CLOSEs) until unload.
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use fsd::{NtStatus, Volume, VolumeOptions};
use lkl::AddedDisk;
use lkl_ntk::nt;
use spin::Mutex;

use crate::devices::{self, Kind};
use crate::vpb;

pub struct MountedVolume {
    pub number: u32,
    pub core: Volume,
    disk: Mutex<Option<AddedDisk>>,
    /// The device mounted from (an image disk, a partition), referenced
    /// while the volume device lives.
    pub target: *mut nt::DEVICE_OBJECT,
    pub device: *mut nt::DEVICE_OBJECT,
    /// The VPB mounted (null: none, a mount of our own without one).
    pub vpb: *mut nt::VPB,
    /// The VPB the target gets at dismount (see `vpb`), until then.
    spare_vpb: AtomicPtr<nt::VPB>,
    /// The VPB was let go (swapped out or cleared) at dismount.
    vpb_released: AtomicBool,
    /// It was swapped out, so it is ours to free with the device.
    vpb_ours: AtomicBool,
    /// The file system's UUID when the whole device was mounted (what
    /// VERIFY_VOLUME checks is still there); none for a partition of it.
    pub identity: Option<[u8; 16]>,
    /// Whose SIDs are which uids and gids, for the permission checks of
    /// user-mode opens; None when the file system ignores permissions.
    pub ids: Option<crate::id_map::IdMap>,
    /// The volume handle (file object) holding FSCTL_LOCK_VOLUME, or 0.
    pub locker: AtomicUsize,
    pub linked: bool,
    /// Dismounted: its device may still see CLOSEs of files opened
    /// before, so the volume stays in memory until unload.
    dismounted: AtomicBool,
    /// File objects open on the volume device (files and the volume).
    opens: AtomicUsize,
    device_deleted: AtomicBool,
}

impl MountedVolume {
    pub fn is_dismounted(&self) -> bool {
        self.dismounted.load(Ordering::Acquire)
    }

    /// A file object was opened on the volume device.
    pub fn opened(&self) {
        self.opens.fetch_add(1, Ordering::AcqRel);
    }

    /// A file object of the volume device was closed.
    pub fn closed(&self) {
        self.opens.fetch_sub(1, Ordering::AcqRel);
        self.delete_device_if_unused();
    }

    /// Deletes the device of a dismounted volume once no file object is
    /// open on it (deleting it under a request fails that request).
    fn delete_device_if_unused(&self) {
        let unused = self.is_dismounted() && self.opens.load(Ordering::Acquire) == 0;
        if unused {
            self.delete_device();
        }
    }

    /// Deletes the device whatever is open (unload); the VPB and the
    /// target device go with it.
    fn delete_device(&self) {
        if self.device_deleted.swap(true, Ordering::AcqRel) {
            return;
        }
        self.release_vpb();
        if !self.vpb.is_null() {
            // SAFETY: our volume's VPB, still allocated (freed just below
            // if ours).
            unsafe { vpb::device_gone(self.vpb) };
        }
        devices::delete(self.device);
        // SAFETY: a VPB swapped out is ours and names no device now; an
        // unused spare is ours; the target was referenced by `add`.
        unsafe {
            if self.vpb_ours.load(Ordering::Acquire) {
                vpb::free(self.vpb);
            }
            vpb::free(self.spare_vpb.swap(null_mut(), Ordering::AcqRel));
            nt::ObfDereferenceObject(self.target.cast());
        }
        crate::unload_gate::volume_device_gone();
    }

    /// The dismount's part of the VPB protocol (see `vpb`), once.
    fn release_vpb(&self) {
        if self.vpb.is_null() || self.vpb_released.swap(true, Ordering::AcqRel) {
            return;
        }
        let spare = self.spare_vpb.swap(null_mut(), Ordering::AcqRel);
        // SAFETY: our volume's VPB and our unused spare.
        let swapped = unsafe { vpb::swap_out(self.vpb, spare) };
        if swapped {
            self.vpb_ours.store(true, Ordering::Release);
        } else {
            // SAFETY: the spare stayed unused.
            unsafe { vpb::free(spare) };
        }
    }
}

// SAFETY: device objects and VPBs are kernel objects usable from any
// thread; the core volume is Send + Sync itself.
unsafe impl Send for MountedVolume {}
// SAFETY: as above.
unsafe impl Sync for MountedVolume {}

static VOLUMES: Mutex<Vec<Box<MountedVolume>>> = Mutex::new(Vec::new());

/// Makes the volume device for a mounted core volume; links
/// `\DosDevices\LklFsdVolumeN` if `link`.
pub fn add(
    driver: *mut nt::DRIVER_OBJECT,
    core: Volume,
    disk: AddedDisk,
    target: *mut nt::DEVICE_OBJECT,
    vpb: *mut nt::VPB,
    identity: Option<[u8; 16]>,
    ids: Option<crate::id_map::IdMap>,
    link: bool,
) -> Result<u32, NtStatus> {
    let spare = if vpb.is_null() {
        null_mut()
    } else {
        match vpb::allocate() {
            p if p.is_null() => return Err(NtStatus::INSUFFICIENT_RESOURCES),
            p => p,
        }
    };
    let mut volumes = VOLUMES.lock();
    let number = (0..)
        .find(|n| volumes.iter().all(|v| v.number != *n))
        .unwrap();
    let mut v = Box::new(MountedVolume {
        number,
        core,
        disk: Mutex::new(Some(disk)),
        target,
        device: null_mut(),
        vpb,
        spare_vpb: AtomicPtr::new(spare),
        vpb_released: AtomicBool::new(false),
        vpb_ours: AtomicBool::new(false),
        identity,
        ids,
        locker: AtomicUsize::new(0),
        linked: false,
        dismounted: AtomicBool::new(false),
        opens: AtomicUsize::new(0),
        device_deleted: AtomicBool::new(false),
    });
    let name = format!("{}{number}", lklfsd_control::VOLUME_DEVICE_PREFIX);
    let object = (&mut *v as *mut MountedVolume).cast();
    if crate::driver().settings.cached {
        // Files a section maps are not emptied (see cached_io::may_empty).
        let at = object as usize;
        let check = move |id| crate::cached_io::may_empty(at, id);
        v.core.set_empty_check(alloc::sync::Arc::new(check));
    }
    let device = devices::create(
        driver,
        &name,
        nt::FILE_DEVICE_DISK_FILE_SYSTEM,
        Kind::Volume,
        object,
        nt::DO_DIRECT_IO,
        false,
    )
    .map_err(|s| {
        // SAFETY: the spare was never used.
        unsafe { vpb::free(spare) };
        NtStatus(s as u32)
    })?;
    // SAFETY: our new device and the target it mounts, referenced while
    // the device lives; the VPB (if any) is the target's, handed to us by
    // MOUNT_VOLUME (its RealDevice is the I/O manager's to set).
    unsafe {
        (*device).StackSize = (*target).StackSize + 1;
        (*device).SectorSize = 512;
        nt::ObfReferenceObject(target.cast());
        if !vpb.is_null() {
            vpb::mounted(vpb, device);
        }
    }
    v.device = device;
    crate::unload_gate::volume_device_made();
    if link {
        let dos = format!("{}{number}", lklfsd_control::VOLUME_DOS_PREFIX);
        v.linked = devices::link(&dos, &name).is_ok();
    }
    volumes.push(v);
    Ok(number)
}

/// The numbers of the volumes (dismounted ones too, until unload).
pub fn numbers() -> Vec<u32> {
    VOLUMES.lock().iter().map(|v| v.number).collect()
}

/// Readies volume `number` for shutdown (see the core's
/// `prepare_for_shutdown`), unless it is dismounted already.
pub fn prepare_for_shutdown(number: u32) {
    let v = VOLUMES
        .lock()
        .iter()
        .find(|v| v.number == number && !v.is_dismounted())
        .map(|v| &**v as *const MountedVolume);
    // SAFETY: volumes stay in VOLUMES (boxed) until unload, which runs
    // after every request; the lock is not held across Linux calls.
    if let Some(v) = v.map(|v| unsafe { &*v }) {
        v.core.prepare_for_shutdown();
    }
}

/// Whether files are open on volume `number`.
pub fn has_open_files(number: u32) -> bool {
    VOLUMES
        .lock()
        .iter()
        .find(|v| v.number == number)
        .is_some_and(|v| v.core.has_open_files())
}

/// Marks volume `number` as dismounted with writes lost (see the core's
/// `mark_writes_lost`).
pub fn mark_writes_lost(number: u32) {
    if let Some(v) = VOLUMES.lock().iter().find(|v| v.number == number) {
        v.core.mark_writes_lost();
    }
}

/// The volume mounted from `target`, if any.
pub fn on_device(target: *mut nt::DEVICE_OBJECT) -> Option<u32> {
    VOLUMES
        .lock()
        .iter()
        .find(|v| v.target == target && !v.is_dismounted())
        .map(|v| v.number)
}

/// The device `target` said its media may have changed: whether the
/// volume mounted from it is still there (IRP_MN_VERIFY_VOLUME's check,
/// which clears the device's DO_VERIFY_VOLUME).
pub fn verify_on(target: *mut nt::DEVICE_OBJECT) -> bool {
    let v = VOLUMES
        .lock()
        .iter()
        .find(|v| v.target == target && !v.is_dismounted())
        .map(|v| &**v as *const MountedVolume);
    // SAFETY: volumes stay in VOLUMES (boxed) until unload.
    v.is_some_and(|v| !crate::mount::verify(unsafe { &*v }).status.is_error())
}

/// The device of mounted volume `number`.
pub fn device(number: u32) -> Option<*mut nt::DEVICE_OBJECT> {
    VOLUMES
        .lock()
        .iter()
        .find(|v| v.number == number && !v.is_dismounted())
        .map(|v| v.device)
}

pub fn count() -> usize {
    VOLUMES.lock().iter().filter(|v| !v.is_dismounted()).count()
}

/// Dismounts volume `number` (on a worker): the core lets its files go and
/// unmounts (STATUS_LOST_WRITEBEHIND_DATA if writes failed meanwhile),
/// the Linux disk goes, the device mounted from gets a fresh VPB (see
/// `vpb`), and the volume device is deleted after its last file object.
pub fn dismount(number: u32) -> Result<(), NtStatus> {
    let v = VOLUMES
        .lock()
        .iter()
        .find(|v| v.number == number)
        .filter(|v| !v.dismounted.swap(true, Ordering::AcqRel))
        .map(|v| &**v as *const MountedVolume)
        .ok_or(NtStatus::NO_SUCH_DEVICE)?;
    // SAFETY: volumes stay in VOLUMES (boxed) until unload, which runs
    // after every request; the lock is not held across Linux calls.
    let v = unsafe { &*v };
    let errors_before = v.disk.lock().as_ref().map(|d| d.errors());
    let mut result = v.core.dismount();
    let disk = v.disk.lock().take();
    if let Some(disk) = disk {
        // Writes that failed on the way out (a detach with files open
        // reports none itself): the data they held is lost.
        if result.is_ok() && errors_before.is_some_and(|before| disk.errors() > before) {
            result = Err(NtStatus::LOST_WRITEBEHIND_DATA);
        }
        let _ = disk.remove();
    }
    if v.linked {
        devices::unlink(&format!(
            "{}{}",
            lklfsd_control::VOLUME_DOS_PREFIX,
            v.number
        ));
    }
    v.release_vpb();
    v.delete_device_if_unused();
    result
}

/// Dismounts every volume mounted from `target` (before its disk goes).
pub fn dismount_on(target: *mut nt::DEVICE_OBJECT) {
    while let Some(n) = on_device(target) {
        let _ = dismount(n);
    }
}

/// Dismounts everything and frees the volumes (unload, on a worker: a
/// core volume's drop closes what it held in Linux).
pub fn dismount_all() {
    for n in numbers() {
        let _ = dismount(n);
    }
    for v in core::mem::take(&mut *VOLUMES.lock()) {
        v.delete_device();
    }
}

/// After a Linux panic (unload): the devices go, the volumes' memory is
/// left as it is (freeing it would run Linux code).
pub fn abandon_all() {
    for v in core::mem::take(&mut *VOLUMES.lock()) {
        if v.linked && !v.is_dismounted() {
            devices::unlink(&format!(
                "{}{}",
                lklfsd_control::VOLUME_DOS_PREFIX,
                v.number
            ));
        }
        v.delete_device();
        core::mem::forget(v);
    }
}

/// Mount options for `partition` (0: whole disk).
pub fn options(partition: u32, read_only: bool, fs_options: &str) -> VolumeOptions {
    VolumeOptions {
        partition: (partition != 0).then_some(partition),
        read_only,
        hide_dotfiles: false,
        fs_options: fs_options.into(),
    }
}
