//! `mmarray.Store` and `mmarray.Sharded`: a directory of named arrays, and
//! arrays read as one along axis 0.

use std::path::PathBuf;
use std::sync::Mutex;

use mmarray::{DynArray, ElementType, ShardedArray, Store as RustStore, dispatch_type};
use numpy::PyArray;
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPy;
use crate::handle::{Array, Mapped};

/// A directory of named arrays. See `__init__.pyi`.
#[pyclass(module = "mmarray", name = "Store", frozen)]
pub struct Store {
    store: Mutex<RustStore>,
}

impl Store {
    fn with<R>(&self, f: impl FnOnce(&mut RustStore) -> R) -> R {
        f(&mut self.store.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The data file of array `name` (the library finds it; errors as its
    /// `open_array`).
    fn path_of(&self, name: &str) -> PyResult<PathBuf> {
        self.with(|s| {
            // SAFETY: as in `crate::open` ("r").
            unsafe { s.open_array_dyn(name) }.map(|a| a.info().path().to_path_buf())
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
    fn new(dir: PathBuf, create: bool) -> PyResult<Store> {
        let store = match create {
            true => RustStore::create(&dir),
            false => RustStore::open(&dir),
        }
        .py()?;
        Ok(Store {
            store: Mutex::new(store),
        })
    }

    /// The store's directory.
    #[getter]
    fn path(&self) -> String {
        self.with(|s| s.path().to_string_lossy().into_owned())
    }

    /// The arrays, sorted by name: a dict each with `name`, `dtype` (a
    /// numpy type string), `shape` (a list) and `nbytes`; for an array
    /// whose sidecar or header is broken, `name` and `error` (the message
    /// opening it would raise), so that one broken array hides no other.
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        let entries = self.with(|s| s.list()).py()?;
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
                    Err(error) => d.set_item("error", error.to_string())?,
                }
                Ok(d)
            })
            .collect()
    }

    fn __contains__(&self, name: &str) -> bool {
        self.with(|s| s.contains(name))
    }

    /// `store[name]`: the array opened read-only; `KeyError` when the
    /// store has no array `name` (as a dict).
    fn __getitem__(&self, name: &str) -> PyResult<Array> {
        if !self.with(|s| s.contains(name)) {
            return Err(pyo3::exceptions::PyKeyError::new_err(name.to_owned()));
        }
        self.open(name, "r")
    }

    /// Opens array `name` in `mode` ("r", "r+" or "c").
    #[pyo3(signature = (name, mode="r"))]
    fn open(&self, name: &str, mode: &str) -> PyResult<Array> {
        crate::open(self.path_of(name)?, mode)
    }

    /// A new zero-filled array `name`, open "r+".
    #[pyo3(signature = (name, shape, dtype, order="C", attrs=None, overwrite=false))]
    fn create_array(
        &self,
        name: &str,
        shape: Bound<'_, PyAny>,
        dtype: Bound<'_, PyAny>,
        order: &str,
        attrs: Option<Bound<'_, PyAny>>,
        overwrite: bool,
    ) -> PyResult<Array> {
        let shape = crate::shape_of(&shape)?;
        let dir = PathBuf::from(self.path());
        let dtype = crate::dtype_of(&dtype, &dir)?;
        let mut options = crate::options(order, attrs.as_ref(), overwrite, None)?;
        options.byte_order(dtype.byte_order());
        let path = self
            .with(|s| {
                // SAFETY: the new array is closed again at once, before
                // anything reads it.
                dispatch_type!(dtype.element_type(), |T| unsafe {
                    s.create_array_with::<T>(name, &shape, &options)
                }
                .map(|a| a.path().to_path_buf()))
            })
            .py()?;
        // SAFETY: as in `crate::open` ("r+": several writers, as numpy's).
        let array = unsafe { DynArray::open_shared_mut(&path) }.py()?;
        Ok(Array::new(Mapped::W(array), "r+"))
    }

    /// Removes array `name` (`Busy` while it is mapped).
    fn remove(&self, name: &str) -> PyResult<()> {
        self.with(|s| s.remove(name)).py()
    }

    /// Renames array `old` to `new`.
    fn rename(&self, old: &str, new: &str) -> PyResult<()> {
        self.with(|s| s.rename(old, new)).py()
    }

    /// The store's attrs, a dict.
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let attrs = self.with(|s| serde_json::Value::Object(s.attrs().clone()));
        crate::json_to_py(py, &attrs)
    }

    /// Replaces the store's attrs (rewrites its marker file atomically).
    #[setter]
    fn set_attrs(&self, attrs: Bound<'_, PyAny>) -> PyResult<()> {
        let attrs = crate::attrs_from_py(Some(&attrs))?;
        self.with(|s| s.set_attrs(attrs)).py()
    }

    /// The arrays whose names start with `prefix`, in name order, read as
    /// one along axis 0.
    fn sharded(&self, prefix: &str) -> PyResult<Sharded> {
        self.with(|s| {
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

    fn __repr__(&self) -> String {
        format!("<mmarray.Store {:?}>", self.path())
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
                    $(ElementType::$variant => unsafe { store.open_sharded::<$ty>(prefix) }.map(DynSharded::$variant),)*
                    // ElementType is non_exhaustive; the table lists every type.
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
                        Ok(PyArray::from_owned_array(py, a.read_rows(start..stop).py()?).into_any())
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
