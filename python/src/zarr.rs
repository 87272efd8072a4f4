//! What the Dask, xarray and zarr adapters (`mmarray.dask`,
//! `mmarray.xarray`, `mmarray.zarr`) take from the library: the default
//! chunking of an array and its zarr v3 metadata
//! ([`mmarray::format::zarr`]), so that the rules live in Rust once.

use std::path::PathBuf;

use mmarray::format::zarr;
use mmarray::layout::DEFAULT_CHUNK_BYTES;
use pyo3::prelude::*;

use crate::errors::IntoPy;
use crate::json_to_py;

/// The name an array at `path` gets as a variable: its file name without
/// the extension (`temps.dat` -> `temps`).
fn stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `chunk_shape(path, chunk_bytes=None)`: the shape of a chunk of whole
/// rows (C order) or columns (F order) of about `chunk_bytes` (64 MiB by
/// default) of the array at `path`.
#[pyfunction]
#[pyo3(signature = (path, chunk_bytes=None))]
pub fn chunk_shape(
    py: Python<'_>,
    path: PathBuf,
    chunk_bytes: Option<usize>,
) -> PyResult<Vec<usize>> {
    let info = py.detach(|| mmarray::inspect(&path)).py()?;
    Ok(info
        .layout()
        .chunk_shape(chunk_bytes.unwrap_or(DEFAULT_CHUNK_BYTES)))
}

/// `zarr_metadata(path, name=None, chunk_bytes=None)`: the zarr v3
/// `zarr.json` (a dict) presenting the array at `path`, chunked by whole
/// rows or columns; `name` (default: the file's stem) makes the default
/// dimension names.
#[pyfunction]
#[pyo3(signature = (path, name=None, chunk_bytes=None))]
pub fn zarr_metadata<'py>(
    py: Python<'py>,
    path: PathBuf,
    name: Option<String>,
    chunk_bytes: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let info = py.detach(|| mmarray::inspect(&path)).py()?;
    let layout = info.layout();
    let chunks = layout.chunk_shape(chunk_bytes.unwrap_or(DEFAULT_CHUNK_BYTES));
    let name = name.unwrap_or_else(|| stem(&path));
    json_to_py(
        py,
        &zarr::array_metadata(layout, info.attrs(), &chunks, &name),
    )
}

/// `zarr_group_metadata(dir)`: the zarr v3 `zarr.json` of the store at
/// `dir`, a group whose attributes are the store's attrs.
#[pyfunction]
pub fn zarr_group_metadata(py: Python<'_>, dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let store = py.detach(|| mmarray::Store::open(&dir)).py()?;
    json_to_py(py, &zarr::group_metadata(store.attrs()))
}
