//! `mmarray`: inspect, summarise, create, convert, show and plot
//! memory-mapped arrays and `.npy` files from the shell.
//!
//! Each subcommand is a module with an `Args` struct and a `run` function, a
//! thin layer over the `mmarray` library; the clap definition that ties them
//! together is in `args` (which `completions` and `man` generate from, so no
//! module imports this one). Errors print as one line on stderr;
//! the exit code is 1 for bad input and 2 for bad usage. `SIGXFSZ` is
//! ignored, so a file-size limit is an error too, not death by signal.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod args;
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

use clap::Parser;

use args::{Cli, Command};

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
