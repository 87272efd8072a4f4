//! Memory-mapped numeric arrays for Rust, interchangeable with numpy.
//!
//! mmarray maps a data file into memory and hands out zero-copy
//! [`ndarray`] views of it. A file is either
//!
//! - a **raw data file** (what numpy's `ndarray.tofile()` or `np.memmap`
//!   write: elements only) described by a small **JSON sidecar** next to it,
//!   `<data file name>.json`, giving dtype, shape, order, byte offset and user
//!   attrs (see [`sidecar`] for the schema); or
//! - a numpy **`.npy` file**, mapped in place after its header.
//!
//! Opening reads the description and maps the file, nothing more: a 64 GiB
//! array opens as fast as a 4 KiB one, and pages are read when touched.
//!
//! ```
//! use mmarray::MappedArray;
//! use ndarray::Ix2;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("temps.dat");
//!
//! // A new zero-filled array: temps.dat (sparse) and temps.dat.json.
//! let mut w = MappedArray::<f32>::create(&path, &[1000, 3])?;
//! w.view_mut()[[0, 0]] = 1.5;      // writes go to the file
//! w.flush()?;                      // and are on disk when flush returns
//!
//! let r = MappedArray::<f32>::open(&path)?;     // read-only
//! let v = r.view_dim::<Ix2>()?;                 // ArrayView2<f32>, zero-copy
//! assert_eq!(v[[0, 0]], 1.5);
//!
//! let mut c = MappedArray::<f32>::open_copy(&path)?;  // copy-on-write
//! c.view_mut().fill(0.0);                              // the file is untouched
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//!
//! Lowest first; a module uses only modules above it in this list.
//!
//! - [`dtype`]: element types and numpy type strings, from one table (and
//!   the [`dispatch_type!`] macro over it).
//! - `error`: the one [`Error`] enum.
//! - [`layout`]: dtype + shape + order + offset, shared by every format.
//! - [`format`](mod@format): the stored forms over bytes, one module each:
//!   [`sidecar`], [`npy`], [`format::npz`], and [`format::zarr`] (zarr v3
//!   metadata for a layout); no file I/O.
//! - `fsutil`: file-system steps: atomic replacement, regular files only,
//!   space reservation, writeback.
//! - `lock`: the advisory locks, one guard type each (shared, exclusive,
//!   the writer claim).
//! - [`mapping`]: the access modes and the crate's `unsafe` mapping code
//!   (mapping calls, page release).
//! - `npz`: [`Npz`], a `.npz` archive opened and its members listed.
//! - `source`: from a path to an opened, locked and mapped [`Source`]
//!   (and reading and writing descriptions).
//! - `lease`: Linux read leases, under which whole-file scans map the file
//!   with no risk of `SIGBUS` ([`NoLease`] says why a scan had none).
//! - [`scan`]: [`Scan`] and [`ScanBuffer`]: an array read front to back with
//!   `pread` into a reused buffer, for whole-file scans (bounded memory,
//!   and an error instead of `SIGBUS` when the file is truncated);
//!   [`ReadPath`], how a scan read its bytes.
//! - [`grow`]: growable arrays: appends, resize, the writer claim, trimming.
//! - `array`: [`MappedArray`], the typed array over a [`Source`].
//! - `create`: [`CreateOptions`] and [`describe`]: every new file; and
//!   [`Staged`], a new array filled by other processes, then published.
//! - [`dynamic`]: [`DynArray`], an array whose element type is known at run
//!   time.
//! - `read`: [`read_array`], copying reads in any byte order.
//! - [`stats`]: [`Stats`], the one-pass summary.
//! - `convert`: [`convert`], streaming conversion between files.
//! - `export`: [`export_zarr`], a zarr v3 directory over an array's data
//!   file (a hard link, no copy).
//! - `shard`: [`ShardedArray`], arrays read as one along axis 0.
//! - [`store`]: [`Store`], a directory of named arrays.
//! - `parallel` (feature `parallel`): parallel iteration over an array.
//!
//! # What memory mapping cannot protect against
//!
//! A mapped file can be shrunk by another program, and reading past its new
//! end kills the process with `SIGBUS`. mmarray checks lengths before
//! mapping and never shrinks a mapped file itself; it cannot stop other
//! programs. See [`MappedArray`'s safety notes](MappedArray#safety).
//! Whole-file scans ([`Stats::of_path`], [`convert`]) do not map unprotected:
//! they read with `pread` ([`Scan`]), or, for [`Stats::of_path`] on Linux,
//! through a mapping under a read lease that holds back writers until the
//! scan lets go of the mapping; a file shrunk under them is
//! [`Error::Truncated`], not a signal.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod array;
mod convert;
mod create;
pub mod dtype;
pub mod dynamic;
mod error;
mod export;
pub mod format;
mod fsutil;
pub mod grow;
pub mod layout;
mod lease;
mod lock;
pub mod mapping;
mod npz;
#[cfg(feature = "parallel")]
pub mod parallel;
mod read;
pub mod scan;
mod shard;
mod source;
pub mod stats;
pub mod store;

/// The [`ndarray`](https://docs.rs/ndarray/0.17) whose views this crate
/// hands out (version 0.17), re-exported so that user code names the same
/// types: `use mmarray::ndarray::Ix2;`, or `ndarray = "0.17"` in your own
/// `Cargo.toml`. With another version there (`ndarray = "0.16"`), Cargo
/// builds two ndarrays, and `view_dim::<Ix2>()` fails to compile with a
/// trait error about two versions of `ndarray` (its `Ix2` is not this
/// one's `Dimension`).
///
/// ```
/// use mmarray::MappedArray;
/// use mmarray::ndarray::{ArrayView2, Ix2};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.dat");
/// drop(MappedArray::<f32>::create(&path, &[2, 3])?);
/// let a = MappedArray::<f32>::open(&path)?;
/// let v: ArrayView2<'_, f32> = a.view_dim::<Ix2>()?;
/// assert_eq!(v.dim(), (2, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use ndarray;

pub use array::{MappedArray, MappedArrayMut};
pub use convert::{ConvertOptions, convert, convert_scan, convert_source};
pub use create::{CreateOptions, Staged, describe};
pub use dtype::{ByteOrder, DType, Element, ElementType, ParseDTypeError, Scalar};
pub use dynamic::DynArray;
pub use error::{Error, Result};
pub use export::{ZarrExport, export_zarr};
pub use format::{Format, npy, sidecar};
pub use layout::{Layout, Order};
pub use lease::NoLease;
pub use mapping::{Access, CopyOnWrite, Mode, ReadOnly, ReadWrite, Shared, Writable};
pub use npz::{Npz, NpzMember};
pub use read::read_array;
pub use scan::{BLOCK_BYTES, ReadPath, Scan, ScanBuffer};
pub use shard::ShardedArray;
pub use sidecar::{Attrs, sidecar_path};
pub use source::{ArrayInfo, Source, inspect};
pub use stats::Stats;
pub use store::{Entry, Store};

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
