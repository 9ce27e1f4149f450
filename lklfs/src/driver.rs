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

#[cfg(not(windows))]
pub fn attach(_opts: &ImageOptions, _image: &Path) -> Result<(), Error> {
    Err(for_windows())
}

#[cfg(not(windows))]
pub fn detach(_disk: u32) -> Result<(), Error> {
    Err(for_windows())
}

#[cfg(not(windows))]
pub fn volumes() -> Result<(), Error> {
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

/// Attaches the image and mounts its file system (or partition -P N):
/// prints the disk's number and the volume's path.
#[cfg(windows)]
pub fn attach(opts: &ImageOptions, image: &Path) -> Result<(), Error> {
    let name = image.display().to_string();
    let c = control()?;
    let disk = c.attach(&name, opts.ro).map_err(|s| refused(&name, s))?;
    match c.mount(disk, opts.partition.unwrap_or(0), opts.ro) {
        Ok(volume) => {
            println!("disk {disk}: {name} mounted as \\\\.\\LklFsdVolume{volume}");
            Ok(())
        }
        Err(s) => {
            let _ = c.detach(disk);
            Err(refused(&name, s))
        }
    }
}

/// Dismounts and detaches disk `disk`.
#[cfg(windows)]
pub fn detach(disk: u32) -> Result<(), Error> {
    control()?
        .detach(disk)
        .map_err(|s| refused(&format!("disk {disk}"), s))
}

/// One line an attached image: disk, size, read-only, volume.
#[cfg(windows)]
pub fn volumes() -> Result<(), Error> {
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
        println!("disk {} {} bytes{ro} {volume}", image.disk, image.size);
    }
    Ok(())
}
