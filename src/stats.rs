//! Summary statistics over a whole array in one pass: count, NaN count, min,
//! max, sum, mean and (population) standard deviation, with numpy's
//! `nanmin` / `nanmax` / `nansum` / `nanmean` / `nanstd` semantics.
//!
//! - NaNs are counted and skipped (for complex numbers, a NaN in either
//!   part).
//! - Bools and integers: `min`, `max` and `sum` are exact (`i128`, so even
//!   int64 sums never overflow or round); mean and std are computed in `f64`.
//! - Floats are accumulated in `f64`. The variance is computed chunk by
//!   chunk with two passes over each cache-resident chunk, and chunks are
//!   combined with Chan et al.'s pairwise update, so it does not suffer the
//!   cancellation of the textbook `E[x²] − E[x]²` formula.
//! - Complex: `sum` and `mean` are complex; `min`, `max` and `std` are
//!   `None`.
//! - No non-NaN values: `min`, `max`, `mean` and `std` are `None`, `sum` is 0.
//!
//! The array is visited in memory order in chunks of [`CHUNK_ELEMENTS`],
//! split across cores with rayon when the `parallel` feature is on. Memory
//! use is constant whatever the array's size.

use serde::ser::{Serialize, SerializeMap, Serializer};

use std::path::Path;

use crate::dtype::{self, ByteOrder, DType, Element, Scalar};
use crate::error::{Error, Result};
use crate::mapping::{self, ReadOnly};
use crate::source;

/// Elements per chunk: 32 Ki, small enough to stay in L2 cache between a
/// chunk's two passes.
pub const CHUNK_ELEMENTS: usize = 32 << 10;

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
        reduce_chunks(elements, CHUNK_ELEMENTS, chunk).finish::<T>(elements.len() as u64)
    }
}

impl Stats {
    /// Computes the statistics of the array at `path`, whatever its element
    /// type, byte order or alignment, in one pass over a read-only mapping.
    /// `progress` is called with the number of elements finished after each
    /// chunk.
    ///
    /// Native, aligned arrays are reduced in place; others are decoded chunk
    /// by chunk into a small buffer. Memory use is bounded either way.
    ///
    /// # Errors
    ///
    /// As [`inspect`](crate::inspect), and [`Error::InvalidBool`] for a bool
    /// array holding a byte other than 0 or 1.
    pub fn of_path(path: impl AsRef<Path>, progress: impl Fn(usize) + Sync) -> Result<Stats> {
        let (info, file) = source::open_source(path.as_ref(), false)?;
        let map = mapping::map_layout::<ReadOnly>(&file, &info.path, &info.layout)?;
        let dtype = info.layout.dtype();
        crate::dispatch_type!(dtype.element_type(), |T| Stats::of_bytes::<T>(
            &map,
            dtype.byte_order(),
            &progress
        ))
        .map_err(|index| Error::InvalidBool {
            path: info.path.clone(),
            index,
            byte: map[index],
        })
    }

    /// Statistics of elements stored as `bytes` in `byte_order`; `Err` holds
    /// the index of an invalid bool.
    fn of_bytes<T: Element>(
        bytes: &[u8],
        byte_order: ByteOrder,
        progress: &(impl Fn(usize) + Sync),
    ) -> Result<Stats, usize> {
        let native = DType::new(T::TYPE, byte_order).is_native();
        if native && let Some(elements) = T::cast_bytes(bytes) {
            return Ok(Stats::compute(elements, progress));
        }
        if let Some((index, _)) = dtype::first_invalid_byte(T::TYPE, bytes) {
            return Err(index);
        }
        let chunk_bytes = CHUNK_ELEMENTS * T::TYPE.size();
        let chunk = |c: &[u8]| {
            let mut elements = Vec::with_capacity(CHUNK_ELEMENTS);
            // Bool bytes were validated above, so decoding cannot fail.
            let _ = dtype::decode_into::<T>(c, byte_order, &mut elements);
            let partial = Partial::of(&elements);
            progress(elements.len());
            partial
        };
        Ok(reduce_chunks(bytes, chunk_bytes, chunk)
            .finish::<T>((bytes.len() / T::TYPE.size()) as u64))
    }
}

/// Independent accumulators per loop: enough for the compiler to fill SIMD
/// registers and hide add latency.
const LANES: usize = 8;

/// Per-lane float accumulators.
struct Lanes {
    sum: [f64; LANES],
    sum_d: [f64; LANES],
    sum_d2: [f64; LANES],
    min: [f64; LANES],
    max: [f64; LANES],
    nan: [u64; LANES],
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            sum: [0.0; LANES],
            sum_d: [0.0; LANES],
            sum_d2: [0.0; LANES],
            min: [f64::INFINITY; LANES],
            max: [f64::NEG_INFINITY; LANES],
            nan: [0; LANES],
        }
    }
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

/// Maps each `chunk_len` chunk of `items` to a partial and merges them: on
/// every core with the `parallel` feature, in order without it.
fn reduce_chunks<U: Sync>(
    items: &[U],
    chunk_len: usize,
    chunk: impl Fn(&[U]) -> Partial + Sync + Send,
) -> Partial {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items
            .par_chunks(chunk_len)
            .map(chunk)
            .reduce(Partial::default, Partial::merge)
    }
    #[cfg(not(feature = "parallel"))]
    {
        items
            .chunks(chunk_len)
            .map(chunk)
            .fold(Partial::default(), Partial::merge)
    }
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

    /// Floats in one pass: per lane the sum, min, max, NaN count, and the
    /// sum and sum of squares of deviations from a shift `k` (the chunk's
    /// first non-NaN value). With `k` close to the data, M2 = Σd² − (Σd)²/n
    /// does not cancel the way Σx² − (Σx)²/n does. No branches: NaNs are
    /// skipped by selects and by `<` being false, so the loop vectorises.
    fn of_floats<T: Element>(chunk: &[T]) -> Partial {
        let Some(k) = chunk
            .iter()
            .map(|x| x.to_scalar().as_f64())
            .find(|v| !v.is_nan())
        else {
            return Partial {
                nan: chunk.len() as u64,
                ..Partial::default()
            };
        };
        let mut acc = Lanes::default();
        for_each_lane(chunk, |lane, x| {
            let v = x.to_scalar().as_f64();
            let is_nan = v.is_nan();
            let d = if is_nan { 0.0 } else { v - k };
            acc.nan[lane] += u64::from(is_nan);
            acc.sum[lane] += if is_nan { 0.0 } else { v };
            acc.sum_d[lane] += d;
            acc.sum_d2[lane] += d * d;
            acc.min[lane] = if v < acc.min[lane] { v } else { acc.min[lane] };
            acc.max[lane] = if v > acc.max[lane] { v } else { acc.max[lane] };
        });
        let nan: u64 = acc.nan.iter().sum();
        let mut p = Partial {
            n: chunk.len() as u64 - nan,
            nan,
            sum_re: acc.sum.iter().sum(),
            float_min: acc.min.iter().copied().fold(f64::INFINITY, f64::min),
            float_max: acc.max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ..Partial::default()
        };
        p.set_moments(k, &acc);
        p
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
        }
    }

    fn finish<T: Element>(self, count: u64) -> Stats {
        let n = self.n as f64;
        let any = self.n > 0;
        let std = (any && T::TYPE.kind() != 'c').then(|| (self.m2 / n).sqrt());
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
                Scalar::Float(self.sum_re),
                any.then_some(Scalar::Float(self.mean)),
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
