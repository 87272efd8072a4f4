//! `mmarray info PATH [--json]`: what an array is, without reading it.

use std::path::PathBuf;

use crate::common::{CliError, human_bytes, print_out, show_path};

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, or the sidecar.
    path: PathBuf,
    /// Print one JSON object: path, format, dtype, shape, order, offset, nbytes, attrs.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let info = mmarray::inspect(&args.path)?;
    let layout = info.layout();
    if args.json {
        let value = serde_json::json!({
            "path": info.path().display().to_string(),
            "format": info.format().as_str(),
            "dtype": layout.dtype().to_string(),
            "shape": layout.shape(),
            "order": layout.order().as_str(),
            "offset": layout.offset(),
            "nbytes": layout.nbytes(),
            "attrs": info.attrs(),
        });
        return print_out(&format!("{value}\n"));
    }
    let shape = match layout.shape() {
        [] => "() (0-d, one element)".to_string(),
        dims => dims
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(" x "),
    };
    // Paths escaped: a newline or ESC in a file name stays on its line and
    // does not reach the terminal raw.
    let mut text = format!("{}\n", show_path(info.path()));
    match info.sidecar_path() {
        Some(sidecar) => text += &format!("  format  raw, described by {}\n", show_path(sidecar)),
        None => text += "  format  .npy\n",
    }
    text += &format!(
        "  dtype   {} ({})\n",
        layout.dtype(),
        layout.dtype().element_type()
    );
    text += &format!("  shape   {shape}, {} order\n", layout.order());
    text += &format!(
        "  size    {} ({} elements) at byte offset {}\n",
        human_bytes(layout.nbytes() as u64),
        layout.len(),
        layout.offset()
    );
    if !info.attrs().is_empty() {
        text += &format!(
            "  attrs   {}\n",
            serde_json::Value::Object(info.attrs().clone())
        );
    }
    print_out(&text)
}
