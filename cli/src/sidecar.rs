//! `mmarray sidecar PATH --dtype DT --shape ... [--order C|F] [--offset N] [--force]`.

use std::path::PathBuf;

use mmarray::{DType, Order};

use crate::common::{self, CliError, print_out};

#[derive(clap::Args)]
pub struct Args {
    /// An existing raw data file, e.g. numpy's `a.tofile(PATH)` output.
    path: PathBuf,
    /// Element type: a numpy type string (<f4, >i8, |u1) or name (float32).
    #[arg(long, value_parser = common::parse_dtype)]
    dtype: DType,
    /// Comma-separated dimensions, e.g. 1000,3 (empty for a 0-d array).
    #[arg(long, value_parser = common::parse_shape, allow_hyphen_values = true)]
    shape: std::vec::Vec<usize>,
    /// Memory order.
    #[arg(long, default_value = "C", value_parser = common::parse_order)]
    order: Order,
    /// Byte offset of element 0 in the file.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Replace an existing sidecar (its attrs are kept).
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let info = mmarray::sidecar::describe(
        &args.path,
        args.dtype,
        &args.shape,
        args.order,
        args.offset,
        args.force,
    )?;
    let sidecar = info
        .sidecar_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    print_out(&format!("wrote {sidecar}\n"))
}
