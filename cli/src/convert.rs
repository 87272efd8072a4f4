//! `mmarray convert SRC DST [--dtype DT] [--order C|F] [--byte-order little|big|native] [--force]`.

use std::path::{Path, PathBuf};

use mmarray::{ByteOrder, ConvertOptions, CreateOptions, Order};

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
    let src_path = common::resolve_input(&args.src)?;
    let (src, _inflated) = match mmarray::Scan::open(&src_path) {
        Ok(scan) => (scan, None),
        Err(mmarray::Error::CompressedMember { path, member }) => {
            let (scan, dir) = inflated(&src_path, &path, &member, &args.dst)?;
            (scan, Some(dir))
        }
        Err(e) => return Err(e.into()),
    };
    let layout = src.info().layout();
    let bar = progress_bar(layout.len() as u64, layout.dtype().itemsize(), "convert");
    let info = mmarray::convert_scan(&src, &args.dst, &options, |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    print_out(&common::summary("wrote", &info))
}

/// A member `np.savez_compressed` wrote (`member` of `archive`, named as
/// `path`), read as a copy (inflated in memory, as `show` and `stats` read
/// it) into a `.npy` file of the member's own dtype and order in a new
/// hidden directory beside `dst`, and opened for the conversion, which then
/// goes as for any other source. The directory is removed when dropped.
/// `dst` must not be the archive (nor its sidecar, for a raw `dst`).
fn inflated(
    path: &Path,
    archive: &Path,
    member: &str,
    dst: &Path,
) -> Result<(mmarray::Scan, tempfile::TempDir), CliError> {
    let mut outputs = vec![dst.to_path_buf()];
    outputs.push(mmarray::sidecar_path(dst));
    for output in &outputs {
        common::refuse_same_file(output, &[archive], "the converted array")?;
    }
    let layout = mmarray::Npz::open(archive)?
        .members()?
        .into_iter()
        .find(|m| m.name() == member)
        .map(|m| m.layout().clone())
        .ok_or_else(|| {
            CliError::Input(format!("{}: no member named {member:?}", archive.display()).into())
        })?;
    let dtype = layout.dtype();
    let parent = match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = tempfile::Builder::new()
        .prefix(".mmarray-inflated-")
        .tempdir_in(parent)
        .map_err(|e| {
            CliError::Input(
                format!(
                    "{}: making a temporary directory beside it failed: {e}",
                    dst.display()
                )
                .into(),
            )
        })?;
    let copy = dir.path().join("member.npy");
    let mut options = CreateOptions::new();
    options.order(layout.order()).byte_order(dtype.byte_order());
    mmarray::dispatch_type!(dtype.element_type(), |T| {
        let array = mmarray::read_array::<T>(path)?;
        options.write(&copy, &array)?;
    });
    Ok((mmarray::Scan::open(&copy)?, dir))
}
