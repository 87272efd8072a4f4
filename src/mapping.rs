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
//! `sync_file_range` call in the file-system helpers, the leased mapping of
//! whole-file scans and the `fcntl` calls of leases, and the dispatch to
//! the stats kernel's AVX2 and AVX-512 forms): the three calls that
//! create a mapping and the one that releases pages.
//! Each mapping call checks, on the same open file handle, that the file
//! holds every byte it maps, so no access through the mapping can fault at
//! the time of mapping. What no check can prevent is another program shrinking the
//! file afterwards; see [`MappedArray`](crate::MappedArray#safety).

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::{Advice, Mmap, MmapMut, MmapOptions, UncheckedAdvice};

use crate::error::{Error, IoContext, Result};
use crate::layout::{self, Layout};
use crate::lock::SharedLock;

mod sealed {
    use std::fs::File;
    use std::io;
    use std::ops::Deref;

    use memmap2::{Advice, MmapOptions};

    /// Proof of being this crate: every method below takes one, and only
    /// this crate can make one, so no code outside it can call them
    /// through a `Mode` bound (a sealed trait's methods are otherwise
    /// reachable through generics).
    pub struct Token(());

    impl Token {
        pub(crate) const fn new() -> Token {
            Token(())
        }
    }

    /// What a [`Mode`](super::Mode) does with the mapping: private, so that
    /// no code outside this crate can map a file, flush or advise through
    /// a mode (the public way to map is an `unsafe` constructor).
    pub trait Sealed {
        /// The mapping type: [`memmap2::Mmap`] or [`memmap2::MmapMut`].
        type Map: Deref<Target = [u8]> + Send + Sync;

        /// Whether a mapping of this mode, opened the ordinary way, holds
        /// the map lock exclusive: it hands out `&mut` views of the file's
        /// bytes, so no other mapping of the file may exist.
        const EXCLUSIVE_MAP: bool;

        /// Maps the range `options` gives of `file`.
        ///
        /// # Safety
        ///
        /// The file holds every mapped byte, and no byte of it is changed
        /// or cut off while the mapping lives, except through the mapping
        /// itself (see [Safety of mappings](crate#safety-of-mappings)).
        unsafe fn map_file(options: &MmapOptions, file: &File, _: Token) -> io::Result<Self::Map>;

        /// Writes the mapping's changed pages to the file and waits (a
        /// no-op for mappings that never write to the file).
        fn flush(map: &Self::Map, _: Token) -> io::Result<()>;

        /// Passes `advice` for `len` bytes from `offset` of the mapping.
        fn advise(
            map: &Self::Map,
            advice: Advice,
            offset: usize,
            len: usize,
            _: Token,
        ) -> io::Result<()>;
    }

    /// Page release, for modes whose pages are the file's.
    pub trait Release: Sealed {
        /// Drops `len` bytes from `offset` of the mapping from this
        /// process's memory.
        fn release(map: &Self::Map, offset: usize, len: usize, _: Token) -> io::Result<()>;
    }
}

/// The mapping type of mode `M` ([`memmap2::Mmap`] or
/// [`memmap2::MmapMut`]).
pub(crate) type MapOf<M> = <M as sealed::Sealed>::Map;

/// Writes the changed pages of `map` (a mapping of mode `M`) to its file
/// and waits; nothing to do for modes that never write the file.
pub(crate) fn flush<M: Mode>(map: &MapOf<M>) -> io::Result<()> {
    M::flush(map, sealed::Token::new())
}

/// How an array is mapped: [`ReadOnly`], [`ReadWrite`] or [`CopyOnWrite`].
///
/// Sealed: the three modes are the ones the operating system offers, and
/// what a mode does with a mapping is private to this crate.
pub trait Mode: sealed::Sealed + Send + Sync + 'static {
    /// Whether the data file is opened for writing.
    const WRITES_FILE: bool;

    /// numpy's name for the mode: `"r"`, `"r+"` or `"c"`.
    const NUMPY_MODE: &'static str;
}

/// Modes whose pages are the file's pages: [`ReadOnly`] and [`ReadWrite`]
/// (shared mappings). Only these can [release](crate::MappedArray::release)
/// pages: a released page is read back from the file on the next access,
/// with the same bytes. A [`CopyOnWrite`] page that was written exists
/// nowhere else, and releasing it would silently undo the writes, so the
/// method does not exist there:
///
/// ```compile_fail,E0599
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.dat");
/// # drop(unsafe { mmarray::MappedArray::<f32>::create(&path, &[2]) }.unwrap());
/// // SAFETY: the example's own file.
/// let mut a = unsafe { mmarray::MappedArray::<f32>::open_copy(&path) }.unwrap();
/// a.as_slice_mut()[0] = 1.0;
/// a.release().unwrap(); // no `release` on a copy-on-write mapping
/// ```
pub trait Shared: Mode + sealed::Release {}

/// How a program is going to touch a mapped array: advice to the kernel,
/// which reads ahead, keeps or drops pages accordingly (`madvise`). Advice
/// never changes what a view reads, only how fast.
///
/// ```
/// use mmarray::{Access, MappedArray};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("a.dat");
/// # // SAFETY: the example's own file; nothing else changes it while mapped.
/// # unsafe { MappedArray::<f32>::create(&path, &[1 << 20]) }?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let a = unsafe { MappedArray::<f32>::open(&path) }?;
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
    map: &MapOf<M>,
    path: &Path,
    access: Access,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::advise(map, access.advice(), offset, len, sealed::Token::new())
        .map_err(|source| Error::io(path, "advising the kernel on the mapping", source))
}

/// Faults in `len` bytes from `offset` of `map` for reading
/// (`MADV_POPULATE_READ`), or on kernels older than 5.14 asks for them to
/// be read ahead (`MADV_WILLNEED`).
pub(crate) fn populate<M: Mode>(
    map: &MapOf<M>,
    path: &Path,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::advise(map, Advice::PopulateRead, offset, len, sealed::Token::new())
        .or_else(|e| match e.kind() {
            // EINVAL: a kernel that does not know the advice.
            io::ErrorKind::InvalidInput => {
                M::advise(map, Advice::WillNeed, offset, len, sealed::Token::new())
            }
            _ => Err(e),
        })
        .map_err(|source| Error::io(path, "populating the mapping", source))
}

/// Releases `len` bytes from `offset` of `map` from this process's memory;
/// nothing to do for an empty range.
pub(crate) fn release<M: Shared>(
    map: &MapOf<M>,
    path: &Path,
    offset: usize,
    len: usize,
) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    M::release(map, offset, len, sealed::Token::new())
        .map_err(|source| Error::io(path, "releasing mapped pages", source))
}

/// Modes that hand out mutable views: [`ReadWrite`] and [`CopyOnWrite`].
pub trait Writable: Mode + sealed::Sealed<Map = MmapMut> {}

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

impl Mode for ReadOnly {
    const WRITES_FILE: bool = false;
    const NUMPY_MODE: &'static str = "r";
}

impl sealed::Sealed for ReadOnly {
    type Map = Mmap;
    const EXCLUSIVE_MAP: bool = false;

    fn flush(_: &Mmap, _: sealed::Token) -> io::Result<()> {
        Ok(())
    }

    fn advise(
        map: &Mmap,
        advice: Advice,
        offset: usize,
        len: usize,
        _: sealed::Token,
    ) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    unsafe fn map_file(options: &MmapOptions, file: &File, _: sealed::Token) -> io::Result<Mmap> {
        // SAFETY: this function's own contract (the file holds the bytes and
        // nothing else changes them while the mapping lives) is memmap2's.
        unsafe { options.map(file) }
    }
}

impl Mode for ReadWrite {
    const WRITES_FILE: bool = true;
    const NUMPY_MODE: &'static str = "r+";
}

impl sealed::Sealed for ReadWrite {
    type Map = MmapMut;
    const EXCLUSIVE_MAP: bool = true;

    fn flush(map: &MmapMut, _: sealed::Token) -> io::Result<()> {
        map.flush()
    }

    fn advise(
        map: &MmapMut,
        advice: Advice,
        offset: usize,
        len: usize,
        _: sealed::Token,
    ) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    unsafe fn map_file(
        options: &MmapOptions,
        file: &File,
        _: sealed::Token,
    ) -> io::Result<MmapMut> {
        // SAFETY: as for `ReadOnly`; the file was opened read-write, which a
        // shared writable mapping requires.
        unsafe { options.map_mut(file) }
    }
}

impl Mode for CopyOnWrite {
    const WRITES_FILE: bool = false;
    const NUMPY_MODE: &'static str = "c";
}

impl sealed::Sealed for CopyOnWrite {
    type Map = MmapMut;
    const EXCLUSIVE_MAP: bool = false;

    fn flush(_: &MmapMut, _: sealed::Token) -> io::Result<()> {
        Ok(())
    }

    fn advise(
        map: &MmapMut,
        advice: Advice,
        offset: usize,
        len: usize,
        _: sealed::Token,
    ) -> io::Result<()> {
        map.advise_range(advice, offset, len)
    }

    unsafe fn map_file(
        options: &MmapOptions,
        file: &File,
        _: sealed::Token,
    ) -> io::Result<MmapMut> {
        // SAFETY: as for `ReadOnly`. A private mapping never writes to the
        // file, so a read-only handle suffices.
        unsafe { options.map_copy(file) }
    }
}

impl Writable for ReadWrite {}
impl Writable for CopyOnWrite {}

impl Shared for ReadOnly {}

impl sealed::Release for ReadOnly {
    fn release(map: &Mmap, offset: usize, len: usize, _: sealed::Token) -> io::Result<()> {
        // SAFETY: `MADV_DONTNEED` on a shared file mapping only unmaps the
        // pages from this process: the next access faults them back in from
        // the page cache, which is the file, so every view keeps reading
        // the file's bytes, as before the call. memmap2 checks the range
        // against the mapping.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    }
}

impl Shared for ReadWrite {}

impl sealed::Release for ReadWrite {
    fn release(map: &MmapMut, offset: usize, len: usize, _: sealed::Token) -> io::Result<()> {
        // SAFETY: as for `ReadOnly`. Pages written through a shared mapping
        // are the page cache's pages: unmapping them keeps the writes, which
        // reach the file as usual and are read back on the next access.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    }
}

/// Maps exactly the bytes of `layout` in the file held by `lock` (read
/// from `path`), after checking that the file is long enough.
///
/// The shared lock is the caller's, held as long as the mapping (the
/// mapping's owner keeps the [`SharedLock`]): cooperating processes that
/// want to shrink, replace or remove the file take the exclusive lock
/// first and fail with [`Error::Busy`](crate::Error::Busy) while any
/// mapping exists.
///
/// # Safety
///
/// The contract of [Safety of mappings](crate#safety-of-mappings) for
/// mode `M`, for as long as the mapping lives.
pub(crate) unsafe fn map_layout<M: Mode>(
    lock: &SharedLock,
    path: &Path,
    layout: &Layout,
) -> Result<MapOf<M>> {
    // SAFETY: passed on to the caller.
    unsafe { map_bytes::<M>(lock, path, layout.offset(), layout.nbytes()) }
}

/// Maps `len` bytes from `offset` in the file held by `lock`, after
/// checking that the file holds them all (see [`map_layout`]).
///
/// # Safety
///
/// As [`map_layout`].
pub(crate) unsafe fn map_bytes<M: Mode>(
    lock: &SharedLock,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<MapOf<M>> {
    let file_len = lock
        .file()
        .metadata()
        .at(path, "reading the data file's metadata")?
        .len();
    layout::check_bytes_fit(path, offset, len as u64, file_len)?;
    // SAFETY: the file holds every byte (checked just above, on the handle
    // that is mapped); the rest is the caller's contract.
    unsafe { map_unlocked::<M>(lock, path, offset, len) }
}

/// Maps `len` bytes from `offset` of the file `lock` holds, without the
/// length check.
///
/// # Safety
///
/// As [`map_layout`], and the caller has checked under that lock that the
/// file holds the bytes (or is cutting its mapping to a length checked
/// before).
pub(crate) unsafe fn map_unlocked<M: Mode>(
    lock: &SharedLock,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<MapOf<M>> {
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    // SAFETY: the caller's contract is `map_file`'s.
    unsafe { <M as sealed::Sealed>::map_file(&options, lock.file(), sealed::Token::new()) }
        .map_err(|source| Error::io(path, "mapping the data file", source))
}
