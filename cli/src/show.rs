//! `mmarray show PATH [--slice EXPR]`: prints an array, or a slice of it,
//! as numpy prints arrays (`np.array2string`), reading only the elements
//! shown.
//!
//! This module owns the command: it opens the array with its own element
//! type, applies the slice (see [`crate::slice`]) to the zero-copy view and
//! hands the result to [`crate::arrayprint`]. A file in the other byte
//! order (`>f4` here) is viewed in place as stored and each element shown
//! is swapped as it is printed, so it prints as its native twin does.

use std::path::PathBuf;

use mmarray::{DynArray, dispatch};

use crate::arrayprint::{array2string, array2string_swapped};
use crate::common::{self, CliError, print_out, usage};
use crate::slice;

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a member
    /// of a .npz archive (ARCHIVE.npz/NAME) or an array of a store (DIR/NAME).
    /// Read through a memory mapping: no other program may change or
    /// truncate it while the command runs (mmarray's own writers are kept
    /// off by its locks).
    path: PathBuf,
    /// numpy basic indexing, as between the brackets of a[...]: per axis an
    /// index (negative from the end), start:stop[:step] or :, and at most one
    /// ...; missing trailing axes are taken whole. Example: "0:5, :, -1".
    #[arg(long, allow_hyphen_values = true, value_name = "EXPR")]
    slice: Option<String>,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let path = common::resolve_input(&args.path)?;
    let expr = args.slice.as_deref().unwrap_or("");
    // SAFETY: the documented precondition of this command (its --help):
    // the file is not changed or truncated by another program while it runs;
    // mmarray's own writers are kept off by the locks the open takes.
    let text = match unsafe { DynArray::open(&path) } {
        Ok(array) => dispatch!(&array, |a| {
            let view = slice::apply(a.view(), expr).map_err(usage)?;
            array2string(view)
        }),
        // In the other byte order: viewed in place as stored, and each
        // element shown swapped as it is printed.
        Err(mmarray::Error::NonNativeByteOrder { dtype, .. }) => {
            // SAFETY: the documented precondition of this command (its --help):
            // the file is not changed or truncated by another program while it runs;
            // mmarray's own writers are kept off by the locks the open takes.
            let src = unsafe { mmarray::Source::open(&path) }?;
            mmarray::dispatch_type!(dtype.element_type(), |T| {
                match common::stored_view::<T>(&src) {
                    Some(stored) => {
                        let view = slice::apply(stored, expr).map_err(usage)?;
                        array2string_swapped(view)
                    }
                    None => {
                        let owned = mmarray::read_array::<T>(&path)?;
                        let view = slice::apply(owned.view(), expr).map_err(usage)?;
                        array2string(view)
                    }
                }
            })
        }
        // A compressed .npz member, or elements at an offset their type is
        // not aligned to, cannot be viewed in place: read as a copy.
        Err(e) => match common::element_to_copy(&e) {
            Some(element) => mmarray::dispatch_type!(element, |T| {
                let owned = mmarray::read_array::<T>(&path)?;
                let view = slice::apply(owned.view(), expr).map_err(usage)?;
                array2string(view)
            }),
            None => return Err(e.into()),
        },
    };
    print_out(&format!("{text}\n"))
}
