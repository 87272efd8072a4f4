//! The stored forms of an array, one module each: how a [`Layout`] (and
//! user attrs) is written down next to, or in front of, the elements.
//!
//! - [`sidecar`]: a raw data file described by a small JSON file beside it.
//! - [`npy`]: numpy's `.npy` file, a header followed by the elements.
//! - [`npz`]: numpy's `.npz` archive, a ZIP file of `.npy` members; stored
//!   members are found in place, compressed ones inflated.
//!
//! [`Layout`]: crate::Layout
//!
//! Each module parses and writes bytes; the I/O around them (finding the
//! description of a path, opening and locking files) lives in the modules
//! that open files.

pub mod npy;
pub mod npz;
pub mod sidecar;

use std::path::Path;

/// The file format an array is stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// A raw data file described by a JSON sidecar.
    Raw,
    /// A numpy `.npy` file.
    Npy,
}

impl Format {
    /// `"raw"` or `"npy"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Npy => "npy",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format a new file at `path` gets by its name: `.npy` for names
/// ending in `.npy` (any case), raw + sidecar otherwise. (An existing file
/// is recognised by its content: see [`crate::inspect`].)
pub(crate) fn format_for_path(path: &Path) -> Format {
    match path.extension() {
        Some(ext) if ext.eq_ignore_ascii_case("npy") => Format::Npy,
        _ => Format::Raw,
    }
}
