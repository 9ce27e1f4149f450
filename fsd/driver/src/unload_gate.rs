//! Unload is refused while a volume device exists (a volume mounted, or a
//! dismounted one whose files are still open, which Cc and Mm may hold
//! without handles): the I/O manager refuses to unload a driver whose
//! DriverUnload is unset (`sc stop` then fails with
//! ERROR_INVALID_SERVICE_CONTROL; Wine's winedevice answers
//! STATUS_UNSUCCESSFUL the same way), so the routine is set only while no
//! volume device lives. FastFat, which can never be unloaded, has none.
//! After a Linux panic unload is allowed again: it is the way to reclaim
//! what the dead kernel held.
use lkl_ntk::nt;
use spin::Mutex;

/// Volume devices alive; the lock also orders the DriverUnload writes.
static LIVE: Mutex<usize> = Mutex::new(0);

fn set(unloadable: bool) {
    let object = crate::driver().object;
    // SAFETY: our driver object; the I/O manager reads DriverUnload only
    // when asked to unload, and a pointer-sized store is atomic.
    unsafe {
        (*object).DriverUnload = if unloadable {
            Some(crate::unload)
        } else {
            None
        };
    }
}

/// A volume device was made.
pub fn volume_device_made() {
    let mut live = LIVE.lock();
    *live += 1;
    if *live == 1 {
        set(false);
    }
}

/// A volume device was deleted.
pub fn volume_device_gone() {
    let mut live = LIVE.lock();
    *live -= 1;
    if *live == 0 {
        set(true);
    }
}

/// Linux died (lkl_ntk::death's hook): unload may reclaim what it held,
/// unless Driver Verifier watches the driver (the full mode only: Wine's
/// MmIsDriverVerifying is a stub). What the dead kernel's structures
/// point at (its host objects, the abandoned volumes: some 260 KiB after
/// the panic test) cannot be freed without running its code, and
/// Verifier's pool tracking stops Windows when a driver unloads with pool
/// still allocated: so under Verifier the driver stays loaded, its memory
/// accounted in the statistics, until the next boot.
pub fn linux_died() {
    let driver = crate::driver();
    // SAFETY: our driver object.
    let verified = driver.settings.cached && unsafe { nt::MmIsDriverVerifying(driver.object) } != 0;
    if !verified {
        set(true);
    }
}
