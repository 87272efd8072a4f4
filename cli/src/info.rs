//! `mmarray info PATH [--json]`: what an array is, without reading it.
//!
//! PATH may also hold several arrays: a `.npz` archive lists its members,
//! and a store (a directory made by `mmarray::Store::create`) its arrays.
//! One of those is named as `ARCHIVE.npz/NAME` or `DIR/NAME`; a member is
//! described whether stored or compressed: describing one needs no view of
//! its elements in place.

use std::path::{Path, PathBuf};

use mmarray::Store;

use crate::common::{self, CliError, human_bytes, print_out, show_path};

#[derive(clap::Args)]
pub struct Args {
    /// A .npy file, a raw data file with a sidecar, the sidecar, a .npz
    /// archive (lists its members) or a member of one (ARCHIVE.npz/NAME), a
    /// store directory (lists its arrays) or an array of one (DIR/NAME).
    path: PathBuf,
    /// Print one JSON object: path, format, dtype, shape, order, offset, nbytes,
    /// attrs (for a compressed .npz member, offset is where its elements
    /// start in the inflated member; for a .npz archive: a list of objects
    /// with name, dtype, shape, order, nbytes, compressed; for a store: store, attrs, and arrays, a
    /// list of objects with name, dtype, shape, nbytes, or name and error
    /// for an array whose sidecar or header is broken: the others are
    /// listed, and the command then exits 1).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    if Store::is_store(&args.path) {
        return list_store(&args.path, args.json);
    }
    let path = common::resolve_input(&args.path)?;
    if is_npz_archive(&path) {
        return list_members(&path, args.json);
    }
    let info = match mmarray::inspect(&path) {
        Ok(info) => info,
        // Described as `info x.npz` lists it, from the archive's directory
        // and the member's inflated header: nothing inflated beyond it.
        Err(mmarray::Error::CompressedMember {
            path: archive,
            member,
        }) => return compressed_member(&archive, &member, args.json),
        Err(e) => return Err(e.into()),
    };
    let layout = info.layout();
    if args.json {
        let value = serde_json::to_value(&info).map_err(|e| CliError::Input(Box::new(e)))?;
        return print_out(&format!("{value}\n"));
    }
    let shape = shape_text(layout.shape());
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

/// `info ARCHIVE.npz/NAME` for a member `np.savez_compressed` wrote: the
/// same lines and JSON keys as for a stored member, the format line saying
/// it is compressed, and the offset where its elements start in the
/// inflated member (a `.npy` file), since they lie nowhere in the archive
/// as they are.
fn compressed_member(archive: &Path, name: &str, json: bool) -> Result<(), CliError> {
    let npz = mmarray::Npz::open(archive)?;
    let member = npz
        .members()?
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| {
            CliError::Input(format!("{}: no member named {name:?}", archive.display()).into())
        })?;
    let layout = member.layout();
    if json {
        let value = serde_json::json!({
            "path": archive.display().to_string(),
            "format": mmarray::Format::Npz.as_str(),
            "dtype": layout.dtype().to_string(),
            "shape": layout.shape(),
            "order": layout.order().as_str(),
            "offset": layout.offset(),
            "nbytes": layout.nbytes(),
            "attrs": {},
        });
        return print_out(&format!("{value}\n"));
    }
    let text = format!(
        "{}\n  format  .npz member {:?}, compressed (read as a copy)\n  dtype   {} ({})\n  shape   {}, {} order\n  size    {} ({} elements) at byte offset {} of the inflated member\n",
        show_path(archive),
        name,
        layout.dtype(),
        layout.dtype().element_type(),
        shape_text(layout.shape()),
        layout.order(),
        human_bytes(layout.nbytes() as u64),
        layout.len(),
        layout.offset(),
    );
    print_out(&text)
}

/// A shape as `info` prints it: `3 x 4`, or `() (0-d, one element)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [] => "() (0-d, one element)".to_string(),
        dims => dims
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(" x "),
    }
}

/// Whether `path` is a `.npz` archive (by name: a file ending in `.npz`),
/// rather than one array.
fn is_npz_archive(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        && path.is_file()
}

/// `info ARCHIVE.npz`: the members, in the archive's order.
fn list_members(path: &Path, json: bool) -> Result<(), CliError> {
    let npz = mmarray::Npz::open(path)?;
    let members = npz.members()?;
    if json {
        let list = serde_json::to_value(&members).map_err(|e| CliError::Input(Box::new(e)))?;
        return print_out(&format!("{}\n", list));
    }
    let mut text = format!(
        "{}\n  format  .npz archive, {} member{} (open one as {})\n",
        show_path(npz.path()),
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        common::name_within(npz.path()),
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

/// `info DIR` for a store: its attrs and arrays, sorted by name. The JSON
/// entries have the keys and spellings of the Python package's
/// `Store.list()` (dtype as a numpy type string).
///
/// An array whose sidecar or header is broken is listed all the same, with
/// its error instead of its layout (JSON: `{"name", "error"}`; the table: a
/// row saying the error), and so are all the others. The listing is then
/// complete on stdout and the command still fails (exit 1, one line on
/// stderr counting the broken arrays), as `ls` lists what it can and exits
/// 1 when it could not access an entry: a script that checks the exit code
/// does not take a damaged store for a sound one.
fn list_store(dir: &Path, json: bool) -> Result<(), CliError> {
    let store = Store::open(dir)?;
    let entries = store.list()?;
    let broken = entries.iter().filter(|e| e.error().is_some()).count();
    if json {
        let arrays: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| match e.layout() {
                Ok(layout) => serde_json::json!({
                    "name": e.name(),
                    "dtype": layout.dtype().to_string(),
                    "shape": layout.shape(),
                    "nbytes": layout.nbytes(),
                }),
                Err(error) => serde_json::json!({
                    "name": e.name(),
                    "error": common::error_line(error),
                }),
            })
            .collect();
        let value = serde_json::json!({
            "store": dir.display().to_string(),
            "attrs": store.attrs(),
            "arrays": arrays,
        });
        print_out(&format!("{value}\n"))?;
        return broken_entries(dir, broken, entries.len());
    }
    let mut text = format!(
        "{}\n  format  mmarray store, {} array{} (open one as {})\n",
        show_path(dir),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        common::name_within(dir),
    );
    if !store.attrs().is_empty() {
        text += &format!(
            "  attrs   {}\n",
            serde_json::Value::Object(store.attrs().clone())
        );
    }
    if entries.is_empty() {
        return print_out(&text);
    }
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| {
            let name = common::escape(e.name());
            match e.layout() {
                Ok(layout) => Row::Array([
                    name,
                    layout.dtype().to_string(),
                    format!("{:?}", layout.shape()),
                    human_bytes(layout.nbytes() as u64),
                ]),
                Err(error) => Row::Broken(name, common::escape(&common::error_line(error))),
            }
        })
        .collect();
    let header = ["name", "dtype", "shape", "nbytes"].map(String::from);
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| match r {
                Row::Array(cells) => Some(&cells[i]),
                Row::Broken(name, _) => (i == 0).then_some(name),
            })
            .chain([&header[i]])
            .map(|cell| cell.chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for row in std::iter::once(&Row::Array(header.clone())).chain(&rows) {
        match row {
            Row::Array([name, dtype, shape, nbytes]) => {
                text += &format!("  {name:<w0$}  {dtype:<w1$}  {shape:<w2$}  {nbytes}\n")
            }
            Row::Broken(name, error) => text += &format!("  {name:<w0$}  error: {error}\n"),
        }
    }
    print_out(&text)?;
    broken_entries(dir, broken, entries.len())
}

/// One row of a store's table: an array's cells, or its name and error.
enum Row {
    Array([String; 4]),
    Broken(String, String),
}

/// The failure after a listing that showed `broken` of `total` arrays with
/// their errors (see [`list_store`]); `Ok` when there are none.
fn broken_entries(dir: &Path, broken: usize, total: usize) -> Result<(), CliError> {
    if broken == 0 {
        return Ok(());
    }
    Err(CliError::Input(
        format!(
            "{}: {broken} of {total} array{} could not be read (listed above with {})",
            dir.display(),
            if total == 1 { "" } else { "s" },
            if broken == 1 {
                "its error"
            } else {
                "their errors"
            },
        )
        .into(),
    ))
}
