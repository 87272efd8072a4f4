//! `Stats` for float16, float32 and float64 against an independent
//! reference computed in float64 with compensated sums, to 1e-9 relative:
//! random arrays (magnitudes from subnormal to the dtype's largest finite
//! value, sign mixtures, large means with tiny spreads, NaNs, lengths
//! crossing the kernel's lane, block and chunk boundaries), and fixed cases
//! for each way the old float32 kernel failed.
//!
//! The reference ([`reference`]) scales the values by a power of two so the
//! largest is in [1, 2) (exact), sums them with Neumaier's compensated
//! summation, and computes M2 by the corrected two-pass formula
//! `Σ(x − m)² − (Σ(x − m))²/n`, so that it is exact to a few units in the
//! last place of an `f64` wherever the true values are in range, and its
//! std is finite where numpy's `nanstd` overflows.
//!
//! `PROPTEST_CASES` overrides the number of random cases.

use half::f16;
use mmarray::stats::Kernel;
use mmarray::{Element, Scalar, Stats};
use proptest::prelude::*;

/// The kernel's chunk length ([`mmarray::stats::CHUNK_ELEMENTS`]).
const CHUNK: usize = mmarray::stats::CHUNK_ELEMENTS;

/// `x · 2^e`, exact unless the result leaves the normal range.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        x *= f64::from_bits(((step + 1023) as u64) << 52);
        e -= step;
    }
    x
}

/// Neumaier's compensated sum.
fn neumaier(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in xs {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

/// What the reference says about the non-NaN values of an array.
#[derive(Debug)]
struct Reference {
    n: usize,
    nan: usize,
    sum: f64,
    mean: f64,
    std: f64,
    /// The largest magnitude, for absolute tolerances near zero.
    largest: f64,
}

fn reference(xs: &[f64]) -> Reference {
    let good: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = good.len();
    let largest = good.iter().fold(0f64, |m, x| m.max(x.abs()));
    let e = if largest > 0.0 {
        largest.log2().floor() as i32
    } else {
        0
    };
    let y: Vec<f64> = good.iter().map(|&x| ldexp(x, -e)).collect();
    let s = neumaier(y.iter().copied());
    let nf = n as f64;
    let m = s / nf;
    let c = neumaier(y.iter().map(|&v| v - m));
    let m2 = neumaier(y.iter().map(|&v| (v - m) * (v - m))) - c * c / nf;
    Reference {
        n,
        nan: xs.len() - n,
        sum: ldexp(s, e),
        mean: ldexp(m + c / nf, e),
        std: ldexp((m2.max(0.0) / nf).sqrt(), e),
        largest,
    }
}

/// Asserts that `stats` agrees with the reference for `xs` (the array's
/// values widened to f64): 1e-9 relative, with an absolute allowance tied
/// to the largest magnitude where the true value is (near) zero.
fn check(stats: &Stats, xs: &[f64], what: &str) {
    let r = reference(xs);
    assert_eq!(stats.count as usize, xs.len(), "{what}: count");
    assert_eq!(stats.nan_count as usize, r.nan, "{what}: nan_count");
    if r.n == 0 {
        assert_eq!(stats.sum, Scalar::Float(0.0), "{what}: sum");
        assert_eq!((stats.mean, stats.std), (None, None), "{what}");
        return;
    }
    let close = |got: f64, want: f64, absolute: f64, field: &str| {
        // Within 1e-9 of the end of the range, the true value's 1e-9 band
        // holds values beyond it: overflowing to inf (or not, where the
        // reference did) is then within it.
        let near_end = |x: f64| x.abs() >= f64::MAX * (1.0 - 1e-9);
        if near_end(want) && near_end(got) && got.signum() == want.signum() {
            return;
        }
        if want.is_infinite() {
            assert_eq!(got, want, "{what}: {field} {got} vs {want} ({r:?})");
        } else {
            assert!(
                got.is_finite() && (got - want).abs() <= 1e-9 * want.abs() + absolute,
                "{what}: {field} {got} vs {want} (off by {:e} relative; {r:?})",
                (got - want).abs() / want.abs()
            );
        }
    };
    let m = r.largest;
    close(stats.sum.as_f64(), r.sum, 1e-9 * m, "sum");
    close(
        stats.mean.unwrap().as_f64(),
        r.mean,
        1e-9 * m / r.n as f64,
        "mean",
    );
    close(stats.std.expect("std"), r.std, 1e-18 * m, "std");
    let min = xs
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::INFINITY, f64::min);
    let max = xs
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(
        (stats.min, stats.max),
        (Some(Scalar::Float(min)), Some(Scalar::Float(max))),
        "{what}: min, max"
    );
}

/// Stats of `xs` converted to `T` (which must hold them exactly), checked
/// against the reference, with every form of the kernel this CPU runs
/// (see [`check_kernels`]).
fn check_as<T: Element + Into<f64> + Copy>(xs: &[T], what: &str) {
    let wide: Vec<f64> = xs.iter().map(|&x| x.into()).collect();
    check_kernels(xs, &wide, what);
}

fn check_f16(xs: &[f16], what: &str) {
    let wide: Vec<f64> = xs.iter().map(|x| x.to_f64()).collect();
    check_kernels(xs, &wide, what);
}

/// `Stats::compute` (the form this CPU picks) and each form of the kernel
/// forced (AVX2 and AVX-512 where the CPU has them, the portable one
/// everywhere) against the reference; the AVX2 and AVX-512 forms, which
/// do the same arithmetic in vectors of different widths, also equal
/// each other bit for bit. So a machine that picks AVX-512 still checks
/// the AVX2 form that other machines run.
fn check_kernels<T: Element>(xs: &[T], wide: &[f64], what: &str) {
    check(&Stats::compute(xs, |_| {}), wide, what);
    let simd: Vec<Kernel> = [Kernel::avx2(), Kernel::avx512()]
        .into_iter()
        .flatten()
        .collect();
    for &kernel in simd.iter().chain([Kernel::portable()].iter()) {
        let s = Stats::compute_with(kernel, xs, |_| {});
        check(&s, wide, &format!("{what} ({})", kernel.name()));
    }
    if let [a, b] = simd[..] {
        let (a, b) = (
            Stats::compute_with(a, xs, |_| {}),
            Stats::compute_with(b, xs, |_| {}),
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}: avx2 vs avx512");
    }
}

// Fixed cases.

#[test]
fn float32_above_1_8e19_has_a_finite_std() {
    // Squares of these overflow f32: the old kernel's std was None.
    let xs: Vec<f32> = (0..5000).map(|i| 2e19 + (i % 7) as f32 * 3e18).collect();
    let s = Stats::compute(&xs, |_| {});
    assert!(s.std.is_some_and(f64::is_finite), "{:?}", s.std);
    check_as(&xs, "f32 above 1.8e19");
}

#[test]
fn float32_max_values_have_exact_moments() {
    let xs: Vec<f32> = (0..(2 * CHUNK + 3))
        .map(|i| match i % 3 {
            0 => f32::MAX,
            1 => -f32::MAX,
            _ => f32::MAX / 3.0,
        })
        .collect();
    check_as(&xs, "f32 max");
    check_as(&[f32::MAX; 100], "f32 all max");
}

#[test]
fn float16_max_values_have_exact_moments() {
    let xs: Vec<f16> = (0..3000)
        .map(|i| if i % 2 == 0 { f16::MAX } else { f16::MIN })
        .collect();
    check_f16(&xs, "f16 ±max");
}

#[test]
fn float64_near_max_has_the_true_finite_std() {
    // numpy's nanstd overflows to inf here; the true std is f64::MAX.
    let xs = [f64::MAX, -f64::MAX];
    let s = Stats::compute(&xs, |_| {});
    assert_eq!(s.std, Some(f64::MAX));
    assert_eq!(s.mean, Some(Scalar::Float(0.0)));
    assert_eq!(s.sum, Scalar::Float(0.0));
    // Across chunks, with values of ordinary size in between.
    let xs: Vec<f64> = (0..(3 * CHUNK + 11))
        .map(|i| match (i / CHUNK, i % 4) {
            (1, _) => (i % 10) as f64 - 4.5,
            (_, 0) => f64::MAX,
            (_, 1) => -f64::MAX * 0.75,
            (_, 2) => 1e300,
            _ => 0.5,
        })
        .collect();
    let s = Stats::compute(&xs, |_| {});
    assert!(s.std.is_some_and(f64::is_finite));
    check(&s, &xs, "f64 near max, mixed chunks");
}

#[test]
fn float64_sum_beyond_the_range_is_infinite_but_mean_and_std_are_not() {
    let xs = [f64::MAX; 3];
    let s = Stats::compute(&xs, |_| {});
    assert_eq!(s.sum, Scalar::Float(f64::INFINITY));
    assert_eq!(s.mean, Some(Scalar::Float(f64::MAX)));
    assert_eq!(s.std, Some(0.0));
}

#[test]
fn float64_tiny_values_keep_their_std() {
    // Squares of these deviations underflow f64.
    let xs: Vec<f64> = (0..5000).map(|i| (i % 13) as f64 * 1e-310).collect();
    let s = Stats::compute(&xs, |_| {});
    assert!(s.std.unwrap() > 0.0);
    check(&s, &xs, "f64 subnormal");
    let xs: Vec<f64> = (0..5000).map(|i| 1e-200 * (1.0 + (i % 5) as f64)).collect();
    check_as(&xs, "f64 1e-200");
}

#[test]
fn large_mean_tiny_spread_in_f32_and_f64() {
    let spread = |i: usize| ((i * 7919) % 201) as f64 / 100.0 - 1.0; // -1..1
    let xs: Vec<f64> = (0..(CHUNK + 1000))
        .map(|i| 1e4 + 1e-2 * spread(i))
        .collect();
    check_as(&xs, "f64 1e4 ± 1e-2");
    let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    check_as(&xs32, "f32 1e4 ± 1e-2");
    let s = Stats::compute(&xs32, |_| {});
    assert!(s.std.unwrap() > 1e-3, "{:?}", s.std);
}

#[test]
fn mixed_signs_cancel_exactly() {
    let xs: Vec<f32> = (0..(BLOCK_CROSSING))
        .map(|i| {
            let v = ((i * 2654435761) % 100_000) as f32 * 37.5 + 1.0;
            if i % 2 == 0 { v } else { -v * 0.999 }
        })
        .collect();
    check_as(&xs, "f32 mixed signs");
    let xs64: Vec<f64> = xs.iter().map(|&x| f64::from(x) * 1e250).collect();
    check_as(&xs64, "f64 mixed signs, 1e250");
}

const BLOCK_CROSSING: usize = 3 * 1024 + 17;

#[test]
fn all_nan_and_empty_are_unchanged() {
    let s = Stats::compute(&[f32::NAN; 5], |_| {});
    assert_eq!((s.count, s.nan_count), (5, 5));
    assert_eq!((s.min, s.max, s.mean, s.std), (None, None, None, None));
    assert_eq!(s.sum, Scalar::Float(0.0));
    let s = Stats::compute::<f64>(&[], |_| {});
    assert_eq!((s.count, s.nan_count, s.mean, s.std), (0, 0, None, None));
    assert_eq!(s.sum, Scalar::Float(0.0));
    let s = Stats::compute(&[f16::NAN; 2], |_| {});
    assert_eq!((s.nan_count, s.std), (2, None));
}

#[test]
fn infinities_still_propagate_like_numpy() {
    let s = Stats::compute(&[f64::MAX, f64::INFINITY, 1.0], |_| {});
    assert_eq!(s.sum, Scalar::Float(f64::INFINITY));
    assert!(s.std.unwrap().is_nan());
    let s = Stats::compute(&[f64::INFINITY, f64::NEG_INFINITY, 1e300], |_| {});
    assert!(s.sum.as_f64().is_nan());
}

// Random arrays.

/// How one random array's values are drawn.
#[derive(Clone, Debug)]
struct Shape {
    len: usize,
    /// Exponents are drawn from `lo..=hi` (clamped to the dtype's range).
    lo: i32,
    hi: i32,
    /// Fraction of negative values, 0..=4 quarters.
    negative_quarters: u32,
    /// Values are `offset · (1 + v · 2^-spread_bits)` instead, when set.
    offset_spread: Option<u32>,
    /// NaNs per 256 values.
    nan_per_256: u32,
    /// The dtype's largest finite value, per 256 values.
    max_per_256: u32,
    seed: u64,
}

fn shapes() -> impl Strategy<Value = Shape> {
    let len = prop_oneof![
        0usize..70,
        1000usize..1100,
        2000usize..4200,
        (CHUNK - 40)..(CHUNK + 40),
        (2 * CHUNK)..(2 * CHUNK + 3000),
    ];
    (
        len,
        -1100i32..1100,
        0i32..80,
        0u32..=4,
        prop::option::weighted(0.3, 5u32..40),
        prop_oneof![Just(0u32), 1u32..40, Just(256)],
        prop_oneof![Just(0u32), 1u32..8],
        any::<u64>(),
    )
        .prop_map(
            |(len, lo, width, negative_quarters, offset_spread, nan_per_256, max_per_256, seed)| {
                Shape {
                    len,
                    lo,
                    hi: lo + width,
                    negative_quarters,
                    offset_spread,
                    nan_per_256,
                    max_per_256,
                    seed,
                }
            },
        )
}

/// The values of `shape` for a dtype with exponents `min_exp..=max_exp`
/// (of its smallest subnormal and its largest value) and largest value
/// `max`, rounded by `round` to the dtype (finite by construction).
fn draw(
    shape: &Shape,
    min_exp: i32,
    max_exp: i32,
    max: f64,
    round: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let mut state = shape.seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let clamp = |e: i32| e.clamp(min_exp, max_exp - 1);
    let (lo, hi) = (clamp(shape.lo), clamp(shape.hi));
    let unit = |r: u64| (r >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let offset = ldexp(1.0 + unit(next()), clamp(shape.hi));
    (0..shape.len)
        .map(|_| {
            let r = next();
            let pick = (r & 0xff) as u32;
            if pick < shape.nan_per_256 {
                return f64::NAN;
            }
            let negative = ((r >> 8) & 3) < u64::from(shape.negative_quarters);
            let sign = if negative { -1.0 } else { 1.0 };
            if ((r >> 10) & 0xff) < u64::from(shape.max_per_256) {
                return sign * max;
            }
            let v = match shape.offset_spread {
                Some(bits) => {
                    offset * (1.0 + (2.0 * unit(next()) - 1.0) * ldexp(1.0, -(bits as i32)))
                }
                None => {
                    let e = lo + (next() % (hi - lo + 1) as u64) as i32;
                    sign * ldexp(1.0 + unit(next()), e)
                }
            };
            round(v.clamp(-max, max))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn float64_stats_match_the_exact_reference(shape in shapes()) {
        let xs = draw(&shape, -1074, 1024, f64::MAX, |v| v);
        check_as(&xs, &format!("f64 {shape:?}"));
    }

    #[test]
    fn float32_stats_match_the_exact_reference(shape in shapes()) {
        let wide = draw(&shape, -149, 128, f64::from(f32::MAX), |v| f64::from(v as f32));
        let xs: Vec<f32> = wide.iter().map(|&v| v as f32).collect();
        check_as(&xs, &format!("f32 {shape:?}"));
    }

    #[test]
    fn float16_stats_match_the_exact_reference(shape in shapes()) {
        let wide = draw(&shape, -24, 16, f16::MAX.to_f64(), |v| f16::from_f64(v).to_f64());
        let xs: Vec<f16> = wide.iter().map(|&v| f16::from_f64(v)).collect();
        check_f16(&xs, &format!("f16 {shape:?}"));
    }
}
