//! Unload is refused while a volume device exists (a volume mounted, or a
//! dismounted one whose files are still open, which Cc and Mm may hold
//! without handles): the I/O manager refuses to unload a driver whose
//! DriverUnload is unset (`sc stop` then fails with
//! ERROR_INVALID_SERVICE_CONTROL; Wine's winedevice answers
//! STATUS_UNSUCCESSFUL the same way), so the routine is set only while no
//! volume device lives. FastFat, which can never be unloaded, has none.
//! After a Linux panic unload is allowed again: it is the way to reclaim
//! what the dead kernel held.
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

/// Linux died (lkl_ntk::death's hook): unload may reclaim what it held.
pub fn linux_died() {
    set(true);
}
