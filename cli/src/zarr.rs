//! `mmarray zarr PATH OUT_DIR [--force]`: OUT_DIR as a zarr v3 array over
//! PATH's data file, for zarr readers in any language (zarr-python,
//! zarrs, tensorstore, zarr-js), without a copy: `zarr.json` from the
//! sidecar and one chunk that is a hard link to the data file
//! ([`mmarray::export_zarr`]).
//!
//! One chunk holds the whole array, so a zarr reader reads all of it even
//! for a slice: `--help` and the line printed say so, naming the Python
//! package's `mmarray.zarr.Store`, which serves the same bytes in chunks of
//! about 64 MiB, as the way to read slices.

use std::path::PathBuf;

use crate::common::{CliError, print_out, show_path};

#[derive(clap::Args)]
pub struct Args {
    /// A raw data file with a sidecar (offset 0, no spare capacity), or its
    /// sidecar. A .npy file (its header comes first) is refused: convert it
    /// to a raw file first (`mmarray convert x.npy x.dat`).
    path: PathBuf,
    /// The zarr array directory to write (built beside it under a temporary
    /// name, renamed into place when complete). On the data file's file
    /// system: the chunk is a hard link.
    out_dir: PathBuf,
    /// Replace an existing OUT_DIR (only a zarr array directory, or an
    /// empty one, is replaced).
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let done = match mmarray::export_zarr(&args.path, &args.out_dir, args.force) {
        Ok(done) => done,
        // The library's way out is a function; the command line's is a
        // command.
        Err(mmarray::Error::InvalidArgument { path, message })
            if message.contains("mmarray::convert") =>
        {
            let message = message
                .replace(
                    "mmarray::convert to a raw name",
                    &format!("`mmarray convert {} COPY.dat`", show_path(&path)),
                )
                .replace(
                    "mmarray::convert",
                    &format!("`mmarray convert {} COPY.dat`", show_path(&path)),
                );
            return Err(CliError::Input(
                format!("{}: {message}", show_path(&path)).into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let chunk = match &done.chunk {
        Some(chunk) => format!(
            "one chunk holding the whole array, {}, a hard link to {}: a zarr reader reads it whole even for a slice; to read slices, open {} with mmarray.zarr.Store (Python)",
            show_path(chunk),
            show_path(done.info.path()),
            show_path(done.info.path()),
        ),
        None => "no chunk: the array has no elements".to_string(),
    };
    print_out(&format!(
        "wrote {} (zarr v3 array, {} {:?}; {chunk})\n",
        show_path(&done.dir),
        done.info.layout().dtype(),
        done.info.layout().shape(),
    ))
}
