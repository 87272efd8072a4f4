//! `mmarray.seal` and `mmarray.open_sealed`: an array in sealed shared
//! memory ([`mmarray::SealedArray`]), handed between processes by its
//! descriptor and changeable by none.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use mmarray::{SealedArray, dispatch_type};
use numpy::{PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;

use crate::errors::IntoPy;

macro_rules! define_dyn_sealed {
    (() $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        /// A [`SealedArray`] of whichever element type it holds.
        enum DynSealed {
            $($variant(SealedArray<$ty>),)*
        }

        $(
            impl From<SealedArray<$ty>> for DynSealed {
                fn from(array: SealedArray<$ty>) -> Self {
                    DynSealed::$variant(array)
                }
            }
        )*

        impl DynSealed {
            /// Maps the sealed memfd `fd` as the element type its header says.
            fn from_fd(fd: OwnedFd, element: mmarray::ElementType) -> mmarray::Result<Self> {
                match element {
                    $(mmarray::ElementType::$variant => SealedArray::<$ty>::from_fd(fd).map(DynSealed::$variant),)*
                    // ElementType is non_exhaustive; the table lists every type.
                    _ => SealedArray::<u8>::from_fd(fd).map(DynSealed::U8),
                }
            }

            fn attrs(&self) -> &mmarray::Attrs {
                match self {
                    $(DynSealed::$variant(a) => a.attrs(),)*
                }
            }

            fn fd(&self) -> i32 {
                match self {
                    $(DynSealed::$variant(a) => a.as_fd().as_raw_fd(),)*
                }
            }

            fn view<'py>(&self, owner: Bound<'py, PyAny>) -> Bound<'py, PyAny> {
                match self {
                    // SAFETY: the view points into the sealed mapping owned
                    // by `owner` (the `Sealed` object), the numpy array's
                    // base, which keeps it mapped while the array lives; the
                    // kernel keeps every byte of it from changing.
                    $(DynSealed::$variant(a) => unsafe {
                        PyArrayDyn::borrow_from_array(&a.view(), owner).into_any()
                    },)*
                }
            }
        }
    };
}

mmarray::for_each_element_type!([define_dyn_sealed]);

/// An array in a sealed memfd: `.fd` to hand to another process,
/// `.array` a read-only zero-copy numpy view, `.attrs` its metadata.
#[pyclass(module = "mmarray", name = "Sealed", frozen)]
pub struct Sealed {
    inner: DynSealed,
}

#[pymethods]
impl Sealed {
    /// The sealed memfd's descriptor, valid while this object lives: pass
    /// it to a child (`subprocess.Popen(..., pass_fds=[s.fd])`) or over a
    /// Unix socket (`socket.send_fds`), where `mmarray.open_sealed(fd)`
    /// maps the same pages.
    #[getter]
    fn fd(&self) -> i32 {
        self.inner.fd()
    }

    /// The array: read-only, zero-copy over the sealed memory.
    /// numpy: `np.frombuffer(shared_memory.buf, dtype).reshape(shape)`,
    /// with writes refused by the kernel.
    #[getter]
    fn array<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let array = slf.get().inner.view(slf.clone().into_any());
        array.call_method1("setflags", (false,))?;
        Ok(array)
    }

    /// The user metadata stored with the array, as a dict.
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::json_to_py(py, &serde_json::Value::Object(self.inner.attrs().clone()))
    }

    fn __repr__(&self) -> String {
        format!("<mmarray.Sealed fd={}>", self.inner.fd())
    }
}

/// `mmarray.seal(array, attrs=None)`: copies `array` into a new memfd (an
/// `.npy` image: dtype and shape travel with it, attrs after it) and seals
/// it against every write, shrink and growth. numpy has no equivalent:
/// `multiprocessing.shared_memory.SharedMemory` plus `np.ndarray(shape,
/// dtype, buffer=shm.buf)` comes closest, without the dtype, the shape or
/// the guarantee that nobody changes it.
#[pyfunction]
#[pyo3(signature = (array, attrs=None))]
pub fn seal(
    py: Python<'_>,
    array: Bound<'_, PyAny>,
    attrs: Option<Bound<'_, PyAny>>,
) -> PyResult<Sealed> {
    let numpy = py.import("numpy")?;
    // C order, this machine's byte order: what the image holds.
    let array = numpy.call_method1("ascontiguousarray", (array,))?;
    let path = PathBuf::from("memfd:mmarray");
    let mut dtype = crate::dtype_of(&array.getattr("dtype")?, &path)?;
    let array = if dtype.is_native() {
        array
    } else {
        let native = array
            .getattr("dtype")?
            .call_method1("newbyteorder", ("=",))?;
        dtype = mmarray::DType::native(dtype.element_type());
        array.call_method1("astype", (native,))?
    };
    let attrs = crate::attrs_from_py(attrs.as_ref(), &path)?;
    let inner = dispatch_type!(dtype.element_type(), |T| {
        let view = array.cast::<PyArrayDyn<T>>()?.try_readonly()?;
        let elements = view.as_array();
        // The whole-array copy into the memfd runs with the GIL released.
        let sealed = py.detach(move || SealedArray::<T>::with_attrs(&elements, attrs));
        DynSealed::from(sealed.py()?)
    });
    Ok(Sealed { inner })
}

/// `mmarray.open_sealed(fd)`: maps the sealed array whose descriptor this
/// process was given, after checking every seal and the image; the caller
/// keeps `fd` (it is opened anew). Raises `InvalidArgument` naming the
/// seal missing from a descriptor that is not sealed.
#[pyfunction]
pub fn open_sealed(py: Python<'_>, fd: i32) -> PyResult<Sealed> {
    let path = PathBuf::from(format!("/proc/self/fd/{fd}"));
    // Opening the descriptor's /proc entry gives a descriptor of our own
    // for the same memfd (seals belong to the memfd, not the descriptor).
    let file = std::fs::File::open(&path).map_err(|e| {
        pyo3::exceptions::PyOSError::new_err((
            e.raw_os_error(),
            e.to_string(),
            path.display().to_string(),
        ))
    })?;
    // Checking the seals, the header and (for bool) every element runs with
    // the GIL released.
    let inner = py
        .detach(|| {
            let (layout, _) = mmarray::sealed::inspect(file.as_fd())?;
            DynSealed::from_fd(OwnedFd::from(file), layout.dtype().element_type())
        })
        .py()?;
    Ok(Sealed { inner })
}
