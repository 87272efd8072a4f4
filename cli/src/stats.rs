//! `mmarray stats PATH [--json]`: one parallel pass over the whole array,
//! read with `pread` ([`mmarray::Scan`]): bounded memory, and an error, not
//! a signal, if the file is truncated meanwhile.

use std::path::PathBuf;

use mmarray::{Scalar, Stats};

use crate::common::{self, CliError, print_out, progress_bar};

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a member
    /// of a .npz archive (ARCHIVE.npz/NAME) or an array of a store (DIR/NAME).
    path: PathBuf,
    /// Print one JSON object: count, nan_count, min, max, sum, mean, std.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let path = common::resolve_input(&args.path)?;
    let stats = match mmarray::Scan::open(&path) {
        Ok(scan) => {
            let layout = scan.info().layout();
            let bar = progress_bar(layout.len() as u64, layout.dtype().itemsize(), "stats");
            let stats = Stats::of_scan(&scan, |n| bar.inc(n as u64))?;
            bar.finish_and_clear();
            stats
        }
        // A compressed .npz member: the library inflates it.
        Err(mmarray::Error::CompressedMember { .. }) => Stats::of_path(&path, |_| {})?,
        Err(e) => return Err(e.into()),
    };
    if args.json {
        let json = serde_json::to_string(&stats).map_err(|e| CliError::Input(Box::new(e)))?;
        return print_out(&format!("{json}\n"));
    }
    let show = |v: Option<Scalar>| v.map_or_else(|| "-".to_string(), format_scalar);
    let text = format!(
        "count      {}\nnan_count  {}\nmin        {}\nmax        {}\nsum        {}\nmean       {}\nstd        {}\n",
        stats.count,
        stats.nan_count,
        show(stats.min),
        show(stats.max),
        format_scalar(stats.sum),
        show(stats.mean),
        stats
            .std
            .map_or_else(|| "-".to_string(), |s| format!("{s}")),
    );
    print_out(&text)
}

fn format_scalar(v: Scalar) -> String {
    match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f}"),
        Scalar::Complex(re, im) => format!("{re}{im:+}j"),
    }
}
