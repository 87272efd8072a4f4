//! zarr v3 metadata for a [`Layout`]: the `zarr.json` that makes the bytes
//! of an mmarray array readable as a zarr array, with no copy.
//!
//! A zarr v3 array is a JSON document (`zarr.json`) plus chunk files, each
//! chunk stored as its elements' bytes (the `bytes` codec, in a stated byte
//! order). An mmarray array whose chunks are whole rows (C order) or whole
//! columns (F order) has every chunk as one contiguous byte range of its
//! data file (see [`Layout::chunk_shape`]), so a zarr reader can be handed
//! those ranges as they are:
//!
//! - C order: chunk bytes are the chunk's elements in C order, what zarr's
//!   `bytes` codec expects;
//! - F order: zarr's `transpose` codec with the axes reversed, before the
//!   `bytes` codec, makes zarr read a chunk's bytes in F order;
//! - the sidecar's attrs become the zarr array's `attributes`, except the
//!   key `"dims"` (a list of one string per axis), which becomes its
//!   `dimension_names` (as xarray's own zarr convention keeps dimension
//!   names out of the attributes); without it the names are
//!   `<name>_dim_0`, `<name>_dim_1`, ... ([`dimension_names`]).
//!
//! This module only builds the JSON; serving chunks (the Python package's
//! `mmarray.zarr.Store`) and exporting a directory (`mmarray zarr`) are
//! done by their callers. zarr stores the last chunk of an axis at full
//! chunk size (padded with the fill value): a reader of a file whose length
//! along the chunked axis is not a multiple of the chunk extent needs that
//! one chunk padded.
//!
//! ```
//! use mmarray::{CreateOptions, Order};
//! use mmarray::format::zarr;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("t.dat");
//! let mut attrs = mmarray::Attrs::new();
//! attrs.insert("dims".into(), serde_json::json!(["time", "x"]));
//! attrs.insert("units".into(), "K".into());
//! // SAFETY: the example's own file; nothing else changes it while mapped.
//! let a = unsafe { CreateOptions::new().order(Order::F).attrs(attrs).create::<f32>(&path, &[4, 3]) }?;
//! let meta = zarr::array_metadata(a.layout(), a.attrs(), &[4, 3], "t");
//! assert_eq!(meta["data_type"], "float32");
//! assert_eq!(meta["dimension_names"], serde_json::json!(["time", "x"]));
//! assert_eq!(meta["attributes"], serde_json::json!({"units": "K"}));
//! assert_eq!(meta["codecs"][0]["name"], "transpose");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde_json::{Value, json};

use crate::dtype::{ByteOrder, ElementType};
use crate::layout::{Layout, Order};
use crate::sidecar::Attrs;

/// The attrs key whose value, a list of one string per axis, names the
/// dimensions.
pub const DIMS_KEY: &str = "dims";

/// zarr v3's name for an element type (`"float32"`, `"complex64"`,
/// `"bool"`): numpy's name, which zarr v3 adopted for these types.
pub fn data_type(element: ElementType) -> &'static str {
    element.name()
}

/// The dimension names of an array called `name` with `ndim` axes: the
/// attrs' `"dims"` when it is a list of `ndim` strings, otherwise
/// `<name>_dim_0`, `<name>_dim_1`, ...
///
/// ```
/// use mmarray::format::zarr::dimension_names;
/// let mut attrs = mmarray::Attrs::new();
/// assert_eq!(dimension_names(&attrs, 2, "t"), ["t_dim_0", "t_dim_1"]);
/// attrs.insert("dims".into(), serde_json::json!(["lat", "lon"]));
/// assert_eq!(dimension_names(&attrs, 2, "t"), ["lat", "lon"]);
/// // One name per axis or none: a wrong count falls back.
/// assert_eq!(dimension_names(&attrs, 3, "t"), ["t_dim_0", "t_dim_1", "t_dim_2"]);
/// ```
pub fn dimension_names(attrs: &Attrs, ndim: usize, name: &str) -> Vec<String> {
    given_dims(attrs, ndim)
        .unwrap_or_else(|| (0..ndim).map(|i| format!("{name}_dim_{i}")).collect())
}

/// The attrs' `"dims"`, if it is a list of `ndim` strings.
fn given_dims(attrs: &Attrs, ndim: usize) -> Option<Vec<String>> {
    let dims = attrs.get(DIMS_KEY)?.as_array()?;
    let dims: Vec<String> = dims
        .iter()
        .map(|d| d.as_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    (dims.len() == ndim).then_some(dims)
}

/// The attrs as zarr attributes: all but a `"dims"` that names every axis
/// (which is the array's `dimension_names` instead).
pub fn attributes(attrs: &Attrs, ndim: usize) -> Attrs {
    let mut out = attrs.clone();
    if given_dims(attrs, ndim).is_some() {
        out.remove(DIMS_KEY);
    }
    out
}

/// The key of chunk `index` with zarr v3's default chunk key encoding:
/// `c/0/1` (`c` for a 0-d array).
pub fn chunk_key(index: &[usize]) -> String {
    let mut key = String::from("c");
    for i in index {
        key.push('/');
        key.push_str(&i.to_string());
    }
    key
}

/// `zarr.json` of a zarr v3 array over `layout`'s bytes, chunked by
/// `chunk_shape` (whole rows or columns: see [`Layout::chunk_shape`]),
/// with `attrs` as attributes and dimension names as in
/// [`dimension_names`] for an array called `name`.
pub fn array_metadata(layout: &Layout, attrs: &Attrs, chunk_shape: &[usize], name: &str) -> Value {
    let dtype = layout.dtype();
    let element = dtype.element_type();
    let ndim = layout.ndim();
    let mut codecs = Vec::new();
    if layout.order() == Order::F && ndim > 1 {
        let reversed: Vec<usize> = (0..ndim).rev().collect();
        codecs.push(json!({"name": "transpose", "configuration": {"order": reversed}}));
    }
    codecs.push(match element.size() {
        1 => json!({"name": "bytes"}),
        _ => {
            let endian = match dtype.byte_order() {
                ByteOrder::Little => "little",
                ByteOrder::Big => "big",
            };
            json!({"name": "bytes", "configuration": {"endian": endian}})
        }
    });
    let fill_value = match element.kind() {
        'b' => json!(false),
        'f' => json!(0.0),
        'c' => json!([0.0, 0.0]),
        _ => json!(0),
    };
    json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": layout.shape(),
        "data_type": data_type(element),
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk_shape}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill_value,
        "codecs": codecs,
        "attributes": attributes(attrs, ndim),
        "dimension_names": dimension_names(attrs, ndim, name),
    })
}

/// `zarr.json` of a zarr v3 group with `attrs` as attributes (a store
/// directory).
pub fn group_metadata(attrs: &Attrs) -> Value {
    json!({"zarr_format": 3, "node_type": "group", "attributes": attrs})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys() {
        assert_eq!(chunk_key(&[]), "c");
        assert_eq!(chunk_key(&[0, 12, 3]), "c/0/12/3");
    }

    #[test]
    fn dims_leave_the_attributes_only_when_they_name_every_axis() {
        let mut attrs = Attrs::new();
        attrs.insert("dims".into(), json!(["a", "b"]));
        attrs.insert("k".into(), json!(1));
        assert_eq!(
            attributes(&attrs, 2),
            json!({"k": 1}).as_object().unwrap().clone()
        );
        assert_eq!(
            attributes(&attrs, 3),
            attrs,
            "wrong count: kept as an attribute"
        );
        attrs.insert("dims".into(), json!([1, 2]));
        assert_eq!(attributes(&attrs, 2), attrs, "not strings: kept");
    }
}
