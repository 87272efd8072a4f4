//! `mmarray plot PATH -o OUT.png [--slice EXPR] [--title TEXT]
//! [--cmap NAME] [--vmin V] [--vmax V] [--log]`: a 1-D array (or slice) as
//! a line plot, a 2-D one as a heatmap.
//!
//! The command ([`run`]) checks the flags (before any work: a name not
//! ending in `.png`, `--vmin` not below `--vmax`, heatmap flags on a line
//! plot), picks the view; [`reduce`] makes the one pass over the data that
//! reduces a view of any size to what the picture can show, and [`render`]
//! draws it (text through [`canvas`], heatmap colours from [`cmap`]). It
//! prints where it wrote, as `create` and `convert` do.
//!
//! - 1-D: the minimum and maximum of each pixel column's share of the
//!   points (or the points themselves when there are few), so that a
//!   billion points cost one streaming pass and a few thousand numbers;
//! - 2-D: the mean of each pixel's block of elements (or the elements
//!   themselves when the array is smaller than the picture).
//!
//! Values are plotted as `f64`: booleans as 0/1, complex numbers as their
//! magnitude. NaNs are left out of extremes and means, but never hidden:
//! the pass notes which pixel columns and blocks held one, and those are
//! drawn in red (a red line across a line plot, a red heatmap cell), with
//! the count in the subtitle. A progress bar shows for over 256 MiB.
//!
//! The whole array (no `--slice`) is reduced in one pass over its file
//! read front to back with `pread` ([`stream`]): memory stays at a buffer
//! and the picture's cells however large the file, and a file truncated
//! meanwhile is a one-line error, not `SIGBUS`. A slice is reduced from a
//! mapped view ([`reduce`], on all cores, a pixel column or row per task),
//! which reads only the elements it selects. Both add each cell's elements
//! in memory order, so they draw the same picture. A file in the other
//! byte order is decoded block by block (whole) or element by element as
//! it is read (sliced), so it plots as its native twin does.
//!
//! The PNG never replaces an input (the array's data file or sidecar,
//! however named) and appears only once complete: it is written to a hidden
//! temporary file beside the destination and renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use mmarray::{DynArray, Element, ElementType, Scan, dispatch};
use ndarray::{ArrayViewD, Ix1, Ix2};

use crate::common::{self, CliError, human_bytes, print_out, progress_bar, show_path, usage};
use crate::slice;

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a member
    /// of a .npz archive (ARCHIVE.npz/NAME) or an array of a store (DIR/NAME).
    /// With --slice it is read through a memory mapping: no other program
    /// may change or truncate it while the command runs (mmarray's own
    /// writers are kept off by its locks); without, it is read with pread.
    path: PathBuf,
    /// The PNG file to write: a name ending in .png (any case); replaced if
    /// it exists, once the picture is complete (a symbolic link is
    /// replaced, not its target). Never one of the array's own files.
    #[arg(short, long, value_name = "OUT.png")]
    output: PathBuf,
    /// numpy basic indexing, as between the brackets of a[...], to pick a 1-D
    /// or 2-D part of the array. Example: "0, :, 100:200".
    #[arg(long, allow_hyphen_values = true, value_name = "EXPR")]
    slice: Option<String>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(320..=8192))]
    width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(240..=8192))]
    height: u32,
    /// The title drawn above the plot, instead of the file name, slice,
    /// dtype and shape ("" for none).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Heatmaps only: the colour map [default: viridis]. (On a line plot,
    /// --cmap, --vmin, --vmax and --log are usage errors.)
    #[arg(long, value_enum, value_name = "NAME")]
    cmap: Option<Cmap>,
    /// Heatmaps only: the value at the low end of the colour scale (default:
    /// the smallest drawn); smaller values take its colour. Given alone, it
    /// must be below the largest value drawn.
    #[arg(long, allow_negative_numbers = true, value_name = "V")]
    vmin: Option<f64>,
    /// Heatmaps only: the value at the high end of the colour scale
    /// (default: the largest drawn); larger values take its colour. Above
    /// --vmin.
    #[arg(long, allow_negative_numbers = true, value_name = "V")]
    vmax: Option<f64>,
    /// Heatmaps only: colour by log10 of the value, as matplotlib's LogNorm
    /// does. Cells whose block holds a value <= 0 are masked, drawn in red
    /// as NaN is, and counted in the subtitle; --vmin and --vmax must then
    /// be above 0.
    #[arg(long)]
    log: bool,
}

impl Args {
    /// The checks clap does not make, made before any work: each failure
    /// is a one-line usage error.
    fn check(&self) -> Result<(), CliError> {
        let png = self
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if !png {
            return Err(usage(format!(
                "-o/--output {}: plot writes PNG only; give a name ending in .png",
                show_path(&self.output)
            )));
        }
        for (flag, value) in [("--vmin", self.vmin), ("--vmax", self.vmax)] {
            match value {
                Some(v) if !v.is_finite() => {
                    return Err(usage(format!("{flag} {v}: must be a finite number")));
                }
                Some(v) if self.log && v <= 0.0 => {
                    return Err(usage(format!(
                        "{flag} {v}: a log colour scale (--log) has no place for values <= 0"
                    )));
                }
                _ => {}
            }
        }
        if let (Some(lo), Some(hi)) = (self.vmin, self.vmax)
            && lo >= hi
        {
            return Err(usage(format!("--vmin {lo} must be below --vmax {hi}")));
        }
        Ok(())
    }

    /// Refuses the heatmap-only flags for a selection of `shape` that is
    /// drawn as a line (1-D).
    fn check_heat_flags(&self, shape: &[usize]) -> Result<(), CliError> {
        let given: Vec<&str> = [
            ("--cmap", self.cmap.is_some()),
            ("--vmin", self.vmin.is_some()),
            ("--vmax", self.vmax.is_some()),
            ("--log", self.log),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        if shape.len() != 1 || given.is_empty() {
            return Ok(());
        }
        Err(usage(format!(
            "{}: only for heatmaps (2-D), but the selection is 1-D, shape {}, drawn as a line",
            given.join(", "),
            numpy_shape(shape)
        )))
    }

    /// What the picture looks like beyond the data.
    fn look(&self) -> Look {
        Look {
            title: self.title.clone(),
            scale: ColourScale {
                cmap: self.cmap.unwrap_or_default(),
                log: self.log,
                vmin: self.vmin,
                vmax: self.vmax,
            },
        }
    }
}

mod canvas;
mod cmap;
mod reduce;
mod render;
mod stream;

use cmap::Cmap;
use reduce::{
    Reduced, Title, Value, numpy_shape, plotted, plotted_swapped, reduce_heat, reduce_line,
};
use render::{ColourScale, Look};

/// Says why a selection of `shape` cannot be plotted, if it cannot.
fn check_selection(shape: &[usize], args: &Args) -> Result<(), CliError> {
    args.check_heat_flags(shape)?;
    if shape.contains(&0) {
        return Err(usage(format!(
            "nothing to plot: the selected array, of shape {}, has no elements",
            numpy_shape(shape)
        )));
    }
    match shape.len() {
        1 | 2 => Ok(()),
        0 => Err(usage(
            "plot draws 1-D arrays (a line) and 2-D arrays (a heatmap), but the selection is a \
             single value (0-D); leave one or two axes unindexed in --slice",
        )),
        n => Err(usage(format!(
            "plot draws 1-D arrays (a line) and 2-D arrays (a heatmap), but the array is {n}-D \
             with shape {}; pick a 1-D or 2-D part with --slice, e.g. --slice \"{}\"",
            numpy_shape(shape),
            example_slice(n),
        ))),
    }
}

/// Reduces the view for the picture, each element made a value by
/// `value`, or says why it cannot be plotted.
fn reduce<T: Element>(
    view: ArrayViewD<'_, T>,
    value: Value<T>,
    args: &Args,
) -> Result<Reduced, CliError> {
    check_selection(view.shape(), args)?;
    let bar = progress_bar(view.len() as u64, T::TYPE.size(), "plot");
    let progress = |n: u64| bar.inc(n);
    let (area_w, area_h) = render::plot_area((args.width, args.height), view.ndim());
    let reduced = if view.ndim() == 1 {
        let v = view
            .into_dimensionality::<Ix1>()
            .map_err(|e| usage(e.to_string()))?;
        Reduced::Line(reduce_line(v, area_w, value, &progress))
    } else {
        let v = view
            .into_dimensionality::<Ix2>()
            .map_err(|e| usage(e.to_string()))?;
        Reduced::Heat(reduce_heat(v, (area_h, area_w), value, &progress))
    };
    bar.finish_and_clear();
    Ok(reduced)
}

/// Reduces the whole array `scan` opened in one pass over its file (see
/// [`stream`]), or says why it cannot be plotted.
fn reduce_scan<T: Element>(scan: &Scan, args: &Args) -> Result<Reduced, CliError> {
    let layout = scan.info().layout();
    let shape = layout.shape();
    check_selection(shape, args)?;
    let bar = progress_bar(layout.len() as u64, T::TYPE.size(), "plot");
    let progress = |n: u64| bar.inc(n);
    let (area_w, area_h) = render::plot_area((args.width, args.height), shape.len());
    let mut reader = scan.reader();
    let reduced = if let [len] = *shape {
        Reduced::Line(stream::reduce_line::<T>(
            &mut reader,
            len,
            area_w,
            &progress,
        )?)
    } else {
        let dim = (shape[0], shape[1]);
        let grid = (area_h, area_w);
        Reduced::Heat(stream::reduce_heat::<T>(
            &mut reader,
            dim,
            layout.order(),
            grid,
            &progress,
        )?)
    };
    bar.finish_and_clear();
    Ok(reduced)
}

/// A slice that leaves the last two axes of an `n`-D array (`0, :, :`).
fn example_slice(n: usize) -> String {
    let mut items = vec!["0"; n.saturating_sub(2)];
    items.extend([":", ":"]);
    items.join(", ")
}

/// Refuses an output PNG that is one of the files read: the path given,
/// the array's data file or its sidecar.
fn refuse_png_over_input(
    args: &Args,
    path: &std::path::Path,
    info: &mmarray::ArrayInfo,
) -> Result<(), CliError> {
    let mut inputs = vec![path, info.path()];
    inputs.extend(info.sidecar_path());
    common::refuse_same_file(&args.output, &inputs, "the PNG")
}

pub fn run(args: &Args) -> Result<(), CliError> {
    args.check()?;
    let path = common::resolve_input(&args.path)?;
    let expr = args.slice.as_deref().unwrap_or("");
    let size = (args.width, args.height);
    let (reduced, shape, element) = if expr.trim().is_empty() {
        // The whole array: one pass over the file with `pread`.
        match Scan::open(&path) {
            Ok(scan) => {
                let info = scan.info();
                refuse_png_over_input(args, &path, info)?;
                let element = info.layout().dtype().element_type();
                let shape = info.layout().shape().to_vec();
                let reduced = mmarray::dispatch_type!(element, |T| reduce_scan::<T>(&scan, args)?);
                (reduced, shape, element)
            }
            Err(e) => copy_or_fail(&path, e, args)?,
        }
    } else {
        // SAFETY: the documented precondition of this command (its --help):
        // the file is not changed or truncated by another program while it runs;
        // mmarray's own writers are kept off by the locks the open takes.
        match unsafe { DynArray::open(&path) } {
            Ok(array) => {
                let info = array.info();
                refuse_png_over_input(args, &path, info)?;
                dispatch!(&array, |a| {
                    let view = slice::apply(a.view(), expr).map_err(usage)?;
                    let shape = view.shape().to_vec();
                    (reduce(view, plotted, args)?, shape, array.element_type())
                })
            }
            // In the other byte order: viewed in place as stored, each
            // element swapped as it is read.
            Err(mmarray::Error::NonNativeByteOrder { dtype, .. }) => {
                // SAFETY: the documented precondition of this command (its --help):
                // the file is not changed or truncated by another program while it runs;
                // mmarray's own writers are kept off by the locks the open takes.
                let src = unsafe { mmarray::Source::open(&path) }?;
                refuse_png_over_input(args, &path, src.info())?;
                let element = dtype.element_type();
                mmarray::dispatch_type!(element, |T| match common::stored_view::<T>(&src) {
                    Some(stored) => {
                        let view = slice::apply(stored, expr).map_err(usage)?;
                        let shape = view.shape().to_vec();
                        (reduce(view, plotted_swapped, args)?, shape, element)
                    }
                    None => copied(&path, element, args)?,
                })
            }
            Err(e) => copy_or_fail(&path, e, args)?,
        }
    };
    let title = Title::new(&args.path, args.slice.as_deref(), element, &shape);
    let rgb = render::draw(&reduced, &title, &args.look(), size)?;
    let mut png = Vec::new();
    render::write_png(&mut png, &rgb, size)?;
    common::write_replacing(&args.output, "writing the PNG", |file| file.write_all(&png))?;
    print_out(&format!(
        "wrote {} (PNG, {}×{} pixels, {})\n",
        show_path(&args.output),
        size.0,
        size.1,
        human_bytes(png.len() as u64)
    ))
}

/// What cannot be viewed in place (a compressed `.npz` member, or
/// elements at an offset their type is not aligned to) read as a converted
/// copy, if `err` (of opening `path`) says so; other errors returned as
/// they are.
fn copy_or_fail(
    path: &Path,
    err: mmarray::Error,
    args: &Args,
) -> Result<(Reduced, Vec<usize>, ElementType), CliError> {
    match common::element_to_copy(&err) {
        Some(element) => {
            // The file itself, or for a member the archive (a parent that
            // is a file).
            let mut inputs = vec![path];
            inputs.extend(path.parent().filter(|p| p.is_file()));
            common::refuse_same_file(&args.output, &inputs, "the PNG")?;
            copied(path, element, args)
        }
        None => Err(err.into()),
    }
}

/// The array at `path` (of `element`s) read as a converted copy
/// ([`mmarray::read_array`]), sliced and reduced.
fn copied(
    path: &Path,
    element: ElementType,
    args: &Args,
) -> Result<(Reduced, Vec<usize>, ElementType), CliError> {
    let expr = args.slice.as_deref().unwrap_or("");
    mmarray::dispatch_type!(element, |T| {
        let owned = mmarray::read_array::<T>(path)?;
        let view = slice::apply(owned.view(), expr).map_err(usage)?;
        let shape = view.shape().to_vec();
        Ok((reduce(view, plotted, args)?, shape, element))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn titles() {
        let t = Title::new(
            Path::new("/tmp/x/a.npy"),
            Some(" 0, : "),
            ElementType::C64,
            &[7],
        );
        assert_eq!(
            t.to_string(),
            "a.npy[0, :]  ·  magnitude of complex64  ·  shape (7,)"
        );
        let t = Title::new(Path::new("b.dat"), None, ElementType::Bool, &[2, 3]);
        assert_eq!(t.to_string(), "b.dat  ·  bool as 0/1  ·  shape (2, 3)");
        assert_eq!(example_slice(3), "0, :, :");
        assert_eq!(numpy_shape(&[]), "()");
        assert_eq!(numpy_shape(&[4, 5]), "(4, 5)");
    }
}
