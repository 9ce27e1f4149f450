//! What the IRP handlers share: IRP access (`irp`, `buffers`, `sized`,
//! `user`, `seh`), file objects to CCBs (`file`), IRPs that wait
//! (`pending`, `watches`), IRPs the driver sends or passes on (`send`,
//! `forward`) and boxes kept for reuse (`lookaside`).
pub mod buffers;
pub mod file;
pub mod forward;
pub mod irp;
pub mod lookaside;
pub mod pending;
pub mod seh;
pub mod send;
pub mod sized;
pub mod user;
pub mod watches;
