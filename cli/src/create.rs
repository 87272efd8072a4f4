//! `mmarray create PATH --dtype DT --shape D0,D1,... [--order C|F] [--fill VALUE] [--npy] [--force] [--preallocate]`.

use std::path::PathBuf;

use mmarray::{CreateOptions, Format, Scalar};

use crate::common::{self, CliError, print_out, usage};

#[derive(clap::Args)]
pub struct Args {
    /// The new file: a raw data file (its sidecar is PATH.json) or, with --npy or a .npy name, a .npy file.
    path: PathBuf,
    #[command(flatten)]
    layout: common::LayoutArgs,
    /// Value of every element (default 0: the file is created sparse). It
    /// must fit the dtype as given: no wrapping (int8 300), no fraction for
    /// integers (1.5), bool only true/false/0/1, floats within the type's
    /// largest finite value (inf and nan spelled so).
    #[arg(long, value_parser = common::parse_value, allow_hyphen_values = true)]
    fill: Option<Scalar>,
    /// Write a .npy file whatever the name.
    #[arg(long)]
    npy: bool,
    /// Replace an existing array at PATH.
    #[arg(long)]
    force: bool,
    /// Reserve the disk space for every element now, so that a full disk is an error here rather than a crash (SIGBUS) in whatever later writes the array.
    #[arg(long)]
    preallocate: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let mut options = CreateOptions::new();
    options
        .order(args.layout.order)
        .overwrite(args.force)
        .preallocate(args.preallocate);
    if args.npy {
        options.format(Format::Npy);
    }
    let fill = args.fill.unwrap_or(Scalar::Int(0));
    let element = args.layout.dtype.element_type();
    element
        .check_scalar(fill)
        .map_err(|e| usage(format!("--fill: {e}")))?;
    let info = options.create_filled(&args.path, args.layout.dtype, &args.layout.shape, fill)?;
    print_out(&common::summary("created", &info))
}
