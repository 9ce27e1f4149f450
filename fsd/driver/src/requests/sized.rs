//! Buffers whose size a request gives: allocated fallibly, so that a
//! caller asking for gigabytes gets STATUS_INSUFFICIENT_RESOURCES instead
//! of an allocation failure, which would be a panic and end Linux. Callers
//! cap what they ask for first wherever the request's meaning allows.
use alloc::vec::Vec;

use fsd::NtStatus;

/// `len` zero bytes, or INSUFFICIENT_RESOURCES.
pub fn zeroed(len: usize) -> Result<Vec<u8>, NtStatus> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    v.resize(len, 0);
    Ok(v)
}
