//! `lklnet get` against `lklnet serve`: two processes, each with its own
//! Linux, joined by a UDP link on loopback. Files come back byte for
//! byte over IPv4 and IPv6; errors (404, refused, no peer, paths that
//! leave the served directory) end with exit 1 and the reason.
mod common;

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{link, ports, random_bytes, serve, LKLNET};

fn get(url: &str, local: u16, peer: u16, extra: &[&str]) -> Output {
    Command::new(LKLNET)
        .args(["get", url, "--link", &link(local, peer)])
        .args(["--addr", "10.0.0.2/24", "--addr", "fd00::2/64"])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn files_come_back_whole_over_ipv4_and_ipv6() {
    let dir = tempdir("whole");
    let big = random_bytes(24 << 20, 1);
    std::fs::write(dir.join("big"), &big).unwrap();
    std::fs::write(dir.join("small.txt"), b"hello over linux\n").unwrap();
    let (a, b) = ports();
    let _server = serve(&dir, a, b, &[]);

    let out = get("http://10.0.0.1:8080/small.txt", b, a, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"hello over linux\n");

    for url in ["http://10.0.0.1:8080/big", "http://[fd00::1]:8080/big"] {
        let file = dir.join("got");
        let out = get(url, b, a, &["-o", file.to_str().unwrap()]);
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        assert!(
            std::fs::read(&file).unwrap() == big,
            "{url}: the body differs"
        );
        assert!(stderr(&out).contains("24.0 MiB in"), "{}", stderr(&out));
    }

    // A directory lists its entries.
    let out = get("http://10.0.0.1:8080/", b, a, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("/big\n") && listing.contains("/small.txt\n"),
        "{listing}"
    );
}

#[test]
fn a_gibibyte_comes_back_whole() {
    const CHUNK: usize = 1 << 20;
    let dir = tempdir("gib");
    let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join("gib")).unwrap());
    for i in 0..1024 {
        file.write_all(&random_bytes(CHUNK, i)).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let (a, b) = ports();
    let _server = serve(&dir, a, b, &[]);
    let mut child = Command::new(LKLNET)
        .args(["get", "http://10.0.0.1:8080/gib", "--link", &link(b, a)])
        .args(["--addr", "10.0.0.2/24"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The body, compared chunk by chunk with what was written, as it
    // comes out of lklnet's standard output.
    let mut body = child.stdout.take().unwrap();
    let mut got = vec![0u8; CHUNK];
    for i in 0..1024 {
        body.read_exact(&mut got).unwrap();
        assert!(got == random_bytes(CHUNK, i), "MiB {i} differs");
    }
    assert_eq!(body.read(&mut got).unwrap(), 0, "more than 1 GiB");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1.00 GiB in"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_say_why_and_exit_1() {
    let dir = tempdir("errors");
    std::fs::write(dir.join("f"), b"x").unwrap();
    let outside = tempdir("outside");
    std::fs::write(outside.join("secret"), b"not yours").unwrap();
    symlink(&outside, dir.join("escape")).unwrap();
    let (a, b) = ports();
    let _server = serve(&dir, a, b, &[]);

    let cases: [(&str, &str); 6] = [
        ("http://10.0.0.1:8080/nothing-here", "HTTP 404"),
        ("http://10.0.0.1:8080/../f", "HTTP 404"),
        ("http://10.0.0.1:8080/%2e%2e/outside/secret", "HTTP 404"),
        ("http://10.0.0.1:8080/escape/secret", "HTTP 404"),
        ("http://10.0.0.1:9999/f", "connection refused"),
        ("https://10.0.0.1/f", "no TLS"),
    ];
    for (url, reason) in cases {
        let out = get(url, b, a, &[]);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        assert!(
            stderr(&out).to_lowercase().contains(&reason.to_lowercase()),
            "{url}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{url}");
    }
}

#[test]
fn no_peer_times_out() {
    // Nothing on the other end of the link: ARP goes unanswered.
    let (a, b) = ports();
    let started = Instant::now();
    let out = get("http://10.0.0.1:8080/f", b, a, &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lklnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
