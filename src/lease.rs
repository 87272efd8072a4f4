//! Read leases: mapping a file for a whole-file scan with no risk of
//! `SIGBUS` (Linux).
//!
//! A mapping faults with `SIGBUS` when another program shrinks the file
//! under it, so whole-file scans used to copy every byte with `pread`
//! instead ([`crate::scan`]). Linux offers a way to map safely for the
//! length of a scan: a *read lease* (`fcntl(fd, F_SETLEASE, F_RDLCK)` on a
//! descriptor opened read-only). While it is held, the kernel holds back
//! any other process (or thread) that opens the file for writing or
//! truncates it, until the holder releases the lease or
//! `/proc/sys/fs/lease-break-time` seconds (45 by default) pass. The holder
//! sees such a *break* coming: `fcntl(fd, F_GETLEASE)` answers `F_UNLCK`
//! instead of `F_RDLCK` as soon as one is pending. A scan therefore checks
//! [`Lease::is_breaking`] before each block it reads through the mapping;
//! once a break is pending it stops using the mapping, releases the lease
//! (the writer goes on at once) and reads the rest with `pread`, which
//! reports a file that then shrinks as [`Error::Truncated`](crate::Error).
//! No byte is read through the mapping after the release, so the mapping
//! never faults, and no writer can change the bytes while they are read.
//!
//! Where no lease can be had the scan streams with `pread` from the start
//! ([`NoLease`] says why): the file is open for writing somewhere
//! (`EAGAIN`), this process neither owns the file nor has `CAP_LEASE`
//! (`EACCES`), the file system has no leases (NFS, FUSE: `EINVAL`), or the
//! system is not Linux.
//!
//! # Signals
//!
//! The kernel announces a break with a signal too, `SIGIO` by default,
//! whose default action ends the process. A lease taken here first sets
//! that signal to `SIGURG` (`F_SETSIG`), whose default action is to ignore
//! it, and once the lease is held clears the descriptor's owner
//! (`F_SETOWN` 0), so that a break signals no process at all. Only a break
//! that arrives in the few microseconds between taking the lease and
//! clearing the owner sends `SIGURG` to this process: a program that left
//! `SIGURG` at its default (the Python interpreter does) never notices; a
//! program with its own `SIGURG` handler (socket out-of-band data; Go's
//! runtime, which tolerates spurious ones) sees one call with
//! `si_code == POLL_MSG` and `si_fd` the lease's descriptor, and a
//! blocking call interrupted by it returns `EINTR` unless the handler was
//! installed with `SA_RESTART`.
//!
//! # What a lease does not cover
//!
//! A process stopped (`SIGSTOP`, a debugger) for longer than
//! `lease-break-time` in the middle of a block can find the lease taken
//! away by the kernel and the file truncated under the block it is
//! reading; the check before each block bounds the exposure to one block,
//! not to zero. Programs that already had the file open for writing before
//! the scan began make the lease fail (`EAGAIN`), so their writes are never
//! read through a mapping.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::RwLock;

use memmap2::{Mmap, MmapOptions};

use crate::mapping::{self, Access, ReadOnly};

/// Why a scan reads with `pread` instead of through a leased mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoLease {
    /// The array is too small for a lease to pay for its system calls.
    Small,
    /// The file is open for writing (by any process, this one included):
    /// `EAGAIN`.
    WriterOpen,
    /// This process neither owns the file nor has `CAP_LEASE`: `EACCES`.
    NotOwner,
    /// No leases here: not Linux, a file system without them (`EINVAL`:
    /// NFS, FUSE), leases turned off (`/proc/sys/fs/leases-enable`), or
    /// the file could not be opened again for the lease
    /// (`/proc/self/fd` missing).
    Unsupported,
    /// The file had become shorter than the array by the time the lease
    /// was taken: `pread` then reports where it ends.
    Shorter,
}

/// A read lease on a file, held on a descriptor of its own; released when
/// dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    /// A new open file description of the same file, read-only: the lease
    /// belongs to it, so concurrent scans of one [`Scan`](crate::Scan)
    /// each hold their own.
    file: File,
}

#[cfg(target_os = "linux")]
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};

    use super::{Lease, NoLease};

    /// `F_SETSIG`, which the libc crate does not export: 10 in Linux's
    /// generic `fcntl.h`, used by these architectures. Elsewhere no lease
    /// is taken (the break signal would stay the fatal `SIGIO`).
    const F_SETSIG: Option<libc::c_int> = if cfg!(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "loongarch64",
        target_arch = "powerpc64",
        target_arch = "s390x"
    )) {
        Some(10)
    } else {
        None
    };

    /// `fcntl(fd, cmd, arg)`, with `EINTR` retried.
    fn fcntl(fd: RawFd, cmd: libc::c_int, arg: libc::c_int) -> io::Result<libc::c_int> {
        loop {
            // SAFETY: F_SETSIG, F_SETOWN, F_SETLEASE and F_GETLEASE take an
            // integer argument (or none) and touch no memory of ours; `fd`
            // is a descriptor the caller holds open for the whole call.
            let r = unsafe { libc::fcntl(fd, cmd, arg) };
            if r != -1 {
                return Ok(r);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub(super) fn take(file: &File) -> Result<Lease, NoLease> {
        let f_setsig = F_SETSIG.ok_or(NoLease::Unsupported)?;
        // Our own open file description, read-only like the scan's: a
        // lease belongs to the description it was taken on.
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let file = File::open(path).map_err(|_| NoLease::Unsupported)?;
        let fd = file.as_raw_fd();
        // The break signal, set before there is a lease to break: SIGURG
        // is ignored by default (see the module docs).
        fcntl(fd, f_setsig, libc::SIGURG).map_err(|_| NoLease::Unsupported)?;
        match fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) {
            Ok(_) => {}
            Err(e) => {
                return Err(match e.raw_os_error() {
                    Some(libc::EAGAIN) => NoLease::WriterOpen,
                    Some(libc::EACCES | libc::EPERM) => NoLease::NotOwner,
                    _ => NoLease::Unsupported,
                });
            }
        }
        let lease = Lease { file };
        // No owner, no signal: a break is seen by polling F_GETLEASE. If
        // this fails the signal stays SIGURG, still harmless.
        let _ = fcntl(fd, libc::F_SETOWN, 0);
        Ok(lease)
    }

    pub(super) fn is_breaking(lease: &Lease) -> bool {
        // F_UNLCK once a break is pending (or the kernel has already
        // removed the lease); an error means no usable lease either.
        !matches!(fcntl(lease.file.as_raw_fd(), libc::F_GETLEASE, 0), Ok(t) if t == libc::F_RDLCK)
    }

    pub(super) fn release(lease: &Lease) {
        // Closing the descriptor would release it too; this says so.
        let _ = fcntl(lease.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK);
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::fs::File;

    use super::{Lease, NoLease};

    pub(super) fn take(_: &File) -> Result<Lease, NoLease> {
        Err(NoLease::Unsupported)
    }

    pub(super) fn is_breaking(_: &Lease) -> bool {
        true
    }

    pub(super) fn release(_: &Lease) {}
}

impl Lease {
    /// Takes a read lease on the file `file` has open (read-only), on a
    /// descriptor of its own.
    pub(crate) fn take(file: &File) -> Result<Lease, NoLease> {
        sys::take(file)
    }

    /// Whether another open for writing or a truncation is waiting for the
    /// lease: from then on the file must not be read through a mapping.
    pub(crate) fn is_breaking(&self) -> bool {
        sys::is_breaking(self)
    }

    /// The leased descriptor, to map the file through.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        sys::release(self);
    }
}

/// A file's bytes mapped under a read lease, read a block at a time by
/// one or more threads, each block only while the lease is held and no
/// break is pending (see the [module docs](self)).
///
/// The lease sits behind a read-write lock: readers of a block hold it
/// shared for as long as they touch the mapping, and the first reader that
/// finds a break pending takes it exclusively, which waits for the blocks
/// in flight, and releases the lease. After that every
/// [`read`](Self::read) answers `None` and the caller reads with `pread`.
pub(crate) struct LeasedMap {
    /// Declared first: unmapped before the lease is released on drop (the
    /// mapping is never read by then anyway).
    map: Mmap,
    lease: RwLock<Option<Lease>>,
}

impl LeasedMap {
    /// Takes a read lease on the file `file` has open (read-only) and maps
    /// its `len` bytes from `offset`, after checking, under the lease, that
    /// the file still holds them. `path` names the file in errors of the
    /// advice, which are ignored.
    pub(crate) fn new(
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
    ) -> Result<LeasedMap, NoLease> {
        let lease = Lease::take(file)?;
        let file_len = lease
            .file()
            .metadata()
            .map_err(|_| NoLease::Unsupported)?
            .len();
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > file_len)
            || len == 0
        {
            return Err(NoLease::Shorter);
        }
        let mut options = MmapOptions::new();
        options.offset(offset).len(len);
        // SAFETY: the file is under our read lease, taken above, and holds
        // every mapped byte (checked under the lease). While the lease is
        // held no process can open the file for writing or truncate it:
        // the kernel makes them wait for its release (or its break time,
        // 45 s by default). The mapping is only read through `read`, which
        // touches it only while holding `lease` shared with the lease
        // present and no break pending; the lease is released only with
        // `lease` held exclusively, so never while a block is being read.
        // A read of at most one block (a few milliseconds) outlasting the
        // break time is the one exposure left, documented in the module
        // docs.
        let map = unsafe { options.map(lease.file()) }.map_err(|_| NoLease::Unsupported)?;
        // Advice is a hint: a kernel that ignores it reads the same bytes.
        let _ = mapping::advise::<ReadOnly>(&map, path, Access::Sequential, 0, map.len());
        Ok(LeasedMap {
            map,
            lease: RwLock::new(Some(lease)),
        })
    }

    /// Calls `f` with the mapped bytes `range`, if the lease is held and no
    /// break is pending: the range is populated first (its pages mapped in
    /// one call, measured faster than faulting them in, warm and cold:
    /// BENCHMARKS.md, issue 23) and its pages released from this process's
    /// memory after (bounded memory however large the file). Otherwise
    /// releases the lease (at once, and for good: a writer is waiting) and
    /// answers `None`.
    ///
    /// `f` runs with the lease held: it must not open the file for writing
    /// or call back into code that might.
    pub(crate) fn read<R>(
        &self,
        path: &Path,
        range: Range<usize>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        {
            let lease = self.lease.read().unwrap_or_else(|e| e.into_inner());
            if lease.as_ref().is_some_and(|lease| !lease.is_breaking()) {
                // The block's pages mapped in one call
                // (`MADV_POPULATE_READ`) rather than a fault per 64 KiB;
                // from disk, one large read. A hint, as the advice.
                let _ = mapping::populate::<ReadOnly>(&self.map, path, range.start, range.len());
                let result = f(&self.map[range.clone()]);
                // As for advice: failing to release costs memory, not data.
                let _ = mapping::release::<ReadOnly>(&self.map, path, range.start, range.len());
                return Some(result);
            }
        }
        // Waits for the blocks being read on other threads, then lets the
        // writer go on.
        let mut lease = self.lease.write().unwrap_or_else(|e| e.into_inner());
        drop(lease.take());
        None
    }
}
