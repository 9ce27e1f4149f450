//! Reading a whole file through the library's system calls (for tests
//! of crates that use lkl).
use lkl::uapi::{self, AT_FDCWD};
use lkl::{sys, Errno};

/// The bytes of the kernel's file `path`.
pub fn read_file(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = sys::openat(AT_FDCWD, path, uapi::O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = sys::read(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    sys::close(fd)?;
    Ok(out)
}
