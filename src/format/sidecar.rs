//! The JSON sidecar that describes a raw data file.
//!
//! A raw file, such as numpy's `ndarray.tofile()` output, holds only
//! elements. Its sidecar, stored next to it as `<data file name>.json`
//! (`train.bin` → `train.bin.json`), says how to read them:
//!
//! ```json
//! {"version": 1, "dtype": "<f4", "shape": [1000, 3], "order": "C", "offset": 0, "attrs": {}}
//! ```
//!
//! | key       | meaning                                                        | default |
//! |-----------|----------------------------------------------------------------|---------|
//! | `version` | schema version; this build reads `1`                            | required |
//! | `dtype`   | numpy type string (`<f4`, `>i8`, `\|u1`) or name (`float32`)     | required |
//! | `shape`   | extent of each axis; `[]` is a 0-d array of one element          | required |
//! | `order`   | `"C"` (row-major) or `"F"` (column-major)                        | `"C"` |
//! | `offset`  | byte offset of element 0 in the data file                       | `0` |
//! | `attrs`   | any JSON object of user metadata, kept when the sidecar is rewritten | `{}` |
//!
//! Keys not in this table are an error naming the key, so a typo such as
//! `"shap"` never passes silently. Sidecars are written atomically (temporary
//! file, fsync, rename, fsync of the directory) and always with a type
//! string, never a name.
//!
//! Parsing is bounded: a sidecar over [`MAX_SIDECAR_BYTES`] is refused before
//! it is read. [`parse`] validates sidecar JSON held in memory. This module
//! owns the format and works on bytes: it never opens, reads, writes or
//! maps a file (reading and writing sidecars is `source`'s; describing an
//! existing raw file is [`describe`](crate::describe)).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{Layout, Order};

/// The sidecar schema version this build reads and writes.
pub const SIDECAR_VERSION: u64 = 1;

/// The largest sidecar read: 16 MiB, room for generous `attrs`.
pub const MAX_SIDECAR_BYTES: u64 = 16 << 20;

/// User metadata stored in a sidecar's `attrs`.
pub type Attrs = Map<String, Value>;

/// The sidecar path for a data file: the file name with `.json` appended.
///
/// ```
/// use std::path::Path;
/// assert_eq!(mmarray::sidecar_path(Path::new("data/train.bin")), Path::new("data/train.bin.json"));
/// ```
pub fn sidecar_path(data_path: &Path) -> PathBuf {
    let mut name: OsString = data_path.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// The data path for a sidecar path ending in `.json`, if it does.
pub(crate) fn data_path_for(sidecar: &Path) -> Option<PathBuf> {
    let name = sidecar.file_name()?.to_str()?;
    let stem = name.strip_suffix(".json").filter(|s| !s.is_empty())?;
    Some(sidecar.with_file_name(stem))
}

/// Parses and validates sidecar JSON, as opening a raw file does, without
/// touching the file system. `path` is only used to name the sidecar in
/// errors.
///
/// Useful to check a sidecar written by another program (or about to be
/// written) before any data file exists. The layout is validated on its own
/// (dtype, at most [`MAX_DIMS`](crate::layout::MAX_DIMS) dimensions, sizes
/// that fit in memory); whether a data file is long enough for it is checked
/// when the file is opened.
///
/// ```
/// use std::path::Path;
/// use mmarray::{Error, Order};
///
/// let json = br#"{"version": 1, "dtype": "<f4", "shape": [1000, 3], "order": "F", "attrs": {"units": "K"}}"#;
/// let sidecar = mmarray::sidecar::parse(Path::new("temps.dat.json"), json)?;
/// assert_eq!(sidecar.layout.shape(), &[1000, 3]);
/// assert_eq!(sidecar.layout.order(), Order::F);
/// assert_eq!(sidecar.layout.end(), 12_000);
/// assert_eq!(sidecar.attrs["units"], "K");
///
/// let typo = br#"{"version": 1, "dtype": "<f4", "shap": [3]}"#;
/// let err = mmarray::sidecar::parse(Path::new("temps.dat.json"), typo).unwrap_err();
/// assert!(matches!(err, Error::MalformedSidecar { .. }));
/// # Ok::<(), mmarray::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::MalformedSidecar`] for input over [`MAX_SIDECAR_BYTES`], JSON
/// that is not a sidecar object (wrong or missing field, unknown key) or an
/// order other than `"C"` / `"F"`; [`Error::UnsupportedVersion`];
/// [`Error::UnknownDtype`]; [`Error::TooManyDimensions`] and
/// [`Error::ShapeOverflow`] for a shape that cannot be mapped.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Sidecar> {
    let malformed = |message: String| Error::MalformedSidecar {
        path: path.to_path_buf(),
        message,
    };
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(malformed(format!(
            "{} bytes is larger than the {MAX_SIDECAR_BYTES}-byte limit for a sidecar",
            bytes.len()
        )));
    }
    let raw: RawSidecar = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if raw.version != SIDECAR_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: raw.version,
            supported: SIDECAR_VERSION,
        });
    }
    let dtype: DType = raw.dtype.parse().map_err(|_| Error::UnknownDtype {
        path: path.to_path_buf(),
        dtype: raw.dtype.clone(),
    })?;
    let order = match raw.order.as_deref() {
        None => Order::C,
        Some(s) => s.parse().map_err(malformed)?,
    };
    let layout = Layout::new(path, dtype, &raw.shape, order, raw.offset)?;
    Ok(Sidecar {
        layout,
        attrs: raw.attrs,
    })
}

/// A parsed and validated sidecar, as [`parse`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sidecar {
    /// Where the elements are.
    pub layout: Layout,
    /// User metadata.
    pub attrs: Attrs,
}

/// The sidecar as it appears in JSON, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSidecar {
    version: u64,
    dtype: String,
    shape: Vec<u64>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    attrs: Attrs,
}

#[derive(Serialize)]
struct SidecarOut<'a> {
    version: u64,
    dtype: String,
    shape: &'a [usize],
    order: &'static str,
    offset: u64,
    attrs: &'a Attrs,
}

impl Sidecar {
    /// The sidecar as one line of JSON (with `", "` and `": "` separators, as
    /// Python's `json.dumps` writes) and a final newline.
    pub(crate) fn to_json(layout: &Layout, attrs: &Attrs) -> String {
        let out = SidecarOut {
            version: SIDECAR_VERSION,
            dtype: layout.dtype().to_string(),
            shape: layout.shape(),
            order: layout.order().as_str(),
            offset: layout.offset(),
            attrs,
        };
        let mut buf = Vec::with_capacity(128);
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, SpacedFormatter);
        // Serialising strings, integers and a JSON map into a Vec cannot fail.
        if out.serialize(&mut ser).is_err() {
            unreachable!("serialising a sidecar into memory cannot fail");
        }
        buf.push(b'\n');
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// serde_json's compact output with a space after `,` and `:`.
struct SpacedFormatter;

impl serde_json::ser::Formatter for SpacedFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Sidecar> {
        super::parse(Path::new("x.dat.json"), json.as_bytes())
    }

    #[test]
    fn defaults_and_names() {
        let s = parse(r#"{"version": 1, "dtype": "float32", "shape": [2, 3]}"#).unwrap();
        assert_eq!(s.layout.order(), Order::C);
        assert_eq!(s.layout.offset(), 0);
        assert!(s.attrs.is_empty());
        assert_eq!(s.layout.dtype().to_string(), "<f4");
    }

    #[test]
    fn writes_the_documented_form() {
        let s = parse(
            r#"{"version":1,"dtype":"<f4","shape":[1000,3],"order":"C","offset":0,"attrs":{}}"#,
        )
        .unwrap();
        assert_eq!(
            Sidecar::to_json(&s.layout, &s.attrs),
            "{\"version\": 1, \"dtype\": \"<f4\", \"shape\": [1000, 3], \"order\": \"C\", \"offset\": 0, \"attrs\": {}}\n"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(r#"{"version": 1, "dtype": "<f4", "shap": [2]}"#).unwrap_err();
        assert!(matches!(err, Error::MalformedSidecar { .. }));
        assert!(err.to_string().contains("shap"), "{err}");
    }

    #[test]
    fn data_path_of_sidecar() {
        assert_eq!(
            data_path_for(Path::new("a/b.dat.json")),
            Some(PathBuf::from("a/b.dat"))
        );
        assert_eq!(data_path_for(Path::new("a/b.dat")), None);
        assert_eq!(data_path_for(Path::new(".json")), None);
    }
}
