//! Access modes and the memory mappings behind them.
//!
//! An array is mapped in one of three modes, each a type:
//!
//! | mode            | numpy `mode=` | file opened   | writes go to     | mutable view |
//! |-----------------|---------------|---------------|------------------|--------------|
//! | [`ReadOnly`]    | `"r"`         | read          | (none allowed)   | no (compile error) |
//! | [`ReadWrite`]   | `"r+"`        | read + write  | the file         | yes |
//! | [`CopyOnWrite`] | `"c"`         | read          | private memory   | yes |
//!
//! [`MappedArray`](crate::MappedArray) is generic over the mode, so the code
//! for views, flushing and metadata is written once; only methods that make
//! sense for a mode exist on it.
//!
//! It also owns access advice ([`Access`], passed to the kernel with
//! `madvise`) and the release of mapped pages ([`Shared`] modes only).
//!
//! This module holds the crate's `unsafe` code (but for one
//! `sync_file_range` call in the file-system helpers): the three calls that
//! create a mapping, the one that releases pages, and a CPU prefetch hint.
//! Each mapping call checks, on the same open file handle, that the file
//! holds every byte it maps, so no access through the mapping can fault at
//! the time of mapping. What no check can prevent is another program shrinking the
//! file afterwards; see [`MappedArray`](crate::MappedArray#safety).

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

use memmap2::{Advice, Mmap, MmapMut, MmapOptions, UncheckedAdvice};

use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;

mod sealed {
    pub trait Sealed {}
}

/// How an array is mapped: [`ReadOnly`], [`ReadWrite`] or [`CopyOnWrite`].
///
/// Sealed: the three modes are the ones the operating system offers.
pub trait Mode: sealed::Sealed + Send + Sync + 'static {
    /// The mapping type: [`memmap2::Mmap`] or [`memmap2::MmapMut`].
    type Map: Deref<Target = [u8]> + Send + Sync;

    /// Whether the data file is opened for writing.
    const WRITES_FILE: bool;

    /// numpy's name for the mode: `"r"`, `"r+"` or `"c"`.
    const NUMPY_MODE: &'static str;

    #[doc(hidden)]
    fn map_file(options: &MmapOptions, file: &File) -> io::Result<Self::Map>;

    /// Writes the mapping's changed pages to the file and waits (a no-op for
    /// mappings that never write to the file).
    #[doc(hidden)]
    fn flush(map: &Self::Map) -> io::Result<()>;

    /// Passes `advice` for `len` bytes from `offset` of the mapping.
    #[doc(hidden)]
    fn advise(map: &Self::Map, advice: Advice, offset: usize, len: usize) -> io::Result<()>;
}

/// Modes whose pages are the file's pages: [`ReadOnly`] and [`ReadWrite`]
/// (shared mappings). Only these can [release](crate::MappedArray::release)
/// pages: a released page is read back from the file on the next access,
/// with the same bytes. A [`CopyOnWrite`] page that was written exists
/// nowhere else, and releasing it would silently undo the writes, so the
/// method does not exist there:
///
/// ```compile_fail
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.dat");
/// # mmarray::MappedArray::<f32>::create(&path, &[2]).unwrap();
/// let mut a = mmarray::MappedArray::<f32>::open_copy(&path).unwrap();
/// a.as_slice_mut()[0] = 1.0;
/// a.release().unwrap(); // no `release` on a copy-on-write mapping
/// ```
pub trait Shared: Mode {
    /// Drops `len` bytes from `offset` of the mapping from this process's
    /// memory.
    #[doc(hidden)]
    fn release(map: &Self::Map, offset: usize, len: usize) -> io::Result<()>;
}

/// How a program is going to touch a mapped array: advice to the kernel,
/// which reads ahead, keeps or drops pages accordingly (`madvise`). Advice
/// never changes what a view reads, only how fast.
///
/// ```
/// use mmarray::{Access, MappedArray};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("a.dat");
/// # MappedArray::<f32>::create(&path, &[1 << 20])?;
/// let a = MappedArray::<f32>::open(&path)?;
/// a.advise(Access::Sequential)?; // one pass, front to back
/// let total: f32 = a.as_slice().iter().sum();
/// # assert_eq!(total, 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// No particular pattern: the kernel's default read-ahead.
    Normal,
    /// Front to back, once: read ahead aggressively and drop pages soon
    /// after they are read (`MADV_SEQUENTIAL`).
    Sequential,
    /// Scattered single elements: no read-ahead (`MADV_RANDOM`).
    Random,
    /// Will be read soon: start reading it in now, in the background
    /// (`MADV_WILLNEED`).
    WillNeed,
    /// Back the mapping with transparent huge pages where the file system
    /// and kernel allow it (`MADV_HUGEPAGE`): fewer page faults and TLB
    /// misses for large scans. Anonymous and tmpfs memory mostly; an error
    /// on kernels built without transparent huge pages.
    HugePages,
    /// Undo [`HugePages`](Access::HugePages) (`MADV_NOHUGEPAGE`).
    NoHugePages,
}

impl Access {
    fn advice(self) -> Advice {
        match self {
            Access::Normal => Advice::Normal,
            Access::Sequential => Advice::Sequential,
            Access::Random => Advice::Random,
            Access::WillNeed => Advice::WillNeed,
            Access::HugePages => Advice::HugePage,
            Access::NoHugePages => Advice::NoHugePage,
        }
    }
}

/// Passes `access` for `len` bytes from `offset` of `map`; nothing to do
/// for an empty range.
pub(crate) fn advise<M: Mode>(
    map: &M::Map,
    path: &Path,
    access: Access,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::advise(map, access.advice(), offset, len)
        .map_err(|source| Error::io(path, "advising the kernel on the mapping", source))
}

/// Faults in `len` bytes from `offset` of `map` for reading
/// (`MADV_POPULATE_READ`), or on kernels older than 5.14 asks for them to
/// be read ahead (`MADV_WILLNEED`).
pub(crate) fn populate<M: Mode>(
    map: &M::Map,
    path: &Path,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::advise(map, Advice::PopulateRead, offset, len)
        .or_else(|e| match e.kind() {
            // EINVAL: a kernel that does not know the advice.
            io::ErrorKind::InvalidInput => M::advise(map, Advice::WillNeed, offset, len),
            _ => Err(e),
        })
        .map_err(|source| Error::io(path, "populating the mapping", source))
}

/// Releases `len` bytes from `offset` of `map` from this process's memory;
/// nothing to do for an empty range.
pub(crate) fn release<M: Shared>(
    map: &M::Map,
    path: &Path,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::release(map, offset, len).map_err(|source| Error::io(path, "releasing mapped pages", source))
}

/// Asks the CPU to start loading the cache line that holds `address`, so
/// that a read of it a little later does not wait for memory. A hint: it
/// changes nothing a program can observe but timing, whatever the address.
/// A no-op on targets other than x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has. A
    // prefetch never faults, whatever the address (past the end of a slice,
    // unmapped), and writes nothing.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Modes that hand out mutable views: [`ReadWrite`] and [`CopyOnWrite`].
pub trait Writable: Mode<Map = MmapMut> {}

/// Read-only mapping (numpy `mode="r"`): views only, no way to write.
#[derive(Debug)]
pub enum ReadOnly {}

/// Shared read-write mapping (numpy `mode="r+"`): writes go to the file and
/// are seen by every other mapping of it.
#[derive(Debug)]
pub enum ReadWrite {}

/// Private copy-on-write mapping (numpy `mode="c"`): writes stay in this
/// process's memory; the file is never modified.
#[derive(Debug)]
pub enum CopyOnWrite {}

impl sealed::Sealed for ReadOnly {}
impl sealed::Sealed for ReadWrite {}
impl sealed::Sealed for CopyOnWrite {}

impl Mode for ReadOnly {
    type Map = Mmap;
    const WRITES_FILE: bool = false;
    const NUMPY_MODE: &'static str = "r";

    fn flush(_: &Mmap) -> io::Result<()> {
        Ok(())
    }

    fn advise(map: &Mmap, advice: Advice, offset: usize, len: usize) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    fn map_file(options: &MmapOptions, file: &File) -> io::Result<Mmap> {
        // SAFETY: the only caller, `map_unlocked`, runs after its callers
        // checked, under a lock they hold on this same handle, that the file
        // holds every mapped byte. mmarray shrinks a file only under the
        // exclusive lock, which no other handle can take while this one
        // holds its shared lock. Truncation by programs that ignore the lock
        // is outside our control and documented on `MappedArray`.
        unsafe { options.map(file) }
    }
}

impl Mode for ReadWrite {
    type Map = MmapMut;
    const WRITES_FILE: bool = true;
    const NUMPY_MODE: &'static str = "r+";

    fn flush(map: &MmapMut) -> io::Result<()> {
        map.flush()
    }

    fn advise(map: &MmapMut, advice: Advice, offset: usize, len: usize) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    fn map_file(options: &MmapOptions, file: &File) -> io::Result<MmapMut> {
        // SAFETY: as for `ReadOnly`; the file was opened read-write, which a
        // shared writable mapping requires.
        unsafe { options.map_mut(file) }
    }
}

impl Mode for CopyOnWrite {
    type Map = MmapMut;
    const WRITES_FILE: bool = false;
    const NUMPY_MODE: &'static str = "c";

    fn flush(_: &MmapMut) -> io::Result<()> {
        Ok(())
    }

    fn advise(map: &MmapMut, advice: Advice, offset: usize, len: usize) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    fn map_file(options: &MmapOptions, file: &File) -> io::Result<MmapMut> {
        // SAFETY: as for `ReadOnly`. A private mapping never writes to the
        // file, so a read-only handle suffices.
        unsafe { options.map_copy(file) }
    }
}

impl Writable for ReadWrite {}
impl Writable for CopyOnWrite {}

impl Shared for ReadOnly {
    fn release(map: &Mmap, offset: usize, len: usize) -> io::Result<()> {
        // SAFETY: `MADV_DONTNEED` on a shared file mapping only unmaps the
        // pages from this process: the next access faults them back in from
        // the page cache, which is the file, so every view keeps reading
        // the file's bytes, as before the call. memmap2 checks the range
        // against the mapping.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    }
}

impl Shared for ReadWrite {
    fn release(map: &MmapMut, offset: usize, len: usize) -> io::Result<()> {
        // SAFETY: as for `ReadOnly`. Pages written through a shared mapping
        // are the page cache's pages: unmapping them keeps the writes, which
        // reach the file as usual and are read back on the next access.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    }
}

/// Maps exactly the bytes of `layout` in `file` (read from `path`), after
/// taking a shared lock on the file and checking that it is long enough.
///
/// The shared lock lives as long as `file` (the caller keeps the handle
/// open as long as the mapping): cooperating processes that want to shrink,
/// replace or remove the file take the exclusive lock first and fail with
/// [`Error::Busy`] while any mapping exists.
pub(crate) fn map_layout<M: Mode>(file: &File, path: &Path, layout: &Layout) -> Result<M::Map> {
    map_bytes::<M>(file, path, layout.offset(), layout.nbytes())
}

/// Maps `len` bytes from `offset` in `file` after taking the shared lock and
/// checking that the file holds them all (see [`map_layout`]).
pub(crate) fn map_bytes<M: Mode>(
    file: &File,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<M::Map> {
    lock_shared(file, path)?;
    let file_len = file
        .metadata()
        .at(path, "reading the data file's metadata")?
        .len();
    if offset
        .checked_add(len as u64)
        .is_none_or(|end| end > file_len)
    {
        return Err(Error::DataTooShort {
            path: path.to_path_buf(),
            needed: offset.saturating_add(len as u64),
            offset,
            nbytes: len as u64,
            actual: file_len,
        });
    }
    map_unlocked::<M>(file, path, offset, len)
}

/// Maps `len` bytes from `offset`, leaving the lock as it is. The caller has
/// checked the file's length under a lock it holds.
pub(crate) fn map_unlocked<M: Mode>(
    file: &File,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<M::Map> {
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    M::map_file(&options, file).map_err(|source| Error::io(path, "mapping the data file", source))
}

/// Takes a shared lock on `file`, waiting while another handle holds the
/// exclusive one (which mmarray holds only within one call: a shrink, the
/// building and renaming of a replacement, or a removal).
pub(crate) fn lock_shared_blocking(file: &File, path: &Path) -> Result<()> {
    file.lock_shared().at(path, "locking the data file")
}

/// Takes (or keeps) a shared lock on `file` without waiting.
///
/// # Errors
///
/// [`Error::Busy`] while another handle holds the exclusive lock (it is
/// shrinking, replacing or removing the file).
pub(crate) fn lock_shared(file: &File, path: &Path) -> Result<()> {
    match file.try_lock_shared() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy {
            path: path.to_path_buf(),
            action: "mapped",
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, "locking the data file", e)),
    }
}

/// Takes the exclusive lock on `file` without waiting (converting a shared
/// lock held through the same handle).
///
/// # Errors
///
/// [`Error::Busy`] while any other handle, in this process or another,
/// holds a lock on the file: someone has it mapped.
pub(crate) fn lock_exclusive(file: &File, path: &Path, action: &'static str) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy {
            path: path.to_path_buf(),
            action,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, "locking the data file", e)),
    }
}

/// Takes the exclusive lock on the existing file at `path`, if there is one,
/// and returns the handle that holds it (`None` if there is no file).
pub(crate) fn lock_existing_exclusive(path: &Path, action: &'static str) -> Result<Option<File>> {
    match crate::fsutil::open_regular(path, false, "opening the data file") {
        Ok((file, _)) => lock_exclusive(&file, path, action).map(|()| Some(file)),
        // Missing, a directory, a FIFO or an unreadable file: not something
        // anyone maps.
        Err(_) => Ok(None),
    }
}
