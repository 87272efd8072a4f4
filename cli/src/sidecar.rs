//! `mmarray sidecar PATH --dtype DT --shape ... [--order C|F] [--offset N] [--force]`.

use std::path::PathBuf;

use crate::common::{self, CliError, print_out, show_path};

#[derive(clap::Args)]
pub struct Args {
    /// An existing raw data file, e.g. numpy's `a.tofile(PATH)` output.
    path: PathBuf,
    #[command(flatten)]
    layout: common::LayoutArgs,
    /// Byte offset of element 0 in the file.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Replace an existing sidecar (its attrs are kept).
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let info = mmarray::describe(
        &args.path,
        args.layout.dtype,
        &args.layout.shape,
        args.layout.order,
        args.offset,
        args.force,
    )?;
    let sidecar = info.sidecar_path().map(show_path).unwrap_or_default();
    print_out(&format!("wrote {sidecar}\n"))
}
