//! Disks that misbehave, wrapped around any other: [`FaultyDisk`] fails
//! chosen requests with EIO (one read, write or flush; every one from some
//! point on; everything once the disk has gone) or claims less capacity
//! than the disk has (a short device); [`ShuffledDisk`] holds requests
//! back and completes them later, in a seeded random order, as a disk
//! with a deep queue and a cache may.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lkl::{Disk, DiskOp, Errno, Request};

use crate::states::Random;

/// Which requests a [`FaultyDisk`] fails.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Only the `nth` request (from 0) of `op`.
    Once { op: DiskOp, nth: u64 },
    /// The `nth` request of `op` and every later one of `op`.
    From { op: DiskOp, nth: u64 },
    /// Every request from the `nth` (of any kind) on: the disk has gone.
    Gone { nth: u64 },
    /// None: only a smaller capacity (see [`FaultyDisk::short`]).
    None,
}

pub struct FaultyDisk {
    inner: Arc<dyn Disk>,
    fault: Mutex<Fault>,
    capacity: u64,
    /// Requests seen, by operation (DiskOp as index) and in all.
    seen: [AtomicU64; 5],
    all: AtomicU64,
    failed: AtomicU64,
}

fn index(op: DiskOp) -> usize {
    crate::log_file::op_code(op) as usize
}

impl FaultyDisk {
    pub fn new(inner: Arc<dyn Disk>, fault: Fault) -> FaultyDisk {
        let capacity = inner.capacity();
        FaultyDisk {
            inner,
            fault: Mutex::new(fault),
            capacity,
            seen: Default::default(),
            all: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// A disk that says it holds only `capacity` bytes of `inner`.
    pub fn short(inner: Arc<dyn Disk>, capacity: u64) -> FaultyDisk {
        FaultyDisk {
            capacity: capacity.min(inner.capacity()),
            ..FaultyDisk::new(inner, Fault::None)
        }
    }

    /// Fails requests as `fault` says from now on (its counts are of all
    /// requests since the disk was made; see [`FaultyDisk::seen`]).
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// How many requests of `op` (of any kind: None) the disk has had.
    pub fn seen(&self, op: Option<DiskOp>) -> u64 {
        match op {
            Some(op) => self.seen[index(op)].load(Ordering::Relaxed),
            None => self.all.load(Ordering::Relaxed),
        }
    }

    /// How many requests were failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn fails(&self, op: DiskOp) -> bool {
        let nth = self.seen[index(op)].fetch_add(1, Ordering::Relaxed);
        let all = self.all.fetch_add(1, Ordering::Relaxed);
        match *self.fault.lock().unwrap() {
            Fault::Once { op: o, nth: n } => o == op && nth == n,
            Fault::From { op: o, nth: n } => o == op && nth >= n,
            Fault::Gone { nth: n } => all >= n,
            Fault::None => false,
        }
    }
}

impl Disk for FaultyDisk {
    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn block_size(&self) -> u32 {
        self.inner.block_size()
    }

    fn read_only(&self) -> bool {
        self.inner.read_only()
    }

    fn submit(&self, request: Request) {
        if self.fails(request.op()) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            request.complete(Err(Errno::EIO));
        } else {
            self.inner.submit(request);
        }
    }
}

/// Requests held back, and the thread that passes them on.
struct Queue {
    held: Vec<Request>,
    stop: bool,
}

/// A disk that completes requests late and out of order: each request
/// waits until `depth` are held (or a millisecond has passed), then a
/// random one of those held goes to the disk below.
pub struct ShuffledDisk {
    inner: Arc<dyn Disk>,
    queue: Arc<(Mutex<Queue>, Condvar)>,
    worker: Option<JoinHandle<()>>,
}

impl ShuffledDisk {
    pub fn new(inner: Arc<dyn Disk>, depth: usize, seed: u64) -> ShuffledDisk {
        let queue = Arc::new((
            Mutex::new(Queue {
                held: Vec::new(),
                stop: false,
            }),
            Condvar::new(),
        ));
        let (q, below) = (queue.clone(), inner.clone());
        let worker = std::thread::spawn(move || {
            let mut random = Random(seed);
            let (lock, ready) = &*q;
            let mut queue = lock.lock().unwrap();
            loop {
                while queue.held.is_empty() && !queue.stop {
                    queue = ready.wait(queue).unwrap();
                }
                if queue.held.is_empty() {
                    return;
                }
                // Let up to `depth` gather, for a millisecond at most.
                let deadline = Instant::now() + Duration::from_millis(1);
                while queue.held.len() < depth && !queue.stop {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    queue = ready.wait_timeout(queue, left).unwrap().0;
                }
                let pick = (random.next() % queue.held.len() as u64) as usize;
                let request = queue.held.swap_remove(pick);
                drop(queue);
                below.submit(request);
                queue = lock.lock().unwrap();
            }
        });
        ShuffledDisk {
            inner,
            queue,
            worker: Some(worker),
        }
    }
}

impl Drop for ShuffledDisk {
    fn drop(&mut self) {
        self.queue.0.lock().unwrap().stop = true;
        self.queue.1.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Disk for ShuffledDisk {
    same_geometry_as_inner!();

    fn submit(&self, request: Request) {
        self.queue.0.lock().unwrap().held.push(request);
        self.queue.1.notify_all();
    }
}
