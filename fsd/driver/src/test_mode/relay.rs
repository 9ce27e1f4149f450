//! IOCTL_RELAY (test mode only): a request described by a user-mode
//! program becomes a real IRP, built here and sent through IoCallDriver
//! to a mounted volume's device (or the control device), where the per-major-function modules
//! serve it as any other. Each CREATE makes a relay handle (a file object
//! of ours) that later requests name; closing one sends its CLEANUP and
//! CLOSE. Buffers are the driver's own: system buffers for the buffered
//! classes, a kernel-mode sender's buffer for the rest.
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::null_mut;

use fsd::NtStatus;
use lkl_ntk::{nt, zeroed};
use lklfsd_control::{RelayReply, RelayRequest};
use spin::Mutex;

use crate::selftest::File;
use crate::send::{send, Outcome};
use crate::volume;

/// Open relay handles: number, file object, the volume device it is on.
struct Handle {
    id: u32,
    file: Box<File>,
    device: usize,
}

// SAFETY: a relay handle's file object is used by one relayed request at
// a time (each is served on a worker under the caller's wait); the
// pointers inside are the I/O system's, valid from any thread.
unsafe impl Send for Handle {}

static HANDLES: Mutex<Vec<Handle>> = Mutex::new(Vec::new());

/// Closing a relay handle (its CLEANUP and CLOSE): the minor function of
/// a relayed IRP_MJ_CLOSE.
const CLOSE_HANDLE: u32 = 0;

/// Serves one relayed request; its reply head and output bytes.
pub fn relay(input: &[u8]) -> Result<Vec<u8>, NtStatus> {
    let (req, name, data) = RelayRequest::decode(input).ok_or(NtStatus::INVALID_PARAMETER)?;
    if req.output > 16 << 20 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // A request on a handle goes to the device the handle was opened on
    // (which outlives a dismount, as a file object's device does).
    let of_handle = HANDLES
        .lock()
        .iter()
        .find(|h| h.id == req.handle && req.major != nt::IRP_MJ_CREATE)
        .map(|h| h.device as *mut nt::DEVICE_OBJECT);
    let device = match of_handle {
        Some(device) => device,
        None if req.volume == lklfsd_control::RELAY_TO_CONTROL => crate::driver().control,
        None => volume::device(req.volume).ok_or(NtStatus::NO_SUCH_DEVICE)?,
    };
    let name: Vec<u16> = name
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut out = crate::sized::zeroed(req.output as usize)?;
    let mut data = data.to_vec();
    let (o, handle) = if req.major == nt::IRP_MJ_CREATE {
        create(device, &req, &name)
    } else {
        let file = if req.handle == u32::MAX {
            null_mut()
        } else {
            let handles = HANDLES.lock();
            let h = handles
                .iter()
                .find(|h| h.id == req.handle)
                .ok_or(NtStatus::INVALID_HANDLE)?;
            h.file.raw()
        };
        if req.major == nt::IRP_MJ_CLOSE && req.minor == CLOSE_HANDLE {
            (close(req.handle), req.handle)
        } else {
            (
                request(device, file, &req, &name, &mut data, &mut out),
                req.handle,
            )
        }
    };
    let n = (o.information as usize).min(out.len());
    let mut reply = RelayReply {
        status: o.status.0,
        handle,
        information: o.information,
    }
    .encode()
    .to_vec();
    reply.extend_from_slice(&out[..n]);
    Ok(reply)
}

fn create(device: *mut nt::DEVICE_OBJECT, req: &RelayRequest, name: &[u16]) -> (Outcome, u32) {
    let mut file = Box::new(File::from_units(name.to_vec()));
    let mut security: nt::IO_SECURITY_CONTEXT = zeroed();
    security.DesiredAccess = req.c;
    let sec = &mut security as *mut nt::IO_SECURITY_CONTEXT;
    let o = send(device, nt::IRP_MJ_CREATE, 0, file.ptr(), |s, _| {
        s.Parameters.Create.SecurityContext = sec;
        s.Parameters.Create.Options = (req.a << 24) | (req.b & 0x00FF_FFFF);
        s.Parameters.Create.ShareAccess = req.d as u16;
        // offset bit 0: SL_OPEN_TARGET_DIRECTORY (a rename's first step).
        if req.offset & 1 != 0 {
            s.Flags |= nt::SL_OPEN_TARGET_DIRECTORY as u8;
        }
    });
    if o.status.is_error() {
        return (o, u32::MAX);
    }
    let mut handles = HANDLES.lock();
    let id = (0..)
        .find(|n| handles.iter().all(|h| h.id != *n))
        .unwrap_or(u32::MAX);
    handles.push(Handle {
        id,
        file,
        device: device as usize,
    });
    (o, id)
}

fn close(id: u32) -> Outcome {
    let Some(mut h) = ({
        let mut handles = HANDLES.lock();
        handles
            .iter()
            .position(|h| h.id == id)
            .map(|at| handles.swap_remove(at))
    }) else {
        return Outcome::of(NtStatus::INVALID_HANDLE);
    };
    let device = h.device as *mut nt::DEVICE_OBJECT;
    let o = send(device, nt::IRP_MJ_CLEANUP, 0, h.file.ptr(), |_, _| {});
    send(device, nt::IRP_MJ_CLOSE, 0, h.file.ptr(), |_, _| {});
    o
}

/// Any other request: its parameters by major function, the input in
/// `data`, the output into `out`.
fn request(
    device: *mut nt::DEVICE_OBJECT,
    file: *mut nt::FILE_OBJECT,
    req: &RelayRequest,
    name: &[u16],
    data: &mut [u8],
    out: &mut [u8],
) -> Outcome {
    let major = req.major;
    let target = match req.c.checked_sub(1) {
        Some(id) if major == nt::IRP_MJ_SET_INFORMATION => HANDLES
            .lock()
            .iter_mut()
            .find(|h| h.id == id)
            .map_or(null_mut(), |h| h.file.ptr()),
        _ => null_mut(),
    };
    let (data_ptr, data_len) = (data.as_mut_ptr(), data.len());
    let (out_ptr, out_len) = (out.as_mut_ptr(), out.len());
    let mut length: nt::LARGE_INTEGER = zeroed();
    length.QuadPart = (req.a as u64 | (req.b as u64) << 32) as i64;
    let length_ptr: *mut nt::LARGE_INTEGER = &mut length;
    let mut pattern = nt::UNICODE_STRING {
        Length: (name.len() * 2) as u16,
        MaximumLength: (name.len() * 2) as u16,
        Buffer: name.as_ptr().cast_mut(),
    };
    let pattern_ptr: *mut nt::UNICODE_STRING = &mut pattern;
    send(device, major, req.minor, file, |s, irp| match major {
        nt::IRP_MJ_READ => {
            irp.UserBuffer = out_ptr.cast();
            s.Parameters.Read.Length = out_len as u32;
            s.Parameters.Read.ByteOffset.QuadPart = req.offset as i64;
        }
        nt::IRP_MJ_WRITE => {
            irp.UserBuffer = data_ptr.cast();
            s.Parameters.Write.Length = data_len as u32;
            s.Parameters.Write.ByteOffset.QuadPart = req.offset as i64;
        }
        nt::IRP_MJ_QUERY_INFORMATION => {
            irp.AssociatedIrp.SystemBuffer = out_ptr.cast();
            s.Parameters.QueryFile.Length = out_len as u32;
            s.Parameters.QueryFile.FileInformationClass = req.a;
        }
        nt::IRP_MJ_SET_INFORMATION => {
            irp.AssociatedIrp.SystemBuffer = data_ptr.cast();
            s.Parameters.SetFile.Length = data_len as u32;
            s.Parameters.SetFile.FileInformationClass = req.a;
            // b: AdvanceOnly (the lazy writer's end-of-file); c: the
            // target file object's relay handle, plus one (0: none).
            s.Parameters
                .SetFile
                .__bindgen_anon_1
                .__bindgen_anon_1
                .AdvanceOnly = req.b as u8;
            s.Parameters.SetFile.FileObject = target;
        }
        nt::IRP_MJ_QUERY_VOLUME_INFORMATION => {
            irp.AssociatedIrp.SystemBuffer = out_ptr.cast();
            s.Parameters.QueryVolume.Length = out_len as u32;
            s.Parameters.QueryVolume.FsInformationClass = req.a;
        }
        nt::IRP_MJ_DIRECTORY_CONTROL => {
            irp.UserBuffer = out_ptr.cast();
            s.Parameters.QueryDirectory.Length = out_len as u32;
            s.Parameters.QueryDirectory.FileInformationClass = req.a;
            // b: SL_* flags; bit 8: a pattern is given (the name).
            if req.b & 0x100 != 0 {
                s.Parameters.QueryDirectory.FileName = pattern_ptr;
            }
            s.Flags = req.b as u8;
        }
        nt::IRP_MJ_FILE_SYSTEM_CONTROL => {
            irp.AssociatedIrp.SystemBuffer = if data_len > 0 {
                data_ptr.cast()
            } else {
                out_ptr.cast()
            };
            s.Parameters.FileSystemControl.FsControlCode = req.a;
            s.Parameters.FileSystemControl.InputBufferLength = data_len as u32;
            s.Parameters.FileSystemControl.OutputBufferLength = out_len as u32;
        }
        nt::IRP_MJ_LOCK_CONTROL => {
            s.Parameters.LockControl.Length = length_ptr;
            s.Parameters.LockControl.ByteOffset.QuadPart = req.offset as i64;
            s.Parameters.LockControl.Key = req.c;
            s.Flags = req.d as u8;
        }
        nt::IRP_MJ_QUERY_EA => {
            irp.UserBuffer = out_ptr.cast();
            s.Parameters.QueryEa.Length = out_len as u32;
            s.Flags = req.b as u8;
        }
        nt::IRP_MJ_SET_EA => {
            irp.UserBuffer = data_ptr.cast();
            s.Parameters.SetEa.Length = data_len as u32;
        }
        nt::IRP_MJ_QUERY_SECURITY => {
            irp.UserBuffer = out_ptr.cast();
            s.Parameters.QuerySecurity.SecurityInformation = req.a;
            s.Parameters.QuerySecurity.Length = out_len as u32;
        }
        _ => {}
    })
}

/// Unload: every relay handle still open is closed.
pub fn close_all() {
    let ids: Vec<u32> = HANDLES.lock().iter().map(|h| h.id).collect();
    for id in ids {
        close(id);
    }
    drop(core::mem::take(&mut *HANDLES.lock()));
}
