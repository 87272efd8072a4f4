//! Small file-system helpers: atomic replacement and directory sync.
//!
//! Everything that rewrites metadata (sidecars, `.npy` headers) goes through
//! [`write_atomic`], so a crash leaves either the old file or the new one,
//! never a half-written one, and a file that another process has mapped is
//! never truncated under it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{IoContext, Result};

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A fresh name for a temporary file next to `path`: hidden, and unique
/// within this process and across processes.
pub(crate) fn temp_path_for(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Only a prefix of the name: the suffix below makes the name unique,
    // and the whole must stay under the 255-byte file-name limit.
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(64).collect())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    parent_dir(path).join(format!(".{name}.tmp-{}-{n}-{nanos}", std::process::id()))
}

/// Makes the directory entry changes in `dir` (creations, renames) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .at(dir, "syncing the directory")
}

/// Replaces `path` with `contents` atomically: write a temporary file in the
/// same directory, fsync it, rename it over `path`, fsync the directory.
/// Survives a machine crash: afterwards `path` holds the old or the new
/// contents.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    replace(path, contents, true)
}

/// [`write_atomic`] without the fsyncs: every process (and this one, after a
/// restart) sees the old or the new contents, never a mix, but after a
/// machine crash the rename may be lost or reach the disk before other
/// writes did.
pub(crate) fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> Result<()> {
    replace(path, contents, false)
}

fn replace(path: &Path, contents: &[u8], durable: bool) -> Result<()> {
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .at(&tmp, "creating a temporary file")?;
        file.write_all(contents)
            .at(&tmp, "writing a temporary file")?;
        if durable {
            file.sync_all().at(&tmp, "syncing a temporary file")?;
        }
        fs::rename(&tmp, path).at(path, "renaming a temporary file into place")
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    if durable {
        sync_dir(parent_dir(path))?;
    }
    Ok(())
}

/// Removes `path`, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path, "removing a file"),
        _ => Ok(()),
    }
}
