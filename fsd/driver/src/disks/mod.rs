//! Disks: image files and devices as disks (`image_disk`), the Linux
//! disk over the device a volume is mounted from (`lower_disk`), the
//! machine's own disks found holding Linux file systems (`found_disks`)
//! and their drive letters (`drive_letters`).
pub mod drive_letters;
pub mod found_disks;
pub mod image_disk;
pub mod lower_disk;
