//! [`SealedArray`]: an array in sealed shared memory, zero-copy in every
//! process and changeable by none.
//!
//! A file mapping is only as stable as the file, which is why mapping
//! constructors are `unsafe` (see [Safety of mappings](crate#safety-of-mappings)).
//! Linux offers memory that the kernel itself keeps from changing: a
//! `memfd` (an anonymous file in RAM) with **seals**. Once
//! `F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL` are set, every
//! `write(2)`, `ftruncate`, `fallocate` and writable shared mapping of it
//! is refused with `EPERM`, in every process, forever: a read-only view of
//! it is sound with no promise from anyone, so [`SealedArray::view`] and
//! [`SealedArray::from_fd`] are safe.
//!
//! The memfd holds an `.npy` image (header, then the elements), so the
//! dtype and shape travel with the descriptor, followed by the attrs as
//! JSON when there are any. Hand the descriptor to another process (a
//! child inherits it; `SCM_RIGHTS` over a Unix socket; Python's
//! `subprocess` with `pass_fds`) and it maps the same pages: what
//! `multiprocessing.shared_memory` offers, with the dtype, shape and attrs
//! attached and no way for any process to change the array under another.
//!
//! ```
//! # #[cfg(target_os = "linux")] {
//! use mmarray::SealedArray;
//! use std::os::fd::AsFd;
//!
//! let sealed = SealedArray::new(&ndarray::array![[1.0f32, 2.0], [3.0, 4.0]])?;
//! assert_eq!(sealed.view()[[1, 0]], 3.0);
//! // What another process does with the descriptor it was given:
//! let fd = sealed.as_fd().try_clone_to_owned()?;
//! let theirs = SealedArray::<f32>::from_fd(fd)?;
//! assert_eq!(theirs.view(), sealed.view());
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{ArrayBase, ArrayView, ArrayViewD, Data, Dimension};
use rustix::fs::{MemfdFlags, SealFlags};

use crate::dtype::{self, DType, Element};
use crate::error::{Error, IoContext, Result};
use crate::format::sidecar::{Attrs, MAX_SIDECAR_BYTES};
use crate::layout::{Layout, Order};
use crate::npy;
use crate::scan::read_exact_at;

/// The seals a [`SealedArray`] needs, with the names `from_fd` reports.
const SEALS: [(SealFlags, &str); 4] = [
    (SealFlags::WRITE, "F_SEAL_WRITE"),
    (SealFlags::SHRINK, "F_SEAL_SHRINK"),
    (SealFlags::GROW, "F_SEAL_GROW"),
    (SealFlags::SEAL, "F_SEAL_SEAL"),
];

/// An array in a sealed `memfd`: read-only, zero-copy, and the same pages
/// in every process that holds the descriptor (see the [module
/// docs](crate::sealed)). Linux only.
pub struct SealedArray<T: Element> {
    file: File,
    map: Mmap,
    layout: Layout,
    attrs: Attrs,
    path: PathBuf,
    _element: PhantomData<T>,
}

impl<T: Element> SealedArray<T> {
    /// Copies `array` (in C order, this machine's byte order) into a new
    /// memfd as an `.npy` image and seals it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the memfd cannot be made, written or sealed (out
    /// of memory, a kernel without memfd).
    pub fn new<S, D>(array: &ArrayBase<S, D>) -> Result<SealedArray<T>>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        SealedArray::with_attrs(array, Attrs::new())
    }

    /// [`new`](Self::new) with user metadata, stored after the elements as
    /// JSON and read back by [`from_fd`](Self::from_fd).
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let mut attrs = serde_json::Map::new();
    /// attrs.insert("units".into(), "K".into());
    /// let sealed = mmarray::SealedArray::with_attrs(&ndarray::array![1u8, 2], attrs)?;
    /// assert_eq!(sealed.attrs()["units"], "K");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_attrs<S, D>(array: &ArrayBase<S, D>, attrs: Attrs) -> Result<SealedArray<T>>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        let path = PathBuf::from("memfd:mmarray");
        let fd =
            rustix::fs::memfd_create("mmarray", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
                .map_err(|e| Error::io(&path, "creating a memfd", e.into()))?;
        let file = File::from(fd);
        let dtype = DType::native(T::TYPE);
        let mut image = npy::header_bytes(dtype, array.shape(), Order::C);
        let header_len = image.len();
        let elements: Vec<T> = array.iter().copied().collect();
        dtype::encode_into(&elements, dtype.byte_order(), &mut image);
        if !attrs.is_empty() {
            let json = serde_json::to_vec(&attrs)
                .map_err(|e| Error::io(&path, "encoding attrs", std::io::Error::other(e)))?;
            image.extend_from_slice(&json);
        }
        crate::fsutil::write_all_at(&file, &image, 0).at(&path, "writing the memfd")?;
        drop(image);
        rustix::fs::fcntl_add_seals(&file, SEALS.iter().fold(SealFlags::empty(), |a, s| a | s.0))
            .map_err(|e| Error::io(&path, "sealing the memfd", e.into()))?;
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let layout = Layout::new(&path, dtype, &shape, Order::C, header_len as u64)?;
        SealedArray::map_sealed(file, path, layout, attrs)
    }

    /// Maps the sealed array whose descriptor another process handed over
    /// (or [`as_fd`](AsFd::as_fd) of one in this process, duplicated).
    /// Checks every seal and the image before mapping: safe whatever the
    /// descriptor is.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming the seal missing from a descriptor
    /// that is not sealed (or not a memfd); the `.npy` header errors of
    /// [`npy::parse_header`] for a bad image; [`Error::DataTooShort`] when
    /// the header promises more bytes than the memfd holds;
    /// [`Error::DtypeMismatch`] when it does not hold `T` in this machine's
    /// byte order; [`Error::InvalidBool`] for a bool byte other than 0 or 1.
    pub fn from_fd(fd: OwnedFd) -> Result<SealedArray<T>> {
        let (layout, attrs) = inspect(fd.as_fd())?;
        let path = fd_path(fd.as_fd());
        if layout.dtype() != DType::native(T::TYPE) {
            return Err(Error::DtypeMismatch {
                path,
                expected: DType::of::<T>(),
                found: layout.dtype(),
            });
        }
        SealedArray::map_sealed(File::from(fd), path, layout, attrs)
    }

    /// Maps `file`, sealed, whose image `layout` describes; checks `bool`
    /// bytes once.
    fn map_sealed(file: File, path: PathBuf, layout: Layout, attrs: Attrs) -> Result<Self> {
        layout.check_viewable_as::<T>(&path)?;
        // SAFETY: the memfd is sealed against writes, shrinking and growth,
        // and the seals cannot be removed (F_SEAL_SEAL): no process can
        // change or cut off a byte of it while the mapping lives, which is
        // all memmap2's contract asks. The layout fits in the file (checked
        // by the callers against the sealed, so final, size).
        let map = unsafe { Mmap::map(&file) }.at(&path, "mapping the memfd")?;
        let start = layout.offset() as usize;
        let bytes = &map[start..start + layout.nbytes()];
        if let Some((index, byte)) = dtype::first_invalid_byte(T::TYPE, bytes) {
            return Err(Error::InvalidBool { path, index, byte });
        }
        Ok(SealedArray {
            file,
            map,
            layout,
            attrs,
            path,
            _element: PhantomData,
        })
    }

    /// A zero-copy view of the array.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        ArrayView::from_shape(self.layout.nd_shape(), self.as_slice())
            .expect("the layout was checked against the memfd's size")
    }

    /// The elements in C order.
    pub fn as_slice(&self) -> &[T] {
        let start = self.layout.offset() as usize;
        let bytes = &self.map[start..start + self.layout.nbytes()];
        // SAFETY: `map_sealed` checked every byte of a bool array, and the
        // seals keep every byte as it was for as long as the mapping lives.
        match unsafe { dtype::cast_bytes_prechecked::<T>(bytes) } {
            Some(elements) => elements,
            None => unreachable!("the layout was checked for T's size and alignment"),
        }
    }

    /// Dtype, shape, order and offset within the memfd.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The user metadata stored with the array.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// What errors name the memfd by.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl<T: Element> AsFd for SealedArray<T> {
    /// The sealed memfd, to hand to another process.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl<T: Element> std::fmt::Debug for SealedArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedArray")
            .field("fd", &self.file.as_raw_fd())
            .field("dtype", &self.layout.dtype().to_string())
            .field("shape", &self.layout.shape())
            .finish_non_exhaustive()
    }
}

/// What errors name a memfd by.
fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("memfd (fd {})", fd.as_raw_fd()))
}

/// Checks that `fd` is a sealed memfd holding an `.npy` image and reads
/// its layout and attrs, without mapping it: what
/// [`SealedArray::from_fd`] checks first, and how a holder of a descriptor
/// learns the element type to open it as.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::os::fd::AsFd;
/// let sealed = mmarray::SealedArray::new(&ndarray::array![1i16, 2, 3])?;
/// let (layout, _attrs) = mmarray::sealed::inspect(sealed.as_fd())?;
/// assert_eq!((layout.dtype().to_string(), layout.shape()), ("<i2".into(), &[3][..]));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`SealedArray::from_fd`], but for the element type.
pub fn inspect(fd: BorrowedFd<'_>) -> Result<(Layout, Attrs)> {
    let path = fd_path(fd);
    let seals = rustix::fs::fcntl_get_seals(fd).map_err(|e| Error::InvalidArgument {
        path: path.clone(),
        message: format!("is not a sealed memfd ({e}): F_GET_SEALS failed"),
    })?;
    let missing: Vec<&str> = SEALS
        .iter()
        .filter(|(seal, _)| !seals.contains(*seal))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(Error::InvalidArgument {
            path,
            message: format!(
                "is not sealed against change: {} missing, so another process could change or shrink it under a view",
                missing.join(", ")
            ),
        });
    }
    let file = File::from(
        fd.try_clone_to_owned()
            .at(&path, "duplicating the memfd's descriptor")?,
    );
    let len = file.metadata().at(&path, "reading the memfd's size")?.len();
    let layout = read_npy_layout(&file, &path, len)?;
    layout.check_fits(&path, len)?;
    let attrs = read_attrs(&file, &path, layout.end(), len)?;
    Ok((layout, attrs))
}

/// Reads and parses the `.npy` header at the start of `file` (of `len`
/// bytes) with `pread`, bounded as every header read is.
fn read_npy_layout(file: &File, path: &Path, len: u64) -> Result<Layout> {
    let preamble_len = (npy::PREAMBLE_LEN as u64).min(len) as usize;
    let mut bytes = vec![0u8; preamble_len];
    read_exact_at(file, path, &mut bytes, 0, len)?;
    let (start, header_len) = npy::parse_preamble(path, &bytes)?;
    let total = start + header_len;
    if total as u64 > len {
        return Err(Error::MalformedNpy {
            path: path.to_path_buf(),
            message: format!("the header needs {total} bytes and the memfd holds {len}"),
        });
    }
    bytes.resize(total, 0);
    read_exact_at(
        file,
        path,
        &mut bytes[preamble_len..],
        preamble_len as u64,
        len,
    )?;
    npy::parse_header(path, &bytes)
}

/// The attrs stored after the elements (from `end` to `len`), if any.
fn read_attrs(file: &File, path: &Path, end: u64, len: u64) -> Result<Attrs> {
    if len <= end {
        return Ok(Attrs::new());
    }
    let n = len - end;
    if n > MAX_SIDECAR_BYTES {
        return Err(Error::InvalidArgument {
            path: path.to_path_buf(),
            message: format!(
                "holds {n} bytes of attrs after the array, more than the {MAX_SIDECAR_BYTES} allowed"
            ),
        });
    }
    let mut bytes = vec![0u8; n as usize];
    read_exact_at(file, path, &mut bytes, end, len)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArgument {
        path: path.to_path_buf(),
        message: format!("the attrs after the array are not a JSON object: {e}"),
    })
}
