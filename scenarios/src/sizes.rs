//! File sizes and ways of writing: a sparse file past 4 GiB, truncation,
//! and cached, non-cached and write-through opens of one file seeing each
//! other's data.
use fsd::access::*;
use fsd::create::*;
use fsd::fileinfo::{FILE_END_OF_FILE_INFORMATION, FILE_STANDARD_INFORMATION};
use fsd::fsctl::FSCTL_SET_SPARSE;
use fsd::{volinfo, NtStatus};

use crate::bytes::{ok, u64_at};
use crate::files::{open, size, SHARE_ALL};
use crate::runner::needs;
use crate::{Dir, Drive, Outcome};

/// NtCreateFile's FILE_NO_INTERMEDIATE_BUFFERING (non-cached I/O).
pub const FILE_NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;

/// A page-aligned buffer, as non-cached I/O wants.
#[repr(C, align(4096))]
struct Page([u8; 4096]);

pub fn sparse_and_large<D: Drive>(d: &D, t: &Dir) -> Outcome {
    needs(d, volinfo::FILE_SUPPORTS_SPARSE_FILES, "sparse files")?;
    const FAR: u64 = 5 << 30;
    let (mut h, _) = open(d, &t.path("big"), FILE_CREATE, 0).unwrap();
    ok(d.fsctl(&mut h, FSCTL_SET_SPARSE, &[1], &mut []));
    ok(d.write(&mut h, Some(FAR), b"end"));
    let mut standard = [0u8; 24];
    ok(d.query_information(&h, FILE_STANDARD_INFORMATION, &mut standard));
    assert_eq!(u64_at(&standard, 8), FAR + 3, "EndOfFile");
    assert!(
        u64_at(&standard, 0) < 1 << 30,
        "AllocationSize {} of a file with one written block",
        u64_at(&standard, 0)
    );
    let mut buf = vec![0xffu8; 4096];
    assert_eq!(ok(d.read(&mut h, 2 << 30, &mut buf)), 4096);
    assert!(buf.iter().all(|&b| b == 0), "a hole reads as zeros");
    assert_eq!(ok(d.read(&mut h, FAR, &mut buf)), 3);
    assert_eq!(&buf[..3], b"end");
    assert_eq!(
        d.read(&mut h, FAR + 3, &mut buf).status,
        NtStatus::END_OF_FILE
    );
    ok(d.set_information(
        &mut h,
        FILE_END_OF_FILE_INFORMATION,
        &(1u64 << 20).to_le_bytes(),
    ));
    assert_eq!(size(d, &h), 1 << 20);
    assert_eq!(d.read(&mut h, FAR, &mut buf).status, NtStatus::END_OF_FILE);
    ok(d.set_information(
        &mut h,
        FILE_END_OF_FILE_INFORMATION,
        &(6u64 << 30).to_le_bytes(),
    ));
    assert_eq!(size(d, &h), 6 << 30, "grown by setting the end of file");
    assert_eq!(ok(d.read(&mut h, FAR, &mut buf)), 4096);
    assert!(buf.iter().all(|&b| b == 0), "grown space reads as zeros");
    d.close(h);
    Ok(())
}

pub fn cached_and_noncached<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let f = t.path("mixed");
    let pattern: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    let (mut cached, _) = open(d, &f, FILE_CREATE, 0).unwrap();
    ok(d.write(&mut cached, Some(0), &pattern));
    let rw = GENERIC_READ | GENERIC_WRITE;
    let (mut direct, _) = d
        .create(&f, FILE_OPEN, FILE_NO_INTERMEDIATE_BUFFERING, rw, SHARE_ALL)
        .unwrap();
    let mut page = Box::new(Page([0; 4096]));
    assert_eq!(ok(d.read(&mut direct, 4096, &mut page.0)), 4096);
    assert_eq!(
        &page.0[..],
        &pattern[4096..],
        "a non-cached read of cached writes"
    );
    page.0.fill(0xc3);
    assert_eq!(ok(d.write(&mut direct, Some(0), &page.0)), 4096);
    let mut buf = [0u8; 8192];
    assert_eq!(ok(d.read(&mut cached, 0, &mut buf)), 8192);
    assert!(
        buf[..4096].iter().all(|&b| b == 0xc3),
        "a cached read of a non-cached write"
    );
    assert_eq!(&buf[4096..], &pattern[4096..]);
    d.close(direct);

    let (mut through, _) = d
        .create(&f, FILE_OPEN, FILE_WRITE_THROUGH, rw, SHARE_ALL)
        .unwrap();
    ok(d.write(&mut through, Some(100), b"write-through"));
    d.close(through);
    assert_eq!(ok(d.read(&mut cached, 100, &mut buf[..13])), 13);
    assert_eq!(&buf[..13], b"write-through");
    d.close(cached);
    Ok(())
}
