//! The reductions of [`super::reduce`] made in one pass over a whole file
//! read front to back with `pread` ([`mmarray::ScanBuffer`]), for a plot
//! of a whole array (no `--slice`): memory stays at the reader's buffer
//! and the picture's cells however large the file, a file in the other
//! byte order is decoded block by block, and a file truncated meanwhile is
//! an error ([`mmarray::Error::Truncated`]), not `SIGBUS`.
//!
//! The elements arrive in memory order, so each pixel column (1-D) or cell
//! (2-D) adds its elements in the order [`super::reduce`]'s fold over a
//! mapped view adds them: the pictures are the same to the bit. A C-order
//! 2-D array arrives row by row and an F-order one column by column; both
//! are walked as "lines" of the fast axis, whose runs fall into the cells
//! of the line's band.

use mmarray::{Element, Order, ScanBuffer};
use ndarray::Array2;

use super::reduce::{
    Acc, HeatData, LineData, Marks, add_scaled, block_mean, needs_rescue, plotted, split_point,
};

/// [`super::reduce::reduce_line`] of the `len` elements `reader` yields.
pub fn reduce_line<T: Element>(
    reader: &mut ScanBuffer<'_>,
    len: usize,
    columns: usize,
    on_progress: &dyn Fn(u64),
) -> mmarray::Result<LineData> {
    let mut stats = Acc::default();
    let mut out = Vec::with_capacity(len.min(2 * columns).max(1));
    if len <= 2 * columns {
        let mut i = 0usize;
        while let Some(block) = reader.next_elements::<T>()? {
            for &x in block {
                let mut one = Acc::default();
                one.add(plotted(x));
                stats.merge(&one);
                out.push(one.column(i as f64));
                i += 1;
            }
        }
        on_progress(len as u64);
        return Ok(LineData {
            len,
            columns: out,
            decimated: false,
            stats,
        });
    }
    // Column `c` covers elements lo..hi.
    let (mut c, mut lo) = (0usize, 0usize);
    let mut hi = split_point(1, len, columns);
    let mut acc = Acc::default();
    let mut i = 0usize;
    while let Some(block) = reader.next_elements::<T>()? {
        let mut rest = block;
        while !rest.is_empty() {
            let take = (hi - i).min(rest.len());
            for &x in &rest[..take] {
                acc.add(plotted(x));
            }
            rest = &rest[take..];
            i += take;
            if i == hi {
                stats.merge(&acc);
                out.push(acc.column((lo + hi - 1) as f64 / 2.0));
                acc = Acc::default();
                c += 1;
                (lo, hi) = (hi, split_point(c + 1, len, columns));
            }
        }
        on_progress(block.len() as u64);
    }
    Ok(LineData {
        len,
        columns: out,
        decimated: true,
        stats,
    })
}

/// One heatmap cell being summed: its summary, and the sum scaled by
/// 2^-64 for a block whose plain sum overflows (see
/// [`super::reduce::block_mean`]).
#[derive(Clone, Copy, Default)]
struct Cell {
    acc: Acc,
    scaled: f64,
}

/// [`super::reduce::reduce_heat`] of the 2-D array of `shape` stored in
/// `order` that `reader` yields.
pub fn reduce_heat<T: Element>(
    reader: &mut ScanBuffer<'_>,
    (n_rows, n_cols): (usize, usize),
    order: Order,
    (rows, cols): (usize, usize),
    on_progress: &dyn Fn(u64),
) -> mmarray::Result<HeatData> {
    let (g_rows, g_cols) = (n_rows.min(rows).max(1), n_cols.min(cols).max(1));
    let mut cells = vec![Cell::default(); g_rows * g_cols];
    // Lines run along the fast axis (a row in C order, a column in F);
    // `bands` split the lines among the grid's rows (columns), `runs` split
    // each line among its cells.
    let ((n_lines, g_bands), (line_len, g_runs)) = match order {
        Order::C => ((n_rows, g_rows), (n_cols, g_cols)),
        Order::F => ((n_cols, g_cols), (n_rows, g_rows)),
    };
    let runs: Vec<usize> = (0..=g_runs)
        .map(|k| split_point(k, line_len, g_runs))
        .collect();
    let cell_of = |band: usize, run: usize| match order {
        Order::C => band * g_cols + run,
        Order::F => run * g_cols + band,
    };
    let (mut line, mut band, mut at) = (0usize, 0usize, 0usize);
    let mut band_end = split_point(1, n_lines, g_bands);
    let mut run = 0usize;
    while let Some(block) = reader.next_elements::<T>()? {
        let mut rest = block;
        while !rest.is_empty() {
            let take = (runs[run + 1] - at).min(rest.len());
            let cell = &mut cells[cell_of(band, run)];
            for &x in &rest[..take] {
                let v = plotted(x);
                cell.acc.add(v);
                cell.scaled = add_scaled(cell.scaled, v);
            }
            rest = &rest[take..];
            at += take;
            if at == runs[run + 1] {
                run += 1;
                if at == line_len {
                    (at, run) = (0, 0);
                    line += 1;
                    if line == band_end && line < n_lines {
                        band += 1;
                        band_end = split_point(band + 1, n_lines, g_bands);
                    }
                }
            }
        }
        on_progress(block.len() as u64);
    }
    let mut stats = Acc::default();
    let mut grid = Array2::from_elem((g_rows, g_cols), f64::NAN);
    let mut marks = Array2::from_elem((g_rows, g_cols), Marks::default());
    for r in 0..g_rows {
        for c in 0..g_cols {
            let cell = &cells[r * g_cols + c];
            stats.merge(&cell.acc);
            let scaled = if needs_rescue(&cell.acc) {
                cell.scaled
            } else {
                0.0
            };
            grid[[r, c]] = block_mean(&cell.acc, scaled);
            marks[[r, c]] = Marks::of(&cell.acc);
        }
    }
    Ok(HeatData {
        rows: n_rows,
        cols: n_cols,
        grid,
        marks,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmarray::{CreateOptions, Scan};
    use ndarray::{Array1, Array2, ShapeBuilder};

    fn none(_: u64) {}

    /// The streamed reductions equal the view reductions exactly, for C
    /// and F order, NaNs, huge values, and grids that divide unevenly.
    #[test]
    fn streamed_equals_viewed() {
        let dir = tempfile::tempdir().unwrap();
        let line = Array1::from_iter((0..100_003).map(|i| match i {
            77 => f64::NAN,
            500 => 1e308,
            501 => 1e308,
            _ => (i as f64).sin() * 1e3,
        }));
        let path = dir.path().join("line.dat");
        CreateOptions::new().write(&path, &line).unwrap();
        let scan = Scan::open(&path).unwrap();
        for columns in [7, 1000, 60_000] {
            let a = super::super::reduce::reduce_line(line.view(), columns, plotted, &none);
            let b = reduce_line::<f64>(&mut scan.reader(), line.len(), columns, &none).unwrap();
            assert_eq!(format!("{:?}", a.columns), format!("{:?}", b.columns));
            assert_eq!((a.len, a.decimated), (b.len, b.decimated));
            assert_eq!(format!("{:?}", a.stats), format!("{:?}", b.stats));
        }
        for order in [Order::C, Order::F] {
            let heat =
                Array2::from_shape_fn((301, 517).set_f(order == Order::F), |(r, c)| match (r, c) {
                    (5, 9) => f32::NAN,
                    (r, _) if r > 290 => f32::MAX,
                    _ => (r * 7 + c) as f32 * 0.25,
                });
            let path = dir.path().join(format!("heat-{order:?}.dat"));
            CreateOptions::new()
                .order(order)
                .write(&path, &heat)
                .unwrap();
            let scan = Scan::open(&path).unwrap();
            for grid in [(3, 4), (100, 100), (400, 600)] {
                let b =
                    reduce_heat::<f32>(&mut scan.reader(), heat.dim(), order, grid, &none).unwrap();
                let a = super::super::reduce::reduce_heat(heat.view(), grid, plotted, &none);
                assert_eq!(format!("{:?}", a.grid), format!("{:?}", b.grid));
                assert_eq!(a.marks, b.marks);
                assert_eq!(format!("{:?}", a.stats), format!("{:?}", b.stats));
            }
        }
    }
}
