//! The Windows file system driver's core: Windows file semantics on Linux
//! file systems, through lkl's system calls.
//!
//! The Windows half of the driver decodes IRPs into the requests of the
//! modules here, one module per IRP major function (create, read, write,
//! dirctrl, fileinfo, volinfo, fsctl, lockctl, ea, security, flush,
//! cleanup, close), and completes the
//! IRP with the [`Completion`] and output bytes they produce. Support
//! modules hold names, times, attributes, access, status mapping, the
//! volume (VCB), the FCB of each file (kept for a while after its last
//! close, see [`cache`]) and the CCB of each open. Everything
//! is portable `no_std` Rust, tested on Linux against the real kernel.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod access;
pub mod attributes;
mod beneath;
pub mod cache;
pub mod ccb;
pub mod cleanup;
pub mod close;
pub mod create;
pub mod dirctrl;
pub mod ea;
pub mod fcb;
pub mod fileinfo;
pub mod flush;
pub mod fsctl;
pub mod handle;
mod info;
pub mod layout;
mod linux;
pub mod lockctl;
pub mod names;
pub mod permissions;
pub mod read;
mod resolve;
pub mod security;
pub mod sleep_lock;
pub mod status;
pub mod time;
pub mod volinfo;
pub mod volume;
pub mod write;

pub use ccb::Ccb;
pub use handle::{Handle, HandleGuard};
pub use status::{Completion, NtStatus};
pub use volume::{Action, Change, EmptyCheck, Volume, VolumeOptions};
