//! Where an array's elements sit in a file: dtype, shape, memory order and
//! byte offset.
//!
//! A [`Layout`] is what both a JSON sidecar and a `.npy` header describe, and
//! the only input, besides bytes, that the view code needs. It is validated
//! when it is made: the element count times the element size fits in
//! `isize::MAX` bytes and the end of the data fits in a `u64`, so every size
//! computed from a `Layout` afterwards is exact. Checks that need the file
//! (its length) or the Rust element type live here too, so that the sidecar
//! and `.npy` paths cannot check differently.
//!
//! This module never opens a file.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

/// The most dimensions an array may have: numpy's `NPY_MAXDIMS` (64 since
/// numpy 2.0).
pub const MAX_DIMS: usize = 64;

/// The order in which elements are laid out in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major, last index fastest (numpy's default, `order="C"`).
    #[default]
    C,
    /// Column-major, first index fastest (`order="F"`, Fortran).
    F,
}

impl Order {
    /// `"C"` or `"F"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Order::C => "C",
            Order::F => "F",
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Order, String> {
        match s {
            "C" => Ok(Order::C),
            "F" => Ok(Order::F),
            other => Err(format!("order must be \"C\" or \"F\", not {other:?}")),
        }
    }
}

/// The chunk size the Dask and zarr adapters aim for by default (see
/// [`Layout::chunk_shape`]): 64 MiB, Dask's own default order of magnitude,
/// large enough that per-chunk overhead is small beside reading it.
pub const DEFAULT_CHUNK_BYTES: usize = 64 << 20;

/// A validated description of an array inside a file.
///
/// Obtained from an open array ([`MappedArray::layout`](crate::MappedArray::layout))
/// or from [`inspect`](crate::inspect); the sizes it reports are exact, never
/// overflowed.
///
/// ```
/// use mmarray::{MappedArray, Order};
///
/// let dir = tempfile::tempdir()?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let a = unsafe { MappedArray::<f32>::create(dir.path().join("a.dat"), &[10, 3]) }?;
/// let layout = a.layout();
/// assert_eq!(layout.shape(), &[10, 3]);
/// assert_eq!(layout.order(), Order::C);
/// assert_eq!(layout.len(), 30);
/// assert_eq!(layout.nbytes(), 120);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    dtype: DType,
    shape: Vec<usize>,
    order: Order,
    offset: u64,
    len: usize,
    nbytes: usize,
}

impl Layout {
    /// Validates a description read from `path`: at most [`MAX_DIMS`]
    /// dimensions, element count times item size at most `isize::MAX`, and
    /// `offset + nbytes` within `u64`.
    pub(crate) fn new(
        path: &Path,
        dtype: DType,
        shape: &[u64],
        order: Order,
        offset: u64,
    ) -> Result<Layout> {
        if shape.len() > MAX_DIMS {
            return Err(Error::TooManyDimensions {
                path: path.to_path_buf(),
                ndim: shape.len(),
                max: MAX_DIMS,
            });
        }
        let overflow = || Error::ShapeOverflow {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
            itemsize: dtype.itemsize(),
        };
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| overflow()))
            .collect::<Result<_>>()?;
        // Even an empty array must have a representable shape: numpy refuses
        // shape (0, 2**63) too, because its strides would overflow.
        let mut len: usize = 1;
        let mut nonzero_product: usize = 1;
        for &d in &dims {
            len = len.checked_mul(d).ok_or_else(overflow)?;
            if d != 0 {
                nonzero_product = nonzero_product.checked_mul(d).ok_or_else(overflow)?;
            }
        }
        let limit = isize::MAX as usize;
        nonzero_product
            .checked_mul(dtype.itemsize())
            .filter(|&n| n <= limit)
            .ok_or_else(overflow)?;
        let nbytes = len * dtype.itemsize();
        offset.checked_add(nbytes as u64).ok_or_else(overflow)?;
        Ok(Layout {
            dtype,
            shape: dims,
            order,
            offset,
            len,
            nbytes,
        })
    }

    /// The same layout at another byte offset and in another order.
    pub(crate) fn with_offset_and_order(
        &self,
        path: &Path,
        offset: u64,
        order: Order,
    ) -> Result<Layout> {
        let shape: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        Layout::new(path, self.dtype, &shape, order, offset)
    }

    /// The element type and byte order.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The extent of each axis; empty for a 0-d array.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// C (row-major) or F (column-major).
    pub fn order(&self) -> Order {
        self.order
    }

    /// The byte offset of element 0 in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of elements (1 for a 0-d array).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of bytes the elements take.
    pub fn nbytes(&self) -> usize {
        self.nbytes
    }

    /// The file length the array needs: `offset + nbytes`.
    pub fn end(&self) -> u64 {
        // Cannot overflow: checked in `new`.
        self.offset + self.nbytes as u64
    }

    /// Whether C and F order put the elements in different sequences: only
    /// when at least two axes are longer than 1 and the array is not empty.
    /// (numpy calls an array for which this is false both C- and
    /// F-contiguous, and records such arrays as C order in `.npy` files.)
    pub fn orders_differ(&self) -> bool {
        !self.is_empty() && self.shape.iter().filter(|&&d| d > 1).count() >= 2
    }

    /// The shape of a chunk of whole rows (C order) or whole columns (F
    /// order) holding about `target_bytes` (at least one row or column, at
    /// most the whole array): each such chunk is one contiguous byte range
    /// of the file. Every extent is at least 1 (an empty axis gets 1), as
    /// zarr's chunk grids and Dask's block shapes want; a 0-d array's chunk
    /// shape is `[]`.
    ///
    /// ```
    /// # use mmarray::Order;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("x.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let c = unsafe { mmarray::CreateOptions::new().create::<f32>(&path, &[1000, 256]) }?;
    /// // A row is 1 KiB: 64 rows per 64 KiB chunk.
    /// assert_eq!(c.layout().chunk_shape(64 << 10), [64, 256]);
    /// // SAFETY: as above.
    /// let f = unsafe {
    ///     mmarray::CreateOptions::new()
    ///         .order(Order::F)
    ///         .create::<f32>(dir.path().join("f.dat"), &[1000, 256])?
    /// };
    /// // A column is 4000 bytes: 16 columns in 64 KiB.
    /// assert_eq!(f.layout().chunk_shape(64 << 10), [1000, 16]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunk_shape(&self, target_bytes: usize) -> Vec<usize> {
        let ndim = self.shape.len();
        if ndim == 0 {
            return Vec::new();
        }
        let axis = match self.order {
            Order::C => 0,
            Order::F => ndim - 1,
        };
        let slab: usize = self
            .shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, &d)| d.max(1))
            .fold(self.dtype.itemsize(), |a, d| a.saturating_mul(d));
        let mut chunk: Vec<usize> = self.shape.iter().map(|&d| d.max(1)).collect();
        chunk[axis] = (target_bytes / slab).clamp(1, self.shape[axis].max(1));
        chunk
    }

    /// The distance in elements between neighbours along each axis.
    pub fn element_strides(&self) -> Vec<usize> {
        let mut strides = vec![0; self.shape.len()];
        let mut step = 1;
        let axes: Box<dyn Iterator<Item = usize>> = match self.order {
            Order::C => Box::new((0..self.shape.len()).rev()),
            Order::F => Box::new(0..self.shape.len()),
        };
        for axis in axes {
            strides[axis] = step;
            step *= self.shape[axis].max(1);
        }
        strides
    }

    /// The ndarray shape, with the memory order applied.
    pub(crate) fn nd_shape(&self) -> ndarray::Shape<ndarray::IxDyn> {
        use ndarray::ShapeBuilder;
        ndarray::IxDyn(&self.shape).set_f(self.order == Order::F)
    }

    /// Checks that `T` views this layout's elements in place: same element
    /// type, native byte order, offset aligned for `T`.
    pub(crate) fn check_viewable_as<T: Element>(&self, path: &Path) -> Result<()> {
        let expected = DType::of::<T>();
        if self.dtype.element_type() != T::TYPE {
            return Err(Error::DtypeMismatch {
                path: path.to_path_buf(),
                expected,
                found: self.dtype,
            });
        }
        if !self.dtype.is_native() {
            return Err(Error::NonNativeByteOrder {
                path: path.to_path_buf(),
                dtype: self.dtype,
            });
        }
        self.check_alignment(path)
    }

    /// Checks that the offset is a multiple of the element type's alignment,
    /// so that a mapping (which starts on a page boundary) puts every element
    /// at an aligned address.
    pub(crate) fn check_alignment(&self, path: &Path) -> Result<()> {
        let align = self.dtype.element_type().align();
        if !self.offset.is_multiple_of(align as u64) {
            return Err(Error::MisalignedOffset {
                path: path.to_path_buf(),
                offset: self.offset,
                align,
                dtype: self.dtype,
            });
        }
        Ok(())
    }

    /// Checks that a file of `file_len` bytes holds the whole array.
    pub(crate) fn check_fits(&self, path: &Path, file_len: u64) -> Result<()> {
        check_bytes_fit(path, self.offset, self.nbytes as u64, file_len)
    }
}

/// Checks that a file of `file_len` bytes holds `nbytes` from `offset`
/// ([`Error::DataTooShort`] otherwise): the one length check before
/// anything is mapped, for an array's bytes or a growable array's
/// capacity.
pub(crate) fn check_bytes_fit(path: &Path, offset: u64, nbytes: u64, file_len: u64) -> Result<()> {
    match offset.checked_add(nbytes) {
        Some(end) if end <= file_len => Ok(()),
        _ => Err(Error::DataTooShort {
            path: path.to_path_buf(),
            needed: offset.saturating_add(nbytes),
            offset,
            nbytes,
            actual: file_len,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::ElementType;

    fn layout(shape: &[u64], offset: u64) -> Result<Layout> {
        Layout::new(
            Path::new("t"),
            DType::native(ElementType::F64),
            shape,
            Order::C,
            offset,
        )
    }

    #[test]
    fn sizes() {
        let l = layout(&[3, 4], 16).unwrap();
        assert_eq!((l.len(), l.nbytes(), l.end()), (12, 96, 112));
        let scalar = layout(&[], 0).unwrap();
        assert_eq!((scalar.len(), scalar.nbytes()), (1, 8));
        let empty = layout(&[0, 5], 0).unwrap();
        assert_eq!((empty.len(), empty.nbytes()), (0, 0));
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(matches!(
            layout(&[1 << 62, 4], 0),
            Err(Error::ShapeOverflow { .. })
        ));
        assert!(matches!(
            layout(&[1 << 60], 0),
            Err(Error::ShapeOverflow { .. })
        ));
        assert!(matches!(
            layout(&[0, 1 << 62, 4], 0),
            Err(Error::ShapeOverflow { .. })
        ));
        assert!(matches!(
            layout(&[1 << 40], u64::MAX - 10),
            Err(Error::ShapeOverflow { .. })
        ));
        assert!(matches!(
            layout(&[1; 65], 0),
            Err(Error::TooManyDimensions { .. })
        ));
    }
}
