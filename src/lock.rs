//! The writer claim: one handle at a time may change an array's length.
//!
//! Mappings share a file under `flock` locks (see [`mapping`](crate::mapping)):
//! every mapping holds the shared lock, and whatever would shrink, replace or
//! remove the file takes the exclusive one without waiting. Growing needs no
//! exclusive lock (other mappings of the shorter file stay valid), but two
//! handles growing one array at once would each record its own length over
//! the other's, and rows whose `publish` had returned would be lost. So
//! whatever changes a growable array's length first takes the array's
//! **writer claim**, without waiting, and holds it until the handle is
//! closed or dropped: a second appender gets [`Error::Busy`] at its first
//! call that would grow, while any number of readers go on reading.
//!
//! The claim is an open-file-description record lock (`F_OFD_SETLK`, Linux
//! 3.15 and later) on one byte of the data file far past any end a file can
//! have (byte `i64::MAX - 1`). On Linux, record locks and `flock` locks are
//! independent, so the claim never conflicts with the shared locks of
//! mappings; being tied to the open file description (not the process, as
//! classic `fcntl` locks are), it conflicts between two handles of one
//! process too, and is not dropped when the process closes some other
//! descriptor of the file. It is released when the [`WriterClaim`] is
//! dropped, and by the kernel if the process dies.
//!
//! Elsewhere there is no claim: the call succeeds and a single appender is
//! the caller's responsibility (documented in [`crate::grow`]).
//!
//! This module holds the crate's only lock syscall outside `std`, one
//! `unsafe` FFI call with its `// SAFETY:` note.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// A held writer claim on a data file (see the [module docs](self)).
/// Dropping it releases the claim.
#[derive(Debug)]
pub(crate) struct WriterClaim {
    /// A duplicate of the data file's descriptor: the same open file
    /// description, which is what owns the record lock.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    file: File,
}

/// The `Busy` action of a refused claim.
pub(crate) const GROWN: &str = "grown";

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
        match sys::set(&file, true) {
            Ok(()) => Ok(WriterClaim { file }),
            Err(e) if sys::is_contended(&e) => Err(Error::Busy {
                path: path.to_path_buf(),
                action: GROWN,
            }),
            Err(e) => Err(Error::io(path, "claiming the array for growing", e)),
        }
    }
}

impl Drop for WriterClaim {
    fn drop(&mut self) {
        // Closing the duplicate alone would not release the lock while the
        // array's own handle (the same open file description) stays open.
        let _ = sys::set(&self.file, false);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    /// The byte locked: past the end of any file (a file's length is at
    /// most `i64::MAX`, and this byte would be its last).
    const CLAIM_BYTE: libc::off_t = libc::off_t::MAX - 1;

    /// Takes (`lock`) or releases the claim byte's write lock, not waiting.
    pub(super) fn set(file: &File, lock: bool) -> io::Result<()> {
        // SAFETY: an all-zero `flock` is a valid value of this plain C struct
        // (integers only), and every field the call reads is set below.
        let mut request: libc::flock = unsafe { std::mem::zeroed() };
        request.l_type = if lock { libc::F_WRLCK } else { libc::F_UNLCK } as _;
        request.l_whence = libc::SEEK_SET as _;
        request.l_start = CLAIM_BYTE;
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

    /// No open-file-description locks here: the claim always succeeds.
    pub(super) fn set(_file: &File, _lock: bool) -> io::Result<()> {
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
