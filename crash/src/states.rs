//! Crash states from a recording. A write is durable once a flush that
//! was submitted after it completed has completed, or at its own
//! completion if it was FUA; a completed write not yet durable sits in
//! the disk's volatile cache, and a crash may lose any of those. So after
//! each completed request (each cut) the disk may hold the durable writes
//! plus any subset of the volatile ones, applied in completion order
//! (where two overlap, the later wins). Requests not yet completed at the
//! cut are taken as not written. Discards are writes of zeroes that may
//! or may not happen, like volatile writes. Every subset is produced when
//! there are few enough for the limit, else a seeded random sample that
//! always includes none and all of them.
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use lkl::DiskOp;

use crate::recording::{Event, Log};

/// How many states to make.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// At most this many states for one cut.
    pub per_cut: usize,
    /// At most this many states in all.
    pub total: usize,
    /// Seeds the sample of subsets where there are too many.
    pub seed: u64,
}

/// A write the disk completed: its range and data (None: zeroes).
#[derive(Clone, Debug)]
pub(crate) struct Write {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) data: Option<Arc<[u8]>>,
}

impl Write {
    /// The write done to `image`.
    pub(crate) fn apply(&self, image: &mut [u8]) {
        let range = self.offset as usize..(self.offset + self.len) as usize;
        match &self.data {
            Some(data) => image[range].copy_from_slice(data),
            None => image[range].fill(0),
        }
    }
}

/// What the disk may hold after a crash at one point.
#[derive(Clone, Debug)]
pub struct CrashState {
    /// The index in the log's events of the completion the crash follows.
    pub cut: usize,
    /// The marks the log had by then, in order.
    pub marks: Vec<u32>,
    /// Of the writes completed by then and not yet durable, how many the
    /// state holds, and how many there were.
    pub volatile_kept: usize,
    pub volatile: usize,
    /// The writes the state holds, as indices in completion order.
    writes: Vec<usize>,
}

/// The states of one recording, each distinct (the same writes and marks
/// are not produced twice).
pub struct CrashStates {
    writes: Vec<Write>,
    pub states: Vec<CrashState>,
}

impl CrashStates {
    /// The disk's contents in `state`, from its contents before the
    /// recording began.
    pub fn image(&self, base: &[u8], state: &CrashState) -> Vec<u8> {
        let mut image = base.to_vec();
        for &w in &state.writes {
            self.writes[w].apply(&mut image);
        }
        image
    }
}

/// A small seeded generator (splitmix64).
pub(crate) struct Random(pub(crate) u64);

impl Random {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The crash states of `log` within `limits`.
pub fn crash_states(log: &Log, limits: Limits) -> CrashStates {
    let mut random = Random(limits.seed);
    // Requests not yet completed, by id.
    let mut submitted: HashMap<u64, &Event> = HashMap::new();
    // Completed writes, in completion order; which are durable; which are
    // volatile (indices), and for each flush in flight the volatile
    // writes it will make durable.
    let mut writes = Vec::new();
    let mut durable: Vec<usize> = Vec::new();
    let mut volatile: Vec<usize> = Vec::new();
    let mut flushes: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut marks = Vec::new();
    let mut seen = HashSet::new();
    let mut states = Vec::new();
    for (cut, event) in log.events.iter().enumerate() {
        match event {
            Event::Mark(tag) => marks.push(*tag),
            Event::Submitted { id, op, .. } => {
                if *op == DiskOp::Flush {
                    flushes.insert(*id, volatile.clone());
                }
                submitted.insert(*id, event);
            }
            Event::Completed { id, ok } => {
                let Some(&Event::Submitted {
                    op,
                    offset,
                    len,
                    fua,
                    ref data,
                    ..
                }) = submitted.remove(id)
                else {
                    continue;
                };
                match op {
                    DiskOp::Write | DiskOp::WriteZeroes | DiskOp::Discard if *ok => {
                        writes.push(Write {
                            offset,
                            len,
                            data: data.clone(),
                        });
                        let w = writes.len() - 1;
                        if fua && op == DiskOp::Write {
                            durable.push(w);
                        } else {
                            volatile.push(w);
                        }
                    }
                    DiskOp::Flush => {
                        let covered = flushes.remove(id).unwrap_or_default();
                        if *ok {
                            volatile.retain(|w| !covered.contains(w));
                            durable.extend(covered);
                        }
                    }
                    _ => {}
                }
                for kept in subsets(volatile.len(), limits.per_cut, &mut random) {
                    if states.len() >= limits.total {
                        return CrashStates { writes, states };
                    }
                    let mut held: Vec<usize> = durable
                        .iter()
                        .copied()
                        .chain(kept.iter().map(|&i| volatile[i]))
                        .collect();
                    held.sort_unstable();
                    let mut key = DefaultHasher::new();
                    (&held, marks.len()).hash(&mut key);
                    if seen.insert(key.finish()) {
                        states.push(CrashState {
                            cut,
                            marks: marks.clone(),
                            volatile_kept: kept.len(),
                            volatile: volatile.len(),
                            writes: held,
                        });
                    }
                }
            }
        }
    }
    CrashStates { writes, states }
}

/// Subsets of `n` items (as index lists): all of them when there are at
/// most `limit`, else all, none, and random ones up to `limit`.
fn subsets(n: usize, limit: usize, random: &mut Random) -> Vec<Vec<usize>> {
    let limit = limit.max(1);
    if n < usize::BITS as usize && (1usize << n) <= limit {
        return (0..1usize << n)
            .rev()
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
            .collect();
    }
    let mut out = vec![(0..n).collect(), Vec::new()];
    while out.len() < limit {
        out.push((0..n).filter(|_| random.next() & 1 == 1).collect());
    }
    out.truncate(limit);
    out
}
