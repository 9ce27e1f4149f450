//! Mounting: IRP_MN_MOUNT_VOLUME (and IOCTL_MOUNT, its user-mode twin)
//! reads the start of the device, recognises ext2/3/4, btrfs and xfs
//! quickly and without Linux (anything else: STATUS_UNRECOGNIZED_VOLUME),
//! boots Linux if it is not running, adds the device as a Linux disk,
//! mounts it through the fsd core and makes the volume device; a journal
//! Linux replayed, or a read-only mount of a file system Linux cannot
//! write, goes to the event log.
use alloc::sync::Arc;
use alloc::vec;
use core::ptr::null_mut;

use core::ffi::c_void;
use fsd::{Completion, NtStatus, Volume};

use lkl_ntk::nt;

use crate::lower_disk::LowerDisk;
use crate::send::{attach_mdl, send};
use crate::{event_log, linux, volume, Driver};

/// Which file system a device's first bytes hold: its UUID, as the
/// superblock records it (what VERIFY_VOLUME compares).
pub fn identify(head: &[u8]) -> Option<[u8; 16]> {
    lkl::mount::identify(head).map(|(_, uuid)| uuid)
}

/// The first bytes of `device`, if they hold a file system of ours, and
/// its identity. Read with SL_OVERRIDE_VERIFY_VOLUME: this is the file
/// system's own look at the media (mount, verify), which a device whose
/// media may have changed must serve.
fn head_of(device: *mut nt::DEVICE_OBJECT) -> Option<(alloc::vec::Vec<u8>, [u8; 16])> {
    let mut head = vec![0u8; HEAD];
    read_device_as(device, 0, &mut head, true).ok()?;
    identify(&head).map(|uuid| (head, uuid))
}

/// Bytes read to recognise a file system.
const HEAD: usize = lkl::mount::IDENTIFY_BYTES;

/// Reads `buf.len()` bytes at `offset` of `device`, waiting.
pub fn read_device(
    device: *mut nt::DEVICE_OBJECT,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), NtStatus> {
    read_device_as(device, offset, buf, false)
}

/// As [`read_device`]; `override_verify` sets SL_OVERRIDE_VERIFY_VOLUME.
fn read_device_as(
    device: *mut nt::DEVICE_OBJECT,
    offset: u64,
    buf: &mut [u8],
    override_verify: bool,
) -> Result<(), NtStatus> {
    let (ptr, len) = (buf.as_mut_ptr(), buf.len());
    let mut attached = true;
    let o = send(device, nt::IRP_MJ_READ, 0, null_mut(), |s, irp| {
        // SAFETY: buf is the driver's heap (non-paged pool), alive until
        // send returns.
        attached = unsafe { attach_mdl(irp, ptr, len) };
        s.Parameters.Read.Length = len as u32;
        s.Parameters.Read.ByteOffset.QuadPart = offset as i64;
        if override_verify {
            s.Flags |= nt::SL_OVERRIDE_VERIFY_VOLUME as u8;
        }
    });
    if !attached {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    if o.status.is_error() {
        return Err(o.status);
    }
    Ok(())
}

/// Asks `device` the disk IOCTL `code`, whose answer fills `out`
/// (METHOD_BUFFERED), waiting.
fn disk_ioctl(device: *mut nt::DEVICE_OBJECT, code: u32, out: &mut [u8]) -> Result<(), NtStatus> {
    let (at, len) = (out.as_mut_ptr().cast::<c_void>(), out.len() as u32);
    let o = send(
        device,
        nt::IRP_MJ_DEVICE_CONTROL,
        0,
        null_mut(),
        |s, irp| {
            irp.AssociatedIrp.SystemBuffer = at;
            s.Parameters.DeviceIoControl.IoControlCode = code;
            s.Parameters.DeviceIoControl.OutputBufferLength = len;
        },
    );
    if o.status.is_error() {
        Err(o.status)
    } else {
        Ok(())
    }
}

/// The size of `device` (IOCTL_DISK_GET_LENGTH_INFO), waiting.
pub fn device_size(device: *mut nt::DEVICE_OBJECT) -> Result<u64, NtStatus> {
    let mut length = [0u8; 8];
    disk_ioctl(device, nt::IOCTL_DISK_GET_LENGTH_INFO, &mut length)?;
    Ok(u64::from_le_bytes(length))
}

/// The bytes per sector of `device` (IOCTL_DISK_GET_DRIVE_GEOMETRY),
/// waiting: Linux's logical block size for it, so that every transfer
/// is whole sectors (a 4Kn disk takes nothing smaller than 4 KiB).
pub fn sector_size(device: *mut nt::DEVICE_OBJECT) -> u32 {
    let mut geometry = [0u8; 24];
    let answered = disk_ioctl(device, nt::IOCTL_DISK_GET_DRIVE_GEOMETRY, &mut geometry).is_ok();
    let bytes = u32::from_le_bytes(geometry[20..24].try_into().unwrap());
    crate::image_disk::sector_or_default(answered, bytes)
}

/// Mounts `target` (on a worker); `partition` 0 is the whole device, and
/// only then is the superblock checked here (a partition table is
/// Linux's to read). A disk the machine presents (anything but an image
/// a caller attached) follows `lkl::mount::found_disk`: not at all with
/// `AutoMount` 0, else read-only, its journal left as it is, unless its
/// UUID is opted in to writing. Returns the volume's number.
pub fn mount(
    driver: &Driver,
    target: *mut nt::DEVICE_OBJECT,
    vpb: *mut nt::VPB,
    partition: u32,
    read_only: bool,
    link: bool,
) -> Result<u32, NtStatus> {
    let found = !crate::image_disk::attached_by_user(target);
    if found && !driver.settings.auto_mount {
        return Err(NtStatus::UNRECOGNIZED_VOLUME);
    }
    let (identity, head) = match partition {
        0 => {
            let (head, uuid) = head_of(target).ok_or(NtStatus::UNRECOGNIZED_VOLUME)?;
            if !crate::image_disk::is_image(target) && crate::found_disks::serves(&uuid) {
                return Err(NtStatus::UNRECOGNIZED_VOLUME);
            }
            (Some(uuid), Some(head))
        }
        // A partition of a found disk is never written: its UUID is not
        // known here.
        _ => (None, None),
    };
    let rules = found.then(|| {
        let writable = identity.is_some_and(|uuid| driver.may_write(&uuid));
        lkl::mount::found_disk(head.as_deref().unwrap_or_default(), writable)
    });
    let read_only = read_only || rules.is_some_and(|r| r.read_only);
    let replay = !read_only && head.as_deref().is_some_and(lkl::mount::needs_replay);
    if volume::on_device(target).is_some() {
        return Err(NtStatus::DEVICE_BUSY);
    }
    let size = device_size(target)?;
    let sector = sector_size(target);
    linux::ensure_booted(driver.settings.linux_memory)?;
    let lower = LowerDisk::new(
        target,
        size / sector as u64 * sector as u64,
        read_only,
        sector,
    );
    let disk = lkl::add_disk(Arc::new(lower))
        .map_err(|e| fsd::status::from_errno(e, fsd::status::Missing::Name))?;
    let options = volume::options(partition, read_only, rules.map_or("", |r| r.options));
    let core = Volume::mount(&disk, &options)?;
    let read_only_for_features = core.read_only_for_features();
    let ids = driver.id_map(identity.as_ref());
    let number = volume::add(driver.object, core, disk, target, vpb, identity, ids, link)?;
    if let Some(device) = volume::device(number) {
        // SAFETY: our new volume device; its sectors are the target's.
        unsafe { (*device).SectorSize = sector as u16 };
    }
    let name = alloc::format!("{}{number}", lklfsd_control::VOLUME_DEVICE_PREFIX);
    if replay {
        event_log::report(event_log::JOURNAL_REPLAYED, &name);
    }
    if rules.is_some_and(|r| r.journal_left) {
        event_log::report(event_log::JOURNAL_LEFT, &name);
    }
    if read_only_for_features {
        event_log::report(event_log::MOUNTED_READ_ONLY, &name);
    }
    Ok(number)
}

/// IRP_MN_VERIFY_VOLUME (the device said its media may have changed): the
/// same file system still there lets the volume stay (and the device's
/// verify flag is cleared); anything else is STATUS_WRONG_VOLUME.
pub fn verify(vol: &crate::volume::MountedVolume) -> Completion {
    let same = !vol.is_dismounted()
        && vol
            .identity
            .is_none_or(|id| head_of(vol.target).map(|(_, uuid)| uuid) == Some(id));
    if !same {
        return NtStatus::WRONG_VOLUME.into();
    }
    // SAFETY: the device the volume is on, live while it is mounted.
    unsafe { (*vol.target).Flags &= !nt::DO_VERIFY_VOLUME };
    Completion::ok(0)
}

/// What the control device's IRP_MJ_FILE_SYSTEM_CONTROL `irp` can be told
/// on the dispatch thread, without Linux: a MOUNT_VOLUME of a device that
/// holds no file system of ours (its first bytes say so), of a disk the
/// machine presents while `AutoMount` is 0, or any MOUNT_VOLUME once Linux
/// has died, is STATUS_UNRECOGNIZED_VOLUME at once (the I/O manager then
/// asks the next file system). Ok lets the request go on to a worker.
pub fn recognise(driver: &Driver, irp: crate::irp::Irp) -> Result<(), NtStatus> {
    let stack = irp.stack();
    if stack.MinorFunction as u32 != nt::IRP_MN_MOUNT_VOLUME {
        return Ok(());
    }
    // SAFETY: the MountVolume view of a MOUNT_VOLUME stack location.
    let target = unsafe { stack.Parameters.MountVolume.DeviceObject };
    if lkl_ntk::death::is_dead() {
        return Err(NtStatus::UNRECOGNIZED_VOLUME);
    }
    if target.is_null() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let found = !crate::image_disk::attached_by_user(target);
    let refused = (found && !driver.settings.auto_mount) || !ours_to_mount(target);
    if refused {
        Err(NtStatus::UNRECOGNIZED_VOLUME)
    } else {
        Ok(())
    }
}

/// Whether `target` holds a file system of ours that is to be mounted on
/// it: not if a found disk serves that file system (its device is then
/// RAW's; mounting it too would mount the file system twice).
fn ours_to_mount(target: *mut nt::DEVICE_OBJECT) -> bool {
    let Some((_, uuid)) = head_of(target) else {
        return false;
    };
    crate::image_disk::is_image(target) || !crate::found_disks::serves(&uuid)
}

/// IRP_MJ_FILE_SYSTEM_CONTROL to the control device.
pub fn fsctl(driver: &Driver, irp: crate::irp::Irp) -> Completion {
    let stack = irp.stack();
    match stack.MinorFunction as u32 {
        nt::IRP_MN_MOUNT_VOLUME => {
            // SAFETY: the MountVolume view of a MOUNT_VOLUME stack location.
            let (vpb, target) = unsafe {
                let p = &stack.Parameters.MountVolume;
                (p.Vpb, p.DeviceObject)
            };
            if target.is_null() || vpb.is_null() {
                return NtStatus::INVALID_PARAMETER.into();
            }
            match mount(driver, target, vpb, 0, false, false) {
                Ok(_) => Completion::ok(0),
                Err(e) => e.into(),
            }
        }
        _ => NtStatus::INVALID_DEVICE_REQUEST.into(),
    }
}
