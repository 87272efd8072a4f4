//! `mmarray`: inspect, summarise, create, convert, show and plot
//! memory-mapped arrays and `.npy` files from the shell.
//!
//! Each subcommand is a module with an `Args` struct and a `run` function, a
//! thin layer over the `mmarray` library. Errors print as one line on stderr;
//! the exit code is 1 for bad input and 2 for bad usage. `SIGXFSZ` is
//! ignored, so a file-size limit is an error too, not death by signal.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod arrayprint;
mod common;
mod completions;
mod convert;
mod create;
mod demo;
mod info;
mod man;
mod plot;
mod show;
mod sidecar;
mod slice;
mod stats;
mod zarr;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Memory-mapped numeric arrays: raw files with a JSON sidecar, and .npy files.
#[derive(Parser)]
#[command(name = "mmarray", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Write a zarr v3 array directory over an array's data file (a hard link, no copy).
    Zarr(zarr::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(completions::Args),
    /// Print the manual page (roff) to stdout: mmarray(1), or a subcommand's.
    Man(man::Args),
}

/// Ignores `SIGXFSZ`. Its default action kills the process when a write
/// passes the file-size limit (`ulimit -f`), leaving a partial file; ignored,
/// the write fails with `EFBIG` instead, which the library reports as an
/// error naming the file and cleans up after.
fn ignore_file_size_signal() {
    // SAFETY: called first thing in `main`, before any thread is started;
    // setting a signal's disposition to SIG_IGN installs no handler code and
    // touches no Rust state.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

fn main() -> ExitCode {
    ignore_file_size_signal();
    common::install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // clap's message quotes the bad value as given: escape control
            // characters in it (clap's own line breaks kept).
            let text = e.render().to_string();
            let lines: Vec<String> = text.lines().map(common::escape).collect();
            eprintln!("{}", lines.join("\n").trim_end());
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version, on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let result = match &cli.command {
        Command::Info(args) => info::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Create(args) => create::run(args),
        Command::Sidecar(args) => sidecar::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Show(args) => show::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Zarr(args) => zarr::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
