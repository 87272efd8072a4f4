//! The one conversion from [`mmarray::Error`] to Python exceptions.
//!
//! One exception class per error kind, all subclasses of `mmarray.Error`,
//! each with a `.path` attribute (a `str`); [`mmarray::Error::Io`] becomes
//! the `OSError` subclass of its `errno` (`FileNotFoundError`,
//! `PermissionError`, ...) with `errno`, `strerror` and `filename` set.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;

create_exception!(
    mmarray,
    Error,
    PyException,
    "Base class of every mmarray error (except OSError for operating-system failures). `.path` names the file."
);

macro_rules! kinds {
    ($($name:ident: $doc:literal;)*) => {
        $(create_exception!(mmarray, $name, Error, $doc);)*

        /// Adds the base class and every kind to the module.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("Error", py.get_type::<Error>())?;
            $(m.add(stringify!($name), py.get_type::<$name>())?;)*
            Ok(())
        }
    };
}

kinds! {
    SidecarMissing: "A raw data file has no sidecar next to it (and is not a .npy file).";
    MalformedSidecar: "The sidecar is not valid JSON or breaks the schema.";
    UnsupportedVersion: "The sidecar's version is not one this build reads.";
    MalformedNpy: "A .npy file's magic, version or header is invalid.";
    MalformedNpz: "A .npz file's ZIP structure is invalid.";
    UnsupportedNpz: "A .npz member uses a ZIP feature that is not supported.";
    CompressedMember: "A .npz member is compressed (np.savez_compressed), so it cannot be mapped in place.";
    ChecksumMismatch: "A .npz member's bytes do not have the CRC-32 the archive records.";
    UnknownDtype: "The dtype is not one of the supported element types.";
    DTypeMismatch: "The array's dtype differs from the one given (e.g. rows appended of another dtype).";
    NonNativeByteOrder: "The data is in the other byte order, so it cannot be viewed in place.";
    ShapeOverflow: "The shape's size overflows the address space.";
    TooManyDimensions: "The shape has more dimensions than numpy supports.";
    DataTooShort: "The data file is shorter than offset + the array's size.";
    Truncated: "The file ended before the array's data did while a whole-file scan read it (another program truncated it); `.path` names it, the message the byte.";
    MisalignedOffset: "The byte offset is not a multiple of the dtype's alignment.";
    InvalidBool: "A bool array holds a byte other than 0 or 1.";
    DimensionMismatch: "An array of another number of dimensions was expected.";
    AlreadyExists: "An array already exists at the path (pass overwrite=True to replace it), a store (for Store(path, create=True)), or an array of the name Store.rename was given.";
    Busy: "The array is mapped elsewhere (it cannot be shrunk, replaced or removed now), or another handle is growing it.";
    SameFile: "The destination is the same file as an input.";
    ForkedHandle: "A handle inherited through fork (or multiprocessing's fork start method) was asked to grow, shrink or rewrite the array: open the array again in the child.";
    InvalidName: "A store was given an unsafe array name.";
    ShapeMismatch: "Shapes that must agree (rows appended, shards) do not.";
    InvalidArgument: "An argument is out of range or does not apply to this array.";
    NotFound: "A store has no array of the name given (Store.remove, Store.rename, Store.open).";
}

/// The Rust advice in the library's messages, in Python's spelling.
const PYTHON_SPELLING: &[(&str, &str)] = &[
    ("pass overwrite(true)", "pass overwrite=True"),
    (
        "read a converted copy with `read_array`, or convert the file with `convert` and `ConvertOptions::byte_order(ByteOrder::NATIVE)`",
        "open it with mmarray.open(path, mode), which views it in its byte order as np.memmap does (in every mode), or convert the file with `mmarray convert --byte-order native`",
    ),
    (
        "describe the file with `mmarray::describe`",
        "describe it with `mmarray sidecar PATH --dtype DTYPE --shape SHAPE` (or mmarray_sidecar.write_sidecar)",
    ),
    (
        "(mmarray::Npz lists them)",
        "(mmarray.info(ARCHIVE) lists them)",
    ),
    ("`Store::open`", "mmarray.Store(path) (without create=True)"),
];

/// `message` with the library's Rust spelling replaced by Python's; a
/// store's marker file is not a "sidecar".
pub fn pythonic(message: String, path: &std::path::Path) -> String {
    let mut message = PYTHON_SPELLING
        .iter()
        .fold(message, |m, (rust, python)| m.replace(rust, python));
    if path.file_name().is_some_and(|n| n == "mmarray-store.json") {
        message = message
            .replace("malformed sidecar", "malformed store file")
            .replace("sidecar version", "store file version");
    }
    message
}

/// The Python exception for `err`.
pub fn to_py(err: mmarray::Error) -> PyErr {
    use mmarray::Error as E;
    let path = err.path().to_string_lossy().into_owned();
    let message = pythonic(err.to_string(), err.path());
    let py_err = match &err {
        // The operating system's failures: the OSError subclass of errno.
        E::Io { action, source, .. } if source.raw_os_error().is_some() => {
            let strerror = format!("{action} failed: {source}");
            return PyOSError::new_err((source.raw_os_error(), strerror, path));
        }
        // The library's own "not found" (no errno): a name a store lacks.
        E::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            NotFound::new_err(message)
        }
        E::SidecarMissing { .. } => SidecarMissing::new_err(message),
        E::MalformedSidecar { .. } => MalformedSidecar::new_err(message),
        E::UnsupportedVersion { .. } => UnsupportedVersion::new_err(message),
        E::MalformedNpy { .. } => MalformedNpy::new_err(message),
        E::MalformedNpz { .. } => MalformedNpz::new_err(message),
        E::UnsupportedNpz { .. } => UnsupportedNpz::new_err(message),
        E::CompressedMember { .. } => CompressedMember::new_err(message),
        E::ChecksumMismatch { .. } => ChecksumMismatch::new_err(message),
        E::UnknownDtype { .. } => UnknownDtype::new_err(message),
        E::DtypeMismatch { .. } => DTypeMismatch::new_err(message),
        E::NonNativeByteOrder { .. } => NonNativeByteOrder::new_err(message),
        E::ShapeOverflow { .. } => ShapeOverflow::new_err(message),
        E::TooManyDimensions { .. } => TooManyDimensions::new_err(message),
        E::DataTooShort { .. } => DataTooShort::new_err(message),
        E::Truncated { .. } => Truncated::new_err(message),
        E::MisalignedOffset { .. } => MisalignedOffset::new_err(message),
        E::InvalidBool { .. } => InvalidBool::new_err(message),
        E::DimensionMismatch { .. } => DimensionMismatch::new_err(message),
        // One Python class for "something is there already": an array, or
        // a store for `Store(path, create=True)`, with Python's way out.
        E::AlreadyExists { .. } => AlreadyExists::new_err(message),
        E::StoreExists { .. } => AlreadyExists::new_err(message),
        E::NameTaken { name, .. } => AlreadyExists::new_err(
            message.replace("`Store::remove`", &format!("store.remove({name:?})")),
        ),
        E::Busy { .. } => Busy::new_err(message),
        E::SameFile { .. } => SameFile::new_err(message),
        E::ForkedHandle { .. } => ForkedHandle::new_err(message),
        E::InvalidName { .. } => InvalidName::new_err(message),
        E::ShapeMismatch { .. } => ShapeMismatch::new_err(message),
        // numpy's spelling of the library's advice for a single row.
        E::RowShapeMismatch { .. } => {
            ShapeMismatch::new_err(message.replace("row.insert_axis(Axis(0))", "row[np.newaxis]"))
        }
        E::InvalidArgument { .. } => InvalidArgument::new_err(message),
        _ => Error::new_err(message),
    };
    Python::attach(|py| {
        // Setting an attribute on a fresh exception instance cannot fail
        // but for memory exhaustion; the error then still says the path.
        let _ = py_err.value(py).setattr("path", &path);
    });
    py_err
}

/// `Result<T, mmarray::Error>` into `PyResult<T>`.
pub trait IntoPy<T> {
    /// Converts the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for mmarray::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
