//! The full mode's cache: the FCBs Windows sees (`file_control`), the
//! data path through the cache manager (`cached_io`) and the fast I/O
//! table's acquire callbacks (`fast_io`).
pub mod cached_io;
pub mod fast_io;
pub mod file_control;
