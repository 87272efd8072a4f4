//! [`Appender`]: rows added to a growable array while others read it.
//!
//! A [`MappedArray`](crate::MappedArray) opened for writing hands out
//! `&mut` views of the file's bytes, so no other mapping of the file may
//! exist while it lives (see [Safety of mappings](crate#safety-of-mappings)).
//! Appending needs none of that: new rows go past the length readers see,
//! where no reference points. An `Appender` writes them there with `pwrite`
//! and never maps the file, so it is safe to make, and it coexists with
//! any number of readers in any process (the live-tail pattern: a logger
//! appends and publishes, dashboards reopen and read the published rows).
//!
//! It keeps every promise appends make (see [`crate::grow`]):
//!
//! - **One appender at a time.** Opening takes the array's writer claim
//!   without waiting: a second appender, in this process or another (or a
//!   mapping that grows), gets [`Error::Busy`] (action `"grown"`).
//! - **Crash consistency.** [`publish`](Appender::publish) atomically
//!   rewrites the sidecar after the rows are in the page cache: a process
//!   crash after it loses no published row. [`commit`](Appender::commit)
//!   first syncs the rows to disk (`fdatasync`), then the sidecar, so the
//!   rows survive a machine crash too. A crash before either leaves the
//!   array as it was published or committed.
//! - **Disk space reserved** ahead of the rows in steps of 1 MiB
//!   (`fallocate` keeping the file's length), and a full disk, a quota or
//!   a file-size limit is an [`Error::Io`] from `append`, which leaves the
//!   array as it was. No write can fault: nothing is mapped.
//! - **No spare capacity**: the file grows by exactly the rows written.
//!
//! ```
//! use mmarray::Appender;
//! use ndarray::array;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("log.dat");
//! let mut log = Appender::<f32>::create(&path, &[3])?;
//! log.append(&array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])?;
//! log.publish()?; // readers opening from now on see two rows
//! assert_eq!(mmarray::inspect(&path)?.layout().shape(), &[2, 3]);
//! log.append(&array![[7.0, 8.0, 9.0]])?;
//! log.close()?; // commits: durable
//! assert_eq!(mmarray::read_array::<f32>(&path)?.shape(), &[3, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::marker::PhantomData;
use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};

use crate::create::CreateOptions;
use crate::dtype::{self, DType, Element, Scalar};
use crate::error::{Error, IoContext, Result};
use crate::format::{Format, format_for_path};
use crate::fsutil;
use crate::layout::{Layout, Order};
use crate::lock::{Owner, SharedLock, WriterClaim};
use crate::source::{self, ArrayInfo, Durability};

/// Disk space reserved ahead of the rows at a time.
const RESERVE_STEP: u64 = 1 << 20;

/// Appended bytes handed to the kernel's writeback at a time (see
/// [Writeback](crate::grow#writeback)).
const WRITEBACK_STEP: u64 = 4 << 20;

/// Appends rows along axis 0 of a raw, C-order array, without mapping it:
/// safe, and readers of the published rows go on in any process (see the
/// [module docs](crate::appender)).
///
/// Rows appended are visible to other handles after
/// [`publish`](Self::publish) (process-crash safe) or
/// [`commit`](Self::commit) (machine-crash safe); `close` and drop commit.
pub struct Appender<T: Element> {
    /// The data file, open for writing, under the shared lock: nobody
    /// replaces or removes the array while it is appended to.
    lock: SharedLock,
    /// One appender at a time.
    claim: WriterClaim,
    /// Path, sidecar, layout (with every row appended so far) and attrs.
    info: ArrayInfo,
    /// Rows appended since the sidecar was last written.
    unpublished: bool,
    /// Rows appended since the data were last synced and the sidecar
    /// durably written.
    uncommitted: bool,
    /// Disk space is reserved up to this byte.
    reserved_end: u64,
    /// Rows before this byte have been handed to the kernel's writeback.
    writeback_from: u64,
    /// The process that opened it, the only one that may append.
    owner: Owner,
    _element: PhantomData<T>,
}

impl<T: Element> Appender<T> {
    /// Creates a new, empty raw array at `path` (data file plus sidecar;
    /// zero rows of `row_shape`, C order, native byte order) and opens it
    /// for appending.
    ///
    /// ```
    /// use mmarray::Appender;
    /// let dir = tempfile::tempdir()?;
    /// let log = Appender::<u16>::create(dir.path().join("log.dat"), &[4])?;
    /// assert_eq!((log.rows(), log.row_shape()), (0, &[4][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if something is there already;
    /// [`Error::InvalidArgument`] for a `.npy` path (a `.npy` header holds
    /// the shape, so it cannot grow in place); as
    /// [`CreateOptions::create_filled`] and [`open`](Self::open).
    pub fn create(path: impl AsRef<Path>, row_shape: &[usize]) -> Result<Appender<T>> {
        let path = path.as_ref();
        if format_for_path(path) == Format::Npy {
            return Err(not_growable(
                path,
                ".npy files cannot grow in place; append to a raw file with a sidecar",
            ));
        }
        let mut shape = vec![0];
        shape.extend_from_slice(row_shape);
        CreateOptions::new().format(Format::Raw).create_filled(
            path,
            DType::native(T::TYPE),
            &shape,
            Scalar::Int(0),
        )?;
        Appender::open(path)
    }

    /// Opens the raw, C-order array at `path` (or its sidecar) for
    /// appending: takes its writer claim and starts after the rows its
    /// sidecar records. The file may be in either byte order: rows are
    /// written in the file's.
    ///
    /// ```
    /// use mmarray::Appender;
    /// use ndarray::array;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("log.dat");
    /// Appender::<i64>::create(&path, &[2])?.close()?;
    /// let mut log = Appender::<i64>::open(&path)?;
    /// log.append(&array![[1, 2]])?;
    /// // A second appender waits its turn:
    /// assert!(matches!(Appender::<i64>::open(&path), Err(mmarray::Error::Busy { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] (action `"grown"`) while another handle appends to
    /// the array; [`Error::DtypeMismatch`] if it does not hold `T`;
    /// [`Error::InvalidArgument`] for a `.npy` file, an F-order or 0-d
    /// array; as [`inspect`](crate::inspect).
    pub fn open(path: impl AsRef<Path>) -> Result<Appender<T>> {
        let (info, lock) = source::open_source(path.as_ref(), true)?;
        let path = info.path.clone();
        if info.format != Format::Raw {
            return Err(not_growable(
                &path,
                ".npy files cannot grow in place; append to a raw file with a sidecar",
            ));
        }
        let claim = WriterClaim::try_claim(lock.file(), &path)?;
        // Under the claim, the recorded length is final until we write it:
        // read it again, in case an appender published since the open.
        let Some(sidecar) = info.sidecar.as_deref() else {
            unreachable!("a raw array has a sidecar")
        };
        let recorded = source::read_sidecar(sidecar)?;
        let layout = recorded.layout;
        if layout.dtype().element_type() != T::TYPE {
            return Err(Error::DtypeMismatch {
                path,
                expected: DType::of::<T>(),
                found: layout.dtype(),
            });
        }
        if layout.ndim() == 0 {
            return Err(not_growable(&path, "a 0-d array has no axis to grow along"));
        }
        if layout.order() != Order::C && layout.orders_differ() {
            return Err(not_growable(&path, "only C-order arrays grow along axis 0"));
        }
        let len = lock
            .file()
            .metadata()
            .at(&path, "reading the data file's metadata")?
            .len();
        layout.check_fits(&path, len)?;
        let end = layout.end();
        let info = ArrayInfo {
            layout,
            attrs: recorded.attrs,
            ..info
        };
        Ok(Appender {
            lock,
            claim,
            info,
            unpublished: false,
            uncommitted: false,
            reserved_end: end,
            writeback_from: end,
            owner: Owner::current(),
            _element: PhantomData,
        })
    }

    /// Appends `rows` along axis 0: `rows` has the array's number of
    /// dimensions and its extents after axis 0. Written to the file at
    /// once (readers see them after [`publish`](Self::publish)).
    ///
    /// # Errors
    ///
    /// [`Error::RowShapeMismatch`] for rows of another shape (one row is
    /// `row.insert_axis(Axis(0))`); [`Error::ShapeOverflow`] past the
    /// address space; [`Error::ForkedHandle`] in a process other than the
    /// one that opened the appender; I/O errors writing the rows or
    /// reserving space for them (a full disk). After an error the array
    /// holds the rows it had before the call.
    pub fn append<S, D>(&mut self, rows: &ArrayBase<S, D>) -> Result<()>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        self.owner.check(&self.info.path)?;
        let shape = self.info.layout.shape();
        if rows.ndim() != shape.len() || rows.shape()[1..] != shape[1..] {
            return Err(Error::RowShapeMismatch {
                path: self.info.path.clone(),
                row_shape: shape[1..].to_vec(),
                found: rows.shape().to_vec(),
            });
        }
        if rows.is_empty() {
            return Ok(());
        }
        let old_rows = shape[0];
        let new_rows = old_rows
            .checked_add(rows.shape()[0])
            .ok_or_else(|| self.overflow())?;
        let layout = self.layout_with_rows(new_rows)?;
        let start = self.info.layout.end();
        let end = layout.end();
        if end > self.reserved_end {
            let step_end = end.max(self.reserved_end.saturating_add(RESERVE_STEP));
            fsutil::reserve_keep_size(
                self.lock.file(),
                &self.info.path,
                self.reserved_end,
                step_end - self.reserved_end,
                "reserving disk space for the rows being written",
            )
            .or_else(|_| {
                fsutil::reserve_keep_size(
                    self.lock.file(),
                    &self.info.path,
                    self.reserved_end,
                    end - self.reserved_end,
                    "reserving disk space for the rows being written",
                )
            })?;
            self.reserved_end = step_end;
        }
        let written = self.write_rows(rows, start);
        if let Err(e) = written {
            // Nothing past `start` is recorded anywhere: cut a partial write
            // off (readers map at most the published rows, which end at or
            // before `start`).
            let _ = self.lock.file().set_len(start);
            return Err(e);
        }
        self.info.layout = layout;
        self.unpublished = true;
        self.uncommitted = true;
        if end - self.writeback_from >= WRITEBACK_STEP {
            fsutil::start_writeback(
                self.lock.file(),
                self.writeback_from,
                end - self.writeback_from,
            );
            self.writeback_from = end;
        }
        Ok(())
    }

    /// Writes `rows` in memory order C and the file's byte order at byte
    /// `at`.
    fn write_rows<S, D>(&self, rows: &ArrayBase<S, D>, at: u64) -> Result<()>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        let path = &self.info.path;
        let byte_order = self.info.layout.dtype().byte_order();
        let native = self.info.layout.dtype().is_native();
        match rows.as_slice() {
            Some(elements) if native => {
                fsutil::write_all_at(self.lock.file(), bytemuck::cast_slice(elements), at)
                    .at(path, "writing appended rows")
            }
            _ => {
                // In pieces of at most 1 MiB: bounded memory for any batch.
                let per_piece = ((1usize << 20) / T::TYPE.size()).max(1);
                let mut buf = Vec::with_capacity(per_piece * T::TYPE.size());
                let mut pos = at;
                let mut piece = Vec::with_capacity(per_piece);
                let mut elements = rows.iter().copied().peekable();
                while elements.peek().is_some() {
                    piece.clear();
                    piece.extend(elements.by_ref().take(per_piece));
                    buf.clear();
                    dtype::encode_into(&piece, byte_order, &mut buf);
                    fsutil::write_all_at(self.lock.file(), &buf, pos)
                        .at(path, "writing appended rows")?;
                    pos += buf.len() as u64;
                }
                Ok(())
            }
        }
    }

    /// Makes the rows appended so far visible to every process that opens
    /// the array from now on, without waiting for the disk: atomically
    /// rewrites the sidecar (no `fsync`). A crash of this process loses
    /// none of them; a machine crash may (see [`commit`](Self::commit)).
    ///
    /// # Errors
    ///
    /// I/O errors writing the sidecar (the published length is then the
    /// previous one); [`Error::ForkedHandle`] outside the opening process.
    pub fn publish(&mut self) -> Result<()> {
        self.owner.check(&self.info.path)?;
        if !self.unpublished {
            return Ok(());
        }
        self.write_sidecar(Durability::Atomic)?;
        self.unpublished = false;
        Ok(())
    }

    /// Makes the rows appended so far durable: syncs them to disk, then
    /// atomically and durably rewrites the sidecar.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), and I/O errors syncing the data.
    pub fn commit(&mut self) -> Result<()> {
        self.owner.check(&self.info.path)?;
        if !self.uncommitted {
            return Ok(());
        }
        self.lock
            .file()
            .sync_data()
            .at(&self.info.path, "syncing appended rows")?;
        self.write_sidecar(Durability::Durable)?;
        self.unpublished = false;
        self.uncommitted = false;
        Ok(())
    }

    /// Commits, then gives the writer claim up. A file left longer than the
    /// array by a crashed appender is trimmed when nobody maps it.
    ///
    /// # Errors
    ///
    /// As [`commit`](Self::commit).
    pub fn close(mut self) -> Result<()> {
        self.commit()?;
        self.trim_leftovers();
        Ok(())
    }

    /// Cuts bytes past the array's end (left by an appender that crashed,
    /// or a mapping's growth capacity) off, under the exclusive lock like
    /// any shrink; left alone while someone maps the file.
    fn trim_leftovers(&mut self) {
        let path = self.info.path.clone();
        let end = self.info.layout.end();
        let Ok(meta) = self.lock.file().metadata() else {
            return;
        };
        if meta.len() <= end {
            return;
        }
        if self.lock.try_exclusive(&path, "trimmed").is_ok() {
            let _ = self.lock.file().set_len(end);
        }
        let _ = self.lock.back_to_shared(&path);
    }

    /// The number of rows, appended ones included.
    pub fn rows(&self) -> usize {
        self.info.layout.shape()[0]
    }

    /// The extents after axis 0.
    pub fn row_shape(&self) -> &[usize] {
        &self.info.layout.shape()[1..]
    }

    /// The array's layout with every row appended so far.
    pub fn layout(&self) -> &Layout {
        &self.info.layout
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.info.path
    }

    fn write_sidecar(&self, durability: Durability) -> Result<()> {
        let Some(sidecar) = self.info.sidecar.as_deref() else {
            unreachable!("a raw array has a sidecar")
        };
        source::write_sidecar(sidecar, &self.info.layout, &self.info.attrs, durability)
    }

    fn layout_with_rows(&self, rows: usize) -> Result<Layout> {
        let layout = &self.info.layout;
        let mut shape: Vec<u64> = layout.shape().iter().map(|&d| d as u64).collect();
        shape[0] = rows as u64;
        Layout::new(
            &self.info.path,
            layout.dtype(),
            &shape,
            Order::C,
            layout.offset(),
        )
    }

    fn overflow(&self) -> Error {
        let mut shape: Vec<u64> = self.info.layout.shape().iter().map(|&d| d as u64).collect();
        shape[0] = u64::MAX;
        Error::ShapeOverflow {
            path: self.info.path.clone(),
            shape,
            itemsize: T::TYPE.size(),
        }
    }
}

fn not_growable(path: &Path, reason: &str) -> Error {
    Error::InvalidArgument {
        path: path.to_path_buf(),
        message: reason.into(),
    }
}

/// Dropping an appender commits, ignoring errors (call
/// [`close`](Appender::close) or [`commit`](Appender::commit) to see them).
/// In a process other than the one that opened it (a `fork` child) it does
/// nothing but close its descriptors.
impl<T: Element> Drop for Appender<T> {
    fn drop(&mut self) {
        if self.owner.is_current() {
            let _ = self.commit();
        }
    }
}

impl<T: Element> std::fmt::Debug for Appender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("path", &self.info.path)
            .field("dtype", &self.info.layout.dtype().to_string())
            .field("shape", &self.info.layout.shape())
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}
