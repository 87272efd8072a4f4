//! `mmarray._core`: the Python extension over the mmarray crate.
//!
//! A thin layer: it converts types (paths, dtypes, numpy arrays, JSON) and
//! errors ([`errors`]), and leaves every format rule to the library.
//! [`handle`] holds the open array and the lifetime of its numpy views.

#![deny(unsafe_op_in_unsafe_fn)]

mod errors;
mod handle;
#[cfg(target_os = "linux")]
mod sealed;
mod staged;
mod store;
mod zarr;

use std::path::PathBuf;

use mmarray::{CreateOptions, DType, DynArray, Format, Order, Scalar, Stats, dispatch_type};
use numpy::PyArrayDyn;
use numpy::PyArrayMethods;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyFloat, PyInt};

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

/// A Python dict or `None` as attrs (through `json.dumps`).
pub(crate) fn attrs_from_py(attrs: Option<&Bound<'_, PyAny>>) -> PyResult<mmarray::Attrs> {
    let Some(attrs) = attrs.filter(|a| !a.is_none()) else {
        return Ok(mmarray::Attrs::new());
    };
    let text: String = attrs
        .py()
        .import("json")?
        .call_method1("dumps", (attrs,))?
        .extract()?;
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(PyValueError::new_err("attrs must be a dict")),
    }
}

/// `mmarray.open(path, mode="r")`: maps a raw file with a sidecar, a .npy
/// file or a stored .npz member (`x.npz/name`, read-only) in mode "r",
/// "r+" or "c". numpy: `np.load(path, mmap_mode=mode)`.
#[pyfunction]
#[pyo3(signature = (path, mode="r"))]
fn open(path: PathBuf, mode: &str) -> PyResult<Array> {
    // SAFETY (each open): the views this package hands out are numpy
    // arrays, raw pointers that Rust's aliasing rules do not cover, kept
    // valid by the handle they hold (the mapping lives until the last view
    // is gone). "r+" is numpy's: several writers of one file, through the
    // shared-write open, whose contract (writers touch disjoint parts while
    // others read them) is the Python user's, as with `np.memmap`; so is
    // keeping programs that take no lock from truncating a mapped file
    // (README, "What Python users can expect"). mmarray's own handles are
    // kept off by the locks the opens take.
    let (mapped, mode) = match mode {
        "r" => (Mapped::R(unsafe { DynArray::open_in(&path) }.py()?), "r"),
        "r+" => (
            Mapped::W(unsafe { DynArray::open_shared_mut(&path) }.py()?),
            "r+",
        ),
        "c" => (Mapped::C(unsafe { DynArray::open_in(&path) }.py()?), "c"),
        other => {
            return Err(PyValueError::new_err(format!(
                "mode must be \"r\", \"r+\" or \"c\", not {other:?}"
            )));
        }
    };
    Ok(Array::new(mapped, mode))
}

/// `mmarray.info(path)`: what `mmarray info --json PATH` prints, as a dict
/// (a list of dicts for a .npz archive).
#[pyfunction]
fn info(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let is_archive = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        && path.is_file();
    let value = if is_archive {
        let npz = mmarray::Npz::open(&path).py()?;
        let members = npz.members().py()?;
        serde_json::to_value(&members).map_err(|e| PyValueError::new_err(e.to_string()))?
    } else {
        let info = mmarray::inspect(&path).py()?;
        serde_json::to_value(&info).map_err(|e| PyValueError::new_err(e.to_string()))?
    };
    json_to_py(py, &value)
}

/// `mmarray.stats(path)`: what `mmarray stats --json PATH` prints, as a
/// dict. Runs on all cores with the GIL released. numpy: `a.min()`,
/// `a.max()`, `a.sum()`, `a.mean()`, `a.std()`, `np.isnan(a).sum()`.
#[pyfunction]
fn stats(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let stats = py.detach(|| Stats::of_path(&path, |_| {})).py()?;
    let value = serde_json::to_value(&stats)
        .map_err(|e| PyValueError::new_err(format!("stats as JSON: {e}")))?;
    json_to_py(py, &value)
}

/// Options for a new array; the format from `path`'s name when given.
fn options(
    order: &str,
    attrs: Option<&Bound<'_, PyAny>>,
    overwrite: bool,
    path: Option<&std::path::Path>,
) -> PyResult<CreateOptions> {
    let order: Order = order.parse().map_err(|_| {
        PyValueError::new_err(format!("order must be \"C\" or \"F\", not {order:?}"))
    })?;
    let mut options = CreateOptions::new();
    options
        .order(order)
        .overwrite(overwrite)
        .attrs(attrs_from_py(attrs)?);
    if let Some(path) = path {
        let npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        options.format(if npy { Format::Npy } else { Format::Raw });
    }
    Ok(options)
}

/// A shape: an int or a sequence of ints.
fn shape_of(shape: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    match shape.extract::<usize>() {
        Ok(n) => Ok(vec![n]),
        Err(_) => shape.extract(),
    }
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
    path: PathBuf,
    shape: Bound<'_, PyAny>,
    dtype: Bound<'_, PyAny>,
    order: &str,
    fill: Option<Bound<'_, PyAny>>,
    preallocate: bool,
    attrs: Option<Bound<'_, PyAny>>,
    overwrite: bool,
) -> PyResult<Array> {
    let shape = shape_of(&shape)?;
    let dtype = dtype_of(&dtype, &path)?;
    let mut options = options(order, attrs.as_ref(), overwrite, Some(&path))?;
    options
        .preallocate(preallocate)
        .byte_order(dtype.byte_order());
    let fill = match fill.filter(|f| !f.is_none()) {
        None => mmarray::Scalar::Int(0),
        Some(fill) => scalar(&fill)?,
    };
    options.create_filled(&path, dtype, &shape, fill).py()?;
    // SAFETY: as in `open` ("r+": numpy's "w+" is "r+" on a new file).
    let mapped = unsafe { DynArray::open_shared_mut(&path) }.py()?;
    Ok(Array::new(Mapped::W(mapped), "r+"))
}

/// `mmarray.save(path, array, attrs=None, overwrite=False)`: writes an
/// array (its dtype, byte order and C or F order kept). numpy:
/// `np.save(path, array)`, or `array.tofile(path)` plus a sidecar.
#[pyfunction]
#[pyo3(signature = (path, array, attrs=None, overwrite=false))]
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
    let mut options = options(
        if fortran { "F" } else { "C" },
        attrs.as_ref(),
        overwrite,
        Some(&path),
    )?;
    options.byte_order(dtype.byte_order());
    dispatch_type!(dtype.element_type(), |T| {
        let view = array.cast::<PyArrayDyn<T>>()?.try_readonly()?;
        options.write(&path, &view.as_array()).py()?;
    });
    Ok(())
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
