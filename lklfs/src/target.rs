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
        Self::try_parse(arg).ok_or_else(|| Error::Msg(format!("{arg}: expected IMAGE:/PATH")))
    }

    /// Some(..) if `arg` names a path in an image: the part before the
    /// last `:` followed by `/` or the end is an existing file (on
    /// Windows, not a drive letter).
    pub fn try_parse(arg: &str) -> Option<ImagePath> {
        for (i, _) in arg.match_indices(':').collect::<Vec<_>>().into_iter().rev() {
            let (image, rest) = (&arg[..i], &arg[i + 1..]);
            if image.is_empty() || !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            if cfg!(windows) && image.len() == 1 && image.as_bytes()[0].is_ascii_alphabetic() {
                // `C:/...`: a drive letter, not an image named `C`.
                continue;
            }
            if std::path::Path::new(image).exists() || is_device(image) {
                let path = if rest.is_empty() {
                    "/".to_string()
                } else {
                    rest.to_string()
                };
                return Some(ImagePath {
                    image: PathBuf::from(image),
                    path,
                });
            }
        }
        None
    }
}

/// A Windows device path (`\\.\PhysicalDrive1`, `\\.\X:`): disks and
/// volumes, which have no file attributes to test for existence.
fn is_device(path: &str) -> bool {
    cfg!(windows) && (path.starts_with("\\\\.\\") || path.starts_with("//./"))
}
