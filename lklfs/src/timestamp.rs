//! Linux timestamps (seconds since the epoch, negative before it, and
//! nanoseconds 0..1e9 after that second) to and from the host's
//! `SystemTime`.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS: u64 = 1_000_000_000;

pub fn to_system(secs: i64, nsec: u64) -> SystemTime {
    let second = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    second + Duration::from_nanos(nsec)
}

pub fn from_system(time: SystemTime) -> (i64, u64) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos() as u64),
        Err(before) => {
            let d = before.duration();
            let (secs, nsec) = (d.as_secs() as i64, d.subsec_nanos() as u64);
            if nsec == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, NANOS - nsec)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_either_side_of_the_epoch() {
        for (secs, nsec) in [
            (0, 0),
            (1_600_000_000, 123_456_789),
            (-1, 0),
            (-2, 500_000_000),
        ] {
            assert_eq!(from_system(to_system(secs, nsec)), (secs, nsec));
        }
        assert_eq!(
            to_system(-2, 500_000_000),
            UNIX_EPOCH - Duration::from_millis(1500)
        );
    }
}
