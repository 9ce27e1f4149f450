//! The benchmark (test mode only): the IRP path against the core's
//! functions, in the same driver, on the same volume, in interleaved
//! rounds (so that a slow spell hits both alike), each the median of its
//! rounds: open+close of one file, a 64 KiB read, and listing a directory
//! of 1,000 entries. The IRPs are reused (IoReuseIrp), as the I/O manager
//! takes them from a lookaside list: what is measured is the driver's
//! part. The volume is the disk's, mounted with MOUNT_VOLUME;
//! the image holds `data.bin` (64 KiB or more) and `dir1000/`.
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use fsd::access::{FILE_LIST_DIRECTORY, GENERIC_READ};
use fsd::create::{self, CreateRequest, FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, FILE_OPEN};
use fsd::dirctrl::{self, QueryDirectory, FILE_DIRECTORY_INFORMATION};
use fsd::NtStatus;
use lkl::Host;
use lkl_ntk::{nt, NtkHost};

use crate::devices;
use crate::selftest::{create as create_irp, mount_volume, File};
use crate::send::{send, Reused};
use crate::volume::MountedVolume;

const ROUNDS: usize = 7;
const READ_SIZE: usize = 64 << 10;

/// Nanoseconds per call of each of `subjects`, interleaved over rounds.
fn measure(calls: u32, subjects: &mut [&mut dyn FnMut()]) -> Vec<u64> {
    let mut samples = vec![Vec::with_capacity(ROUNDS); subjects.len()];
    for _ in 0..ROUNDS {
        for (f, times) in subjects.iter_mut().zip(&mut samples) {
            for _ in 0..calls / 10 {
                f();
            }
            let start = NtkHost::monotonic_ns();
            for _ in 0..calls {
                f();
            }
            times.push((NtkHost::monotonic_ns() - start) / calls as u64);
        }
    }
    samples
        .into_iter()
        .map(|mut t| {
            t.sort_unstable();
            t[t.len() / 2]
        })
        .collect()
}

fn name(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Runs the benchmark on disk `device`; one line per measurement:
/// `name irp_ns core_ns`, then `boot_ns N` and `pool_after_mount N`.
pub fn run(device: *mut nt::DEVICE_OBJECT) -> Result<String, NtStatus> {
    let (vpb, o) = mount_volume(device);
    if o.status.is_error() {
        return Err(o.status);
    }
    // SAFETY: the VPB the mount filled in.
    let vdo = unsafe { (*vpb).DeviceObject };
    // SAFETY: a volume device's object is its MountedVolume, kept until unload.
    let vol = unsafe { &*(devices::extension(vdo).object as *const MountedVolume) };
    let pool: u64 = lkl_ntk::pool::usage().iter().map(|u| u.bytes).sum();
    let mut out = String::new();

    // One IRP that does nothing (a major function volumes do not serve):
    // what the I/O manager and the dispatch cost each request.
    let mut irp = Reused::new(vdo).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let mut null = || {
        irp.send(
            vdo,
            nt::IRP_MJ_SHUTDOWN,
            0,
            core::ptr::null_mut(),
            |_, _| {},
        );
    };
    let t = measure(20000, &mut [&mut null]);
    out += &format!("null_irp {}\n", t[0]);

    // Open and close one file.
    let (data, dir) = (name("\\data.bin"), name("\\dir1000"));
    let request = |n, options| CreateRequest {
        related: None,
        name: n,
        disposition: FILE_OPEN,
        options,
        desired_access: GENERIC_READ,
        share_access: 7,
        file_attributes: 0,
        caller: None,
    };
    let open_data = request(&data, FILE_NON_DIRECTORY_FILE);
    let open_dir = request(&dir, FILE_DIRECTORY_FILE);
    // One file object, opened and closed again and again (a CLOSE leaves
    // it as it was before its CREATE).
    let mut opened = File::new("\\data.bin");
    let mut security: nt::IO_SECURITY_CONTEXT = lkl_ntk::zeroed();
    security.DesiredAccess = GENERIC_READ;
    let sec: *mut nt::IO_SECURITY_CONTEXT = &mut security;
    let mut irp_open = || {
        let fo = opened.ptr();
        irp.send(vdo, nt::IRP_MJ_CREATE, 0, fo, |s, _| {
            s.Parameters.Create.SecurityContext = sec;
            s.Parameters.Create.Options = (FILE_OPEN << 24) | FILE_NON_DIRECTORY_FILE;
            s.Parameters.Create.ShareAccess = 7;
        });
        irp.send(vdo, nt::IRP_MJ_CLEANUP, 0, fo, |_, _| {});
        irp.send(vdo, nt::IRP_MJ_CLOSE, 0, fo, |_, _| {});
    };
    let mut core_open = || {
        if let Ok(mut c) = create::create(&vol.core, &open_data) {
            fsd::cleanup::cleanup(&vol.core, &mut c.ccb);
            fsd::close::close(&vol.core, c.ccb);
        }
    };
    let t = measure(2000, &mut [&mut irp_open, &mut core_open]);
    out += &format!("open_close {} {}\n", t[0], t[1]);

    // Read 64 KiB at the start of the file, again and again.
    let mut f = File::new("\\data.bin");
    let o = create_irp(
        vdo,
        &mut f,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
        GENERIC_READ,
    );
    if o.status.is_error() {
        return Err(o.status);
    }
    let mut core_file = create::create(&vol.core, &open_data)?;
    let mut buf = vec![0u8; READ_SIZE];
    let ptr = buf.as_mut_ptr();
    let fo = f.ptr();
    let mut irp_read = || {
        irp.send(vdo, nt::IRP_MJ_READ, 0, fo, |s, irp| {
            irp.UserBuffer = ptr.cast();
            s.Parameters.Read.Length = READ_SIZE as u32;
            s.Parameters.Read.ByteOffset.QuadPart = 0;
        });
    };
    let mut core_buf = vec![0u8; READ_SIZE];
    let mut core_read = || {
        fsd::read::read(&vol.core, &mut core_file.ccb, Some(0), &mut core_buf);
    };
    let t = measure(2000, &mut [&mut irp_read, &mut core_read]);
    out += &format!("read_64k {} {}\n", t[0], t[1]);
    send(vdo, nt::IRP_MJ_CLEANUP, 0, fo, |_, _| {});
    send(vdo, nt::IRP_MJ_CLOSE, 0, fo, |_, _| {});
    fsd::cleanup::cleanup(&vol.core, &mut core_file.ccb);
    fsd::close::close(&vol.core, core_file.ccb);

    // List a directory of 1,000 entries from the start.
    let mut d = File::new("\\dir1000");
    let o = create_irp(
        vdo,
        &mut d,
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
        FILE_LIST_DIRECTORY,
    );
    if o.status.is_error() {
        return Err(o.status);
    }
    let mut core_dir = create::create(&vol.core, &open_dir)?;
    let mut listing = vec![0u8; 64 << 10];
    let lp = listing.as_mut_ptr();
    let dfo = d.ptr();
    let mut irp_list = || {
        let mut restart = true;
        loop {
            let o = irp.send(
                vdo,
                nt::IRP_MJ_DIRECTORY_CONTROL,
                nt::IRP_MN_QUERY_DIRECTORY,
                dfo,
                |s, irp| {
                    irp.UserBuffer = lp.cast();
                    s.Parameters.QueryDirectory.Length = 64 << 10;
                    s.Parameters.QueryDirectory.FileInformationClass = FILE_DIRECTORY_INFORMATION;
                    s.Flags = if restart {
                        nt::SL_RESTART_SCAN as u8
                    } else {
                        0
                    };
                },
            );
            restart = false;
            if o.status != NtStatus::SUCCESS {
                break;
            }
        }
    };
    let mut core_listing = vec![0u8; 64 << 10];
    let mut core_list = || {
        let mut restart = true;
        loop {
            let req = QueryDirectory {
                class: FILE_DIRECTORY_INFORMATION,
                pattern: None,
                restart_scan: restart,
                return_single_entry: false,
                index: None,
            };
            restart = false;
            let c = dirctrl::query_directory(&vol.core, &mut core_dir.ccb, &req, &mut core_listing);
            if c.status != NtStatus::SUCCESS {
                break;
            }
        }
    };
    let t = measure(20, &mut [&mut irp_list, &mut core_list]);
    out += &format!("list_1000 {} {}\n", t[0], t[1]);
    send(vdo, nt::IRP_MJ_CLEANUP, 0, dfo, |_, _| {});
    send(vdo, nt::IRP_MJ_CLOSE, 0, dfo, |_, _| {});
    fsd::cleanup::cleanup(&vol.core, &mut core_dir.ccb);
    fsd::close::close(&vol.core, core_dir.ccb);

    out += &format!(
        "boot_ns {}\npool_after_mount {}\n",
        crate::linux::boot_ns(),
        pool
    );
    let _ = crate::volume::on_device(device).map(crate::volume::dismount);
    crate::selftest::release_device_vpb(device);
    Ok(out)
}
