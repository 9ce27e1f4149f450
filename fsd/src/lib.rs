//! The Windows file system driver's core: Windows file semantics on Linux
//! file systems, through lkl's system calls.
//!
//! The Windows half of the driver decodes IRPs into the requests of the
//! modules here, one module per IRP major function, and completes the IRP
//! with the [`Completion`] and output bytes they produce. Everything is
//! portable `no_std` Rust, tested on Linux against the real kernel.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod attributes;
pub mod layout;
pub mod names;
pub mod status;
pub mod time;

pub use status::{Completion, NtStatus};
