//! A disk that records: it wraps any other disk and logs every request
//! in the order submitted (operation, range, FUA, a write's data) and the
//! order they complete in, plus marks the caller puts in (what a workload
//! had done by then). Cheap enough for real workloads: one lock and, for a
//! write, one copy of its data.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lkl::{Disk, DiskOp, Request};

use crate::states::Write;

/// One entry of the log.
#[derive(Clone, Debug)]
pub enum Event {
    Submitted {
        id: u64,
        op: DiskOp,
        offset: u64,
        len: u64,
        fua: bool,
        /// A write's data (None for the other operations).
        data: Option<Arc<[u8]>>,
    },
    Completed {
        id: u64,
        ok: bool,
    },
    /// Put in by [`RecordingDisk::mark`].
    Mark(u32),
}

/// The recording: the events in the order they happened.
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub events: Vec<Event>,
}

impl Log {
    /// The disk as the recording left it: every completed write applied to
    /// `base`, in completion order.
    pub fn final_image(&self, base: &[u8]) -> Vec<u8> {
        let mut image = base.to_vec();
        let mut writes = std::collections::HashMap::new();
        for event in &self.events {
            match event {
                // Discards: our disks leave the data as it was.
                Event::Submitted {
                    id,
                    op: DiskOp::Write | DiskOp::WriteZeroes,
                    offset,
                    len,
                    data,
                    ..
                } => {
                    let write = Write {
                        offset: *offset,
                        len: *len,
                        data: data.clone(),
                    };
                    writes.insert(*id, write);
                }
                Event::Completed { id, ok: true } => {
                    if let Some(w) = writes.remove(id) {
                        w.apply(&mut image);
                    }
                }
                _ => {}
            }
        }
        image
    }

    /// How many completed writes no completed flush covers at the end (a
    /// flush covers the writes completed before it was submitted): what a
    /// crash could still lose; none, for a tool that ended cleanly. A FUA
    /// write needs no flush.
    pub fn unflushed_at_end(&self) -> usize {
        let mut kinds = std::collections::HashMap::new();
        let mut unflushed = std::collections::HashSet::new();
        let mut flushes = std::collections::HashMap::new();
        for event in &self.events {
            match event {
                Event::Submitted { id, op, fua, .. } => {
                    if *op == DiskOp::Flush {
                        flushes.insert(*id, unflushed.clone());
                    }
                    kinds.insert(*id, (*op, *fua));
                }
                Event::Completed { id, ok: true } => match kinds.get(id) {
                    Some((DiskOp::Flush, _)) => {
                        for w in flushes.remove(id).unwrap_or_default() {
                            unflushed.remove(&w);
                        }
                    }
                    Some((DiskOp::Read, _)) | Some((_, true)) | None => {}
                    Some(_) => {
                        unflushed.insert(*id);
                    }
                },
                _ => {}
            }
        }
        unflushed.len()
    }
}

pub struct RecordingDisk {
    inner: Arc<dyn Disk>,
    log: Arc<Mutex<Log>>,
    next_id: AtomicU64,
}

impl RecordingDisk {
    pub fn new(inner: Arc<dyn Disk>) -> RecordingDisk {
        RecordingDisk {
            inner,
            log: Arc::new(Mutex::new(Log::default())),
            next_id: AtomicU64::new(0),
        }
    }

    /// Puts `tag` in the log: what happened before it (every request
    /// completed so far) came first.
    pub fn mark(&self, tag: u32) {
        lock(&self.log).events.push(Event::Mark(tag));
    }

    /// The recording so far.
    pub fn log(&self) -> Log {
        lock(&self.log).clone()
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

impl Disk for RecordingDisk {
    same_geometry_as_inner!();

    fn submit(&self, mut request: Request) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let op = request.op();
        let data = (op == DiskOp::Write).then(|| {
            // One copy, straight into the shared buffer.
            let mut data = Arc::<[u8]>::new_uninit_slice(request.len() as usize);
            let slots = Arc::get_mut(&mut data).expect("not shared yet");
            let mut at = 0;
            for seg in request.segments() {
                slots[at..at + seg.len()].write_copy_of_slice(seg);
                at += seg.len();
            }
            assert_eq!(at, slots.len(), "a write's segments are its length");
            // SAFETY: every byte was written above (the segments cover the
            // request's length, as just checked).
            unsafe { data.assume_init() }
        });
        lock(&self.log).events.push(Event::Submitted {
            id,
            op,
            offset: request.offset(),
            len: request.len(),
            fua: request.fua(),
            data,
        });
        let log = self.log.clone();
        request.observe(move |result| {
            lock(&log).events.push(Event::Completed {
                id,
                ok: result.is_ok(),
            });
        });
        self.inner.submit(request);
    }
}
