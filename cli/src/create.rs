//! `mmarray create PATH --dtype DT --shape D0,D1,... [--order C|F] [--fill VALUE] [--npy] [--force]`.

use std::path::PathBuf;

use mmarray::{CreateOptions, DType, Format, Order, Scalar};

use crate::common::{self, CliError, human_bytes, print_out};

#[derive(clap::Args)]
pub struct Args {
    /// The new file: a raw data file (its sidecar is PATH.json) or, with --npy or a .npy name, a .npy file.
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
    /// Value of every element (default 0: the file is created sparse).
    #[arg(long, value_parser = common::parse_value, allow_hyphen_values = true)]
    fill: Option<Scalar>,
    /// Write a .npy file whatever the name.
    #[arg(long)]
    npy: bool,
    /// Replace an existing array at PATH.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let mut options = CreateOptions::new();
    options.order(args.order).overwrite(args.force);
    if args.npy {
        options.format(Format::Npy);
    }
    let fill = args.fill.unwrap_or(Scalar::Int(0));
    let info = options.create_filled(&args.path, args.dtype, &args.shape, fill)?;
    let layout = info.layout();
    print_out(&format!(
        "created {} ({}, {} {:?} {} order, {})\n",
        info.path().display(),
        info.format(),
        layout.dtype(),
        layout.shape(),
        layout.order(),
        human_bytes(layout.nbytes() as u64)
    ))
}
