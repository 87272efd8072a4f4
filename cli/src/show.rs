//! `mmarray show PATH [--slice EXPR]`: prints an array, or a slice of it,
//! as numpy prints arrays (`np.array2string`), reading only the elements
//! shown.
//!
//! This module owns the command: it opens the array with its own element
//! type, applies the slice (see [`crate::slice`]) to the zero-copy view and
//! hands the result to [`crate::arrayprint`].

use std::path::PathBuf;

use mmarray::{DynArray, dispatch};

use crate::arrayprint::array2string;
use crate::common::{CliError, print_out, usage};
use crate::slice;

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, or the sidecar.
    path: PathBuf,
    /// numpy basic indexing, as between the brackets of a[...]: per axis an
    /// index (negative from the end), start:stop[:step] or :, and at most one
    /// ...; missing trailing axes are taken whole. Example: "0:5, :, -1".
    #[arg(long, allow_hyphen_values = true, value_name = "EXPR")]
    slice: Option<String>,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let array = DynArray::open(&args.path)?;
    let expr = args.slice.as_deref().unwrap_or("");
    let text = dispatch!(&array, |a| {
        let view = slice::apply(a.view(), expr).map_err(usage)?;
        array2string(view)
    });
    print_out(&format!("{text}\n"))
}
