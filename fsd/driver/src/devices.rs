//! The driver's device objects: the control device, image disks and
//! mounted volumes. Each extension starts with its kind, so dispatch knows
//! what a request is for, and points at the object that serves it. A
//! device whose object goes first (a detached image disk) becomes
//! `Detached`: the device object lives on while anyone references it, its
//! object does not, so requests still sent to it are answered without it.
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use lkl_ntk::nt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    Control = 0x4c4b_0001,
    Image = 0x4c4b_0002,
    Volume = 0x4c4b_0003,
    /// Its object is gone (see the module's header).
    Detached = 0x4c4b_0004,
}

#[repr(C)]
pub struct Extension {
    kind: AtomicU32,
    /// Dispatch routines using `object` now.
    busy: AtomicUsize,
    /// The Image or the Volume this device serves.
    pub object: *mut c_void,
}

impl Extension {
    pub fn kind(&self) -> Kind {
        match self.kind.load(Ordering::Acquire) {
            k if k == Kind::Control as u32 => Kind::Control,
            k if k == Kind::Image as u32 => Kind::Image,
            k if k == Kind::Volume as u32 => Kind::Volume,
            _ => Kind::Detached,
        }
    }

    /// Runs `f` with the device's kind, `object` not let go meanwhile
    /// (see [`detach`]).
    pub fn using<R>(&self, f: impl FnOnce(Kind) -> R) -> R {
        self.busy.fetch_add(1, Ordering::AcqRel);
        let r = f(self.kind());
        self.busy.fetch_sub(1, Ordering::AcqRel);
        r
    }
}

/// Makes `device` Detached and waits until no dispatch routine uses its
/// object: after this, the object may go while the device object lives.
pub fn detach(device: *mut nt::DEVICE_OBJECT) {
    let ext = extension(device);
    ext.kind.store(Kind::Detached as u32, Ordering::Release);
    while ext.busy.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
}

/// A UTF-16 copy of a name and the UNICODE_STRING that describes it.
pub struct Wide {
    chars: Vec<u16>,
    pub string: nt::UNICODE_STRING,
}

impl Wide {
    pub fn new(s: &str) -> Wide {
        Wide::from_units(s.encode_utf16().collect())
    }

    pub fn from_units(chars: Vec<u16>) -> Wide {
        let mut w = Wide {
            chars,
            string: nt::UNICODE_STRING {
                Length: 0,
                MaximumLength: 0,
                Buffer: null_mut(),
            },
        };
        w.string.Length = (w.chars.len() * 2) as u16;
        w.string.MaximumLength = w.string.Length;
        w.string.Buffer = w.chars.as_mut_ptr();
        w
    }

    pub fn ptr(&mut self) -> *mut nt::UNICODE_STRING {
        &mut self.string
    }
}

/// The kind and object of a device of ours.
pub fn extension(device: *mut nt::DEVICE_OBJECT) -> &'static Extension {
    // SAFETY: every device this driver makes has an Extension, set before
    // the device takes requests and kept until it is deleted.
    unsafe { &*((*device).DeviceExtension as *const Extension) }
}

/// FILE_DEVICE_SECURE_OPEN: opens of names below the device are checked
/// against its DACL too.
const FILE_DEVICE_SECURE_OPEN: u32 = 0x100;

/// Makes a device named `name` of `device_type`, its extension `kind` and
/// `object`, ready for requests. Only SYSTEM and Administrators may open
/// it (see `rights`); with `secure_open`, names below it as well (the
/// control device). Disks and volumes leave the opens of files on them to
/// the file system.
pub fn create(
    driver: *mut nt::DRIVER_OBJECT,
    name: &str,
    device_type: u32,
    kind: Kind,
    object: *mut c_void,
    flags: u32,
    secure_open: bool,
) -> Result<*mut nt::DEVICE_OBJECT, i32> {
    let mut wide = Wide::new(name);
    let mut device: *mut nt::DEVICE_OBJECT = null_mut();
    // SAFETY: a named device with room for our extension.
    let status = unsafe {
        nt::IoCreateDevice(
            driver,
            core::mem::size_of::<Extension>() as u32,
            wide.ptr(),
            device_type,
            if secure_open {
                FILE_DEVICE_SECURE_OPEN
            } else {
                0
            },
            0,
            &mut device,
        )
    };
    if status < 0 {
        return Err(status);
    }
    if let Err(status) = crate::rights::restrict(device) {
        delete(device);
        return Err(status);
    }
    // SAFETY: the device just made, not yet taking requests.
    unsafe {
        ((*device).DeviceExtension as *mut Extension).write(Extension {
            kind: AtomicU32::new(kind as u32),
            busy: AtomicUsize::new(0),
            object,
        });
        (*device).Flags |= flags;
        (*device).Flags &= !nt::DO_DEVICE_INITIALIZING;
    }
    Ok(device)
}

pub fn delete(device: *mut nt::DEVICE_OBJECT) {
    // SAFETY: a device of ours that takes no more requests.
    unsafe { nt::IoDeleteDevice(device) };
}

/// `\DosDevices\...` for a device, so user mode can open `\\.\...`.
pub fn link(dos: &str, name: &str) -> Result<(), i32> {
    let (mut d, mut n) = (Wide::new(dos), Wide::new(name));
    // SAFETY: two live UNICODE_STRINGs.
    let status = unsafe { nt::IoCreateSymbolicLink(d.ptr(), n.ptr()) };
    if status < 0 {
        Err(status)
    } else {
        Ok(())
    }
}

pub fn unlink(dos: &str) {
    let mut d = Wide::new(dos);
    // SAFETY: a live UNICODE_STRING.
    unsafe { nt::IoDeleteSymbolicLink(d.ptr()) };
}
