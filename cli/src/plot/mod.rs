//! `mmarray plot PATH -o OUT.png [--slice EXPR]`: a 1-D array (or slice)
//! as a line plot, a 2-D one as a heatmap.
//!
//! The command ([`run`]) picks the view; [`reduce`] makes the one pass over
//! the data that reduces a view of any size to what the picture can show,
//! and [`render`] draws it (text through [`canvas`]):
//!
//! - 1-D: the minimum and maximum of each pixel column's share of the
//!   points (or the points themselves when there are few), so that a
//!   billion points cost one streaming pass and a few thousand numbers;
//! - 2-D: the mean of each pixel's block of elements (or the elements
//!   themselves when the array is smaller than the picture).
//!
//! Values are plotted as `f64`: booleans as 0/1, complex numbers as their
//! magnitude. NaNs are skipped (gaps in a line, their own colour in a
//! heatmap). The pass runs on all cores, a pixel column or row per task,
//! with a progress bar for over 256 MiB.
//!
//! The PNG never replaces an input (the array's data file or sidecar,
//! however named) and appears only once complete: it is written to a hidden
//! temporary file beside the destination and renamed into place.

use std::path::PathBuf;

use mmarray::{DynArray, Element, dispatch};
use ndarray::{ArrayViewD, Ix1, Ix2};

use crate::common::{self, CliError, progress_bar, usage};
use crate::slice;

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a member
    /// of a .npz archive (ARCHIVE.npz/NAME) or an array of a store (DIR/NAME).
    path: PathBuf,
    /// The PNG file to write (replaced if it exists, once the picture is
    /// complete; a symbolic link is replaced, not its target). Never one of
    /// the array's own files.
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
}

mod canvas;
mod reduce;
mod render;

use reduce::{Reduced, Title, numpy_shape, reduce_heat, reduce_line};

/// Reduces the view for the picture, or says why it cannot be plotted.
fn reduce<T: Element>(view: ArrayViewD<'_, T>, size: (u32, u32)) -> Result<Reduced, CliError> {
    let shape = view.shape().to_vec();
    if view.is_empty() {
        return Err(usage(format!(
            "nothing to plot: the selected array, of shape {}, has no elements",
            numpy_shape(&shape)
        )));
    }
    let bar = progress_bar(view.len() as u64, T::TYPE.size(), "plot");
    let progress = |n: u64| bar.inc(n);
    let (area_w, area_h) = render::plot_area(size, view.ndim());
    let reduced = match view.ndim() {
        1 => {
            let v = view
                .into_dimensionality::<Ix1>()
                .map_err(|e| usage(e.to_string()))?;
            Reduced::Line(reduce_line(v, area_w, &progress))
        }
        2 => {
            let v = view
                .into_dimensionality::<Ix2>()
                .map_err(|e| usage(e.to_string()))?;
            Reduced::Heat(reduce_heat(v, (area_h, area_w), &progress))
        }
        0 => {
            return Err(usage(
                "plot draws 1-D arrays (a line) and 2-D arrays (a heatmap), but the selection is a \
                 single value (0-D); leave one or two axes unindexed in --slice",
            ));
        }
        n => {
            return Err(usage(format!(
                "plot draws 1-D arrays (a line) and 2-D arrays (a heatmap), but the array is {n}-D \
                 with shape {}; pick a 1-D or 2-D part with --slice, e.g. --slice \"{}\"",
                numpy_shape(&shape),
                example_slice(n),
            )));
        }
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

pub fn run(args: &Args) -> Result<(), CliError> {
    let path = common::resolve_input(&args.path)?;
    let expr = args.slice.as_deref().unwrap_or("");
    let size = (args.width, args.height);
    let (reduced, shape, element) = match DynArray::open(&path) {
        Ok(array) => {
            let info = array.info();
            let mut inputs = vec![path.as_path(), info.path()];
            inputs.extend(info.sidecar_path());
            common::refuse_same_file(&args.output, &inputs, "the PNG")?;
            dispatch!(&array, |a| {
                let view = slice::apply(a.view(), expr).map_err(usage)?;
                let shape = view.shape().to_vec();
                (reduce(view, size)?, shape, array.element_type())
            })
        }
        // A .npz member that cannot be viewed in place is read as a copy.
        Err(e) => match common::npz_member_to_copy(&path, &e) {
            Some(element) => {
                let archive = path.parent().unwrap_or(&path);
                common::refuse_same_file(&args.output, &[archive], "the PNG")?;
                mmarray::dispatch_type!(element, |T| {
                    let owned = mmarray::read_array::<T>(&path)?;
                    let view = slice::apply(owned.view(), expr).map_err(usage)?;
                    let shape = view.shape().to_vec();
                    (reduce(view, size)?, shape, element)
                })
            }
            None => return Err(e.into()),
        },
    };
    let title = Title::new(&args.path, args.slice.as_deref(), element, &shape);
    let rgb = render::draw(&reduced, &title, size)?;
    common::write_replacing(&args.output, "writing the PNG", |file| {
        render::write_png(std::io::BufWriter::new(file), &rgb, size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmarray::ElementType;
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
