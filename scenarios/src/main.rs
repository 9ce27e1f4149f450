//! `fsd-scenarios`: runs the scenario suite on a drive or directory
//! (Windows: through ntdll, as programs reach any drive) or on a Linux
//! image through the fsd core in-process, prints one line per scenario,
//! and exits 1 if any failed (or, with --strict, was skipped).
use std::path::PathBuf;
use std::process::ExitCode;

use fsd_scenarios::core_drive::{FsdDrive, ImageVolume};
use fsd_scenarios::{run, Report, Settings};

const USAGE: &str =
    "usage: fsd-scenarios [--only NAME] [--seed N] [--steps N] [--prefix P] [--strict] \
(DIRECTORY | --image IMAGE [-P PARTITION])
  DIRECTORY  (Windows) a drive or directory, e.g. E:\\ or E:\\tests: the suite makes its
             directories there, through ntdll as any program reaches a drive
  --image    a Linux file system image, through the fsd core in-process";

enum Target {
    Directory(String),
    Image(PathBuf, Option<u32>),
}

fn parse() -> Result<(Target, Settings, bool), String> {
    let mut settings = Settings::default();
    let (mut strict, mut image, mut partition, mut directory) = (false, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--only" => settings.only = Some(value("--only")?),
            "--prefix" => settings.prefix = value("--prefix")?,
            "--seed" => {
                settings.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--steps" => {
                settings.steps = value("--steps")?
                    .parse()
                    .map_err(|e| format!("--steps: {e}"))?
            }
            "--strict" => strict = true,
            "--image" => image = Some(PathBuf::from(value("--image")?)),
            "-P" | "--partition" => {
                partition = Some(value("-P")?.parse().map_err(|e| format!("-P: {e}"))?)
            }
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if directory.is_none() => directory = Some(other.to_string()),
            other => return Err(format!("one target only: {other}")),
        }
    }
    let target = match (image, directory) {
        (Some(image), None) => Target::Image(image, partition),
        (None, Some(dir)) if partition.is_none() => Target::Directory(dir),
        _ => return Err("give a DIRECTORY or --image IMAGE".into()),
    };
    Ok((target, settings, strict))
}

fn on_image(
    image: &std::path::Path,
    partition: Option<u32>,
    settings: &Settings,
) -> Result<Report, String> {
    let _kernel =
        lkl::Kernel::boot(&lkl::Config::default()).map_err(|e| format!("booting Linux: {e:?}"))?;
    let mounted = ImageVolume::mount(image, partition)?;
    let report = run(&FsdDrive(mounted.volume()), settings);
    mounted.finish()?;
    Ok(report)
}

#[cfg(windows)]
fn on_directory(dir: &str, settings: &Settings) -> Result<Report, String> {
    let drive = fsd_scenarios::nt_drive::NtDrive::open(dir)?;
    let mut report = run(&drive, settings);
    report.extend(fsd_scenarios::native::run(&drive, settings));
    Ok(report)
}

#[cfg(not(windows))]
fn on_directory(_dir: &str, _settings: &Settings) -> Result<Report, String> {
    Err("a DIRECTORY target is for Windows (here: --image IMAGE)".into())
}

fn main() -> ExitCode {
    let (target, settings, strict) = match parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("fsd-scenarios: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = match target {
        Target::Image(image, partition) => on_image(&image, partition, &settings),
        Target::Directory(dir) => on_directory(&dir, &settings),
    };
    match report {
        Ok(report) => {
            println!("{report}");
            let bad = !report.failed().is_empty() || (strict && !report.skipped().is_empty());
            if bad {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("fsd-scenarios: {e}");
            ExitCode::from(1)
        }
    }
}
