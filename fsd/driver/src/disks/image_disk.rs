//! Image files as disks: IOCTL_ATTACH_IMAGE opens a file (ZwCreateFile,
//! kernel handle) and makes a disk device, `\Device\LklFsdImageN`
//! (FILE_DEVICE_DISK, direct I/O), whose reads, writes and flushes a
//! thread of its own serves with ZwReadFile/ZwWriteFile/ZwFlushBuffersFile,
//! and which answers the disk IOCTLs a volume's users ask (length,
//! geometry, writable, check-verify) and the Mount Manager's (its device
//! name, and a unique ID: the file system's UUID).
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use fsd::{Completion, NtStatus};
use lkl_ntk::{nt, threads, zeroed, Shared};
use lklfsd_control::{ImageInfo, ATTACH_FOUND, ATTACH_READ_ONLY, ATTACH_SECTORS_4K};
use spin::Mutex;

use crate::devices::{self, Kind, Wide};
use crate::irp::{mdl_address, Irp};

pub const SECTOR: u64 = 512;

/// IOCTLs Windows sends volumes, which mingw's headers define by macros
/// bindgen does not evaluate: CTL_CODE(type, function, METHOD_BUFFERED,
/// FILE_ANY_ACCESS).
const IOCTL_MOUNTDEV_QUERY_STABLE_GUID: u32 = (0x4D << 16) | (6 << 2);
const IOCTL_DISK_GET_PARTITION_INFO_EX: u32 = (0x07 << 16) | (0x12 << 2);
const IOCTL_DISK_GET_DRIVE_GEOMETRY_EX: u32 = (0x07 << 16) | (0x28 << 2);
pub const IOCTL_STORAGE_GET_HOTPLUG_INFO: u32 = (0x2D << 16) | (0x305 << 2);
/// How a unique ID made of a file system's UUID starts.
const UUID_ID: &[u8] = b"lklfsd-uuid:";

pub struct Image {
    pub number: u32,
    pub flags: u32,
    pub size: u64,
    /// Bytes per sector: every transfer is whole sectors.
    sector: u64,
    /// What the Mount Manager knows it by (IOCTL_MOUNTDEV_QUERY_UNIQUE_ID).
    unique_id: Vec<u8>,
    /// The NT path it was attached from.
    source: Vec<u16>,
    /// The device under it went (surprise removal): every transfer fails.
    gone: AtomicBool,
    pub device: *mut nt::DEVICE_OBJECT,
    file: nt::HANDLE,
    /// IRPs for the serving thread; None tells it to end.
    queue: Mutex<VecDeque<Option<Irp>>>,
    ready: Shared<nt::KSEMAPHORE>,
    ended: Shared<nt::KEVENT>,
}

// SAFETY: the handle and device are kernel objects usable from any
// thread; the queue is behind a lock.
unsafe impl Send for Image {}
// SAFETY: as above.
unsafe impl Sync for Image {}

/// The attached images, by number.
static IMAGES: Mutex<Vec<Box<Image>>> = Mutex::new(Vec::new());

fn status(s: i32) -> NtStatus {
    NtStatus(s as u32)
}

/// Answers with a USHORT byte count and the bytes (MOUNTDEV_NAME,
/// MOUNTDEV_UNIQUE_ID), as the Mount Manager asks: a buffer too small for
/// the count is a bad request; one too small for the bytes gets the count
/// alone and STATUS_BUFFER_OVERFLOW, so that the caller asks again with
/// room.
fn counted(irp: Irp, out: *mut u8, out_len: usize, bytes: &[u8]) -> i32 {
    /// sizeof(MOUNTDEV_NAME): the count and one unit, padded.
    const HEAD: usize = 4;
    if out.is_null() || out_len < HEAD {
        return irp.complete_status(NtStatus::INVALID_PARAMETER);
    }
    let count = (bytes.len() as u16).to_le_bytes();
    // SAFETY: a METHOD_BUFFERED system buffer of out_len bytes (at least
    // HEAD, and 2 + bytes.len() where that is written).
    unsafe {
        core::ptr::copy_nonoverlapping(count.as_ptr(), out, 2);
        if out_len < 2 + bytes.len() {
            return irp.complete(Completion {
                status: NtStatus::BUFFER_OVERFLOW,
                information: HEAD as u64,
            });
        }
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), out.add(2), bytes.len());
    }
    irp.complete(Completion::ok(2 + bytes.len() as u64))
}

/// ZwReadFile or ZwWriteFile (`transfer`) of `len` bytes at `buffer`,
/// at byte `offset` of the image file: the bytes moved.
///
/// # Safety
/// `buffer` holds `len` bytes for the call.
unsafe fn file_io(
    transfer: unsafe extern "C" fn(
        nt::HANDLE,
        nt::HANDLE,
        nt::PIO_APC_ROUTINE,
        nt::PVOID,
        nt::PIO_STATUS_BLOCK,
        nt::PVOID,
        nt::ULONG,
        nt::PLARGE_INTEGER,
        nt::PULONG,
    ) -> nt::NTSTATUS,
    file: nt::HANDLE,
    buffer: *mut c_void,
    len: u32,
    offset: i64,
) -> Result<u64, NtStatus> {
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    let mut at: nt::LARGE_INTEGER = zeroed();
    at.QuadPart = offset;
    // SAFETY: a kernel handle for synchronous I/O; the caller's promise
    // for the buffer.
    let s = unsafe {
        transfer(
            file,
            null_mut(),
            None,
            null_mut(),
            &mut iosb,
            buffer,
            len,
            &mut at,
            null_mut(),
        )
    };
    if s < 0 {
        Err(status(s))
    } else {
        Ok(iosb.Information)
    }
}

/// Reads `buf.len()` bytes at `offset` of `file`: the bytes read.
pub(crate) fn read_at(file: nt::HANDLE, buf: &mut [u8], offset: i64) -> Result<u64, NtStatus> {
    let (ptr, len) = (buf.as_mut_ptr().cast(), buf.len() as u32);
    // SAFETY: a buffer of the length given, alive for the call.
    unsafe { file_io(nt::ZwReadFile, file, ptr, len, offset) }
}

/// What identifies the image to the Mount Manager, stable for the same
/// file system wherever its image lies (so that its letter is kept): the
/// UUID its superblock holds; for anything else, the image's path.
fn unique_id(file: nt::HANDLE, path: &[u8]) -> Vec<u8> {
    let mut head = vec![0u8; lkl::mount::IDENTIFY_BYTES];
    let read = read_at(file, &mut head, 0).unwrap_or(0);
    head.truncate(read as usize);
    match lkl::mount::identify(&head) {
        Some((_, uuid)) => [UUID_ID, &uuid].concat(),
        None => [b"lklfsd-path:".as_slice(), path].concat(),
    }
}

/// An NT path from its UTF-16 bytes: None unless it is 1 to 4096 units
/// long, whole, and without NULs.
pub fn path_units(path: &[u8]) -> Option<Vec<u16>> {
    if path.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = path
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let usable = !units.is_empty() && units.len() <= 4096 && !units.contains(&0);
    usable.then_some(units)
}

/// Opens the image (or device) at NT path `units` (see [`path_units`])
/// and makes its disk.
pub fn attach(
    driver: *mut nt::DRIVER_OBJECT,
    flags: u32,
    units: Vec<u16>,
    caller: Caller,
) -> Result<u32, NtStatus> {
    let read_only = flags & ATTACH_READ_ONLY != 0;
    if caller == Caller::User && !is_drive_path(&units) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // A device the system presents is shared; an image file is ours alone.
    let file = open(
        Wide::from_units(units.clone()),
        read_only,
        flags & ATTACH_FOUND != 0,
        caller != Caller::Driver,
    )?;
    if caller == Caller::User {
        if let Err(e) = on_local_disk(file) {
            close(file);
            return Err(e);
        }
    }
    let sector = if flags & ATTACH_SECTORS_4K != 0 {
        4096
    } else if flags & ATTACH_FOUND != 0 {
        device_sector(file)
    } else {
        SECTOR
    };
    let size = match file_size(file) {
        Ok(size) if size >= 8 * sector => size / sector * sector,
        Ok(_) => {
            close(file);
            return Err(NtStatus::UNRECOGNIZED_VOLUME);
        }
        Err(e) => {
            close(file);
            return Err(e);
        }
    };
    let path: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    let unique_id = unique_id(file, &path);
    let mut images = IMAGES.lock();
    let number = (0..)
        .find(|n| images.iter().all(|i| i.number != *n))
        .unwrap();
    let mut image = Box::new(Image {
        number,
        flags,
        size,
        sector,
        unique_id,
        source: units,
        gone: AtomicBool::new(false),
        device: null_mut(),
        file,
        queue: Mutex::new(VecDeque::new()),
        ready: Shared::new(zeroed()),
        ended: Shared::new(zeroed()),
    });
    // SAFETY: the image's own objects, in its box, before any use.
    unsafe {
        nt::KeInitializeSemaphore(image.ready.get(), 0, i32::MAX);
        nt::KeInitializeEvent(image.ended.get(), nt::NotificationEvent, 0);
    }
    let name = lklfsd_control::image_device_name(number);
    let object = (&mut *image as *mut Image).cast();
    let device = match devices::create(
        driver,
        &name,
        nt::FILE_DEVICE_DISK,
        Kind::Image,
        object,
        nt::DO_DIRECT_IO,
        false,
    ) {
        Ok(d) => d,
        Err(s) => {
            close(file);
            return Err(status(s));
        }
    };
    image.device = device;
    // SAFETY: sector-sized I/O.
    unsafe { (*device).SectorSize = sector as u16 };
    let served = &*image as *const Image as usize;
    if let Err(s) = threads::spawn(move || {
        // SAFETY: the image stays in IMAGES until its thread has ended.
        unsafe { &*(served as *const Image) }.serve()
    }) {
        devices::delete(device);
        close(file);
        return Err(status(s));
    }
    images.push(image);
    Ok(number)
}

/// Who asks for an image to be attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The driver itself (a disk Windows presents).
    Driver,
    /// An administrator, in user or kernel mode: any path, opened with
    /// the caller's rights.
    Administrator,
    /// Another user-mode caller (holding SeManageVolumePrivilege): only a
    /// file on a local disk, `\??\X:\...`, opened with the caller's rights.
    User,
}

/// Whether NT path `units` is a file by a drive letter, `\??\X:\...`:
/// not a device, volume, pipe or UNC path.
pub fn is_drive_path(units: &[u16]) -> bool {
    let prefix: Vec<u16> = "\\??\\".encode_utf16().collect();
    let Some(rest) = units.strip_prefix(&prefix[..]) else {
        return false;
    };
    matches!(rest, [letter, colon, slash, _, ..]
        if (*letter as u8 as char).is_ascii_alphabetic() && *letter < 0x80
            && *colon == b':' as u16 && *slash == b'\\' as u16)
}

/// FILE_DEVICE_DISK, and the FILE_REMOTE_DEVICE characteristic.
const FILE_DEVICE_DISK: u32 = 0x7;
const FILE_REMOTE_DEVICE: u32 = 0x10;
/// FileFsDeviceInformation's class number.
const FILE_FS_DEVICE_INFORMATION: u32 = 4;

/// Whether the open `file` lies on a local disk's file system (not a
/// network share a drive letter maps, nor a pipe): else ACCESS_DENIED.
fn on_local_disk(file: nt::HANDLE) -> Result<(), NtStatus> {
    // FILE_FS_DEVICE_INFORMATION: DeviceType, Characteristics.
    let mut info = [0u32; 2];
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    // SAFETY: an 8-byte output for the class, a live handle.
    let s = unsafe {
        nt::ZwQueryVolumeInformationFile(
            file,
            &mut iosb,
            info.as_mut_ptr().cast(),
            8,
            FILE_FS_DEVICE_INFORMATION,
        )
    };
    if s < 0 {
        return Err(status(s));
    }
    if info[0] == FILE_DEVICE_DISK && info[1] & FILE_REMOTE_DEVICE == 0 {
        Ok(())
    } else {
        Err(NtStatus::ACCESS_DENIED)
    }
}

/// Opens `path` (a file, or a device) for synchronous, unbuffered I/O,
/// letting others read it, and write it too if `shared`; with
/// `as_caller`, only if the requesting thread's token may open it so
/// (OBJ_FORCE_ACCESS_CHECK: an attach is served on the caller's own
/// thread).
pub(crate) fn open(
    mut path: Wide,
    read_only: bool,
    shared: bool,
    as_caller: bool,
) -> Result<nt::HANDLE, NtStatus> {
    let mut attributes: nt::OBJECT_ATTRIBUTES = zeroed();
    attributes.Length = core::mem::size_of::<nt::OBJECT_ATTRIBUTES>() as u32;
    attributes.ObjectName = path.ptr();
    attributes.Attributes = nt::OBJ_KERNEL_HANDLE | nt::OBJ_CASE_INSENSITIVE;
    if as_caller {
        attributes.Attributes |= nt::OBJ_FORCE_ACCESS_CHECK;
    }
    let access = if read_only {
        nt::GENERIC_READ
    } else {
        nt::GENERIC_READ | nt::GENERIC_WRITE
    };
    let mut file: nt::HANDLE = null_mut();
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    // SAFETY: all pointers are live; a kernel handle for synchronous I/O.
    let s = unsafe {
        nt::ZwCreateFile(
            &mut file,
            access | nt::SYNCHRONIZE,
            &mut attributes,
            &mut iosb,
            null_mut(),
            nt::FILE_ATTRIBUTE_NORMAL,
            if shared {
                nt::FILE_SHARE_READ | nt::FILE_SHARE_WRITE
            } else {
                nt::FILE_SHARE_READ
            },
            nt::FILE_OPEN,
            // Without the host's cache in between: Linux caches the file
            // system already, and the two would only wait on each other.
            nt::FILE_SYNCHRONOUS_IO_NONALERT
                | nt::FILE_NON_DIRECTORY_FILE
                | nt::FILE_NO_INTERMEDIATE_BUFFERING,
            null_mut(),
            0,
        )
    };
    if s < 0 {
        return Err(status(s));
    }
    Ok(file)
}

fn file_size(file: nt::HANDLE) -> Result<u64, NtStatus> {
    let mut info: nt::FILE_STANDARD_INFORMATION = zeroed();
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    // SAFETY: info is a live output of the class's size.
    let s = unsafe {
        nt::ZwQueryInformationFile(
            file,
            &mut iosb,
            (&mut info as *mut nt::FILE_STANDARD_INFORMATION).cast(),
            core::mem::size_of::<nt::FILE_STANDARD_INFORMATION>() as u32,
            nt::FileStandardInformation,
        )
    };
    if s < 0 {
        return Err(status(s));
    }
    // SAFETY: the integer view of the union.
    match unsafe { info.EndOfFile.QuadPart } as u64 {
        // A device: its length, as a disk or volume says it.
        0 => {
            let mut length = [0u8; 8];
            handle_ioctl(file, nt::IOCTL_DISK_GET_LENGTH_INFO, &mut length)?;
            Ok(u64::from_le_bytes(length))
        }
        size => Ok(size),
    }
}

/// The bytes per sector of the device `file` is a handle to (its
/// DISK_GEOMETRY): 512 to 4096, else 512.
fn device_sector(file: nt::HANDLE) -> u64 {
    let mut geometry = [0u8; 24];
    let answered = handle_ioctl(file, nt::IOCTL_DISK_GET_DRIVE_GEOMETRY, &mut geometry).is_ok();
    let bytes = u32::from_le_bytes(geometry[20..24].try_into().unwrap());
    sector_or_default(answered, bytes) as u64
}

/// The device IOCTL `code` with no input through handle `file`, whose
/// answer fills `out`.
fn handle_ioctl(file: nt::HANDLE, code: u32, out: &mut [u8]) -> Result<(), NtStatus> {
    let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
    // SAFETY: a kernel handle for synchronous I/O; an output buffer of
    // the length given.
    let s = unsafe {
        nt::ZwDeviceIoControlFile(
            file,
            null_mut(),
            None,
            null_mut(),
            &mut iosb,
            code,
            null_mut(),
            0,
            out.as_mut_ptr().cast(),
            out.len() as u32,
        )
    };
    if s < 0 {
        Err(status(s))
    } else {
        Ok(())
    }
}

/// A sector size a Linux disk can have (a power of two from 512 to 4096)
/// if the device answered one, else 512.
pub fn sector_or_default(answered: bool, bytes: u32) -> u32 {
    if answered && bytes.is_power_of_two() && (512..=4096).contains(&bytes) {
        bytes
    } else {
        SECTOR as u32
    }
}

pub(crate) fn close(file: nt::HANDLE) {
    // SAFETY: a handle this module opened, closed once.
    unsafe { nt::ZwClose(file) };
}

/// Ends an image's disk: its thread, device and file. `Err` if unknown.
pub fn detach(number: u32) -> Result<(), NtStatus> {
    let image = {
        let mut images = IMAGES.lock();
        let at = images
            .iter()
            .position(|i| i.number == number)
            .ok_or(NtStatus::NO_SUCH_DEVICE)?;
        images.remove(at)
    };
    // No request reaches the image from here on (the device object lives
    // while referenced, and answers without it).
    devices::detach(image.device);
    image.push(None);
    // SAFETY: the thread sets the event as it ends.
    unsafe { lkl_ntk::wait(image.ended.get()) };
    devices::delete(image.device);
    close(image.file);
    Ok(())
}

/// The disk attached from NT path `source`, if any.
pub fn by_source(source: &[u16]) -> Option<u32> {
    let images = IMAGES.lock();
    let found = images.iter().find(|i| i.source.as_slice() == source);
    found.map(|i| i.number)
}

/// A found disk (ATTACH_FOUND) whose file system has UUID `uuid`, if any:
/// one partition can reach us by two device paths (interfaces), and must
/// not be mounted twice.
pub fn found_with_uuid(uuid: &[u8; 16]) -> Option<u32> {
    let id = [UUID_ID, uuid].concat();
    let images = IMAGES.lock();
    let found = images
        .iter()
        .find(|i| i.flags & ATTACH_FOUND != 0 && i.unique_id == id);
    found.map(|i| i.number)
}

/// Whether `device` is the device of one of our image disks (attached by
/// a caller or found).
pub fn is_image(device: *mut nt::DEVICE_OBJECT) -> bool {
    IMAGES.lock().iter().any(|i| i.device == device)
}

/// Whether `device` is the disk of an image a caller attached (not a disk
/// the machine presents, nor one of those found and attached by us).
pub fn attached_by_user(device: *mut nt::DEVICE_OBJECT) -> bool {
    IMAGES
        .lock()
        .iter()
        .any(|i| i.device == device && i.flags & ATTACH_FOUND == 0)
}

/// The file object of disk `number`'s handle to what it is attached to,
/// referenced (the caller dereferences it).
pub fn reference_file(number: u32) -> Option<*mut c_void> {
    let handle = IMAGES.lock().iter().find(|i| i.number == number)?.file;
    let mut file: *mut c_void = null_mut();
    // SAFETY: the disk's kernel handle; any object type; a referenced
    // pointer out.
    let s =
        unsafe { nt::ObReferenceObjectByHandle(handle, 0, null_mut(), 0, &mut file, null_mut()) };
    (s >= 0).then_some(file)
}

/// Marks disk `number`'s device gone (surprise removal): its transfers
/// fail from now on, as the device's would.
pub fn mark_gone(number: u32) {
    if let Some(i) = IMAGES.lock().iter().find(|i| i.number == number) {
        i.gone.store(true, Ordering::SeqCst);
    }
}

/// Detaches every image (unload).
pub fn detach_all() {
    let numbers: Vec<u32> = IMAGES.lock().iter().map(|i| i.number).collect();
    for n in numbers {
        let _ = detach(n);
    }
    drop(core::mem::take(&mut *IMAGES.lock()));
}

pub fn list() -> Vec<ImageInfo> {
    IMAGES
        .lock()
        .iter()
        .map(|i| ImageInfo {
            disk: i.number,
            flags: i.flags,
            size: i.size,
            volume: crate::volume::on_device(i.device).unwrap_or(u32::MAX),
            letter: crate::drive_letters::of(i.number),
        })
        .collect()
}

pub fn count() -> usize {
    IMAGES.lock().len()
}

/// The disk device of image `number`.
pub fn device(number: u32) -> Option<*mut nt::DEVICE_OBJECT> {
    IMAGES
        .lock()
        .iter()
        .find(|i| i.number == number)
        .map(|i| i.device)
}

/// IRP_MJ_PNP that a volume mounted from an image disk passes on: the
/// disk, no PnP device of its own (it goes by IOCTL_DETACH), agrees to a
/// removal and its cancellation; anything else it leaves as the sender
/// set it (STATUS_NOT_SUPPORTED), as a driver at the bottom of a stack
/// must for what it does not handle.
fn pnp(irp: Irp) -> i32 {
    match irp.minor() as u32 {
        nt::IRP_MN_QUERY_REMOVE_DEVICE
        | nt::IRP_MN_REMOVE_DEVICE
        | nt::IRP_MN_CANCEL_REMOVE_DEVICE
        | nt::IRP_MN_SURPRISE_REMOVAL => irp.complete(Completion::ok(0)),
        _ => {
            let raw = irp.raw();
            // SAFETY: the status view of the IO_STATUS_BLOCK's union.
            let status = NtStatus(unsafe { raw.IoStatus.__bindgen_anon_1.Status } as u32);
            let information = raw.IoStatus.Information;
            irp.complete(Completion {
                status,
                information,
            })
        }
    }
}

/// STATUS_VERIFY_REQUIRED (ntstatus.h).
const STATUS_VERIFY_REQUIRED: u32 = 0x8000_0016;

impl Image {
    /// A transfer while the device is marked DO_VERIFY_VOLUME (its media
    /// may have changed) that the file system did not send to check it
    /// (SL_OVERRIDE_VERIFY_VOLUME): refused with STATUS_VERIFY_REQUIRED,
    /// as a disk driver of removable media refuses it.
    fn must_verify(&self, stack: &nt::IO_STACK_LOCATION) -> bool {
        // SAFETY: our device, alive while its requests are served.
        let flagged = unsafe { (*self.device).Flags } & nt::DO_VERIFY_VOLUME != 0;
        flagged && stack.Flags as u32 & nt::SL_OVERRIDE_VERIFY_VOLUME == 0
    }

    fn push(&self, irp: Option<Irp>) {
        self.queue.lock().push_back(irp);
        // SAFETY: the image's semaphore; no wait follows.
        unsafe { nt::KeReleaseSemaphore(self.ready.get(), 0, 1, 0) };
    }

    /// A request to the disk device.
    pub fn dispatch(&self, irp: Irp) -> i32 {
        let stack = irp.stack();
        match stack.MajorFunction as u32 {
            nt::IRP_MJ_READ | nt::IRP_MJ_WRITE => {
                // SAFETY: Read and Write share the layout of their parameters.
                let (offset, length) = unsafe {
                    let p = &stack.Parameters.Read;
                    (p.ByteOffset.QuadPart, p.Length as u64)
                };
                let write = stack.MajorFunction as u32 == nt::IRP_MJ_WRITE;
                if self.must_verify(stack) {
                    return irp.complete_status(NtStatus(STATUS_VERIFY_REQUIRED));
                }
                if write && self.flags & ATTACH_READ_ONLY != 0 {
                    return irp.complete_status(NtStatus::MEDIA_WRITE_PROTECTED);
                }
                let fits = offset >= 0
                    && (offset as u64) % self.sector == 0
                    && length % self.sector == 0
                    && (offset as u64)
                        .checked_add(length)
                        .is_some_and(|end| end <= self.size);
                if !fits {
                    return irp.complete_status(NtStatus::INVALID_PARAMETER);
                }
                self.queue_irp(irp)
            }
            nt::IRP_MJ_FLUSH_BUFFERS if self.must_verify(stack) => {
                irp.complete_status(NtStatus(STATUS_VERIFY_REQUIRED))
            }
            nt::IRP_MJ_FLUSH_BUFFERS => self.queue_irp(irp),
            nt::IRP_MJ_DEVICE_CONTROL | nt::IRP_MJ_INTERNAL_DEVICE_CONTROL => self.ioctl(irp),
            nt::IRP_MJ_CREATE | nt::IRP_MJ_CLOSE | nt::IRP_MJ_CLEANUP => {
                irp.complete(Completion::ok(0))
            }
            nt::IRP_MJ_PNP => pnp(irp),
            _ => irp.complete_status(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    fn queue_irp(&self, irp: Irp) -> i32 {
        irp.mark_pending();
        self.push(Some(irp));
        NtStatus::PENDING.0 as i32
    }

    fn ioctl(&self, irp: Irp) -> i32 {
        // SAFETY: the DeviceIoControl view of a DEVICE_CONTROL stack location.
        let p = unsafe { irp.stack().Parameters.DeviceIoControl };
        let out = irp.system_buffer().cast::<u8>();
        let out_len = p.OutputBufferLength as usize;
        let answer = |bytes: &[u8]| {
            if out_len < bytes.len() || out.is_null() {
                return irp.complete_status(NtStatus::BUFFER_TOO_SMALL);
            }
            // SAFETY: a METHOD_BUFFERED system buffer of out_len bytes.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
            irp.complete(Completion::ok(bytes.len() as u64))
        };
        match p.IoControlCode {
            nt::IOCTL_DISK_GET_LENGTH_INFO => answer(&self.size.to_le_bytes()),
            nt::IOCTL_DISK_GET_DRIVE_GEOMETRY => answer(&self.geometry()),
            nt::IOCTL_DISK_IS_WRITABLE => {
                irp.complete_status(if self.flags & ATTACH_READ_ONLY != 0 {
                    NtStatus::MEDIA_WRITE_PROTECTED
                } else {
                    NtStatus::SUCCESS
                })
            }
            nt::IOCTL_DISK_CHECK_VERIFY | nt::IOCTL_STORAGE_CHECK_VERIFY => {
                irp.complete(Completion::ok(0))
            }
            nt::IOCTL_MOUNTDEV_QUERY_DEVICE_NAME => {
                let name = lklfsd_control::image_device_name(self.number);
                let bytes: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
                counted(irp, out, out_len, &bytes)
            }
            nt::IOCTL_MOUNTDEV_QUERY_UNIQUE_ID => counted(irp, out, out_len, &self.unique_id),
            // No letter asked for: the Mount Manager picks one.
            nt::IOCTL_MOUNTDEV_QUERY_SUGGESTED_LINK_NAME => {
                irp.complete_status(NtStatus(nt::STATUS_NOT_FOUND as u32))
            }
            // The file system's UUID, which the Mount Manager makes the
            // volume's GUID of (none for a disk without one).
            IOCTL_MOUNTDEV_QUERY_STABLE_GUID => match self.unique_id.strip_prefix(UUID_ID) {
                Some(uuid) => answer(uuid),
                None => irp.complete_status(NtStatus::INVALID_DEVICE_REQUEST),
            },
            IOCTL_DISK_GET_PARTITION_INFO_EX => answer(&self.partition_information()),
            IOCTL_DISK_GET_DRIVE_GEOMETRY_EX => {
                let mut g = self.geometry().to_vec();
                g.extend_from_slice(&self.size.to_le_bytes());
                answer(&g)
            }
            // STORAGE_HOTPLUG_INFO: size; media removable, media hotplug,
            // device hotplug (it can go: Explorer offers to eject it),
            // write-cache override.
            IOCTL_STORAGE_GET_HOTPLUG_INFO => answer(&[8, 0, 0, 0, 0, 0, 1, 0]),
            _ => irp.complete_status(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// PARTITION_INFORMATION_EX: the whole disk as one MBR partition of
    /// type 0x83 (Linux), recognised, as Windows describes a volume.
    fn partition_information(&self) -> [u8; 144] {
        let mut p = [0u8; 144];
        p[16..24].copy_from_slice(&self.size.to_le_bytes());
        p[32] = 0x83;
        p[34] = 1;
        p
    }

    /// DISK_GEOMETRY: cylinders (i64), media type (FixedMedia), tracks per
    /// cylinder, sectors per track, bytes per sector.
    fn geometry(&self) -> [u8; 24] {
        let (heads, sectors) = (255u64, 63u64);
        let cylinders = self.size / self.sector / (heads * sectors);
        let mut g = [0u8; 24];
        g[0..8].copy_from_slice(&cylinders.to_le_bytes());
        g[8..12].copy_from_slice(&12u32.to_le_bytes());
        g[12..16].copy_from_slice(&(heads as u32).to_le_bytes());
        g[16..20].copy_from_slice(&(sectors as u32).to_le_bytes());
        g[20..24].copy_from_slice(&(self.sector as u32).to_le_bytes());
        g
    }

    /// The serving thread: one request at a time, in order.
    fn serve(&self) {
        loop {
            // SAFETY: the image's semaphore.
            unsafe { lkl_ntk::wait(self.ready.get()) };
            let Some(irp) = self.queue.lock().pop_front().flatten() else {
                // SAFETY: detach waits on this event.
                unsafe { nt::KeSetEvent(self.ended.get(), 0, 0) };
                return;
            };
            let c = self.transfer(irp);
            irp.complete(c);
        }
    }

    fn transfer(&self, irp: Irp) -> Completion {
        if self.gone.load(Ordering::SeqCst) {
            return NtStatus::NO_SUCH_DEVICE.into();
        }
        let stack = irp.stack();
        let major = stack.MajorFunction as u32;
        if major == nt::IRP_MJ_FLUSH_BUFFERS {
            return self.flush();
        }
        // SAFETY: as in dispatch.
        let (offset, length) = unsafe {
            let p = &stack.Parameters.Read;
            (p.ByteOffset.QuadPart, p.Length)
        };
        let raw = irp.raw();
        let mut buffer: *mut c_void = if raw.MdlAddress.is_null() {
            raw.UserBuffer
        } else {
            mdl_address(raw.MdlAddress)
        };
        // A kernel-mode sender's buffer is a system address itself (Wine
        // maps no MDL a driver built).
        if buffer.is_null() && !irp.from_user() {
            buffer = raw.UserBuffer;
        }
        if buffer.is_null() {
            return NtStatus::INSUFFICIENT_RESOURCES.into();
        }
        let transfer = if major == nt::IRP_MJ_READ {
            nt::ZwReadFile
        } else {
            nt::ZwWriteFile
        };
        // SAFETY: buffer holds length bytes (the IRP's MDL or buffer) until
        // the IRP completes.
        let done = match unsafe { file_io(transfer, self.file, buffer, length, offset) } {
            Ok(n) if n == length as u64 => n,
            // Short: the image ends before the disk does (it shrank), or
            // its volume is full. Never passed on as a whole transfer.
            Ok(_) if major == nt::IRP_MJ_READ => return NtStatus::END_OF_FILE.into(),
            Ok(_) => return NtStatus::DISK_FULL.into(),
            Err(s) => return s.into(),
        };
        if major == nt::IRP_MJ_WRITE && stack.Flags as u32 & nt::SL_WRITE_THROUGH != 0 {
            let f = self.flush();
            if f.status.is_error() {
                return f;
            }
        }
        Completion::ok(done)
    }

    fn flush(&self) -> Completion {
        let mut iosb: nt::IO_STATUS_BLOCK = zeroed();
        // SAFETY: the image's handle.
        let s = unsafe { nt::ZwFlushBuffersFile(self.file, &mut iosb) };
        if s < 0 {
            status(s).into()
        } else {
            Completion::ok(0)
        }
    }
}
