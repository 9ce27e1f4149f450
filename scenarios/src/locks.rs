//! Two handles coordinating with byte-range locks, as databases and
//! office programs do.
use fsd::access::*;
use fsd::create::*;
use fsd::NtStatus;

use crate::bytes::ok;
use crate::files::{assert_contents, make_file, SHARE_ALL};
use crate::{Dir, Drive, Outcome};

pub fn record_locking<D: Drive>(d: &D, t: &Dir) -> Outcome {
    let f = t.path("records");
    make_file(d, &f, b"b.txt");
    let rw = GENERIC_READ | GENERIC_WRITE;
    let (mut a, _) = d.create(&f, FILE_OPEN, 0, rw, SHARE_ALL).unwrap();
    let (mut b, _) = d.create(&f, FILE_OPEN, 0, rw, SHARE_ALL).unwrap();
    ok(d.lock(&a, 0, 4, true));
    assert_eq!(d.lock(&b, 2, 1, false).status, NtStatus::LOCK_NOT_GRANTED);
    assert_eq!(
        d.write(&mut b, Some(1), b"x").status,
        NtStatus::FILE_LOCK_CONFLICT
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        d.read(&mut b, 0, &mut buf).status,
        NtStatus::FILE_LOCK_CONFLICT,
        "reading under another's exclusive lock"
    );
    ok(d.write(&mut a, Some(1), b"y"));
    assert_eq!(
        d.unlock(&b, 0, 4).status,
        NtStatus::RANGE_NOT_LOCKED,
        "unlocking another open's lock"
    );
    ok(d.unlock(&a, 0, 4));
    ok(d.write(&mut b, Some(0), b"z"));
    ok(d.lock(&a, 10, 5, false));
    ok(d.lock(&b, 12, 1, false));
    assert_eq!(
        d.write(&mut b, Some(12), b"w").status,
        NtStatus::FILE_LOCK_CONFLICT,
        "writing under a shared lock"
    );
    d.close(b);
    d.close(a);
    assert_contents(d, &f, b"zytxt");
    Ok(())
}
