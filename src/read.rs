//! Copying reads: an array file into an owned [`ndarray::Array`].
//!
//! A zero-copy view needs the elements in the machine's byte order. A file
//! in the other order (`>f4` on x86) is read here instead: the bytes are
//! copied and swapped into a new array. Files in native order can be read
//! this way too, when an owned array is wanted.
//!
//! This module reads with `pread` ([`Scan`]): nothing is mapped, so a file
//! changed or cut short by another program meanwhile gives the bytes read
//! or [`Error::Truncated`], never undefined behaviour or `SIGBUS`. It
//! writes nothing.

use std::path::Path;

use ndarray::{ArrayD, ShapeBuilder};

use crate::dtype::{self, DType, Element};
use crate::error::{Error, Result};
use crate::format;
use crate::layout::{Layout, Order};
use crate::npz::Npz;
use crate::scan::Scan;

/// Reads the array at `path` (a `.npy` file, a raw file or its sidecar, or
/// a `.npz` member `x.npz/name`, compressed or not) into an owned array,
/// converting it from the file's byte order.
///
/// ```
/// use mmarray::{ByteOrder, CreateOptions};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("be.dat");
/// CreateOptions::new().byte_order(ByteOrder::Big).write(&path, &array![1i32, -2, 3])?;
/// // A zero-copy view is refused (Error::NonNativeByteOrder), a copy works:
/// // SAFETY: the file is this example's own; nothing else changes it.
/// assert!(unsafe { mmarray::MappedArray::<i32>::open(&path) }.is_err());
/// assert_eq!(mmarray::read_array::<i32>(&path)?, array![1i32, -2, 3].into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`MappedArray::open`](crate::MappedArray::open), except that any byte
/// order is accepted and the offset need not be aligned;
/// [`Error::Truncated`] if the file is cut short while it is read.
pub fn read_array<T: Element>(path: impl AsRef<Path>) -> Result<ArrayD<T>> {
    let path = path.as_ref();
    match Scan::open(path) {
        Ok(scan) => {
            let info = scan.info();
            let layout = info.layout();
            check_dtype::<T>(info.path(), layout)?;
            let mut elements = Vec::with_capacity(layout.len());
            let mut reader = scan.reader();
            while let Some(block) = reader.next_elements::<T>()? {
                elements.extend_from_slice(block);
            }
            shaped(info.path(), layout, elements)
        }
        // A compressed `.npz` member has no bytes to map: inflate it.
        Err(Error::CompressedMember { .. }) => {
            let Some((archive, name)) = format::npz_member(path) else {
                unreachable!("only .npz members are compressed")
            };
            let member = Npz::open(archive)?.extract(name)?;
            let layout = &member.layout;
            let elements = &member.bytes[layout.offset() as usize..layout.end() as usize];
            decode_array(archive, layout, elements)
        }
        Err(e) => Err(e),
    }
}

/// The elements `bytes` (as `layout` describes them, from the file at
/// `path`) decoded into an owned array of `T`.
fn decode_array<T: Element>(path: &Path, layout: &Layout, bytes: &[u8]) -> Result<ArrayD<T>> {
    check_dtype::<T>(path, layout)?;
    let mut elements = Vec::new();
    dtype::decode_into(bytes, layout.dtype().byte_order(), &mut elements).map_err(|index| {
        Error::InvalidBool {
            path: path.to_path_buf(),
            index,
            byte: bytes[index],
        }
    })?;
    shaped(path, layout, elements)
}

/// [`Error::DtypeMismatch`] unless `layout` holds `T`s.
fn check_dtype<T: Element>(path: &Path, layout: &Layout) -> Result<()> {
    if layout.dtype().element_type() != T::TYPE {
        return Err(Error::DtypeMismatch {
            path: path.to_path_buf(),
            expected: DType::of::<T>(),
            found: layout.dtype(),
        });
    }
    Ok(())
}

/// `elements`, in `layout`'s memory order, as an array of its shape.
fn shaped<T: Element>(path: &Path, layout: &Layout, elements: Vec<T>) -> Result<ArrayD<T>> {
    let shape = ndarray::IxDyn(layout.shape()).set_f(layout.order() == Order::F);
    ArrayD::from_shape_vec(shape, elements).map_err(|e| Error::InvalidArgument {
        path: path.to_path_buf(),
        message: format!("decoded elements do not fit the shape: {e}"),
    })
}
