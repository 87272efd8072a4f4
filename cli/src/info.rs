//! `mmarray info PATH [--json]`: what an array is, without reading it.

use std::path::PathBuf;

use crate::common::{CliError, human_bytes, print_out, show_path};

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a .npz
    /// archive (lists its members) or a member of one (ARCHIVE.npz/NAME).
    path: PathBuf,
    /// Print one JSON object: path, format, dtype, shape, order, offset, nbytes,
    /// attrs (for a .npz archive: a list of objects with name, dtype, shape,
    /// order, nbytes, compressed).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    if is_npz_archive(&args.path) {
        return list_members(args);
    }
    let info = mmarray::inspect(&args.path)?;
    let layout = info.layout();
    if args.json {
        let value = serde_json::to_value(&info).map_err(|e| CliError::Input(Box::new(e)))?;
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
    match (info.sidecar_path(), info.member()) {
        (Some(sidecar), _) => {
            text += &format!("  format  raw, described by {}\n", show_path(sidecar))
        }
        (None, Some(member)) => {
            text += &format!(
                "  format  .npz member {:?}, stored (mapped in place)\n",
                member
            )
        }
        (None, None) => text += "  format  .npy\n",
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

/// Whether `path` is a `.npz` archive (by name: a file ending in `.npz`),
/// rather than one array.
fn is_npz_archive(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        && path.is_file()
}

/// `info ARCHIVE.npz`: the members, in the archive's order.
fn list_members(args: &Args) -> Result<(), CliError> {
    let npz = mmarray::Npz::open(&args.path)?;
    let members = npz.members()?;
    if args.json {
        let list = serde_json::to_value(&members).map_err(|e| CliError::Input(Box::new(e)))?;
        return print_out(&format!("{}\n", list));
    }
    let mut text = format!(
        "{}\n  format  .npz archive, {} member{} (open one as {}/NAME)\n",
        show_path(npz.path()),
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        show_path(npz.path()),
    );
    for m in &members {
        let layout = m.layout();
        text += &format!(
            "  {:<16} {:<6} {:?} {} order, {}, {}\n",
            crate::common::escape(m.name()),
            layout.dtype().to_string(),
            layout.shape(),
            layout.order(),
            human_bytes(layout.nbytes() as u64),
            if m.is_compressed() {
                "compressed (read as a copy)"
            } else {
                "stored (mapped in place)"
            },
        );
    }
    print_out(&text)
}
