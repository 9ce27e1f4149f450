//! A disk on an image file or a raw block device, served by a small pool
//! of worker threads doing positional I/O off the kernel's threads. Reads
//! of up to 64 KiB whose data the host already caches are done at once
//! instead, without blocking (preadv2 with RWF_NOWAIT): no thread hand-off.
//! On Windows, which has no such read, reads of up to 64 KiB are done at
//! once, cached or not. An image in use is not opened: see [`open_image`].
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::vec::Vec;

use crate::disk::{Disk, DiskOp, Request};
use crate::Errno;

const WORKERS: usize = 4;
/// Larger reads go to the workers even when cached: copying them on the
/// kernel's thread would hold up the kernel; workers overlap with it.
const INLINE_READ_MAX: u64 = 64 << 10;
static ZEROES: [u8; 64 << 10] = [0; 64 << 10];

/// A disk on a file; the capacity is the file's size, rounded down to
/// whole 512-byte blocks.
pub struct FileDisk {
    file: Arc<File>,
    capacity: u64,
    read_only: bool,
    queue: Mutex<Option<Sender<Request>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// Positional reads and writes, on each host's file API.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    // Wine's ReadFile reads each page of the buffer before writing it: a
    // page the kernel never touched would fault twice (mapped read-only,
    // then copied on write). A first write maps it once; on Windows the
    // read would take the same single fault.
    for page in buf.chunks_mut(4096) {
        page[0] = 0;
    }
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// The size of an image file or a Linux block device.
#[cfg(unix)]
fn size(file: &mut File) -> std::io::Result<u64> {
    file.seek(SeekFrom::End(0))
}

/// The size of a disk or volume (`\\.\PhysicalDrive1`, `\\.\X:`), whose end
/// Windows does not seek to, from IOCTL_DISK_GET_LENGTH_INFO; of an image
/// file, from its end.
#[cfg(windows)]
fn size(file: &mut File) -> std::io::Result<u64> {
    use crate::win32::{DeviceIoControl, IOCTL_DISK_GET_LENGTH_INFO};
    use std::os::windows::io::AsRawHandle;
    let mut length: i64 = 0;
    let mut returned = 0u32;
    // SAFETY: the handle is open for the call's duration; the output is one
    // live i64 (GET_LENGTH_INFORMATION) of the length given.
    let ok = unsafe {
        DeviceIoControl(
            file.as_raw_handle(),
            IOCTL_DISK_GET_LENGTH_INFO,
            core::ptr::null(),
            0,
            (&mut length as *mut i64).cast(),
            8,
            &mut returned,
            core::ptr::null_mut(),
        )
    };
    if ok != 0 && returned == 8 {
        return Ok(length as u64);
    }
    // Not a disk or volume: a file, whose end is its size; or a device that
    // has neither that ioctl nor an end (Wine's view of a Linux block
    // device).
    match file.seek(SeekFrom::End(0)) {
        Ok(end) if end > 0 => Ok(end),
        _ => Ok(probe_size(file)),
    }
}

/// The end of the last readable byte of a device, found with 4 KiB reads
/// (aligned for any sector size): doubling past the end, then bisecting.
#[cfg(windows)]
fn probe_size(file: &File) -> u64 {
    #[repr(align(4096))]
    struct Block([u8; 4096]);
    const BLOCK: u64 = 4096;
    const MAX_BLOCKS: u64 = 1 << 40;
    let mut block = std::boxed::Box::new(Block([0; 4096]));
    let mut read = |index: u64| {
        std::os::windows::fs::FileExt::seek_read(file, &mut block.0, index * BLOCK).unwrap_or(0)
            as u64
    };
    let (mut full, mut past) = match read(0) {
        BLOCK => (0, 1),
        partial => return partial,
    };
    while past < MAX_BLOCKS && read(past) == BLOCK {
        full = past;
        past *= 2;
    }
    while past - full > 1 {
        let mid = full + (past - full) / 2;
        if read(mid) == BLOCK {
            full = mid;
        } else {
            past = mid;
        }
    }
    (full + 1) * BLOCK + read(full + 1)
}

fn errno(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

impl FileDisk {
    /// Opens an image or device for this program alone: refused while
    /// another program uses it (see [`open_image`]).
    pub fn open(path: impl AsRef<Path>, read_only: bool) -> std::io::Result<FileDisk> {
        Self::with_file(open_image(path.as_ref(), read_only, false)?)
    }

    /// As [`FileDisk::open`], for a reader that opens the image writable
    /// only so that Linux may replay a journal: other such readers may have
    /// it open at the same time, no writer; read-only after all if the host
    /// kernel has the image attached to a loop device (maybe mounted).
    pub fn open_shared(path: impl AsRef<Path>, read_only: bool) -> std::io::Result<FileDisk> {
        Self::with_file(open_image(path.as_ref(), read_only, true)?)
    }

    fn with_file((mut file, read_only): (File, bool)) -> std::io::Result<FileDisk> {
        let capacity = size(&mut file)? & !511;
        if capacity == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the image is smaller than one 512-byte block, or its size is unknown",
            ));
        }
        let file = Arc::new(file);
        let (tx, rx) = channel::<Request>();
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..WORKERS)
            .map(|_| {
                let (file, rx) = (file.clone(), rx.clone());
                std::thread::Builder::new()
                    .name("lkl-disk".into())
                    .spawn(move || serve(&file, &rx))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(FileDisk {
            file,
            capacity,
            read_only,
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
        })
    }
}

/// Opens an image or device so that nobody writes it while it is in use
/// here, nor uses it while it is written here: a lock on the file, shared
/// for readers (`read_only` or `shared`) and exclusive for a writer (every
/// program on this library takes it); a block device to write is also
/// opened exclusively, which Linux refuses while its own kernel has it
/// mounted, and an image file the host has on a loop device is not
/// written. A file that takes no lock (some devices) is used as it is.
/// Returns the file and whether it is read-only.
fn open_image(path: &Path, read_only: bool, shared: bool) -> std::io::Result<(File, bool)> {
    let in_use = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            std::format!("in use: {why}"),
        )
    };
    let mut options = OpenOptions::new();
    options.read(true).write(!read_only);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let device = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_block_device());
        if device && !read_only && !shared {
            options.custom_flags(libc::O_EXCL);
        }
    }
    let file = options.open(path).map_err(|e| {
        if cfg!(unix) && e.kind() == std::io::ErrorKind::ResourceBusy {
            in_use("mounted or open elsewhere")
        } else {
            e
        }
    })?;
    #[cfg(target_os = "linux")]
    if !read_only {
        if let Some(device) = loop_device_of(&file) {
            if shared {
                return open_image(path, true, true);
            }
            return Err(in_use(&std::format!("the host has it on {device}")));
        }
    }
    let locked = match (read_only, shared) {
        (false, false) => file.try_lock(),
        (true, _) => file.try_lock_shared(),
        (false, true) if cfg!(unix) => file.try_lock_shared(),
        // On Windows a shared lock keeps its own handle from writing too.
        (false, true) => return Ok((file, read_only)),
    };
    match locked {
        Err(std::fs::TryLockError::WouldBlock) => Err(in_use("another program has it open")),
        _ => Ok((file, read_only)),
    }
}

/// The loop device (`/dev/loopN`) the host kernel has on `file`, if any.
#[cfg(target_os = "linux")]
fn loop_device_of(file: &File) -> Option<std::string::String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let backing = std::fs::read_to_string(entry.path().join("loop/backing_file")).ok()?;
            let backing = backing.trim_end_matches('\n');
            let same = std::fs::metadata(backing)
                .is_ok_and(|b| b.dev() == meta.dev() && b.ino() == meta.ino());
            same.then(|| std::format!("/dev/{name}"))
        })
}

fn serve(file: &File, rx: &Mutex<Receiver<Request>>) {
    loop {
        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(mut req) = next else { return };
        let result = perform(file, &mut req);
        req.complete(result);
    }
}

fn perform(file: &File, req: &mut Request) -> Result<(), Errno> {
    let mut offset = req.offset();
    let fua = req.fua();
    match req.op() {
        DiskOp::Read => {
            for seg in req.segments() {
                read_at(file, seg, offset).map_err(errno)?;
                offset += seg.len() as u64;
            }
        }
        DiskOp::Write => {
            for seg in req.segments() {
                write_at(file, seg, offset).map_err(errno)?;
                offset += seg.len() as u64;
            }
            if fua {
                file.sync_data().map_err(errno)?;
            }
        }
        DiskOp::Flush => file.sync_data().map_err(errno)?,
        // Advisory: keeping the old contents is a valid discard.
        DiskOp::Discard => {}
        DiskOp::WriteZeroes => {
            let end = offset + req.len();
            while offset < end {
                let n = (end - offset).min(ZEROES.len() as u64) as usize;
                write_at(file, &ZEROES[..n], offset).map_err(errno)?;
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Reads every segment from the host's cache, or reports that it could
/// not without waiting for the device.
#[cfg(unix)]
fn read_cached(file: &File, req: &mut Request) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut offset = req.offset();
    for seg in req.segments() {
        let iov = libc::iovec {
            iov_base: seg.as_mut_ptr().cast(),
            iov_len: seg.len(),
        };
        // SAFETY: the iovec covers one live, writable segment; the call
        // only fills it.
        let n = unsafe { libc::preadv2(fd, &iov, 1, offset as i64, libc::RWF_NOWAIT) };
        if n != seg.len() as isize {
            return false;
        }
        offset += seg.len() as u64;
    }
    true
}

/// Windows has no read that fails instead of waiting for the device, so
/// small reads are done here: a hand-off to a worker costs more than the
/// copy when the host caches the image (the usual case), and a miss holds
/// the kernel for one small read. Any error goes to the workers.
#[cfg(windows)]
fn read_cached(file: &File, req: &mut Request) -> bool {
    let mut offset = req.offset();
    for seg in req.segments() {
        if read_at(file, seg, offset).is_err() {
            return false;
        }
        offset += seg.len() as u64;
    }
    true
}

impl Disk for FileDisk {
    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn submit(&self, mut request: Request) {
        if request.op() == DiskOp::Read
            && request.len() <= INLINE_READ_MAX
            && read_cached(&self.file, &mut request)
        {
            return request.complete(Ok(()));
        }
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.as_ref() {
            // A request the workers cannot take is dropped: EIO.
            Some(tx) => drop(tx.send(request)),
            None => drop(request),
        }
    }
}

impl Drop for FileDisk {
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        for worker in self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = worker.join();
        }
        let _ = self.file.sync_all();
    }
}
