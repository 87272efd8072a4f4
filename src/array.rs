//! [`MappedArray`]: a typed array over a memory-mapped file.
//!
//! This module joins the pieces: it asks [`source`](crate::source) for the
//! layout, checks it against the element type `T`, asks
//! [`mapping`](crate::mapping) for the bytes and turns them into ndarray
//! views. It owns array creation ([`CreateOptions`]) and flushing.

use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayBase, ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Data, Dimension};

use crate::dtype::{self, DType, Element};
use crate::error::{Error, IoContext, Result};
use crate::format::Format;
use crate::grow::{Grower, Growth};
use crate::layout::{Layout, Order};
use crate::lock::{MapKind, SharedLock};
use crate::mapping::{self, Access, CopyOnWrite, Mode, ReadOnly, ReadWrite, Shared, Writable};
use crate::sidecar::Attrs;
use crate::source::{ArrayInfo, Source};

/// A typed n-dimensional array whose elements live in a memory-mapped file.
///
/// `T` is the element type ([`Element`]: `f32`, `u8`, `bool`, ...). `M` is
/// the access mode: [`ReadOnly`] (the default), [`ReadWrite`] or
/// [`CopyOnWrite`]; only writable modes have [`view_mut`](Self::view_mut),
/// so writing through a read-only mapping is a compile error:
///
/// ```compile_fail,E0599
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.dat");
/// # drop(unsafe { mmarray::MappedArray::<f32>::create(&path, &[2]) }.unwrap());
/// // SAFETY: the example's own file.
/// let a = unsafe { mmarray::MappedArray::<f32>::open(&path) }.unwrap();
/// a.view_mut()[0] = 1.0; // no `view_mut` on a read-only mapping
/// ```
///
/// Opening reads the sidecar or `.npy` header and maps the file: it takes the
/// same time for a 64 GiB array as for a 4 KiB one. Pages are read from disk
/// when first touched.
///
/// # Example
///
/// ```
/// use mmarray::MappedArray;
/// use ndarray::Ix2;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("temps.dat");
///
/// // SAFETY: the file is ours; no other program changes it while mapped.
/// let mut w = unsafe { MappedArray::<f32>::create(&path, &[1000, 3])? };
/// w.view_mut()[[0, 0]] = 1.5;
/// w.flush()?;
/// drop(w);
///
/// // SAFETY: as above.
/// let r = unsafe { MappedArray::<f32>::open(&path)? };
/// let v = r.view_dim::<Ix2>()?;
/// assert_eq!(v[[0, 0]], 1.5);
/// assert_eq!(v.shape(), &[1000, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Durability
///
/// Writes through a [`ReadWrite`] mapping go to the operating system's page
/// cache, which is the file: another process that maps or reads the file sees
/// them at once, and they survive this process crashing or being killed. They
/// reach the disk when the kernel writes them back, or when
/// [`flush`](MappedArray::flush) returns; only flushed data is sure to survive
/// a machine crash or power loss. Dropping a mapping does not flush.
///
/// # Safety
///
/// Every constructor is an `unsafe fn`: its caller promises that no
/// program changes or truncates the array's bytes while the array or a
/// view of it lives (the contract of [Safety of
/// mappings](crate#safety-of-mappings), which says per mode exactly what
/// is promised). mmarray's own handles keep to it by themselves: a
/// read-write mapping and any other mapping of the file never coexist
/// ([`Error::Busy`]), and nothing shrinks or replaces a mapped file.
/// Copies, scans and appends ([`read_array`](crate::read_array),
/// [`Stats::of_path`](crate::Stats::of_path),
/// [`Appender`](crate::Appender)) need no promise and stay safe.
pub struct MappedArray<T: Element, M: Mode = ReadOnly> {
    /// The opened and mapped file: mapping (for a growable array spare
    /// capacity follows the array's bytes: views cover only the first
    /// `layout.nbytes()`), the data file under its shared lock, and the
    /// description.
    pub(crate) src: Source<M>,
    /// Growth's state: uncommitted length, reserved space, writer claim
    /// (see [`crate::grow`]).
    pub(crate) growth: Growth,
    _element: PhantomData<T>,
}

/// A [`MappedArray`] open for reading and writing.
pub type MappedArrayMut<T> = MappedArray<T, ReadWrite>;

impl<T: Element> MappedArray<T> {
    /// Maps the array at `path` read-only (numpy `mode="r"`).
    ///
    /// `path` is a `.npy` file, a raw data file with a sidecar next to it,
    /// the sidecar, or a member of a `.npz` archive (`x.npz/name`). What it
    /// is is decided by content: a file starting with the `.npy` magic is a
    /// `.npy` file whatever its name.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # drop(unsafe { MappedArray::<f32>::create(&path, &[2]) }?);
    /// // SAFETY: no other program changes or truncates the file while `a` lives.
    /// let a = unsafe { MappedArray::<f32>::open(&path)? };
    /// assert_eq!(a.as_slice(), &[0.0, 0.0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Mapping is `unsafe`: the views borrow bytes that another program
    /// could change; calling it outside `unsafe` does not compile:
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32>::open(path);
    /// ```
    ///
    /// # Safety
    ///
    /// While the returned array or any view of it lives, no program may
    /// change the array's bytes or cut the file short (see [Safety of
    /// mappings](crate#safety-of-mappings)). mmarray's own handles keep to
    /// this by themselves (a handle that can write is refused while this
    /// one lives); other programs must be kept off by the caller.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the file when the sidecar is missing or malformed,
    /// the `.npy` header is malformed, the dtype is unknown or is not `T`, the
    /// byte order is not native, the shape overflows, the offset is
    /// misaligned for `T`, the file is shorter than the array, a `bool` array
    /// holds a byte other than 0 or 1, or the operating system refuses;
    /// [`Error::Busy`] while another handle maps the file for writing.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<MappedArray<T, ReadOnly>> {
        // SAFETY: the caller's contract.
        unsafe { MappedArray::open_in(path.as_ref()) }
    }

    /// Maps the array at `path` read-write (numpy `mode="r+"`): changes made
    /// through [`view_mut`](MappedArray::view_mut) are changes to the file.
    /// While it lives, no other mapping of the file can be made by mmarray
    /// ([`Error::Busy`]), in this process or another, and it is refused
    /// while any exists: its `&mut` views are the only way to the bytes.
    /// Several writers of disjoint parts use
    /// [`open_shared_mut`](MappedArray::open_shared_mut); appending while
    /// others read uses [`Appender`](crate::Appender).
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32>::open_mut(path);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), [`Error::Busy`] while any other handle maps
    /// the file, and an I/O error if it cannot be opened for writing.
    pub unsafe fn open_mut(path: impl AsRef<Path>) -> Result<MappedArray<T, ReadWrite>> {
        // SAFETY: the caller's contract.
        unsafe { MappedArray::open_in(path.as_ref()) }
    }

    /// Maps the array at `path` read-write for one of several writers that
    /// share it: numpy's `mode="r+"` as several processes use it, each
    /// writing its own part (Dask tasks writing their blocks, workers
    /// filling a [`Staged`](crate::Staged) array). Unlike
    /// [`open_mut`](Self::open_mut) it coexists with other shared-write and
    /// read-only mappings of the file; an `open_mut` mapping is still
    /// refused while it lives, and it while one lives.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # drop(unsafe { MappedArray::<u8>::create(&path, &[4]) }?);
    /// // SAFETY: each handle writes only its own half, and nothing reads
    /// // a half while another handle writes it.
    /// let (mut a, mut b) = unsafe {
    ///     // SAFETY: the example's own file; nothing else changes it while mapped.
    ///     (unsafe { MappedArray::<u8>::open_shared_mut(&path) }?, unsafe { MappedArray::<u8>::open_shared_mut(&path) }?)
    /// };
    /// a.as_slice_mut()[..2].fill(1);
    /// b.as_slice_mut()[2..].fill(2);
    /// drop((a, b));
    /// // SAFETY: the writers are gone; nothing else changes the file.
    /// assert_eq!(unsafe { MappedArray::<u8>::open(&path)? }.as_slice(), &[1, 1, 2, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32>::open_shared_mut(path);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`open`](Self::open), and more: other handles (this process's and
    /// other processes') may write the file at any moment, so while a
    /// reference from this handle's views lives, no other handle may write
    /// the bytes it covers, and while this handle writes bytes, no other
    /// handle may read or write them. In practice: every writer writes a
    /// part of the array no other handle touches until the writers are
    /// done, and copies (not views) are taken of what others write. The
    /// length may change only through this crate (one appender at a time).
    ///
    /// # Errors
    ///
    /// As [`open_mut`](Self::open_mut), with [`Error::Busy`] only while an
    /// `open_mut` (exclusive) mapping exists.
    pub unsafe fn open_shared_mut(path: impl AsRef<Path>) -> Result<MappedArray<T, ReadWrite>> {
        // SAFETY: the caller's contract, which covers the other writers the
        // shared map lock lets in.
        let src = unsafe { Source::open_in(path.as_ref(), MapKind::Shared)? };
        MappedArray::<T, ReadWrite>::from_source(src)
    }

    /// Maps the array at `path` copy-on-write (numpy `mode="c"`): the array
    /// can be changed in memory, but the file is never written.
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32>::open_copy(path);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`open`](Self::open): a page not yet written through the copy is
    /// the file's page, so changes to the file show through it.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub unsafe fn open_copy(path: impl AsRef<Path>) -> Result<MappedArray<T, CopyOnWrite>> {
        // SAFETY: the caller's contract.
        unsafe { MappedArray::open_in(path.as_ref()) }
    }
}

impl<T: Element, M: Mode> MappedArray<T, M> {
    /// Maps the array at `path` in mode `M`.
    ///
    /// ```
    /// use mmarray::{MappedArray, ReadOnly};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # drop(unsafe { MappedArray::<u8>::create(&path, &[3]) }?);
    /// // SAFETY: nothing else changes the file while `a` lives.
    /// let a = unsafe { MappedArray::<u8, ReadOnly>::open_in(&path)? };
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32, mmarray::ReadOnly>::open_in(path);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`open`](MappedArray::open).
    ///
    /// # Errors
    ///
    /// As [`MappedArray::open`], [`MappedArray::open_mut`] or
    /// [`MappedArray::open_copy`] for the mode.
    pub unsafe fn open_in(path: impl AsRef<Path>) -> Result<Self> {
        let kind = if M::EXCLUSIVE_MAP {
            MapKind::Exclusive
        } else {
            MapKind::Shared
        };
        // SAFETY: the caller's contract.
        Self::from_source(unsafe { Source::open_in(path.as_ref(), kind)? })
    }

    /// Maps an already opened and described file, with the map lock of
    /// its mode.
    ///
    /// # Safety
    ///
    /// As [`open_in`](Self::open_in).
    pub(crate) unsafe fn map_opened(info: ArrayInfo, lock: SharedLock) -> Result<Self> {
        let kind = if M::EXCLUSIVE_MAP {
            MapKind::Exclusive
        } else {
            MapKind::Shared
        };
        // SAFETY: the caller's contract.
        unsafe { Self::map_opened_as(info, lock, kind) }
    }

    /// [`map_opened`](Self::map_opened) with the map lock taken as `kind`.
    ///
    /// # Safety
    ///
    /// As [`open_in`](Self::open_in), or [`open_shared_mut`](MappedArray::open_shared_mut)
    /// for a writing mode with a shared `kind`.
    pub(crate) unsafe fn map_opened_as(
        info: ArrayInfo,
        lock: SharedLock,
        kind: MapKind,
    ) -> Result<Self> {
        // SAFETY: the caller's contract.
        Self::from_source(unsafe { Source::map(info, lock, kind)? })
    }

    /// The source and growth state, for one call into [`crate::grow`].
    fn grower(&mut self) -> Grower<'_, T, M> {
        Grower::new(&mut self.src, &mut self.growth)
    }

    /// The typed array over an opened and mapped source: checks that its
    /// elements can be viewed as `T` (dtype, byte order, alignment; every
    /// byte of a `bool` array 0 or 1, once: the mapping's contract keeps
    /// them so, and views are O(1) from here on).
    pub(crate) fn from_source(src: Source<M>) -> Result<Self> {
        src.info.layout.check_viewable_as::<T>(&src.info.path)?;
        if let Some((index, byte)) = dtype::first_invalid_byte(T::TYPE, src.bytes()) {
            return Err(Error::InvalidBool {
                path: src.info.path,
                index,
                byte,
            });
        }
        Ok(MappedArray {
            growth: Growth::new(src.info.layout.end()),
            src,
            _element: PhantomData,
        })
    }

    /// A zero-copy view of the whole array, with the file's shape and
    /// memory order (C order gives standard strides, F order reversed ones).
    /// O(1) for every element type.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        let shape = self.src.info.layout.nd_shape();
        ArrayView::from_shape(shape, self.as_slice())
            .expect("the layout was checked against the mapping's length when it was opened")
    }

    /// A zero-copy view with a fixed number of dimensions, such as
    /// `view_dim::<Ix2>()` for an [`ndarray::ArrayView2`].
    ///
    /// # Errors
    ///
    /// [`Error::DimensionMismatch`] if the array has another number of
    /// dimensions.
    pub fn view_dim<D: Dimension>(&self) -> Result<ArrayView<'_, T, D>> {
        let view = self.view();
        let found = view.ndim();
        view.into_dimensionality::<D>()
            .map_err(|_| self.dimension_mismatch::<D>(found))
    }

    /// The elements in memory order (C or F), as one slice.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `from_source` checked every byte of a `bool` array once,
        // and the mapping's contract (its unsafe open) keeps the bytes as
        // they were; writes through this handle store only `T`s.
        match unsafe { dtype::cast_bytes_prechecked::<T>(self.src.bytes()) } {
            Some(elements) => elements,
            None => unreachable!("the layout was checked for T's size and alignment when opened"),
        }
    }

    /// The array's bytes as they are in the file: exactly
    /// [`layout().nbytes()`](Layout::nbytes) bytes from the array's offset,
    /// in memory order (C or F), in the file's byte order. Not the `.npy`
    /// header before them, nor the spare capacity a growing array keeps
    /// after them.
    ///
    /// For what works on bytes rather than elements: hashing and checksums,
    /// comparing files, searching with [`memchr`] or [`regex::bytes`] (as
    /// Python's `mmap` offers `find` and `re` over a mapping; see
    /// `examples/search.rs`). Byte `i` belongs to element `i / item size`,
    /// counted in memory order (the order of [`as_slice`](Self::as_slice)).
    /// Zero-copy, and available in every mode and for every element type.
    ///
    /// [`memchr`]: https://docs.rs/memchr
    /// [`regex::bytes`]: https://docs.rs/regex/latest/regex/bytes/
    ///
    /// ```
    /// use mmarray::{CreateOptions, MappedArray};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// CreateOptions::new().write(&path, &ndarray::array![1u16, 0x0A0B, 3])?;
    ///
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { MappedArray::<u16>::open(&path) }?;
    /// let bytes = a.as_bytes();
    /// assert_eq!(bytes.len(), 6); // the elements only, not the .npy header
    /// let file = std::fs::read(&path)?;
    /// let offset = a.layout().offset() as usize;
    /// assert_eq!(bytes, &file[offset..offset + 6]);
    /// // Byte 3 (0x0A, the high byte of a little-endian 0x0A0B) is in element 3 / 2 = 1.
    /// # if cfg!(target_endian = "little") {
    /// let at = bytes.iter().position(|&b| b == 0x0A).unwrap();
    /// assert_eq!(at / std::mem::size_of::<u16>(), 1);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.src.bytes()
    }

    /// Tells the kernel how the whole array is going to be accessed; see
    /// [`Access`]. Advice changes speed, never what is read.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the kernel rejects the advice (for example
    /// [`Access::HugePages`] on a kernel without transparent huge pages).
    pub fn advise(&self, access: Access) -> Result<()> {
        self.advise_range(access, 0..self.len())
    }

    /// [`advise`](Self::advise) for the elements `range`, counted in memory
    /// order (the order of [`as_slice`](Self::as_slice)). The kernel works
    /// in pages, so the advice covers the pages that hold the range.
    ///
    /// ```
    /// use mmarray::{Access, MappedArray};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # // SAFETY: the example's own file; nothing else changes it while mapped.
    /// # unsafe { MappedArray::<f64>::create(&path, &[1 << 20]) }?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { MappedArray::<f64>::open(&path) }?;
    /// a.advise_range(Access::WillNeed, 0..4096)?; // start reading the head now
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the range goes past the end of the
    /// array, and as [`advise`](Self::advise).
    pub fn advise_range(&self, access: Access, range: Range<usize>) -> Result<()> {
        let (offset, len) = self.byte_range(range)?;
        mapping::advise::<M>(&self.src.map, &self.src.info.path, access, offset, len)
    }

    /// Reads every page of the array into memory now (`MADV_POPULATE_READ`;
    /// read-ahead on kernels before 5.14), so that later accesses do not
    /// wait for the disk or take page faults. Takes time and memory in
    /// proportion to the array: for arrays that fit in memory and will be
    /// read whole, or before timing-sensitive work.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the kernel cannot read the pages in.
    pub fn populate(&self) -> Result<()> {
        let (offset, len) = self.byte_range(0..self.len())?;
        mapping::populate::<M>(&self.src.map, &self.src.info.path, offset, len)
    }

    /// The offset and length in the mapping of the elements `range`.
    fn byte_range(&self, range: Range<usize>) -> Result<(usize, usize)> {
        self.check_range(&range)?;
        let item = T::TYPE.size();
        Ok((range.start * item, (range.end - range.start) * item))
    }

    /// Dtype, shape, order and offset.
    pub fn layout(&self) -> &Layout {
        &self.src.info.layout
    }

    /// The file's dtype (element type and byte order).
    pub fn dtype(&self) -> DType {
        self.src.info.layout.dtype()
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        self.src.info.layout.shape()
    }

    /// C or F.
    pub fn order(&self) -> Order {
        self.src.info.layout.order()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.src.info.layout.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.src.info.layout.is_empty()
    }

    /// The data file (the `.npy` file, or the raw file).
    pub fn path(&self) -> &Path {
        &self.src.info.path
    }

    /// The sidecar, for a raw file.
    pub fn sidecar_path(&self) -> Option<&Path> {
        self.src.info.sidecar_path()
    }

    /// Raw + sidecar, or `.npy`.
    pub fn format(&self) -> Format {
        self.src.info.format
    }

    /// The user metadata from the sidecar (empty for `.npy` files).
    pub fn attrs(&self) -> &Attrs {
        &self.src.info.attrs
    }

    /// Everything known about the array: path, format, layout, attrs.
    pub fn info(&self) -> &ArrayInfo {
        &self.src.info
    }

    fn dimension_mismatch<D: Dimension>(&self, found: usize) -> Error {
        Error::DimensionMismatch {
            path: self.src.info.path.clone(),
            expected: D::NDIM.unwrap_or(found),
            found,
        }
    }

    fn check_range(&self, range: &Range<usize>) -> Result<()> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::InvalidArgument {
                path: self.src.info.path.clone(),
                message: format!(
                    "element range {}..{} is outside the array's {} elements",
                    range.start,
                    range.end,
                    self.len()
                ),
            });
        }
        Ok(())
    }
}

impl<T: Element, M: Shared> MappedArray<T, M> {
    /// Drops the array's pages from this process's memory
    /// (`MADV_DONTNEED`). The data is not lost: pages are read back from the
    /// file (or the page cache) when next touched, and writes made through a
    /// [`ReadWrite`] mapping stay in the file. Use it to keep the resident
    /// memory of a scan over an array larger than RAM small, releasing what
    /// is behind the cursor with [`release_range`](Self::release_range).
    ///
    /// Only read-only and read-write mappings have it: releasing a page of a
    /// [`CopyOnWrite`] mapping would throw away the writes made to it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the kernel refuses.
    pub fn release(&self) -> Result<()> {
        self.release_range(0..self.len())
    }

    /// [`release`](Self::release) for the elements `range`, in memory order.
    /// The kernel works in whole pages: the pages that hold the range are
    /// released, including the parts of the first and last page outside it
    /// (they too are read back when touched).
    ///
    /// ```
    /// use mmarray::{Access, MappedArray};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # // SAFETY: the example's own file; nothing else changes it while mapped.
    /// # unsafe { MappedArray::<f32>::create(&path, &[1 << 22]) }?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { MappedArray::<f32>::open(&path) }?;
    /// a.advise(Access::Sequential)?;
    /// let mut total = 0.0f64;
    /// let step = 1 << 20;
    /// for start in (0..a.len()).step_by(step) {
    ///     let end = (start + step).min(a.len());
    ///     total += a.as_slice()[start..end].iter().map(|&x| x as f64).sum::<f64>();
    ///     a.release_range(start..end)?; // resident memory stays at one step
    /// }
    /// # assert_eq!(total, 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the range goes past the end of the
    /// array, and as [`release`](Self::release).
    pub fn release_range(&self, range: Range<usize>) -> Result<()> {
        let (offset, len) = self.byte_range(range)?;
        mapping::release::<M>(&self.src.map, &self.src.info.path, offset, len)
    }
}

impl<T: Element, M: Writable> MappedArray<T, M> {
    /// A zero-copy mutable view of the whole array.
    ///
    /// For a [`ReadWrite`] mapping, writes are writes to the file; for
    /// [`CopyOnWrite`] they stay in this process.
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let shape = self.src.info.layout.nd_shape();
        ArrayViewMut::from_shape(shape, self.as_slice_mut())
            .expect("the layout was checked against the mapping's length when it was opened")
    }

    /// A mutable view with a fixed number of dimensions.
    ///
    /// # Errors
    ///
    /// [`Error::DimensionMismatch`] if the array has another number of
    /// dimensions.
    pub fn view_mut_dim<D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, T, D>> {
        let found = self.src.info.layout.ndim();
        let path = self.src.info.path.clone();
        self.view_mut()
            .into_dimensionality::<D>()
            .map_err(|_| Error::DimensionMismatch {
                path,
                expected: D::NDIM.unwrap_or(found),
                found,
            })
    }

    /// The elements in memory order, mutable.
    pub fn as_slice_mut(&mut self) -> &mut [T] {
        let nbytes = self.src.info.layout.nbytes();
        // SAFETY: as in `as_slice`.
        match unsafe { dtype::cast_bytes_mut_prechecked::<T>(&mut self.src.map[..nbytes]) } {
            Some(elements) => elements,
            None => unreachable!("the layout was checked for T's size and alignment when opened"),
        }
    }
}

impl<T: Element + bytemuck::Pod, M: Writable> MappedArray<T, M> {
    /// The array's bytes, mutable: the bytes of [`as_bytes`](Self::as_bytes)
    /// (the array's, from its offset, nothing before or after). For a
    /// [`ReadWrite`] mapping, writes are writes to the file (on disk after
    /// [`flush`](Self::flush)); for [`CopyOnWrite`] they stay in this
    /// process.
    ///
    /// Only writable modes have it, as [`view_mut`](Self::view_mut):
    ///
    /// ```compile_fail,E0599
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.dat");
    /// # drop(unsafe { mmarray::MappedArray::<u8>::create(&path, &[2]) }.unwrap());
    /// // SAFETY: the example's own file.
    /// let mut a = unsafe { mmarray::MappedArray::<u8>::open(&path) }.unwrap();
    /// a.as_bytes_mut()[0] = 1; // no `as_bytes_mut` on a read-only mapping
    /// ```
    ///
    /// And only for element types that accept every bit pattern
    /// ([`bytemuck::Pod`]: every type but `bool`), since a byte other than
    /// 0 or 1 in a `bool` array would make its views panic:
    ///
    /// ```compile_fail,E0599
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.dat");
    /// // SAFETY: the example's own file.
    /// let mut a = unsafe { mmarray::MappedArray::<bool>::create(&path, &[2]) }.unwrap();
    /// a.as_bytes_mut()[0] = 2; // no `as_bytes_mut` on a bool array
    /// ```
    ///
    /// ```
    /// use mmarray::MappedArray;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<u32>::create(&path, &[4]) }?;
    /// a.as_bytes_mut()[4..8].copy_from_slice(&7u32.to_ne_bytes()); // element 1
    /// a.flush()?;
    /// assert_eq!(a.as_slice(), &[0, 7, 0, 0]);
    /// assert_eq!(&std::fs::read(&path)?[4..8], &7u32.to_ne_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.src.bytes_mut()
    }
}

impl<T: Element> MappedArray<T, ReadWrite> {
    /// Appends `rows` along axis 0. `rows` has the array's number of
    /// dimensions and the same extent on every other axis.
    ///
    /// The new length is visible at once through this mapping and is
    /// committed to the sidecar by [`commit`](Self::commit),
    /// [`flush`](Self::flush) or drop (see the [module docs](crate::grow)).
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<f32>::create(&path, &[0, 3]) }?;
    /// a.append(&array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])?;
    /// a.append(&array![[7.0, 8.0, 9.0]])?;
    /// a.commit()?;
    /// assert_eq!(mmarray::inspect(&path)?.layout().shape(), &[3, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] (action `"grown"`) if another handle, in this
    /// process or another, is growing the array (see [One appender at a
    /// time](crate::grow#one-appender-at-a-time));
    /// [`Error::RowShapeMismatch`] if the rows' other extents differ (or
    /// the rows lack their leading axis: one row is `row.insert_axis(Axis(0))`);
    /// [`Error::InvalidArgument`] for a `.npy` file, an F-order or 0-d
    /// array; [`Error::ShapeOverflow`] past the address space; I/O errors
    /// growing the file or reserving disk space for the rows (a full disk:
    /// see [Full disks](crate::grow#full-disks)). After an error the array
    /// holds the rows it had before the call.
    pub fn append<S, D>(&mut self, rows: &ArrayBase<S, D>) -> Result<()>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        self.grower().append(rows)
    }

    /// Sets the length along axis 0 to `new_rows`. Rows added are zero.
    /// Fewer rows truncate the file, which is refused with [`Error::Busy`]
    /// while anyone else maps it.
    ///
    /// ```
    /// use mmarray::MappedArray;
    ///
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<u8>::create(dir.path().join("a.dat"), &[2, 4]) }?;
    /// a.resize(10)?;
    /// assert_eq!(a.shape(), &[10, 4]);
    /// a.resize(1)?;
    /// assert_eq!(a.shape(), &[1, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append), and [`Error::Busy`] when shrinking a
    /// file that is mapped elsewhere.
    pub fn resize(&mut self, new_rows: usize) -> Result<()> {
        self.grower().resize(new_rows)
    }

    /// Makes the current length durable: flushes the data, then atomically
    /// rewrites the sidecar with the new shape. A no-op for the sidecar when
    /// the length has not changed since the last commit.
    ///
    /// # Errors
    ///
    /// I/O errors flushing or writing the sidecar; the length on disk is
    /// then the previous one.
    pub fn commit(&mut self) -> Result<()> {
        self.flush()
    }

    /// Publishes the current length without waiting for the disk: atomically
    /// rewrites the sidecar, with no `msync` and no `fsync`.
    ///
    /// Other processes that open the array from then on see the new rows,
    /// and if this process crashes or is killed, the array reopens with
    /// them, each holding what was written: rows written through a shared
    /// mapping are in the page cache before the sidecar is renamed. What it
    /// does not survive is a machine crash or power loss, after which the
    /// sidecar may have reached the disk before the rows. Call it after each
    /// batch of appends for process-crash consistency at memory speed, and
    /// [`commit`](Self::commit) (which also flushes) where the rows must
    /// survive a machine crash.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use ndarray::Array2;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<f32>::create(&path, &[0, 4]) }?;
    /// for batch in 0..10 {
    ///     a.append(&Array2::from_elem((100, 4), batch as f32))?;
    ///     a.publish()?; // readers opening now see every finished batch
    /// }
    /// assert_eq!(mmarray::inspect(&path)?.layout().shape(), &[1000, 4]);
    /// a.commit()?; // and now they survive a power cut
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// I/O errors writing the sidecar; the published length is then the
    /// previous one.
    pub fn publish(&mut self) -> Result<()> {
        self.grower().publish()
    }

    /// Keeps the mappings that growth replaces (`append`, `resize`,
    /// `shrink_to_fit` remap the file) mapped until
    /// [`take_replaced_mappings`](Self::take_replaced_mappings) hands them
    /// out, instead of unmapping them at once. Off by default.
    ///
    /// Rust views borrow the array, so none can outlive a remap and this is
    /// never needed from Rust. It is for bindings whose views hold raw
    /// pointers (numpy arrays in Python): they keep each old mapping alive
    /// as long as views of it exist.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<u8>::create(dir.path().join("a.dat"), &[0, 2]) }?;
    /// a.retain_replaced_mappings(true);
    /// a.append(&array![[1, 2]])?; // grows the file and remaps it
    /// assert_eq!(a.take_replaced_mappings().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retain_replaced_mappings(&mut self, retain: bool) {
        self.growth.retain_replaced(retain);
    }

    /// The mappings replaced since the last call while
    /// [`retain_replaced_mappings`](Self::retain_replaced_mappings) was on,
    /// oldest first. Each stays mapped until dropped.
    ///
    /// Do not shrink the array (`resize` to fewer rows, `close`, which
    /// trims spare capacity) while pointers into a replaced mapping are
    /// used: the pages past the file's new end would fault (`SIGBUS`).
    pub fn take_replaced_mappings(&mut self) -> Vec<crate::grow::ReplacedMapping> {
        self.growth.take_replaced()
    }

    /// How many rows fit in the current mapping without growing the file.
    pub fn capacity(&self) -> usize {
        let row_bytes = self.shape()[1..].iter().product::<usize>() * T::TYPE.size();
        if row_bytes == 0 {
            return usize::MAX;
        }
        self.src.map.len() / row_bytes
    }

    /// Cuts the data file's spare capacity off now, so that it is exactly
    /// `offset + nbytes` long, and maps only the array. The next append
    /// grows it again. [`close`](MappedArray::close) and drop do this too.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<u8>::create(&path, &[0, 4]) }?;
    /// a.append(&array![[1, 2, 3, 4]])?;
    /// assert!(a.capacity() > 1);
    /// a.shrink_to_fit()?;
    /// assert_eq!((a.capacity(), std::fs::metadata(&path)?.len()), (1, 4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append) ([`Error::Busy`] while another handle
    /// grows the array), and I/O errors trimming the file.
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        self.grower().shrink_to_fit()
    }

    /// Writes every changed page of the array to disk and waits until it is
    /// there (`msync(MS_SYNC)`). After it returns the data survives a machine
    /// crash. For a growable array whose length changed, the new length is
    /// then committed to the sidecar (see [`commit`](Self::commit)).
    ///
    /// # Errors
    ///
    /// An I/O error from the operating system.
    pub fn flush(&mut self) -> Result<()> {
        if self.growth.is_uncommitted() {
            return self.grower().commit_length();
        }
        self.src
            .map
            .flush()
            .at(&self.src.info.path, "flushing the mapping")
    }

    /// Starts writing changed pages to disk without waiting
    /// (`msync(MS_ASYNC)`).
    ///
    /// # Errors
    ///
    /// An I/O error from the operating system.
    pub fn flush_async(&self) -> Result<()> {
        self.src
            .map
            .flush_async()
            .at(&self.src.info.path, "flushing the mapping")
    }

    /// Like [`flush`](Self::flush), for the elements `range` (indices in
    /// memory order) only.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the range is outside the array; I/O
    /// errors.
    pub fn flush_range(&self, range: Range<usize>) -> Result<()> {
        let (offset, len) = self.byte_range(range)?;
        self.src
            .map
            .flush_range(offset, len)
            .at(&self.src.info.path, "flushing the mapping")
    }

    /// Like [`flush_async`](Self::flush_async), for the elements `range`
    /// (indices in memory order) only.
    ///
    /// # Errors
    ///
    /// As [`flush_range`](Self::flush_range).
    pub fn flush_async_range(&self, range: Range<usize>) -> Result<()> {
        let (offset, len) = self.byte_range(range)?;
        self.src
            .map
            .flush_async_range(offset, len)
            .at(&self.src.info.path, "flushing the mapping")
    }

    /// Replaces the user metadata and rewrites the sidecar atomically.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a `.npy` file, which has nowhere to
    /// keep attrs; I/O errors writing the sidecar.
    pub fn set_attrs(&mut self, attrs: Attrs) -> Result<()> {
        self.grower().set_attrs(attrs)
    }
}

impl<T: Element, M: Mode> MappedArray<T, M> {
    /// Closes the mapping and reports what dropping it would hide: flushes
    /// a [`ReadWrite`] mapping (`msync`), records a changed length in the
    /// sidecar, and cuts a growable file's spare capacity off, so that the
    /// file is exactly `offset + nbytes` long (what `np.fromfile` and other
    /// readers of the raw bytes expect). Returns the first error; the
    /// mapping is gone either way. For read-only and copy-on-write mappings
    /// there is nothing to write, and `close` is `drop`.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<f32>::create(&path, &[0, 3]) }?;
    /// a.append(&array![[1.0, 2.0, 3.0]])?; // the file grows by 1 MiB at once
    /// a.close()?;
    /// assert_eq!(std::fs::metadata(&path)?.len(), 12); // and is trimmed back
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// I/O errors flushing, writing the sidecar or trimming the file. After
    /// a failed commit the recorded length is the previous one.
    pub fn close(mut self) -> Result<()> {
        self.src.owner.check(&self.src.info.path)?;
        let flushed =
            mapping::flush::<M>(&self.src.map).at(&self.src.info.path, "flushing the mapping");
        let mut grower = self.grower();
        let committed = grower.commit_length();
        let trimmed = grower.trim_capacity();
        self.growth.release();
        flushed.and(committed).and(trimmed)
    }
}

/// Dropping a mapping is a best-effort [`close`](MappedArray::close)
/// without the flush: a changed length is committed (as
/// [`commit`](MappedArray::commit) would: the rows are flushed first) and a
/// growable file's spare capacity is trimmed, ignoring errors (call `close`,
/// `commit` or `flush` to see them). A mapping whose length did not change
/// is not flushed on drop.
impl<T: Element, M: Mode> Drop for MappedArray<T, M> {
    fn drop(&mut self) {
        // A fork child's copy of the handle leaves the parent's file alone.
        if !self.src.owner.is_current() {
            return;
        }
        let mut grower = self.grower();
        let _ = grower.commit_length();
        let _ = grower.trim_capacity();
    }
}

impl<T: Element, M: Mode> std::fmt::Debug for MappedArray<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedArray")
            .field("path", &self.src.info.path)
            .field("mode", &M::NUMPY_MODE)
            .field("format", &self.src.info.format)
            .field("dtype", &self.src.info.layout.dtype().to_string())
            .field("shape", &self.src.info.layout.shape())
            .field("order", &self.src.info.layout.order())
            .field("offset", &self.src.info.layout.offset())
            .finish()
    }
}
