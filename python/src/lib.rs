//! `mmarray._core`: the Python extension over the mmarray crate.
//!
//! A thin layer: it converts types (paths, dtypes, numpy arrays, JSON) and
//! errors ([`errors`]), and leaves every format rule to the library.
//! [`handle`] holds the open array and the lifetime of its numpy views.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod errors;
mod handle;
#[cfg(target_os = "linux")]
mod sealed;
mod staged;
mod store;
mod zarr;

use std::path::PathBuf;

use std::path::Path;

use mmarray::{
    CreateOptions, DType, DynArray, Element, ElementType, Format, Order, Scalar, Source, Stats,
    dispatch_type,
};
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyDict, PyFloat, PyInt, PyList, PyTuple};

use errors::IntoPy;
use handle::{Array, Mapped};

/// `numpy.dtype(x).str` parsed as a [`DType`] (any byte order); an
/// unsupported one is `UnknownDtype` about `path`.
pub(crate) fn dtype_of(dtype: &Bound<'_, PyAny>, path: &std::path::Path) -> PyResult<DType> {
    let numpy = dtype.py().import("numpy")?;
    let s: String = numpy
        .call_method1("dtype", (dtype,))?
        .getattr("str")?
        .extract()?;
    s.parse::<DType>().map_err(|_| {
        errors::to_py(mmarray::Error::UnknownDtype {
            path: path.to_path_buf(),
            dtype: s,
        })
    })
}

/// The `numpy.dtype` of `dtype`.
fn numpy_dtype(py: Python<'_>, dtype: DType) -> PyResult<Bound<'_, PyAny>> {
    py.import("numpy")?
        .call_method1("dtype", (dtype.to_string(),))
}

/// A JSON value as Python objects (through `json.loads`, so that numbers,
/// `null` and nesting read exactly as Python's json module reads the CLI's
/// output).
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

/// An `InvalidArgument` about `path`.
fn invalid(path: &Path, message: impl Into<String>) -> PyErr {
    errors::to_py(mmarray::Error::InvalidArgument {
        path: path.to_path_buf(),
        message: message.into(),
    })
}

/// Refuses ints JSON cannot hold exactly (beyond 64 bits), which would
/// otherwise be read back as floats.
fn check_ints(value: &Bound<'_, PyAny>, path: &Path) -> PyResult<()> {
    if value.is_instance_of::<PyBool>() {
        return Ok(());
    }
    if value.is_instance_of::<PyInt>() {
        if value.extract::<i64>().is_err() && value.extract::<u64>().is_err() {
            return Err(invalid(
                path,
                format!(
                    "attrs hold the int {value}, which does not fit in 64 bits and so would be read back as a float; store it as a string"
                ),
            ));
        }
        return Ok(());
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        for (_, v) in dict.iter() {
            check_ints(&v, path)?;
        }
    } else if let Ok(list) = value.cast::<PyList>() {
        for v in list.iter() {
            check_ints(&v, path)?;
        }
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        for v in tuple.iter() {
            check_ints(&v, path)?;
        }
    }
    Ok(())
}

/// A Python dict or `None` as the attrs of the array at `path` (through
/// `json.dumps`); anything JSON cannot hold exactly is `InvalidArgument`.
pub(crate) fn attrs_from_py(
    attrs: Option<&Bound<'_, PyAny>>,
    path: &Path,
) -> PyResult<mmarray::Attrs> {
    let Some(attrs) = attrs.filter(|a| !a.is_none()) else {
        return Ok(mmarray::Attrs::new());
    };
    if !attrs.is_instance_of::<PyDict>() {
        let kind = attrs.get_type().name()?;
        return Err(invalid(path, format!("attrs must be a dict, not {kind}")));
    }
    check_ints(attrs, path)?;
    let json = attrs.py().import("json")?;
    let kwargs = PyDict::new(attrs.py());
    kwargs.set_item("allow_nan", false)?;
    let text: String = match json.call_method("dumps", (attrs,), Some(&kwargs)) {
        Ok(text) => text.extract()?,
        // NaN and infinities (ValueError), objects JSON has no type for
        // (TypeError): Python's message says which.
        Err(e) => {
            let hint = match e.is_instance_of::<PyValueError>(attrs.py()) {
                true => " (JSON has no NaN or infinity: store None or a string instead)",
                false => "",
            };
            let e = e.value(attrs.py()).str()?;
            return Err(invalid(
                path,
                format!("attrs cannot be stored as JSON: {e}{hint}"),
            ));
        }
    };
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(path, "attrs must be a dict")),
        Err(e) => Err(invalid(
            path,
            format!("attrs cannot be stored as JSON: {e}"),
        )),
    }
}

/// `array` cast to `dtype` as numpy assignment casts (`same_kind`: int32
/// into float64, float64 into float32, not float into int): what `append`
/// and the adapters' writers take. Other casts are `DTypeMismatch` with
/// numpy's names of the two dtypes.
fn cast_same_kind<'py>(
    array: &Bound<'py, PyAny>,
    dtype: DType,
    path: &Path,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let py = array.py();
    let numpy = py.import("numpy")?;
    let array = numpy.call_method1("asarray", (array,))?;
    let given = array.getattr("dtype")?;
    let wanted = numpy_dtype(py, dtype)?;
    if given.eq(&wanted)? {
        return Ok(array);
    }
    let ok: bool = numpy
        .call_method1("can_cast", (&given, &wanted, "same_kind"))?
        .extract()?;
    if !ok {
        let given: String = given.getattr("name")?.extract()?;
        let wanted: String = wanted.getattr("name")?.extract()?;
        let message = format!(
            "{}: cannot {what} dtype {given} to an array of dtype {wanted}: numpy's same_kind rule (as in assignment) does not cast {given} to {wanted}; convert them first with .astype(\"{wanted}\") if that is what you mean",
            path.display()
        );
        let err = errors::DTypeMismatch::new_err(message);
        err.value(py)
            .setattr("path", path.to_string_lossy().as_ref())?;
        return Err(err);
    }
    array.call_method1("astype", (wanted,))
}

/// `array` (of `dtype`, native byte order) as its bytes in `order` ("C" or
/// "F"), contiguous and aligned (a copy only when it is not already), and
/// its shape. A bool array must hold only the bytes 0 and 1: `InvalidBool`
/// naming the first element (in memory order) that does not.
fn contiguous_bytes<'py>(
    array: &Bound<'py, PyAny>,
    order: &str,
    dtype: DType,
    path: &Path,
) -> PyResult<(PyReadonlyArray1<'py, u8>, Vec<usize>)> {
    let py = array.py();
    let numpy = py.import("numpy")?;
    let requirements = PyList::new(py, [order, "A"])?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("requirements", requirements)?;
    let array = numpy.call_method("require", (array,), Some(&kwargs))?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("order", order)?;
    let flat = array
        .call_method("reshape", (-1,), Some(&kwargs))?
        .call_method1("view", (numpy.getattr("uint8")?,))?;
    let bytes = flat.cast::<PyArray1<u8>>()?.try_readonly()?;
    if dtype.element_type() == ElementType::Bool
        && let Some(index) = bytes.as_slice()?.iter().position(|&b| b > 1)
    {
        let byte = bytes.as_slice()?[index];
        let message = format!(
            "{}: element {index} (in memory order) of the bool array is the byte {byte}, not 0 or 1, so the file could not be read back; make the array valid bools first (numpy: a.view(np.uint8) != 0)",
            path.display()
        );
        let err = errors::InvalidBool::new_err(message);
        err.value(py)
            .setattr("path", path.to_string_lossy().as_ref())?;
        return Err(err);
    }
    Ok((bytes, shape))
}

/// The elements of `T` that `bytes` hold.
///
/// # Safety
///
/// `bytes` must be aligned for `T`, and every element a valid `T` (each
/// byte of a bool 0 or 1): what [`contiguous_bytes`] returns for `T`'s
/// dtype.
unsafe fn elements<T: Element>(bytes: &[u8]) -> &[T] {
    let n = bytes.len() / std::mem::size_of::<T>();
    if n == 0 {
        return &[];
    }
    // SAFETY: as the caller promises; `n` elements fit in `bytes`.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), n) }
}

/// `elements` in C or F (`fortran`) memory order as an array of `shape`.
fn view_of<'a, T>(
    path: &Path,
    elements: &'a [T],
    shape: &[usize],
    fortran: bool,
) -> mmarray::Result<ArrayViewD<'a, T>> {
    ArrayViewD::from_shape(IxDyn(shape).set_f(fortran), elements).map_err(|e| {
        mmarray::Error::InvalidArgument {
            path: path.to_path_buf(),
            message: format!("the array's elements do not fill shape {shape:?}: {e}"),
        }
    })
}

/// `mmarray.open(path, mode="r")`: maps a raw file with a sidecar, a .npy
/// file or a stored .npz member (`x.npz/name`, read-only) in mode "r",
/// "r+" or "c". numpy: `np.load(path, mmap_mode=mode)`. Every mode views
/// files in the other byte order (`>f4`) and data at an offset its type is
/// not aligned to as numpy does (`np.memmap(path, ">f4", mode)`),
/// zero-copy: writable for "r+" (writes reach the file) and "c" (they
/// never do); such an "r+" array can be flushed but not grown (`append`
/// and `resize` raise `InvalidArgument`). Waits, with the GIL released,
/// while another process holds the file's exclusive lock.
#[pyfunction]
#[pyo3(signature = (path, mode="r"))]
fn open(py: Python<'_>, path: PathBuf, mode: &str) -> PyResult<Array> {
    // SAFETY (each open below): the views this package hands out are numpy
    // arrays, raw pointers that Rust's aliasing rules do not cover, kept
    // valid by the handle they hold (the mapping lives until the last view
    // is gone). "r+" is numpy's: several writers of one file, through the
    // shared-write open, whose contract (writers touch disjoint parts while
    // others read them) is the Python user's, as with `np.memmap`; so is
    // keeping programs that take no lock from truncating a mapped file
    // (README, "What Python users can expect"). mmarray's own handles are
    // kept off by the locks the opens take.
    let (mapped, opened) = py
        .detach(|| -> mmarray::Result<_> {
            Ok(match mode {
                // SAFETY: as the note at the top of this function says.
                "r" => match unsafe { DynArray::open_in(&path) } {
                    Ok(a) => (Some(Mapped::R(a)), "r"),
                    // The other byte order, or data at an offset its type
                    // is not aligned to: numpy views those bytes as
                    // np.memmap does.
                    Err(e) if viewable_as_bytes(&e) => {
                        // SAFETY: as the note at the top of this function says.
                        (Some(Mapped::Bytes(unsafe { Source::open(&path) }?)), "r")
                    }
                    Err(e) => return Err(e),
                },
                // SAFETY: as the note at the top of this function says.
                "r+" => (Some(unsafe { open_writable(&path) }?), "r+"),
                // SAFETY: as the note at the top of this function says.
                "c" => match unsafe { DynArray::open_in(&path) } {
                    Ok(a) => (Some(Mapped::C(a)), "c"),
                    Err(e) if viewable_as_bytes(&e) => (
                        // SAFETY: as the note at the top of this function says.
                        Some(Mapped::BytesC(unsafe { Source::open_copy(&path) }?)),
                        "c",
                    ),
                    Err(e) => return Err(e),
                },
                _ => (None, ""),
            })
        })
        .py()?;
    match mapped {
        Some(mapped) => Ok(Array::new(mapped, opened)),
        None => Err(PyValueError::new_err(format!(
            "mode must be \"r\", \"r+\" or \"c\", not {mode:?}"
        ))),
    }
}

/// Whether `e`, from a typed open, is about data numpy views as it is
/// (the other byte order, an offset its type is not aligned to), so that
/// the array opens as bytes instead, as `np.memmap` opens it.
fn viewable_as_bytes(e: &mmarray::Error) -> bool {
    matches!(
        e,
        mmarray::Error::NonNativeByteOrder { .. } | mmarray::Error::MisalignedOffset { .. }
    )
}

/// The array at `path` open "r+" (the shared-write open): the typed array,
/// or writable bytes for data numpy views as it is.
///
/// # Safety
///
/// The shared-write contract ([`DynArray::open_shared_mut`],
/// [`Source::open_shared_mut`]).
pub(crate) unsafe fn open_writable(path: &Path) -> mmarray::Result<Mapped> {
    // SAFETY: the caller's contract.
    match unsafe { DynArray::open_shared_mut(path) } {
        Ok(a) => Ok(Mapped::W(a)),
        Err(e) if viewable_as_bytes(&e) => {
            // SAFETY: the caller's contract (the same for the bytes).
            Ok(Mapped::BytesW(unsafe { Source::open_shared_mut(path) }?))
        }
        Err(e) => Err(e),
    }
}

/// `mmarray.info(path)`: what `mmarray info --json PATH` prints, as a dict
/// (a list of dicts for a .npz archive). numpy: `np.load(path,
/// mmap_mode="r")` and its `dtype`, `shape`, `flags.f_contiguous`,
/// `offset`, `nbytes`, without mapping the data.
#[pyfunction]
fn info(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let is_archive = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        && path.is_file();
    let value = py
        .detach(|| -> mmarray::Result<serde_json::Value> {
            let value = if is_archive {
                let npz = mmarray::Npz::open(&path)?;
                serde_json::to_value(npz.members()?)
            } else {
                serde_json::to_value(mmarray::inspect(&path)?)
            };
            Ok(value.unwrap_or(serde_json::Value::Null))
        })
        .py()?;
    json_to_py(py, &value)
}

/// `mmarray.stats(path)`: what `mmarray stats --json PATH` prints, as a
/// dict (integer sums as exact Python ints). Runs on all cores with the GIL
/// released. numpy: `a.min()`, `a.max()`, `a.sum()`, `a.mean()`,
/// `a.std()`, `np.isnan(a).sum()`.
#[pyfunction]
fn stats(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let stats = py.detach(|| Stats::of_path(&path, |_| {})).py()?;
    // As text, not a serde_json::Value: a u64 sum beyond 2**64 (held as
    // i128/u128) has no Value, and json.loads reads it as an exact int.
    let text = serde_json::to_string(&stats)
        .map_err(|e| PyValueError::new_err(format!("stats as JSON: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Options for a new array at `path`; the format from `path`'s name when
/// `by_name`.
fn options(
    order: &str,
    attrs: Option<&Bound<'_, PyAny>>,
    overwrite: bool,
    path: &Path,
    by_name: bool,
) -> PyResult<CreateOptions> {
    let order: Order = order.parse().map_err(|_| {
        PyValueError::new_err(format!("order must be \"C\" or \"F\", not {order:?}"))
    })?;
    let mut options = CreateOptions::new();
    options
        .order(order)
        .overwrite(overwrite)
        .attrs(attrs_from_py(attrs, path)?);
    if by_name {
        let npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        options.format(if npy { Format::Npy } else { Format::Raw });
    }
    Ok(options)
}

/// A shape for an array at `path`: an int or a sequence of ints, none
/// negative (`InvalidArgument`, as numpy's "negative dimensions are not
/// allowed").
fn shape_of(shape: &Bound<'_, PyAny>, path: &Path) -> PyResult<Vec<usize>> {
    let dims: Vec<i128> = match shape.extract::<i128>() {
        Ok(n) => vec![n],
        Err(_) => shape.extract().map_err(|_| {
            invalid(
                path,
                format!("shape must be an int or a sequence of ints, not {shape}"),
            )
        })?,
    };
    dims.iter()
        .map(|&n| {
            usize::try_from(n).map_err(|_| {
                let why = if n < 0 {
                    "negative dimensions are not allowed"
                } else {
                    "a dimension overflows the address space"
                };
                invalid(path, format!("shape {dims:?}: {why}"))
            })
        })
        .collect()
}

/// A Python number as the [`Scalar`] a fill takes.
fn scalar(value: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if value.is_instance_of::<PyBool>() {
        return Ok(Scalar::Int(i128::from(value.extract::<bool>()?)));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Scalar::Int(value.extract::<i128>()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Scalar::Float(value.extract::<f64>()?));
    }
    if value.is_instance_of::<PyComplex>() {
        let c = value.cast::<PyComplex>()?;
        return Ok(Scalar::Complex(c.real(), c.imag()));
    }
    // numpy scalars and anything else numeric: through Python's own types.
    let numpy = value.py().import("numpy")?;
    let kind: String = numpy
        .call_method1("asarray", (value,))?
        .getattr("dtype")?
        .getattr("kind")?
        .extract()?;
    match kind.as_str() {
        "b" | "i" | "u" => Ok(Scalar::Int(value.call_method0("__int__")?.extract()?)),
        "f" => Ok(Scalar::Float(value.call_method0("__float__")?.extract()?)),
        "c" => {
            let c = value.call_method0("__complex__")?;
            let c = c.cast::<PyComplex>()?;
            Ok(Scalar::Complex(c.real(), c.imag()))
        }
        _ => Err(PyValueError::new_err("fill must be a number")),
    }
}

/// `mmarray.create(path, shape, dtype, ...)`: a new array (.npy when the
/// name ends in .npy, else raw + sidecar), open "r+". numpy:
/// `np.lib.format.open_memmap(path, "w+", dtype, shape)`.
#[pyfunction]
#[pyo3(signature = (path, shape, dtype, order="C", fill=None, preallocate=false, attrs=None, overwrite=false))]
#[allow(clippy::too_many_arguments)]
fn create(
    py: Python<'_>,
    path: PathBuf,
    shape: Bound<'_, PyAny>,
    dtype: Bound<'_, PyAny>,
    order: &str,
    fill: Option<Bound<'_, PyAny>>,
    preallocate: bool,
    attrs: Option<Bound<'_, PyAny>>,
    overwrite: bool,
) -> PyResult<Array> {
    let shape = shape_of(&shape, &path)?;
    let dtype = dtype_of(&dtype, &path)?;
    let mut options = options(order, attrs.as_ref(), overwrite, &path, true)?;
    options
        .preallocate(preallocate)
        .byte_order(dtype.byte_order());
    let fill = match fill.filter(|f| !f.is_none()) {
        Some(fill) => scalar(&fill)?,
        None => mmarray::Scalar::Int(0),
    };
    let mapped = py
        .detach(|| {
            options.create_filled(&path, dtype, &shape, fill)?;
            // SAFETY: as in `open` ("r+": numpy's "w+" is "r+" on a new file).
            unsafe { open_writable(&path) }
        })
        .py()?;
    Ok(Array::new(mapped, "r+"))
}

/// `mmarray.save(path, array, attrs=None, overwrite=True)`: writes an
/// array (its dtype, byte order and C or F order kept), replacing an
/// existing one atomically as `np.save` does. numpy: `np.save(path,
/// array)`, or `array.tofile(path)` plus a sidecar.
#[pyfunction]
#[pyo3(signature = (path, array, attrs=None, overwrite=true))]
fn save(
    py: Python<'_>,
    path: PathBuf,
    array: Bound<'_, PyAny>,
    attrs: Option<Bound<'_, PyAny>>,
    overwrite: bool,
) -> PyResult<()> {
    let numpy = py.import("numpy")?;
    let mut array = numpy.call_method1("asarray", (array,))?;
    let fortran = {
        let flags = array.getattr("flags")?;
        flags.getattr("f_contiguous")?.extract::<bool>()?
            && !flags.getattr("c_contiguous")?.extract::<bool>()?
    };
    let dtype = dtype_of(&array.getattr("dtype")?, &path)?;
    if !dtype.is_native() {
        // A native copy to read; the file gets the array's byte order.
        let native = array
            .getattr("dtype")?
            .call_method1("newbyteorder", ("=",))?;
        array = array.call_method1("astype", (native,))?;
    }
    let order = if fortran { "F" } else { "C" };
    let mut options = options(order, attrs.as_ref(), overwrite, &path, true)?;
    options.byte_order(dtype.byte_order());
    let (bytes, shape) = contiguous_bytes(&array, order, dtype, &path)?;
    let bytes = bytes.as_slice()?;
    py.detach(|| {
        dispatch_type!(dtype.element_type(), |T| {
            // SAFETY: `contiguous_bytes` of an array of `T`'s (native)
            // dtype: aligned, and bools checked.
            let elements = unsafe { elements::<T>(bytes) };
            options.write(&path, &view_of(&path, elements, &shape, fortran)?)
        })
        .map(drop)
    })
    .py()
}

/// The extension module, re-exported by the `mmarray` package.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Array>()?;
    m.add_class::<store::Store>()?;
    m.add_class::<store::Sharded>()?;
    m.add_class::<staged::Staged>()?;
    m.add_function(wrap_pyfunction!(staged::stage, m)?)?;
    m.add_function(wrap_pyfunction!(zarr::chunk_shape, m)?)?;
    m.add_function(wrap_pyfunction!(zarr::zarr_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(zarr::zarr_group_metadata, m)?)?;
    m.add("DEFAULT_CHUNK_BYTES", mmarray::layout::DEFAULT_CHUNK_BYTES)?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    #[cfg(target_os = "linux")]
    {
        m.add_class::<sealed::Sealed>()?;
        m.add_function(wrap_pyfunction!(sealed::seal, m)?)?;
        m.add_function(wrap_pyfunction!(sealed::open_sealed, m)?)?;
    }
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(stats, m)?)?;
    m.add_function(wrap_pyfunction!(create, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    errors::register(m)?;
    Ok(())
}
