//! Copying reads: an array file into an owned [`ndarray::Array`].
//!
//! A zero-copy view needs the elements in the machine's byte order. A file
//! in the other order (`>f4` on x86) is read here instead: the bytes are
//! copied and swapped into a new array. Files in native order can be read
//! this way too, when an owned array is wanted.
//!
//! This module maps the file read-only to read it, and writes nothing.

use std::path::Path;

use ndarray::{ArrayD, ShapeBuilder};

use crate::dtype::{self, DType, Element};
use crate::error::{Error, Result};
use crate::layout::Order;
use crate::source::Source;

/// Reads the array at `path` (a `.npy` file, a raw file or its sidecar)
/// into an owned array, converting it from the file's byte order.
///
/// ```
/// use mmarray::{ByteOrder, CreateOptions};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("be.dat");
/// CreateOptions::new().byte_order(ByteOrder::Big).write(&path, &array![1i32, -2, 3])?;
/// // A zero-copy view is refused (Error::NonNativeByteOrder), a copy works:
/// assert!(mmarray::MappedArray::<i32>::open(&path).is_err());
/// assert_eq!(mmarray::read_array::<i32>(&path)?, array![1i32, -2, 3].into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`MappedArray::open`](crate::MappedArray::open), except that any byte
/// order is accepted and the offset need not be aligned.
pub fn read_array<T: Element>(path: impl AsRef<Path>) -> Result<ArrayD<T>> {
    let src = Source::open(path)?;
    let (info, map) = (&src.info, src.bytes());
    let layout = &info.layout;
    if layout.dtype().element_type() != T::TYPE {
        return Err(Error::DtypeMismatch {
            path: info.path.clone(),
            expected: DType::of::<T>(),
            found: layout.dtype(),
        });
    }
    let mut elements = Vec::new();
    dtype::decode_into(map, layout.dtype().byte_order(), &mut elements).map_err(|index| {
        Error::InvalidBool {
            path: info.path.clone(),
            index,
            byte: map[index],
        }
    })?;
    let shape = ndarray::IxDyn(layout.shape()).set_f(layout.order() == Order::F);
    ArrayD::from_shape_vec(shape, elements).map_err(|e| Error::InvalidArgument {
        path: info.path.clone(),
        message: format!("decoded elements do not fit the shape: {e}"),
    })
}
