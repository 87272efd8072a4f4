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

use crate::error::{Error, IoContext, Result};

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
    // Errors name `path`, the file the caller asked for: the temporary file
    // is an implementation detail, and is gone after a failure.
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .at(path, "creating a temporary file beside")?;
        file.write_all(contents)
            .at(path, "writing (under a temporary name)")?;
        if durable {
            file.sync_all()
                .at(path, "syncing (under a temporary name)")?;
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

/// Moves the new file `tmp` to `path`, failing with
/// `io::ErrorKind::AlreadyExists` (and leaving `tmp` where it is) if
/// anything is at `path` already: a rename that never replaces.
///
/// `renameat2(RENAME_NOREPLACE)` on Linux; where the file system does not
/// support it, and elsewhere, a hard link (which refuses an existing name
/// too) and the removal of `tmp`.
pub(crate) fn rename_new(tmp: &Path, path: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags};
        use rustix::io::Errno;
        match rustix::fs::renameat_with(CWD, tmp, CWD, path, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    fs::hard_link(tmp, path)?;
    let _ = fs::remove_file(tmp);
    Ok(())
}

/// Moves the finished temporary `tmp` to `path`: replacing whatever is
/// there when `overwrite`, otherwise never (see [`rename_new`]), failing
/// with [`Error::AlreadyExists`] if `path` exists. Other failures are
/// [`Error::Io`] naming `path` and `action`.
pub(crate) fn move_into_place(
    tmp: &Path,
    path: &Path,
    overwrite: bool,
    action: &'static str,
) -> Result<()> {
    if overwrite {
        return fs::rename(tmp, path).at(path, action);
    }
    rename_new(tmp, path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => Error::AlreadyExists {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, action, e),
    })
}

/// Swaps the directory entries `a` and `b` (both must exist) in one step:
/// `renameat2(RENAME_EXCHANGE)` on Linux. Where that is not available, `b`
/// is moved aside to a temporary name and `a` renamed to `b`, and the old
/// `b` ends up at `a`, as after an exchange; a crash between the two steps
/// leaves `b` missing and its old contents at the hidden name.
pub(crate) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags};
        use rustix::io::Errno;
        match rustix::fs::renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let aside = temp_path_for(b);
    fs::rename(b, &aside)?;
    if let Err(e) = fs::rename(a, b) {
        let _ = fs::rename(&aside, b);
        return Err(e);
    }
    fs::rename(&aside, a)
}

/// Whether `a` and `b` name the same existing file (device and inode,
/// after following symlinks): two names, a symlink or a hard link to one
/// file. `false` when either does not exist.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// Opens the existing file at `path` for reading (and writing if `write`),
/// refusing anything that is not a regular file, without ever blocking;
/// returns the handle and its metadata.
///
/// Opening a FIFO for reading waits for a writer, forever if none comes,
/// and opening a device can have effects of its own (a tape rewinds). So
/// the path is looked at first (following symlinks) and a FIFO, socket or
/// device is refused before it is opened; the open itself is non-blocking
/// (`O_NONBLOCK`, which changes nothing for a regular file) and the handle
/// is checked again, so a path swapped for a FIFO in between cannot hang
/// the call either. Directories are left to the caller: opening one for
/// writing fails with `EISDIR`, and so does reading it.
///
/// # Errors
///
/// [`Error::InvalidArgument`] naming `path` for a FIFO, socket or device; [`Error::Io`] with `action` when the operating system refuses
/// (`NotFound` included: callers that expect it match on it).
pub(crate) fn open_regular(
    path: &Path,
    write: bool,
    action: &'static str,
) -> Result<(File, fs::Metadata)> {
    if let Ok(meta) = fs::metadata(path)
        && let Some(kind) = special_kind(&meta.file_type())
    {
        return Err(not_regular(path, kind));
    }
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc_nonblock());
    }
    let file = open_waiting_out_leases(&options, path).at(path, action)?;
    let meta = file.metadata().at(path, "reading the file's metadata")?;
    if let Some(kind) = special_kind(&meta.file_type()) {
        return Err(not_regular(path, kind));
    }
    Ok((file, meta))
}

/// How long an open for writing waits for a whole-file scan's read lease
/// to be let go (see [`open_waiting_out_leases`]): the kernel's own
/// default lease-break time, after which it breaks the lease itself.
const LEASE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(45);

/// `options.open(path)`, where `options` has `O_NONBLOCK`: a regular file
/// under another process's read lease (a leased whole-file scan, see
/// [`Stats::of_path`](crate::Stats::of_path)) makes an open for writing or
/// truncation fail with `EWOULDBLOCK` while the kernel tells the holder to
/// let go, which a scan does at once; the open is retried (with growing
/// pauses, from 100 us to 10 ms) until it succeeds, for at most
/// [`LEASE_PATIENCE`]. Other errors are returned as they are.
fn open_waiting_out_leases(options: &OpenOptions, path: &Path) -> io::Result<File> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_micros(100);
    loop {
        match options.open(path) {
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < LEASE_PATIENCE =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Opens a data file, refusing anything but a regular file (without
/// blocking on a FIFO: see [`open_regular`]).
pub(crate) fn open_data_file(path: &Path, write: bool) -> Result<File> {
    let (file, meta) = open_regular(path, write, "opening the data file")?;
    if !meta.is_file() {
        return Err(Error::InvalidArgument {
            path: path.to_path_buf(),
            message: "is a directory, not a regular file".into(),
        });
    }
    Ok(file)
}

/// `O_NONBLOCK`: opening a FIFO returns at once instead of waiting for a
/// writer.
#[cfg(unix)]
fn libc_nonblock() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::O_NONBLOCK
    }
    // The value on the BSDs and macOS.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        0x0004
    }
}

/// What a FIFO, socket or device is called in messages; `None` for regular
/// files, directories and symlinks.
fn special_kind(file_type: &fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
    }
    let _ = file_type;
    None
}

fn not_regular(path: &Path, kind: &str) -> Error {
    Error::InvalidArgument {
        path: path.to_path_buf(),
        message: format!("is {kind}, not a regular file"),
    }
}

/// What [`read_bounded`] reads: its name in messages, and the actions of
/// its I/O errors.
pub(crate) struct Metadata {
    pub(crate) what: &'static str,
    pub(crate) opening: &'static str,
    pub(crate) reading: &'static str,
}

/// A sidecar, for [`read_bounded`].
pub(crate) const SIDECAR: Metadata = Metadata {
    what: "the sidecar",
    opening: "opening the sidecar",
    reading: "reading the sidecar",
};

/// Reads the whole small file at `path` (a sidecar, a store's marker),
/// refusing one over `limit` bytes before allocating for it.
pub(crate) fn read_bounded(path: &Path, limit: u64, kind: &Metadata) -> Result<Vec<u8>> {
    use std::io::Read;
    let what = kind.what;
    let (file, meta) = open_regular(path, false, kind.opening)?;
    let too_large = |len: u64| Error::MalformedSidecar {
        path: path.to_path_buf(),
        message: format!("{what} is {len} bytes, more than the {limit}-byte limit"),
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .at(path, kind.reading)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Whether `path` names something other than a regular file, a directory
/// or a symlink (a FIFO, socket or device): such an entry is never read,
/// replaced or removed as if it were an array.
pub(crate) fn refuse_special(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) => match special_kind(&meta.file_type()) {
            Some(kind) => Err(not_regular(path, kind)),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
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
    match fallocate(file, offset, len, false) {
        Some(result) => result,
        None => write_zeros(file, offset, len),
    }
    .at(path, action)
}

/// `fallocate(2)`, retried on `EINTR`, keeping the file's length when
/// `keep_size` (`FALLOC_FL_KEEP_SIZE`); `None` where the file system (or
/// kernel) does not support it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fallocate(file: &File, offset: u64, len: u64, keep_size: bool) -> Option<io::Result<()>> {
    use rustix::fs::FallocateFlags;
    use rustix::io::Errno;
    let flags = match keep_size {
        true => FallocateFlags::KEEP_SIZE,
        false => FallocateFlags::empty(),
    };
    loop {
        match rustix::fs::fallocate(file, flags, offset, len) {
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
fn fallocate(_file: &File, _offset: u64, _len: u64, _keep_size: bool) -> Option<io::Result<()>> {
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

/// Writes all of `bytes` at `offset` of `file` (`pwrite`, continued after
/// a short write).
#[cfg(unix)]
pub(crate) fn write_all_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(windows)]
pub(crate) fn write_all_at(
    file: &std::fs::File,
    mut bytes: &[u8],
    mut offset: u64,
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

/// Reserves disk blocks for `len` bytes of `file` from `offset` without
/// changing its length (`fallocate(2)` with `FALLOC_FL_KEEP_SIZE`), so
/// that writes there later find the space. Best effort: where the file
/// system cannot (or the call does not exist) nothing is reserved, and a
/// full disk is the write's own error (a `pwrite` fails; only stores
/// into a mapping would fault).
///
/// # Errors
///
/// `Error::Io` naming `path` and `action` when the space cannot be had
/// (`ENOSPC`, `EDQUOT`, `EFBIG`).
pub(crate) fn reserve_keep_size(
    file: &File,
    path: &Path,
    offset: u64,
    len: u64,
    action: &'static str,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    match fallocate(file, offset, len, true) {
        Some(result) => result.at(path, action),
        None => Ok(()),
    }
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
