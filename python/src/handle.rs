//! `mmarray.Array`: an open mapping, and the numpy views of it.
//!
//! # Lifetime
//!
//! The mapping lives in a [`Shared`] that the handle and every export owner
//! hold (`Arc`). Each `handle.array` is a new numpy array over the
//! mapping's bytes whose base chain ends at a new `_Owner`, which holds the
//! `Shared` and the mapping generation the view points into. So:
//!
//! - the handle can be garbage-collected while views live: the mapping is
//!   unmapped when the last owner dies;
//! - `close()` with views alive closes the handle at once (flushing and
//!   recording the length for "r+") and leaves the mapping, and its shared
//!   lock, to the views: the last owner to die unmaps it (`Shared::live`
//!   counts them). `resize` to fewer rows raises `BufferError` while any
//!   owner is alive, as `mmap.resize` does with exports;
//! - `append` (and `resize` up) may remap the file: the replaced mapping is
//!   kept (the library's `retain_replaced_mappings`) in the generation that
//!   old views hold, and unmapped when the last of them dies. Old views
//!   keep the rows they had and see writes to them.
//!
//! # Locks and the GIL
//!
//! The state's mutex is never held while Python code runs or while the
//! GIL is released and then taken again: a finaliser (`__del__`) that runs
//! in the middle of a call, or another thread, can always take it. Calls
//! that do I/O take it inside `py.detach` (the GIL released for the whole
//! wait and the work), short ones with `lock_py_attached` (the GIL released
//! while waiting), and numpy arrays are built after it is dropped.
//!
//! # Fork
//!
//! A child forked from the process that opened a handle reads through it
//! (the mapping is shared), but its calls that would act on the file's
//! locks or recorded length (append, resize, publish, commit, flush) raise
//! `InvalidArgument`, and closing or dropping it there leaves the
//! mapping alone: those belong to the parent.
//!
//! # Views
//!
//! A view is made in numpy from the mapping's bytes (`uint8` over the
//! mapping, then `.view(dtype).reshape(shape, order)`), so numpy decides
//! what it can view: any byte order, unaligned data (numpy marks the view
//! unaligned) and up to numpy's own limit of dimensions (64 in numpy 2).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mmarray::grow::ReplacedMapping;
use mmarray::{CopyOnWrite, DynArray, Element, MappedArray, ReadOnly, ReadWrite, Source, dispatch};
use ndarray::ArrayView1;
use numpy::PyArray1;
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::{IntoPy, to_py};
use crate::{json_to_py, numpy_dtype};

/// The mapping in one of the three modes.
pub enum Mapped {
    R(DynArray<ReadOnly>),
    W(DynArray<ReadWrite>),
    C(DynArray<CopyOnWrite>),
    /// Read-only bytes that the typed array refuses to view (the other
    /// byte order, an offset the element type is not aligned to) and numpy
    /// views as they are, as `np.memmap` does.
    Bytes(Source),
    /// The same for "r+": writable bytes over the file (the shared-write
    /// open). They can be flushed, not grown: appending and resizing
    /// need the typed array (`InvalidArgument`, see [`cannot_grow`]).
    BytesW(Source<ReadWrite>),
    /// The same for "c": writable bytes in private memory.
    BytesC(Source<CopyOnWrite>),
}

impl Mapped {
    fn info(&self) -> &mmarray::ArrayInfo {
        match self {
            Mapped::R(a) => a.info(),
            Mapped::W(a) => a.info(),
            Mapped::C(a) => a.info(),
            Mapped::Bytes(s) => s.info(),
            Mapped::BytesW(s) => s.info(),
            Mapped::BytesC(s) => s.info(),
        }
    }

    /// The array's bytes: where they start, how many, and whether numpy
    /// may write them.
    fn bytes(&mut self) -> (*mut u8, usize, bool) {
        fn writable<T: Element, M: mmarray::Writable>(
            a: &mut MappedArray<T, M>,
        ) -> (*mut u8, usize) {
            let s = a.as_slice_mut();
            (s.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(s))
        }
        match self {
            Mapped::R(a) => {
                let b = a.as_bytes();
                (b.as_ptr().cast_mut(), b.len(), false)
            }
            Mapped::Bytes(s) => {
                let b = s.as_bytes();
                (b.as_ptr().cast_mut(), b.len(), false)
            }
            Mapped::W(a) => {
                let (p, n) = dispatch!(a, |a| writable(a));
                (p, n, true)
            }
            Mapped::C(a) => {
                let (p, n) = dispatch!(a, |a| writable(a));
                (p, n, true)
            }
            Mapped::BytesW(s) => {
                let b = s.as_bytes_mut();
                (b.as_mut_ptr(), b.len(), true)
            }
            Mapped::BytesC(s) => {
                let b = s.as_bytes_mut();
                (b.as_mut_ptr(), b.len(), true)
            }
        }
    }

    /// Unmaps: for "r+", flush, record the length and trim spare capacity
    /// (a byte view's length never changes: flush only).
    fn close(self) -> mmarray::Result<()> {
        match self {
            Mapped::R(a) => dispatch!(a, |a| a.close()),
            Mapped::W(a) => dispatch!(a, |a| a.close()),
            Mapped::C(a) => dispatch!(a, |a| a.close()),
            Mapped::Bytes(s) => {
                drop(s);
                Ok(())
            }
            Mapped::BytesW(s) => s.flush(),
            Mapped::BytesC(s) => {
                drop(s);
                Ok(())
            }
        }
    }
}

/// Mappings replaced while views of them may live.
#[derive(Default)]
pub struct Generation {
    _replaced: Mutex<Vec<ReplacedMapping>>,
}

pub struct State {
    /// `None` once unmapped.
    mapped: Option<Mapped>,
    /// Whether `close()` was called (the mapping may outlive it in views).
    closed: bool,
    /// What views exported now point into.
    generation: Arc<Generation>,
    /// The process that opened the mapping: the one its locks, writer
    /// claim and recorded length belong to.
    pid: u32,
}

impl State {
    /// Whether this is a process forked from the one that opened it.
    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }

    /// The mapping taken out to be unmapped, or `None` in a forked child:
    /// there it is left mapped (and its handle open) until the child
    /// exits, since closing it would record the parent's length and trim
    /// the parent's file.
    fn take_to_close(&mut self) -> Option<Mapped> {
        let mapped = self.mapped.take();
        if self.forked() {
            std::mem::forget(mapped);
            return None;
        }
        mapped
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // As `take_to_close`: a forked child never closes the parent's array.
        if self.forked() {
            std::mem::forget(self.mapped.take());
        }
    }
}

pub struct Shared {
    state: Mutex<State>,
    /// Export owners alive (every generation).
    live: AtomicUsize,
}

impl Shared {
    /// The state, from a thread holding the GIL: released while waiting.
    /// Hold the guard over Rust code only.
    fn lock(&self, py: Python<'_>) -> MutexGuard<'_, State> {
        // A panic while locked leaves the state as it was: keep going.
        self.state
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The state, from inside `py.detach`.
    fn lock_detached(&self) -> MutexGuard<'_, State> {
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
        if self.shared.live.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        // The last view of a closed handle: unmap (and release the lock)
        // now, with the GIL released for the flush.
        Python::attach(|py| {
            let mapped = {
                let mut state = self.shared.lock(py);
                let unused = state.closed && self.shared.live.load(Ordering::SeqCst) == 0;
                if unused { state.take_to_close() } else { None }
            };
            if let Some(mapped) = mapped {
                // As a MappedArray's own drop: nothing to report an error to.
                let _ = py.detach(|| mapped.close());
            }
        });
    }
}

/// Why a call on the mapping did not run.
enum Failed {
    Closed,
    /// In a child forked from the process that opened it (its pid).
    Forked(u32),
    Library(mmarray::Error),
}

impl Failed {
    fn into_py(self, path: &str) -> PyErr {
        match self {
            Failed::Closed => closed(),
            Failed::Forked(pid) => to_py(mmarray::Error::ForkedHandle {
                path: path.into(),
                opened_by: pid,
            }),
            Failed::Library(e) => to_py(e),
        }
    }
}

/// An open memory-mapped array (`mmarray.open`, `mmarray.create`).
///
/// numpy: `m = np.load(path, mmap_mode=mode)`; `h.array` is `m`,
/// `h.flush()` is `m.flush()`, `h.close()` is `del m`: views taken keep the
/// mapping (and the file's shared lock) until the last of them is gone.
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
                    closed: false,
                    generation: Arc::default(),
                    pid: std::process::id(),
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

    /// Runs `f` on the read-write mapping with the GIL released, then
    /// moves mappings it replaced into the current generation and starts a
    /// new one; `bytes` instead on a writable byte view ([`Mapped::BytesW`]).
    /// `unsupported` for modes other than "r+".
    fn with_writable<R: Send>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&mut DynArray<ReadWrite>) -> mmarray::Result<R> + Send,
        bytes: impl FnOnce(&mut Source<ReadWrite>) -> mmarray::Result<R> + Send,
    ) -> PyResult<R> {
        if self.mode != "r+" {
            return Err(unsupported(py, what, self.mode));
        }
        py.detach(|| {
            let mut state = self.shared.lock_detached();
            let state = &mut *state;
            if state.closed {
                return Err(Failed::Closed);
            }
            if state.forked() {
                return Err(Failed::Forked(state.pid));
            }
            let array = match state.mapped.as_mut() {
                Some(Mapped::W(array)) => array,
                Some(Mapped::BytesW(source)) => return bytes(source).map_err(Failed::Library),
                _ => return Err(Failed::Closed),
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
            result.map_err(Failed::Library)
        })
        .map_err(|f| f.into_py(&self.path))
    }
}

/// Why a byte view ([`Mapped::BytesW`]) cannot `what` (append, resize):
/// growth goes through the typed array, which views only this machine's
/// byte order at an aligned offset. numpy's `np.memmap` cannot grow in
/// place either.
fn cannot_grow(source: &Source<ReadWrite>, what: &str) -> mmarray::Error {
    let info = source.info();
    let layout = info.layout();
    let dtype = layout.dtype();
    let why = if dtype.is_native() {
        format!(
            "its data starts at byte {}, which is not a multiple of {}'s alignment",
            layout.offset(),
            dtype
        )
    } else {
        format!("its dtype {dtype} is not in this machine's byte order")
    };
    mmarray::Error::InvalidArgument {
        path: info.path().to_path_buf(),
        message: format!(
            "cannot {what}: {why}, so it is open as bytes (as np.memmap opens it), which can be read, written and flushed but not grown; convert the file first (`mmarray convert --byte-order native SRC DST` writes an aligned copy in this machine's byte order)"
        ),
    }
}

fn closed() -> PyErr {
    PyValueError::new_err("the array is closed")
}

fn unsupported(py: Python<'_>, what: &str, mode: &str) -> PyErr {
    let message =
        format!("cannot {what}: the array is open in mode {mode:?}; open it with mode=\"r+\"");
    match py
        .import("io")
        .and_then(|io| io.getattr("UnsupportedOperation"))
        .and_then(|cls| cls.call1((message.clone(),)))
    {
        Ok(v) => PyErr::from_value(v),
        Err(_) => pyo3::exceptions::PyException::new_err(message),
    }
}

/// Appends `bytes`, rows of `shape` in C order of `a`'s element type.
fn append_bytes<T: Element>(
    a: &mut MappedArray<T, ReadWrite>,
    bytes: &[u8],
    shape: &[usize],
) -> mmarray::Result<()> {
    // SAFETY: `bytes` is a C-contiguous, aligned numpy array of `T`'s dtype
    // (`crate::contiguous_bytes`), with every byte of a bool array checked
    // to be 0 or 1.
    let elements = unsafe { crate::elements::<T>(bytes) };
    let rows = crate::view_of(a.info().path(), elements, shape, false)?;
    a.append(&rows)
}

#[pymethods]
impl Array {
    /// The numpy array over the mapping (zero-copy), of the file's dtype
    /// (its byte order included) and memory order. Its base chain ends at
    /// an owner that keeps the mapping alive. Writable for modes "r+" and
    /// "c".
    #[getter]
    fn array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (ptr, len, writable, dtype, shape, order, generation) = {
            let mut state = self.shared.lock(py);
            let state = &mut *state;
            let mapped = match state.mapped.as_mut() {
                Some(m) if !state.closed => m,
                _ => return Err(closed()),
            };
            let (ptr, len, writable) = mapped.bytes();
            let layout = mapped.info().layout();
            self.shared.live.fetch_add(1, Ordering::SeqCst);
            (
                ptr,
                len,
                writable,
                layout.dtype(),
                layout.shape().to_vec(),
                layout.order().as_str(),
                state.generation.clone(),
            )
        };
        // `live` counts this export from here on: dropping the owner (even
        // if making the Python object fails) gives it back.
        let owner = Owner {
            shared: self.shared.clone(),
            _generation: generation,
        };
        let owner = Bound::new(py, owner)?.into_any();
        // SAFETY: `ptr..ptr + len` are the array's bytes in the mapping held
        // by `Shared` (or, after a remap, by the generation `owner` holds),
        // which `owner`, the base of the numpy array, keeps mapped until it
        // is dropped: close() leaves the mapping to live owners, and nothing
        // shrinks the file under it (resize down refuses while owners live;
        // other handles and processes wait for the shared lock the mapping
        // holds). Bytes are always aligned.
        let bytes = unsafe {
            let view = ArrayView1::<u8>::from_shape_ptr(len, ptr);
            PyArray1::borrow_from_array(&view, owner).into_any()
        };
        if !writable {
            bytes.call_method1("setflags", (false,))?;
        }
        let typed = bytes.call_method1("view", (numpy_dtype(py, dtype)?,))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("order", order)?;
        typed.call_method("reshape", (PyTuple::new(py, shape)?,), Some(&kwargs))
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
    fn closed(&self, py: Python<'_>) -> bool {
        self.shared.lock(py).closed
    }

    /// The dtype, as a `numpy.dtype`.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dtype = self.info(py, |i| i.layout().dtype())?;
        numpy_dtype(py, dtype)
    }

    /// The shape (the current one for a growing array), a tuple.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let shape = self.info(py, |i| i.layout().shape().to_vec())?;
        PyTuple::new(py, shape)
    }

    /// "C" or "F".
    #[getter]
    fn order(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.info(py, |i| i.layout().order().as_str())
    }

    /// The user attrs from the sidecar (`{}` for .npy files), a dict.
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let attrs = self.info(py, |i| serde_json::Value::Object(i.attrs().clone()))?;
        json_to_py(py, &attrs)
    }

    /// Appends `rows` along axis 0, cast to this array's dtype as numpy
    /// assignment casts (`same_kind`); `handle.array` is then the grown
    /// array. Views taken before stay valid (they keep the rows they had).
    /// An array open as bytes (the other byte order, an unaligned offset)
    /// cannot grow: `InvalidArgument`.
    fn append(&self, py: Python<'_>, rows: Bound<'_, PyAny>) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "append", self.mode));
        }
        let path = std::path::Path::new(&self.path);
        let held = self.info(py, |i| i.layout().dtype())?;
        let rows = crate::cast_same_kind(&rows, held, path, "append rows of")?;
        let (bytes, shape) = crate::contiguous_bytes(&rows, "C", held, path)?;
        let bytes = bytes.as_slice()?;
        self.with_writable(
            py,
            "append",
            |a| dispatch!(a, |a| append_bytes(a, bytes, &shape)),
            |s| Err(cannot_grow(s, "append")),
        )
    }

    /// Sets the length along axis 0 to `rows` (new rows are zero). Fewer
    /// rows raise `BufferError` while numpy views of the array are alive,
    /// and `Busy` while another handle or process maps it; `InvalidArgument`
    /// for an array open as bytes (as `append`).
    fn resize(&self, py: Python<'_>, rows: usize) -> PyResult<()> {
        if self.mode != "r+" {
            return Err(unsupported(py, "resize", self.mode));
        }
        let current = self.info(py, |i| i.layout().shape().first().copied())?;
        if current.is_some_and(|n| rows < n) && self.exports_alive() {
            return Err(PyBufferError::new_err(
                "cannot shrink the array while numpy views of it are alive",
            ));
        }
        self.with_writable(
            py,
            "resize",
            |a| dispatch!(a, |a| a.resize(rows)),
            |s| Err(cannot_grow(s, "resize")),
        )
    }

    /// Records the current length in the sidecar without waiting for the
    /// disk (consistent after a process crash).
    fn publish(&self, py: Python<'_>) -> PyResult<()> {
        // A byte view's length never changes: nothing to record.
        self.with_writable(py, "publish", |a| dispatch!(a, |a| a.publish()), |_| Ok(()))
    }

    /// Flushes the data, then records the current length (durable).
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.with_writable(
            py,
            "commit",
            |a| dispatch!(a, |a| a.commit()),
            |s| s.flush(),
        )
    }

    /// Writes changed pages to disk and waits (msync); records a changed
    /// length. A no-op for modes "r" and "c".
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        if self.mode != "r+" {
            return self.info(py, |_| ());
        }
        self.with_writable(py, "flush", |a| dispatch!(a, |a| a.flush()), |s| s.flush())
    }

    /// Closes the handle: flush and record the length ("r+"), then unmap
    /// and release the file's shared lock, or, while numpy views from this
    /// handle are alive, leave the mapping and the lock to them until the
    /// last one is gone (then spare capacity is trimmed too). `array` then
    /// raises `ValueError`. Closing a closed handle does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| {
            let mut state = self.shared.lock_detached();
            if state.closed {
                return Ok(());
            }
            state.closed = true;
            if !self.exports_alive() {
                let mapped = state.take_to_close();
                drop(state);
                return mapped.map_or(Ok(()), Mapped::close);
            }
            let forked = state.forked();
            match state.mapped.as_mut() {
                Some(Mapped::W(a)) if !forked => dispatch!(a, |a| a.commit()),
                Some(Mapped::BytesW(s)) if !forked => s.flush(),
                _ => Ok(()),
            }
        })
        .py()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the handle (see `close`); an exception raised in the block
    /// propagates.
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Bound<'_, PyAny>,
        _exc: Bound<'_, PyAny>,
        _tb: Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        match self.info(py, |i| i.layout().shape().first().copied())? {
            Some(n) => Ok(n),
            None => Err(pyo3::exceptions::PyTypeError::new_err(
                "len() of a 0-d array",
            )),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = self.shared.lock(py);
        match &state.mapped {
            Some(m) if !state.closed => {
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
            _ => format!("<mmarray.Array {:?} closed>", self.path),
        }
    }
}

impl Array {
    /// `f` of the array's description, under the state's lock (Rust only).
    fn info<R>(&self, py: Python<'_>, f: impl FnOnce(&mmarray::ArrayInfo) -> R) -> PyResult<R> {
        let state = self.shared.lock(py);
        match state.mapped.as_ref() {
            Some(m) if !state.closed => Ok(f(m.info())),
            _ => Err(closed()),
        }
    }
}
