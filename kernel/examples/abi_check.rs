//! Checks that values cross the boundary between the host and the kernel
//! intact, in both directions, with widths where Win64's 32-bit `long`
//! would cut them: the pool size given to `lkl_boot` and handed back to
//! the host's allocator and free; the wall clock (a 64-bit return); a
//! six-argument system call with offsets above 4 GiB; and a disk whose
//! requests lie above 4 GiB, filled and read by the host; and every other
//! native operation called, with arguments in range. Run natively by
//! `tests/abi.rs` and built for Windows under Wine by `tests/windows.rs`:
//! it prints one `ok` line per check and fails on the first mismatch.
use std::ffi::c_void;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lkl::uapi::{self, nr, Timespec, AT_FDCWD};
use lkl::{sys, Config, Errno, FileDisk, Host, Kernel, NativeHost, ThreadEntry, TimerCallback};

/// Pool size: 64 MiB and three pages, so that a lost or swapped half
/// would show.
const POOL: usize = (64 << 20) + 3 * 4096;
/// What the kernel asks of the host: the pool and one page to align it.
const ASKED: usize = POOL + 4096;

static POOL_ASKED: AtomicUsize = AtomicUsize::new(0);
static POOL_PTR: AtomicUsize = AtomicUsize::new(0);
static POOL_FREED: AtomicUsize = AtomicUsize::new(0);

/// Calls of the other native operations, and arguments out of range.
static CALLS: [AtomicUsize; OPS.len()] = [const { AtomicUsize::new(0) }; OPS.len()];
static BAD: AtomicUsize = AtomicUsize::new(0);
const OPS: [&str; 8] = [
    "print",
    "semaphore",
    "up",
    "down",
    "spawn",
    "tls_set",
    "timer",
    "arm",
];

/// Counts a call of `OPS[op]`, and a bad argument when `ok` is false.
fn called(op: usize, ok: bool) {
    CALLS[op].fetch_add(1, Ordering::Relaxed);
    if !ok {
        BAD.fetch_add(1, Ordering::Relaxed);
        eprintln!("bad argument to {}", OPS[op]);
    }
}

/// The user-space host, recording what the kernel asks of the pool and
/// checking every other operation's arguments: console text without NULs,
/// semaphore counts 0 or 1, timer deltas under an hour.
struct Recording;

impl Host for Recording {
    type Semaphore = <NativeHost as Host>::Semaphore;
    type Timer = <NativeHost as Host>::Timer;

    fn print(text: &[u8]) {
        called(0, !text.is_empty() && !text.contains(&0));
        NativeHost::print(text)
    }
    fn panic(message: &str) -> ! {
        NativeHost::panic(message)
    }
    fn semaphore(count: u32) -> Self::Semaphore {
        called(1, count <= 1);
        NativeHost::semaphore(count)
    }
    fn up(sem: &Self::Semaphore) {
        called(2, true);
        NativeHost::up(sem)
    }
    fn down(sem: &Self::Semaphore) {
        called(3, true);
        NativeHost::down(sem)
    }
    fn spawn(entry: ThreadEntry) -> Result<(), Errno> {
        called(4, true);
        NativeHost::spawn(entry)
    }
    fn tls_get() -> *mut c_void {
        NativeHost::tls_get()
    }
    fn tls_set(value: *mut c_void) {
        called(5, true);
        NativeHost::tls_set(value)
    }
    fn alloc_pool(size: usize) -> *mut u8 {
        POOL_ASKED.store(size, Ordering::SeqCst);
        let ptr = NativeHost::alloc_pool(size);
        POOL_PTR.store(ptr as usize, Ordering::SeqCst);
        ptr
    }
    unsafe fn free_pool(ptr: *mut u8, size: usize) {
        assert_eq!(
            ptr as usize,
            POOL_PTR.load(Ordering::SeqCst),
            "pool pointer"
        );
        POOL_FREED.store(size, Ordering::SeqCst);
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { NativeHost::free_pool(ptr, size) }
    }
    fn monotonic_ns() -> u64 {
        NativeHost::monotonic_ns()
    }
    fn wall_ns() -> u64 {
        NativeHost::wall_ns()
    }
    fn timer(callback: TimerCallback) -> Option<Self::Timer> {
        called(6, true);
        NativeHost::timer(callback)
    }
    fn arm(timer: &Self::Timer, delta_ns: u64) {
        called(7, delta_ns < 3_600_000_000_000);
        NativeHost::arm(timer, delta_ns)
    }
    fn disarm(timer: &Self::Timer) {
        NativeHost::disarm(timer)
    }
}

pub fn main() {
    let kernel = Kernel::boot_with::<Recording>(&Config {
        memory: POOL,
        ..Config::default()
    })
    .expect("boot");
    assert_eq!(POOL_ASKED.load(Ordering::SeqCst), ASKED, "pool size");
    println!("ok pool size {POOL:#x} reached the host's allocator");

    wall_clock();
    six_arguments();
    disk_above_4g();

    kernel.halt().expect("halt");
    assert_eq!(POOL_FREED.load(Ordering::SeqCst), ASKED, "freed pool size");
    println!("ok halt freed the pool with its size and pointer");

    for (op, calls) in OPS.iter().zip(&CALLS) {
        assert!(calls.load(Ordering::Relaxed) > 0, "{op} was never called");
    }
    assert_eq!(BAD.load(Ordering::Relaxed), 0, "bad arguments");
    let counts: Vec<String> = OPS
        .iter()
        .zip(&CALLS)
        .map(|(op, n)| format!("{op} {}", n.load(Ordering::Relaxed)))
        .collect();
    println!(
        "ok every native operation called with sane arguments: {}",
        counts.join(", ")
    );
}

/// The kernel's CLOCK_REALTIME is the host's wall clock.
fn wall_clock() {
    let mut ts = Timespec::default();
    // SAFETY: clock_gettime writes one timespec to the pointer given.
    let ret = unsafe { sys::syscall(nr::CLOCK_GETTIME, [0, &mut ts as *mut _ as i64, 0, 0, 0, 0]) };
    assert_eq!(ret, 0, "clock_gettime");
    let host = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (ts.tv_sec - host).abs() <= 5,
        "kernel {} vs host {host}",
        ts.tv_sec
    );
    println!("ok wall clock {} s", ts.tv_sec);
}

/// copy_file_range: six arguments, two of them offsets above 4 GiB.
fn six_arguments() {
    let flags = uapi::O_RDWR | uapi::O_CREAT;
    let src = sys::openat(AT_FDCWD, "/abi-src", flags, 0o600).unwrap();
    let dst = sys::openat(AT_FDCWD, "/abi-dst", flags, 0o600).unwrap();
    let (from, to) = (0x1_2345_6789i64, 0x2_0000_0011i64);
    sys::pwrite64(src, b"abi-check", from).unwrap();
    let (mut off_in, mut off_out) = (from + 4, to);
    // SAFETY: the two offsets are live i64s the call reads and updates.
    let copied = unsafe {
        sys::syscall(
            nr::COPY_FILE_RANGE,
            [
                src as i64,
                &mut off_in as *mut i64 as i64,
                dst as i64,
                &mut off_out as *mut i64 as i64,
                5,
                0,
            ],
        )
    };
    assert_eq!(copied, 5, "copy_file_range");
    assert_eq!((off_in, off_out), (from + 9, to + 5), "updated offsets");
    let mut got = [0u8; 5];
    sys::pread64(dst, &mut got, to).unwrap();
    assert_eq!(&got, b"check");
    assert_eq!(sys::fstat(dst).unwrap().st_size, to + 5);
    sys::close(src).unwrap();
    sys::close(dst).unwrap();
    println!("ok copy_file_range with offsets {from:#x} -> {to:#x}");
}

/// A 6 GiB sparse disk: the host writes at 5 GiB and Linux reads it; Linux
/// writes at 4.5 GiB and the host reads it.
fn disk_above_4g() {
    let path = std::env::temp_dir().join(format!("lkl-abi-{}.img", std::process::id()));
    let (host_at, linux_at) = ((5u64 << 30) + 3 * 512, (9u64 << 29) + 7 * 512);
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.set_len(6 << 30).unwrap();
        f.seek(SeekFrom::Start(host_at)).unwrap();
        f.write_all(&[0xa5; 512]).unwrap();
    }
    let disk = lkl::add_disk(Arc::new(FileDisk::open(&path, false).unwrap())).unwrap();
    let fd = sys::openat(AT_FDCWD, disk.device(None), uapi::O_RDWR, 0).unwrap();
    let mut block = [0u8; 512];
    sys::pread64(fd, &mut block, host_at as i64).unwrap();
    assert!(
        block.iter().all(|&b| b == 0xa5),
        "Linux read the host's block"
    );
    sys::pwrite64(fd, &[0x5a; 512], linux_at as i64).unwrap();
    sys::fsync(fd).unwrap();
    sys::close(fd).unwrap();
    disk.remove().unwrap();
    let mut f = std::fs::File::open(&path).unwrap();
    f.seek(SeekFrom::Start(linux_at)).unwrap();
    f.read_exact(&mut block).unwrap();
    drop(f);
    let _ = std::fs::remove_file(&path);
    assert!(
        block.iter().all(|&b| b == 0x5a),
        "the host read Linux's block"
    );
    println!("ok disk requests at {host_at:#x} and {linux_at:#x}");
}
