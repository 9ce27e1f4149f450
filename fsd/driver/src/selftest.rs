//! The self-test (test mode only): real IRPs, built here and sent through
//! IoCallDriver to the driver's own devices, for what Wine never sends a
//! driver (MOUNT_VOLUME, CREATE with names and security contexts,
//! directory queries, file information, CLEANUP, dismount). It runs on a
//! worker, so every request is served in place. Its report is text, one
//! line per step (`step status information detail`), which the test on
//! the Linux side checks against the image's tree.
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::null_mut;

use fsd::NtStatus;
use lkl_ntk::{nt, zeroed};

use crate::driver;
use crate::send::{send, Outcome};

/// A file object of our own, named `name`, for CREATE and what follows.
struct File {
    object: Box<nt::FILE_OBJECT>,
    _name: Vec<u16>,
}

const IO_TYPE_FILE: i16 = 5;

impl File {
    fn new(name: &str) -> File {
        let mut units: Vec<u16> = name.encode_utf16().collect();
        let mut object: Box<nt::FILE_OBJECT> = Box::new(zeroed());
        object.Type = IO_TYPE_FILE;
        object.Size = core::mem::size_of::<nt::FILE_OBJECT>() as i16;
        object.FileName.Length = (units.len() * 2) as u16;
        object.FileName.MaximumLength = object.FileName.Length;
        object.FileName.Buffer = units.as_mut_ptr();
        File {
            object,
            _name: units,
        }
    }

    fn ptr(&mut self) -> *mut nt::FILE_OBJECT {
        &mut *self.object
    }
}

struct Report(String);

impl Report {
    fn step(&mut self, name: &str, o: &Outcome, detail: &str) {
        let status = o.status.name().map_or_else(|| format!("{:#010x}", o.status.0), String::from);
        self.0 += &format!("{name} {status} {} {detail}\n", o.information);
    }
}

const GENERIC_READ_WRITE: u32 = 0x8000_0000 | 0x4000_0000;
const FILE_LIST_DIRECTORY: u32 = 1;
const FILE_DIRECTORY_FILE: u32 = 1;
const FILE_NON_DIRECTORY_FILE: u32 = 0x40;
const FILE_OPEN: u32 = 1;
const FILE_CREATE: u32 = 2;
const FILE_NAMES_INFORMATION: u32 = 12;
const FILE_STANDARD_INFORMATION: u32 = 5;

fn create(vdo: *mut nt::DEVICE_OBJECT, f: &mut File, disposition: u32, options: u32, access: u32) -> Outcome {
    let mut security: nt::IO_SECURITY_CONTEXT = zeroed();
    security.DesiredAccess = access;
    let sec = &mut security as *mut nt::IO_SECURITY_CONTEXT;
    send(vdo, nt::IRP_MJ_CREATE, 0, f.ptr(), |s, _| {
        s.Parameters.Create.SecurityContext = sec;
        s.Parameters.Create.Options = (disposition << 24) | options;
        s.Parameters.Create.ShareAccess = 7;
    })
}

fn close(vdo: *mut nt::DEVICE_OBJECT, f: &mut File, report: &mut Report, name: &str) {
    let o = send(vdo, nt::IRP_MJ_CLEANUP, 0, f.ptr(), |_, _| {});
    report.step(&format!("cleanup:{name}"), &o, "");
    let o = send(vdo, nt::IRP_MJ_CLOSE, 0, f.ptr(), |_, _| {});
    report.step(&format!("close:{name}"), &o, "");
}

/// Names in a FILE_NAMES_INFORMATION listing.
fn names(buf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= buf.len() {
        let next = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(buf[at + 8..at + 12].try_into().unwrap()) as usize;
        let units: Vec<u16> = buf[at + 12..(at + 12 + len).min(buf.len())]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        out.push(String::from_utf16_lossy(&units));
        if next == 0 {
            break;
        }
        at += next;
    }
    out
}

/// Mounts the disk `device` with MOUNT_VOLUME, works on it through IRPs,
/// and dismounts it.
pub fn run(device: *mut nt::DEVICE_OBJECT) -> String {
    let mut report = Report(String::new());
    let mut vpb: Box<nt::VPB> = Box::new(zeroed());
    vpb.Size = core::mem::size_of::<nt::VPB>() as i16;
    vpb.RealDevice = device;
    let vpb_ptr: *mut nt::VPB = &mut *vpb;
    let o = send(driver().control, nt::IRP_MJ_FILE_SYSTEM_CONTROL, nt::IRP_MN_MOUNT_VOLUME, null_mut(), |s, _| {
        s.Parameters.MountVolume.Vpb = vpb_ptr;
        s.Parameters.MountVolume.DeviceObject = device;
    });
    report.step("mount", &o, "");
    let vdo = vpb.DeviceObject;
    if o.status.is_error() || vdo.is_null() {
        return report.0;
    }

    let mut root = File::new("\\");
    let o = create(vdo, &mut root, FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY);
    report.step("create:\\", &o, "");
    let mut listing = vec![0u8; 64 << 10];
    let buf = listing.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_DIRECTORY_CONTROL, nt::IRP_MN_QUERY_DIRECTORY, root.ptr(), |s, irp| {
        irp.UserBuffer = buf.cast();
        s.Parameters.QueryDirectory.Length = (64 << 10) as u32;
        s.Parameters.QueryDirectory.FileInformationClass = FILE_NAMES_INFORMATION;
        s.Flags = nt::SL_RESTART_SCAN as u8;
    });
    let mut listed = names(&listing[..(o.information as usize).min(listing.len())]);
    listed.sort();
    report.step("query_directory:\\", &o, &listed.join("|"));
    close(vdo, &mut root, &mut report, "\\");

    let mut hello = File::new("\\hello.txt");
    let o = create(vdo, &mut hello, FILE_OPEN, FILE_NON_DIRECTORY_FILE, GENERIC_READ_WRITE);
    report.step("create:\\hello.txt", &o, "");
    let mut info = [0u8; 24];
    let info_ptr = info.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_QUERY_INFORMATION, 0, hello.ptr(), |s, irp| {
        irp.AssociatedIrp.SystemBuffer = info_ptr.cast();
        s.Parameters.QueryFile.Length = 24;
        s.Parameters.QueryFile.FileInformationClass = FILE_STANDARD_INFORMATION;
    });
    let size = u64::from_le_bytes(info[8..16].try_into().unwrap());
    report.step("query_information:\\hello.txt", &o, &format!("size={size}"));
    let mut data = vec![0u8; 4096];
    let data_ptr = data.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_READ, 0, hello.ptr(), |s, irp| {
        irp.UserBuffer = data_ptr.cast();
        s.Parameters.Read.Length = 4096;
        s.Parameters.Read.ByteOffset.QuadPart = 0;
    });
    let text = String::from_utf8_lossy(&data[..(o.information as usize).min(4096)]).replace('\n', "\\n");
    report.step("read:\\hello.txt", &o, &text);
    close(vdo, &mut hello, &mut report, "\\hello.txt");

    let mut made = File::new("\\from-driver.txt");
    let o = create(vdo, &mut made, FILE_CREATE, FILE_NON_DIRECTORY_FILE, GENERIC_READ_WRITE);
    report.step("create:\\from-driver.txt", &o, "");
    let mut written = *b"written through IRP_MJ_WRITE\n";
    let w = written.as_mut_ptr();
    let o = send(vdo, nt::IRP_MJ_WRITE, 0, made.ptr(), |s, irp| {
        irp.UserBuffer = w.cast();
        s.Parameters.Write.Length = written.len() as u32;
        s.Parameters.Write.ByteOffset.QuadPart = 0;
    });
    report.step("write:\\from-driver.txt", &o, "");
    close(vdo, &mut made, &mut report, "\\from-driver.txt");

    let number = crate::volume::on_device(device);
    let o = match number.map(crate::volume::dismount) {
        Some(Ok(())) => Outcome::of(NtStatus::SUCCESS),
        Some(Err(e)) => Outcome::of(e),
        None => Outcome::of(NtStatus::NO_SUCH_DEVICE),
    };
    report.step("dismount", &o, "");
    report.0
}

/// Makes Linux panic, as a crash inside the kernel would (sysrq's "c").
pub fn panic_linux() {
    let fd = lkl::sys::openat(lkl::uapi::AT_FDCWD, "/proc/sysrq-trigger", lkl::uapi::O_WRONLY, 0);
    if let Ok(fd) = fd {
        let _ = lkl::sys::write(fd, b"c");
        let _ = lkl::sys::close(fd);
    }
}
