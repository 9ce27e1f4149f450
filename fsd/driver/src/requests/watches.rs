//! Each handle's watch on a directory for change notification: set up by
//! its first NOTIFY_CHANGE_DIRECTORY (whose directory, subtree flag,
//! filter and buffer size stay, as on Windows, whatever later requests
//! say), kept until its cleanup, and collecting the changes that happen
//! while no request of its is pending, so that the next one completes at
//! once with them (or with STATUS_NOTIFY_ENUM_DIR when more happened than
//! its first buffer held). Nothing is lost between two requests.
use alloc::vec::Vec;

use fsd::{Action, Change};
use spin::Mutex;

/// What a watch has for its next request.
pub enum Batch {
    /// FILE_NOTIFY_INFORMATION records: action and name.
    Records(Vec<(u32, Vec<u16>)>),
    /// More than the buffer holds: the directory must be listed again.
    Overflow,
}

struct Watch {
    file: usize,
    volume: usize,
    dir: Vec<u8>,
    tree: bool,
    filter: u32,
    capacity: usize,
    buffered: Vec<(u32, Vec<u16>)>,
    overflow: bool,
}

static WATCHES: Mutex<Vec<Watch>> = Mutex::new(Vec::new());

const FILE_NOTIFY_CHANGE_NAMES: u32 = 0x1 | 0x2;
/// Attributes, size, last write, last access, creation, EA, security.
const FILE_NOTIFY_CHANGE_CONTENT: u32 = 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100;

/// The filter bits that let a change through.
fn filter_of(action: Action) -> u32 {
    match action {
        Action::Modified => FILE_NOTIFY_CHANGE_CONTENT,
        _ => FILE_NOTIFY_CHANGE_NAMES,
    }
}

/// The change's name relative to `dir`, if it is in it (or below, `tree`).
fn relative_name(change: &Change, dir: &[u8], tree: bool) -> Option<Vec<u16>> {
    if change.dir == dir {
        return Some(change.name.clone());
    }
    let below = change.dir.strip_prefix(dir)?.strip_prefix(b"/")?;
    if !tree {
        return None;
    }
    let mut name: Vec<u16> = Vec::new();
    for part in below.split(|&c| c == b'/') {
        name.extend(part.iter().map(|&b| b as u16));
        name.push(b'\\' as u16);
    }
    name.extend_from_slice(&change.name);
    Some(name)
}

/// The bytes `records` take as FILE_NOTIFY_INFORMATION, each 4-aligned.
pub fn encoded_size(records: &[(u32, Vec<u16>)]) -> usize {
    records
        .iter()
        .map(|(_, name)| (12 + 2 * name.len() + 3) & !3)
        .sum()
}

/// The watch of handle `file` (a file object's address) on `volume`,
/// set up with these parameters if it has none.
pub fn watch(file: usize, volume: usize, dir: &[u8], tree: bool, filter: u32, capacity: usize) {
    let mut watches = WATCHES.lock();
    if watches.iter().all(|w| w.file != file) {
        watches.push(Watch {
            file,
            volume,
            dir: dir.to_vec(),
            tree,
            filter,
            capacity,
            buffered: Vec::new(),
            overflow: false,
        });
    }
}

/// The changes of `volume` go to the watches they concern.
pub fn record(volume: usize, changes: &[Change]) {
    let mut watches = WATCHES.lock();
    for w in watches.iter_mut().filter(|w| w.volume == volume) {
        let records = changes
            .iter()
            .filter(|c| filter_of(c.action) & w.filter != 0)
            .filter_map(|c| relative_name(c, &w.dir, w.tree).map(|n| (c.action as u32, n)));
        w.buffered.extend(records);
        if encoded_size(&w.buffered) > w.capacity {
            w.overflow = true;
            w.buffered = Vec::new();
        }
    }
}

/// What handle `file`'s watch has collected, taken; None if nothing.
pub fn take(file: usize) -> Option<Batch> {
    let mut watches = WATCHES.lock();
    let w = watches.iter_mut().find(|w| w.file == file)?;
    if core::mem::take(&mut w.overflow) {
        return Some(Batch::Overflow);
    }
    if w.buffered.is_empty() {
        return None;
    }
    Some(Batch::Records(core::mem::take(&mut w.buffered)))
}

/// Handle `file` closed (its cleanup): its watch goes.
pub fn forget(file: usize) {
    WATCHES.lock().retain(|w| w.file != file);
}

/// Every watch goes (unload).
pub fn release() {
    drop(core::mem::take(&mut *WATCHES.lock()));
}
