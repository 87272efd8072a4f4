//! Summary statistics over a whole array in one pass: count, NaN count, min,
//! max, sum, mean and (population) standard deviation, with numpy's
//! `nanmin` / `nanmax` / `nansum` / `nanmean` / `nanstd` semantics.
//!
//! - NaNs are counted and skipped (for complex numbers, a NaN in either
//!   part).
//! - Bools and integers: `min`, `max` and `sum` are exact (`i128`, so even
//!   int64 sums never overflow or round); mean and std are computed in `f64`.
//! - Floats (`float16`, `float32`, `float64`) are accumulated in `f64`:
//!   every value is widened exactly to `f64` and reduced in one pass as a
//!   deviation from a shift near the data (the mean of a chunk's first
//!   values), so the variance does not suffer the cancellation of the
//!   textbook `E[x²] − E[x]²` formula. Sums run in short per-lane blocks
//!   added together, and chunks are combined with Chan et al.'s pairwise
//!   update. For any finite input, `sum`, `mean` and `std` agree with
//!   numpy computing in `float64` on the same data (`np.nansum`,
//!   `np.nanmean`, `np.nanstd` of `a.astype(np.float64)`) to 1e-9
//!   relative, or, where the true value is near zero through cancellation,
//!   to 1e-9 of the largest magnitude (the property tests in
//!   `tests/stats_exact.rs` check this against a compensated reference).
//!   A `float64` chunk whose values come within a few hundred binary orders
//!   of magnitude of either end of the range is reduced in units of a
//!   power of two near its largest value (exact), so `mean` and `std` stay
//!   finite and correct up to `f64::MAX`, where numpy's `nanstd` overflows;
//!   the `sum` is infinite only when the true sum is beyond `f64`'s range.
//!   Infinities propagate as in numpy (`sum` ±inf or NaN, `std` NaN).
//! - Complex: `sum` and `mean` are complex; `min`, `max` and `std` are
//!   `None`.
//! - No non-NaN values: `min`, `max`, `mean` and `std` are `None`, `sum` is 0.
//!
//! The array is visited in memory order in chunks of [`CHUNK_ELEMENTS`],
//! split across cores when the `parallel` feature is on, and the chunks'
//! partial results are merged in chunk order: the result is the same bit
//! for bit at any number of threads, and whether the array is read
//! through a mapping ([`Stats::of_source`]), through a leased mapping or
//! with `pread` ([`Stats::of_path`], [`Stats::of_scan`]).
//!
//! [`Stats::of_path`] on Linux takes a read lease on the file and reduces
//! it in place through a mapping, a block of 4 MiB at a time, looking at
//! the lease before each block (see `src/lease.rs`): no copy, and a
//! program that wants to write to or truncate the file waits until the
//! scan lets go of the mapping, after which the scan reads the rest with
//! `pread`. Where no lease can be had it reads the file with `pread` into
//! a few reused buffers (see [`Scan`]): every worker thread reads a
//! block, reduces it while it is in cache and takes the next.
//! [`Stats::read`] says which ran. Either way memory use is a few MiB
//! whatever the array's size (even larger than RAM), and a file that
//! another program truncates during the pass gives [`Error::Truncated`],
//! not `SIGBUS`.
//!
//! The float kernel runs at the speed memory delivers the bytes (a plain
//! sum's speed, BENCHMARKS.md, issue 23): each value is widened to `f64`,
//! the shift subtracted, added to one of 16 lanes and its square added
//! with a fused multiply-add, min and max kept in the value's own type;
//! it is compiled for AVX-512 and for AVX2 + FMA and the best the CPU has
//! is picked at run time ([`Kernel`]).

use serde::ser::{Serialize, SerializeMap, Serializer};

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::dtype::{self, ByteOrder, DType, Element, ElementType, Scalar};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::lease::{LeasedMap, NoLease};
use crate::mapping::{self, Access, ReadOnly};
use crate::npz::Npz;
use crate::scan::{self, ReadPath, Scan};
use crate::source::Source;

/// Elements per chunk: 32 Ki. Chunks are the unit of parallel work and of
/// progress reports.
pub const CHUNK_ELEMENTS: usize = 32 << 10;

/// Bytes [`Stats::of_source`] works through a mapping at a time: 64 MiB,
/// a whole number of chunks of every element size.
const WINDOW_BYTES: usize = 64 << 20;

/// Arrays larger than this (1 GiB) have each window's pages released from
/// the process's memory once the window is done, so that the resident set
/// of a scan stays at about one window however large the array (even
/// larger than RAM). Smaller arrays keep their pages mapped: releasing
/// costs a little time and buys nothing there.
const RELEASE_ABOVE: usize = 1 << 30;

/// Summary statistics of an array. See the [module docs](self) for the
/// semantics.
///
/// ```
/// use mmarray::{Scalar, Stats};
///
/// let s = Stats::compute(&[1.0f32, f32::NAN, 3.0], |_| {});
/// assert_eq!((s.count, s.nan_count), (3, 1));
/// assert_eq!(s.min, Some(Scalar::Float(1.0)));
/// assert_eq!(s.mean, Some(Scalar::Float(2.0)));
/// assert_eq!(s.std, Some(1.0));
/// assert_eq!(
///     serde_json::to_string(&s)?,
///     r#"{"count":3,"nan_count":1,"min":1.0,"max":3.0,"sum":4.0,"mean":2.0,"std":1.0}"#
/// );
///
/// let big = Stats::compute(&[i64::MAX, i64::MAX], |_| {});
/// assert_eq!(big.sum, Scalar::Int(2 * i64::MAX as i128)); // exact
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Stats {
    /// The number of elements, NaNs included.
    pub count: u64,
    /// How many elements are NaN.
    pub nan_count: u64,
    /// The smallest non-NaN value (`None` for complex or no values).
    pub min: Option<Scalar>,
    /// The largest non-NaN value (`None` for complex or no values).
    pub max: Option<Scalar>,
    /// The sum of non-NaN values (0 when there are none).
    pub sum: Scalar,
    /// The mean of non-NaN values.
    pub mean: Option<Scalar>,
    /// The population standard deviation (ddof 0) of non-NaN values
    /// (`None` for complex or no values).
    pub std: Option<f64>,
    /// How the elements were read: from memory, through a mapping (leased
    /// or not), or with `pread`, and why. Not a statistic: left out of
    /// `==` and of the JSON form.
    pub read: ReadPath,
}

/// Equal statistics, however they were read ([`Stats::read`] is not
/// compared).
impl PartialEq for Stats {
    fn eq(&self, other: &Stats) -> bool {
        (
            self.count,
            self.nan_count,
            self.min,
            self.max,
            self.sum,
            self.mean,
            self.std,
        ) == (
            other.count,
            other.nan_count,
            other.min,
            other.max,
            other.sum,
            other.mean,
            other.std,
        )
    }
}

impl Stats {
    /// Computes the statistics of `elements`, calling `progress` with the
    /// number of elements finished after each chunk (from several threads
    /// when the `parallel` feature is on).
    pub fn compute<T: Element>(elements: &[T], progress: impl Fn(usize) + Sync) -> Stats {
        Stats::compute_with(Kernel::detected(), elements, progress)
    }

    /// [`compute`](Self::compute) with a chosen form of the float kernel
    /// (see [`Kernel`]; every other function here uses
    /// [`Kernel::detected`]).
    ///
    /// ```
    /// use mmarray::stats::Kernel;
    /// use mmarray::{Scalar, Stats};
    ///
    /// let s = Stats::compute_with(Kernel::portable(), &[1.0f64, 2.0, 6.0], |_| {});
    /// assert_eq!(s.mean, Some(Scalar::Float(3.0)));
    /// ```
    pub fn compute_with<T: Element>(
        kernel: Kernel,
        elements: &[T],
        progress: impl Fn(usize) + Sync,
    ) -> Stats {
        let chunk = |c: &[T]| {
            let partial = Partial::of(c, kernel);
            progress(c.len());
            partial
        };
        map_chunks(elements, CHUNK_ELEMENTS, true, chunk)
            .into_iter()
            .fold(Partial::default(), Partial::merge)
            .finish::<T>(elements.len() as u64)
    }
}

impl Stats {
    /// Computes the statistics of the array at `path`, whatever its element
    /// type, byte order or alignment, in one pass through a mapping under a
    /// read lease (Linux), or reading the file with `pread` where no lease
    /// can be had (see [`Scan`] and the [module docs](self);
    /// [`read`](Stats::read) says which). `progress` is called with the
    /// number of elements finished after each chunk (each 4 MiB block
    /// through a lease).
    ///
    /// Memory use is a few MiB per core whatever the file's size, and a
    /// file truncated by another program during the pass is an error, not
    /// a signal. A compressed `.npz` member is inflated into memory first.
    ///
    /// # Errors
    ///
    /// As [`inspect`](crate::inspect), [`Error::Truncated`] when the file
    /// ends early during the pass, and [`Error::InvalidBool`] for a bool
    /// array holding a byte other than 0 or 1.
    pub fn of_path(path: impl AsRef<Path>, progress: impl Fn(usize) + Sync) -> Result<Stats> {
        let path = path.as_ref();
        match Scan::open(path) {
            Ok(scan) => Stats::of_scan(&scan, progress),
            // A compressed `.npz` member has no bytes to read in place:
            // inflate it (into memory: such members are bounded by the
            // archive).
            Err(Error::CompressedMember {
                path: archive,
                member,
            }) => {
                let extracted = Npz::open(&archive)?.extract(&member)?;
                let layout = &extracted.layout;
                let bytes = &extracted.bytes[layout.offset() as usize..layout.end() as usize];
                Stats::of_described(&archive, layout.dtype(), bytes, &progress, &|_| {})
            }
            Err(e) => Err(e),
        }
    }

    /// [`of_path`](Self::of_path) for an array already opened for a scan.
    ///
    /// The file is taken in blocks by every worker thread (each reduces a
    /// block, through the leased mapping or read with `pread`, and takes
    /// the next), and the chunks' partial results are merged in chunk
    /// order, so the result is the same bit for bit at any number of
    /// threads, and the same as [`of_source`](Self::of_source) over a
    /// mapping of the file. The lease is a descriptor of its own, so
    /// several scans of one [`Scan`] at once each hold their own.
    ///
    /// ```
    /// use mmarray::{MappedArray, Scan, Stats};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.dat");
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut a = unsafe { MappedArray::<f64>::create(&path, &[3]) }?;
    /// a.as_slice_mut().copy_from_slice(&[1.0, 2.0, 6.0]);
    /// a.flush()?;
    /// let scan = Scan::open(&path)?;
    /// let total = scan.info().layout().len(); // e.g. to size a progress bar
    /// let stats = Stats::of_scan(&scan, |_| {})?;
    /// assert_eq!((stats.count, stats.std), (total as u64, Some(2.160246899469287)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when the file ends early, [`Error::Io`] when a
    /// read fails, [`Error::InvalidBool`] for a bool array holding a byte
    /// other than 0 or 1.
    pub fn of_scan(scan: &Scan, progress: impl Fn(usize) + Sync) -> Result<Stats> {
        let (file, info) = scan.parts();
        let layout = &info.layout;
        crate::dispatch_type!(layout.dtype().element_type(), |T| {
            Stats::of_file::<T>(file, &info.path, layout, &progress)
        })
    }

    /// Computes the statistics of an array already opened and mapped, in
    /// one pass over its mapping. `progress` as in
    /// [`of_path`](Self::of_path); the result is the same.
    ///
    /// Native, aligned arrays are reduced in place; others are decoded chunk
    /// by chunk into a small buffer. The kernel is advised that the mapping
    /// is read sequentially, and an array over 1 GiB has its pages released
    /// behind the pass, so memory stays bounded; but a file truncated by
    /// another program during the pass kills the process with `SIGBUS`.
    /// Prefer [`of_path`](Self::of_path) or [`of_scan`](Self::of_scan)
    /// (as fast, through a leased mapping, where a lease can be had) for
    /// whole-file passes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBool`] for a bool array holding a byte other than 0
    /// or 1.
    pub fn of_source(src: &Source, progress: impl Fn(usize) + Sync) -> Result<Stats> {
        let (info, map) = (src.info(), &src.map);
        // Advice is a hint: a kernel that ignores it reads the same bytes.
        let _ = mapping::advise::<ReadOnly>(map, &info.path, Access::Sequential, 0, map.len());
        let release_behind = map.len() > RELEASE_ABOVE;
        let done = |range: Range<usize>| {
            if release_behind {
                // As above: failing to release costs memory, never data.
                let _ = mapping::release::<ReadOnly>(map, &info.path, range.start, range.len());
            }
        };
        let stats = Stats::of_described(
            &info.path,
            info.layout.dtype(),
            src.bytes(),
            &progress,
            &done,
        )?;
        Ok(Stats {
            read: ReadPath::Mapped,
            ..stats
        })
    }

    /// Statistics of the elements `bytes` of `dtype`, from the file at
    /// `path` (named in errors); `done` as in [`of_bytes`](Self::of_bytes).
    fn of_described(
        path: &Path,
        dtype: DType,
        bytes: &[u8],
        progress: &(impl Fn(usize) + Sync),
        done: &dyn Fn(Range<usize>),
    ) -> Result<Stats> {
        crate::dispatch_type!(dtype.element_type(), |T| Stats::of_bytes::<T>(
            bytes,
            dtype.byte_order(),
            progress,
            done
        ))
        .map_err(|index| Error::InvalidBool {
            path: path.to_path_buf(),
            index,
            byte: bytes[index],
        })
    }

    /// Statistics of elements stored as `bytes` in `byte_order`; `Err` holds
    /// the index of an invalid bool.
    ///
    /// Works through [`WINDOW_BYTES`] at a time, each window's chunks
    /// split across cores, and calls `done` with each window's byte range
    /// when it is finished.
    fn of_bytes<T: Element>(
        bytes: &[u8],
        byte_order: ByteOrder,
        progress: &(impl Fn(usize) + Sync),
        done: &dyn Fn(Range<usize>),
    ) -> Result<Stats, usize> {
        let mut total = Partial::default();
        for (w, window) in bytes.chunks(WINDOW_BYTES).enumerate() {
            let start = w * WINDOW_BYTES;
            let partials = chunk_partials::<T>(window, byte_order, progress, true)
                .map_err(|index| start + index)?;
            total = partials.into_iter().fold(total, Partial::merge);
            done(start..start + window.len());
        }
        Ok(total.finish::<T>((bytes.len() / T::TYPE.size()) as u64))
    }

    /// Statistics of the array `layout` places in `file` (at `path`): read
    /// through a mapping under a read lease where one can be had (see
    /// [`of_leased`](Self::of_leased)), else with `pread` (see
    /// [`of_stream`](Self::of_stream)).
    fn of_file<T: Element>(
        file: &File,
        path: &Path,
        layout: &Layout,
        progress: &(impl Fn(usize) + Sync),
    ) -> Result<Stats> {
        let nbytes = layout.nbytes() as u64;
        let leased = match usize::try_from(nbytes) {
            Ok(n) if n >= LEASE_MIN_BYTES => LeasedMap::new(file, path, layout.offset(), n),
            Ok(_) => Err(NoLease::Small),
            Err(_) => Err(NoLease::Unsupported),
        };
        match leased {
            Ok(map) => Stats::of_leased::<T>(&map, file, path, layout, progress),
            Err(why) => Ok(Stats {
                read: ReadPath::Streamed(why),
                ..Stats::of_stream::<T>(file, path, layout, progress)?
            }),
        }
    }

    /// Statistics of the array `layout` places in `file` (at `path`),
    /// mapped under a lease as `map`: each worker thread takes the next
    /// block of [`LEASED_BLOCK_BYTES`] and reduces it in place while the
    /// lease holds, then releases its pages. Once another program waits to
    /// write or truncate the file, the lease is let go and the remaining
    /// blocks are read with `pread` (into a buffer each worker allocates
    /// then). Blocks are whole chunks and merged in file order, so the
    /// result is the same bit for bit as over a mapping or a `pread`
    /// stream.
    fn of_leased<T: Element>(
        map: &LeasedMap,
        file: &File,
        path: &Path,
        layout: &Layout,
        progress: &(impl Fn(usize) + Sync),
    ) -> Result<Stats> {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        let item = T::TYPE.size();
        let chunk = CHUNK_ELEMENTS * item;
        let block = LEASED_BLOCK_BYTES.div_ceil(chunk) * chunk;
        let nbytes = layout.nbytes() as u64;
        let blocks = nbytes.div_ceil(block as u64);
        let byte_order = layout.dtype().byte_order();
        let invalid = |start: u64, index: usize, byte: u8| Error::InvalidBool {
            path: path.to_path_buf(),
            index: (start / item as u64) as usize + index,
            byte,
        };
        // Where the first block read with `pread` starts.
        let broken_at = AtomicU64::new(u64::MAX);
        let process = |k: u64, buf: &mut Vec<u64>| {
            let start = k * block as u64;
            let len = (nbytes - start).min(block as u64) as usize;
            // Progress is reported outside the lease: a callback that
            // writes to the file then waits for nothing.
            let mapped = map.read(path, start as usize..start as usize + len, |bytes| {
                chunk_partials::<T>(bytes, byte_order, &|_| {}, false)
                    .map_err(|index| (index, bytes[index]))
            });
            let partials = match mapped {
                Some(partials) => partials.map_err(|(index, byte)| invalid(start, index, byte))?,
                None => {
                    broken_at.fetch_min(start, Relaxed);
                    if buf.len() * 8 < len {
                        buf.resize(len.div_ceil(8), 0);
                    }
                    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(buf)[..len];
                    let at = layout.offset() + start;
                    scan::read_exact_at(file, path, bytes, at, layout.end())?;
                    chunk_partials::<T>(bytes, byte_order, &|_| {}, false)
                        .map_err(|index| invalid(start, index, bytes[index]))?
                }
            };
            progress(len / item);
            Ok(partials)
        };
        let threads = worker_threads().min(blocks as usize).max(1);
        let total = on_every_thread(threads, blocks, &process)?;
        let read = match broken_at.into_inner() {
            u64::MAX => ReadPath::Leased,
            at => ReadPath::LeaseBroken { at },
        };
        Ok(Stats {
            read,
            ..total.finish::<T>(nbytes / item as u64)
        })
    }

    /// Statistics of the array `layout` places in `file` (at `path`), read
    /// in blocks with `pread`; see [`of_scan`](Self::of_scan).
    ///
    /// On one worker thread, a reader thread keeps [`IN_FLIGHT`] blocks
    /// read ahead of the kernel, so that copying and reducing overlap. On
    /// several, each worker reads a block and reduces it while it is in
    /// cache: the copy is then spread over the cores too.
    fn of_stream<T: Element>(
        file: &File,
        path: &Path,
        layout: &Layout,
        progress: &(impl Fn(usize) + Sync),
    ) -> Result<Stats> {
        let item = T::TYPE.size();
        // Whole chunks, so that the chunks (and so the partials merged)
        // are those of a mapped scan.
        let chunk = CHUNK_ELEMENTS * item;
        let block = scan::BLOCK_BYTES.div_ceil(chunk) * chunk;
        let nbytes = layout.nbytes() as u64;
        let blocks = nbytes.div_ceil(block as u64);
        let byte_order = layout.dtype().byte_order();
        scan::advise_sequential(file);
        let words = block.div_ceil(8);
        // Block `k`: where it starts in the array, and its length.
        let span = |k: u64| {
            let start = k * block as u64;
            (start, (nbytes - start).min(block as u64) as usize)
        };
        let read = |k: u64, buf: &mut [u64]| {
            let (start, len) = span(k);
            let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(buf)[..len];
            scan::read_exact_at(file, path, bytes, layout.offset() + start, layout.end())
        };
        let reduce = |k: u64, buf: &[u64]| {
            let (start, len) = span(k);
            let bytes = &bytemuck::cast_slice::<u64, u8>(buf)[..len];
            chunk_partials::<T>(bytes, byte_order, progress, false).map_err(|index| {
                Error::InvalidBool {
                    path: path.to_path_buf(),
                    index: (start / item as u64) as usize + index,
                    byte: bytes[index],
                }
            })
        };
        let threads = worker_threads().min(blocks as usize);
        let total = if threads <= 1 {
            pipelined(blocks, words, &read, &reduce)?
        } else {
            let process = |k: u64, buf: &mut Vec<u64>| {
                buf.resize(words, 0);
                read(k, buf)?;
                reduce(k, buf)
            };
            on_every_thread(threads, blocks, &process)?
        };
        Ok(total.finish::<T>(nbytes / item as u64))
    }
}

/// Arrays smaller than this (1 MiB) are read with `pread` without asking
/// for a lease: its system calls (a second open, `fcntl`s, `mmap`) cost
/// more than copying so few bytes.
const LEASE_MIN_BYTES: usize = 1 << 20;

/// Bytes a leased scan reduces between two looks at the lease: 4 MiB
/// (rounded up to whole chunks). A writer waits at most about one block
/// (well under a millisecond from the page cache) for the scan to let go;
/// each block's pages are released from the process once it is done, so
/// memory stays at a block per worker thread.
const LEASED_BLOCK_BYTES: usize = 4 << 20;

/// Blocks read ahead of the kernel by [`pipelined`]'s reader thread.
const IN_FLIGHT: usize = 3;

/// The merged partials of blocks `0..blocks`, each read into a buffer of
/// `words` by `read` on a reader thread and reduced by `reduce` on this
/// one, with up to [`IN_FLIGHT`] buffers read ahead.
fn pipelined(
    blocks: u64,
    words: usize,
    read: &(impl Fn(u64, &mut [u64]) -> Result<()> + Sync),
    reduce: &(impl Fn(u64, &[u64]) -> Result<Vec<Partial>> + Sync),
) -> Result<Partial> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<(u64, Vec<u64>, Result<()>)>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u64>>();
    for _ in 0..=IN_FLIGHT.min(blocks as usize) {
        let _ = empty_tx.send(vec![0u64; words]);
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            for k in 0..blocks {
                // The consumer hung up: it failed, or is done.
                let Ok(mut buf) = empty_rx.recv() else { break };
                let result = read(k, &mut buf);
                let failed = result.is_err();
                if full_tx.send((k, buf, result)).is_err() || failed {
                    break;
                }
            }
        });
        // Dropping the channels' ends on return stops the reader.
        let consume = move || {
            let mut total = Partial::default();
            for (k, buf, read) in full_rx {
                read?;
                total = reduce(k, &buf)?.into_iter().fold(total, Partial::merge);
                let _ = empty_tx.send(buf);
            }
            Ok(total)
        };
        consume()
    })
}

/// The merged partials of blocks `0..blocks`, on `threads` threads that
/// each take the next block and `process` it (with a buffer of their own,
/// empty at first, to read into if it needs one); partials are merged in
/// block order as blocks finish. On failure, the first error in block
/// order: where a truncated file ended.
fn on_every_thread(
    threads: usize,
    blocks: u64,
    process: &(impl Fn(u64, &mut Vec<u64>) -> Result<Vec<Partial>> + Sync),
) -> Result<Partial> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

    /// Partials of finished blocks wait here until every block before
    /// them is merged, so that the merge order is the file's.
    struct Merge {
        next: u64,
        pending: BTreeMap<u64, Vec<Partial>>,
        total: Partial,
    }
    let merge = Mutex::new(Merge {
        next: 0,
        pending: BTreeMap::new(),
        total: Partial::default(),
    });
    let next_block = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<(u64, Error)>> = Mutex::new(Vec::new());
    let work = || {
        let mut buf = Vec::new();
        while !failed.load(Relaxed) {
            let k = next_block.fetch_add(1, Relaxed);
            if k >= blocks {
                break;
            }
            match process(k, &mut buf) {
                Ok(partials) => {
                    let mut m = merge.lock().unwrap_or_else(|e| e.into_inner());
                    m.pending.insert(k, partials);
                    loop {
                        let at = m.next;
                        let Some(ready) = m.pending.remove(&at) else {
                            break;
                        };
                        m.total = ready.into_iter().fold(m.total, Partial::merge);
                        m.next += 1;
                    }
                }
                Err(e) => {
                    failed.store(true, Relaxed);
                    errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((k, e));
                    break;
                }
            }
        }
    };
    run_on_threads(threads, &work);
    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.sort_by_key(|&(k, _)| k);
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }
    Ok(merge.into_inner().unwrap_or_else(|e| e.into_inner()).total)
}

/// The partials of the chunks of `bytes` (whole elements stored in
/// `byte_order`, starting at a chunk boundary), in chunk order, on every
/// core when `parallel` (and the `parallel` feature); `Err` holds the
/// index of an invalid bool. Native, aligned bytes are reduced in place;
/// others are decoded chunk by chunk into a small buffer.
fn chunk_partials<T: Element>(
    bytes: &[u8],
    byte_order: ByteOrder,
    progress: &(impl Fn(usize) + Sync),
    parallel: bool,
) -> Result<Vec<Partial>, usize> {
    let native = DType::new(T::TYPE, byte_order).is_native();
    let kernel = Kernel::detected();
    let in_place = |c: &[T]| {
        let partial = Partial::of(c, kernel);
        progress(c.len());
        partial
    };
    if let Some(elements) = native.then(|| dtype::cast_bytes::<T>(bytes)).flatten() {
        return Ok(map_chunks(elements, CHUNK_ELEMENTS, parallel, in_place));
    }
    if let Some((index, _)) = dtype::first_invalid_byte(T::TYPE, bytes) {
        return Err(index);
    }
    let decoded = |c: &[u8]| {
        let mut elements = Vec::with_capacity(CHUNK_ELEMENTS);
        // Bool bytes were validated first, so decoding cannot fail.
        let _ = dtype::decode_into::<T>(c, byte_order, &mut elements);
        in_place(&elements)
    };
    let chunk_bytes = CHUNK_ELEMENTS * T::TYPE.size();
    Ok(map_chunks(bytes, chunk_bytes, parallel, decoded))
}

/// How many threads a streamed scan reads and reduces on: rayon's (so
/// `RAYON_NUM_THREADS` counts) with the `parallel` feature, else one.
fn worker_threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// Runs `work` on `threads` threads at once (the caller's among them) and
/// waits for all.
fn run_on_threads(threads: usize, work: &(impl Fn() + Sync)) {
    #[cfg(feature = "parallel")]
    rayon::scope(|s| {
        for _ in 1..threads {
            s.spawn(|_| work());
        }
        work();
    });
    #[cfg(not(feature = "parallel"))]
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
}

/// Independent accumulators per loop of the integer kernel: enough for
/// the compiler to fill SIMD registers and hide add latency.
const LANES: usize = 8;

/// Per-lane sums of the deviations of integers from a shift, and of their
/// squares, in `f64`.
#[derive(Default)]
struct Lanes {
    sum_d: [f64; LANES],
    sum_d2: [f64; LANES],
}

/// Calls `f(lane, x)` for every element, `lane` cycling through
/// `0..LANES`: whole blocks as fixed-size arrays (so the lane indices are
/// constants and the loop vectorises), then the remainder.
#[inline(always)]
fn for_each_lane<T: Element>(chunk: &[T], mut f: impl FnMut(usize, T)) {
    let (blocks, rest) = chunk.as_chunks::<LANES>();
    for block in blocks {
        for (lane, &x) in block.iter().enumerate() {
            f(lane, x);
        }
    }
    for (lane, &x) in rest.iter().enumerate() {
        f(lane, x);
    }
}

/// `f64` accumulator lanes of the float kernel: two 512-bit vectors (four
/// 256-bit ones) per accumulator, enough independent additions in flight to
/// hide the latency of an `f64` add or fused multiply-add. Min and max keep
/// as many lanes, in the element's own type (one 512-bit vector of `f32`).
const REAL_LANES: usize = 16;

/// Elements per block of the float kernel: 4,096 (16 KiB of `f32`, in L1).
/// A block is folded into fresh lanes, which are then added to the chunk's:
/// short sums added together, so rounding grows with the number of blocks,
/// not of values. A block whose lanes come out NaN (it held a NaN) is
/// folded again skipping NaNs, so only such blocks pay for the selects.
const BLOCK: usize = REAL_LANES * 256;

/// Bytes per block of the float kernel, for any element type: a block of
/// [`BLOCK`] `f32` values, or half as many `f64`, so that the block stays
/// in a 32 KiB L1 cache for the second (min and max) loop of
/// [`fold_block`].
const BLOCK_BYTES: usize = BLOCK * 4;

/// How many leading values of a chunk are averaged for the float kernel's
/// shift.
const SHIFT_SAMPLE: usize = 64;

/// A `float64` chunk whose largest finite magnitude lies outside
/// `[2^-SCALE_BELOW, 2^SCALE_ABOVE]` is reduced again in units of a power
/// of two near that magnitude: above, squares of deviations (up to
/// `(2·max)²`) and their sums over a whole array would overflow; below,
/// they would fall into subnormals and lose digits. Between the two, a
/// whole array's M2 stays below `2^40 · 2^962` and a square of the smallest
/// nonzero deviation (`2^-300 · 2^-53`) stays far from subnormal.
const SCALE_ABOVE: i32 = 480;
const SCALE_BELOW: i32 = 300;

/// The float types the kernel reads: both are widened exactly to `f64`.
trait Real: Copy + PartialOrd {
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    fn is_nan(self) -> bool;
    fn to_f64(self) -> f64;
}

macro_rules! impl_real {
    ($($t:ty),*) => {$(
        impl Real for $t {
            const INFINITY: $t = <$t>::INFINITY;
            const NEG_INFINITY: $t = <$t>::NEG_INFINITY;
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
impl_real!(f32, f64);

/// `x · 2^e`, exact unless the result overflows or falls below the normal
/// range; `e` may exceed the exponent range of one `f64` factor.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    let pow2 = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    while e != 0 && x != 0.0 && x.is_finite() {
        let step = e.clamp(-1000, 1000);
        x *= pow2(step);
        e -= step;
    }
    x
}

/// The binary exponent of a positive, finite `x`: `2^e <= x < 2^(e+1)`.
fn exponent(x: f64) -> i32 {
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: count from the top set bit of the mantissa.
        let mantissa = x.to_bits() & ((1 << 52) - 1);
        -1022 - (mantissa.leading_zeros() as i32 - 11)
    } else {
        biased - 1023
    }
}

/// Which compiled form of the float kernel [`Stats`] runs.
///
/// The kernel is compiled three times on x86-64: for the baseline
/// instruction set, for AVX2 with FMA, and for AVX-512 (with AVX2 and
/// FMA), and [`Kernel::detected`] picks the best this CPU runs, which is
/// what every `Stats` function uses. The AVX2 and AVX-512 forms do the
/// same arithmetic in the same order (16 `f64` lanes per sum, the squares
/// added with a fused multiply-add), only in vectors of different widths,
/// so their results are identical bit for bit; the baseline form (and
/// other architectures) adds the squares with a separate multiply and add
/// and can differ from them in the last bits.
///
/// [`Stats::compute_with`] runs a chosen form: for benchmarks and tests
/// that check a form this machine would not pick, so that a regression in
/// it cannot hide behind the one it does.
///
/// ```
/// use mmarray::stats::Kernel;
/// use mmarray::Stats;
///
/// let xs: Vec<f32> = (0..10_000).map(|i| i as f32 * 0.25).collect();
/// let best = Stats::compute(&xs, |_| {});
/// if let Some(avx2) = Kernel::avx2() {
///     assert_eq!(Stats::compute_with(avx2, &xs, |_| {}), best);
/// }
/// let portable = Stats::compute_with(Kernel::portable(), &xs, |_| {});
/// assert_eq!(portable.min, best.min);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel(Isa);

/// The instruction sets of [`Kernel`]; private, so that a `Kernel` naming
/// one exists only after the CPU was checked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The best form this CPU runs (AVX-512, else AVX2 with FMA, else the
    /// portable one). The CPU is asked once; later calls read a cached
    /// answer.
    pub fn detected() -> Kernel {
        Kernel::avx512()
            .or_else(Kernel::avx2)
            .unwrap_or(Kernel::portable())
    }

    /// The form compiled for the target's baseline instruction set, which
    /// every CPU of the target runs.
    pub fn portable() -> Kernel {
        Kernel(Isa::Portable)
    }

    /// The AVX2 + FMA form, if this CPU has both (`None` elsewhere,
    /// including on other architectures).
    pub fn avx2() -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Some(Kernel(Isa::Avx2));
        }
        None
    }

    /// The AVX-512 form (F, VL, BW and DQ, with AVX2 and FMA), if this CPU
    /// has them all.
    pub fn avx512() -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && Kernel::avx2().is_some()
        {
            return Some(Kernel(Isa::Avx512));
        }
        None
    }

    /// The form's name: `"avx512"`, `"avx2"` or `"portable"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// The float kernel over `chunk` in this form.
    fn reals<R: Real>(self, chunk: &[R]) -> Partial {
        match self.0 {
            Isa::Portable => of_reals::<R, false, false>(chunk),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` naming AVX2 is only made by `Kernel::avx2`,
            // after the CPU reported AVX2 and FMA, the features
            // `of_reals_avx2` is compiled with.
            Isa::Avx2 => unsafe { of_reals_avx2(chunk) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, by `Kernel::avx512`, which checked every
            // feature `of_reals_avx512` is compiled with.
            Isa::Avx512 => unsafe { of_reals_avx512(chunk) },
        }
    }
}

/// [`of_reals`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn of_reals_avx2<R: Real>(chunk: &[R]) -> Partial {
    of_reals::<R, true, false>(chunk)
}

/// [`of_reals`] compiled for AVX-512 (512-bit vectors: twice the lanes per
/// instruction of AVX2, the same arithmetic).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
fn of_reals_avx512<R: Real>(chunk: &[R]) -> Partial {
    of_reals::<R, true, true>(chunk)
}

/// Per-lane `f64` sums of one block.
struct BlockLanes {
    sum_d: [f64; REAL_LANES],
    sum_d2: [f64; REAL_LANES],
}

/// Folds `block` into fresh Σd and Σd² lanes over `d = v − k` (`v` widened
/// to `f64`, so `d` is exact or rounded once in `f64`), and into the running
/// `min` and `max` (in the element's own type: exact). Value `i` of every
/// group of [`REAL_LANES`] goes to lane `i`, whatever the vector width.
/// There are no NaN selects: a NaN makes its lane's Σd² NaN (which
/// [`fold_skipping_nan`] then redoes), and leaves min and max alone (`v < m`
/// is false for a NaN). `FMA`: add the squares with a fused multiply-add
/// (only where the CPU has one).
///
/// `FUSED`: min and max in the same loop as the sums (AVX-512, whose 32
/// vector registers hold every accumulator), else in a second loop over
/// the block, then in L1 (AVX2's 16 registers cannot hold the 8 vectors of
/// sums and the 4 (`f32`) or 8 (`f64`) of min and max: the compiler
/// spilled them to the stack and ran at a third of the speed). Each lane
/// sees the same values in the same order either way, so the results are
/// the same bit for bit.
///
/// Plain loops over fixed-size arrays, no closures: in a function compiled
/// for AVX-512, a closure the compiler keeps out of line is compiled for
/// the baseline target, one scalar value at a time (BENCHMARKS.md, issue
/// 23).
#[inline(always)]
fn fold_block<R: Real, const FMA: bool, const FUSED: bool>(
    block: &[R],
    k: f64,
    min: &mut [R; REAL_LANES],
    max: &mut [R; REAL_LANES],
) -> BlockLanes {
    let mut sum_d = [0f64; REAL_LANES];
    let mut sum_d2 = [0f64; REAL_LANES];
    let (groups, rest) = block.as_chunks::<REAL_LANES>();
    for group in groups {
        for lane in 0..REAL_LANES {
            let v = group[lane];
            let d = v.to_f64() - k;
            sum_d[lane] += d;
            sum_d2[lane] = if FMA {
                d.mul_add(d, sum_d2[lane])
            } else {
                sum_d2[lane] + d * d
            };
            if FUSED {
                min[lane] = if v < min[lane] { v } else { min[lane] };
                max[lane] = if v > max[lane] { v } else { max[lane] };
            }
        }
    }
    if !FUSED {
        for group in groups {
            for lane in 0..REAL_LANES {
                let v = group[lane];
                min[lane] = if v < min[lane] { v } else { min[lane] };
                max[lane] = if v > max[lane] { v } else { max[lane] };
            }
        }
    }
    for (lane, &v) in rest.iter().enumerate() {
        let d = v.to_f64() - k;
        sum_d[lane] += d;
        sum_d2[lane] = if FMA {
            d.mul_add(d, sum_d2[lane])
        } else {
            sum_d2[lane] + d * d
        };
        min[lane] = if v < min[lane] { v } else { min[lane] };
        max[lane] = if v > max[lane] { v } else { max[lane] };
    }
    BlockLanes { sum_d, sum_d2 }
}

/// [`fold_block`] for a block that held a NaN: NaNs counted and left out
/// of the sums (min and max were right the first time). Gives the lanes
/// and the NaN count.
#[inline(always)]
fn fold_skipping_nan<R: Real, const FMA: bool>(block: &[R], k: f64) -> (BlockLanes, u64) {
    let mut sum_d = [0f64; REAL_LANES];
    let mut sum_d2 = [0f64; REAL_LANES];
    let mut nan = 0u64;
    for (i, &v) in block.iter().enumerate() {
        let lane = i % REAL_LANES;
        let d = if v.is_nan() {
            nan += 1;
            0.0
        } else {
            v.to_f64() - k
        };
        sum_d[lane] += d;
        sum_d2[lane] = if FMA {
            d.mul_add(d, sum_d2[lane])
        } else {
            sum_d2[lane] + d * d
        };
    }
    (BlockLanes { sum_d, sum_d2 }, nan)
}

/// Floats in one pass over memory: min, max, NaN count, sum, mean and M2,
/// every sum in `f64`.
///
/// Values are widened to `f64` (exact) and reduced as deviations `d` from a
/// shift `k`, the mean of the finite values among the chunk's first few.
/// The sum is `n·k + Σd`, and with `k` near the data M2 = Σd² − (Σd)²/n
/// does not cancel the way Σx² − (Σx)²/n does.
///
/// The chunk is taken in blocks of [`BLOCK_BYTES`], each folded into fresh
/// `f64` lanes (see [`fold_block`]) that are then added into the chunk's
/// lanes. Inlined into one function per instruction set ([`Kernel`]).
#[inline(always)]
fn of_reals<R: Real, const FMA: bool, const FUSED: bool>(chunk: &[R]) -> Partial {
    let Some(start) = chunk.iter().position(|v| !v.is_nan()) else {
        return Partial {
            nan: chunk.len() as u64,
            ..Partial::default()
        };
    };
    let head = &chunk[start..chunk.len().min(start + SHIFT_SAMPLE)];
    // Each value divided by the sample size first (exact: a power of two),
    // so the shift stays finite even next to `f64::MAX`.
    let (mut head_sum, mut head_n) = (0.0, 0.0);
    for v in head.iter().map(|v| v.to_f64()) {
        if v.is_finite() {
            head_sum += v * (1.0 / SHIFT_SAMPLE as f64);
            head_n += 1.0;
        }
    }
    // A finite shift, or infinities would turn every deviation into NaN.
    let k = if head_n > 0.0 {
        head_sum / head_n * SHIFT_SAMPLE as f64
    } else {
        0.0
    };
    let mut min = [R::INFINITY; REAL_LANES];
    let mut max = [R::NEG_INFINITY; REAL_LANES];
    let mut sum_d = [0f64; REAL_LANES];
    let mut sum_d2 = [0f64; REAL_LANES];
    let mut nan = 0u64;
    for block in chunk.chunks(BLOCK_BYTES / size_of::<R>()) {
        let mut lanes = fold_block::<R, FMA, FUSED>(block, k, &mut min, &mut max);
        // Squares are never negative, so infinities alone make +inf: a NaN
        // lane means the block held a NaN.
        if lanes.sum_d2.iter().fold(false, |any, x| any | x.is_nan()) {
            let (skipped, n) = fold_skipping_nan::<R, FMA>(block, k);
            lanes = skipped;
            nan += n;
        }
        for lane in 0..REAL_LANES {
            sum_d[lane] += lanes.sum_d[lane];
            sum_d2[lane] += lanes.sum_d2[lane];
        }
    }
    let n = chunk.len() as u64 - nan;
    let (sum_d, sum_d2, nf) = (lane_total(sum_d), lane_total(sum_d2), n as f64);
    let m2 = sum_d2 - sum_d * sum_d / nf;
    let (mut float_min, mut float_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for lane in 0..REAL_LANES {
        float_min = float_min.min(min[lane].to_f64());
        float_max = float_max.max(max[lane].to_f64());
    }
    Partial {
        n,
        nan,
        sum_re: nf * k + sum_d,
        mean: k + sum_d / nf,
        // Rounding can leave a tiny negative; NaN (from infinities) stays.
        m2: if m2 < 0.0 { 0.0 } else { m2 },
        float_min,
        float_max,
        ..Partial::default()
    }
}

/// The lanes added in lane order.
#[inline(always)]
fn lane_total(lanes: [f64; REAL_LANES]) -> f64 {
    let mut sum = 0.0;
    for x in lanes {
        sum += x;
    }
    sum
}

/// A `float64` chunk: the kernel in the values' own units, and again in
/// units of `2^e` (exact: every value times a power of two) when its
/// largest finite magnitude is outside the range where that is safe (see
/// [`SCALE_ABOVE`]), or when its sums overflowed.
fn of_f64s(chunk: &[f64], kernel: Kernel) -> Partial {
    let fast = kernel.reals(chunk);
    let magnitude = fast.float_min.abs().max(fast.float_max.abs());
    let safe = |m: f64| m == 0.0 || (-SCALE_BELOW..=SCALE_ABOVE).contains(&exponent(m));
    if magnitude.is_finite() && safe(magnitude) && fast.sum_re.is_finite() && !fast.m2.is_infinite()
    {
        return fast;
    }
    // Rare: values near the range's ends, or infinities (which propagate
    // the same way in any units).
    let largest = chunk
        .iter()
        .filter(|x| x.is_finite())
        .fold(0f64, |m, x| m.max(x.abs()));
    if largest == 0.0 || safe(largest) {
        return fast;
    }
    let e = exponent(largest);
    let scaled: Vec<f64> = chunk.iter().map(|&x| ldexp(x, -e)).collect();
    Partial {
        scale: e,
        float_min: fast.float_min,
        float_max: fast.float_max,
        ..kernel.reals(&scaled)
    }
}

/// Integer accumulators for [`Partial::of_ints`].
trait IntAccumulator: Copy + PartialOrd {
    const ZERO: Self;
    const MIN: Self;
    const MAX: Self;
    fn from_i128(v: i128) -> Self;
    fn to_i128(self) -> i128;
    fn add(self, other: Self) -> Self;
}

impl IntAccumulator for i64 {
    const ZERO: i64 = 0;
    const MIN: i64 = i64::MIN;
    const MAX: i64 = i64::MAX;
    #[inline(always)]
    fn from_i128(v: i128) -> i64 {
        // Only used for types of at most 32 bits: exact.
        v as i64
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        i128::from(self)
    }
    #[inline(always)]
    fn add(self, other: i64) -> i64 {
        // A chunk holds at most CHUNK_ELEMENTS (2^15) values below 2^32 in
        // magnitude: the lane sums stay far below 2^63.
        self + other
    }
}

impl IntAccumulator for i128 {
    const ZERO: i128 = 0;
    const MIN: i128 = i128::MIN;
    const MAX: i128 = i128::MAX;
    #[inline(always)]
    fn from_i128(v: i128) -> i128 {
        v
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self
    }
    #[inline(always)]
    fn add(self, other: i128) -> i128 {
        self + other
    }
}

/// Maps each `chunk_len` chunk of `items` to a partial, in chunk order:
/// on every core when `parallel` and the `parallel` feature is on. The
/// caller merges them in that order, so results do not depend on the
/// number of threads.
fn map_chunks<U: Sync>(
    items: &[U],
    chunk_len: usize,
    parallel: bool,
    chunk: impl Fn(&[U]) -> Partial + Sync + Send,
) -> Vec<Partial> {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        return items.par_chunks(chunk_len).map(chunk).collect();
    }
    let _ = parallel;
    items.chunks(chunk_len).map(chunk).collect()
}

/// What one chunk contributes; the same shape for every element type, with
/// only the fields for its class used.
#[derive(Clone, Copy, Debug)]
struct Partial {
    /// Non-NaN values.
    n: u64,
    nan: u64,
    int_min: i128,
    int_max: i128,
    int_sum: i128,
    float_min: f64,
    float_max: f64,
    /// Sum of the real parts (floats and complex).
    sum_re: f64,
    sum_im: f64,
    /// Mean and sum of squared deviations of the values as f64 (reals).
    mean: f64,
    m2: f64,
    /// `sum_re` and `mean` are in units of `2^scale`, `m2` in units of
    /// `2^(2·scale)`: 0 but for `float64` chunks near the ends of the
    /// range (see [`of_f64s`]).
    scale: i32,
}

impl Default for Partial {
    fn default() -> Self {
        Partial {
            n: 0,
            nan: 0,
            int_min: i128::MAX,
            int_max: i128::MIN,
            int_sum: 0,
            float_min: f64::INFINITY,
            float_max: f64::NEG_INFINITY,
            sum_re: 0.0,
            sum_im: 0.0,
            mean: 0.0,
            m2: 0.0,
            scale: 0,
        }
    }
}

impl Partial {
    fn of<T: Element>(chunk: &[T], kernel: Kernel) -> Partial {
        match T::TYPE.kind() {
            'c' => Partial::of_complex(chunk),
            'f' => Partial::of_floats(chunk, kernel),
            _ if T::TYPE.size() <= 4 => Partial::of_ints::<T, i64>(chunk),
            _ => Partial::of_ints::<T, i128>(chunk),
        }
    }

    fn of_complex<T: Element>(chunk: &[T]) -> Partial {
        let mut p = Partial::default();
        for &x in chunk {
            if let Scalar::Complex(re, im) = x.to_scalar() {
                if re.is_nan() || im.is_nan() {
                    p.nan += 1;
                } else {
                    p.n += 1;
                    p.sum_re += re;
                    p.sum_im += im;
                }
            }
        }
        p
    }

    /// Floats in one pass, in their own width: `f32` and `f64` reduced
    /// directly, `f16` widened to `f32` first.
    fn of_floats<T: Element>(chunk: &[T], kernel: Kernel) -> Partial {
        let bytes: &[u8] = bytemuck::cast_slice(chunk);
        match T::TYPE {
            ElementType::F32 => dtype::cast_bytes::<f32>(bytes).map(|xs| kernel.reals(xs)),
            ElementType::F64 => dtype::cast_bytes::<f64>(bytes).map(|xs| of_f64s(xs, kernel)),
            _ => None,
        }
        .unwrap_or_else(|| {
            // f16: at most CHUNK_ELEMENTS values widened exactly to f32
            // (with the CPU's conversion instructions where it has them).
            use half::slice::HalfFloatSliceExt;
            let halves: &[half::f16] = bytemuck::cast_slice(bytes);
            let mut widened = vec![0f32; halves.len()];
            halves.convert_to_f32_slice(&mut widened);
            kernel.reals(&widened)
        })
    }

    /// Bools and integers in one pass: exact sums, min and max in lanes of
    /// `A` (`i64` when a chunk's sum cannot overflow it, `i128` for 64-bit
    /// types), and shifted deviations in `f64` for the variance.
    fn of_ints<T: Element, A: IntAccumulator>(chunk: &[T]) -> Partial {
        let Some(first) = chunk.first() else {
            return Partial::default();
        };
        let k = first.to_scalar().as_f64();
        let mut sum = [A::ZERO; LANES];
        let mut min = [A::MAX; LANES];
        let mut max = [A::MIN; LANES];
        let mut acc = Lanes::default();
        for_each_lane(chunk, |lane, x| {
            let scalar = x.to_scalar();
            let v = match scalar {
                Scalar::Int(i) => A::from_i128(i),
                _ => A::ZERO,
            };
            sum[lane] = sum[lane].add(v);
            min[lane] = if v < min[lane] { v } else { min[lane] };
            max[lane] = if v > max[lane] { v } else { max[lane] };
            let d = scalar.as_f64() - k;
            acc.sum_d[lane] += d;
            acc.sum_d2[lane] += d * d;
        });
        let int_sum: i128 = sum.iter().map(|s| s.to_i128()).sum();
        let mut p = Partial {
            n: chunk.len() as u64,
            int_sum,
            int_min: min.iter().map(|m| m.to_i128()).min().unwrap_or(i128::MAX),
            int_max: max.iter().map(|m| m.to_i128()).max().unwrap_or(i128::MIN),
            sum_re: int_sum as f64,
            ..Partial::default()
        };
        p.set_moments(k, &acc);
        p
    }

    /// Mean and M2 from the shifted sums: mean = k + Σd/n,
    /// M2 = Σd² − (Σd)²/n.
    fn set_moments(&mut self, k: f64, acc: &Lanes) {
        if self.n == 0 {
            return;
        }
        let n = self.n as f64;
        let sum_d: f64 = acc.sum_d.iter().sum();
        let sum_d2: f64 = acc.sum_d2.iter().sum();
        self.mean = k + sum_d / n;
        self.m2 = (sum_d2 - sum_d * sum_d / n).max(0.0);
    }

    /// Combines two partials (Chan, Golub and LeVeque's pairwise update for
    /// the mean and M2).
    fn merge(a: Partial, b: Partial) -> Partial {
        if a.n == 0 && a.nan == 0 {
            return b;
        }
        if b.n == 0 && b.nan == 0 {
            return a;
        }
        // In the units of the partial with the larger values, so that the
        // other's only shrink: what falls below the normal range there is
        // far below the larger partial's own rounding.
        let scale = if a.n == 0 || (b.n > 0 && b.magnitude() > a.magnitude()) {
            b.scale
        } else {
            a.scale
        };
        let (a, b) = (a.rescaled(scale), b.rescaled(scale));
        let n = a.n + b.n;
        let (mean, m2) = if n == 0 {
            (0.0, 0.0)
        } else {
            let (na, nb, nf) = (a.n as f64, b.n as f64, n as f64);
            let delta = b.mean - a.mean;
            (
                a.mean + delta * nb / nf,
                a.m2 + b.m2 + delta * delta * na * nb / nf,
            )
        };
        Partial {
            n,
            nan: a.nan + b.nan,
            int_min: a.int_min.min(b.int_min),
            int_max: a.int_max.max(b.int_max),
            int_sum: a.int_sum + b.int_sum,
            float_min: a.float_min.min(b.float_min),
            float_max: a.float_max.max(b.float_max),
            sum_re: a.sum_re + b.sum_re,
            sum_im: a.sum_im + b.sum_im,
            mean,
            m2,
            scale,
        }
    }

    /// The largest magnitude among the values (infinite for integers, whose
    /// scale is always 0).
    fn magnitude(&self) -> f64 {
        self.float_min.abs().max(self.float_max.abs())
    }

    /// The same partial in units of `2^scale`.
    fn rescaled(self, scale: i32) -> Partial {
        if self.scale == scale {
            return self;
        }
        let e = self.scale - scale;
        Partial {
            sum_re: ldexp(self.sum_re, e),
            mean: ldexp(self.mean, e),
            m2: ldexp(self.m2, 2 * e),
            scale,
            ..self
        }
    }

    fn finish<T: Element>(self, count: u64) -> Stats {
        let n = self.n as f64;
        let any = self.n > 0;
        let std = (any && T::TYPE.kind() != 'c').then(|| ldexp((self.m2 / n).sqrt(), self.scale));
        // The true sum, unless it is beyond f64's range (then ±inf, as
        // numpy); the mean is always in range.
        let (sum_re, mean) = (ldexp(self.sum_re, self.scale), ldexp(self.mean, self.scale));
        let (min, max, sum, mean) = match T::TYPE.kind() {
            'c' => (
                None,
                None,
                Scalar::Complex(self.sum_re, self.sum_im),
                any.then(|| Scalar::Complex(self.sum_re / n, self.sum_im / n)),
            ),
            'f' => (
                any.then_some(Scalar::Float(self.float_min)),
                any.then_some(Scalar::Float(self.float_max)),
                Scalar::Float(sum_re),
                any.then_some(Scalar::Float(mean)),
            ),
            _ => (
                any.then_some(Scalar::Int(self.int_min)),
                any.then_some(Scalar::Int(self.int_max)),
                Scalar::Int(self.int_sum),
                // The exact sum divided once, not the running f64 mean.
                any.then(|| Scalar::Float(self.int_sum as f64 / n)),
            ),
        };
        Stats {
            count,
            nan_count: self.nan,
            min,
            max,
            sum,
            mean,
            std,
            read: ReadPath::Memory,
        }
    }
}

/// JSON form: integers exact, floats as numbers (non-finite as `null`),
/// complex as `[re, im]`, missing values as `null`.
impl Serialize for Stats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("count", &self.count)?;
        map.serialize_entry("nan_count", &self.nan_count)?;
        map.serialize_entry("min", &self.min.map(JsonScalar))?;
        map.serialize_entry("max", &self.max.map(JsonScalar))?;
        map.serialize_entry("sum", &JsonScalar(self.sum))?;
        map.serialize_entry("mean", &self.mean.map(JsonScalar))?;
        map.serialize_entry("std", &self.std.map(|f| JsonScalar(Scalar::Float(f))))?;
        map.end()
    }
}

struct JsonScalar(Scalar);

impl Serialize for JsonScalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Scalar::Int(i) => serializer.serialize_i128(i),
            // serde_json writes non-finite floats as null.
            Scalar::Float(f) => serializer.serialize_f64(f),
            Scalar::Complex(re, im) => (re, im).serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_survives_a_large_offset() {
        // The textbook formula loses every digit here.
        let xs: Vec<f64> = (0..100_000).map(|i| 1e9 + (i % 4) as f64).collect();
        let s = Stats::compute(&xs, |_| {});
        let std = s.std.unwrap();
        assert!((std - 1.118_033_988_749_895).abs() < 1e-9, "{std}");
    }

    #[test]
    fn empty_and_all_nan() {
        let s = Stats::compute::<f32>(&[], |_| {});
        assert_eq!(
            (s.count, s.min, s.mean, s.std, s.sum),
            (0, None, None, None, Scalar::Float(0.0))
        );
        let s = Stats::compute(&[f64::NAN; 3], |_| {});
        assert_eq!(
            (s.count, s.nan_count, s.max, s.sum),
            (3, 3, None, Scalar::Float(0.0))
        );
        let s = Stats::compute::<u8>(&[], |_| {});
        assert_eq!((s.min, s.sum), (None, Scalar::Int(0)));
    }

    #[test]
    fn chunks_merge_to_the_whole() {
        let xs: Vec<i32> = (0..(3 * CHUNK_ELEMENTS as i32 + 17))
            .map(|i| i * 7 - 1000)
            .collect();
        let s = Stats::compute(&xs, |_| {});
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert_eq!(s.sum, Scalar::Int(xs.iter().map(|&x| x as i128).sum()));
        assert_eq!(s.min, Some(Scalar::Int(-1000)));
        assert!((s.std.unwrap() - var.sqrt()).abs() < 1e-6 * var.sqrt());
        let progress = std::sync::atomic::AtomicUsize::new(0);
        Stats::compute(&xs, |n| {
            progress.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(progress.into_inner(), xs.len());
    }

    /// The float kernel against a plain two-pass computation in `f64`, with
    /// NaNs in some blocks only, an infinity-free spread of magnitudes, and
    /// lengths that leave partial blocks and lanes.
    #[test]
    fn float_kernel_matches_two_pass_f64() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for len in [1, 15, 17, 1000, BLOCK + 3, 3 * CHUNK_ELEMENTS + 5] {
            let xs: Vec<f32> = (0..len)
                .map(|i| {
                    let v = next();
                    // NaNs clustered in a few blocks, as in real data.
                    if (i / BLOCK) % 3 == 1 && v < 0.05 {
                        f32::NAN
                    } else {
                        (1e3 + 50.0 * (v - 0.5)) as f32
                    }
                })
                .collect();
            let s = Stats::compute(&xs, |_| {});
            let good: Vec<f64> = xs
                .iter()
                .filter(|x| !x.is_nan())
                .map(|&x| x as f64)
                .collect();
            let n = good.len() as f64;
            let mean = good.iter().sum::<f64>() / n;
            let std = (good.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let min = good.iter().copied().fold(f64::INFINITY, f64::min);
            let max = good.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(s.nan_count as usize, len - good.len(), "len {len}");
            assert_eq!(
                (s.min, s.max),
                (Some(Scalar::Float(min)), Some(Scalar::Float(max)))
            );
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
            assert!(rel(s.sum.as_f64(), mean * n) < 1e-9, "len {len} sum");
            assert!(rel(s.mean.unwrap().as_f64(), mean) < 1e-9, "len {len} mean");
            if len > 1 {
                assert!(
                    rel(s.std.unwrap(), std) < 1e-9,
                    "len {len} std {} vs {std}",
                    s.std.unwrap()
                );
            }
        }
    }

    #[test]
    fn infinities_propagate_like_numpy() {
        let s = Stats::compute(&[1.0f32, f32::INFINITY, f32::NAN], |_| {});
        assert_eq!(s.sum, Scalar::Float(f64::INFINITY));
        assert_eq!(s.max, Some(Scalar::Float(f64::INFINITY)));
        assert_eq!(s.nan_count, 1);
        // numpy: nanstd([1, inf]) is nan.
        assert!(s.std.unwrap().is_nan());
        let s = Stats::compute(&[f64::INFINITY, f64::NEG_INFINITY], |_| {});
        assert!(s.sum.as_f64().is_nan());
    }

    #[test]
    fn complex_sum_and_mean_only() {
        use num_complex::Complex;
        let s = Stats::compute(
            &[
                Complex::new(1.0f64, 2.0),
                Complex::new(f64::NAN, 0.0),
                Complex::new(3.0, -4.0),
            ],
            |_| {},
        );
        assert_eq!((s.count, s.nan_count), (3, 1));
        assert_eq!(s.sum, Scalar::Complex(4.0, -2.0));
        assert_eq!(s.mean, Some(Scalar::Complex(2.0, -1.0)));
        assert_eq!((s.min, s.max, s.std), (None, None, None));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["sum"],
            serde_json::json!([4.0, -2.0])
        );
    }
}
