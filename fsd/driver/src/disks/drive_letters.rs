//! Drive letters for image disks. The Mount Manager is told of the disk
//! (IOCTL_MOUNTMGR_VOLUME_ARRIVAL_NOTIFICATION: it asks the disk for its
//! name and unique ID, which the image disk answers) and asked for the
//! letter (IOCTL_MOUNTMGR_CREATE_POINT), as Windows' own volumes get
//! theirs: Explorer sees the drive. Where the Mount Manager refuses
//! (Wine's does all of this), a letter asked for is a symbolic link in
//! `\DosDevices`, as older drivers made them. Either way the letter names
//! the image disk, whose VPB holds the volume mounted on it, so `X:\path`
//! reaches our file system.
//!
//! A found disk gets its letter the way VeraCrypt and Dokan give theirs:
//! the driver picks it (the one it last gave that file system, kept per
//! UUID in the service's Parameters, if free, else the first free from
//! D:) and asks for it with CREATE_POINT; at detach DELETE_POINTS takes
//! the letter and the Mount Manager's database entry away, so nothing
//! stale is left. (The Mount Manager's own choice, NEXT_DRIVE_LETTER, is
//! not relied on for a disk that is no PnP device.)
use alloc::vec::Vec;

use fsd::NtStatus;
use lkl_ntk::{nt, zeroed};
use spin::Mutex;

use crate::devices::{self, Wide};
use crate::image_disk;

/// How a letter was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Asked of the Mount Manager (`lklfs attach IMAGE X:`).
    MountManager = 1,
    /// A `\DosDevices` link of ours.
    SymbolicLink = 2,
}

struct Letter {
    letter: u16,
    disk: u32,
    how: How,
}

static LETTERS: Mutex<Vec<Letter>> = Mutex::new(Vec::new());

const MOUNT_MANAGER: &str = "\\Device\\MountPointManager";
/// CTL_CODE(MOUNTMGRCONTROLTYPE 'm', function, METHOD_BUFFERED, access).
const fn mountmgr_code(function: u32, access: u32) -> u32 {
    (0x6D << 16) | (access << 14) | (function << 2)
}
const IOCTL_MOUNTMGR_CREATE_POINT: u32 = mountmgr_code(0, 3);
const IOCTL_MOUNTMGR_DELETE_POINTS: u32 = mountmgr_code(1, 3);
const IOCTL_MOUNTMGR_VOLUME_ARRIVAL_NOTIFICATION: u32 = mountmgr_code(11, 1);
/// MOUNTMGR_MOUNT_POINT: three (offset, length) pairs of 8 bytes.
const MOUNT_POINT_SIZE: usize = 24;

/// `\DosDevices\X:`.
fn dos_name(letter: u16) -> Vec<u16> {
    let mut name: Vec<u16> = "\\DosDevices\\".encode_utf16().collect();
    name.extend([letter, u16::from(b':')]);
    name
}

fn bytes(units: &[u16]) -> impl Iterator<Item = u8> + '_ {
    units.iter().flat_map(|u| u.to_le_bytes())
}

/// An IOCTL to the Mount Manager, waiting; the status.
fn mount_manager(code: u32, input: &[u8], output: &mut [u8]) -> Result<(), NtStatus> {
    let file = image_disk::open(Wide::new(MOUNT_MANAGER), false, true, false)?;
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    // SAFETY: a kernel handle opened for synchronous I/O; live buffers of
    // the lengths given.
    let s = unsafe {
        nt::ZwDeviceIoControlFile(
            file,
            core::ptr::null_mut(),
            None,
            core::ptr::null_mut(),
            &mut iosb,
            code,
            input.as_ptr().cast_mut().cast(),
            input.len() as u32,
            output.as_mut_ptr().cast(),
            output.len() as u32,
        )
    };
    image_disk::close(file);
    if s < 0 {
        Err(NtStatus(s as u32))
    } else {
        Ok(())
    }
}

/// A USHORT byte count and the name (MOUNTMGR_TARGET_NAME and
/// MOUNTMGR_DRIVE_LETTER_TARGET).
fn target_name(device: &[u16]) -> Vec<u8> {
    let mut target = Vec::new();
    target.extend(((device.len() * 2) as u16).to_le_bytes());
    target.extend(bytes(device));
    target
}

/// Tells the Mount Manager that disk `disk` (`\Device\LklFsdImageN`)
/// arrived: its device name, and the MOUNTMGR_TARGET_NAME that said so.
fn arrival(disk: u32) -> Result<(Vec<u16>, Vec<u8>), NtStatus> {
    let device: Vec<u16> = lklfsd_control::image_device_name(disk)
        .encode_utf16()
        .collect();
    let target = target_name(&device);
    mount_manager(IOCTL_MOUNTMGR_VOLUME_ARRIVAL_NOTIFICATION, &target, &mut [])?;
    Ok((device, target))
}

/// Tells the Mount Manager of disk `disk` and asks it for `letter`.
fn through_mount_manager(letter: u16, disk: u32) -> Result<(), NtStatus> {
    let (device, _) = arrival(disk)?;
    let link = dos_name(letter);
    // MOUNTMGR_CREATE_POINT_INPUT: link (offset, length), device (offset,
    // length), then the names.
    let mut point = Vec::new();
    let (link_len, device_len) = ((link.len() * 2) as u16, (device.len() * 2) as u16);
    point.extend(8u16.to_le_bytes());
    point.extend(link_len.to_le_bytes());
    point.extend((8 + link_len).to_le_bytes());
    point.extend(device_len.to_le_bytes());
    point.extend(bytes(&link));
    point.extend(bytes(&device));
    mount_manager(IOCTL_MOUNTMGR_CREATE_POINT, &point, &mut [])
}

/// Gives image disk `disk` the drive letter `letter` ('A'..='Z').
pub fn assign(disk: u32, letter: u16) -> Result<How, NtStatus> {
    if !(u16::from(b'A')..=u16::from(b'Z')).contains(&letter) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if image_disk::device(disk).is_none() {
        return Err(NtStatus::NO_SUCH_DEVICE);
    }
    let taken = |letters: &[Letter]| letters.iter().any(|l| l.letter == letter || l.disk == disk);
    // Not held across the calls below (the Mount Manager calls back into
    // the image disk): checked again after.
    if taken(&LETTERS.lock()) {
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    let how = match through_mount_manager(letter, disk) {
        Ok(()) => How::MountManager,
        Err(_) => {
            let dos = alloc::string::String::from_utf16_lossy(&dos_name(letter));
            let name = lklfsd_control::image_device_name(disk);
            devices::link(&dos, &name).map_err(|_| NtStatus::OBJECT_NAME_COLLISION)?;
            How::SymbolicLink
        }
    };
    let mut letters = LETTERS.lock();
    if taken(&letters) {
        drop(letters);
        remove(letter, how);
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    letters.push(Letter { letter, disk, how });
    Ok(how)
}

/// Gives disk `disk`, which the driver found holding file system `uuid`,
/// a letter through the Mount Manager (see the module's header): the
/// letter, if one was free and the Mount Manager gave it.
pub fn announce(disk: u32, uuid: &[u8; 16]) -> Result<u16, NtStatus> {
    let driver = crate::driver();
    let first_free = (u16::from(b'D')..=u16::from(b'Z')).find(|&l| is_free(l));
    let letter = driver
        .remembered_letter(uuid)
        .filter(|&l| is_free(l))
        .or(first_free)
        .ok_or(NtStatus(nt::STATUS_NOT_FOUND as u32))?;
    through_mount_manager(letter, disk)?;
    LETTERS.lock().push(Letter {
        letter,
        disk,
        how: How::MountManager,
    });
    driver.remember_letter(uuid, letter);
    Ok(letter)
}

/// Whether no drive (ours or Windows') has `letter`: `\GLOBAL??\X:` is no
/// name.
fn is_free(letter: u16) -> bool {
    if LETTERS.lock().iter().any(|l| l.letter == letter) {
        return false;
    }
    let mut name: Vec<u16> = "\\GLOBAL??\\".encode_utf16().collect();
    name.extend([letter, u16::from(b':')]);
    let mut name = Wide::from_units(name);
    let mut attributes: nt::OBJECT_ATTRIBUTES = zeroed();
    attributes.Length = core::mem::size_of::<nt::OBJECT_ATTRIBUTES>() as u32;
    attributes.ObjectName = name.ptr();
    attributes.Attributes = nt::OBJ_KERNEL_HANDLE | nt::OBJ_CASE_INSENSITIVE;
    let mut link: nt::HANDLE = core::ptr::null_mut();
    // SAFETY: live attributes; a kernel handle, closed below.
    let s = unsafe { nt::ZwOpenSymbolicLinkObject(&mut link, 0, &mut attributes) };
    if s >= 0 {
        // SAFETY: the handle just opened.
        unsafe { nt::ZwClose(link) };
        return false;
    }
    NtStatus(s as u32) == NtStatus::OBJECT_NAME_NOT_FOUND
}

/// The letter of image disk `disk`, or 0.
pub fn of(disk: u32) -> u16 {
    LETTERS
        .lock()
        .iter()
        .find(|l| l.disk == disk)
        .map_or(0, |l| l.letter)
}

/// Takes image disk `disk`'s letter away (detach).
pub fn release(disk: u32) {
    let letter = {
        let mut letters = LETTERS.lock();
        match letters.iter().position(|l| l.disk == disk) {
            Some(at) => letters.swap_remove(at),
            None => return,
        }
    };
    remove(letter.letter, letter.how);
}

/// Removes the mount point or link `letter` made as `how`.
fn remove(letter: u16, how: How) {
    let link = dos_name(letter);
    match how {
        How::MountManager => {
            // MOUNTMGR_MOUNT_POINT naming the link alone.
            let mut point = alloc::vec![0u8; MOUNT_POINT_SIZE];
            point[0..4].copy_from_slice(&(MOUNT_POINT_SIZE as u32).to_le_bytes());
            point[4..6].copy_from_slice(&((link.len() * 2) as u16).to_le_bytes());
            point.extend(bytes(&link));
            // MOUNTMGR_MOUNT_POINTS: what was deleted.
            let mut out = alloc::vec![0u8; 1024];
            let _ = mount_manager(IOCTL_MOUNTMGR_DELETE_POINTS, &point, &mut out);
        }
        How::SymbolicLink => {
            devices::unlink(&alloc::string::String::from_utf16_lossy(&link));
        }
    }
}

/// Every letter goes (unload).
pub fn release_all() {
    let disks: Vec<u32> = LETTERS.lock().iter().map(|l| l.disk).collect();
    for disk in disks {
        release(disk);
    }
}
