//! Network namespaces: each a whole network stack of its own (interfaces,
//! routes, neighbours, conntrack, sockets), as a simulated node is. A host
//! thread's kernel task is in one namespace at a time; sockets and
//! rtnetlink requests belong to the namespace of the thread that makes
//! them. [`Namespace::run`] runs code in another one.
use crate::sys;
use crate::uapi::{nr, AT_FDCWD, O_RDONLY};
use crate::Errno;

const CLONE_NEWNET: i64 = 0x4000_0000;
const O_CLOEXEC: i32 = 0o2000000;

/// A network namespace, held by a descriptor of the kernel's.
pub struct Namespace {
    fd: i32,
}

impl Namespace {
    /// The calling thread's namespace.
    pub fn current() -> Result<Namespace, Errno> {
        let fd = sys::openat(
            AT_FDCWD,
            "/proc/thread-self/ns/net",
            O_RDONLY | O_CLOEXEC,
            0,
        )?;
        Ok(Namespace { fd })
    }

    /// A new namespace, with only `lo` (down); the calling thread stays
    /// where it was.
    pub fn new() -> Result<Namespace, Errno> {
        let here = Namespace::current()?;
        // SAFETY: unshare takes flags only.
        Errno::from_ret(unsafe { sys::syscall(nr::UNSHARE, [CLONE_NEWNET, 0, 0, 0, 0, 0]) })?;
        let made = Namespace::current();
        here.enter()?;
        made
    }

    /// Moves the calling thread into this namespace.
    pub fn enter(&self) -> Result<(), Errno> {
        // SAFETY: setns takes a descriptor and flags.
        Errno::from_ret(unsafe {
            sys::syscall(nr::SETNS, [self.fd as i64, CLONE_NEWNET, 0, 0, 0, 0])
        })
        .map(drop)
    }

    /// Runs `f` on the calling thread inside this namespace, then takes
    /// the thread back to where it was.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, Errno> {
        let here = Namespace::current()?;
        self.enter()?;
        let result = f();
        here.enter()?;
        Ok(result)
    }

    /// The descriptor, for requests that name a namespace by one
    /// (IFLA_NET_NS_FD).
    pub fn fd(&self) -> i32 {
        self.fd
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = sys::close(self.fd);
    }
}

/// Sets the sysctl `name` (`net.ipv4.ip_forward`) to `value` in the
/// calling thread's namespace.
pub fn sysctl(name: &str, value: &str) -> Result<(), Errno> {
    let mut path = alloc::string::String::from("/proc/sys/");
    path.extend(name.chars().map(|c| if c == '.' { '/' } else { c }));
    let fd = sys::openat(
        AT_FDCWD,
        path.as_str(),
        crate::uapi::O_WRONLY | O_CLOEXEC,
        0,
    )?;
    let written = sys::write(fd, value.as_bytes());
    let _ = sys::close(fd);
    match written {
        Ok(n) if n == value.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(e),
    }
}

/// Interface `name`'s `struct ifreq` after ioctl `request` (one of the
/// SIOCGIF* that fill its union), in the calling thread's namespace.
fn ifreq(name: &str, request: i64) -> Result<[u8; 40], Errno> {
    if name.is_empty() || name.len() > 15 {
        return Err(Errno::EINVAL);
    }
    // struct ifreq: the name, then a union.
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: a socket call with constants.
    let fd = Errno::from_ret(unsafe { sys::syscall(nr::SOCKET, [2, 2 | 0o2000000, 0, 0, 0, 0]) })?;
    // SAFETY: the SIOCGIF* requests read and write one struct ifreq (40
    // bytes).
    let ret = unsafe {
        sys::syscall(
            nr::IOCTL,
            [fd, request, sys::arg_mut(req.as_mut_ptr()), 0, 0, 0],
        )
    };
    let _ = sys::close(fd as i32);
    Errno::from_ret(ret)?;
    Ok(req)
}

/// The index of interface `name` in the calling thread's namespace.
pub fn ifindex(name: &str) -> Result<u32, Errno> {
    const SIOCGIFINDEX: i64 = 0x8933;
    let req = ifreq(name, SIOCGIFINDEX)?;
    Ok(u32::from_ne_bytes(req[16..20].try_into().unwrap()))
}

/// Whether interface `name` of the calling thread's namespace carries
/// packets: up, with its carrier, and the kernel's link watcher done with
/// it (`IFF_RUNNING`; until then its qdisc drops everything).
pub fn is_running(name: &str) -> Result<bool, Errno> {
    const SIOCGIFFLAGS: i64 = 0x8913;
    const IFF_RUNNING: u16 = 0x40;
    let req = ifreq(name, SIOCGIFFLAGS)?;
    Ok(u16::from_ne_bytes([req[16], req[17]]) & IFF_RUNNING != 0)
}
