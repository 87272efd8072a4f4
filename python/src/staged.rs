//! `mmarray._core.stage`: an array built under a hidden temporary name and
//! moved into place when complete ([`mmarray::Staged`]), for writers in
//! other processes (`mmarray.dask.store`'s workers).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;

use crate::errors::IntoPy;

/// A staged array: fill it by opening `path` ("r+", from any process),
/// then `publish()` moves it to `destination`; `discard()` (or garbage
/// collection) removes it.
#[pyclass(module = "mmarray", name = "Staged", frozen)]
pub struct Staged {
    /// `None` once published or discarded.
    inner: Mutex<Option<mmarray::Staged>>,
    path: String,
    destination: String,
    /// The process that staged it: a child forked from it neither
    /// publishes nor removes the parent's staged array.
    pid: u32,
}

impl Staged {
    /// `ForkedHandle` in a child forked from the process that staged it:
    /// only that process may publish or discard it.
    fn check_not_forked(&self) -> PyResult<()> {
        if std::process::id() == self.pid {
            return Ok(());
        }
        Err(crate::errors::to_py(mmarray::Error::ForkedHandle {
            path: self.path.clone().into(),
            opened_by: self.pid,
        }))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Dropping removes the staged files: never in a forked child.
        if std::process::id() != self.pid {
            let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
            std::mem::forget(inner.take());
        }
    }
}

#[pymethods]
impl Staged {
    /// The staged array's path (hidden, beside the destination).
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Where `publish()` puts the array.
    #[getter]
    fn destination(&self) -> &str {
        &self.destination
    }

    /// Moves the array into place; `Busy` while anyone still maps it (or,
    /// when overwriting, the old array); it then stays staged. Runs with the
    /// GIL released; a second `publish` or `discard` meanwhile waits for it
    /// (also with the GIL released), then finds it published.
    fn publish(&self, py: Python<'_>) -> PyResult<()> {
        self.check_not_forked()?;
        // The lock is taken and released inside `detach`: never held while
        // the GIL is taken again (the error is converted after).
        let outcome = py.detach(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let Some(staged) = inner.as_mut() else {
                return Ok(false);
            };
            staged.publish()?;
            *inner = None;
            Ok(true)
        });
        match outcome.py()? {
            true => Ok(()),
            false => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{}: this staged array was already published or discarded",
                self.path
            ))),
        }
    }

    /// Removes the staged array (nothing happens at the destination); does
    /// nothing once it was published or discarded.
    fn discard(&self, py: Python<'_>) -> PyResult<()> {
        self.check_not_forked()?;
        py.detach(|| {
            let staged = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
            staged.map_or(Ok(()), mmarray::Staged::discard)
        })
        .py()
    }

    fn __repr__(&self) -> String {
        format!(
            "<mmarray.Staged {:?} for {:?}>",
            self.path, self.destination
        )
    }
}

/// `mmarray._core.stage(path, shape, dtype, order="C", attrs=None,
/// overwrite=False)`: a zero-filled, preallocated array for `path` under a
/// hidden temporary name (raw + sidecar, or `.npy` by name).
#[pyfunction]
#[pyo3(signature = (path, shape, dtype, order="C", attrs=None, overwrite=false))]
pub fn stage(
    py: Python<'_>,
    path: PathBuf,
    shape: Bound<'_, PyAny>,
    dtype: Bound<'_, PyAny>,
    order: &str,
    attrs: Option<Bound<'_, PyAny>>,
    overwrite: bool,
) -> PyResult<Staged> {
    let shape = crate::shape_of(&shape, &path)?;
    let dtype = crate::dtype_of(&dtype, &path)?;
    let mut options = crate::options(order, attrs.as_ref(), overwrite, &path, true)?;
    options.preallocate(true).byte_order(dtype.byte_order());
    let staged = py.detach(|| options.stage(&path, dtype, &shape)).py()?;
    Ok(Staged {
        path: staged.path().to_string_lossy().into_owned(),
        destination: staged.destination().to_string_lossy().into_owned(),
        inner: Mutex::new(Some(staged)),
        pid: std::process::id(),
    })
}
