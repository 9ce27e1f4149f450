//! The driver's settings, from its service key: `TestMode` (DWORD, 1 lets
//! the test IOCTLs run; only an administrator can set it) and
//! `LinuxMemoryMiB` (DWORD: Linux's memory, which is non-paged pool).
use core::ptr::null_mut;

use lkl_ntk::nt;

use crate::devices::Wide;

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub test_mode: bool,
    pub linux_memory: usize,
}

/// Linux's memory when the key does not say: enough for ext4's journal
/// and a few thousand cached inodes; the driver holds it while mounted.
pub const DEFAULT_MEMORY_MIB: u32 = 64;

impl Settings {
    pub fn read(registry_path: *mut nt::UNICODE_STRING) -> Settings {
        let memory = dword(registry_path, "LinuxMemoryMiB")
            .unwrap_or(DEFAULT_MEMORY_MIB)
            .clamp(16, 1024);
        Settings {
            test_mode: dword(registry_path, "TestMode") == Some(1),
            linux_memory: (memory as usize) << 20,
        }
    }
}

/// A DWORD value of the service key.
fn dword(registry_path: *mut nt::UNICODE_STRING, name: &str) -> Option<u32> {
    let mut attributes: nt::OBJECT_ATTRIBUTES = lkl_ntk::zeroed();
    attributes.Length = core::mem::size_of::<nt::OBJECT_ATTRIBUTES>() as u32;
    attributes.ObjectName = registry_path;
    attributes.Attributes = nt::OBJ_KERNEL_HANDLE | nt::OBJ_CASE_INSENSITIVE;
    let mut key: nt::HANDLE = null_mut();
    // SAFETY: attributes name the service key; a kernel handle, closed below.
    if unsafe { nt::ZwOpenKey(&mut key, nt::KEY_READ, &mut attributes) } < 0 {
        return None;
    }
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
