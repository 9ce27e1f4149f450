//! Linux times (seconds and nanoseconds since 1970) and Windows times
//! (100 ns units since 1601), both ways.

/// 100 ns units from 1601-01-01 to 1970-01-01.
const EPOCH_DIFFERENCE: i64 = 116_444_736_000_000_000;

/// A Windows FILETIME value for a Linux time.
pub fn to_windows(sec: i64, nsec: u64) -> i64 {
    sec.saturating_mul(10_000_000)
        .saturating_add((nsec / 100) as i64)
        .saturating_add(EPOCH_DIFFERENCE)
}

/// The Linux time (seconds, nanoseconds) of a Windows FILETIME value.
pub fn to_linux(filetime: i64) -> (i64, i64) {
    let since_1970 = filetime - EPOCH_DIFFERENCE;
    (
        since_1970.div_euclid(10_000_000),
        since_1970.rem_euclid(10_000_000) * 100,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(to_windows(0, 0), 116_444_736_000_000_000);
        // 2000-01-01T00:00:00Z is FILETIME 0x01BF53EB256D4000.
        assert_eq!(to_windows(946_684_800, 0), 0x01BF_53EB_256D_4000);
        assert_eq!(to_linux(0x01BF_53EB_256D_4000), (946_684_800, 0));
        // Before 1970 and sub-second parts, both ways.
        assert_eq!(to_linux(to_windows(-1, 500)), (-1, 500));
        assert_eq!(
            to_linux(to_windows(1_234_567_890, 123_456_700)),
            (1_234_567_890, 123_456_700)
        );
        // Windows keeps 100 ns: the last two digits of nanoseconds go.
        assert_eq!(to_linux(to_windows(5, 999)), (5, 900));
    }
}
