//! Small file-system helpers: atomic replacement, directory sync,
//! reserving disk space and starting writeback early.
//!
//! Everything that rewrites metadata (sidecars, `.npy` headers) goes through
//! [`write_atomic`], so a crash leaves either the old file or the new one,
//! never a half-written one, and a file that another process has mapped is
//! never truncated under it.
//!
//! [`allocate`] makes the file system commit disk blocks to a range of a
//! file before anything is written there through a mapping: a write into a
//! sparse page on a full disk cannot return an error, so the kernel kills
//! the process with `SIGBUS`; `fallocate` (or writing zeros) can.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
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
///
/// A process killed between creating the temporary file and renaming it
/// leaves the temporary file behind. Such strays are harmless and left
/// alone: hidden (`.name.tmp-<pid>-<n>-<nanos>`), never read by `open`,
/// skipped by `Store::list`, and unique, so never reused; deleting one is
/// safe once its writer is gone. Removing them automatically would need to
/// tell a dead writer's file from a live one's (another process may be
/// between the same two steps), which nothing in the name can.
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

/// Has the file system allocate disk blocks for `len` bytes of `file` from
/// `offset`, extending the file if they lie past its end, so that writing
/// them later (through a mapping) cannot fail for lack of space.
///
/// On Linux this is `fallocate(2)` (mode 0: the file's contents and, inside
/// it, its length are unchanged). Where the file system cannot preallocate
/// (`EOPNOTSUPP`: NFS before 4.2, some FUSE file systems, ramfs) and on
/// other systems, zeros are written over the range instead, which reserves
/// the same space in O(`len`) time. Callers pass only ranges that hold no
/// data: a new file, or a growable array's space past its end.
///
/// # Errors
///
/// `Error::Io` naming `path` and `action`, with the operating system's
/// error as its source when the space cannot be had:
/// `ErrorKind::StorageFull` (`ENOSPC`), `ErrorKind::QuotaExceeded`
/// (`EDQUOT`) or `ErrorKind::FileTooLarge` (`EFBIG`: the file system's or
/// the process's file-size limit).
pub(crate) fn allocate(
    file: &File,
    path: &Path,
    offset: u64,
    len: u64,
    action: &'static str,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    match fallocate(file, offset, len) {
        Some(result) => result,
        None => write_zeros(file, offset, len),
    }
    .at(path, action)
}

/// `fallocate(2)`, retried on `EINTR`; `None` where the file system (or
/// kernel) does not support it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fallocate(file: &File, offset: u64, len: u64) -> Option<io::Result<()>> {
    use rustix::fs::FallocateFlags;
    use rustix::io::Errno;
    loop {
        match rustix::fs::fallocate(file, FallocateFlags::empty(), offset, len) {
            Ok(()) => return Some(Ok(())),
            Err(Errno::INTR) => {}
            Err(Errno::OPNOTSUPP | Errno::NOSYS) => return None,
            Err(e) => return Some(Err(e.into())),
        }
    }
}

/// No `fallocate` here: always fall back to writing zeros. (macOS's
/// `F_PREALLOCATE` as wrapped by rustix also truncates, which is unsafe
/// for a range inside a mapped file.)
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn fallocate(_file: &File, _offset: u64, _len: u64) -> Option<io::Result<()>> {
    None
}

/// Starts writing `len` bytes of `file` from `offset` back to disk, without
/// waiting for the writes (`sync_file_range(2)` with
/// `SYNC_FILE_RANGE_WRITE`), so that a later `fsync` finds them written or
/// on their way.
///
/// A head start, not durability: only the `fsync` makes the bytes durable,
/// and it reports any error of these writes, so this call's own result is
/// not needed. A no-op where the call does not exist.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: `sync_file_range` takes integers only and touches no memory
    // of this process; the descriptor is valid, borrowed from `file` for
    // the duration of the call.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

/// No `sync_file_range` here: writeback starts when the system decides.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Writes `len` zero bytes at `offset` in chunks of at most 1 MiB: what
/// `posix_fallocate` itself falls back to. Moves the file position, which
/// no caller relies on.
pub(crate) fn write_zeros(file: &File, offset: u64, len: u64) -> io::Result<()> {
    const CHUNK: u64 = 1 << 20;
    let mut out = file;
    out.seek(SeekFrom::Start(offset))?;
    let zeros = vec![0u8; len.min(CHUNK) as usize];
    let mut remaining = len;
    while remaining > 0 {
        let n = remaining.min(CHUNK) as usize;
        out.write_all(&zeros[..n])?;
        remaining -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback used where `fallocate` is unsupported: zeros exactly over
    /// the range, the file extended to its end, bytes before it untouched.
    #[test]
    fn write_zeros_fills_the_range_and_extends_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z");
        fs::write(&path, [7u8; 10]).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        write_zeros(&file, 4, (3 << 20) + 5).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4 + (3 << 20) + 5);
        assert_eq!(bytes[..4], [7u8; 4]);
        assert!(bytes[4..].iter().all(|&b| b == 0));
    }

    #[test]
    fn allocate_extends_a_file_and_keeps_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, [9u8; 100]).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        allocate(&file, &path, 100, 8192, "reserving").unwrap();
        allocate(&file, &path, 0, 0, "reserving").unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 8292);
        assert_eq!(bytes[..100], [9u8; 100]);
        assert!(bytes[100..].iter().all(|&b| b == 0));
    }
}
