//! The stored forms of an array, one module each: how a [`Layout`] (and
//! user attrs) is written down next to, or in front of, the elements.
//!
//! - [`sidecar`]: a raw data file described by a small JSON file beside it.
//! - [`npy`]: numpy's `.npy` file, a header followed by the elements.
//! - [`npz`]: numpy's `.npz` archive, a ZIP file of `.npy` members; stored
//!   members are found in place, compressed ones inflated.
//! - [`zarr`]: the zarr v3 metadata (`zarr.json`) that presents a layout as
//!   a zarr array, for zarr readers of the same bytes.
//!
//! [`Layout`]: crate::Layout
//!
//! Each module parses and writes bytes; the I/O around them (finding the
//! description of a path, opening and locking files) lives in the modules
//! that open files.

pub mod npy;
pub mod npz;
pub mod sidecar;
pub mod zarr;

use std::path::Path;

/// The file format an array is stored in. New formats may be added: match
/// with a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A raw data file described by a JSON sidecar.
    Raw,
    /// A numpy `.npy` file.
    Npy,
    /// A member of a numpy `.npz` archive (`x.npz/name`), mapped in place
    /// when stored (`np.savez`), read-only.
    Npz,
}

impl Format {
    /// `"raw"`, `"npy"` or `"npz"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Npy => "npy",
            Format::Npz => "npz",
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

/// Whether `bytes` (the start of a file) begin a ZIP archive, as every
/// `.npz` file does (a local file header, or the end record of an empty
/// archive).
pub(crate) fn has_zip_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Splits `x.npz/name` into the archive's path and the member's name, by
/// name alone: the parent's name ends in `.npz` (any case). Whether the
/// archive is a file is for the caller to see (a `.npz` is a file, so a
/// path through one cannot also name something in a directory).
pub(crate) fn npz_member(path: &Path) -> Option<(&Path, &str)> {
    let parent = path.parent()?;
    let ext = parent.extension()?;
    let name = path.file_name()?.to_str()?;
    ext.eq_ignore_ascii_case("npz").then_some((parent, name))
}
