//! `mmarray.Store` and `mmarray.Sharded`: a directory of named arrays, and
//! arrays read as one along axis 0.

use std::path::PathBuf;
use std::sync::Mutex;

use mmarray::{ElementType, ShardedArray, Store as RustStore, dispatch_type};
use numpy::PyArray;
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPy;
use crate::handle::Array;

/// A directory of named arrays (`mmarray-store.json` marks it).
///
/// numpy: a folder of `.npy` files: `store[name]` is
/// `np.load(os.path.join(dir, name + ".npy"), mmap_mode="r")`,
/// `store.create_array(name, shape, dtype)` is
/// `np.lib.format.open_memmap(path, "w+", dtype, shape)`,
/// `store.remove(name)` is `os.remove(path)`.
#[pyclass(module = "mmarray", name = "Store", frozen)]
pub struct Store {
    store: Mutex<RustStore>,
}

impl Store {
    /// `f` on the store, with the GIL released (for the wait for the lock
    /// too, so that the lock is never held while the GIL is taken).
    fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut RustStore) -> R + Send) -> R {
        py.detach(|| f(&mut self.store.lock().unwrap_or_else(|e| e.into_inner())))
    }

    /// The data file of array `name` (the library finds it, without
    /// mapping it; errors as its `open_array`: not found, invalid name).
    fn path_of(&self, py: Python<'_>, name: &str) -> PyResult<PathBuf> {
        self.with(py, |s| {
            let path = s.path().join(name);
            RustStore::resolve(&path).map(|found| found.unwrap_or(path))
        })
        .py()
    }
}

#[pymethods]
impl Store {
    /// Opens the store at `dir`; with `create=True`, makes a new one
    /// (`AlreadyExists` if one is there).
    #[new]
    #[pyo3(signature = (dir, create=false))]
    fn new(py: Python<'_>, dir: PathBuf, create: bool) -> PyResult<Store> {
        let store = py
            .detach(|| match create {
                true => RustStore::create(&dir),
                false => RustStore::open(&dir),
            })
            .py()?;
        Ok(Store {
            store: Mutex::new(store),
        })
    }

    /// The store's directory.
    #[getter]
    fn path(&self, py: Python<'_>) -> String {
        self.with(py, |s| s.path().to_string_lossy().into_owned())
    }

    /// The arrays, sorted by name: a dict each with `name`, `dtype` (a
    /// numpy type string), `shape` (a list) and `nbytes`; for an array
    /// whose sidecar or header is broken, `name` and `error` (the message
    /// opening it would raise), so that one broken array hides no other.
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        let entries = self.with(py, |s| s.list()).py()?;
        entries
            .iter()
            .map(|e| {
                let d = pyo3::types::PyDict::new(py);
                d.set_item("name", e.name())?;
                match e.layout() {
                    Ok(layout) => {
                        d.set_item("dtype", layout.dtype().to_string())?;
                        d.set_item("shape", layout.shape().to_vec())?;
                        d.set_item("nbytes", layout.nbytes())?;
                    }
                    Err(error) => d.set_item(
                        "error",
                        crate::errors::pythonic(error.to_string(), error.path()),
                    )?,
                }
                Ok(d)
            })
            .collect()
    }

    fn __contains__(&self, py: Python<'_>, name: &str) -> bool {
        self.with(py, |s| s.contains(name))
    }

    /// `store[name]`: the array opened read-only; `KeyError` when the
    /// store has no array `name` (as a dict).
    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Array> {
        if !self.with(py, |s| s.contains(name)) {
            return Err(pyo3::exceptions::PyKeyError::new_err(name.to_owned()));
        }
        self.open(py, name, "r")
    }

    /// Opens array `name` in `mode` ("r", "r+" or "c").
    #[pyo3(signature = (name, mode="r"))]
    fn open(&self, py: Python<'_>, name: &str, mode: &str) -> PyResult<Array> {
        crate::open(py, self.path_of(py, name)?, mode)
    }

    /// A new zero-filled array `name`, open "r+".
    #[pyo3(signature = (name, shape, dtype, order="C", attrs=None, overwrite=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_array(
        &self,
        py: Python<'_>,
        name: &str,
        shape: Bound<'_, PyAny>,
        dtype: Bound<'_, PyAny>,
        order: &str,
        attrs: Option<Bound<'_, PyAny>>,
        overwrite: bool,
    ) -> PyResult<Array> {
        let dir = PathBuf::from(self.path(py));
        let shape = crate::shape_of(&shape, &dir.join(name))?;
        let dtype = crate::dtype_of(&dtype, &dir)?;
        let mut options = crate::options(order, attrs.as_ref(), overwrite, &dir.join(name), false)?;
        options.byte_order(dtype.byte_order());
        let path = self
            .with(py, |s| {
                // SAFETY: the new array is closed again at once, before
                // anything reads it.
                dispatch_type!(dtype.element_type(), |T| unsafe {
                    s.create_array_with::<T>(name, &shape, &options)
                }
                .map(|a| a.path().to_path_buf()))
            })
            .py()?;
        // SAFETY: as in `crate::open` ("r+": several writers, as numpy's).
        let mapped = unsafe { crate::open_writable(&path) }.py()?;
        Ok(Array::new(mapped, "r+"))
    }

    /// Removes array `name` (`Busy` while it is mapped).
    fn remove(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.with(py, |s| s.remove(name)).py()
    }

    /// Renames array `old` to `new`.
    fn rename(&self, py: Python<'_>, old: &str, new: &str) -> PyResult<()> {
        self.with(py, |s| s.rename(old, new)).py()
    }

    /// The store's attrs, a dict.
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let attrs = self.with(py, |s| serde_json::Value::Object(s.attrs().clone()));
        crate::json_to_py(py, &attrs)
    }

    /// Replaces the store's attrs (rewrites its marker file atomically).
    #[setter]
    fn set_attrs(&self, py: Python<'_>, attrs: Bound<'_, PyAny>) -> PyResult<()> {
        let marker = PathBuf::from(self.path(py)).join("mmarray-store.json");
        let attrs = crate::attrs_from_py(Some(&attrs), &marker)?;
        self.with(py, |s| s.set_attrs(attrs)).py()
    }

    /// The arrays whose names start with `prefix`, in name order, read as
    /// one along axis 0.
    fn sharded(&self, py: Python<'_>, prefix: &str) -> PyResult<Sharded> {
        self.with(py, |s| {
            let element = match s.list()?.into_iter().find(|e| e.name().starts_with(prefix)) {
                // A broken first shard: its error.
                Some(e) => e.into_info()?.layout().dtype().element_type(),
                None => ElementType::U8,
            };
            DynSharded::open(s, element, prefix)
        })
        .py()
        .map(|inner| Sharded { inner })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<mmarray.Store {:?}>", self.path(py))
    }
}

macro_rules! define_dyn_sharded {
    (() $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        /// A [`ShardedArray`] of whichever element type the shards hold.
        enum DynSharded {
            $($variant(ShardedArray<$ty>),)*
        }

        impl DynSharded {
            fn open(store: &RustStore, element: ElementType, prefix: &str) -> mmarray::Result<Self> {
                // SAFETY: the shards' mappings are never read from here:
                // `Sharded` hands out copies, read with pread.
                match element {
                    // SAFETY: as above: the shards' mappings are never read.
                    $(ElementType::$variant => unsafe { store.open_sharded::<$ty>(prefix) }.map(DynSharded::$variant),)*
                    // ElementType is non_exhaustive; the table lists every type.
                    // SAFETY: as above: the shards' mappings are never read.
                    _ => unsafe { store.open_sharded::<u8>(prefix) }.map(DynSharded::U8),
                }
            }

            fn len(&self) -> usize {
                match self {
                    $(DynSharded::$variant(a) => a.len(),)*
                }
            }

            fn shards(&self) -> Vec<(String, usize)> {
                match self {
                    $(DynSharded::$variant(a) => a
                        .shards()
                        .iter()
                        .map(|s| (s.path().to_string_lossy().into_owned(), s.shape()[0]))
                        .collect(),)*
                }
            }

            fn row_shape(&self) -> &[usize] {
                match self {
                    $(DynSharded::$variant(a) => a.row_shape(),)*
                }
            }

            fn read_rows<'py>(&self, py: Python<'py>, start: usize, stop: usize) -> PyResult<Bound<'py, PyAny>> {
                match self {
                    $(DynSharded::$variant(a) => {
                        let rows = py.detach(|| a.read_rows(start..stop)).py()?;
                        // One dimension to numpy, then numpy's reshape: the
                        // numpy crate stops at 32 dimensions, numpy 2 at 64.
                        let shape = rows.shape().to_vec();
                        let n = rows.len();
                        let flat: Vec<$ty> = match rows.is_standard_layout() {
                            false => rows.iter().copied().collect(),
                            true => match rows.into_raw_vec_and_offset() {
                                (v, Some(0) | None) if v.len() == n => v,
                                (v, offset) => {
                                    let start = offset.unwrap_or(0);
                                    v[start..start + n].to_vec()
                                }
                            },
                        };
                        PyArray::from_vec(py, flat)
                            .into_any()
                            .call_method1("reshape", (PyTuple::new(py, shape)?,))
                    })*
                }
            }
        }
    };
}

mmarray::for_each_element_type!([define_dyn_sharded]);

/// Arrays of a store read as one along axis 0 (`Store.sharded`).
#[pyclass(module = "mmarray", name = "Sharded", frozen)]
pub struct Sharded {
    inner: DynSharded,
}

#[pymethods]
impl Sharded {
    /// The number of rows of all shards together.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The shards in order, as `(path, rows)` pairs: each shard's data
    /// file and its length along axis 0 when this was opened.
    #[getter]
    fn shards(&self) -> Vec<(String, usize)> {
        self.inner.shards()
    }

    /// The shape of one row.
    #[getter]
    fn row_shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.row_shape())
    }

    /// `s[i]`: row `i` (negative counts from the end), a copy.
    fn __getitem__<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyAny>> {
        let len = self.inner.len();
        let i = if index < 0 {
            index + len as isize
        } else {
            index
        };
        if i < 0 || i as usize >= len {
            return Err(PyIndexError::new_err("row index out of range"));
        }
        let rows = self.inner.read_rows(py, i as usize, i as usize + 1)?;
        rows.get_item(0)
    }

    /// Rows `start..stop` across shard boundaries, copied into one array.
    /// numpy: `np.concatenate(shards)[start:stop]`, without the concatenation.
    fn read_rows<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.inner.read_rows(py, start, stop)
    }
}
