//! The control device, `\Device\LklFsd` (`\\.\LklFsd`): the file system's
//! own device (MOUNT_VOLUME arrives here) and the IOCTLs of
//! `lklfsd_control`: image disks, mounting, statistics, and in test mode
//! the self-test and the panic trigger. Every buffer is METHOD_BUFFERED
//! and checked for its exact size before anything changes.
use alloc::vec::Vec;

use fsd::{Completion, NtStatus};
use lkl_ntk::nt;
use lklfsd_control::{self as ctl, AttachImage, ImageInfo, MountRequest, Mounted, Statistics};

use crate::dispatch::in_linux;
use crate::irp::Irp;
use crate::{
    bench, drive_letters, driver, found_disks, image_disk, linux, mount, relay, rights, selftest,
    stats, volume,
};

pub fn dispatch(irp: Irp) -> i32 {
    match irp.major() as u32 {
        // The device itself opens; it has no names below it (which
        // FILE_DEVICE_SECURE_OPEN checks against its DACL as well).
        nt::IRP_MJ_CREATE
            if !irp.file_object().is_null() && !crate::file::name(irp.file_object()).is_empty() =>
        {
            irp.complete_status(NtStatus::OBJECT_NAME_INVALID)
        }
        nt::IRP_MJ_CREATE | nt::IRP_MJ_CLOSE | nt::IRP_MJ_CLEANUP => {
            irp.complete(Completion::ok(0))
        }
        nt::IRP_MJ_FILE_SYSTEM_CONTROL => match mount::recognise(driver(), irp) {
            // Not ours, or nothing to mount it with: answered at once, so
            // no other file system's mount ever waits for our workers.
            Err(status) => irp.complete_status(status),
            Ok(()) => completed_in_linux(irp, |irp| mount::fsctl(driver(), irp)),
        },
        nt::IRP_MJ_DEVICE_CONTROL => ioctl(irp),
        nt::IRP_MJ_SHUTDOWN => completed_in_linux(irp, |_| crate::shutdown::shutdown()),
        _ => irp.complete_status(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// IOCTL_MOUNT: the image disk `device`'s file system mounted in the
/// disk's own VPB (when the I/O manager has not mounted one there), and
/// the letter asked for given to the disk; a letter that cannot be had
/// undoes the mount.
fn mount_image(device: *mut nt::DEVICE_OBJECT, req: &MountRequest) -> Result<Mounted, NtStatus> {
    // SAFETY: our image disk's device; its VPB (if the I/O manager gave
    // it one) is read under no lock: a mount by the I/O manager cannot
    // come before the disk has a letter.
    let vpb = unsafe {
        let vpb = (*device).Vpb;
        if vpb.is_null() || (*vpb).Flags & nt::VPB_MOUNTED as u16 != 0 {
            core::ptr::null_mut()
        } else {
            vpb
        }
    };
    let read_only = req.flags & ctl::ATTACH_READ_ONLY != 0;
    let volume = mount::mount(driver(), device, vpb, req.partition, read_only, true)?;
    let letter_by = match req.letter {
        0 => ctl::LETTER_NONE,
        letter => match drive_letters::assign(req.disk, letter as u16) {
            Ok(how) => how as u32,
            Err(e) => {
                let _ = volume::dismount(volume);
                return Err(e);
            }
        },
    };
    Ok(Mounted { volume, letter_by })
}

/// Serves a control request in Linux; control requests are never pended.
fn completed_in_linux(irp: Irp, serve: impl FnOnce(Irp) -> Completion + Send + 'static) -> i32 {
    in_linux(irp, move |irp| Some(serve(irp)))
}

/// The input and the output of a METHOD_BUFFERED IOCTL (one system buffer).
struct Buffers {
    input: Vec<u8>,
    out_len: usize,
}

fn buffers(irp: Irp) -> Buffers {
    // SAFETY: the DeviceIoControl view of a DEVICE_CONTROL stack location.
    let p = unsafe { irp.stack().Parameters.DeviceIoControl };
    let sys = irp.system_buffer().cast::<u8>();
    let in_len = p.InputBufferLength as usize;
    let input = if sys.is_null() || in_len == 0 {
        Vec::new()
    } else {
        // SAFETY: the system buffer holds the input's bytes.
        unsafe { core::slice::from_raw_parts(sys, in_len) }.to_vec()
    };
    Buffers {
        input,
        out_len: if sys.is_null() {
            0
        } else {
            p.OutputBufferLength as usize
        },
    }
}

/// Writes `bytes` to the IOCTL's output; BUFFER_TOO_SMALL if they do not fit.
fn answer(irp: Irp, out_len: usize, bytes: &[u8]) -> Completion {
    if bytes.len() > out_len {
        return NtStatus::BUFFER_TOO_SMALL.into();
    }
    // SAFETY: the system buffer has out_len bytes of room.
    unsafe {
        core::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            irp.system_buffer().cast::<u8>(),
            bytes.len(),
        )
    };
    Completion::ok(bytes.len() as u64)
}

fn u32_input(input: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(input.try_into().ok()?))
}

fn ioctl(irp: Irp) -> i32 {
    // SAFETY: as in buffers.
    let code = unsafe { irp.stack().Parameters.DeviceIoControl.IoControlCode };
    let b = buffers(irp);
    let test_only = matches!(
        code,
        ctl::IOCTL_SELF_TEST
            | ctl::IOCTL_PANIC
            | ctl::IOCTL_BENCH
            | ctl::IOCTL_RELAY
            | ctl::IOCTL_TEST_ARRIVAL
            | ctl::IOCTL_TEST_DEPARTURE
    );
    // The test requests (they can panic Linux, relay any IRP as the
    // kernel would, stand for any arrival): test mode and an
    // administrator only, never a mere holder of SeManageVolumePrivilege.
    let tester = || !irp.from_user() || rights::is_administrator();
    if test_only && !(driver().settings.test_mode && tester()) {
        return irp.complete_status(NtStatus::ACCESS_DENIED);
    }
    // Only the device's DACL (SYSTEM, Administrators) keeps others from
    // reading the list and the statistics; what changes volumes, and the
    // test requests, ask who the caller is as well.
    let reads_only = matches!(code, ctl::IOCTL_LIST_IMAGES | ctl::IOCTL_STATISTICS);
    if !reads_only && !rights::may_manage_volumes(irp) {
        return irp.complete_status(NtStatus::ACCESS_DENIED);
    }
    match code {
        ctl::IOCTL_ATTACH_IMAGE => {
            let caller = if !irp.from_user() || rights::is_administrator() {
                image_disk::Caller::Administrator
            } else {
                image_disk::Caller::User
            };
            let c = match AttachImage::decode(&b.input) {
                None => NtStatus::INVALID_PARAMETER.into(),
                // Found disks are the driver's own to attach (shared).
                Some((head, _)) if head.flags & ctl::ATTACH_FOUND != 0 => {
                    NtStatus::INVALID_PARAMETER.into()
                }
                Some((head, path)) => match image_disk::path_units(path) {
                    None => NtStatus::OBJECT_NAME_INVALID.into(),
                    Some(units) => {
                        match image_disk::attach(driver().object, head.flags, units, caller) {
                            Ok(n) => answer(irp, b.out_len, &n.to_le_bytes()),
                            Err(e) => e.into(),
                        }
                    }
                },
            };
            irp.complete(c)
        }
        ctl::IOCTL_LIST_IMAGES => {
            let list = image_disk::list();
            let mut out = alloc::vec![0u8; list.len() * ImageInfo::SIZE];
            for (i, info) in list.iter().enumerate() {
                info.encode(&mut out[i * ImageInfo::SIZE..]);
            }
            irp.complete(answer(irp, b.out_len, &out))
        }
        ctl::IOCTL_STATISTICS => irp.complete(statistics(irp, b.out_len)),
        ctl::IOCTL_DETACH_IMAGE => match u32_input(&b.input).and_then(image_disk::device) {
            None => irp.complete_status(NtStatus::INVALID_PARAMETER),
            Some(device) => {
                let number = u32_input(&b.input).unwrap_or(u32::MAX);
                let device = device as usize;
                completed_in_linux(irp, move |_| {
                    drive_letters::release(number);
                    volume::dismount_on(device as *mut nt::DEVICE_OBJECT);
                    match image_disk::detach(number) {
                        Ok(()) => Completion::ok(0),
                        Err(e) => e.into(),
                    }
                })
            }
        },
        ctl::IOCTL_MOUNT => match MountRequest::decode(&b.input) {
            None => irp.complete_status(NtStatus::INVALID_PARAMETER),
            Some(req) => match image_disk::device(req.disk).map(|d| d as usize) {
                None => irp.complete_status(NtStatus::NO_SUCH_DEVICE),
                Some(device) => completed_in_linux(irp, move |irp| {
                    match mount_image(device as *mut nt::DEVICE_OBJECT, &req) {
                        Ok(m) => answer(irp, b.out_len, &m.encode()),
                        Err(e) => e.into(),
                    }
                }),
            },
        },
        ctl::IOCTL_SELF_TEST => match u32_input(&b.input).and_then(image_disk::device) {
            None => irp.complete_status(NtStatus::INVALID_PARAMETER),
            Some(device) => {
                let device = device as usize;
                completed_in_linux(irp, move |irp| {
                    let report = selftest::run(device as *mut nt::DEVICE_OBJECT);
                    let n = report.len().min(b.out_len);
                    answer(irp, b.out_len, &report.as_bytes()[..n])
                })
            }
        },
        ctl::IOCTL_BENCH => match u32_input(&b.input).and_then(image_disk::device) {
            None => irp.complete_status(NtStatus::INVALID_PARAMETER),
            Some(device) => {
                let device = device as usize;
                completed_in_linux(irp, move |irp| {
                    match bench::run(device as *mut nt::DEVICE_OBJECT) {
                        Ok(text) => answer(irp, b.out_len, text.as_bytes()),
                        Err(e) => e.into(),
                    }
                })
            }
        },
        ctl::IOCTL_RELAY => completed_in_linux(irp, move |irp| match relay::relay(&b.input) {
            Ok(reply) => answer(irp, b.out_len, &reply),
            Err(e) => e.into(),
        }),
        ctl::IOCTL_TEST_ARRIVAL => match image_disk::path_units(&b.input) {
            None => irp.complete_status(NtStatus::INVALID_PARAMETER),
            Some(path) => completed_in_linux(irp, move |irp| match found_disks::arrived(&path) {
                Ok((disk, _)) => answer(irp, b.out_len, &disk.to_le_bytes()),
                Err(e) => e.into(),
            }),
        },
        ctl::IOCTL_TEST_DEPARTURE => match (
            u32_input(b.input.get(..4).unwrap_or(&[])),
            image_disk::path_units(b.input.get(4..).unwrap_or(&[])),
        ) {
            (Some(surprise), Some(path)) => completed_in_linux(irp, move |_| {
                match found_disks::departed(&path, surprise != 0) {
                    Ok(()) => Completion::ok(0),
                    Err(e) => e.into(),
                }
            }),
            _ => irp.complete_status(NtStatus::INVALID_PARAMETER),
        },
        ctl::IOCTL_PANIC => completed_in_linux(irp, |_| {
            selftest::panic_linux();
            NtStatus::DRIVER_INTERNAL_ERROR.into()
        }),
        _ => irp.complete_status(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

fn statistics(irp: Irp, out_len: usize) -> Completion {
    let pool = lkl_ntk::pool::usage();
    let s = Statistics {
        requests: stats::requests(),
        errors: stats::errors(),
        linux_blocks: pool[0].blocks,
        linux_bytes: pool[0].bytes,
        heap_blocks: pool[1].blocks,
        heap_bytes: pool[1].bytes,
        linux_ns: stats::linux_ns(),
        boot_ns: linux::boot_ns(),
        kernel_state: linux::state(),
        threads: lkl_ntk::threads::count() as u64,
        images: image_disk::count() as u64,
        volumes: volume::count() as u64,
        cached: driver().settings.cached as u64,
        events: crate::event_log::count(),
        stack_deepest: lkl_ntk::stack::deepest() as u64,
        in_place: stats::in_place(),
    };
    if out_len < Statistics::SIZE {
        return NtStatus::BUFFER_TOO_SMALL.into();
    }
    let mut out = alloc::vec![0u8; out_len.min(Statistics::SIZE + (16 << 10))];
    s.encode(&mut out);
    let n = lkl_ntk::console::tail(&mut out[Statistics::SIZE..]);
    answer(irp, out_len, &out[..Statistics::SIZE + n])
}
