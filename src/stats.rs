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
        let mut p = Partial::default();
        let kind = T::TYPE.kind();
        if kind == 'c' {
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
            return p;
        }
        if kind == 'f' {
            for &x in chunk {
                let v = x.to_scalar().as_f64();
                if v.is_nan() {
                    p.nan += 1;
                } else {
                    p.n += 1;
                    p.sum_re += v;
                    p.float_min = p.float_min.min(v);
                    p.float_max = p.float_max.max(v);
                }
            }
        } else {
            for &x in chunk {
                if let Scalar::Int(i) = x.to_scalar() {
                    p.int_sum += i;
                    p.int_min = p.int_min.min(i);
                    p.int_max = p.int_max.max(i);
                }
            }
            p.n = chunk.len() as u64;
            p.sum_re = p.int_sum as f64;
        }
        if p.n > 0 {
            // Second pass over the cache-resident chunk: squared deviations
            // from the chunk's own mean.
            p.mean = p.sum_re / p.n as f64;
            p.m2 = chunk
                .iter()
                .map(|&x| x.to_scalar().as_f64())
                .filter(|v| !v.is_nan())
                .map(|v| (v - p.mean) * (v - p.mean))
                .sum();
        }
        p
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
