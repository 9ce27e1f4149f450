//! `IMAGE:/PATH` arguments.
use std::path::PathBuf;

use crate::error::Error;

pub struct ImagePath {
    pub image: PathBuf,
    /// Absolute, inside the image's file system.
    pub path: String,
}

impl ImagePath {
    /// `IMAGE:/PATH` (`IMAGE:` alone is the root).
    pub fn parse(arg: &str) -> Result<ImagePath, Error> {
        Self::try_parse(arg).ok_or_else(|| Self::not_an_image_path(arg))
    }

    /// Some(..) if `arg` names a path in an image: the part before the
    /// last `:` followed by `/` or the end is an existing file (on
    /// Windows, not a drive letter).
    pub fn try_parse(arg: &str) -> Option<ImagePath> {
        let (image, rest) = splits(arg)
            .find(|(image, _)| std::path::Path::new(image).exists() || is_device(image))?;
        let path = if rest.is_empty() { "/" } else { rest };
        Some(ImagePath {
            image: PathBuf::from(image),
            path: path.to_string(),
        })
    }

    /// Why `arg`, which [`ImagePath::try_parse`] did not take, is no
    /// image path: its image does not exist, or it has no `IMAGE:` part.
    pub fn not_an_image_path(arg: &str) -> Error {
        match splits(arg).next() {
            Some((image, _)) => Error::Msg(format!("{image}: no such image file")),
            None => Error::Msg(format!("{arg}: expected IMAGE:/PATH")),
        }
    }

    /// Whether `arg` is written as an image path whose image is missing.
    pub fn names_missing_image(arg: &str) -> bool {
        Self::try_parse(arg).is_none() && splits(arg).next().is_some()
    }
}

/// The ways to read `arg` as `IMAGE:/PATH`, the last `:` first: a
/// non-empty part before a `:` that is followed by `/` or the end (on
/// Windows, not a drive letter: `C:/...`).
fn splits(arg: &str) -> impl Iterator<Item = (&str, &str)> {
    let colons: Vec<usize> = arg.match_indices(':').map(|(i, _)| i).collect();
    colons.into_iter().rev().filter_map(move |i| {
        let (image, rest) = (&arg[..i], &arg[i + 1..]);
        let drive = cfg!(windows) && image.len() == 1 && image.as_bytes()[0].is_ascii_alphabetic();
        (!image.is_empty() && !drive && (rest.is_empty() || rest.starts_with('/')))
            .then_some((image, rest))
    })
}

/// A Windows device path (`\\.\PhysicalDrive1`, `\\.\X:`): disks and
/// volumes, which have no file attributes to test for existence.
fn is_device(path: &str) -> bool {
    cfg!(windows) && (path.starts_with("\\\\.\\") || path.starts_with("//./"))
}
