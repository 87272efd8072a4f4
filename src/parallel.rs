//! Parallel iteration over mapped arrays (feature `parallel`, on by
//! default), split so that every piece is contiguous in memory.
//!
//! A mapped array is best read front to back: each thread then streams its
//! own run of pages and no two threads share a page. The helpers here split
//! an array that way and hand the pieces to [rayon]:
//!
//! - [`par_chunks`](MappedArray::par_chunks) /
//!   [`par_chunks_mut`](MappedArray::par_chunks_mut): the elements in
//!   memory order, in slices of a chosen length, for element-wise work and
//!   reductions that do not care about the shape.
//! - [`par_outer`](MappedArray::par_outer) /
//!   [`par_outer_mut`](MappedArray::par_outer_mut): sub-views along the axis
//!   that varies slowest in memory: rows of a C-order matrix, columns of an
//!   F-order one. Each sub-view is contiguous.
//!
//! This module only splits; it never maps, flushes or changes the layout.

use ndarray::{ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, IxDyn, Shape, ShapeBuilder};
use rayon::iter::{Either, IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use rayon::slice::{Chunks, ChunksMut, ParallelSlice, ParallelSliceMut};

use crate::array::MappedArray;
use crate::dtype::Element;
use crate::layout::{Layout, Order};
use crate::mapping::{Mode, Writable};

/// How [`par_outer`](MappedArray::par_outer) and
/// [`par_outer_mut`](MappedArray::par_outer_mut) split an array: `count`
/// pieces of `piece_len` consecutive elements, each of shape `shape` (the
/// other axes, in the array's order). `None` for a 0-d array, which is one
/// piece: itself.
struct OuterSplit {
    count: usize,
    piece_len: usize,
    shape: Shape<IxDyn>,
}

impl OuterSplit {
    fn of(layout: &Layout) -> Option<OuterSplit> {
        let shape = layout.shape();
        let (outer, inner) = match layout.order() {
            Order::C => (shape.first()?, shape.get(1..)?),
            Order::F => shape.split_last()?,
        };
        Some(OuterSplit {
            count: *outer,
            piece_len: inner.iter().product(),
            shape: IxDyn(inner).set_f(layout.order() == Order::F),
        })
    }
}

impl<T: Element, M: Mode> MappedArray<T, M> {
    /// The elements in memory order (as [`as_slice`](Self::as_slice)) in
    /// slices of `chunk_len`, the last one shorter, as a rayon parallel
    /// iterator.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use rayon::prelude::*;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # // SAFETY: the example's own file; nothing else changes it while mapped.
    /// # let mut w = unsafe { MappedArray::<f32>::create(&path, &[1000, 64]) }?;
    /// # w.as_slice_mut().fill(0.5);
    /// # drop(w);
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { MappedArray::<f32>::open(&path) }?;
    /// let sum: f64 = a
    ///     .par_chunks(1 << 16)
    ///     .map(|chunk| chunk.iter().map(|&x| f64::from(x)).sum::<f64>())
    ///     .sum();
    /// assert_eq!(sum, 32_000.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunk_len` is 0, as [`slice::chunks`] does; and as
    /// [`as_slice`](Self::as_slice).
    pub fn par_chunks(&self, chunk_len: usize) -> Chunks<'_, T> {
        self.as_slice().par_chunks(chunk_len)
    }

    /// Sub-views along the axis that varies slowest in memory (axis 0 for C
    /// order, the last axis for F order), as a rayon parallel iterator.
    /// Every sub-view is contiguous, so threads never share a page. A 0-d
    /// array gives itself.
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use rayon::prelude::*;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// # // SAFETY: the example's own file; nothing else changes it while mapped.
    /// # let mut w = unsafe { MappedArray::<i64>::create(&path, &[100, 3]) }?;
    /// # w.as_slice_mut().fill(2);
    /// # drop(w);
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { MappedArray::<i64>::open(&path) }?;
    /// let row_sums: Vec<i64> = a.par_outer().map(|row| row.sum()).collect();
    /// assert_eq!(row_sums, vec![6; 100]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// As [`view`](Self::view).
    pub fn par_outer(&self) -> impl IndexedParallelIterator<Item = ArrayViewD<'_, T>> {
        let Some(OuterSplit {
            count,
            piece_len,
            shape,
        }) = OuterSplit::of(self.layout())
        else {
            return Either::Left(rayon::iter::once(self.view()));
        };
        let view = move |elements| {
            ArrayView::from_shape(shape.clone(), elements)
                .expect("a piece holds the product of the inner axes' lengths")
        };
        let elements = self.as_slice();
        Either::Right(if piece_len == 0 {
            // Empty pieces: no elements to split, but still `count` of them.
            Either::Left((0..count).into_par_iter().map(move |_| view(&[])))
        } else {
            Either::Right(elements.par_chunks(piece_len).map(view))
        })
    }
}

/// `elements` as one piece of [`par_outer_mut`](MappedArray::par_outer_mut).
fn piece<'a, T>(shape: &Shape<IxDyn>, elements: &'a mut [T]) -> ArrayViewMutD<'a, T> {
    ArrayViewMut::from_shape(shape.clone(), elements)
        .expect("a piece holds the product of the inner axes' lengths")
}

impl<T: Element, M: Writable> MappedArray<T, M> {
    /// Mutable form of [`par_chunks`](Self::par_chunks).
    ///
    /// ```
    /// use mmarray::MappedArray;
    /// use rayon::prelude::*;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<u32>::create(&path, &[1 << 20]) }?;
    /// let chunk = 1 << 16;
    /// a.par_chunks_mut(chunk).enumerate().for_each(|(c, xs)| {
    ///     for (i, x) in xs.iter_mut().enumerate() {
    ///         *x = (c * chunk + i) as u32;
    ///     }
    /// });
    /// a.flush()?;
    /// assert_eq!(a.as_slice()[123_456], 123_456);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunk_len` is 0.
    pub fn par_chunks_mut(&mut self, chunk_len: usize) -> ChunksMut<'_, T> {
        self.as_slice_mut().par_chunks_mut(chunk_len)
    }

    /// Mutable form of [`par_outer`](Self::par_outer).
    ///
    /// ```
    /// use mmarray::{CreateOptions, Order};
    /// use rayon::prelude::*;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("a.dat");
    /// // F order: the pieces are columns, each contiguous.
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { CreateOptions::new().order(Order::F).create::<f64>(&path, &[4, 3]) }?;
    /// a.par_outer_mut().enumerate().for_each(|(j, mut col)| col.fill(j as f64));
    /// assert_eq!(a.view()[[2, 1]], 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn par_outer_mut(&mut self) -> impl IndexedParallelIterator<Item = ArrayViewMutD<'_, T>> {
        let Some(OuterSplit {
            count,
            piece_len,
            shape,
        }) = OuterSplit::of(self.layout())
        else {
            return Either::Left(rayon::iter::once(self.view_mut()));
        };
        let elements = self.as_slice_mut();
        Either::Right(if piece_len == 0 {
            // Empty pieces: no elements to split, but still `count` of them.
            Either::Left(
                (0..count)
                    .into_par_iter()
                    .map(move |_| piece(&shape, &mut [])),
            )
        } else {
            Either::Right(
                elements
                    .par_chunks_mut(piece_len)
                    .map(move |elements| piece(&shape, elements)),
            )
        })
    }
}
