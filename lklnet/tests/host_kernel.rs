//! Linux in this process against the host's own Linux, over a TAP device
//! in a network namespace the test makes (root; nothing leaves it): the
//! host's ping, curl and Python's http.server as the peers, over IPv4 and
//! IPv6, and host servers that reset or stall mid-transfer.
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{random_bytes, Namespace, LKLNET};

/// A process that said `word` on its first line of `stream` output.
fn spawn_ready(mut command: Command, stderr: bool, word: &str) -> Child {
    if stderr {
        command.stderr(Stdio::piped());
    } else {
        command.stdout(Stdio::piped());
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    if stderr {
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
    } else {
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    assert!(line.contains(word), "said: {line}");
    child
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lklnet-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    dir
}

/// A host server that sends a head promising 10 MB, 1 MB of it, then
/// resets the connection (`reset`) or goes silent (`stall`).
const BAD_SERVER: &str = r#"
import socket, struct, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.9.1.1", int(sys.argv[1])))
s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000000)
    if sys.argv[2] == "reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    else:
        time.sleep(60)
"#;

#[test]
fn linux_in_process_against_the_host_kernel() {
    let ns = Namespace::new();
    let dir = scratch();
    let body = random_bytes(8 << 20, 5);
    std::fs::write(dir.join("www/file"), &body).unwrap();
    let www = dir.join("www");

    // The host's ping and curl against `lklnet serve` on tap0.
    let mut serve = ns.command([LKLNET, "serve"]);
    serve
        .arg(&www)
        .args(["--port", "8080", "--link", "tap:tap0"]);
    serve.args(["--addr", "10.9.0.2/24", "--addr", "fd09::2/64"]);
    let _server = Killed(spawn_ready(serve, true, "serving"));
    let out = ns
        .command(["ping", "-c", "3", "-i", "0.2", "-W", "5", "10.9.0.2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ping: {}", text(&out));
    for url in ["http://10.9.0.2:8080/file", "http://[fd09::2]:8080/file"] {
        let got = dir.join("curl.out");
        let out = ns
            .command([
                "curl",
                "-sS",
                "-g",
                "--max-time",
                "60",
                "-o",
                got.to_str().unwrap(),
                url,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {url}: {}", text(&out));
        assert!(
            std::fs::read(&got).unwrap() == body,
            "curl {url}: the body differs"
        );
    }
    let out = ns
        .command([
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://10.9.0.2:8080/nothing",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");

    // `lklnet get` on tap1 against Python's http.server.
    let python = || {
        let mut c = ns.command(["python3", "-u", "-m", "http.server", "8000", "--bind", "::"]);
        c.arg("--directory").arg(&www);
        c
    };
    let _http = Killed(
        python()
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let get = |url: &str, out: &Path, timeout: &str| {
        ns.command([
            LKLNET,
            "get",
            url,
            "-o",
            out.to_str().unwrap(),
            "--link",
            "tap:tap1",
        ])
        .args([
            "--addr",
            "10.9.1.2/24",
            "--addr",
            "fd09:1::2/64",
            "--timeout",
            timeout,
        ])
        .output()
        .unwrap()
    };
    let got = dir.join("get.out");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = get("http://[fd09:1::1]:8000/file", &got, "10");
        if out.status.success() {
            break;
        }
        // Python may not listen yet: refused until it does.
        assert!(
            text(&out).contains("refused") && Instant::now() < deadline,
            "{}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        std::fs::read(&got).unwrap() == body,
        "get: the body differs"
    );
    let out = get("http://10.9.1.1:8000/file", &got, "10");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read(&got).unwrap() == body,
        "get over IPv4: the body differs"
    );

    // Host servers that reset, or stall, mid-body.
    for (port, mode, reason) in [("8001", "reset", "reset"), ("8002", "stall", "timed out")] {
        let server = ns.command(["python3", "-c", BAD_SERVER, port, mode]);
        let _bad = Killed(spawn_ready(server, false, "ready"));
        let started = Instant::now();
        let out = get(
            &format!("http://10.9.1.1:{port}/x"),
            &dir.join("bad.out"),
            "2",
        );
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert!(text(&out).contains(reason), "{mode}: {}", text(&out));
        assert!(started.elapsed() < Duration::from_secs(30), "{mode}");
    }
}
