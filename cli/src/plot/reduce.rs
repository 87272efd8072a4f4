//! What the picture shows: the one pass that reduces a view of any size to
//! what the picture can show, and the title that says what it is. Drawing
//! it is [`super::render`]'s; this module knows nothing of pixels but
//! their number.

use std::path::Path;

use mmarray::{Element, ElementType, Scalar};
use ndarray::{Array2, ArrayView, ArrayView1, ArrayView2, Dimension, s};
use rayon::prelude::*;

/// What the picture shows, reduced to its resolution.
pub enum Reduced {
    Line(LineData),
    Heat(HeatData),
}

/// A 1-D array as points or per-pixel-column extremes.
pub struct LineData {
    /// How many elements the array has.
    pub len: usize,
    /// In index order. When `decimated`, each covers a run of elements
    /// centred on `x`; otherwise each is one element (`min == max`).
    pub columns: Vec<Column>,
    pub decimated: bool,
    pub stats: Acc,
}

/// The finite extremes of a run of elements at position `x`; NaN when the
/// run has no finite value. `nan` says whether the run held a NaN (drawn
/// in the NaN colour, whatever else the run held).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Column {
    pub x: f64,
    pub min: f64,
    pub max: f64,
    pub nan: bool,
}

/// A 2-D array as a grid of block means (or the elements themselves).
pub struct HeatData {
    /// The array's shape.
    pub rows: usize,
    pub cols: usize,
    /// One cell per block of elements: their mean; NaN when all are NaN.
    pub grid: Array2<f64>,
    /// For each cell, what its block held that its mean hides.
    pub marks: Array2<Marks>,
    pub stats: Acc,
}

/// What a heatmap cell's block held besides what its mean shows: a NaN
/// (the cell is drawn in the NaN colour however few), a value `<= 0`
/// (-inf included: masked on a log colour scale, as matplotlib's `LogNorm`
/// masks them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub nan: bool,
    pub nonpositive: bool,
}

impl Marks {
    pub(super) fn of(acc: &Acc) -> Marks {
        Marks {
            nan: acc.nan > 0,
            nonpositive: acc.nonpositive > 0,
        }
    }
}

/// Running summary of plotted values: finite extremes, finite-or-infinite
/// sum and count (for means), NaN count, infinite count, and the count of
/// values `<= 0` (-inf included; what a log scale cannot show).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acc {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
    pub nan: u64,
    pub inf: u64,
    pub nonpositive: u64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            count: 0,
            nan: 0,
            inf: 0,
            nonpositive: 0,
        }
    }
}

impl Acc {
    #[inline]
    pub(super) fn add(&mut self, v: f64) {
        if v.is_nan() {
            self.nan += 1;
            return;
        }
        if v.is_finite() {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        } else {
            self.inf += 1;
        }
        if v <= 0.0 {
            self.nonpositive += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    pub(super) fn merge(&mut self, other: &Acc) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
        self.nan += other.nan;
        self.inf += other.inf;
        self.nonpositive += other.nonpositive;
    }

    /// The finite range, if any value was finite.
    pub fn range(&self) -> Option<(f64, f64)> {
        (self.min <= self.max).then_some((self.min, self.max))
    }

    /// The mean, NaN when every value was NaN.
    pub(super) fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }

    /// The extremes as a column at `x` (NaN when nothing was finite).
    pub(super) fn column(&self, x: f64) -> Column {
        let (min, max) = self.range().unwrap_or((f64::NAN, f64::NAN));
        Column {
            x,
            min,
            max,
            nan: self.nan > 0,
        }
    }
}

/// The value plotted for an element: bools 0/1, integers as the nearest
/// `f64`, complex numbers by magnitude.
#[inline(always)]
pub(super) fn plotted<T: Element>(x: T) -> f64 {
    match x.to_scalar() {
        Scalar::Int(i) => i as f64,
        Scalar::Float(f) => f,
        Scalar::Complex(re, im) => re.hypot(im),
    }
}

/// How an element of a view becomes the value plotted: [`plotted`], or
/// for a view of a file in the other byte order, [`plotted`] of the
/// element with its bytes swapped ([`Element::byte_swapped`]).
pub type Value<T> = fn(T) -> f64;

/// [`plotted`] of an element stored in the other byte order.
pub fn plotted_swapped<T: Element>(x: T) -> f64 {
    plotted(x.byte_swapped())
}

/// Adds every element of `v`, in memory order (ndarray's `fold` walks
/// contiguous runs as slices, whatever the layout).
fn fold<T: Element, D: Dimension>(acc: &mut Acc, v: ArrayView<'_, T, D>, value: Value<T>) {
    *acc = v.fold(*acc, |mut acc, &x| {
        acc.add(value(x));
        acc
    });
}

/// The start of part `k` of `n` items split into `parts` nearly equal runs.
pub(super) fn split_point(k: usize, n: usize, parts: usize) -> usize {
    (k as u128 * n as u128 / parts.max(1) as u128) as usize
}

/// Reduces a 1-D view to at most `columns` pixel columns (or its points,
/// when there are no more than two per column).
pub fn reduce_line<T: Element>(
    v: ArrayView1<'_, T>,
    columns: usize,
    value: Value<T>,
    on_progress: &(dyn Fn(u64) + Sync),
) -> LineData {
    let len = v.len();
    if len <= 2 * columns {
        let mut stats = Acc::default();
        let columns = v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let mut one = Acc::default();
                one.add(value(x));
                stats.merge(&one);
                one.column(i as f64)
            })
            .collect();
        on_progress(len as u64);
        return LineData {
            len,
            columns,
            decimated: false,
            stats,
        };
    }
    let parts: Vec<(Column, Acc)> = (0..columns)
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (
                split_point(c, len, columns),
                split_point(c + 1, len, columns),
            );
            let mut acc = Acc::default();
            fold(&mut acc, v.slice(s![lo..hi]), value);
            on_progress((hi - lo) as u64);
            (acc.column((lo + hi - 1) as f64 / 2.0), acc)
        })
        .collect();
    let mut stats = Acc::default();
    parts.iter().for_each(|(_, acc)| stats.merge(acc));
    LineData {
        len,
        columns: parts.into_iter().map(|(c, _)| c).collect(),
        decimated: true,
        stats,
    }
}

/// Reduces a 2-D view to a grid of at most `rows` × `cols` block means.
pub fn reduce_heat<T: Element>(
    v: ArrayView2<'_, T>,
    (rows, cols): (usize, usize),
    value: Value<T>,
    on_progress: &(dyn Fn(u64) + Sync),
) -> HeatData {
    let (n_rows, n_cols) = v.dim();
    let (g_rows, g_cols) = (n_rows.min(rows).max(1), n_cols.min(cols).max(1));
    let grid_rows: Vec<Vec<(Acc, f64)>> = (0..g_rows)
        .into_par_iter()
        .map(|gr| {
            let (lo, hi) = (
                split_point(gr, n_rows, g_rows),
                split_point(gr + 1, n_rows, g_rows),
            );
            let cells = (0..g_cols)
                .map(|gc| {
                    let (c_lo, c_hi) = (
                        split_point(gc, n_cols, g_cols),
                        split_point(gc + 1, n_cols, g_cols),
                    );
                    let block = v.slice(s![lo..hi, c_lo..c_hi]);
                    let mut cell = Acc::default();
                    fold(&mut cell, block, value);
                    let mut scaled = 0.0;
                    if needs_rescue(&cell) {
                        scaled = block.fold(0.0, |sum, &x| add_scaled(sum, value(x)));
                    }
                    let mean = block_mean(&cell, scaled);
                    (cell, mean)
                })
                .collect();
            on_progress(((hi - lo) * n_cols) as u64);
            cells
        })
        .collect();
    let mut stats = Acc::default();
    let mut grid = Array2::from_elem((g_rows, g_cols), f64::NAN);
    let mut marks = Array2::from_elem((g_rows, g_cols), Marks::default());
    for (r, cells) in grid_rows.iter().enumerate() {
        for (c, (cell, mean)) in cells.iter().enumerate() {
            stats.merge(cell);
            grid[[r, c]] = *mean;
            marks[[r, c]] = Marks::of(cell);
        }
    }
    HeatData {
        rows: n_rows,
        cols: n_cols,
        grid,
        marks,
        stats,
    }
}

/// Whether the mean of a block that `acc` summarises cannot be its sum
/// over its count: its finite values overflowed the sum (`1e308 + 1e308`).
pub(super) fn needs_rescue(acc: &Acc) -> bool {
    !(acc.sum.is_finite() || acc.inf > 0 || acc.count == 0)
}

/// 2^64: the scale of the rescued sum.
const SCALE: f64 = 18446744073709551616.0;

/// `sum` plus `v` scaled by 2^-64, which cannot overflow (NaN left out):
/// the running sum for a block whose plain sum overflowed.
#[inline]
pub(super) fn add_scaled(sum: f64, v: f64) -> f64 {
    if v.is_nan() { sum } else { sum + v / SCALE }
}

/// The mean of a block that `acc` summarises; when its finite values
/// overflowed the sum ([`needs_rescue`]), `scaled` is their sum made with
/// [`add_scaled`] in the same order, and the mean is scaled back.
pub(super) fn block_mean(acc: &Acc, scaled: f64) -> f64 {
    if !needs_rescue(acc) {
        return acc.mean();
    }
    (scaled / acc.count as f64 * SCALE).clamp(-f64::MAX, f64::MAX)
}

/// What the title says about the data.
pub struct Title {
    /// The file name, with the slice in brackets if one was given.
    pub name: String,
    /// The dtype, or what was taken of it (`magnitude of complex64`).
    pub what: String,
    /// The plotted shape, as numpy writes it (`(1000,)`).
    pub shape: String,
    /// The name of what is drawn on the value axis or colour bar.
    pub value: &'static str,
}

impl Title {
    pub fn new(path: &Path, slice: Option<&str>, element: ElementType, shape: &[usize]) -> Title {
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let name = match slice.map(str::trim) {
            Some(s) if !s.is_empty() => format!("{file}[{s}]"),
            _ => file,
        };
        let what = if element.is_complex() {
            format!("magnitude of {element}")
        } else if element == ElementType::Bool {
            "bool as 0/1".to_string()
        } else {
            element.to_string()
        };
        let value = if element.is_complex() {
            "|value|"
        } else {
            "value"
        };
        Title {
            name,
            what,
            shape: numpy_shape(shape),
            value,
        }
    }
}

impl std::fmt::Display for Title {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  ·  {}  ·  shape {}",
            self.name, self.what, self.shape
        )
    }
}

/// A shape as numpy writes it: `()`, `(7,)`, `(2, 3)`.
pub fn numpy_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, array};
    use num_complex::Complex;

    fn none(_: u64) {}

    #[test]
    fn small_lines_keep_every_point() {
        let a = array![1.0f64, f64::NAN, 3.0];
        let d = reduce_line(a.view(), 100, plotted, &none);
        assert!(!d.decimated);
        assert_eq!(d.len, 3);
        assert_eq!(
            d.columns[0],
            Column {
                x: 0.0,
                min: 1.0,
                max: 1.0,
                nan: false
            }
        );
        assert!(d.columns[1].min.is_nan() && d.columns[1].nan);
        assert!(!d.columns[2].nan);
        assert_eq!(d.stats.range(), Some((1.0, 3.0)));
        assert_eq!(d.stats.nan, 1);
    }

    #[test]
    fn long_lines_keep_extremes_per_column() {
        let a = Array1::from_iter((0..1000).map(|i| if i == 503 { 1e6 } else { i as f32 }));
        let d = reduce_line(a.view(), 10, plotted, &none);
        assert!(d.decimated);
        assert_eq!(d.columns.len(), 10);
        assert_eq!(
            d.columns[0],
            Column {
                x: 49.5,
                min: 0.0,
                max: 99.0,
                nan: false
            }
        );
        assert_eq!(d.columns[5].max, 1e6);
        assert_eq!(d.columns[9].min, 900.0);
        assert_eq!(d.stats.range(), Some((0.0, 1e6)));
        assert_eq!(d.stats.count, 1000);
        // Strided and reversed views give the same extremes.
        let rev = a.slice(s![..;-1]);
        let d = reduce_line(rev, 10, plotted, &none);
        assert_eq!(
            d.columns[0],
            Column {
                x: 49.5,
                min: 900.0,
                max: 999.0,
                nan: false
            }
        );
    }

    /// One NaN among a column's thousand values marks that column only,
    /// and is counted once; its finite extremes are still kept.
    #[test]
    fn a_nan_marks_its_column() {
        let mut a = Array1::from_iter((0..10_000).map(f64::from));
        a[4321] = f64::NAN;
        a[7] = -2.0;
        let d = reduce_line(a.view(), 10, plotted, &none);
        let marked: Vec<usize> = (0..10).filter(|&c| d.columns[c].nan).collect();
        assert_eq!(marked, [4]);
        assert_eq!((d.columns[4].min, d.columns[4].max), (4000.0, 4999.0));
        assert_eq!(d.stats.nan, 1);
        assert_eq!(d.stats.nonpositive, 2, "0 and -2");
    }

    #[test]
    fn all_nan_columns_are_gaps() {
        let a = Array1::from_elem(100, f64::NAN);
        let d = reduce_line(a.view(), 10, plotted, &none);
        assert!(d.columns.iter().all(|c| c.min.is_nan() && c.max.is_nan()));
        assert_eq!(d.stats.range(), None);
        assert_eq!(d.stats.nan, 100);
    }

    #[test]
    fn complex_and_bool_values() {
        assert_eq!(plotted(Complex::new(3.0f32, 4.0)), 5.0);
        assert_eq!(plotted(true), 1.0);
        assert_eq!(plotted(false), 0.0);
        assert_eq!(plotted(-7i16), -7.0);
    }

    #[test]
    fn heat_blocks_are_means() {
        let a = Array2::from_shape_fn((4, 6), |(r, c)| (r * 6 + c) as f64);
        let d = reduce_heat(a.view(), (2, 3), plotted, &none);
        assert_eq!(d.grid.dim(), (2, 3));
        assert_eq!(d.grid[[0, 0]], (0.0 + 1.0 + 6.0 + 7.0) / 4.0);
        assert_eq!(d.stats.range(), Some((0.0, 23.0)));
        // Small arrays are kept as they are.
        let d = reduce_heat(a.view(), (100, 100), plotted, &none);
        assert_eq!(d.grid, a);
        // Blocks of NaN stay NaN; NaNs elsewhere are left out of the mean.
        let mut a = a;
        a[[0, 0]] = f64::NAN;
        a[[3, 5]] = f64::NAN;
        a[[3, 4]] = f64::NAN;
        let d = reduce_heat(a.view(), (4, 3), plotted, &none);
        assert_eq!(d.grid[[0, 0]], 1.0);
        assert!(d.grid[[3, 2]].is_nan());
        assert_eq!(d.stats.nan, 3);
        // The cells whose blocks held a NaN are marked, whatever their mean.
        let nan: Vec<(usize, usize)> = d
            .marks
            .indexed_iter()
            .filter(|(_, m)| m.nan)
            .map(|(at, _)| at)
            .collect();
        assert_eq!(nan, [(0, 0), (3, 2)]);
    }

    #[test]
    fn heat_cells_mark_values_a_log_scale_cannot_show() {
        let a = Array2::from_shape_fn((4, 4), |(r, c)| match (r, c) {
            (0, 0) => 0.0,
            (3, 3) => f64::NEG_INFINITY,
            (2, 0) => -5.0,
            _ => 10.0,
        });
        let d = reduce_heat(a.view(), (2, 2), plotted, &none);
        let marked = d.marks.map(|m| m.nonpositive);
        assert_eq!(marked, array![[true, false], [true, true]]);
        assert!(d.grid[[0, 0]] > 0.0, "a positive mean, still marked");
        assert_eq!(d.stats.nonpositive, 3);
        assert!(d.marks.iter().all(|m| !m.nan));
    }

    #[test]
    fn block_means_of_huge_values_do_not_overflow() {
        let a = Array2::from_shape_fn((4, 4), |(r, _)| if r < 2 { 1e308 } else { -1.5e308 });
        let d = reduce_heat(a.view(), (2, 2), plotted, &none);
        assert_eq!(d.grid[[0, 0]], 1e308);
        assert_eq!(d.grid[[1, 1]], -1.5e308);
        let d = reduce_heat(a.view(), (1, 1), plotted, &none);
        assert!(
            (d.grid[[0, 0]] - -0.25e308).abs() < 1e294,
            "{}",
            d.grid[[0, 0]]
        );
        let m = Array2::from_elem((3, 3), f64::MAX);
        let mean = reduce_heat(m.view(), (1, 1), plotted, &none).grid[[0, 0]];
        assert!(mean.is_finite() && mean / f64::MAX > 1.0 - 1e-15, "{mean}");
    }
}
