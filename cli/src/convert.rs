//! `mmarray convert SRC DST [--dtype DT] [--order C|F] [--byte-order little|big|native] [--force]`.

use std::path::PathBuf;

use mmarray::{ByteOrder, ConvertOptions, Order};

use crate::common::{self, CliError, DTypeArg, print_out, progress_bar};

#[derive(clap::Args)]
pub struct Args {
    /// The array to read: .npy, raw data file or sidecar, .npz member
    /// (x.npz/NAME), or a store's array (DIR/NAME).
    src: PathBuf,
    /// The file to write: .npy if it ends in .npy, otherwise raw + DST.json.
    dst: PathBuf,
    /// Cast to this element type (numpy astype rules). A type string's byte
    /// order (>f4) is used unless --byte-order is given.
    #[arg(long, value_parser = common::parse_dtype_arg)]
    dtype: Option<DTypeArg>,
    /// Memory order of the output (default: the source's).
    #[arg(long, value_parser = common::parse_order)]
    order: Option<Order>,
    /// Byte order of the output (default: the source's).
    #[arg(long, value_parser = common::parse_byte_order)]
    byte_order: Option<ByteOrder>,
    /// Replace an existing DST.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let mut options = ConvertOptions::new();
    options.overwrite(args.force);
    if let Some(arg) = args.dtype {
        options.element_type(arg.dtype.element_type());
        // Only an explicit byte-order character in --dtype asks for a byte
        // order; a bare name (float32) keeps the source's.
        if arg.explicit_byte_order {
            options.byte_order(arg.dtype.byte_order());
        }
    }
    if let Some(order) = args.order {
        options.order(order);
    }
    if let Some(byte_order) = args.byte_order {
        options.byte_order(byte_order);
    }
    let src = mmarray::Scan::open(common::resolve_input(&args.src)?)?;
    let layout = src.info().layout();
    let bar = progress_bar(layout.len() as u64, layout.dtype().itemsize(), "convert");
    let info = mmarray::convert_scan(&src, &args.dst, &options, |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    print_out(&common::summary("wrote", &info))
}
