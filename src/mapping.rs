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
//! This is the only module with `unsafe` code: the three calls that create a
//! mapping. Each checks, on the same open file handle, that the file holds
//! every byte it maps, so no access through the mapping can fault at the
//! time of mapping. What no check can prevent is another program shrinking the
//! file afterwards; see [`MappedArray`](crate::MappedArray#safety).

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

use memmap2::{Mmap, MmapMut, MmapOptions};

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

    fn map_file(options: &MmapOptions, file: &File) -> io::Result<Mmap> {
        // SAFETY: `map_layout`, the only caller, has checked on this same
        // handle that the file holds every mapped byte. Later truncation by
        // another program is outside our control and documented on
        // `MappedArray`; mmarray itself never shrinks a mapped file.
        unsafe { options.map(file) }
    }
}

impl Mode for ReadWrite {
    type Map = MmapMut;
    const WRITES_FILE: bool = true;
    const NUMPY_MODE: &'static str = "r+";

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

    fn map_file(options: &MmapOptions, file: &File) -> io::Result<MmapMut> {
        // SAFETY: as for `ReadOnly`. A private mapping never writes to the
        // file, so a read-only handle suffices.
        unsafe { options.map_copy(file) }
    }
}

impl Writable for ReadWrite {}
impl Writable for CopyOnWrite {}

/// Maps exactly the bytes of `layout` in `file` (read from `path`), after
/// checking that the file is long enough to hold them.
pub(crate) fn map_layout<M: Mode>(file: &File, path: &Path, layout: &Layout) -> Result<M::Map> {
    let file_len = file
        .metadata()
        .at(path, "reading the data file's metadata")?
        .len();
    layout.check_fits(path, file_len)?;
    let mut options = MmapOptions::new();
    options.offset(layout.offset()).len(layout.nbytes());
    M::map_file(&options, file).map_err(|source| Error::io(path, "mapping the data file", source))
}
