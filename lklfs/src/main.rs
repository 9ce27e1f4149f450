//! lklfs: reads and writes Linux file system images and partitions with
//! the Linux kernel's own file system code (through the lkl library),
//! without root or kernel modules.
mod copy;
mod driver;
mod edit;
mod error;
mod fsops;
#[cfg(unix)]
mod fuse;
mod hostfs;
mod session;
mod show;
mod target;
mod timestamp;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use error::Error;
use session::{Access, Session};
use target::ImagePath;

#[derive(Parser)]
#[command(
    name = "lklfs",
    version,
    about = "Read and write Linux file system images with the Linux kernel's own drivers"
)]
struct Cli {
    #[command(flatten)]
    image: ImageOptions,
    #[command(subcommand)]
    command: Command,
}

/// How to open the image; valid before or after the command.
#[derive(Args, Clone, Debug, Default)]
pub struct ImageOptions {
    /// Partition number (1 = first), as Linux numbers them
    #[arg(short = 'P', long, global = true)]
    pub partition: Option<u32>,
    /// File system type (default: detect ext4, btrfs, xfs, vfat)
    #[arg(short = 't', long = "type", global = true)]
    pub fstype: Option<String>,
    /// Never write to the image
    #[arg(long, global = true)]
    pub ro: bool,
    /// Record every block request made to the image, with each write's
    /// data and the order they completed in, into FILE (for crash
    /// analysis with lkl_crash)
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// List a directory
    Ls {
        #[arg(short = 'l')]
        long: bool,
        #[arg(short = 'a')]
        all: bool,
        path: String,
    },
    /// Print a file
    Cat { path: String },
    /// Copy into or out of an image (one side is IMAGE:/PATH)
    Cp {
        #[arg(short = 'r')]
        recursive: bool,
        /// Keep mode, owner and times
        #[arg(short = 'p')]
        preserve: bool,
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
    },
    /// Make a directory
    Mkdir {
        #[arg(short = 'p')]
        parents: bool,
        path: String,
    },
    /// Remove a file or (with -r) a directory tree
    Rm {
        #[arg(short = 'r')]
        recursive: bool,
        path: String,
    },
    /// Rename within an image
    Mv { old: String, new: String },
    /// Make a symbolic link
    Ln {
        #[arg(short = 's', required = true)]
        symbolic: bool,
        target: String,
        path: String,
    },
    /// Show a file's status
    Stat { path: String },
    /// Show the file system's size and use
    Df { image: PathBuf },
    /// Serve the image through FUSE until unmounted
    #[cfg(unix)]
    Mount { image: PathBuf, mountpoint: PathBuf },
    /// Windows: attach the image to the lklfsd driver, mount its file
    /// system (-P N: a partition; --ro: read-only) and give it drive
    /// letter X: if one is named
    Attach {
        image: PathBuf,
        letter: Option<String>,
    },
    /// Windows: dismount and detach what `attach` made (X: or the disk's
    /// number)
    Detach { target: String },
    /// Windows: the images attached to the lklfsd driver, and the Linux
    /// file systems on this machine's disks that may be written (the
    /// others mount read-only); --rw/--no-rw UUID (as administrator) opts
    /// one in to writing or out of it
    Volumes {
        #[arg(long, value_name = "UUID")]
        rw: Option<String>,
        #[arg(long, value_name = "UUID")]
        no_rw: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    session::install_interrupt_handler();
    match run(cli) {
        Ok(()) | Err(Error::OutputClosed) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lklfs: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let opts = cli.image;
    match cli.command {
        Command::Ls { long, all, path } => {
            let p = ImagePath::parse(&path)?;
            let s = Session::open(&p.image, &opts, Access::Read)?;
            show::ls(&s, &p.path, long, all)?;
            s.close()
        }
        Command::Cat { path } => {
            let p = ImagePath::parse(&path)?;
            let s = Session::open(&p.image, &opts, Access::Read)?;
            show::cat(&s, &p.path)?;
            s.close()
        }
        Command::Stat { path } => {
            let p = ImagePath::parse(&path)?;
            let s = Session::open(&p.image, &opts, Access::Read)?;
            show::stat(&s, &p.path)?;
            s.close()
        }
        Command::Df { image } => {
            let s = Session::open(&image, &opts, Access::Read)?;
            show::df(&s, &image)?;
            s.close()
        }
        Command::Cp {
            recursive,
            preserve,
            paths,
        } => copy::run(&opts, &paths, recursive, preserve),
        Command::Mkdir { parents, path } => edit::mkdir(&opts, &ImagePath::parse(&path)?, parents),
        Command::Rm { recursive, path } => edit::rm(&opts, &ImagePath::parse(&path)?, recursive),
        Command::Mv { old, new } => {
            edit::mv(&opts, &ImagePath::parse(&old)?, &ImagePath::parse(&new)?)
        }
        Command::Ln { target, path, .. } => {
            edit::symlink(&opts, &target, &ImagePath::parse(&path)?)
        }
        #[cfg(unix)]
        Command::Mount { image, mountpoint } => fuse::mount(&opts, &image, &mountpoint),
        Command::Attach { image, letter } => {
            let letter = letter.as_deref().map(driver::letter).transpose()?;
            driver::attach(&opts, &image, letter)
        }
        Command::Detach { target } => driver::detach(&driver::Target::parse(&target)?),
        Command::Volumes { rw, no_rw } => driver::volumes(rw.as_deref(), no_rw.as_deref()),
    }
}
