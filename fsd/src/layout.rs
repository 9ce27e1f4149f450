//! Writing the documented x64 layouts of FILE_* structures into caller
//! buffers, little-endian, bounds-checked.

/// A fixed-size view of an output buffer.
pub struct Out<'a> {
    pub buf: &'a mut [u8],
}

impl<'a> Out<'a> {
    pub fn new(buf: &'a mut [u8]) -> Out<'a> {
        Out { buf }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u8(&mut self, at: usize, v: u8) {
        self.buf[at] = v;
    }

    pub fn u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, at: usize, v: u64) {
        self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    pub fn i64(&mut self, at: usize, v: i64) {
        self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Writes as much of `name` as fits from `at`; returns the bytes
    /// written.
    pub fn name(&mut self, at: usize, name: &[u16]) -> usize {
        let room = self.buf.len().saturating_sub(at) / 2;
        let n = name.len().min(room);
        if n == 0 {
            return 0;
        }
        for (out, c) in self.buf[at..at + 2 * n].chunks_exact_mut(2).zip(name) {
            out.copy_from_slice(&c.to_le_bytes());
        }
        n * 2
    }
}

/// Rounds up to the 8-byte alignment of directory entries.
pub fn align8(n: usize) -> usize {
    (n + 7) & !7
}
