//! Advisory locks, one type per lock held.
//!
//! Three locks keep cooperating handles (in this process or others) from
//! pulling a file from under a mapping, or from losing each other's rows:
//!
//! - [`SharedLock`]: the data file, open and held under a shared `flock`.
//!   Every mapping owns one for as long as it lives; so does the numpy
//!   helper (`python/mmarray_sidecar.py`).
//! - [`ExclusiveLock`]: the exclusive `flock`, taken without waiting by
//!   whatever would shrink, replace or remove a file (and held on a new
//!   file until it is complete). While any handle holds the shared lock it
//!   cannot be had: [`Error::Busy`]. A [`SharedLock`] converts to it and
//!   back for a shrink.
//! - [`WriterClaim`]: one handle at a time may change an array's length.
//! - [`MapLock`]: what a mapping may do to the bytes it maps. Any number of
//!   read-only, copy-on-write and shared-write mappings hold it shared; a
//!   [`ReadWrite`](crate::ReadWrite) mapping opened for writing alone holds
//!   it exclusive, so that no other mapping can see its bytes change (the
//!   contract of [Safety of mappings](crate#safety-of-mappings)). Taken
//!   without waiting: the later open gets [`Error::Busy`].
//! - [`Owner`]: the process that opened a handle. `fork` shares every lock
//!   above with the child (they belong to the open file description, which
//!   the child inherits), so a handle refuses to act on its locks (grow,
//!   shrink, rewrite a sidecar, release a claim) in any process but the one
//!   that opened it: [`Error::ForkedHandle`].
//!
//! Growing needs no exclusive lock (other mappings of the shorter file stay
//! valid), but two handles growing one array at once would each record its
//! own length over the other's, and rows whose `publish` had returned would
//! be lost. So whatever changes a growable array's length first takes the
//! array's **writer claim**, without waiting, and holds it until the handle
//! is closed or dropped: a second appender gets [`Error::Busy`] at its
//! first call that would grow, while any number of readers go on reading.
//!
//! The claim is an open-file-description record lock (`F_OFD_SETLK`, Linux
//! 3.15 and later) on one byte of the data file far past any end a file can
//! have (byte `i64::MAX - 1`). On Linux, record locks and `flock` locks are
//! independent, so the claim never conflicts with the shared locks of
//! mappings; being tied to the open file description (not the process, as
//! classic `fcntl` locks are), it conflicts between two handles of one
//! process too, and is not dropped when the process closes some other
//! descriptor of the file. It is released when the [`WriterClaim`] is
//! dropped, and by the kernel if the process dies. Elsewhere there is no
//! claim: the call succeeds and a single appender is the caller's
//! responsibility (documented in [`crate::grow`]).
//!
//! Locks are advisory: programs that take none (`truncate`, `cp`, numpy's
//! own `np.memmap`) are not held back by them. This module holds the
//! crate's only lock syscall outside `std`, one `unsafe` FFI call with its
//! `// SAFETY:` note.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, GROWN, IoContext, MAPPED, MAPPED_FOR_WRITING, Result};

/// The data file, open and held under the shared `flock` lock: the lock
/// every mapping holds. It is released when this value is dropped (the
/// file is closed), never before, so "the mapping holds the lock" is a
/// field, not a comment. [`try_exclusive`](Self::try_exclusive) converts it
/// to the exclusive lock for a shrink and [`back_to_shared`](Self::back_to_shared)
/// back.
#[derive(Debug)]
pub(crate) struct SharedLock {
    file: File,
}

impl SharedLock {
    /// Takes the shared lock on `file` (the data file at `path`), waiting
    /// while another handle holds the exclusive lock, which mmarray holds
    /// only within one call (a create, a shrink, a replacement or a
    /// removal).
    pub(crate) fn wait(file: File, path: &Path) -> Result<SharedLock> {
        file.lock_shared().at(path, "locking the data file")?;
        Ok(SharedLock { file })
    }

    /// The locked file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// A second handle holding the same lock: a duplicate descriptor
    /// shares the open file description, which is what a `flock` belongs
    /// to, so the lock lasts until both are dropped.
    pub(crate) fn duplicate(&self, path: &Path) -> Result<SharedLock> {
        let file = self
            .file
            .try_clone()
            .at(path, "duplicating the data file's handle")?;
        Ok(SharedLock { file })
    }

    /// Converts to the exclusive lock without waiting.
    ///
    /// Converting a `flock` is not atomic: the shared lock is dropped for
    /// a moment. On [`Error::Busy`] the caller takes it back with
    /// [`back_to_shared`](Self::back_to_shared) and must check that the file still
    /// backs its mapping (another handle may have shrunk it meanwhile).
    pub(crate) fn try_exclusive(&mut self, path: &Path, action: &'static str) -> Result<()> {
        try_lock_exclusive(&self.file, path, action)
    }

    /// Goes back to (or, after a refused conversion, takes again) the
    /// shared lock, waiting out another handle's brief exclusive hold.
    pub(crate) fn back_to_shared(&mut self, path: &Path) -> Result<()> {
        self.file.lock_shared().at(path, "locking the data file")
    }
}

/// A file held under the exclusive `flock` lock: nobody maps it while this
/// lives. Released when dropped, or turned into the shared lock of the
/// mapping that follows ([`into_shared`](Self::into_shared)).
#[derive(Debug)]
pub(crate) struct ExclusiveLock {
    file: File,
}

impl ExclusiveLock {
    /// Takes the exclusive lock on `file` (at `path`) without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] with `action` while any other handle, in this
    /// process or another, holds a lock on the file: someone maps it.
    pub(crate) fn try_new(file: File, path: &Path, action: &'static str) -> Result<ExclusiveLock> {
        try_lock_exclusive(&file, path, action)?;
        Ok(ExclusiveLock { file })
    }

    /// Takes the exclusive lock on the existing regular file at `path`
    /// without waiting, if there is one (`None` for nothing there, a
    /// directory, a FIFO or an unreadable file: nothing anyone maps).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] with `action` while anyone maps the file.
    pub(crate) fn try_existing(path: &Path, action: &'static str) -> Result<Option<ExclusiveLock>> {
        match crate::fsutil::open_regular(path, false, "opening the data file") {
            Ok((file, meta)) if meta.is_file() => {
                ExclusiveLock::try_new(file, path, action).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The locked file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file, now under the shared lock. Converting a `flock` is not
    /// atomic: for a moment another handle may take a lock; a shared one
    /// (an opener that waited) is what is meant to happen next, and an
    /// exclusive one (a replace or removal racing in) makes this wait until
    /// it is done.
    pub(crate) fn into_shared(self, path: &Path) -> Result<SharedLock> {
        SharedLock::wait(self.file, path)
    }
}

fn try_lock_exclusive(file: &File, path: &Path, action: &'static str) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy {
            path: path.to_path_buf(),
            action,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, "locking the data file", e)),
    }
}

/// A held writer claim on a data file (see the [module docs](self)).
/// Dropping it releases the claim.
#[derive(Debug)]
pub(crate) struct WriterClaim {
    /// A duplicate of the data file's descriptor: the same open file
    /// description, which is what owns the record lock.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    file: File,
    /// The process that took the claim: only it releases it.
    owner: Owner,
}

impl WriterClaim {
    /// Takes the writer claim on `file` (the data file at `path`, open for
    /// writing) without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] (action `"grown"`) while another handle, in this
    /// process or another, holds the claim; [`Error::Io`] if the system
    /// refuses the lock for another reason.
    pub(crate) fn try_claim(file: &File, path: &Path) -> Result<WriterClaim> {
        let file = file
            .try_clone()
            .at(path, "duplicating the data file's handle")?;
        match sys::set(&file, sys::CLAIM_BYTE, sys::Lock::Write) {
            Ok(()) => Ok(WriterClaim {
                file,
                owner: Owner::current(),
            }),
            Err(e) if sys::is_contended(&e) => Err(Error::Busy {
                path: path.to_path_buf(),
                action: GROWN,
            }),
            Err(e) => Err(Error::io(path, "claiming the array for growing", e)),
        }
    }
}

impl WriterClaim {
    /// Takes the writer claim on the existing regular file at `path`
    /// without waiting, if there is one that can be opened for writing
    /// (`None` otherwise: nothing anyone appends to).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] with `action` while another handle holds the claim.
    pub(crate) fn try_existing(path: &Path, action: &'static str) -> Result<Option<WriterClaim>> {
        match crate::fsutil::open_regular(path, true, "opening the data file") {
            Ok((file, meta)) if meta.is_file() => match WriterClaim::try_claim(&file, path) {
                Ok(claim) => Ok(Some(claim)),
                Err(Error::Busy { path, .. }) => Err(Error::Busy { path, action }),
                Err(e) => Err(e),
            },
            _ => Ok(None),
        }
    }
}

impl Drop for WriterClaim {
    fn drop(&mut self) {
        // Closing the duplicate alone would not release the lock while the
        // array's own handle (the same open file description) stays open.
        // A fork child holds the parent's claim through the same open file
        // description: it closes its descriptor and leaves the claim alone.
        if self.owner.is_current() {
            let _ = sys::set(&self.file, sys::CLAIM_BYTE, sys::Lock::Unlock);
        }
    }
}

/// What a mapping may do to the bytes it maps, for the [`MapLock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapKind {
    /// Reads them (read-only and copy-on-write mappings), or writes some of
    /// them under the caller's promise that other handles may see the
    /// writes at any moment (the shared-write open): any number coexist.
    Shared,
    /// Writes them, and hands out `&mut` views: no other mapping of the
    /// file may exist.
    Exclusive,
}

/// A held map lock (see the [module docs](self)): an open-file-description
/// record lock on one byte past any end a file can have, next to the
/// writer claim's, read-locked by [`MapKind::Shared`] mappings and
/// write-locked by a [`MapKind::Exclusive`] one.
///
/// The lock belongs to the open file description of the data file handle
/// it was taken on, which the holder keeps (a [`Source`](crate::Source)
/// holds both), so this value owns no descriptor of its own (no `dup` per
/// open). The kernel releases the lock when that description is released:
/// every descriptor of it closed and every mapping made through it
/// unmapped, so the lock lives exactly as long as the mappings. A fork
/// child's copies close only the child's references, and the parent's
/// lock stays.
#[derive(Debug)]
pub(crate) struct MapLock {
    _taken: (),
}

impl MapLock {
    /// Takes the map lock of `kind` on `file` (the data file at `path`)
    /// without waiting; the caller keeps `file` open as long as the
    /// mapping (see the type's docs).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] while a conflicting mapping exists, in this process
    /// or another: an exclusive writer when `kind` is shared (action
    /// [`MAPPED`]), any mapping when it is exclusive (action
    /// [`MAPPED_FOR_WRITING`]); [`Error::Io`] if the system refuses the
    /// lock for another reason.
    pub(crate) fn try_new(file: &File, path: &Path, kind: MapKind) -> Result<MapLock> {
        let (lock, action) = match kind {
            MapKind::Shared => (sys::Lock::Read, MAPPED),
            MapKind::Exclusive => (sys::Lock::Write, MAPPED_FOR_WRITING),
        };
        match sys::set(file, sys::MAP_BYTE, lock) {
            Ok(()) => Ok(MapLock { _taken: () }),
            Err(e) if sys::is_contended(&e) => Err(Error::Busy {
                path: path.to_path_buf(),
                action,
            }),
            Err(e) => Err(Error::io(path, "locking the data file for mapping", e)),
        }
    }
}

/// The process that opened a handle: `fork` copies a handle into the
/// child with every lock of its open file description, so a handle acts
/// on its locks only in the process that opened it (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pid: u32,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        Owner {
            pid: std::process::id(),
        }
    }

    /// Whether this process is the one that opened the handle.
    pub(crate) fn is_current(self) -> bool {
        self.pid == std::process::id()
    }

    /// `Ok` in the process that opened the handle for `path`,
    /// [`Error::ForkedHandle`] in any other (a fork child).
    pub(crate) fn check(self, path: &Path) -> Result<()> {
        if self.is_current() {
            return Ok(());
        }
        Err(Error::ForkedHandle {
            path: path.to_path_buf(),
            opened_by: self.pid,
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    /// The writer claim's byte: past the end of any file (a file's length
    /// is at most `i64::MAX`, and this byte would be its last).
    pub(super) const CLAIM_BYTE: libc::off_t = libc::off_t::MAX - 1;

    /// The map lock's byte, next to the claim's: the two never conflict.
    pub(super) const MAP_BYTE: libc::off_t = libc::off_t::MAX - 2;

    /// A record lock's type.
    #[derive(Clone, Copy)]
    pub(super) enum Lock {
        Read,
        Write,
        Unlock,
    }

    /// Takes (or releases) a record lock on the one byte `byte` of `file`'s
    /// open file description, not waiting.
    pub(super) fn set(file: &File, byte: libc::off_t, lock: Lock) -> io::Result<()> {
        // SAFETY: an all-zero `flock` is a valid value of this plain C struct
        // (integers only), and every field the call reads is set below.
        let mut request: libc::flock = unsafe { std::mem::zeroed() };
        request.l_type = match lock {
            Lock::Read => libc::F_RDLCK,
            Lock::Write => libc::F_WRLCK,
            Lock::Unlock => libc::F_UNLCK,
        } as _;
        request.l_whence = libc::SEEK_SET as _;
        request.l_start = byte;
        request.l_len = 1;
        request.l_pid = 0; // required by F_OFD_SETLK
        loop {
            // SAFETY: `fcntl(F_OFD_SETLK)` reads the `flock` through the
            // pointer, which is valid and aligned for the whole call, and
            // touches no other memory; the descriptor is borrowed from
            // `file`, open for the duration of the call.
            let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &request) };
            if rc == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Whether the lock failed because another handle holds it.
    pub(super) fn is_contended(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod sys {
    use std::fs::File;
    use std::io;

    pub(super) const CLAIM_BYTE: i64 = 0;
    pub(super) const MAP_BYTE: i64 = 0;

    #[derive(Clone, Copy)]
    pub(super) enum Lock {
        Read,
        Write,
        Unlock,
    }

    /// No open-file-description locks here: every lock succeeds (the
    /// exclusions are the caller's, as documented on the crate).
    pub(super) fn set(_file: &File, _byte: i64, _lock: Lock) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn is_contended(_e: &io::Error) -> bool {
        false
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    #[test]
    fn a_second_claim_is_busy_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"x").unwrap();
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap()
        };
        let (a, b) = (open(), open());
        let first = WriterClaim::try_claim(&a, &path).unwrap();
        let err = WriterClaim::try_claim(&b, &path).unwrap_err();
        assert!(matches!(err, Error::Busy { action: GROWN, .. }), "{err:?}");
        // Another descriptor of the file closing does not release it.
        drop(open());
        assert!(WriterClaim::try_claim(&b, &path).is_err());
        // Nor does the shared flock of a mapping conflict with it.
        a.lock_shared().unwrap();
        b.lock_shared().unwrap();
        drop(first);
        let _second = WriterClaim::try_claim(&b, &path).unwrap();
    }
}
