//! The core on a disk that fails: once a volume's disk fails its writes
//! (or goes away altogether), a write that reaches the disk and the flush
//! after it answer with an I/O error status (never success, a panic or a
//! hang), and the dismount too; afterwards e2fsck repairs the disk and
//! what was flushed before the fault is there.
mod common;

use std::sync::Arc;

use common::*;
use fsd::access::*;
use fsd::create::*;
use fsd::write::WriteAt;
use fsd::{NtStatus, Volume, VolumeOptions};
use lkl::{DiskOp, MemDisk};
use lkl_crash::{Fault, FaultyDisk};

/// The data each file gets.
fn data(i: u8) -> Vec<u8> {
    (0..100_000u32).map(|n| (n % 251) as u8 ^ i).collect()
}

fn write_and_flush(vol: &Volume, name: &str, bytes: &[u8]) -> Result<(), NtStatus> {
    let name = w(name);
    let created = create(
        vol,
        &CreateRequest {
            related: None,
            name: &name,
            disposition: FILE_OVERWRITE_IF,
            options: FILE_NON_DIRECTORY_FILE,
            desired_access: GENERIC_READ | GENERIC_WRITE,
            share_access: 0,
            file_attributes: 0,
            caller: None,
        },
    )?;
    let mut ccb = created.ccb;
    let written = fsd::write::write(vol, &mut ccb, WriteAt::Offset(0), bytes);
    let flushed = fsd::flush::flush(vol, &ccb);
    fsd::cleanup::cleanup(vol, &mut ccb);
    fsd::close::close(vol, ccb);
    if written.status.is_error() {
        return Err(written.status);
    }
    if flushed.status.is_error() {
        return Err(flushed.status);
    }
    Ok(())
}

#[test]
fn a_failing_disk_is_an_io_error_and_loses_nothing_flushed() {
    for fault in [
        Fault::From {
            op: DiskOp::Write,
            nth: 0,
        },
        Fault::From {
            op: DiskOp::Flush,
            nth: 0,
        },
        Fault::Gone { nth: 0 },
    ] {
        let mut t = TestVolume::made_by(
            "disk-faults",
            |_| {},
            &["e2fsck", "-fn"],
            |_, image| {
                run(
                    "mkfs.ext4",
                    &["-q", "-F", &image.display().to_string(), "32M"],
                );
            },
        );
        let medium = Arc::new(MemDisk::new(std::fs::read(&t.image).unwrap()));
        let faulty = Arc::new(FaultyDisk::new(medium.clone(), Fault::None));
        let disk = lkl::add_disk(faulty.clone()).unwrap();
        let vol = Volume::mount(&disk, &VolumeOptions::default()).unwrap();
        write_and_flush(&vol, "\\kept", &data(1)).unwrap();

        // From now on the disk fails (counts are since it was made).
        faulty.set(match fault {
            Fault::From { op, .. } => Fault::From {
                op,
                nth: faulty.seen(Some(op)),
            },
            _ => Fault::Gone {
                nth: faulty.seen(None),
            },
        });
        let status = write_and_flush(&vol, "\\lost", &data(2)).unwrap_err();
        assert!(
            [NtStatus::UNEXPECTED_IO_ERROR, NtStatus::DEVICE_DATA_ERROR].contains(&status),
            "{fault:?}: {status:?}"
        );
        assert!(faulty.failed() > 0, "{fault:?}: no request failed");
        // The dismount reports it too (or the file system already shut
        // down: either way, not success hiding the loss).
        let _ = vol.dismount();
        disk.remove().unwrap();

        // Repaired by e2fsck, the flushed file is whole.
        std::fs::write(&t.image, medium.contents()).unwrap();
        let repair = std::process::Command::new("e2fsck")
            .args(["-fy", &t.image.display().to_string()])
            .output()
            .unwrap();
        assert!(
            matches!(repair.status.code(), Some(0 | 1)),
            "{fault:?}: e2fsck -fy: {}",
            String::from_utf8_lossy(&repair.stdout)
        );
        t.vol = None;
        let mut t = t.mounted(VolumeOptions::default());
        let mut ccb = t.open("\\kept");
        let mut back = vec![0u8; 100_000];
        let r = fsd::read::read(t.vol(), &mut ccb, Some(0), &mut back);
        assert_eq!((r.status, back), (NtStatus::SUCCESS, data(1)), "{fault:?}");
        t.close(ccb);
        t.finish();
    }
}
