//! Creating arrays: [`CreateOptions`] and the one routine every new file
//! goes through.
//!
//! A new array is built under a temporary name in its directory (header
//! and elements, fsynced), renamed into place (over the old file only when
//! overwriting, and never while another handle maps it), and described
//! last: its sidecar is written after the data file is complete, while the
//! new file is held under its exclusive lock, so a reader never finds a
//! data file without its description and a failure leaves nothing behind
//! (see `create_file`). [`CreateOptions::create`] maps the result;
//! [`CreateOptions::write`] and [`CreateOptions::create_filled`] write the
//! elements through the file and map nothing; [`crate::convert`] streams
//! a converted copy through the same routine.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use ndarray::Dimension;

use crate::array::MappedArray;
use crate::dtype::{self, ByteOrder, DType, Element, Scalar};
use crate::error::{Error, IoContext, Result};
use crate::format::{Format, format_for_path};
use crate::fsutil;
use crate::layout::{Layout, Order};
use crate::lock::{ExclusiveLock, SharedLock};
use crate::mapping::ReadWrite;
use crate::npy;
use crate::sidecar::{self, Attrs};
use crate::source::{self, ArrayInfo, Durability, write_sidecar};

impl<T: Element> MappedArray<T> {
    /// Creates a zero-filled array of `shape` in C order at `path` (a raw file
    /// plus sidecar, or a `.npy` file if the name ends in `.npy`) and maps it
    /// read-write. Shorthand for [`CreateOptions::new().create(path, shape)`](CreateOptions::create).
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: a new file in our own directory: nothing else changes it.
    /// let mut a = unsafe { MappedArray::<f32>::create(dir.path().join("a.dat"), &[2, 3])? };
    /// a.view_mut()[[1, 2]] = 1.0;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::MappedArray::<f32>::create(path, &[2]);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open_mut`]: while the array or a view of it lives,
    /// no other program may change or truncate the file.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if an array is there already (see
    /// [`CreateOptions::overwrite`]), [`Error::ShapeOverflow`] for a shape too
    /// large to map, and I/O errors.
    pub unsafe fn create(
        path: impl AsRef<Path>,
        shape: &[usize],
    ) -> Result<MappedArray<T, ReadWrite>> {
        // SAFETY: the caller's contract.
        unsafe { CreateOptions::new().create(path, shape) }
    }
}

/// Options for creating an array, in the style of [`std::fs::OpenOptions`].
///
/// ```
/// use mmarray::{CreateOptions, Order};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("grid.dat");
/// let mut attrs = serde_json::Map::new();
/// attrs.insert("units".into(), "K".into());
/// // SAFETY: a new file in our own directory: nothing else changes it.
/// let a = unsafe { CreateOptions::new().order(Order::F).attrs(attrs).create::<f64>(&path, &[3, 4])? };
/// assert_eq!(a.order(), Order::F);
/// assert_eq!(a.attrs()["units"], "K");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    order: Order,
    overwrite: bool,
    attrs: Attrs,
    format: Option<Format>,
    byte_order: Option<ByteOrder>,
    preallocate: bool,
}

impl CreateOptions {
    /// C order, no overwriting, no attrs, format from the file name, sparse.
    pub fn new() -> Self {
        Self::default()
    }

    /// The memory order of the new array (default C).
    pub fn order(&mut self, order: Order) -> &mut Self {
        self.order = order;
        self
    }

    /// Whether to replace an array already at the path (default `false`:
    /// creating over an existing array is an [`Error::AlreadyExists`]).
    ///
    /// The old file is replaced by renaming, not truncated, so a process that
    /// still maps it keeps its old data and cannot fault.
    pub fn overwrite(&mut self, overwrite: bool) -> &mut Self {
        self.overwrite = overwrite;
        self
    }

    /// User metadata for the sidecar (ignored for `.npy` files).
    pub fn attrs(&mut self, attrs: Attrs) -> &mut Self {
        self.attrs = attrs;
        self
    }

    /// The file format; by default `.npy` when the path ends in `.npy`, raw
    /// with a sidecar otherwise.
    pub fn format(&mut self, format: Format) -> &mut Self {
        self.format = Some(format);
        self
    }

    /// The byte order of a file made by [`write`](Self::write) (default:
    /// the machine's). [`create`](Self::create) maps the new array, which
    /// needs the native order, and refuses any other.
    pub fn byte_order(&mut self, byte_order: ByteOrder) -> &mut Self {
        self.byte_order = Some(byte_order);
        self
    }

    /// Whether to reserve the array's disk space when it is created (default
    /// `false`: the data file is sparse).
    ///
    /// A new array is normally a sparse file: creating it is O(1) and it
    /// takes no disk space until written. The space is then found page by
    /// page as the mapping is first written, and a write that finds the disk
    /// full (or a quota used up) has no way to report an error: the kernel
    /// kills the process with `SIGBUS`. With `preallocate(true)` the file
    /// system allocates every byte of the array before
    /// [`create`](Self::create) returns (`fallocate(2)`), so a disk that
    /// cannot hold the array is an [`Error::Io`] from `create`, naming the
    /// file, whose [`source`](std::error::Error::source) has
    /// [`ErrorKind::StorageFull`](std::io::ErrorKind::StorageFull) (or
    /// [`FileTooLarge`](std::io::ErrorKind::FileTooLarge) past a file-size
    /// limit), and no array is left at the path; with
    /// [`overwrite`](Self::overwrite), the old array is left as it was.
    ///
    /// **Use it** when the array will be written in full and the disk may
    /// fill up (shared disks, quotas, long jobs): the failure comes at
    /// create time, not as a crash hours into filling the array. **Leave it
    /// off** for arrays that stay mostly zero or are written sparsely.
    ///
    /// **Costs:** the space is taken at once (`du` counts the whole array).
    /// Creating stays fast where the file system implements `fallocate`
    /// (ext4, XFS, btrfs, tmpfs, NFS 4.2) and takes O(size) time elsewhere
    /// (other file systems and operating systems), where zeros are written
    /// instead. On copy-on-write file systems (ZFS, btrfs snapshots) and
    /// with compression, no preallocation can promise room for later
    /// overwrites.
    ///
    /// Growing an array ([`append`](MappedArray::append),
    /// [`resize`](MappedArray::resize)) always reserves the rows it is
    /// about to write, with or without this option (see
    /// [`grow`](crate::grow#full-disks)). [`write`](Self::write) and
    /// non-zero fills of [`create_filled`](Self::create_filled) write every
    /// byte, which allocates it and reports a full disk as an error anyway.
    ///
    /// ```
    /// use mmarray::CreateOptions;
    ///
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: a new file in our own directory: nothing else changes it.
    /// let mut a = unsafe {
    ///     CreateOptions::new()
    ///         .preallocate(true)
    ///         .create::<f64>(dir.path().join("dense.dat"), &[1000, 8])?
    /// };
    /// a.view_mut().fill(1.0); // cannot find the disk full now
    /// a.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn preallocate(&mut self, preallocate: bool) -> &mut Self {
        self.preallocate = preallocate;
        self
    }

    /// Creates a zero-filled array of `shape` at `path` and maps it
    /// read-write.
    ///
    /// The data file is created sparse at its full size (it takes no disk
    /// space until written; see [`preallocate`](Self::preallocate) to
    /// reserve the space instead), and for a raw file the sidecar is written last,
    /// atomically, so an interrupted create never leaves a sidecar describing
    /// a file that is not there.
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::CreateOptions::new().create::<f32>(path, &[2]);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open_mut`]: while the array or a view of it lives,
    /// no other program may change or truncate the file.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the data file or its sidecar exists and
    /// overwriting was not asked for; [`Error::ShapeOverflow`] or
    /// [`Error::TooManyDimensions`] for a shape that cannot be mapped;
    /// [`Error::NonNativeByteOrder`] if a non-native
    /// [`byte_order`](Self::byte_order) was set; I/O errors, among them
    /// a full disk or a file-size limit when preallocating.
    pub unsafe fn create<T: Element>(
        &self,
        path: impl AsRef<Path>,
        shape: &[usize],
    ) -> Result<MappedArray<T, ReadWrite>> {
        let path = path.as_ref();
        let dtype = DType::new(T::TYPE, self.byte_order.unwrap_or(ByteOrder::NATIVE));
        if !dtype.is_native() {
            return Err(Error::NonNativeByteOrder {
                path: path.to_path_buf(),
                dtype,
            });
        }
        let (info, file) = self.create_file(path, dtype, shape, &[], |file, layout| {
            self.size_data_file(file, path, layout)
        })?;
        // SAFETY: the caller's contract.
        unsafe { MappedArray::map_opened(info, file) }
    }

    /// The format set, or `default`.
    pub(crate) fn format_or(&self, default: Format) -> Format {
        self.format.unwrap_or(default)
    }

    /// Whether overwriting was asked for.
    pub(crate) fn overwrites(&self) -> bool {
        self.overwrite
    }

    /// Gives a new, zero-filled data file (holding at most its header) its
    /// full length: sparse, or with the array's bytes allocated first when
    /// preallocating (errors name `path`, the file the user asked for).
    fn size_data_file(&self, file: &File, path: &Path, layout: &Layout) -> Result<()> {
        if self.preallocate {
            fsutil::allocate(
                file,
                path,
                layout.offset(),
                layout.nbytes() as u64,
                "reserving disk space for the array (preallocate)",
            )?;
        }
        file.set_len(layout.end())
            .at(path, "setting the data file's length")
    }

    /// Creates an array of `dtype` (any byte order) and `shape` at `path`
    /// with every element set to `fill`, without mapping it: a sparse file
    /// when `fill` is zero (zero is all-zero bytes in every dtype), otherwise
    /// written in chunks of bounded size.
    ///
    /// ```
    /// use mmarray::{CreateOptions, Scalar};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ones.dat");
    /// CreateOptions::new().create_filled(&path, ">i4".parse()?, &[2, 2], Scalar::Int(1))?;
    /// assert_eq!(mmarray::read_array::<i32>(&path)?.sum(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), except that any byte order is allowed;
    /// [`Error::InvalidArgument`] for a `fill` the dtype cannot hold (out
    /// of range, a fraction for an integer or bool dtype: see
    /// [`ElementType::check_scalar`](crate::ElementType::check_scalar)),
    /// which numpy's `np.full` refuses too, instead of wrapping it.
    pub fn create_filled(
        &self,
        path: impl AsRef<Path>,
        dtype: DType,
        shape: &[usize],
        fill: Scalar,
    ) -> Result<ArrayInfo> {
        use std::io::Write;
        let path = path.as_ref();
        dtype
            .element_type()
            .check_scalar(fill)
            .map_err(|e| Error::InvalidArgument {
                path: path.to_path_buf(),
                message: format!("cannot fill with {e}"),
            })?;
        let is_zero = matches!(fill, Scalar::Int(0))
            || fill == Scalar::Float(0.0)
            || fill == Scalar::Complex(0.0, 0.0);
        let (info, _file) = self.create_file(path, dtype, shape, &[], |file, layout| {
            if is_zero {
                return self.size_data_file(file, path, layout);
            }
            let mut chunk = Vec::with_capacity(64 << 10);
            crate::dispatch_type!(dtype.element_type(), |T| {
                let values = vec![T::from_scalar(fill); (64 << 10) / dtype.itemsize()];
                dtype::encode_into(&values, dtype.byte_order(), &mut chunk);
            });
            let mut remaining = layout.nbytes();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            while remaining > 0 {
                let n = remaining.min(chunk.len());
                out.write_all(&chunk[..n])
                    .at(path, "writing the data file")?;
                remaining -= n;
            }
            out.flush().at(path, "writing the data file")
        })?;
        Ok(info)
    }

    /// Writes `array` to a new file at `path`, in this builder's memory
    /// order, byte order and format, without mapping it. This is how to make
    /// a file in a byte order other than the machine's (for exchange with
    /// big-endian consumers), or a copy of an in-memory array.
    ///
    /// ```
    /// use mmarray::{ByteOrder, CreateOptions};
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("be.npy");
    /// let info = CreateOptions::new()
    ///     .byte_order(ByteOrder::Big)
    ///     .write(&path, &array![[1.0f32, 2.0], [3.0, 4.0]])?;
    /// assert_eq!(info.layout().dtype().to_string(), ">f4");
    /// assert_eq!(mmarray::read_array::<f32>(&path)?, array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), except that any byte order is allowed.
    pub fn write<T, S, D>(
        &self,
        path: impl AsRef<Path>,
        array: &ndarray::ArrayBase<S, D>,
    ) -> Result<ArrayInfo>
    where
        T: Element,
        S: ndarray::Data<Elem = T>,
        D: Dimension,
    {
        use std::io::Write;
        let path = path.as_ref();
        let byte_order = self.byte_order.unwrap_or(ByteOrder::NATIVE);
        let dtype = DType::new(T::TYPE, byte_order);
        // Visit the elements in the file's memory order: F order is the C
        // order of the transposed array.
        let view = array.view();
        let in_memory_order = match self.order {
            Order::C => view,
            Order::F => view.reversed_axes(),
        };
        let (info, _file) = self.create_file(path, dtype, array.shape(), &[], |file, _| {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let mut buf = Vec::with_capacity(64 << 10);
            let flat_chunks: Box<dyn Iterator<Item = Vec<T>>> = match in_memory_order.as_slice() {
                Some(slice) => Box::new(slice.chunks(8192).map(<[T]>::to_vec)),
                None => {
                    let mut iter = in_memory_order.iter().copied();
                    Box::new(std::iter::from_fn(move || {
                        let chunk: Vec<T> = iter.by_ref().take(8192).collect();
                        (!chunk.is_empty()).then_some(chunk)
                    }))
                }
            };
            for chunk in flat_chunks {
                buf.clear();
                dtype::encode_into(&chunk, byte_order, &mut buf);
                out.write_all(&buf).at(path, "writing the data file")?;
            }
            out.flush().at(path, "writing the data file")
        })?;
        Ok(info)
    }

    /// Makes the file for an array of `dtype` and `shape` at `path`: header
    /// (for `.npy`) then `fill` on a temporary file in the same directory,
    /// fsync, then into place (renamed over an old file when overwriting,
    /// renamed only if nothing is there otherwise), and the sidecar last.
    ///
    /// `reads` are the files the caller reads while writing (a conversion's
    /// source and its sidecar): a destination that is one of them is
    /// refused with [`Error::SameFile`], as is a sidecar that is the data
    /// file itself.
    ///
    /// Until the sidecar is written, the new data file is held under its
    /// exclusive lock, so an `open` racing the create (or a replace) waits
    /// and then sees the whole new array, never a data file without its
    /// sidecar. A failure at any step leaves nothing at `path` (when
    /// overwriting: the old array as it was, unless the failure came after
    /// the new data file was renamed into place, in which case neither is
    /// left) and names `path` or its sidecar, never the temporary file.
    pub(crate) fn create_file(
        &self,
        path: &Path,
        dtype: DType,
        shape: &[usize],
        reads: &[&Path],
        fill: impl FnOnce(&File, &Layout) -> Result<()>,
    ) -> Result<(ArrayInfo, SharedLock)> {
        let format = self.format.unwrap_or_else(|| format_for_path(path));
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut layout = Layout::new(path, dtype, &dims, self.order, 0)?;
        let header = match format {
            Format::Npy => {
                // As numpy: an array whose C and F sequences coincide is
                // recorded as C order.
                let order = if layout.orders_differ() {
                    layout.order()
                } else {
                    Order::C
                };
                let header = npy::header_bytes(layout.dtype(), layout.shape(), order);
                layout = layout.with_offset_and_order(path, header.len() as u64, order)?;
                header
            }
            Format::Raw => Vec::new(),
            Format::Npz => {
                return Err(Error::InvalidArgument {
                    path: path.to_path_buf(),
                    message:
                        "a .npz archive holds several arrays; write it with format::npz::NpzWriter"
                            .into(),
                });
            }
        };
        let sidecar = (format == Format::Raw).then(|| sidecar::sidecar_path(path));
        let outputs: Vec<&Path> = std::iter::once(path).chain(sidecar.as_deref()).collect();
        for &output in &outputs {
            let others = reads.iter().chain(outputs.iter().filter(|&&o| o != output));
            if let Some(input) = others.into_iter().find(|&&i| fsutil::same_file(output, i)) {
                return Err(Error::SameFile {
                    path: output.to_path_buf(),
                    input: input.to_path_buf(),
                });
            }
        }
        if !self.overwrite {
            for &existing in &outputs {
                if fs::symlink_metadata(existing).is_ok() {
                    return Err(Error::AlreadyExists {
                        path: existing.to_path_buf(),
                    });
                }
            }
        } else {
            // Only a file is replaced: renaming over a directory would fail
            // late, after the old sidecar was removed; a FIFO or device is
            // not an array to replace.
            if let Ok(meta) = fs::symlink_metadata(path)
                && meta.is_dir()
            {
                return Err(Error::InvalidArgument {
                    path: path.to_path_buf(),
                    message: "is a directory, not an array; refusing to replace it".into(),
                });
            }
            for &output in &outputs {
                fsutil::refuse_special(output)?;
            }
        }
        // When overwriting, refuse while anyone maps the old file (held
        // until the new array is complete).
        let _old = match self.overwrite {
            true => ExclusiveLock::try_existing(path, "replaced")?,
            false => None,
        };
        // Built under a temporary name: even a non-cooperating reader of an
        // old file keeps its old inode, and a failure leaves nothing.
        let tmp = fsutil::temp_path_for(path);
        let built = (|| -> Result<ExclusiveLock> {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
                .at(path, "creating the data file (under a temporary name)")?;
            // Nobody else can know the file yet: this cannot be busy.
            let new = ExclusiveLock::try_new(file, path, "created")?;
            let file = new.file();
            {
                use std::io::Write;
                let mut out = file;
                out.write_all(&header).at(path, "writing the .npy header")?;
            }
            fill(file, &layout)?;
            file.sync_all().at(path, "syncing the data file")?;
            if self.overwrite
                && let Some(sidecar) = &sidecar
            {
                // Remove the old sidecar first, so that no crash can
                // leave it describing the new data file.
                fsutil::remove_if_exists(sidecar)?;
            }
            fsutil::move_into_place(
                &tmp,
                path,
                self.overwrite,
                "renaming the new data file into place",
            )?;
            Ok(new)
        })();
        let new = match built {
            Ok(new) => new,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let attrs = if format == Format::Raw {
            self.attrs.clone()
        } else {
            Attrs::new()
        };
        let described = fsutil::sync_dir(fsutil::parent_dir(path)).and_then(|()| match &sidecar {
            Some(sidecar) => write_sidecar(sidecar, &layout, &attrs, Durability::Durable),
            None => Ok(()),
        });
        if let Err(e) = described {
            // The data file is ours (we hold its exclusive lock): without
            // its sidecar it is no array, so take it back.
            let _ = fs::remove_file(path);
            return Err(e);
        }
        // The array is complete: let others map it, as this handle will.
        let lock = new.into_shared(path)?;
        let info = ArrayInfo {
            path: path.to_path_buf(),
            sidecar,
            format,
            layout,
            attrs,
            member: None,
        };
        Ok((info, lock))
    }
}

/// Describes an existing raw data file (numpy's `tofile` output) by writing
/// its sidecar, after checking that the file holds the whole array.
///
/// ```
/// use mmarray::{DType, MappedArray, Order};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("raw.bin");
/// std::fs::write(&path, [1u8, 2, 3, 4, 5, 6])?; // what `a.tofile()` would write
/// mmarray::describe(&path, "uint8".parse()?, &[2, 3], Order::C, 0, false)?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// assert_eq!(unsafe { MappedArray::<u8>::open(&path) }?.view()[[1, 2]], 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::DataTooShort`] if the file is shorter than `offset` plus the
/// array; [`Error::AlreadyExists`] if a sidecar exists and `overwrite` is
/// false; [`Error::SameFile`] if the sidecar's name leads to the data file
/// itself (a symlink or hard link); [`Error::InvalidArgument`] for a `.npy` file (which needs no
/// sidecar); shape and I/O errors.
pub fn describe(
    data_path: &Path,
    dtype: DType,
    shape: &[usize],
    order: Order,
    offset: u64,
    overwrite: bool,
) -> Result<ArrayInfo> {
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let layout = Layout::new(data_path, dtype, &dims, order, offset)?;
    let file = fsutil::open_data_file(data_path, false)?;
    if source::is_npy(data_path, &file)? {
        return Err(Error::InvalidArgument {
            path: data_path.to_path_buf(),
            message: "this is a .npy file, which describes itself; it needs no sidecar".into(),
        });
    }
    let len = file
        .metadata()
        .at(data_path, "reading the data file's metadata")?
        .len();
    layout.check_fits(data_path, len)?;
    let sidecar = sidecar::sidecar_path(data_path);
    if fsutil::same_file(&sidecar, data_path) {
        return Err(Error::SameFile {
            path: sidecar,
            input: data_path.to_path_buf(),
        });
    }
    if !overwrite && sidecar.exists() {
        return Err(Error::AlreadyExists { path: sidecar });
    }
    // Keep the user's attrs when re-describing a file.
    let attrs = match source::read_sidecar(&sidecar) {
        Ok(old) => old.attrs,
        Err(_) => Attrs::new(),
    };
    source::write_sidecar(&sidecar, &layout, &attrs, Durability::Durable)?;
    Ok(ArrayInfo {
        path: data_path.to_path_buf(),
        sidecar: Some(sidecar),
        format: Format::Raw,
        layout,
        attrs,
        member: None,
    })
}

/// A new array built in two steps: made complete under a hidden temporary
/// name beside its destination, filled by anyone who opens
/// [`path`](Self::path) (other threads, other processes: a Dask cluster's
/// workers each writing their own block through a read-write mapping), then
/// moved into place by [`publish`](Self::publish).
///
/// Until `publish`, nothing appears at the destination: a computation that
/// fails halfway leaves no array that looks complete there (the staged files
/// are hidden, skipped by [`Store::list`](crate::Store::list), and removed
/// by [`discard`](Self::discard) or when the `Staged` is dropped). Publishing
/// follows the rules of [`CreateOptions::create`]: it refuses an existing
/// destination unless overwriting, and refuses to replace an array that
/// another handle maps.
///
/// ```
/// use mmarray::{CreateOptions, MappedArray};
///
/// let dir = tempfile::tempdir()?;
/// let dest = dir.path().join("result.dat");
/// let mut staged = CreateOptions::new().stage(&dest, "<f8".parse()?, &[2, 3])?;
/// {
///     // Any process may do this part, each for its own rows.
///     // SAFETY: the example's own file; nothing else changes it while mapped.
///     let mut a = unsafe { MappedArray::<f64>::open_mut(staged.path()) }?;
///     a.view_mut().fill(1.5);
///     a.close()?;
/// }
/// assert!(!dest.exists());
/// let info = staged.publish()?;
/// assert_eq!(info.path(), dest);
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// assert_eq!(unsafe { MappedArray::<f64>::open(&dest) }?.view().sum(), 9.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Staged {
    info: ArrayInfo,
    dest: std::path::PathBuf,
    overwrite: bool,
    finished: bool,
}

impl CreateOptions {
    /// Creates a zero-filled array of `dtype` and `shape` for `dest` under a
    /// hidden temporary name in `dest`'s directory (a raw file plus sidecar,
    /// or a `.npy` file, by `dest`'s name or [`format`](Self::format)), to be
    /// filled through [`Staged::path`] and moved into place with
    /// [`Staged::publish`]. Attrs, order, byte order and preallocation are
    /// those of these options; preallocate when the array is to be written
    /// through mappings, so that a full disk is an error here, not a
    /// `SIGBUS` in a writer.
    ///
    /// # Errors
    ///
    /// As [`create_filled`](Self::create_filled); [`Error::AlreadyExists`]
    /// already now if `dest` (or its sidecar) exists and overwriting was
    /// not asked for.
    pub fn stage(&self, dest: impl AsRef<Path>, dtype: DType, shape: &[usize]) -> Result<Staged> {
        let dest = dest.as_ref();
        let format = self.format.unwrap_or_else(|| format_for_path(dest));
        let mut tmp = fsutil::temp_path_for(dest).into_os_string();
        tmp.push(".staged");
        if format == Format::Npy {
            tmp.push(".npy");
        }
        let tmp = std::path::PathBuf::from(tmp);
        if !self.overwrite {
            let sidecar = (format == Format::Raw).then(|| sidecar::sidecar_path(dest));
            for existing in std::iter::once(dest).chain(sidecar.as_deref()) {
                if fs::symlink_metadata(existing).is_ok() {
                    return Err(Error::AlreadyExists {
                        path: existing.to_path_buf(),
                    });
                }
            }
        }
        let mut options = self.clone();
        options.overwrite = false;
        options.format = Some(format);
        let (info, lock) = options.create_file(&tmp, dtype, shape, &[], |file, layout| {
            options.size_data_file(file, &tmp, layout)
        })?;
        drop(lock);
        Ok(Staged {
            info,
            dest: dest.to_path_buf(),
            overwrite: self.overwrite,
            finished: false,
        })
    }
}

impl Staged {
    /// The staged array's path: open it (read-write) to fill it. Absolute
    /// if the destination was given as an absolute path.
    pub fn path(&self) -> &Path {
        self.info.path()
    }

    /// Where [`publish`](Self::publish) puts the array.
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    /// The staged array's layout (its offset, for a `.npy` file, is the
    /// header's length, as at the destination).
    pub fn layout(&self) -> &Layout {
        self.info.layout()
    }

    /// Moves the array into place at the destination: the data file
    /// renamed, then its sidecar written (while nobody can map the new file),
    /// then the staged sidecar removed; returns what
    /// [`inspect`](crate::inspect) would say of the destination.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] while any handle still maps the staged array (every
    /// writer must have closed it) or, when overwriting, the old array at
    /// the destination; [`Error::AlreadyExists`] if something appeared at
    /// the destination meanwhile and overwriting was not asked for; I/O
    /// errors; [`Error::InvalidArgument`] if already published. On error
    /// the array stays staged (publish again once the cause is gone, or drop
    /// it to remove it), unless the data file had already been moved: then
    /// nothing is left at either name.
    pub fn publish(&mut self) -> Result<ArrayInfo> {
        if self.finished {
            return Err(Error::InvalidArgument {
                path: self.dest.clone(),
                message: "this staged array was already published or discarded".into(),
            });
        }
        let tmp = self.info.path().to_path_buf();
        let dest = self.dest.clone();
        // Held until the destination is complete: nobody maps the new file
        // before its sidecar is there.
        let _new = ExclusiveLock::try_existing(&tmp, "published")?;
        let _old = match self.overwrite {
            true => {
                if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::InvalidArgument {
                        path: dest,
                        message: "is a directory, not an array; refusing to replace it".into(),
                    });
                }
                ExclusiveLock::try_existing(&dest, "replaced")?
            }
            false => None,
        };
        let move_data = |overwrite: bool| -> Result<()> {
            fsutil::move_into_place(
                &tmp,
                &dest,
                overwrite,
                "renaming the new data file into place",
            )
        };
        let sidecar = match self.info.sidecar_path() {
            None => {
                move_data(self.overwrite)?;
                None
            }
            Some(staged_sidecar) => {
                let staged_sidecar = staged_sidecar.to_path_buf();
                let dest_sidecar = sidecar::sidecar_path(&dest);
                if !self.overwrite && fs::symlink_metadata(&dest_sidecar).is_ok() {
                    return Err(Error::AlreadyExists { path: dest_sidecar });
                }
                let contents = fsutil::read_bounded(
                    &staged_sidecar,
                    sidecar::MAX_SIDECAR_BYTES,
                    &fsutil::SIDECAR,
                )?;
                if self.overwrite {
                    // As `create_file`: no crash may leave the old sidecar
                    // describing the new data file.
                    fsutil::remove_if_exists(&dest_sidecar)?;
                }
                move_data(self.overwrite)?;
                self.finished = true;
                if let Err(e) = fsutil::write_atomic(&dest_sidecar, &contents) {
                    // Without its sidecar the data file is no array: take
                    // it back (we hold its lock), and the staged sidecar.
                    let _ = fs::remove_file(&dest);
                    let _ = fs::remove_file(&staged_sidecar);
                    return Err(e);
                }
                fsutil::remove_if_exists(&staged_sidecar)?;
                Some(dest_sidecar)
            }
        };
        self.finished = true;
        fsutil::sync_dir(fsutil::parent_dir(&dest))?;
        let mut info = self.info.clone();
        info.path = dest;
        info.sidecar = sidecar;
        Ok(info)
    }

    /// Removes the staged array (what dropping a `Staged` does, with the
    /// error reported).
    ///
    /// # Errors
    ///
    /// I/O errors removing the staged files.
    pub fn discard(mut self) -> Result<()> {
        self.finished = true;
        self.remove()
    }

    fn remove(&self) -> Result<()> {
        if let Some(sidecar) = self.info.sidecar_path() {
            fsutil::remove_if_exists(sidecar)?;
        }
        fsutil::remove_if_exists(self.info.path())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.remove();
        }
    }
}
