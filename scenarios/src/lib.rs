//! Windows programs' ways with files, as a suite of scenarios: each one
//! does what an editor, a file manager, a build or an installer does, in a
//! directory of its own, and checks every answer against what NTFS gives
//! (the same expectations on every drive). The suite runs on a [`Drive`]:
//! the fsd core in-process on a Linux image ([`core_drive`]), a real drive
//! or directory through ntdll (`nt_drive`, Windows only: our letters,
//! NTFS, a Wine drive), or the driver through its relay (the tests).
pub mod bytes;
pub mod core_drive;
pub mod drive;
pub mod files;
pub mod listing;
pub mod locks;
pub mod metadata;
pub mod names;
#[cfg(windows)]
pub mod native;
#[cfg(windows)]
pub mod nt_drive;
pub mod random;
pub mod runner;
pub mod sizes;

pub use drive::Drive;
pub use runner::{run, Outcome, Report, Settings, Skip};

/// A scenario's directory (`\name` under the suite's root), and the
/// run's settings.
pub struct Dir {
    pub name: String,
    /// The random sequence's seed and length.
    pub seed: u64,
    pub steps: u32,
}

impl Dir {
    /// `\dir\rest` (`rest` may hold more components).
    pub fn path(&self, rest: &str) -> String {
        format!("\\{}\\{rest}", self.name)
    }
}
