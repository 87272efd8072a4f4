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
//! // SAFETY (for each mapping below): the file is ours; no other program
//! // changes it while it is mapped (see "Safety of mappings").
//! let mut w = unsafe { MappedArray::<f32>::create(&path, &[1000, 3])? };
//! w.view_mut()[[0, 0]] = 1.5;      // writes go to the file
//! w.flush()?;                      // and are on disk when flush returns
//! drop(w);                         // a writer maps the file alone
//!
//! let r = unsafe { MappedArray::<f32>::open(&path)? };  // read-only
//! let v = r.view_dim::<Ix2>()?;                         // ArrayView2<f32>, zero-copy
//! assert_eq!(v[[0, 0]], 1.5);
//!
//! let mut c = unsafe { MappedArray::<f32>::open_copy(&path)? };  // copy-on-write
//! c.view_mut().fill(0.0);                                         // the file is untouched
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
//!   the writer claim, the map lock) and the owning process.
//! - [`mapping`]: the access modes and the crate's `unsafe` mapping code
//!   (mapping calls, page release).
//! - `appender`: [`Appender`], rows appended with `pwrite` beside readers.
//! - [`sealed`] (Linux): [`SealedArray`], an array in a sealed `memfd`.
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
//! # Safety of mappings
//!
//! A mapping hands out `&[T]` and `&mut [T]` views of a file's bytes, and
//! Rust's rules say the bytes behind a `&` reference do not change while it
//! lives, and those behind a `&mut` are reached through nothing else. A
//! file can break both: another program may write it or cut it short, and
//! reading a page past a file's new end kills the process with `SIGBUS`.
//! So, as in memmap2, every function that maps a file and lets safe code
//! reach its bytes is an `unsafe fn`, and its caller promises the
//! **contract**:
//!
//! - **Read-only and copy-on-write mappings** ([`MappedArray::open`],
//!   [`MappedArray::open_copy`], [`DynArray::open`], [`Source::open`],
//!   [`Source::open_copy`], [`ShardedArray::open`], [`Store::open_array`]
//!   and its kin, `.npz` members): while the mapping or any view of it lives, no program
//!   changes the array's bytes (from its offset, `nbytes` long) or makes
//!   the file shorter than their end.
//! - **Read-write mappings** ([`MappedArray::open_mut`],
//!   [`MappedArray::create`], [`CreateOptions::create`],
//!   [`Store::create_array`], [`Store::open_array_mut`]): the same, and no
//!   program reads the bytes while this one writes them: the handle's
//!   `&mut` views are the only way to them.
//! - **The shared-write open** ([`MappedArray::open_shared_mut`],
//!   [`DynArray::open_shared_mut`], [`Source::open_shared_mut`]): several
//!   handles, in any processes, write one array; the caller promises that
//!   no handle writes bytes that another handle reads or writes meanwhile
//!   (each writer its own part: Dask blocks, the rows of a worker).
//!
//! **mmarray's own handles keep the contract by themselves**, in one
//! process and across processes, through locks every handle takes:
//! a read-write mapping opened the ordinary way and any other mapping of
//! the same file never coexist (the later open gets [`Error::Busy`]);
//! read-only and copy-on-write mappings coexist freely; nothing shrinks,
//! replaces or removes a mapped file (`Busy` again); growth has one writer
//! at a time; and a handle inherited through `fork` refuses to act on its
//! locks ([`Error::ForkedHandle`]). What the caller vouches for is the
//! rest: **programs that do not use mmarray** (locks are advisory:
//! `truncate`, `cp`, numpy's `np.memmap` take none), and the writers of the
//! shared-write open. The idiom, as memmap2's users write it:
//!
//! ```
//! use mmarray::MappedArray;
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("a.dat");
//! # drop(unsafe { MappedArray::<f32>::create(&path, &[3]) }?);
//! // SAFETY: the pipeline's own output; no other program writes it.
//! let a = unsafe { MappedArray::<f32>::open(&path)? };
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each constructor is `unsafe` to call; outside an `unsafe` block it does
//! not compile (one such doctest per constructor, beside each; these are
//! the ones without a page of their own):
//!
//! ```compile_fail,E0133
//! let src = mmarray::Source::open("a.dat");
//! ```
//! ```compile_fail,E0133
//! let a = mmarray::DynArray::<mmarray::ReadOnly>::open_in("a.dat");
//! ```
//! ```compile_fail,E0133
//! let a = mmarray::DynArray::open_shared_mut("a.dat");
//! ```
//! ```compile_fail,E0133
//! let options = mmarray::CreateOptions::new();
//! let a = mmarray::DynArray::create("a.dat", mmarray::ElementType::U8, &[2], &options);
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.open_array_mut::<f32>("a");
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.open_array_copy::<f32>("a");
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.open_array_in::<f32, mmarray::ReadOnly>("a");
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.open_array_dyn("a");
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.create_array::<f32>("a", &[2]);
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.create_array_with::<f32>("a", &[2], &mmarray::CreateOptions::new());
//! # }
//! ```
//! ```compile_fail,E0133
//! # fn f(store: &mmarray::Store) {
//! let a = store.open_sharded::<f32>("part-");
//! # }
//! ```
//!
//! What needs no promise stays safe: copies and scans read with `pread`
//! ([`read_array`], [`Stats::of_path`], [`convert`], [`Scan`]: a file cut
//! short under them is [`Error::Truncated`], never a signal;
//! [`Stats::of_path`] on Linux maps the file under a read lease, which holds
//! back every writer until the scan has let go of the mapping); appends write
//! past what readers see and hand out no reference ([`Appender`], which
//! coexists with readers in any process); and sealed shared memory
//! ([`SealedArray`], Linux), which the kernel itself keeps from changing.
//! `bool` arrays are checked once, when mapped: the contract keeps them
//! valid, so views are O(1) for every type.
//!
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod appender;
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
#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod sealed;
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
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// drop(unsafe { MappedArray::<f32>::create(&path, &[2, 3]) }?);
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let a = unsafe { MappedArray::<f32>::open(&path) }?;
/// let v: ArrayView2<'_, f32> = a.view_dim::<Ix2>()?;
/// assert_eq!(v.dim(), (2, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use ndarray;

pub use appender::Appender;
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
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use sealed::SealedArray;
pub use shard::ShardedArray;
pub use sidecar::{Attrs, sidecar_path};
pub use source::{ArrayInfo, Source, inspect};
pub use stats::Stats;
pub use store::{Entry, Store};

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
