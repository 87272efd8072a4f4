//! `mmarray.Array`: an open mapping, and the numpy views of it.
//!
//! # Lifetime
//!
//! The mapping lives in a [`Shared`] that the handle and every export owner
//! hold (`Arc`). Each `handle.array` is a new numpy array whose `base` is a
//! new `_Owner`, which holds the `Shared` and the mapping generation the
//! view points into. So:
//!
//! - the handle can be garbage-collected while views live: the mapping is
//!   unmapped when the last owner dies;
//! - `close()`, and `resize` to fewer rows, raise `BufferError` while any
//!   owner is alive (counted in `Shared::live`), as `mmap.close()` does with
//!   exports;
//! - `append` (and `resize` up) may remap the file: the replaced mapping is
//!   kept (the library's `retain_replaced_mappings`) in the generation that
//!   old views hold, and unmapped when the last of them dies. Old views
//!   keep the rows they had and see writes to them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mmarray::grow::ReplacedMapping;
use mmarray::{CopyOnWrite, DynArray, ReadOnly, ReadWrite, dispatch};
use numpy::{PyArrayDyn, PyArrayMethods};
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPy;
use crate::{dtype_of, json_to_py, numpy_dtype};

/// The mapping in one of the three modes.
pub enum Mapped {
    R(DynArray<ReadOnly>),
    W(DynArray<ReadWrite>),
    C(DynArray<CopyOnWrite>),
}

impl Mapped {
    fn info(&self) -> &mmarray::ArrayInfo {
        match self {
            Mapped::R(a) => a.info(),
            Mapped::W(a) => a.info(),
            Mapped::C(a) => a.info(),
        }
    }
}

/// Mappings replaced while views of them may live.
#[derive(Default)]
pub struct Generation {
    _replaced: Mutex<Vec<ReplacedMapping>>,
}

pub struct State {
    /// `None` once closed.
    mapped: Option<Mapped>,
    /// What views exported now point into.
    generation: Arc<Generation>,
}

pub struct Shared {
    state: Mutex<State>,
    /// Export owners alive (every generation).
    live: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while locked leaves the state as it was: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `base` of every exported numpy array: keeps the mapping (and the
/// generation the view points into) alive.
#[pyclass(module = "mmarray", name = "_Owner", frozen)]
pub struct Owner {
    shared: Arc<Shared>,
    _generation: Arc<Generation>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An open memory-mapped array. See the module's docs in `__init__.pyi`.
#[pyclass(module = "mmarray", name = "Array", frozen)]
pub struct Array {
    shared: Arc<Shared>,
    path: String,
    mode: &'static str,
}

impl Array {
    pub fn new(mapped: Mapped, mode: &'static str) -> Array {
        let mut mapped = mapped;
        if let Mapped::W(a) = &mut mapped {
            dispatch!(a, |a| a.retain_replaced_mappings(true));
        }
        let path = mapped.info().path().to_string_lossy().into_owned();
        Array {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    mapped: Some(mapped),
                    generation: Arc::default(),
                }),
                live: AtomicUsize::new(0),
            }),
            path,
            mode,
        }
    }

    fn exports_alive(&self) -> bool {
        self.shared.live.load(Ordering::SeqCst) > 0
    }

    /// Runs `f` on the read-write mapping, then moves mappings it replaced
    /// into the current generation and starts a new one.
    fn with_writable<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut DynArray<ReadWrite>) -> PyResult<R>,
    ) -> PyResult<R> {
        let mut state = self.shared.lock();
        let state = &mut *state;
        let Some(mapped) = state.mapped.as_mut() else {
            return Err(closed());
        };
        let Mapped::W(array) = mapped else {
            return Err(not_writable(what, self.mode));
        };
        let result = f(array);
        let replaced = dispatch!(array, |a| a.take_replaced_mappings());
        if !replaced.is_empty() {
            let old = std::mem::take(&mut state.generation);
            old._replaced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(replaced);
        }
        result
    }
}

fn closed() -> PyErr {
    PyValueError::new_err("the array is closed")
}

fn not_writable(what: &str, mode: &str) -> PyErr {
    pyo3::exceptions::PyException::new_err(format!(
        "cannot {what}: the array is open in mode {mode:?}; open it with mode=\"r+\""
    ))
}

fn unsupported(py: Python<'_>, what: &str, mode: &str) -> PyErr {
    match py
        .import("io")
        .and_then(|io| io.getattr("UnsupportedOperation"))
    {
        Ok(cls) => PyErr::from_value(
            match cls.call1((format!(
                "cannot {what}: the array is open in mode {mode:?}; open it with mode=\"r+\""
            ),))
            {
                Ok(v) => v,
                Err(e) => return e,
            },
        ),
        Err(_) => not_writable(what, mode),
    }
}

#[pymethods]
impl Array {
    /// The numpy array over the mapping (zero-copy). Its `base` keeps the
    /// mapping alive. Writable for modes "r+" and "c".
    #[getter]
    fn array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.shared.lock();
        let mapped = state.mapped.as_ref().ok_or_else(closed)?;
        self.shared.live.fetch_add(1, Ordering::SeqCst);
        let owner = Bound::new(
            py,
            Owner {
                shared: self.shared.clone(),
                _generation: state.generation.clone(),
            },
        )?
        .into_any();
        // SAFETY (all three): the view points into the mapping held by
        // `Shared` (or, after a remap, by the generation `owner` holds),
        // which `owner`, the array's base, keeps mapped until it is
        // dropped; nothing shrinks the file under it (close and resize
        // down refuse while owners live).
        let (array, writable) = match mapped {
            Mapped::R(a) => (
                dispatch!(a, |a| unsafe {
                    PyArrayDyn::borrow_from_array(&a.view(), owner).into_any()
                }),
                false,
            ),
            Mapped::W(a) => (
                dispatch!(a, |a| unsafe {
                    PyArrayDyn::borrow_from_array(&a.view(), owner).into_any()
                }),
                true,
            ),
            Mapped::C(a) => (
                dispatch!(a, |a| unsafe {
                    PyArrayDyn::borrow_from_array(&a.view(), owner).into_any()
                }),
                true,
            ),
        };
        drop(state);
        if !writable {
            array.call_method1("setflags", (false,))?;
        }
        Ok(array)
    }

    /// `np.asarray(handle)`: the same array as `handle.array`.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut array = self.array(py)?;
        if let Some(dtype) = dtype {
            let wanted = py.import("numpy")?.call_method1("dtype", (dtype,))?;
            if !wanted.eq(array.getattr("dtype")?)? {
                if copy == Some(false) {
                    return Err(PyValueError::new_err(
                        "the array cannot be converted to that dtype without a copy (copy=False)",
                    ));
                }
                return array.call_method1("astype", (wanted,));
            }
        }
        if copy == Some(true) {
            array = array.call_method0("copy")?;
        }
        Ok(array)
    }

    /// The array's path.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// The mode it was opened in: "r", "r+" or "c".
    #[getter]
    fn mode(&self) -> &str {
        self.mode
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.lock().mapped.is_none()
    }

    /// The dtype, as a `numpy.dtype`.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dtype = self.info(|i| i.layout().dtype())?;
        numpy_dtype(py, dtype)
    }

    /// The shape (the current one for a growing array), a tuple.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let shape = self.info(|i| i.layout().shape().to_vec())?;
        PyTuple::new(py, shape)
    }

    /// "C" or "F".
    #[getter]
    fn order(&self) -> PyResult<&'static str> {
        self.info(|i| i.layout().order().as_str())
    }

    /// The user attrs from the sidecar (`{}` for .npy files), a dict.
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let attrs = self.info(|i| serde_json::Value::Object(i.attrs().clone()))?;
        json_to_py(py, &attrs)
    }

    /// Appends `rows` (an array of this array's dtype and row shape) along
    /// axis 0; `handle.array` is then the grown array. Views taken before
    /// stay valid (they keep the rows they had).
    fn append(&self, py: Python<'_>, rows: Bound<'_, PyAny>) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "append", self.mode));
        }
        let numpy = py.import("numpy")?;
        let rows = numpy.call_method1("asarray", (rows,))?;
        // No silent cast: rows of another dtype (or byte order) are
        // refused, as the library refuses opening with the wrong type.
        let given = dtype_of(&rows.getattr("dtype")?, std::path::Path::new(&self.path))?;
        let held = self.info(|i| i.layout().dtype())?;
        if given != held {
            return Err(crate::errors::to_py(mmarray::Error::DtypeMismatch {
                path: self.path.clone().into(),
                expected: given,
                found: held,
            }));
        }
        self.with_writable("append", |a| {
            dispatch!(a, |a| {
                let rows = rows.cast::<PyArrayDyn<_>>()?.try_readonly()?;
                a.append(&rows.as_array()).py()
            })
        })
    }

    /// Sets the length along axis 0 to `rows` (new rows are zero). Fewer
    /// rows raise `BufferError` while numpy views of the array are alive,
    /// and `Busy` while another handle or process maps it.
    fn resize(&self, py: Python<'_>, rows: usize) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "resize", self.mode));
        }
        let current = self.info(|i| i.layout().shape().first().copied())?;
        if current.is_some_and(|n| rows < n) && self.exports_alive() {
            return Err(PyBufferError::new_err(
                "cannot shrink the array while numpy views of it are alive",
            ));
        }
        self.with_writable("resize", |a| dispatch!(a, |a| a.resize(rows).py()))
    }

    /// Records the current length in the sidecar without waiting for the
    /// disk (consistent after a process crash).
    fn publish(&self, py: Python<'_>) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "publish", self.mode));
        }
        self.with_writable("publish", |a| dispatch!(a, |a| a.publish().py()))
    }

    /// Flushes the data, then records the current length (durable).
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "commit", self.mode));
        }
        self.with_writable("commit", |a| dispatch!(a, |a| a.commit().py()))
    }

    /// Writes changed pages to disk and waits (msync); records a changed
    /// length. A no-op for modes "r" and "c".
    fn flush(&self) -> PyResult<()> {
        if self.mode != "r+" {
            return self.info(|_| ());
        }
        self.with_writable("flush", |a| dispatch!(a, |a| a.flush().py()))
    }

    /// Closes the mapping: flush, commit the length and trim spare capacity
    /// ("r+"), then unmap. Raises `BufferError` while numpy views exported
    /// from this handle are alive (delete them first); then nothing is
    /// closed. Closing a closed handle does nothing.
    fn close(&self) -> PyResult<()> {
        let mut state = self.shared.lock();
        if state.mapped.is_none() {
            return Ok(());
        }
        if self.exports_alive() {
            return Err(PyBufferError::new_err(
                "cannot close the array: numpy views of it are alive (delete them, or let them go out of scope, first)",
            ));
        }
        let Some(mapped) = state.mapped.take() else {
            return Ok(());
        };
        drop(state);
        match mapped {
            Mapped::R(a) => dispatch!(a, |a| a.close()),
            Mapped::W(a) => dispatch!(a, |a| a.close()),
            Mapped::C(a) => dispatch!(a, |a| a.close()),
        }
        .py()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        _exc_type: Bound<'_, PyAny>,
        _exc: Bound<'_, PyAny>,
        _tb: Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.info(|i| i.layout().shape().first().copied())? {
            Some(n) => Ok(n),
            None => Err(pyo3::exceptions::PyTypeError::new_err(
                "len() of a 0-d array",
            )),
        }
    }

    fn __repr__(&self) -> String {
        let state = self.shared.lock();
        match &state.mapped {
            None => format!("<mmarray.Array {:?} closed>", self.path),
            Some(m) => {
                let l = m.info().layout();
                format!(
                    "<mmarray.Array {:?} mode={:?} dtype={} shape={:?} order={}>",
                    self.path,
                    self.mode,
                    l.dtype(),
                    l.shape(),
                    l.order()
                )
            }
        }
    }
}

impl Array {
    fn info<R>(&self, f: impl FnOnce(&mmarray::ArrayInfo) -> R) -> PyResult<R> {
        let state = self.shared.lock();
        let mapped = state.mapped.as_ref().ok_or_else(closed)?;
        Ok(f(mapped.info()))
    }
}
