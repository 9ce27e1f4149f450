//! Errno messages match the host C library's strerror (glibc on Linux),
//! and every named errno has one.
use lkl::Errno;

#[test]
fn messages_match_glibc() {
    let mut named = 0;
    for n in 1..4096 {
        let e = Errno(n);
        assert_eq!(e.name().is_some(), e.message().is_some(), "{n}");
        if let Some(text) = e.message() {
            named += 1;
            let host = std::io::Error::from_raw_os_error(n).to_string();
            assert_eq!(host, format!("{text} (os error {n})"), "{e:?}");
        }
    }
    assert!(named >= 40, "{named} errnos have messages");
}
