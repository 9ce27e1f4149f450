//! The driver's settings, from its service key's `Parameters` subkey
//! (where the INF puts them: driver package isolation): `TestMode` (DWORD, 1 lets
//! the test IOCTLs run; only an administrator can set it),
//! `LinuxMemoryMiB` (DWORD: Linux's memory, which is non-paged pool),
//! `NonCached` (DWORD, 1: every request served without the cache manager,
//! sections or oplocks, which is all Wine can run; by default files are
//! cached and can be mapped, as on any Windows file system), `AutoMount`
//! (DWORD, 0: Linux file systems on the machine's own disks are left
//! alone), `ReadWriteVolumes` (REG_MULTI_SZ: the UUIDs of the file
//! systems on those disks that may be written; the others mount
//! read-only), and the permission tables `id_map` reads (`UserIds`,
//! `GroupIds`, `AdministratorsAreRoot`, `IgnorePermissions`). The key's
//! DACL lets only administrators change them.
use core::ptr::null_mut;

use lkl_ntk::nt;

use crate::devices::Wide;

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub test_mode: bool,
    pub linux_memory: usize,
    /// The full mode: the cache manager, sections, oplocks.
    pub cached: bool,
    /// Whether file systems on the machine's own disks are mounted.
    pub auto_mount: bool,
}

/// Linux's memory when the key does not say: enough for ext4's journal
/// and a few thousand cached inodes; the driver holds it while mounted.
pub const DEFAULT_MEMORY_MIB: u32 = 64;

impl Settings {
    /// The settings under the key at `path` (see [`parameters_path`]).
    pub fn read(path: &[u16]) -> Settings {
        let memory = service_dword(path, "LinuxMemoryMiB")
            .unwrap_or(DEFAULT_MEMORY_MIB)
            .clamp(16, 1024);
        Settings {
            test_mode: service_dword(path, "TestMode") == Some(1),
            linux_memory: (memory as usize) << 20,
            cached: service_dword(path, "NonCached") != Some(1),
            auto_mount: service_dword(path, "AutoMount") != Some(0),
        }
    }
}

/// The subkey the settings live in, under the service key.
const PARAMETERS: &str = "\\Parameters";

/// Writes the path of the Parameters subkey of the service key `service`
/// into `out`; its length in units (0 if it does not fit: no settings
/// are then found, and the defaults hold).
pub fn parameters_path(service: &[u16], out: &mut [u16]) -> usize {
    let len = service.len() + PARAMETERS.len();
    if len > out.len() {
        return 0;
    }
    out[..service.len()].copy_from_slice(service);
    for (o, c) in out[service.len()..len].iter_mut().zip(PARAMETERS.bytes()) {
        *o = c as u16;
    }
    len
}

/// Whether the file system with UUID `uuid` is opted in to writing: its
/// canonical text (`lkl::mount::uuid_text`, any case) is one of the
/// strings of `ReadWriteVolumes` under the service key at `path`. Read at
/// each mount, so that a change needs no restart.
pub fn opted_in(path: &[u16], uuid: &[u8; 16]) -> bool {
    listed(path, lklfsd_control::READ_WRITE_VOLUMES, uuid)
}

/// Whether the canonical text of `uuid` (any case) is one of the strings
/// of REG_MULTI_SZ value `name` of the service key at `path`.
pub fn listed(path: &[u16], name: &str, uuid: &[u8; 16]) -> bool {
    let wanted = lkl::mount::uuid_text(uuid);
    strings(path, name)
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&wanted))
}

/// The strings of REG_MULTI_SZ (or the string of REG_SZ) value `name` of
/// the service key at `path` (up to 8 KiB of them; none if the value is
/// not there).
pub fn strings(path: &[u16], name: &str) -> alloc::vec::Vec<alloc::string::String> {
    let mut units = path.to_vec();
    let mut key_name = nt::UNICODE_STRING {
        Length: (units.len() * 2) as u16,
        MaximumLength: (units.len() * 2) as u16,
        Buffer: units.as_mut_ptr(),
    };
    let Some(key) = open(&mut key_name, nt::KEY_READ) else {
        return alloc::vec::Vec::new();
    };
    let mut value = Wide::new(name);
    // KEY_VALUE_PARTIAL_INFORMATION (TitleIndex, Type, DataLength) and up
    // to 8 KiB of strings: a few hundred UUIDs.
    let mut info = alloc::vec![0u32; 3 + 2048];
    let mut got = 0u32;
    // SAFETY: info is a writable buffer of the size given; the key is ours.
    let status = unsafe {
        let status = nt::ZwQueryValueKey(
            key,
            value.ptr(),
            nt::KeyValuePartialInformation,
            info.as_mut_ptr().cast(),
            (info.len() * 4) as u32,
            &mut got,
        );
        nt::ZwClose(key);
        status
    };
    if status < 0 || (info[1] != nt::REG_MULTI_SZ && info[1] != nt::REG_SZ) {
        return alloc::vec::Vec::new();
    }
    let bytes = (info[2] as usize).min((info.len() - 3) * 4);
    let data: alloc::vec::Vec<u16> = info[3..]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect::<alloc::vec::Vec<u8>>()[..bytes]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    data.split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(alloc::string::String::from_utf16_lossy)
        .collect()
}

/// A DWORD value of the service key at `path` (a copy of the path, as
/// the I/O manager's string is gone after DriverEntry).
pub fn service_dword(path: &[u16], name: &str) -> Option<u32> {
    let mut units = path.to_vec();
    let mut key_name = nt::UNICODE_STRING {
        Length: (units.len() * 2) as u16,
        MaximumLength: (units.len() * 2) as u16,
        Buffer: units.as_mut_ptr(),
    };
    dword(&mut key_name, name)
}

/// The service key, opened for `access`.
fn open(registry_path: *mut nt::UNICODE_STRING, access: u32) -> Option<nt::HANDLE> {
    let mut attributes: nt::OBJECT_ATTRIBUTES = lkl_ntk::zeroed();
    attributes.Length = core::mem::size_of::<nt::OBJECT_ATTRIBUTES>() as u32;
    attributes.ObjectName = registry_path;
    attributes.Attributes = nt::OBJ_KERNEL_HANDLE | nt::OBJ_CASE_INSENSITIVE;
    let mut key: nt::HANDLE = null_mut();
    // SAFETY: attributes name the service key; a kernel handle, closed by
    // the caller.
    (unsafe { nt::ZwOpenKey(&mut key, access, &mut attributes) } >= 0).then_some(key)
}

/// Whether Windows is in developer mode (Settings, For developers), which
/// lets anyone make symlinks: AllowDevelopmentWithoutDevLicense = 1 under
/// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\AppModelUnlock.
pub fn developer_mode() -> bool {
    let mut key = Wide::new(
        "\\Registry\\Machine\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\AppModelUnlock",
    );
    dword(key.ptr(), "AllowDevelopmentWithoutDevLicense") == Some(1)
}

/// A DWORD value of the key at `registry_path` (the service key).
fn dword(registry_path: *mut nt::UNICODE_STRING, name: &str) -> Option<u32> {
    let key = open(registry_path, nt::KEY_READ)?;
    let mut value = Wide::new(name);
    // KEY_VALUE_PARTIAL_INFORMATION: TitleIndex, Type, DataLength, Data.
    let mut info = [0u32; 8];
    let mut got = 0u32;
    // SAFETY: info is a writable buffer of the size given.
    let status = unsafe {
        nt::ZwQueryValueKey(
            key,
            value.ptr(),
            nt::KeyValuePartialInformation,
            info.as_mut_ptr().cast(),
            core::mem::size_of_val(&info) as u32,
            &mut got,
        )
    };
    // SAFETY: the handle opened above.
    unsafe { nt::ZwClose(key) };
    (status >= 0 && info[1] == nt::REG_DWORD && info[2] == 4).then_some(info[3])
}

/// UTF-16 of ASCII `s` into `out`, NUL-terminated; the units before the NUL.
fn ascii_units(s: &[u8], out: &mut [u16]) -> usize {
    let n = s.len().min(out.len() - 1);
    for (o, &b) in out.iter_mut().zip(&s[..n]) {
        *o = b as u16;
    }
    out[n] = 0;
    n
}

/// The value name under which the drive letter of found file system
/// `uuid` is remembered.
pub fn letter_value(uuid: &[u8; 16]) -> alloc::string::String {
    alloc::format!("Letter {}", lkl::mount::uuid_text(uuid))
}

/// Writes `text` (ASCII) as the REG_SZ value `name` of the service key,
/// whose path is `path`. Uses no pool: unload calls it after freeing
/// everything, to record what the pool then holds.
pub fn record(path: &mut [u16], name: &str, text: &[u8]) {
    let mut key_name = nt::UNICODE_STRING {
        Length: (path.len() * 2) as u16,
        MaximumLength: (path.len() * 2) as u16,
        Buffer: path.as_mut_ptr(),
    };
    let Some(key) = open(&mut key_name, nt::KEY_SET_VALUE) else {
        return;
    };
    let mut name_units = [0u16; 64];
    let n = ascii_units(name.as_bytes(), &mut name_units);
    let mut value_name = nt::UNICODE_STRING {
        Length: (n * 2) as u16,
        MaximumLength: (n * 2) as u16,
        Buffer: name_units.as_mut_ptr(),
    };
    let mut data = [0u16; 256];
    let len = ascii_units(text, &mut data) + 1;
    // SAFETY: live strings and data of the sizes given; the handle is ours.
    unsafe {
        nt::ZwSetValueKey(
            key,
            &mut value_name,
            0,
            nt::REG_SZ,
            data.as_mut_ptr().cast(),
            (len * 2) as u32,
        );
        nt::ZwClose(key);
    }
}
