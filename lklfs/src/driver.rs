//! `attach`, `detach` and `volumes`: images served by the lklfsd driver,
//! Windows' file system driver built on the same library. On Windows
//! they talk to its control device (`\\.\LklFsd`); elsewhere they say
//! the driver is for Windows.
use std::path::Path;

use crate::error::Error;
use crate::ImageOptions;

#[cfg(not(windows))]
fn for_windows() -> Error {
    Error::Msg(
        "attach, detach and volumes use the lklfsd driver, which is for Windows; \
         on this system the other commands work on an image directly"
            .into(),
    )
}

/// A drive letter as given: `X:` or `X` (any case); the letter, upper.
pub fn letter(s: &str) -> Result<char, Error> {
    let mut chars = s.chars();
    match (chars.next(), chars.as_str()) {
        (Some(c), "" | ":") if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(Error::Msg(format!("{s}: not a drive letter (say X:)"))),
    }
}

/// What `detach` names: a drive letter or a disk's number (only Windows
/// looks inside).
#[cfg_attr(not(windows), allow(dead_code))]
pub enum Target {
    Letter(char),
    Disk(u32),
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, Error> {
        match s.parse() {
            Ok(disk) => Ok(Target::Disk(disk)),
            Err(_) => letter(s).map(Target::Letter),
        }
    }
}

#[cfg(not(windows))]
pub fn attach(_opts: &ImageOptions, _image: &Path, _letter: Option<char>) -> Result<(), Error> {
    Err(for_windows())
}

#[cfg(not(windows))]
pub fn detach(_target: &Target) -> Result<(), Error> {
    Err(for_windows())
}

#[cfg(not(windows))]
pub fn volumes(_rw: Option<&str>, _no_rw: Option<&str>) -> Result<(), Error> {
    Err(for_windows())
}

#[cfg(windows)]
use lklfsd_control::client::{status_text, Device};

#[cfg(windows)]
fn control() -> Result<Device, Error> {
    Device::control().map_err(|e| {
        Error::Msg(format!(
            "the lklfsd driver is not running (\\\\.\\LklFsd: error {e}); \
             install it and start it (sc start lklfsd)"
        ))
    })
}

/// What the driver answered, in words.
#[cfg(windows)]
fn refused(what: &str, status: i32) -> Error {
    let why = match status as u32 {
        0xC000_0034 => "no such file",
        0xC000_014F => "no file system it knows (ext2/3/4, btrfs, xfs)",
        0xC000_0022 => "access denied",
        _ => "",
    };
    Error::Msg(format!(
        "{what}: the driver answered {} {why}",
        status_text(status)
    ))
}

/// Attaches the image, mounts its file system (or partition -P N) and
/// gives it drive letter `letter` if asked: prints where it is.
#[cfg(windows)]
pub fn attach(opts: &ImageOptions, image: &Path, letter: Option<char>) -> Result<(), Error> {
    let name = image.display().to_string();
    let c = control()?;
    let disk = c.attach(&name, opts.ro).map_err(|s| refused(&name, s))?;
    match c.mount(disk, opts.partition.unwrap_or(0), opts.ro, letter) {
        Ok(m) => {
            let volume = format!("\\\\.\\LklFsdVolume{}", m.volume);
            match letter {
                Some(l) => println!("disk {disk}: {name} mounted as {l}: ({volume})"),
                None => println!("disk {disk}: {name} mounted as {volume}"),
            }
            Ok(())
        }
        Err(s) => {
            let _ = c.detach(disk);
            Err(refused(&name, s))
        }
    }
}

/// Dismounts and detaches the disk named by its letter or number.
#[cfg(windows)]
pub fn detach(target: &Target) -> Result<(), Error> {
    let c = control()?;
    let disk = match *target {
        Target::Disk(disk) => disk,
        Target::Letter(l) => c
            .list()
            .map_err(|s| refused("list", s))?
            .iter()
            .find(|i| i.letter == l as u16)
            .map(|i| i.disk)
            .ok_or_else(|| Error::Msg(format!("{l}: is not a drive of the lklfsd driver")))?,
    };
    c.detach(disk)
        .map_err(|s| refused(&format!("disk {disk}"), s))
}

/// With `rw` or `no_rw`, opts that file system in to writing or out of it
/// first. Then one line an attached image: disk, size, read-only, letter,
/// volume; and one line a file system opted in to writing.
#[cfg(windows)]
pub fn volumes(rw: Option<&str>, no_rw: Option<&str>) -> Result<(), Error> {
    use lklfsd_control::settings;
    for (uuid, writable) in [(rw, true), (no_rw, false)] {
        let Some(uuid) = uuid else { continue };
        if !settings::is_uuid(uuid) {
            return Err(Error::Msg(format!(
                "{uuid}: not a file system UUID (as blkid prints it)"
            )));
        }
        settings::set_writable(uuid, writable).map_err(|e| {
            Error::Msg(format!(
                "cannot change the driver's settings (Windows error {e}{})",
                if e == 5 { ": run as administrator" } else { "" }
            ))
        })?;
    }
    let writable = settings::writable_volumes().map_err(|e| {
        Error::Msg(format!(
            "cannot read the driver's settings (Windows error {e})"
        ))
    })?;
    for uuid in writable {
        println!("read-write {uuid}");
    }
    if rw.is_some() || no_rw.is_some() {
        return Ok(());
    }
    for image in control()?.list().map_err(|s| refused("list", s))? {
        let volume = if image.volume == u32::MAX {
            "not mounted".to_string()
        } else {
            format!("\\\\.\\LklFsdVolume{}", image.volume)
        };
        let ro = if image.flags & lklfsd_control::ATTACH_READ_ONLY != 0 {
            " read-only"
        } else {
            ""
        };
        let letter = char::from_u32(u32::from(image.letter))
            .filter(|_| image.letter != 0)
            .map_or(String::new(), |l| format!(" {l}:"));
        println!(
            "disk {} {} bytes{ro}{letter} {volume}",
            image.disk, image.size
        );
    }
    Ok(())
}
