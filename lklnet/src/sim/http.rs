//! The http experiment: `lklnet get` fetches a body of a given size from
//! `lklnet serve` on another node, the two run by the simulator's engine
//! as the commands run them (async on the kernel's non-blocking sockets);
//! the time to the first byte, the whole fetch and its rate.
use std::fs::File;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use lkl::sys::PollFd;
use serde::Serialize;

use super::engine::{Activity, Running};
use super::experiment::Report;
use super::nodes::Nodes;
use crate::aio::{self, Waits};
use crate::get::{self, Fetched};
use crate::serve;
use crate::url::Url;

/// How long the client waits for the connection and for each read.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Serialize, Debug, Clone)]
pub struct HttpReport {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    /// Body bytes received.
    pub bytes: u64,
    pub time_to_first_byte_ms: Option<f64>,
    /// From the start to the body's last byte.
    pub seconds: f64,
    pub mbit_per_s: f64,
    /// Why the fetch failed, as `lklnet get` says it, if it did.
    pub error: Option<String>,
}

type Task<T> = Pin<Box<dyn Future<Output = T>>>;

/// A new directory of the temporary directory's, made here and so ours
/// alone (on Unix, readable by no one else): what another user put in the
/// temporary directory under a name of ours is never written through.
fn private_dir() -> std::io::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    for n in 0u32.. {
        let dir = std::env::temp_dir().join(format!("lklnet-sim-http-{}-{n}", std::process::id()));
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 ran out of directory names")
}

pub struct Http<'a> {
    nodes: &'a Nodes,
    from: String,
    to: SocketAddr,
    client: Option<Task<Result<Fetched, String>>>,
    server: Option<Task<Result<(), String>>>,
    fetched: Option<Result<Fetched, String>>,
    waits: [Waits; 2],
    /// The directory served, with the body in it; removed at the end.
    dir: PathBuf,
}

impl<'a> Http<'a> {
    /// Serves a body of `size` bytes from `to_node` and starts fetching it
    /// from `from`.
    pub fn start(
        nodes: &'a Nodes,
        from: &str,
        to: SocketAddr,
        to_node: &str,
        size: u64,
    ) -> Result<Http<'a>, String> {
        let failed = |e: String| format!("http from {from} to {to}: {e}");
        let dir = private_dir().map_err(|e| failed(format!("a directory to serve: {e}")))?;
        let body = dir.join("body");
        File::create(&body)
            .and_then(|f| f.set_len(size))
            .map_err(|e| failed(format!("{}: {e}", body.display())))?;
        let root = dir
            .canonicalize()
            .map_err(|e| failed(format!("{}: {e}", dir.display())))?;
        let listener = nodes
            .listen(to_node, to)
            .map_err(|e| failed(e.to_string()))?;
        let server: Task<Result<(), String>> =
            Box::pin(async move { serve::run(&listener, &root, Some(1), false).await });
        let url = Url::parse(&format!("http://{to}/body")).map_err(&failed)?;
        let client: Task<Result<Fetched, String>> =
            Box::pin(
                async move { get::fetch(&url, to, &mut std::io::sink(), TIMEOUT, false).await },
            );
        Ok(Http {
            nodes,
            from: from.to_string(),
            to,
            client: Some(client),
            server: Some(server),
            fetched: None,
            waits: [Waits::default(), Waits::default()],
            dir,
        })
    }
}

impl Activity for Http<'_> {
    fn watch(&self, fds: &mut Vec<PollFd>) {
        for w in &self.waits {
            fds.extend_from_slice(&w.fds);
        }
    }

    fn deadline(&self) -> Option<f64> {
        self.waits
            .iter()
            .filter_map(|w| w.deadline)
            .reduce(f64::min)
    }

    fn step(&mut self, _now: f64) -> Result<bool, String> {
        if let Some(server) = self.server.as_mut() {
            let (result, waits) = aio::poll_once(server.as_mut());
            self.waits[0] = waits;
            if let Poll::Ready(r) = result {
                self.server = None;
                if let Err(e) = r {
                    self.fetched.get_or_insert(Err(format!("the server: {e}")));
                }
            }
        }
        if let Some(client) = self.client.as_mut() {
            // The client's sockets are made in its node's namespace.
            let (result, waits) = self
                .nodes
                .namespace(&self.from)
                .run(|| aio::poll_once(client.as_mut()))
                .map_err(|e| format!("http from {}: {e}", self.from))?;
            self.waits[1] = waits;
            if let Poll::Ready(r) = result {
                self.client = None;
                self.fetched.get_or_insert(r);
            }
        }
        // Done when the client is; the server then has seen it close.
        Ok(self.client.is_none()
            && (self.server.is_none() || self.fetched.as_ref().is_some_and(|f| f.is_err())))
    }
}

impl Running for Http<'_> {
    fn report(self: Box<Self>) -> Report {
        let _ = std::fs::remove_dir_all(&self.dir);
        let (fetched, error) = match self.fetched {
            Some(Ok(f)) => (Some(f), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, Some("not finished".into())),
        };
        let bytes = fetched.as_ref().map_or(0, |f| f.bytes);
        let seconds = fetched.as_ref().map_or(0.0, |f| f.seconds);
        Report::Http(HttpReport {
            kind: "http",
            from: self.from,
            to: self.to.to_string(),
            bytes,
            time_to_first_byte_ms: fetched.as_ref().and_then(|f| f.first_byte).map(|t| t * 1e3),
            seconds,
            mbit_per_s: bytes as f64 * 8.0 / seconds.max(1e-9) / 1e6,
            error,
        })
    }
}
