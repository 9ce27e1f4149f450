//! Errors, as the user reads them.
use std::fmt;

use lkl::Errno;

pub enum Error {
    /// A system call on `what` failed.
    Sys { what: String, errno: Errno },
    /// Anything else, already in words.
    Msg(String),
    /// Stopped by Ctrl-C.
    Interrupted,
    /// Standard output's reader went away (`lklfs cat ... | head`): the
    /// command stops, quietly.
    OutputClosed,
}

impl Error {
    pub fn sys(what: impl Into<String>, errno: Errno) -> Error {
        Error::Sys {
            what: what.into(),
            errno,
        }
    }

    /// Names a path under `root` (an image's mount point in the kernel's
    /// tree) as the user wrote it: relative to the image's root.
    /// A failed write to standard output.
    pub fn output(e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::OutputClosed
        } else {
            Error::Msg(format!("writing: {e}"))
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted => 130,
            _ => 1,
        }
    }
}

/// The message of a Linux error number (glibc's words, the same on every
/// host), with what file systems mean by the errnos they borrow.
pub fn describe(errno: Errno) -> String {
    let meaning = match errno {
        Errno::EBADMSG => " (file system metadata fails its checksum: the image is damaged)",
        Errno::EUCLEAN => " (the file system is damaged: its checker can repair it)",
        Errno::ENOKEY => " (the directory is encrypted)",
        _ => "",
    };
    match errno.message() {
        Some(text) => format!("{text}{meaning}"),
        None => format!("error {}", errno.0),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { what, errno } => write!(f, "{what}: {}", describe(*errno)),
            Error::Msg(m) => f.write_str(m),
            Error::Interrupted => f.write_str("interrupted"),
            Error::OutputClosed => f.write_str("standard output closed"),
        }
    }
}

/// Attaches the path a failed call was about.
pub trait Context<T> {
    fn at(self, what: &str) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, Errno> {
    fn at(self, what: &str) -> Result<T, Error> {
        self.map_err(|e| Error::sys(what, e))
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn at(self, what: &str) -> Result<T, Error> {
        self.map_err(|e| {
            Error::Msg(format!(
                "{what}: {}",
                e.to_string().split(" (os error").next().unwrap_or("")
            ))
        })
    }
}
