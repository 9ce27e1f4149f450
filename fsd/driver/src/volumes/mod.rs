//! Volumes: mounting (`mount`), the mounted volumes (`volume`), their
//! VPBs (`vpb`) and the volume lock (`volume_lock`).
pub mod mount;
pub mod volume;
pub mod volume_lock;
pub mod vpb;
