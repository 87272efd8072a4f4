//! Growable arrays: appending rows, resizing, and committing the length.
//!
//! A raw, C-order array opened read-write can grow and shrink along axis 0.
//! The data file grows geometrically, so appending in a loop costs amortised
//! O(1) per row; capacity beyond the array's length is invisible (views and
//! the sidecar cover only the length). Growing replaces the mapping, and the
//! methods take `&mut self`, so no view can outlive it.
//!
//! # Crash consistency
//!
//! The length recorded in the sidecar grows only after the rows it covers
//! are durable: [`commit`](crate::MappedArray::commit) flushes the data
//! (`msync`) and then atomically replaces the sidecar. The sidecar is not
//! rewritten per append; it is rewritten by `commit`, by
//! [`flush`](crate::MappedArray::flush) and, best effort, when the array is
//! dropped. After a crash at any instant the array reopens, and every row
//! inside its recorded shape holds exactly what was written: rows appended
//! since the last commit are simply not part of it.
//!
//! [`publish`](crate::MappedArray::publish) is the same atomic sidecar
//! rewrite without the flush and the fsyncs: consistent after this process
//! crashes or is killed (the rows are in the page cache before the sidecar
//! names them), at memory speed, but not durable against a machine crash.
//!
//! # Writeback
//!
//! On Linux, every 4 MiB of appended rows are handed to the kernel's
//! writeback as they are appended (`sync_file_range(2)`, which starts the
//! disk writes and does not wait for them). The disk then writes rows while
//! the next ones are appended, and `commit` waits only for the last few MiB
//! instead of everything appended since the previous commit: appending
//! 512 MiB and committing takes about three quarters of the time it took
//! without (BENCHMARKS.md). It changes no guarantee: rows are durable after
//! `commit` and not before, and an I/O error in this writeback is reported
//! by the `commit` that follows.
//!
//! # Shrinking and other processes
//!
//! [`resize`](crate::MappedArray::resize) to fewer rows truncates the file,
//! which would kill any process mapping the tail with `SIGBUS`. It therefore
//! first takes the file's exclusive lock without waiting, and fails with
//! [`Error::Busy`] while any other mapping (in this process or another)
//! exists. Growing needs no exclusive lock: other mappings of the shorter
//! file stay valid.
//!
//! # One appender at a time
//!
//! Two handles growing one array at once would each record its own length
//! over the other's, losing rows whose `publish` had returned. So the first
//! call that changes the length ([`append`](crate::MappedArray::append),
//! [`resize`](crate::MappedArray::resize),
//! [`shrink_to_fit`](crate::MappedArray::shrink_to_fit); `publish` and
//! `commit` only record what those did) takes the array's **writer claim**
//! without waiting, and the mapping holds it until it is closed or dropped.
//! A second appender, in this process or another, gets [`Error::Busy`]
//! (action `"grown"`) at its first such call; nothing it had is changed.
//! Readers, and read-write mappings that only write elements in place, take
//! no claim and go on working meanwhile. On taking the claim a mapping
//! adopts the length recorded in the sidecar, so an appender that opened
//! the array before an earlier appender closed appends after that one's
//! rows instead of over them. The claim is a record lock that never
//! conflicts with the shared locks of mappings (see the `lock` module's
//! notes in the source); it is enforced on Linux, and on other systems a
//! single appender is up to the caller.
//!
//! # Closing: no spare capacity left behind
//!
//! The file grows geometrically, so after appends it is padded past the
//! array's end (one append to a 48-byte file leaves 1 MiB). A mapping that
//! grew the array cuts the padding off when it is
//! [closed](crate::MappedArray::close) or dropped, and on
//! [`shrink_to_fit`](crate::MappedArray::shrink_to_fit): a file closed
//! normally is exactly `offset + nbytes` long, as numpy's `tofile` would
//! have written it, and `np.fromfile` reads exactly the array. This needs
//! no exclusive lock: other mappings never reach past the recorded length.
//! After a crash the padding stays (invisible to every reader but raw
//! `np.fromfile`) until the next appender closes.
//!
//! # Full disks
//!
//! The file grows sparse, but before rows are written into the new space,
//! the disk blocks under them are reserved (`fallocate(2)`, or writing zeros
//! where the file system has no `fallocate`). Without that, a write through
//! the mapping into a sparse page of a full disk could not fail: the kernel
//! would kill the process with `SIGBUS`. With it, a full disk, a quota or a
//! file-size limit (`ulimit -f`) makes `append` or `resize` return an
//! [`Error::Io`] naming the file, and the array keeps the rows it had.
//!
//! This is always on, whatever [`CreateOptions::preallocate`] said: appends
//! write the new rows at once, so the space would be taken a moment later
//! anyway. It costs one `fallocate` call per MiB appended (tens of
//! microseconds, against the milliseconds it takes to write the MiB), and
//! takes disk space only for the rows written plus at most 1 MiB ahead,
//! never for the whole geometric capacity, which stays sparse. Where zeros
//! must be written instead, the new space is written twice. When doubling
//! the capacity would pass a file-size limit, the file grows by exactly the
//! rows asked for, so appends go on right up to the limit.
//!
//! [`CreateOptions::preallocate`]: crate::CreateOptions::preallocate

use std::marker::PhantomData;

use ndarray::{ArrayBase, Data, Dimension};

use crate::dtype::Element;
use crate::error::{Error, IoContext, Result};
use crate::format::Format;
use crate::fsutil;
use crate::layout::{Layout, Order};
use crate::lock::WriterClaim;
use crate::mapping::{self, Mode, ReadWrite};
use crate::source::{Durability, Source, read_sidecar, write_sidecar};

/// What a mapping tracks to grow: whether its length is recorded, how far
/// disk space is reserved and writeback started, and the writer claim.
/// Owned by this module; [`MappedArray`] holds one and never looks inside.
#[derive(Debug)]
pub(crate) struct Growth {
    /// The length (axis 0) changed since the sidecar was last written.
    uncommitted: bool,
    /// Growth has reserved disk space up to this byte of the file (at least
    /// the array's end): rows written below it cannot find the disk full.
    reserved_end: u64,
    /// Appended rows before this byte of the file have been handed to the
    /// kernel's writeback (see [Writeback](self#writeback)).
    writeback_from: u64,
    /// Held from the first call that changes the length until the mapping
    /// is closed or dropped (see [One appender at a time](self#one-appender-at-a-time)).
    claim: Option<WriterClaim>,
    /// Whether mappings replaced by growth are kept (in `replaced`) instead
    /// of unmapped (see [`MappedArray::retain_replaced_mappings`]).
    retain_replaced: bool,
    /// Mappings replaced while `retain_replaced` was on, oldest first.
    replaced: Vec<memmap2::MmapMut>,
}

/// A mapping that growth replaced, kept mapped by
/// [`MappedArray::retain_replaced_mappings`] so that pointers into it stay
/// valid; unmapped when dropped.
///
/// For bindings whose views cannot borrow the array (Python's numpy arrays
/// hold raw pointers): they keep the old mapping alive while views of it
/// exist. The memory is the same file's pages, so a view of an old mapping
/// sees writes through the new one, for the rows it covers.
///
/// [`MappedArray::retain_replaced_mappings`]: crate::MappedArray::retain_replaced_mappings
pub struct ReplacedMapping {
    _map: memmap2::MmapMut,
}

impl std::fmt::Debug for ReplacedMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplacedMapping").finish_non_exhaustive()
    }
}

impl Growth {
    /// The state of a freshly opened array ending at byte `end`.
    pub(crate) fn new(end: u64) -> Growth {
        Growth {
            uncommitted: false,
            reserved_end: end,
            writeback_from: end,
            claim: None,
            retain_replaced: false,
            replaced: Vec::new(),
        }
    }

    /// See [`MappedArray::retain_replaced_mappings`](crate::MappedArray::retain_replaced_mappings).
    pub(crate) fn retain_replaced(&mut self, retain: bool) {
        self.retain_replaced = retain;
    }

    /// The mappings replaced since the last call, oldest first.
    pub(crate) fn take_replaced(&mut self) -> Vec<ReplacedMapping> {
        std::mem::take(&mut self.replaced)
            .into_iter()
            .map(|map| ReplacedMapping { _map: map })
            .collect()
    }

    /// Whether the length changed since the sidecar was last written.
    pub(crate) fn is_uncommitted(&self) -> bool {
        self.uncommitted
    }
}

/// The smallest growth step: capacity for at least this many bytes of rows.
const MIN_GROWTH_BYTES: usize = 1 << 20;

/// Appended bytes handed to the kernel's writeback at a time. Writing
/// 512 MiB in 512 KiB writes and then `fsync`ing took 190 ms with steps of
/// 1 to 8 MiB alike, 200-240 ms with 16-64 MiB and 290-410 ms without (one
/// run each on the machine in BENCHMARKS.md); 4 MiB keeps the calls few.
const WRITEBACK_STEP: u64 = 4 << 20;

/// A mapping's source and growth state, borrowed together for one call:
/// what [`MappedArray`](crate::MappedArray)'s `append`, `resize`,
/// `publish`, `shrink_to_fit`, `commit`, `close` and drop run on.
pub(crate) struct Grower<'a, T, M: Mode> {
    pub(crate) src: &'a mut Source<M>,
    pub(crate) growth: &'a mut Growth,
    _element: PhantomData<T>,
}

impl<'a, T: Element, M: Mode> Grower<'a, T, M> {
    pub(crate) fn new(src: &'a mut Source<M>, growth: &'a mut Growth) -> Self {
        Grower {
            src,
            growth,
            _element: PhantomData,
        }
    }
}

impl<T: Element> Grower<'_, T, ReadWrite> {
    /// Makes `map` the array's mapping; the old one is unmapped, or kept
    /// when replaced mappings are retained.
    fn replace_map(&mut self, map: memmap2::MmapMut) {
        let old = std::mem::replace(&mut self.src.map, map);
        if self.growth.retain_replaced {
            self.growth.replaced.push(old);
        }
    }

    fn shape(&self) -> &[usize] {
        self.src.info.layout.shape()
    }

    pub(crate) fn append<S, D>(&mut self, rows: &ArrayBase<S, D>) -> Result<()>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        self.check_growable()?;
        self.claim_growth()?;
        let shape = self.shape();
        if rows.ndim() != shape.len() || rows.shape()[1..] != shape[1..] {
            return Err(Error::RowShapeMismatch {
                path: self.src.info.path.clone(),
                row_shape: shape[1..].to_vec(),
                found: rows.shape().to_vec(),
            });
        }
        let old_rows = shape[0];
        let new_rows = self.checked_rows(old_rows, rows.shape()[0])?;
        self.reserve_rows(new_rows)?;
        let row_len = self.row_len();
        match rows.as_slice() {
            // Contiguous rows go to the file with one `pwrite`: the page
            // cache takes them in large folios, with no page fault per 4 KiB
            // as a copy into fresh mapped pages would take, and the mapping
            // (the same page cache) shows them at once.
            Some(src) => {
                let at =
                    self.src.info.layout.offset() + (old_rows * row_len * T::TYPE.size()) as u64;
                fsutil::write_all_at(self.src.lock.file(), bytemuck::cast_slice(src), at)
                    .at(&self.src.info.path, "writing appended rows")?;
            }
            None => {
                let region = self.elements_up_to(new_rows * row_len);
                region[old_rows * row_len..]
                    .iter_mut()
                    .zip(rows.iter())
                    .for_each(|(t, &s)| *t = s);
            }
        }
        self.set_rows(new_rows)?;
        self.start_writeback_of_appended();
        Ok(())
    }

    /// Once [`WRITEBACK_STEP`] bytes of rows have been appended since the
    /// last time, hands them to the kernel's writeback (see
    /// [Writeback](crate::grow#writeback)).
    fn start_writeback_of_appended(&mut self) {
        let end = self.src.info.layout.end();
        if end.saturating_sub(self.growth.writeback_from) >= WRITEBACK_STEP {
            fsutil::start_writeback(
                self.src.lock.file(),
                self.growth.writeback_from,
                end - self.growth.writeback_from,
            );
            self.growth.writeback_from = end;
        }
    }

    pub(crate) fn resize(&mut self, new_rows: usize) -> Result<()> {
        self.check_growable()?;
        self.claim_growth()?;
        let old_rows = self.shape()[0];
        if new_rows >= old_rows {
            self.reserve_rows(new_rows)?;
            let row_len = self.row_len();
            let region = self.elements_up_to(new_rows * row_len);
            // Rows past the old length may hold data from before a shrink or
            // a crash: new rows start as zeros, as numpy's resize gives.
            region[old_rows * row_len..].fill(T::from_scalar(crate::Scalar::Int(0)));
            return self.set_rows(new_rows);
        }
        self.shrink(new_rows)
    }

    pub(crate) fn publish(&mut self) -> Result<()> {
        if !self.growth.uncommitted {
            return Ok(());
        }
        self.src.owner.check(&self.src.info.path)?;
        match &self.src.info.sidecar {
            Some(sidecar) => write_sidecar(
                sidecar,
                &self.src.info.layout,
                &self.src.info.attrs,
                Durability::Atomic,
            ),
            None => Ok(()),
        }
        // `uncommitted` stays set: the length is published, not durable,
        // until `commit` or `flush`.
    }

    pub(crate) fn shrink_to_fit(&mut self) -> Result<()> {
        self.check_growable()?;
        self.claim_growth()?;
        let nbytes = self.src.info.layout.nbytes();
        if self.src.map.len() > nbytes {
            let offset = self.src.info.layout.offset();
            // SAFETY: a remap of the handle's own file to a shorter length it
            // holds; the handle's contract (from its unsafe open) carries over.
            let map = unsafe {
                mapping::map_unlocked::<ReadWrite>(
                    &self.src.lock,
                    &self.src.info.path,
                    offset,
                    nbytes,
                )?
            };
            self.replace_map(map);
        }
        self.trim_capacity()
    }

    /// Takes the array's writer claim, once per mapping, before the first
    /// change of length; then adopts the length recorded in the sidecar, in
    /// case another appender grew the array since this mapping read it (its
    /// rows are the array's now: appending after our stale length would
    /// overwrite them).
    fn claim_growth(&mut self) -> Result<()> {
        self.src.owner.check(&self.src.info.path)?;
        if self.growth.claim.is_some() {
            return Ok(());
        }
        let claim = WriterClaim::try_claim(self.src.lock.file(), &self.src.info.path)?;
        self.adopt_recorded_length()?;
        self.growth.claim = Some(claim);
        Ok(())
    }

    /// Replaces the attrs and rewrites the sidecar with the length recorded
    /// there, under the writer claim: a handle whose length is stale (another
    /// appender grew the array since it was opened) adopts the recorded
    /// length first instead of writing its old one over it, which would
    /// drop committed rows. The claim is held only for this call unless the
    /// handle already held it; a handle with uncommitted rows commits them.
    pub(crate) fn set_attrs(&mut self, attrs: crate::sidecar::Attrs) -> Result<()> {
        self.src.owner.check(&self.src.info.path)?;
        let Some(sidecar) = self.src.info.sidecar.clone() else {
            return Err(Error::InvalidArgument {
                path: self.src.info.path.clone(),
                message: ".npy files cannot hold attrs; use a raw file with a sidecar".into(),
            });
        };
        let _claim = match (&self.growth.claim, self.check_growable()) {
            (None, Ok(())) => {
                let claim = WriterClaim::try_claim(self.src.lock.file(), &self.src.info.path)?;
                self.adopt_recorded_length()?;
                Some(claim)
            }
            _ => None,
        };
        self.src.info.attrs = attrs;
        if self.growth.uncommitted {
            return self.commit_length();
        }
        write_sidecar(
            &sidecar,
            &self.src.info.layout,
            &self.src.info.attrs,
            Durability::Durable,
        )
    }

    /// Makes this mapping's length the one recorded in the sidecar (see
    /// [`claim_growth`](Self::claim_growth)). Called before any change of
    /// length, so there is nothing uncommitted to lose.
    fn adopt_recorded_length(&mut self) -> Result<()> {
        let Some(sidecar) = &self.src.info.sidecar else {
            return Ok(());
        };
        let recorded = read_sidecar(sidecar)?;
        let (ours, theirs) = (&self.src.info.layout, &recorded.layout);
        if theirs == ours {
            return Ok(());
        }
        if theirs.dtype() != ours.dtype()
            || theirs.offset() != ours.offset()
            || theirs.ndim() != ours.ndim()
            || theirs.shape()[1..] != ours.shape()[1..]
        {
            return Err(Error::InvalidArgument {
                path: self.src.info.path.clone(),
                message: "the sidecar now describes another array than the one opened (dtype, offset or row shape changed); open it again".into(),
            });
        }
        let layout = self.layout_with_rows(theirs.shape()[0])?;
        if layout.nbytes() > self.src.map.len() {
            // Checks that the file holds the recorded rows before mapping.
            // SAFETY: the handle's own file, remapped longer; its contract
            // (from its unsafe open) carries over to the rows it adopts.
            let map = unsafe {
                mapping::map_bytes::<ReadWrite>(
                    &self.src.lock,
                    &self.src.info.path,
                    layout.offset(),
                    layout.nbytes(),
                )?
            };
            self.replace_map(map);
        }
        self.growth.reserved_end = self.growth.reserved_end.max(layout.end());
        self.growth.writeback_from = layout.end();
        self.src.info.layout = layout;
        self.src.info.attrs = recorded.attrs;
        Ok(())
    }

    fn check_growable(&self) -> Result<()> {
        let layout = &self.src.info.layout;
        let reason = if self.src.info.format != Format::Raw {
            ".npy files cannot grow in place; use a raw file with a sidecar"
        } else if layout.ndim() == 0 {
            "a 0-d array has no axis to grow along"
        } else if layout.order() != Order::C && layout.orders_differ() {
            "only C-order arrays grow along axis 0"
        } else {
            return Ok(());
        };
        Err(Error::InvalidArgument {
            path: self.src.info.path.clone(),
            message: reason.into(),
        })
    }

    /// Elements per row: the product of the extents after axis 0.
    fn row_len(&self) -> usize {
        self.src.info.layout.shape()[1..].iter().product()
    }

    fn checked_rows(&self, a: usize, b: usize) -> Result<usize> {
        a.checked_add(b).ok_or_else(|| self.overflow(usize::MAX))
    }

    fn overflow(&self, rows: usize) -> Error {
        let mut shape: Vec<u64> = self.shape().iter().map(|&d| d as u64).collect();
        shape[0] = rows as u64;
        Error::ShapeOverflow {
            path: self.src.info.path.clone(),
            shape,
            itemsize: T::TYPE.size(),
        }
    }

    /// The layout with `rows` rows, validated (overflow checked).
    fn layout_with_rows(&self, rows: usize) -> Result<Layout> {
        let layout = &self.src.info.layout;
        let mut shape: Vec<u64> = layout.shape().iter().map(|&d| d as u64).collect();
        shape[0] = rows as u64;
        Layout::new(
            &self.src.info.path,
            layout.dtype(),
            &shape,
            Order::C,
            layout.offset(),
        )
    }

    fn set_rows(&mut self, rows: usize) -> Result<()> {
        self.src.info.layout = self.layout_with_rows(rows)?;
        self.growth.uncommitted = true;
        Ok(())
    }

    /// The first `len` elements of the mapping (the array plus capacity),
    /// mutable. `len` is within the mapping: `reserve_rows` ran first.
    fn elements_up_to(&mut self, len: usize) -> &mut [T] {
        let bytes = &mut self.src.map[..len * T::TYPE.size()];
        match crate::dtype::cast_bytes_mut::<T>(bytes) {
            Some(elements) => elements,
            None => unreachable!("the mapping is aligned and zero bytes are valid for every type"),
        }
    }

    /// Makes the mapping hold at least `rows` rows, growing the file
    /// geometrically (sparse) and remapping when it does not, and reserves
    /// disk space for all of them.
    fn reserve_rows(&mut self, rows: usize) -> Result<()> {
        let row_bytes = self.row_len() * T::TYPE.size();
        let needed = rows
            .checked_mul(row_bytes)
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| self.overflow(rows))?;
        // Validates the shape as a whole (offset + size within u64 too).
        self.layout_with_rows(rows)?;
        if needed > self.src.map.len() {
            self.grow_mapping(needed, row_bytes)?;
        }
        // Within u64: the layout with `rows` rows was validated above.
        self.reserve_disk(self.src.info.layout.offset() + needed as u64)
    }

    /// Grows the file (sparse) and the mapping to hold `needed` bytes of
    /// rows of `row_bytes` (not zero) each, doubling the capacity.
    fn grow_mapping(&mut self, needed: usize, row_bytes: usize) -> Result<()> {
        let path = self.src.info.path.clone();
        let offset = self.src.info.layout.offset();
        let have = self.bytes_after_offset()?;
        // Double the capacity, at least MIN_GROWTH_BYTES, never past isize::MAX.
        let target = needed
            .max(self.src.map.len().saturating_mul(2))
            .max(MIN_GROWTH_BYTES)
            .min(isize::MAX as usize);
        let mut target = target / row_bytes * row_bytes;
        if have < target
            && let Err(e) = self.src.lock.file().set_len(offset + target as u64)
        {
            // A file-size limit may leave room for the rows but not for the
            // doubled capacity: then grow by exactly what is needed.
            if needed.max(have) >= target {
                return Err(Error::io(&path, "growing the data file", e));
            }
            if have < needed {
                self.src
                    .lock
                    .file()
                    .set_len(offset + needed as u64)
                    .at(&path, "growing the data file")?;
            }
            target = needed;
        }
        let capacity = have.max(target).min(isize::MAX as usize) / row_bytes * row_bytes;
        // SAFETY: the handle's own file, grown by this call; the capacity
        // past the array is reached only through this handle, and the
        // rest of the contract carries over from its unsafe open.
        let map =
            unsafe { mapping::map_bytes::<ReadWrite>(&self.src.lock, &path, offset, capacity)? };
        self.replace_map(map);
        Ok(())
    }

    /// Reserves disk space for the file up to byte `end` (within the
    /// mapping), unless growth did already: in steps of at least
    /// MIN_GROWTH_BYTES where the mapping allows, and exactly up to `end`
    /// when a whole step does not fit on the disk.
    fn reserve_disk(&mut self, end: u64) -> Result<()> {
        const ACTION: &str = "reserving disk space for the rows being written";
        let start = self.growth.reserved_end;
        if end <= start {
            return Ok(());
        }
        let mapped_end = self.src.info.layout.offset() + self.src.map.len() as u64;
        let step_end = end
            .max(start.saturating_add(MIN_GROWTH_BYTES as u64))
            .min(mapped_end);
        let path = &self.src.info.path;
        let reached =
            match fsutil::allocate(self.src.lock.file(), path, start, step_end - start, ACTION) {
                Ok(()) => step_end,
                Err(_) if step_end > end => {
                    fsutil::allocate(self.src.lock.file(), path, start, end - start, ACTION)?;
                    end
                }
                Err(e) => return Err(e),
            };
        self.growth.reserved_end = reached;
        Ok(())
    }

    fn shrink(&mut self, new_rows: usize) -> Result<()> {
        let path = self.src.info.path.clone();
        let offset = self.src.info.layout.offset();
        let new_layout = self.layout_with_rows(new_rows)?;
        if let Err(e) = self.src.lock.try_exclusive(&path, "resized") {
            // Converting a flock is not atomic: the shared lock was dropped
            // for a moment. Take it back and make sure the mapping is still
            // backed before anyone touches it.
            self.relock_and_resync()?;
            return Err(e);
        }
        // Shorter length first (durably), then the smaller mapping, then the
        // truncation: no crash leaves a sidecar longer than the file, and no
        // mapping is ever longer than the file.
        let result = (|| {
            self.src.map.flush().at(&path, "flushing the mapping")?;
            if let Some(sidecar) = &self.src.info.sidecar {
                write_sidecar(
                    sidecar,
                    &new_layout,
                    &self.src.info.attrs,
                    Durability::Durable,
                )?;
            }
            self.src.info.layout = new_layout;
            self.growth.uncommitted = false;
            // SAFETY: the handle's own file, remapped shorter under the
            // exclusive lock (no other mapping exists).
            let map = unsafe {
                mapping::map_unlocked::<ReadWrite>(
                    &self.src.lock,
                    &path,
                    offset,
                    self.src.info.layout.nbytes(),
                )?
            };
            self.replace_map(map);
            self.growth.reserved_end = self.growth.reserved_end.min(self.src.info.layout.end());
            self.growth.writeback_from = self.growth.writeback_from.min(self.src.info.layout.end());
            self.src
                .lock
                .file()
                .set_len(self.src.info.layout.end())
                .at(&path, "truncating the data file")
        })();
        self.relock_and_resync()?;
        result
    }

    /// How many bytes the file holds from the array's offset on.
    fn bytes_after_offset(&self) -> Result<usize> {
        let file_len = self
            .src
            .lock
            .file()
            .metadata()
            .at(&self.src.info.path, "reading the data file's metadata")?
            .len();
        Ok(
            usize::try_from(file_len.saturating_sub(self.src.info.layout.offset()))
                .unwrap_or(usize::MAX),
        )
    }

    /// Goes back to the shared lock (waiting out another handle's brief
    /// exclusive hold), then checks that the file still backs the whole
    /// mapping; if another process shrank it meanwhile, the mapping (and,
    /// if need be, the length) is cut to what the file holds.
    fn relock_and_resync(&mut self) -> Result<()> {
        let path = self.src.info.path.clone();
        self.src.lock.back_to_shared(&path)?;
        let offset = self.src.info.layout.offset();
        let available = self.bytes_after_offset()?;
        if available >= self.src.map.len() {
            return Ok(());
        }
        let row_bytes = self.row_len() * T::TYPE.size();
        let rows = available
            .checked_div(row_bytes)
            .unwrap_or(usize::MAX)
            .min(self.shape()[0]);
        // SAFETY: cut to what the file holds now, under the shared lock;
        // the handle's contract carries over from its unsafe open.
        let map = unsafe {
            mapping::map_unlocked::<ReadWrite>(&self.src.lock, &path, offset, rows * row_bytes)?
        };
        self.replace_map(map);
        self.growth.reserved_end = self.growth.reserved_end.min(offset + available as u64);
        if rows < self.shape()[0] {
            self.src.info.layout = self.layout_with_rows(rows)?;
        }
        Ok(())
    }
}

impl<T: Element, M: Mode> Grower<'_, T, M> {
    /// If the length changed since the sidecar was written: flush the data,
    /// then atomically rewrite the sidecar with the new shape. The one place
    /// a growable array's length becomes durable (`flush`, `commit`,
    /// `close`, drop).
    pub(crate) fn commit_length(&mut self) -> Result<()> {
        if !self.growth.uncommitted {
            return Ok(());
        }
        self.src.owner.check(&self.src.info.path)?;
        mapping::flush::<M>(&self.src.map).at(&self.src.info.path, "flushing the mapping")?;
        if let Some(sidecar) = &self.src.info.sidecar {
            write_sidecar(
                sidecar,
                &self.src.info.layout,
                &self.src.info.attrs,
                Durability::Durable,
            )?;
        }
        self.growth.uncommitted = false;
        Ok(())
    }

    /// If this mapping holds the writer claim (it grew the array), cuts the
    /// file's spare capacity off: the file ends where the array does. No
    /// exclusive lock is needed: other mappings never reach past the
    /// recorded length, which is at most this mapping's, and no other
    /// appender can exist while the claim is held.
    ///
    /// The mapping itself may still cover the cut capacity: callers either
    /// remap first ([`shrink_to_fit`](MappedArray::shrink_to_fit)) or never
    /// touch the mapping again (`close`, drop).
    pub(crate) fn trim_capacity(&mut self) -> Result<()> {
        if self.growth.claim.is_none() {
            return Ok(());
        }
        self.src.owner.check(&self.src.info.path)?;
        let path = self.src.info.path.clone();
        let end = self.src.info.layout.end();
        let len = self
            .src
            .lock
            .file()
            .metadata()
            .at(&path, "reading the data file's metadata")?
            .len();
        if len > end {
            // Like any shrink, under the exclusive lock: while another
            // handle maps the file (a reader of the published rows, through
            // the shared-write open's coexistence), the capacity stays,
            // invisible to every reader, until an appender closes alone.
            if self.src.lock.try_exclusive(&path, "trimmed").is_err() {
                return self.src.lock.back_to_shared(&path);
            }
            let trimmed = self
                .src
                .lock
                .file()
                .set_len(end)
                .at(&path, "trimming the data file's spare capacity");
            self.src.lock.back_to_shared(&path)?;
            trimmed?;
        }
        self.growth.reserved_end = self.growth.reserved_end.min(end);
        self.growth.writeback_from = self.growth.writeback_from.min(end);
        Ok(())
    }
}

impl Growth {
    /// Gives the writer claim up (at `close`).
    pub(crate) fn release(&mut self) {
        self.claim = None;
    }
}
