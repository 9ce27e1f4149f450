//! One module per IRP major function a volume serves: each decodes its
//! stack location into the core's request and completes the IRP (FastFat's
//! shape: create, close, cleanup, read, write, dirctrl, fileinfo, ea,
//! volinfo, fsctl, flush, lockctl, security, pnp, shutdown).
pub mod cleanup;
pub mod close;
pub mod create;
pub mod dirctrl;
pub mod ea;
pub mod fileinfo;
pub mod flush;
pub mod fsctl;
pub mod lockctl;
pub mod pnp;
pub mod read;
pub mod security;
pub mod shutdown;
pub mod volinfo;
pub mod write;
