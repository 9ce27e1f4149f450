//! The driver's settings under its service key's Parameters subkey, as an administrator
//! changes them from user mode (Windows, `client` feature): the file
//! systems found on the machine's disks that are opted in to writing
//! (`ReadWriteVolumes`, REG_MULTI_SZ of UUIDs; the others mount
//! read-only). The driver reads the list at each mount.
extern crate std;

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;

use crate::READ_WRITE_VOLUMES;

/// The driver's settings key (its service key's Parameters), under
/// HKEY_LOCAL_MACHINE.
pub const SERVICE_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\lklfsd\\Parameters";

const HKEY_LOCAL_MACHINE: usize = 0x8000_0002;
const REG_MULTI_SZ: u32 = 7;
const RRF_RT_REG_MULTI_SZ: u32 = 0x20;
const ERROR_FILE_NOT_FOUND: u32 = 2;
const ERROR_MORE_DATA: u32 = 234;

#[link(name = "advapi32")]
unsafe extern "system" {
    fn RegGetValueW(
        key: usize,
        subkey: *const u16,
        value: *const u16,
        flags: u32,
        kind: *mut u32,
        data: *mut c_void,
        len: *mut u32,
    ) -> u32;
    fn RegSetKeyValueW(
        key: usize,
        subkey: *const u16,
        value: *const u16,
        kind: u32,
        data: *const c_void,
        len: u32,
    ) -> u32;
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// Whether `s` is a UUID as blkid prints it (`8-4-4-4-12` hex digits).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The UUIDs opted in to writing (lower case); none if the value is not
/// there. Errors are Win32 error codes.
pub fn writable_volumes() -> Result<Vec<String>, u32> {
    let (key, value) = (wide(SERVICE_KEY), wide(READ_WRITE_VOLUMES));
    let mut data: Vec<u16> = alloc::vec![0; 1024];
    loop {
        let mut len = (data.len() * 2) as u32;
        // SAFETY: NUL-terminated names; a buffer of `len` bytes.
        let e = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                value.as_ptr(),
                RRF_RT_REG_MULTI_SZ,
                null_mut(),
                data.as_mut_ptr().cast(),
                &mut len,
            )
        };
        match e {
            0 => {
                data.truncate(len as usize / 2);
                break;
            }
            ERROR_FILE_NOT_FOUND => return Ok(Vec::new()),
            ERROR_MORE_DATA => data.resize(len as usize / 2 + 1, 0),
            e => return Err(e),
        }
    }
    Ok(data
        .split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf16_lossy(s).to_ascii_lowercase())
        .collect())
}

/// Opts the file system with UUID `uuid` in to writing (`writable`) or
/// out of it. Needs an administrator (the key's DACL).
pub fn set_writable(uuid: &str, writable: bool) -> Result<(), u32> {
    let uuid = uuid.to_ascii_lowercase();
    let mut list = writable_volumes()?;
    list.retain(|u| *u != uuid);
    if writable {
        list.push(uuid);
    }
    let mut data: Vec<u16> = Vec::new();
    for u in &list {
        data.extend(u.encode_utf16());
        data.push(0);
    }
    data.push(0);
    let (key, value) = (wide(SERVICE_KEY), wide(READ_WRITE_VOLUMES));
    // SAFETY: NUL-terminated names; the data's length in bytes.
    let e = unsafe {
        RegSetKeyValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            REG_MULTI_SZ,
            data.as_ptr().cast(),
            (data.len() * 2) as u32,
        )
    };
    if e == 0 {
        Ok(())
    } else {
        Err(e)
    }
}
