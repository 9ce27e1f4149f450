//! `lklnet`: HTTP over Linux's own network stack running in this
//! process (the LKL paper's HTTP client), and a static HTTP server on it,
//! so that two programs talk through two Linux kernels with no host
//! server and no privileges; and a network simulator whose every node is
//! a Linux network stack.
mod aio;
mod get;
mod network;
mod serve;
mod sim;
mod url;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use network::{Network, NetworkArgs};

#[derive(Parser)]
#[command(
    name = "lklnet",
    version,
    about = "HTTP over Linux's network stack, in-process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch URL over HTTP/1.1 (http:// only) to FILE or standard output
    Get {
        url: String,
        /// Write the body here (default: standard output)
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Use ADDRESS for HOST (there is no DNS resolver yet): HOST=ADDRESS
        #[arg(long, value_parser = parse_resolve)]
        resolve: Vec<(String, IpAddr)>,
        /// Seconds to wait for the connection and for each read
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// Build the network TOPOLOGY describes in this process (each node a
    /// Linux network namespace) and run its experiments
    Sim {
        topology: PathBuf,
        /// Write the experiments' results here as JSON
        #[arg(long)]
        report: Option<PathBuf>,
        /// The clock: real, or virtual (time jumps over waits; the file's
        /// `time` key otherwise, real if it has none)
        #[arg(long, value_enum)]
        time: Option<sim::Time>,
        /// Seed the kernel's random numbers (loss, jitter, addresses): the
        /// same seed, the same run in virtual time (the file's `seed`
        /// otherwise)
        #[arg(long)]
        seed: Option<u64>,
        /// Capture every link's frames into DIR, one pcap file per link
        #[arg(long, value_name = "DIR")]
        pcap: Option<PathBuf>,
        /// Draw the topology and each experiment's results into DIR (SVG)
        #[arg(long, value_name = "DIR")]
        plots: Option<PathBuf>,
    },
    /// Serve the files under DIR over HTTP/1.1
    Serve {
        dir: PathBuf,
        /// The TCP port, on every address of the NIC
        #[arg(long, default_value_t = 80)]
        port: u16,
        /// Stop after this many requests (default: serve until killed)
        #[arg(long)]
        requests: Option<u64>,
        #[command(flatten)]
        network: NetworkArgs,
    },
}

fn parse_resolve(text: &str) -> Result<(String, IpAddr), String> {
    let (host, addr) = text
        .split_once('=')
        .ok_or_else(|| format!("{text}: not HOST=ADDRESS"))?;
    let addr = addr
        .parse()
        .map_err(|_| format!("{text}: {addr} is not an IP address"))?;
    Ok((host.to_ascii_lowercase(), addr))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Get {
            url,
            output,
            resolve,
            timeout,
            network,
        } => {
            let url = url::Url::parse(&url)?;
            let addr = url.resolve(&resolve)?;
            let net = Network::up(&network)?;
            let result = get::get(&url, addr, output.as_deref(), Duration::from_secs(timeout));
            drop(net);
            result
        }
        Command::Sim {
            topology,
            report,
            time,
            seed,
            pcap,
            plots,
        } => {
            let outputs = sim::Outputs {
                report: report.as_deref(),
                pcap: pcap.as_deref(),
                plots: plots.as_deref(),
            };
            sim::run(&topology, &outputs, &sim::Options { time, seed })
        }
        Command::Serve {
            dir,
            port,
            requests,
            network,
        } => {
            let root = dir
                .canonicalize()
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            if !root.is_dir() {
                return Err(format!("{}: not a directory", dir.display()));
            }
            let net = Network::up(&network)?;
            let result = serve::serve(&root, port, requests);
            drop(net);
            result
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lklnet: {e}");
            ExitCode::FAILURE
        }
    }
}
