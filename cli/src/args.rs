//! The command line's definition (clap): the subcommands and, for the two
//! commands that print the definition itself (`completions` and `man`),
//! their arguments. Parsed in `main`; `completions` and `man` generate
//! from it. Each other subcommand's arguments are in its own module; this
//! module imports those, and nothing imports `main`.

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::{convert, create, demo, info, plot, show, sidecar, stats, zarr};

/// Memory-mapped numeric arrays: raw files with a JSON sidecar, and .npy files.
#[derive(Parser)]
#[command(name = "mmarray", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Describe an array: format, dtype, shape, order, offset, size, attrs (or list a .npz archive or a store).
    Info(info::Args),
    /// One pass over the whole array: count, NaNs, min, max, sum, mean, std.
    Stats(stats::Args),
    /// Create a new array (sparse when the fill is zero).
    Create(create::Args),
    /// Describe an existing raw file (numpy's tofile output) by writing its sidecar.
    Sidecar(sidecar::Args),
    /// Convert between .npy and raw+sidecar, optionally changing dtype, order and byte order.
    Convert(convert::Args),
    /// Create, fill, flush, reopen and summarise an array, with timings.
    Demo(demo::Args),
    /// Print an array, or a slice of it, as numpy prints arrays.
    Show(show::Args),
    /// Draw a 1-D array (or slice) as a line plot, a 2-D one as a heatmap, into a PNG.
    Plot(plot::Args),
    /// Write a zarr v3 array directory over an array's data file (a hard link, no copy): one chunk holding the whole array.
    ///
    /// The one chunk is the whole data file, so a zarr reader asking for a
    /// few elements reads all of it into memory. To read slices, open the
    /// file with the Python package's adapter instead,
    /// mmarray.zarr.Store(PATH): the same bytes as a zarr v3 store in chunks
    /// of about 64 MiB, each a zero-copy view.
    Zarr(zarr::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout: mmarray(1), or a subcommand's.
    Man(ManArgs),
}

/// `mmarray completions SHELL` (run by the `completions` module).
#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to write the completion script for.
    pub(crate) shell: Shell,
}

/// `mmarray man [COMMAND]` (run by the `man` module).
#[derive(clap::Args)]
pub(crate) struct ManArgs {
    /// A subcommand whose page to write (`mmarray-COMMAND(1)`) instead of
    /// the page of `mmarray` itself.
    pub(crate) command: Option<String>,
}
