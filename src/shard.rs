//! Sharded arrays: several arrays read as one, concatenated along axis 0.
//!
//! Training data is often written by many workers, one file each. A
//! [`ShardedArray`] maps every shard read-only and presents them as one
//! array: its length is the sum of the shards' lengths, rows are indexed
//! globally, each shard is available as a zero-copy view, and a range of
//! rows that crosses shard boundaries can be read as zero-copy pieces or
//! copied into one array.
//!
//! Shards must have the same element type and the same extents after axis
//! 0; their memory orders may differ.

use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, Axis, ShapeBuilder, Slice};

use crate::array::MappedArray;
use crate::dtype::Element;
use crate::error::{Error, Result};

/// Read-only arrays concatenated along axis 0.
///
/// ```
/// use mmarray::{MappedArray, ShardedArray};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("part-0.npy"), dir.path().join("part-1.npy"));
/// mmarray::CreateOptions::new().write(&a, &array![[1u8, 2], [3, 4]])?;
/// mmarray::CreateOptions::new().write(&b, &array![[5u8, 6]])?;
///
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let all = unsafe { ShardedArray::<u8>::open([&a, &b]) }?;
/// assert_eq!(all.len(), 3);
/// assert_eq!(all.row(2).unwrap(), array![5u8, 6].into_dyn());
/// assert_eq!(all.read_rows(1..3)?, array![[3u8, 4], [5, 6]].into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ShardedArray<T: Element> {
    shards: Vec<MappedArray<T>>,
    /// `starts[i]` is the global index of shard i's first row; one more
    /// entry holds the total.
    starts: Vec<usize>,
    row_shape: Vec<usize>,
}

impl<T: Element> ShardedArray<T> {
    /// Maps each path read-only, in the order given.
    ///
    /// ```compile_fail,E0133
    /// let a = mmarray::ShardedArray::<u8>::open(["a.dat"]);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open`], for every shard.
    ///
    /// # Errors
    ///
    /// As [`MappedArray::open`] for each shard; [`Error::ShapeMismatch`] if
    /// a shard's extents after axis 0 differ from the first shard's;
    /// [`Error::InvalidArgument`] for no shards or a 0-d shard.
    pub unsafe fn open<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Self> {
        let mut shards = Vec::new();
        let mut starts = vec![0usize];
        let mut row_shape: Option<Vec<usize>> = None;
        for path in paths {
            // SAFETY: the caller's contract, for each shard.
            let shard = unsafe { MappedArray::<T>::open(path.as_ref())? };
            let Some((&rows, rest)) = shard.shape().split_first() else {
                return Err(Error::InvalidArgument {
                    path: shard.path().to_path_buf(),
                    message: "a 0-d array cannot be a shard: there is no axis 0".into(),
                });
            };
            match &row_shape {
                None => row_shape = Some(rest.to_vec()),
                Some(expected) if expected != rest => {
                    return Err(Error::ShapeMismatch {
                        path: shard.path().to_path_buf(),
                        expected: expected.clone(),
                        found: rest.to_vec(),
                    });
                }
                Some(_) => {}
            }
            let total = starts[starts.len() - 1];
            starts.push(
                total
                    .checked_add(rows)
                    .ok_or_else(|| Error::InvalidArgument {
                        path: shard.path().to_path_buf(),
                        message: "the shards' total length overflows".into(),
                    })?,
            );
            shards.push(shard);
        }
        let Some(row_shape) = row_shape else {
            return Err(Error::InvalidArgument {
                path: Default::default(),
                message: "a sharded array needs at least one shard".into(),
            });
        };
        Ok(ShardedArray {
            shards,
            starts,
            row_shape,
        })
    }

    /// The total number of rows.
    pub fn len(&self) -> usize {
        self.starts[self.starts.len() - 1]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The extents after axis 0, shared by every shard.
    pub fn row_shape(&self) -> &[usize] {
        &self.row_shape
    }

    /// The shards, in order.
    pub fn shards(&self) -> &[MappedArray<T>] {
        &self.shards
    }

    /// A zero-copy view of each shard, in order.
    pub fn shard_views(&self) -> impl Iterator<Item = ArrayViewD<'_, T>> {
        self.shards.iter().map(MappedArray::view)
    }

    /// The shard holding global row `row`, and the row's index in it.
    pub fn locate(&self, row: usize) -> Option<(usize, usize)> {
        if row >= self.len() {
            return None;
        }
        // The last shard whose start is <= row; empty shards are skipped
        // because their start equals the next one's.
        let shard = self.starts.partition_point(|&s| s <= row) - 1;
        Some((shard, row - self.starts[shard]))
    }

    /// A zero-copy view of global row `row` (`None` past the end).
    pub fn row(&self, row: usize) -> Option<ArrayViewD<'_, T>> {
        let (shard, local) = self.locate(row)?;
        Some(self.shards[shard].view().index_axis_move(Axis(0), local))
    }

    /// Zero-copy views covering global rows `range`, one per shard it
    /// touches, in order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the range is reversed or past the end.
    pub fn row_views(&self, range: Range<usize>) -> Result<Vec<ArrayViewD<'_, T>>> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::InvalidArgument {
                path: self.shards[0].path().to_path_buf(),
                message: format!(
                    "rows {}..{} are outside the sharded array's {} rows",
                    range.start,
                    range.end,
                    self.len()
                ),
            });
        }
        let mut views = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let (start, end) = (self.starts[i], self.starts[i + 1]);
            let (lo, hi) = (range.start.max(start), range.end.min(end));
            if lo < hi {
                views.push(
                    shard
                        .view()
                        .slice_axis_move(Axis(0), Slice::from(lo - start..hi - start)),
                );
            }
        }
        Ok(views)
    }

    /// Copies global rows `range`, across shard boundaries, into one array,
    /// reading each shard's file with `pread`, not through its mapping: a
    /// shard cut short by another program meanwhile gives
    /// [`Error::Truncated`], not `SIGBUS`.
    ///
    /// # Errors
    ///
    /// As [`row_views`](Self::row_views); [`Error::Truncated`] and I/O
    /// errors reading a shard.
    pub fn read_rows(&self, range: Range<usize>) -> Result<ArrayD<T>> {
        self.row_views(range.clone())?; // checks the range
        let mut shape = vec![range.end - range.start];
        shape.extend_from_slice(&self.row_shape);
        let row_len: usize = self.row_shape.iter().product();
        let item = T::TYPE.size();
        let mut elements = Vec::new();
        let mut bytes = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let (start, end) = (self.starts[i], self.starts[i + 1]);
            let (lo, hi) = (range.start.max(start), range.end.min(end));
            if lo >= hi || row_len == 0 {
                continue;
            }
            let layout = shard.layout();
            let (n, file, path) = (hi - lo, shard.src.lock.file(), shard.path());
            let f_order = layout.order() == crate::Order::F && layout.orders_differ();
            bytes.clear();
            bytes.resize(n * row_len * item, 0);
            if f_order {
                // Axis 0 varies fastest: each element of a row lies in its
                // own run of the shard's rows; read rows `lo..hi` of each.
                let shard_rows = end - start;
                for (j, run) in bytes.chunks_mut(n * item).enumerate() {
                    let at = layout.offset() + ((j * shard_rows + lo - start) * item) as u64;
                    crate::scan::read_exact_at(file, path, run, at, layout.end())?;
                }
            } else {
                let at = layout.offset() + ((lo - start) * row_len * item) as u64;
                crate::scan::read_exact_at(file, path, &mut bytes, at, layout.end())?;
            }
            let mut piece = Vec::with_capacity(n * row_len);
            crate::dtype::decode_into(&bytes, layout.dtype().byte_order(), &mut piece).map_err(
                |index| Error::InvalidBool {
                    path: path.to_path_buf(),
                    index,
                    byte: bytes[index],
                },
            )?;
            if f_order {
                // The runs, one per element of a row, are rows `lo..hi` in
                // F order: an F-order array of their shape.
                let mut piece_shape = vec![n];
                piece_shape.extend_from_slice(&self.row_shape);
                let piece = ArrayD::from_shape_vec(ndarray::IxDyn(&piece_shape).f(), piece)
                    .map_err(|e| Error::InvalidArgument {
                        path: path.to_path_buf(),
                        message: format!("rows do not fit the shape: {e}"),
                    })?;
                elements.extend(piece.iter().copied());
            } else {
                elements.extend_from_slice(&piece);
            }
        }
        ArrayD::from_shape_vec(shape, elements).map_err(|e| Error::InvalidArgument {
            path: self.shards[0].path().to_path_buf(),
            message: format!("rows do not fit the shape: {e}"),
        })
    }
}
