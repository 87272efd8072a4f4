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
//! through a mapping ([`Stats::of_source`]) or with `pread`
//! ([`Stats::of_path`], [`Stats::of_scan`]).
//!
//! [`Stats::of_path`] reads the file with `pread` into a few reused
//! buffers (see [`Scan`]): every worker thread reads a block, reduces it
//! while it is in cache and takes the next. Memory use is a few MiB
//! whatever the array's size (even larger than RAM), and a file that
//! another program truncates during the pass gives [`Error::Truncated`],
//! not `SIGBUS`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::dtype::{self, ByteOrder, DType, Element, ElementType, Scalar};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::mapping::{self, Access, ReadOnly};
use crate::npz::Npz;
use crate::scan::{self, Scan};
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
#[derive(Clone, Debug, PartialEq)]
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
}

impl Stats {
    /// Computes the statistics of `elements`, calling `progress` with the
    /// number of elements finished after each chunk (from several threads
    /// when the `parallel` feature is on).
    pub fn compute<T: Element>(elements: &[T], progress: impl Fn(usize) + Sync) -> Stats {
        let chunk = |c: &[T]| {
            let partial = Partial::of(c);
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
    /// type, byte order or alignment, in one pass that reads the file with
    /// `pread` (see [`Scan`]). `progress` is called with the number of
    /// elements finished after each chunk.
    ///
    /// Memory use is a few [`BLOCK_BYTES`](crate::BLOCK_BYTES) buffers per
    /// core whatever the file's size, and a file truncated by another
    /// program during the pass is an error, not a signal. A compressed
    /// `.npz` member is inflated into memory first.
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
    /// The file is read in blocks of [`BLOCK_BYTES`](crate::BLOCK_BYTES)
    /// by every worker thread (each reads a block with `pread`, reduces it
    /// while it is in cache, and takes the next), and the chunks' partial
    /// results are merged in chunk order, so the result is the same bit
    /// for bit at any number of threads, and the same as
    /// [`of_source`](Self::of_source) over a mapping of the file.
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
    /// Prefer [`of_path`](Self::of_path) or [`of_scan`](Self::of_scan) for
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
        Stats::of_described(
            &info.path,
            info.layout.dtype(),
            src.bytes(),
            &progress,
            &done,
        )
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

    /// Statistics of the array `layout` places in `file` (at `path`), read
    /// in blocks with `pread`; see [`of_scan`](Self::of_scan).
    ///
    /// On one worker thread, a reader thread keeps [`IN_FLIGHT`] blocks
    /// read ahead of the kernel, so that copying and reducing overlap. On
    /// several, each worker reads a block and reduces it while it is in
    /// cache: the copy is then spread over the cores too.
    fn of_file<T: Element>(
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
            on_every_thread(threads, blocks, words, &read, &reduce)?
        };
        Ok(total.finish::<T>(nbytes / item as u64))
    }
}

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
/// each take the next block, `read` it into their own buffer of `words`
/// and `reduce` it; partials are merged in block order as blocks finish.
/// On failure, the first error in block order: where a truncated file
/// ended.
fn on_every_thread(
    threads: usize,
    blocks: u64,
    words: usize,
    read: &(impl Fn(u64, &mut [u64]) -> Result<()> + Sync),
    reduce: &(impl Fn(u64, &[u64]) -> Result<Vec<Partial>> + Sync),
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
        let mut buf = vec![0u64; words];
        while !failed.load(Relaxed) {
            let k = next_block.fetch_add(1, Relaxed);
            if k >= blocks {
                break;
            }
            match read(k, &mut buf).and_then(|()| reduce(k, &buf)) {
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
    let in_place = |c: &[T]| {
        let partial = Partial::of(c);
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

/// `f64` accumulator lanes of the float kernel: four 256-bit vectors (two
/// 512-bit ones) per accumulator, enough independent additions in flight to
/// hide the latency of an `f64` add or fused multiply-add.
const REAL_LANES: usize = 16;

/// Elements per block of the float kernel: 1,024 (4 KiB of `f32`). A block
/// is folded into fresh lanes; a block whose lanes come out NaN (it held a
/// NaN) is folded again skipping NaNs, so only such blocks pay for the
/// selects.
const BLOCK: usize = REAL_LANES * 64;

/// Lanes of the running min and max: half the accumulator lanes, each
/// taking the smaller (larger) of a pair of values first. Every accumulator
/// then fits in the 16 vector registers of AVX2 alongside the sums (with 16
/// lanes each, the compiler spilled them to the stack and ran at a third of
/// the speed).
const MINMAX_LANES: usize = REAL_LANES / 2;

/// How far ahead of its reads, in bytes, the float kernel asks the CPU to
/// prefetch: one request per cache line it reads.
///
/// The kernel does several vector operations per line where a plain sum
/// does one; left to the hardware prefetcher it then keeps fewer loads in
/// flight and streams memory slower than the sum (BENCHMARKS.md). With
/// explicit prefetches it streams as fast. 2 KiB was the best of 1 to 16 KiB
/// tried, for a mapped file and a `Vec` alike; in cache it costs nothing
/// measurable.
const PREFETCH_DISTANCE: usize = 2048;

/// The cache line size of the CPUs the prefetch distance was tuned on.
const CACHE_LINE: usize = 64;

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

/// Per-lane `f64` accumulators of one block.
struct BlockLanes {
    sum_d: [f64; REAL_LANES],
    sum_d2: [f64; REAL_LANES],
    nan: [f64; REAL_LANES],
}

impl BlockLanes {
    /// Folds `block` into fresh Σd and Σd² lanes over `d = v − k` (`v`
    /// widened to `f64`, so `d` is exact or rounded once in `f64`), and into
    /// the running `min` and `max` (in the element's own type: exact). With
    /// `SKIP_NAN` false there are no NaN selects at all (a NaN makes its
    /// lane's Σd² NaN); with it true NaNs are counted and left out. `v < m`
    /// is false for NaN, so min and max skip NaNs either way. `FMA`: add the
    /// squares with a fused multiply-add (only where the CPU has one).
    ///
    /// One loop over lanes, each updated by the same operations: the shape
    /// the compiler turns into vector instructions.
    #[inline(always)]
    fn fold<R: Real, const SKIP_NAN: bool, const FMA: bool>(
        block: &[R],
        k: f64,
        min: &mut [R; MINMAX_LANES],
        max: &mut [R; MINMAX_LANES],
    ) -> Self {
        let mut lanes = BlockLanes {
            sum_d: [0.0; REAL_LANES],
            sum_d2: [0.0; REAL_LANES],
            nan: [0.0; REAL_LANES],
        };
        let mut add = |group: &[R]| {
            // `group` holds at most REAL_LANES values.
            for (lane, &v) in group.iter().enumerate().take(REAL_LANES) {
                let d = if SKIP_NAN && v.is_nan() {
                    lanes.nan[lane] += 1.0;
                    0.0
                } else {
                    v.to_f64() - k
                };
                lanes.sum_d[lane] += d;
                lanes.sum_d2[lane] = if FMA {
                    d.mul_add(d, lanes.sum_d2[lane])
                } else {
                    lanes.sum_d2[lane] + d * d
                };
            }
        };
        // `v < m` is false when either is NaN: a NaN never replaces a
        // running min or max. The fast path takes the smaller of a pair
        // first, which loses the other value when one is NaN; a block
        // holding a NaN is then folded again the slow way, which visits each
        // value in turn.
        let pick = |a: R, b: R, first: bool| if first { a } else { b };
        let (groups, rest) = block.as_chunks::<REAL_LANES>();
        for group in groups {
            let ahead = group.as_ptr().cast::<u8>().wrapping_add(PREFETCH_DISTANCE);
            for line in (0..size_of_val(group)).step_by(CACHE_LINE) {
                mapping::prefetch(ahead.wrapping_add(line));
            }
            add(group);
        }
        add(rest);
        // Min and max in a second pass over the block, now in L1: apart
        // from the sums, both loops vectorise cleanly (together, the
        // compiler split them into half-width pieces and spilled).
        let (pairs, rest) = block.as_chunks::<{ 2 * MINMAX_LANES }>();
        for pair in pairs {
            for lane in 0..MINMAX_LANES {
                let (a, b) = (pair[lane], pair[lane + MINMAX_LANES]);
                if SKIP_NAN {
                    for v in [a, b] {
                        min[lane] = pick(v, min[lane], v < min[lane]);
                        max[lane] = pick(v, max[lane], v > max[lane]);
                    }
                } else {
                    let (lo, hi) = (pick(a, b, a < b), pick(a, b, a > b));
                    min[lane] = pick(lo, min[lane], lo < min[lane]);
                    max[lane] = pick(hi, max[lane], hi > max[lane]);
                }
            }
        }
        for (i, &v) in rest.iter().enumerate() {
            let lane = i % MINMAX_LANES;
            min[lane] = pick(v, min[lane], v < min[lane]);
            max[lane] = pick(v, max[lane], v > max[lane]);
        }
        lanes
    }

    /// Whether any lane's Σd² is NaN, i.e. the block held a NaN (squares
    /// are never negative, so infinities alone make +inf, not NaN).
    #[inline(always)]
    fn saw_nan(&self) -> bool {
        self.sum_d2.iter().fold(false, |any, x| any | x.is_nan())
    }
}

/// Floats in one pass over memory: min, max, NaN count, sum, mean and M2,
/// every sum in `f64`.
///
/// Values are widened to `f64` (exact) and reduced as deviations `d` from a
/// shift `k`, the mean of the finite values among the chunk's first few.
/// The sum is `n·k + Σd`, and with `k` near the data M2 = Σd² − (Σd)²/n
/// does not cancel the way Σx² − (Σx)²/n does.
///
/// The chunk is taken in blocks of [`BLOCK`] values, each folded into fresh
/// `f64` lanes (see [`BlockLanes::fold`]) that are then added into the
/// chunk's lanes: short sums added together, so rounding grows with the
/// number of blocks, not of values. The common case has no NaN selects: a
/// block whose sums come out NaN is folded again skipping NaNs, so only
/// blocks holding a NaN pay for them.
///
/// Compiled three times, for the baseline target, AVX2 with FMA and
/// AVX-512; the best the CPU supports is chosen at run time.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512bw+avx512dq",
    "x86_64+avx2+fma"
))]
fn of_reals<R: Real>(chunk: &[R]) -> Partial {
    let Some(start) = chunk.iter().position(|v| !v.is_nan()) else {
        return Partial {
            nan: chunk.len() as u64,
            ..Partial::default()
        };
    };
    let head = chunk[start..].iter().take(SHIFT_SAMPLE).map(|v| v.to_f64());
    // Each value divided by the sample size first (exact: a power of two),
    // so the shift stays finite even next to `f64::MAX`.
    let (head_sum, head_n) = head
        .filter(|v| v.is_finite())
        .fold((0.0, 0.0), |(s, n), v| {
            (s + v * (1.0 / SHIFT_SAMPLE as f64), n + 1.0)
        });
    // A finite shift, or infinities would turn every deviation into NaN.
    let k = if head_n > 0.0 {
        head_sum / head_n * SHIFT_SAMPLE as f64
    } else {
        0.0
    };
    let fma = multiversion::target::target_cfg_f!(target_feature = "fma");
    let mut min = [R::INFINITY; MINMAX_LANES];
    let mut max = [R::NEG_INFINITY; MINMAX_LANES];
    let mut sum_d = [0f64; REAL_LANES];
    let mut sum_d2 = [0f64; REAL_LANES];
    let mut nan = [0f64; REAL_LANES];
    for block in chunk.chunks(BLOCK) {
        // Direct calls, so that each is inlined into this target's clone.
        let mut lanes = if fma {
            BlockLanes::fold::<R, false, true>(block, k, &mut min, &mut max)
        } else {
            BlockLanes::fold::<R, false, false>(block, k, &mut min, &mut max)
        };
        if lanes.saw_nan() {
            lanes = BlockLanes::fold::<R, true, false>(block, k, &mut min, &mut max);
        }
        for lane in 0..REAL_LANES {
            sum_d[lane] += lanes.sum_d[lane];
            sum_d2[lane] += lanes.sum_d2[lane];
            nan[lane] += lanes.nan[lane];
        }
    }
    let total = |lanes: [f64; REAL_LANES]| lanes.iter().sum::<f64>();
    let nan = total(nan) as u64;
    let n = chunk.len() as u64 - nan;
    let (sum_d, sum_d2, nf) = (total(sum_d), total(sum_d2), n as f64);
    let m2 = sum_d2 - sum_d * sum_d / nf;
    let fold = |lanes: [R; MINMAX_LANES], init: f64, f: fn(f64, f64) -> f64| {
        lanes.iter().map(|x| x.to_f64()).fold(init, f)
    };
    Partial {
        n,
        nan,
        sum_re: nf * k + sum_d,
        mean: k + sum_d / nf,
        // Rounding can leave a tiny negative; NaN (from infinities) stays.
        m2: if m2 < 0.0 { 0.0 } else { m2 },
        float_min: fold(min, f64::INFINITY, f64::min),
        float_max: fold(max, f64::NEG_INFINITY, f64::max),
        ..Partial::default()
    }
}

/// A `float64` chunk: the kernel in the values' own units, and again in
/// units of `2^e` (exact: every value times a power of two) when its
/// largest finite magnitude is outside the range where that is safe (see
/// [`SCALE_ABOVE`]), or when its sums overflowed.
fn of_f64s(chunk: &[f64]) -> Partial {
    let fast = of_reals(chunk);
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
        ..of_reals(&scaled)
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
    fn of<T: Element>(chunk: &[T]) -> Partial {
        match T::TYPE.kind() {
            'c' => Partial::of_complex(chunk),
            'f' => Partial::of_floats(chunk),
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
    /// directly, `f16` widened to `f32` a block at a time.
    fn of_floats<T: Element>(chunk: &[T]) -> Partial {
        let bytes: &[u8] = bytemuck::cast_slice(chunk);
        match T::TYPE {
            ElementType::F32 => dtype::cast_bytes::<f32>(bytes).map(of_reals::<f32>),
            ElementType::F64 => dtype::cast_bytes::<f64>(bytes).map(of_f64s),
            _ => None,
        }
        .unwrap_or_else(|| {
            // f16: at most CHUNK_ELEMENTS values widened exactly to f32.
            let widened: Vec<f32> = chunk
                .iter()
                .map(|x| x.to_scalar().as_f64() as f32)
                .collect();
            of_reals(&widened)
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
