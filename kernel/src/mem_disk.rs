//! A disk in memory, completing every request at once (for tests).
use std::sync::Mutex;
use std::vec::Vec;

use crate::disk::{Disk, DiskOp, Request};

pub struct MemDisk {
    data: Mutex<Vec<u8>>,
}

impl MemDisk {
    /// A disk holding `image` (its length a multiple of 512).
    pub fn new(image: Vec<u8>) -> MemDisk {
        MemDisk {
            data: Mutex::new(image),
        }
    }

    /// The disk's current contents.
    pub fn contents(&self) -> Vec<u8> {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The disk's contents, without a copy.
    pub fn into_contents(self) -> Vec<u8> {
        self.data.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl Disk for MemDisk {
    fn capacity(&self) -> u64 {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }

    fn submit(&self, mut request: Request) {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = request.offset() as usize;
        match request.op() {
            DiskOp::Read => {
                for seg in request.segments() {
                    seg.copy_from_slice(&data[at..at + seg.len()]);
                    at += seg.len();
                }
            }
            DiskOp::Write => {
                for seg in request.segments() {
                    data[at..at + seg.len()].copy_from_slice(seg);
                    at += seg.len();
                }
            }
            DiskOp::WriteZeroes => data[at..at + request.len() as usize].fill(0),
            DiskOp::Flush | DiskOp::Discard => {}
        }
        drop(data);
        request.complete(Ok(()));
    }
}
