//! Runs the scenarios one by one, each in a fresh directory of its own,
//! and reports each as passed, skipped (the volume says it lacks what the
//! scenario needs, or the drive cannot do it) or failed (with the first
//! answer that differed from NTFS's).
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use fsd::create::{FILE_CREATE, FILE_DIRECTORY_FILE};
use fsd::{access, volinfo};

use crate::bytes::u32_at;
use crate::{files, listing, locks, metadata, names, random, sizes, Dir, Drive};

/// Why a scenario did not run.
#[derive(Debug)]
pub struct Skip(pub String);

pub type Outcome = Result<(), Skip>;

/// A scenario: what it does to a drive in its directory.
pub type Scenario<D> = fn(&D, &Dir) -> Outcome;

/// What to run and how.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Run only the scenarios whose names contain this.
    pub only: Option<String>,
    /// Directories are named `{prefix}{scenario}`.
    pub prefix: String,
    pub seed: u64,
    pub steps: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            only: None,
            prefix: String::new(),
            seed: 1,
            steps: 2000,
        }
    }
}

/// How one scenario went.
#[derive(Debug)]
pub enum Verdict {
    Passed,
    Skipped(String),
    Failed(String),
}

/// Every scenario's name and result, in the order run.
#[derive(Debug, Default)]
pub struct Report {
    pub results: Vec<(String, Verdict)>,
}

impl Report {
    pub fn failed(&self) -> Vec<&str> {
        self.with(|r| matches!(r, Verdict::Failed(_)))
    }

    pub fn skipped(&self) -> Vec<&str> {
        self.with(|r| matches!(r, Verdict::Skipped(_)))
    }

    pub fn passed(&self) -> Vec<&str> {
        self.with(|r| matches!(r, Verdict::Passed))
    }

    fn with(&self, keep: impl Fn(&Verdict) -> bool) -> Vec<&str> {
        let matching = self.results.iter().filter(|(_, r)| keep(r));
        matching.map(|(n, _)| n.as_str()).collect()
    }

    /// Adds the results of another run (the Windows-only scenarios).
    pub fn extend(&mut self, other: Report) {
        self.results.extend(other.results);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, result) in &self.results {
            match result {
                Verdict::Passed => writeln!(f, "pass {name}")?,
                Verdict::Skipped(why) => writeln!(f, "skip {name}: {why}")?,
                Verdict::Failed(why) => writeln!(f, "FAIL {name}: {why}")?,
            }
        }
        write!(
            f,
            "{} passed, {} skipped, {} failed",
            self.passed().len(),
            self.skipped().len(),
            self.failed().len()
        )
    }
}

/// The scenarios every drive runs, in order.
pub fn scenarios<D: Drive>() -> Vec<(&'static str, Scenario<D>)> {
    vec![
        ("dispositions", files::dispositions::<D>),
        ("editor_saves", files::editor_saves::<D>),
        ("sharing", files::sharing::<D>),
        ("delete_on_close", files::delete_on_close::<D>),
        ("posix_delete", files::posix_delete::<D>),
        ("replace_by_rename", names::replace_by_rename::<D>),
        ("renames", names::renames::<D>),
        ("hard_links", names::hard_links::<D>),
        ("symlinks", names::symlinks::<D>),
        ("listing", listing::listing::<D>),
        ("record_locking", locks::record_locking::<D>),
        ("eas", metadata::eas::<D>),
        ("security", metadata::security::<D>),
        ("volume", metadata::volume::<D>),
        ("sparse_and_large", sizes::sparse_and_large::<D>),
        ("cached_and_noncached", sizes::cached_and_noncached::<D>),
        ("random_sequence", random::random_sequence::<D>),
    ]
}

/// Runs `list` on `d` as `settings` say.
pub fn run_list<D: Drive>(
    d: &D,
    list: &[(&'static str, Scenario<D>)],
    settings: &Settings,
) -> Report {
    let mut report = Report::default();
    for (name, scenario) in list {
        if settings.only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let dir = Dir {
            name: format!("{}{name}", settings.prefix),
            seed: settings.seed,
            steps: settings.steps,
        };
        let result = match make_dir(d, &dir.name) {
            Err(e) => Verdict::Failed(e),
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| scenario(d, &dir))) {
                Ok(Ok(())) => Verdict::Passed,
                Ok(Err(Skip(why))) => Verdict::Skipped(why),
                Err(panic) => Verdict::Failed(panic_text(panic.as_ref())),
            },
        };
        report.results.push((name.to_string(), result));
    }
    report
}

/// Runs every scenario on `d`.
pub fn run<D: Drive>(d: &D, settings: &Settings) -> Report {
    run_list(d, &scenarios::<D>(), settings)
}

fn make_dir<D: Drive>(d: &D, name: &str) -> Result<(), String> {
    let share = access::FILE_SHARE_READ | access::FILE_SHARE_WRITE | access::FILE_SHARE_DELETE;
    let made = d.create(
        &format!("\\{name}"),
        FILE_CREATE,
        FILE_DIRECTORY_FILE,
        access::FILE_LIST_DIRECTORY,
        share,
    );
    match made {
        Ok((h, _)) => {
            d.close(h);
            Ok(())
        }
        Err(e) => Err(format!(
            "making its directory \\{name}: {e:?} (run in an empty directory)"
        )),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panicked".to_string()
    }
}

/// The volume's FILE_FS_ATTRIBUTE_INFORMATION flags.
pub fn volume_flags<D: Drive>(d: &D) -> u32 {
    let mut attr = [0u8; 64];
    let c = d.query_volume_information(volinfo::FILE_FS_ATTRIBUTE_INFORMATION, &mut attr);
    assert!(!c.status.is_error(), "FileFsAttributeInformation: {c:?}");
    u32_at(&attr, 0)
}

/// Skips unless the volume says it has `flag` (a FILE_* volume flag).
pub fn needs<D: Drive>(d: &D, flag: u32, what: &str) -> Outcome {
    if volume_flags(d) & flag == 0 {
        Err(Skip(format!("the volume has no {what}")))
    } else {
        Ok(())
    }
}
