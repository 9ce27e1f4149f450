//! Names: Windows UTF-16 names and Linux byte names, both ways, and the
//! matching Windows callers expect (case-insensitive, with wildcards).
//!
//! Linux names that Windows cannot carry map reversibly to private-use
//! code points, as WSL does: `\ : * ? " < > |`, control characters and a
//! trailing dot or space become U+F000 plus the character, and each byte
//! of invalid UTF-8 becomes U+F000 plus the byte.
use alloc::vec::Vec;

use crate::status::NtStatus;

const ESCAPE_BASE: u32 = 0xF000;

const fn forbidden(c: char) -> bool {
    matches!(
        c,
        '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '\u{1}'..='\u{1f}'
    )
}

/// The ASCII characters Linux and Windows names both take as they are:
/// not NUL, not `/`, none that [`forbidden`] names.
const PLAIN_ASCII: [bool; 128] = {
    let mut plain = [false; 128];
    let mut c = 1;
    while c < 128 {
        plain[c] = c != b'/' as usize && !forbidden(c as u8 as char);
        c += 1;
    }
    plain
};

/// Whether `c` is a plain ASCII character (see [`PLAIN_ASCII`]).
fn is_plain(c: u16) -> bool {
    PLAIN_ASCII.get(c as usize).copied().unwrap_or(false)
}

fn push_char(out: &mut Vec<u16>, c: char) {
    let mut buf = [0u16; 2];
    out.extend_from_slice(c.encode_utf16(&mut buf));
}

fn escaped(c: u32) -> char {
    char::from_u32(ESCAPE_BASE + c).expect("private-use code point")
}

/// The Windows form of Linux name `name` (one component).
pub fn to_windows(name: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(name.len());
    push_windows(&mut out, name);
    out
}

/// Appends the Windows form of `name` to `out` (as [`to_windows`]).
pub fn push_windows(out: &mut Vec<u16>, name: &[u8]) {
    let start = out.len();
    if name == b"." || name == b".." {
        out.extend(name.iter().map(|&b| b as u16));
        return;
    }
    if name.iter().all(|&b| is_plain(b.into())) {
        // Plain ASCII, the usual case: as it is.
        out.extend(name.iter().map(|&b| u16::from(b)));
    } else {
        push_decoded(out, name);
    }
    if out.len() > start {
        let last = out.len() - 1;
        if out[last] == b'.' as u16 || out[last] == b' ' as u16 {
            out[last] = (ESCAPE_BASE + out[last] as u32) as u16;
        }
    }
}

/// [`push_windows`] for names with more than plain ASCII: valid UTF-8 as
/// it is (forbidden characters escaped), each invalid byte escaped.
fn push_decoded(out: &mut Vec<u16>, name: &[u8]) {
    let mut rest = name;
    while !rest.is_empty() {
        match core::str::from_utf8(rest) {
            Ok(valid) => {
                push_str(out, valid);
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                push_str(out, core::str::from_utf8(valid).expect("valid prefix"));
                let n = e.error_len().unwrap_or(bad.len());
                for &b in &bad[..n] {
                    push_char(out, escaped(b as u32));
                }
                rest = &bad[n..];
            }
        }
    }
}

fn push_str(out: &mut Vec<u16>, s: &str) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c as u16);
        } else if forbidden(c) {
            push_char(out, escaped(c as u32));
        } else {
            push_char(out, c);
        }
    }
}

/// The Linux name of Windows name `name` (one component); invalid names
/// (empty, NUL, wildcards and other characters Windows forbids, unpaired
/// surrogates, and any spelling of `.` or `..`, escaped dots included)
/// give OBJECT_NAME_INVALID.
pub fn to_linux(name: &[u16]) -> Result<Vec<u8>, NtStatus> {
    let mut out = Vec::with_capacity(name.len());
    push_linux(&mut out, name)?;
    Ok(out)
}

/// Appends the Linux name of `name` to `out` (as [`to_linux`]). Nothing
/// it appends is ever `.` or `..`: a name that would be one (U+F02E is an
/// escaped dot) is refused, so no name leads out of its directory.
pub fn push_linux(out: &mut Vec<u8>, name: &[u16]) -> Result<(), NtStatus> {
    let start = out.len();
    let pushed = push_component(out, name);
    if pushed.is_ok() && matches!(&out[start..], b"." | b"..") {
        out.truncate(start);
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    pushed
}

fn push_component(out: &mut Vec<u8>, name: &[u16]) -> Result<(), NtStatus> {
    if name.is_empty() || name.len() > 255 {
        return Err(if name.is_empty() {
            NtStatus::OBJECT_NAME_INVALID
        } else {
            NtStatus::NAME_TOO_LONG
        });
    }
    if name.iter().all(|&c| is_plain(c)) {
        // ASCII that Linux and Windows both take as it is: the usual case.
        out.extend(name.iter().map(|&c| c as u8));
        return Ok(());
    }
    for c in char::decode_utf16(name.iter().copied()) {
        let c = c.map_err(|_| NtStatus::OBJECT_NAME_INVALID)?;
        let code = c as u32;
        if c == '\0' || c == '/' || forbidden(c) {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        if (ESCAPE_BASE..ESCAPE_BASE + 0x100).contains(&code) {
            let low = code - ESCAPE_BASE;
            let original = char::from_u32(low).filter(|&o| forbidden(o) || o == '.' || o == ' ');
            match original {
                Some(o) => out.push(o as u8),
                None if low >= 0x80 => out.push(low as u8),
                None => push_utf8(out, c),
            }
        } else {
            push_utf8(out, c);
        }
    }
    Ok(())
}

fn push_utf8(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// The components of a path relative to the volume root or to an open
/// directory: `\a\b`, `a\b`, and a trailing `\` are accepted; empty
/// components, and `.` and `..` in any spelling (see [`is_dots`]), are
/// not, wherever they are in the path.
pub fn split_path(path: &[u16]) -> Result<Components<'_>, NtStatus> {
    let trimmed = path.strip_prefix(&[b'\\' as u16]).unwrap_or(path);
    let trimmed = trimmed.strip_suffix(&[b'\\' as u16]).unwrap_or(trimmed);
    let mut parts = Components::default();
    if trimmed.is_empty() {
        return Ok(parts);
    }
    for p in trimmed.split(|&c| c == b'\\' as u16) {
        if p.is_empty() || is_dots(p) {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        parts.push(p);
    }
    Ok(parts)
}

/// Whether Windows name `name` is `.` or `..` to Linux: one or two dots,
/// each plain or escaped (U+F02E).
fn is_dots(name: &[u16]) -> bool {
    const ESCAPED_DOT: u16 = (ESCAPE_BASE + b'.' as u32) as u16;
    (1..=2).contains(&name.len()) && name.iter().all(|&c| c == DOT || c == ESCAPED_DOT)
}

/// Takes the default data stream's name (`::$DATA`, in any case) off the
/// last component: true if it was there. Any other stream is
/// OBJECT_NAME_INVALID: a Linux file has just the one.
pub fn strip_default_stream(parts: &mut Components) -> Result<bool, NtStatus> {
    const DEFAULT: [u16; 7] = [58, 58, 36, 68, 65, 84, 65]; // "::$DATA"
    let Some(last) = parts.last_mut() else {
        return Ok(false);
    };
    let Some(colon) = last.iter().position(|&c| c == b':' as u16) else {
        return Ok(false);
    };
    let (name, stream) = last.split_at(colon);
    if name.is_empty() || !eq_ignore_case(stream, &DEFAULT) {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    *last = name;
    Ok(true)
}

const INLINE_COMPONENTS: usize = 8;

/// A path's components: the first few without an allocation (a create
/// splits every name it is given).
#[derive(Default)]
pub struct Components<'a> {
    inline: [&'a [u16]; INLINE_COMPONENTS],
    len: usize,
    more: Vec<&'a [u16]>,
}

impl<'a> Components<'a> {
    fn last_mut(&mut self) -> Option<&mut &'a [u16]> {
        if self.more.is_empty() {
            self.inline[..self.len].last_mut()
        } else {
            self.more.last_mut()
        }
    }

    fn push(&mut self, part: &'a [u16]) {
        if self.len < INLINE_COMPONENTS {
            self.inline[self.len] = part;
            self.len += 1;
        } else {
            if self.more.is_empty() {
                self.more.extend_from_slice(&self.inline);
            }
            self.more.push(part);
        }
    }
}

impl<'a> core::ops::Deref for Components<'a> {
    type Target = [&'a [u16]];

    fn deref(&self) -> &Self::Target {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

impl core::fmt::Debug for Components<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Components<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// Upper case of one UTF-16 unit, as Windows compares names.
pub fn upcase(c: u16) -> u16 {
    if c < 0x80 {
        return (c as u8).to_ascii_uppercase() as u16;
    }
    match char::from_u32(c as u32) {
        Some(ch) => {
            let mut up = ch.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) if (u as u32) < 0x10000 => u as u16,
                _ => c,
            }
        }
        None => c,
    }
}

pub fn eq_ignore_case(a: &[u16], b: &[u16]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| x == y || upcase(x) == upcase(y))
}

/// Orders names as Windows lists them: by their upper case.
pub fn cmp_ignore_case(a: &[u16], b: &[u16]) -> core::cmp::Ordering {
    for (&x, &y) in a.iter().zip(b) {
        if x != y {
            let (x, y) = (upcase(x), upcase(y));
            if x != y {
                return x.cmp(&y);
            }
        }
    }
    a.len().cmp(&b.len())
}

const STAR: u16 = b'*' as u16;
const QM: u16 = b'?' as u16;
const DOS_STAR: u16 = b'<' as u16;
const DOS_QM: u16 = b'>' as u16;
const DOS_DOT: u16 = b'"' as u16;
const DOT: u16 = b'.' as u16;

/// Whether `name` matches `expression` the way FsRtlIsNameInExpression
/// decides: `*`, `?`, and the DOS wildcards `<` (any characters up to the
/// name's last dot), `>` (one character, or none at a dot or the end) and
/// `"` (a dot, or nothing at the end).
pub fn matches(expression: &[u16], name: &[u16], ignore_case: bool) -> bool {
    if expression == [STAR] {
        return true;
    }
    let last_dot = name.iter().rposition(|&c| c == DOT);
    let mut memo = alloc::vec![None; (expression.len() + 1) * (name.len() + 1)];
    matches_at(expression, name, 0, 0, ignore_case, last_dot, &mut memo)
}

fn matches_at(
    e: &[u16],
    n: &[u16],
    i: usize,
    j: usize,
    ignore_case: bool,
    last_dot: Option<usize>,
    memo: &mut [Option<bool>],
) -> bool {
    let key = i * (n.len() + 1) + j;
    if let Some(done) = memo[key] {
        return done;
    }
    let go =
        |i2, j2, memo: &mut [Option<bool>]| matches_at(e, n, i2, j2, ignore_case, last_dot, memo);
    let result = match e.get(i) {
        None => j == n.len(),
        Some(&STAR) => (j..=n.len()).any(|k| go(i + 1, k, memo)),
        Some(&QM) => j < n.len() && go(i + 1, j + 1, memo),
        Some(&DOS_STAR) => {
            // May consume characters, but not the name's last dot.
            let limit = last_dot.filter(|&d| d >= j).unwrap_or(n.len());
            (j..=limit).any(|k| go(i + 1, k, memo))
        }
        Some(&DOS_QM) => {
            if j == n.len() || n[j] == DOT {
                go(i + 1, j, memo)
            } else {
                go(i + 1, j + 1, memo)
            }
        }
        Some(&DOS_DOT) => {
            if j == n.len() {
                go(i + 1, j, memo)
            } else {
                n[j] == DOT && go(i + 1, j + 1, memo)
            }
        }
        Some(&c) => {
            j < n.len()
                && (c == n[j] || (ignore_case && upcase(c) == upcase(n[j])))
                && go(i + 1, j + 1, memo)
        }
    };
    memo[key] = Some(result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn linux_names_round_trip() {
        let names: &[&[u8]] = &[
            b"plain.txt",
            "ünïcödé 名前".as_bytes(),
            b"a:b*c?d\"e<f>g|h\\i",
            b"ends with dot.",
            b"ends with space ",
            b"\x01ctl\x1f",
            b"bad\xff\xfeutf8\xc3",
            b"..hidden",
        ];
        for &n in names {
            let win = to_windows(n);
            assert!(!win
                .iter()
                .any(|&c| [b':' as u16, b'*' as u16, b'?' as u16, 0x01].contains(&c)));
            assert_eq!(
                to_linux(&win).unwrap(),
                n,
                "{:?}",
                String::from_utf16_lossy(&win)
            );
        }
        assert_eq!(to_windows(b"a:b"), w("a\u{f03a}b"));
        assert_eq!(to_windows(b"x."), w("x\u{f02e}"));
        assert_eq!(to_windows(b"\xff"), w("\u{f0ff}"));
        assert_eq!(to_windows(b".."), w(".."));
    }

    #[test]
    fn invalid_windows_names() {
        for bad in ["", "a*b", "a?b", "a:b", "a|b", "a\u{0}b", "a/b"] {
            assert!(to_linux(&w(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(to_linux(&[0xD800]), Err(NtStatus::OBJECT_NAME_INVALID));
        // Every spelling of `.` and `..`: plain, escaped, and mixed.
        for dots in [
            ".",
            "..",
            "\u{f02e}",
            "\u{f02e}\u{f02e}",
            ".\u{f02e}",
            "\u{f02e}.",
        ] {
            assert_eq!(
                to_linux(&w(dots)),
                Err(NtStatus::OBJECT_NAME_INVALID),
                "{dots:?}"
            );
            let mut path = b"/mnt/vda".to_vec();
            assert!(push_linux(&mut path, &w(dots)).is_err());
            assert_eq!(path, b"/mnt/vda", "nothing appended");
        }
        // Names that only start or end with dots are names.
        assert_eq!(to_linux(&w("...")).unwrap(), b"...");
        assert_eq!(to_linux(&w("\u{f02e}\u{f02e}\u{f02e}")).unwrap(), b"...");
        assert_eq!(to_linux(&w(".\u{f02e}x")).unwrap(), b"..x");
        assert_eq!(to_linux(&w(&"x".repeat(256))), Err(NtStatus::NAME_TOO_LONG));
    }

    #[test]
    fn paths() {
        assert_eq!(split_path(&w("\\")).unwrap().len(), 0);
        assert_eq!(
            *split_path(&w("\\a\\bb\\")).unwrap(),
            [&w("a")[..], &w("bb")[..]]
        );
        let deep: Vec<u16> = w(&"\\d".repeat(40));
        let parts = split_path(&deep).unwrap();
        assert_eq!(parts.len(), 40);
        assert!(parts.iter().all(|p| *p == w("d")));
        assert_eq!(split_path(&w("a\\b")).unwrap().len(), 2);
        for bad in [
            "\\a\\\\b",
            "\\a\\..\\b",
            "\\.\\a",
            "\\a\\\u{f02e}\u{f02e}\\b",
            "\\a\\b\\.\u{f02e}",
            "\u{f02e}",
        ] {
            assert_eq!(
                split_path(&w(bad)),
                Err(NtStatus::OBJECT_NAME_INVALID),
                "{bad}"
            );
        }
    }

    #[test]
    fn wildcards() {
        let m = |e: &str, n: &str| matches(&w(e), &w(n), true);
        assert!(m("*", "anything.txt"));
        assert!(m("*", ""));
        assert!(m("*.txt", "notes.TXT"));
        assert!(!m("*.txt", "notes.txt.bak"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("ABC", "abc"));
        assert!(!matches(&w("ABC"), &w("abc"), false));
        // DOS_STAR stops at the last dot.
        assert!(m("<.txt", "a.b.txt"));
        assert!(m("<", "noext"));
        assert!(!m("<", "has.ext"));
        assert!(m("<\"*", "has.ext"));
        // DOS_QM: one character, or none at a dot or the end.
        assert!(m(">>>.txt", "ab.txt"));
        assert!(m(">>>", "ab"));
        assert!(!m(">>", "abc"));
        // DOS_DOT: a dot, or nothing at the end.
        assert!(m("abc\"", "abc"));
        assert!(m("abc\"txt", "abc.txt"));
        assert!(!m("abc\"txt", "abcxtxt"));
        // FindFirstFile("*.*") reaches a driver as "<\"*".
        assert!(m("<\"*", "noext"));
        assert!(m("<\"*", "a.b.c"));
        assert!(m("ü*", "ÜBER"));
    }
}
