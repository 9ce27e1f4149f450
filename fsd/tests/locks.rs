//! Byte-range locks: exclusive and shared, fail-immediately or wait,
//! unlock single/all/by key, their effect on reads and writes, and their
//! release at cleanup.
mod common;

use common::*;
use fsd::lockctl::{self, LockRequest, Unlock};
use fsd::read::read;
use fsd::write::{write, WriteAt};
use fsd::NtStatus;

fn tree(root: &std::path::Path) {
    std::fs::write(root.join("f"), vec![b'x'; 1000]).unwrap();
}

fn req(offset: u64, length: u64, exclusive: bool, fail_immediately: bool, tag: u64) -> LockRequest {
    LockRequest {
        offset,
        length,
        key: 0,
        exclusive,
        fail_immediately,
        tag,
    }
}

#[test]
fn byte_range_locks() {
    let t = TestVolume::new("locks", &[], tree);
    let vol = t.vol();
    let mut a = t.open("\\f");
    let mut b = t.open("\\f");
    assert_eq!(
        lockctl::lock(vol, &a, &req(100, 100, true, true, 1)).status,
        NtStatus::SUCCESS
    );
    // Overlapping requests from the other open.
    assert_eq!(
        lockctl::lock(vol, &b, &req(150, 10, false, true, 2)).status,
        NtStatus::LOCK_NOT_GRANTED
    );
    assert_eq!(
        lockctl::lock(vol, &b, &req(199, 1, true, true, 3)).status,
        NtStatus::LOCK_NOT_GRANTED
    );
    // Adjacent ranges and zero-length locks never conflict.
    assert_eq!(
        lockctl::lock(vol, &b, &req(200, 10, true, true, 4)).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        lockctl::lock(vol, &b, &req(150, 0, true, true, 5)).status,
        NtStatus::SUCCESS
    );
    // The owner reads and writes its exclusive range; the other open may not.
    let mut buf = [0u8; 10];
    assert_eq!(
        read(vol, &mut a, Some(100), &mut buf).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        write(vol, &mut a, WriteAt::Offset(100), b"AA").status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        read(vol, &mut b, Some(120), &mut buf).status,
        NtStatus::FILE_LOCK_CONFLICT
    );
    assert_eq!(
        write(vol, &mut b, WriteAt::Offset(95), b"0123456789").status,
        NtStatus::FILE_LOCK_CONFLICT
    );
    assert_eq!(
        read(vol, &mut b, Some(0), &mut buf).status,
        NtStatus::SUCCESS
    );

    // A waiting request is granted when the conflicting lock goes.
    assert_eq!(
        lockctl::lock(vol, &b, &req(120, 10, true, false, 6)).status,
        NtStatus::PENDING
    );
    let (r, granted) = lockctl::unlock(
        vol,
        &a,
        &Unlock::Single {
            offset: 100,
            length: 99,
            key: 0,
        },
    );
    assert_eq!(
        r.status,
        NtStatus::RANGE_NOT_LOCKED,
        "unlock needs the exact range"
    );
    assert!(granted.is_empty());
    let (r, granted) = lockctl::unlock(
        vol,
        &a,
        &Unlock::Single {
            offset: 100,
            length: 100,
            key: 0,
        },
    );
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(granted, [6]);
    assert_eq!(
        read(vol, &mut a, Some(120), &mut buf).status,
        NtStatus::FILE_LOCK_CONFLICT
    );

    // Shared locks: everyone reads, nobody writes, not even the owner.
    assert_eq!(
        lockctl::lock(vol, &a, &req(500, 100, false, true, 7)).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        lockctl::lock(vol, &b, &req(550, 100, false, true, 8)).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        read(vol, &mut b, Some(500), &mut buf).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        write(vol, &mut a, WriteAt::Offset(510), b"no").status,
        NtStatus::FILE_LOCK_CONFLICT
    );

    // Cleanup of b releases its locks and grants a's waiting request.
    assert_eq!(
        lockctl::lock(vol, &a, &req(205, 1, true, false, 9)).status,
        NtStatus::PENDING
    );
    let (_, cleaned) = fsd::cleanup::cleanup(vol, &mut b);
    assert_eq!(cleaned.granted, [9]);
    let (r, _) = lockctl::unlock(vol, &a, &Unlock::All);
    assert_eq!(r.status, NtStatus::SUCCESS);
    assert_eq!(
        write(vol, &mut a, WriteAt::Offset(510), b"ok").status,
        NtStatus::SUCCESS
    );
    t.close(b);
    t.close(a);
}
