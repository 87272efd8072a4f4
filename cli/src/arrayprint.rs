//! Arrays as text, character for character as numpy's `np.array2string`
//! prints them with its default options (which is also `print(a)` for
//! arrays of one or more dimensions).
//!
//! This module owns numpy's printing rules, ported from numpy's
//! `arrayprint.py`: nested brackets; one width for every element so that
//! columns line up; lines wrapped at 75 characters; arrays of over 1000
//! elements summarised to their first and last 3 items per axis around
//! `...`; and the per-type formats (`IntegerFormat`, `BoolFormat`,
//! `FloatingFormat` with `floatmode='maxprec'` and `precision=8`,
//! `ComplexFloatingFormat`). Floats use the shortest digits that read back as
//! the same value *of the element type* (so a float32 `0.1` prints `0.1`),
//! rounded to 8 decimals when longer, and switch to scientific notation as
//! numpy (2.2 and later) does: values under 1e-4, spanning more than a
//! factor of 1000, or reaching 1e8 (1e6 for float32, 1e3 for float16).
//!
//! The entry point is [`array2string`]. Everything below it works on
//! element-type-free values ([`Value`]), built once per shown element.

use mmarray::{Element, Scalar};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

/// Arrays with more elements than this are summarised (numpy's `threshold`).
const THRESHOLD: usize = 1000;
/// Items kept at each end of a summarised axis (numpy's `edgeitems`).
const EDGE_ITEMS: usize = 3;
/// Lines are wrapped to fit in this many characters (numpy's `linewidth`).
const LINE_WIDTH: usize = 75;
/// Most digits after the point for floats (numpy's `precision`).
const PRECISION: usize = 8;

/// `view` as numpy's `np.array2string(view)` prints it.
pub fn array2string<T: Element>(view: ArrayViewD<'_, T>) -> String {
    array2string_decoded(view, |x| x)
}

/// [`array2string`] of a view of elements stored in the other byte order
/// than this machine's, read in place: each element shown is swapped
/// ([`Element::byte_swapped`]) as it is formatted, so the text is that of
/// the same values stored natively.
pub fn array2string_swapped<T: Element>(view: ArrayViewD<'_, T>) -> String {
    array2string_decoded(view, T::byte_swapped)
}

/// [`array2string`] of the values `decode` makes of the elements of
/// `view`; only the elements shown are decoded.
fn array2string_decoded<T: Element>(view: ArrayViewD<'_, T>, decode: fn(T) -> T) -> String {
    if view.ndim() > 0 && view.is_empty() {
        return "[]".to_string();
    }
    // Summarising keeps EDGE_ITEMS at each end of every long axis; only
    // those elements are read, formatted and measured.
    let summarise = view.len() > THRESHOLD;
    let summarised: Vec<bool> = view
        .shape()
        .iter()
        .map(|&n| summarise && n > 2 * EDGE_ITEMS)
        .collect();
    let mut shown: Option<ArrayD<T>> = None;
    for (axis, &cut) in summarised.iter().enumerate() {
        if cut {
            let n = view.shape()[axis];
            let keep: Vec<usize> = (0..EDGE_ITEMS).chain(n - EDGE_ITEMS..n).collect();
            shown = Some(match &shown {
                Some(a) => a.select(Axis(axis), &keep),
                None => view.select(Axis(axis), &keep),
            });
        }
    }
    let shown = shown.as_ref().map_or_else(|| view.view(), |a| a.view());
    let thresholds = Thresholds::of::<T>();
    let values = shown.map(|&x| Value::of(decode(x)));
    let format = Format::new(values.iter(), shown.ndim() == 0, &thresholds);
    let words = values.map(|v| format.apply(v));
    layout(words.view(), &summarised)
}

/// One element, without its Rust type: what the formats need.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Bool(bool),
    Int(i128),
    Float(Real),
    Complex(Real, Real),
}

impl Value {
    /// `x` as a value, with the shortest digits of each float part worked
    /// out in `T`'s own precision.
    fn of<T: Element>(x: T) -> Value {
        let is_bool = T::TYPE.kind() == 'b';
        match x.to_scalar() {
            Scalar::Int(i) if is_bool => Value::Bool(i != 0),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Float(f) => Value::Float(Real::new(f, |c| {
                T::from_scalar(Scalar::Float(c)).to_scalar().as_f64() == f
            })),
            Scalar::Complex(re, im) => {
                let parts = |c: Scalar| match c {
                    Scalar::Complex(r, i) => (r, i),
                    other => (other.as_f64(), 0.0),
                };
                Value::Complex(
                    Real::new(re, |c| {
                        parts(T::from_scalar(Scalar::Complex(c, im)).to_scalar()).0 == re
                    }),
                    Real::new(im, |c| {
                        parts(T::from_scalar(Scalar::Complex(re, c)).to_scalar()).1 == im
                    }),
                )
            }
        }
    }
}

/// numpy's limits for switching to scientific notation, in the element
/// type's precision: numpy compares in the array's own dtype, so a float32
/// `0.0001` is not below float32 `1e-4`, and a float16 ratio can overflow.
struct Thresholds {
    small: f64,
    large: f64,
    /// Rounds an `f64` to the element type (to inf beyond its range).
    round: fn(f64) -> f64,
}

/// `v` rounded to the nearest value of `T`, as an `f64`.
fn round_to<T: Element>(v: f64) -> f64 {
    T::from_scalar(Scalar::Float(v)).to_scalar().as_f64()
}

impl Thresholds {
    fn of<T: Element>() -> Thresholds {
        let round = round_to::<T>;
        // numpy (from 2.2) switches at 10^min(8, decimal digits of the
        // type): 1e3 for float16, 1e6 for float32, 1e8 for float64. The
        // digits are numpy's `finfo.precision`, floor(mantissa bits × log10 2),
        // and the mantissa bits are found by asking the type itself.
        let mantissa_bits = (1..=53)
            .find(|&k| round(1.0 + 0.5f64.powi(k)) == 1.0)
            .map_or(52, |k| k - 1);
        let digits = (f64::from(mantissa_bits) * std::f64::consts::LOG10_2).floor() as i32;
        Thresholds {
            small: round(1e-4),
            large: round(10f64.powi(digits.min(8))),
            round,
        }
    }
}

/// A float part: its value, and for finite values the shortest digits that
/// identify it among values of its element type.
#[derive(Clone, Debug, PartialEq)]
struct Real {
    value: f64,
    digits: Option<Digits>,
}

impl Real {
    /// `value` with the shortest digits for which `round_trips` holds.
    fn new(value: f64, round_trips: impl Fn(f64) -> bool) -> Real {
        Real {
            value,
            digits: value.is_finite().then(|| shortest(value, round_trips)),
        }
    }
}

/// A finite float as decimal digits: `±d.ddd × 10^exp`. Zero is `"0"`, 0.
#[derive(Clone, Debug, PartialEq)]
struct Digits {
    negative: bool,
    digits: String,
    exp: i32,
}

impl Digits {
    /// Parses Rust's `{:e}` output of a non-negative number (`"1.25e-3"`).
    fn from_exp_notation(s: &str, negative: bool) -> Digits {
        let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
        let mut exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        // Rust writes no leading zeros, except for zero itself.
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Digits {
                negative,
                digits: "0".into(),
                exp: 0,
            };
        }
        exp -= (digits.len() - trimmed.len()) as i32;
        digits = trimmed.trim_end_matches('0').to_string();
        Digits {
            negative,
            digits,
            exp,
        }
    }

    /// Parses Rust's `{:.N}` output of a non-negative number (`"0.0125"`).
    fn from_positional(s: &str, negative: bool) -> Digits {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let exp = int.len() as i32 - 1;
        Digits::from_exp_notation(&format!("{int}{frac}e{exp}"), negative)
    }

    fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    /// Digits after the point in positional notation.
    fn fraction_len(&self) -> usize {
        if self.is_zero() {
            0
        } else {
            (self.digits.len() as i64 - 1 - i64::from(self.exp)).max(0) as usize
        }
    }

    /// Positional notation as (integer part, fraction part), unsigned.
    fn positional(&self) -> (String, String) {
        if self.is_zero() {
            return ("0".into(), String::new());
        }
        if self.exp < 0 {
            let zeros = "0".repeat((-self.exp - 1) as usize);
            return ("0".into(), format!("{zeros}{}", self.digits));
        }
        let int_len = self.exp as usize + 1;
        if self.digits.len() <= int_len {
            let zeros = "0".repeat(int_len - self.digits.len());
            (format!("{}{zeros}", self.digits), String::new())
        } else {
            let (i, f) = self.digits.split_at(int_len);
            (i.to_string(), f.to_string())
        }
    }
}

/// The shortest decimal that reads back (`round_trips`) as `value`, the one
/// nearest `value` among those of that length: Dragon4's "unique" mode,
/// as numpy prints floats. `round_trips` tells whether a decimal (read as
/// the nearest `f64`) rounds to the same value of the element type.
fn shortest(value: f64, round_trips: impl Fn(f64) -> bool) -> Digits {
    let negative = value.is_sign_negative();
    let v = value.abs();
    // Rust's `{:e}` is the shortest for f64; narrower types may need fewer.
    let full = Digits::from_exp_notation(&format!("{v:e}"), negative);
    if v == 0.0 {
        return full;
    }
    for n in 1..full.digits.len() {
        let rounded = format!("{:.*e}", n - 1, v);
        let best = std::iter::once(rounded.clone())
            .chain(neighbours(&rounded))
            .filter(|s| {
                s.parse::<f64>()
                    .is_ok_and(|c| round_trips(if negative { -c } else { c }))
            })
            .min_by(|a, b| {
                let distance = |s: &String| (s.parse::<f64>().unwrap_or(f64::INFINITY) - v).abs();
                distance(a).total_cmp(&distance(b))
            });
        if let Some(s) = best {
            return Digits::from_exp_notation(&s, negative);
        }
    }
    full
}

/// The decimals one unit in the last place above and below `s` (`"d.dde±x"`).
fn neighbours(s: &str) -> Vec<String> {
    let Some((mantissa, exp)) = s.split_once('e') else {
        return Vec::new();
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return Vec::new();
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let Ok(m) = digits.parse::<u64>() else {
        return Vec::new();
    };
    let scale = exp - (digits.len() as i32 - 1);
    [m + 1, m.saturating_sub(1)]
        .into_iter()
        .filter(|&k| k > 0)
        .map(|k| {
            // Back to `d.ddde±x`, the form `Digits::from_exp_notation` reads.
            let k = k.to_string();
            let (first, rest) = k.split_at(1);
            let exp = scale + k.len() as i32 - 1;
            if rest.is_empty() {
                format!("{first}e{exp}")
            } else {
                format!("{first}.{rest}e{exp}")
            }
        })
        .collect()
}

/// `value`'s digits rounded, as Dragon4 does with a cutoff, to at most
/// `max_fraction` digits after the point (positional) or after the first
/// digit (scientific). `value` is the exact value, so rounding it is
/// rounding the element.
fn cut(real: &Real, digits: &Digits, max_fraction: usize, scientific: bool) -> Digits {
    let v = real.value.abs();
    if scientific {
        if digits.digits.len().saturating_sub(1) > max_fraction {
            return Digits::from_exp_notation(&format!("{v:.max_fraction$e}"), digits.negative);
        }
    } else if digits.fraction_len() > max_fraction {
        return Digits::from_positional(&format!("{v:.max_fraction$}"), digits.negative);
    }
    digits.clone()
}

/// The sign to write before a number: `-` when negative, `+` when asked.
fn sign(negative: bool, plus: bool) -> &'static str {
    if negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    }
}

/// numpy's `FloatingFormat`: one layout (positional or scientific, padding,
/// digits) chosen from every shown value, then applied to each.
#[derive(Debug)]
struct FloatFormat {
    scientific: bool,
    /// Most digits after the point (positional) or exactly this many
    /// (scientific, where numpy pads with zeros).
    precision: usize,
    pad_left: usize,
    pad_right: usize,
    exp_size: usize,
    plus: bool,
}

impl FloatFormat {
    fn new<'a>(
        reals: impl Iterator<Item = &'a Real> + Clone,
        plus: bool,
        t: &Thresholds,
    ) -> FloatFormat {
        let finite = reals
            .clone()
            .filter_map(|r| r.digits.as_ref().map(|d| (r, d)));
        let mut format = FloatFormat {
            scientific: false,
            precision: PRECISION,
            pad_left: 0,
            pad_right: 0,
            exp_size: 0,
            plus,
        };
        let non_zero = finite
            .clone()
            .map(|(r, _)| r.value.abs())
            .filter(|&v| v != 0.0);
        let (min, max) = non_zero.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if min <= max {
            format.scientific = max >= t.large || min < t.small || (t.round)(max / min) > 1000.0;
        }
        if finite.clone().next().is_none() {
            // Only nan and inf: nothing to measure.
        } else if format.scientific {
            let mut frac_len = 0;
            let mut exp_len = 0;
            for (r, d) in finite.clone() {
                let c = cut(r, d, PRECISION, true);
                frac_len = frac_len.max(c.digits.len() - 1);
                exp_len = exp_len.max(exponent(c.exp, 0).len());
                let int = 1 + sign(c.negative, plus).len();
                format.pad_left = format.pad_left.max(int);
            }
            format.exp_size = exp_len - 1;
            format.precision = frac_len;
            format.pad_right = format.exp_size + 2 + format.precision;
        } else {
            for (r, d) in finite.clone() {
                let c = cut(r, d, PRECISION, false);
                let (int, frac) = c.positional();
                let int = int.len() + sign(c.negative, plus).len();
                format.pad_left = format.pad_left.max(int);
                format.pad_right = format.pad_right.max(frac.len());
            }
        }
        let total = reals.clone().count();
        if finite.count() != total {
            let neg_inf = plus || reals.clone().any(|r| r.value == f64::NEG_INFINITY);
            let offset = format.pad_right + 1;
            let nan = 3usize.saturating_sub(offset);
            let inf = (3 + usize::from(neg_inf)).saturating_sub(offset);
            format.pad_left = format.pad_left.max(nan).max(inf);
        }
        format
    }

    fn apply(&self, r: &Real) -> String {
        let Some(digits) = &r.digits else {
            let word = if r.value.is_nan() {
                format!("{}nan", sign(false, self.plus))
            } else {
                format!("{}inf", sign(r.value < 0.0, self.plus))
            };
            let width = self.pad_left + self.pad_right + 1;
            return format!("{word:>width$}");
        };
        let sign = sign(digits.negative, self.plus);
        if self.scientific {
            // numpy asks Dragon4 for at least `precision` digits: past the
            // shortest ones come the exact value's, not zeros.
            let p = self.precision;
            let c = if digits.digits.len() > p {
                cut(r, digits, p, true)
            } else {
                Digits::from_exp_notation(&format!("{:.p$e}", r.value.abs()), digits.negative)
            };
            let c = Digits {
                digits: format!("{:0<width$}", c.digits, width = p + 1),
                ..c
            };
            let (first, rest) = c.digits.split_at(1);
            let int = format!("{sign}{first}");
            let exp = exponent(c.exp, self.exp_size);
            format!(
                "{int:>pl$}.{rest:0<p$}e{exp}",
                pl = self.pad_left,
                p = self.precision
            )
        } else {
            let c = cut(r, digits, self.precision, false);
            let (int, frac) = c.positional();
            let int = format!("{sign}{int}");
            format!(
                "{int:>pl$}.{frac:<pr$}",
                pl = self.pad_left,
                pr = self.pad_right
            )
        }
    }
}

/// An exponent as numpy writes it: a sign and at least `digits` (and at
/// least 2) digits.
fn exponent(exp: i32, digits: usize) -> String {
    let width = digits.max(2);
    let s = if exp < 0 { '-' } else { '+' };
    format!("{s}{:0width$}", exp.unsigned_abs())
}

/// The format for a whole array's shown elements.
#[derive(Debug)]
enum Format {
    /// `True`/`False`; non-0-d arrays pad `True` to `False`'s width.
    Bool {
        zero_d: bool,
    },
    /// Right-aligned to the widest.
    Int {
        width: usize,
    },
    Float(FloatFormat),
    Complex(FloatFormat, FloatFormat),
}

impl Format {
    fn new<'a>(
        values: impl Iterator<Item = &'a Value> + Clone,
        zero_d: bool,
        t: &Thresholds,
    ) -> Format {
        match values.clone().next() {
            None | Some(Value::Bool(_)) => Format::Bool { zero_d },
            Some(Value::Int(_)) => {
                let (min, max) = values.fold((i128::MAX, i128::MIN), |(lo, hi), v| match v {
                    Value::Int(i) => (lo.min(*i), hi.max(*i)),
                    _ => (lo, hi),
                });
                Format::Int {
                    width: min.to_string().len().max(max.to_string().len()),
                }
            }
            Some(Value::Float(_)) => Format::Float(FloatFormat::new(
                values.filter_map(|v| match v {
                    Value::Float(r) => Some(r),
                    _ => None,
                }),
                false,
                t,
            )),
            Some(Value::Complex(..)) => {
                let re = values.clone().filter_map(|v| match v {
                    Value::Complex(r, _) => Some(r),
                    _ => None,
                });
                let im = values.filter_map(|v| match v {
                    Value::Complex(_, i) => Some(i),
                    _ => None,
                });
                Format::Complex(
                    FloatFormat::new(re, false, t),
                    FloatFormat::new(im, true, t),
                )
            }
        }
    }

    fn apply(&self, v: &Value) -> String {
        match (self, v) {
            (Format::Bool { zero_d }, Value::Bool(b)) => match (b, zero_d) {
                (true, true) => "True".into(),
                (true, false) => " True".into(),
                (false, _) => "False".into(),
            },
            (Format::Int { width }, Value::Int(i)) => format!("{i:>width$}"),
            (Format::Float(f), Value::Float(r)) => f.apply(r),
            (Format::Complex(fr, fi), Value::Complex(re, im)) => {
                let r = fr.apply(re);
                let i = fi.apply(im);
                // The `j` goes before the imaginary part's padding.
                let end = i.trim_end().len();
                format!("{r}{}j{}", &i[..end], &i[end..])
            }
            // Every value of one array has the same kind.
            (_, other) => format!("{other:?}"),
        }
    }
}

/// numpy's `_formatArray`: brackets, separators, line wrapping and `...`,
/// over already formatted words. `summarised[axis]` says whether that axis
/// was cut to its first and last EDGE_ITEMS.
fn layout(words: ArrayViewD<'_, String>, summarised: &[bool]) -> String {
    if words.ndim() == 0 {
        return words.iter().next().cloned().unwrap_or_default();
    }
    let mut index = Vec::with_capacity(words.ndim());
    nest(&words, summarised, &mut index, " ", LINE_WIDTH)
}

fn nest(
    words: &ArrayViewD<'_, String>,
    summarised: &[bool],
    index: &mut Vec<usize>,
    hanging: &str,
    width: usize,
) -> String {
    let axis = index.len();
    let axes_left = words.ndim() - axis;
    if axes_left == 0 {
        return words[IxDyn(index)].clone();
    }
    let next_hanging = format!("{hanging} ");
    let next_width = width.saturating_sub(1);
    let len = words.shape()[axis];
    let summary = summarised[axis];
    let (leading, trailing) = if summary {
        (EDGE_ITEMS, EDGE_ITEMS)
    } else {
        (0, len)
    };
    let child = |i: usize, index: &mut Vec<usize>| {
        index.push(i);
        let s = nest(words, summarised, index, &next_hanging, next_width);
        index.pop();
        s
    };
    let mut s = String::new();
    if axes_left == 1 {
        let elem_width = width.saturating_sub(1);
        let mut line = hanging.to_string();
        for i in 0..leading {
            let word = child(i, index);
            extend_line(&mut s, &mut line, &word, elem_width, hanging);
            line.push(' ');
        }
        if summary {
            extend_line(&mut s, &mut line, "...", elem_width, hanging);
            line.push(' ');
        }
        for i in len - trailing..len - 1 {
            let word = child(i, index);
            extend_line(&mut s, &mut line, &word, elem_width, hanging);
            line.push(' ');
        }
        let word = child(len - 1, index);
        extend_line(&mut s, &mut line, &word, elem_width, hanging);
        s.push_str(&line);
    } else {
        let line_sep = "\n".repeat(axes_left - 1);
        for i in 0..leading {
            s.push_str(hanging);
            s.push_str(&child(i, index));
            s.push_str(&line_sep);
        }
        if summary {
            s.push_str(hanging);
            s.push_str("...");
            s.push_str(&line_sep);
        }
        for i in len - trailing..len - 1 {
            s.push_str(hanging);
            s.push_str(&child(i, index));
            s.push_str(&line_sep);
        }
        s.push_str(hanging);
        s.push_str(&child(len - 1, index));
    }
    format!("[{}]", &s[hanging.len()..])
}

/// numpy's `_extendLine`: starts a new line when `word` would not fit,
/// unless the line holds nothing but its indent.
fn extend_line(s: &mut String, line: &mut String, word: &str, width: usize, hanging: &str) {
    let fits = line.len() + word.len() <= width;
    if !fits && line.len() > hanging.len() {
        s.push_str(line.trim_end());
        s.push('\n');
        *line = hanging.to_string();
    }
    line.push_str(word);
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;
    use ndarray::{ArrayD, IxDyn, arr1, arr2};
    use num_complex::Complex;

    fn show<T: Element>(a: &ArrayD<T>) -> String {
        array2string(a.view())
    }

    fn show1<T: Element + Clone>(v: &[T]) -> String {
        show(&arr1(v).into_dyn())
    }

    fn digits(v: f64) -> String {
        let d = shortest(v, |c| c == v);
        format!(
            "{}{}e{}",
            if d.negative { "-" } else { "" },
            d.digits,
            d.exp
        )
    }

    #[test]
    fn shortest_digits() {
        assert_eq!(digits(0.1), "1e-1");
        assert_eq!(digits(1.0), "1e0");
        assert_eq!(digits(-0.0), "-0e0");
        assert_eq!(digits(123.456), "123456e2");
        assert_eq!(digits(1e300), "1e300");
        assert_eq!(digits(5e-324), "5e-324");
        // float32 and float16 values print with their own precision.
        let f32_tenth = 0.1f32 as f64;
        let d = shortest(f32_tenth, |c| c as f32 as f64 == f32_tenth);
        assert_eq!((d.digits.as_str(), d.exp), ("1", -1));
        let f16_tenth = f16::from_f64(0.1).to_f64();
        let d = shortest(f16_tenth, |c| f16::from_f64(c).to_f64() == f16_tenth);
        assert_eq!((d.digits.as_str(), d.exp), ("1", -1));
        // A power of two, where the gap below is half the gap above: the
        // shortest decimal is above the value (float32 2^-30 is 9.313226e-10).
        let p = (2f32).powi(-30) as f64;
        let d = shortest(p, |c| c as f32 as f64 == p);
        assert_eq!(format!("{}e{}", d.digits, d.exp), "9313226e-10");
        assert_eq!((2f32).powi(-30).to_string(), "0.0000000009313226");
    }

    #[test]
    fn integers() {
        assert_eq!(show1(&[1i32, 2, 3]), "[1 2 3]");
        assert_eq!(show1(&[-5i64, 10, 200]), "[ -5  10 200]");
        assert_eq!(
            show1(&[u64::MAX, 0]),
            "[18446744073709551615                    0]"
        );
        assert_eq!(show(&ArrayD::from_elem(IxDyn(&[]), -5i8)), "-5");
        assert_eq!(
            show(&arr2(&[[1u8, 2], [30, 4]]).into_dyn()),
            "[[ 1  2]\n [30  4]]"
        );
    }

    #[test]
    fn bools() {
        assert_eq!(show1(&[true, false, true]), "[ True False  True]");
        assert_eq!(show1(&[true, true]), "[ True  True]");
        assert_eq!(show(&ArrayD::from_elem(IxDyn(&[]), true)), "True");
        assert_eq!(show(&ArrayD::from_elem(IxDyn(&[]), false)), "False");
    }

    #[test]
    fn floats_positional() {
        assert_eq!(show1(&[1.5f64, 10.25]), "[ 1.5  10.25]");
        assert_eq!(show1(&[1.0f64, 2.0]), "[1. 2.]");
        assert_eq!(show1(&[-0.0f64, 1.0]), "[-0.  1.]");
        assert_eq!(show1(&[0.001953125f64, 1.0]), "[0.00195312 1.        ]");
        assert_eq!(
            show1(&[0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0]),
            "[0.3        0.33333333 0.66666667]"
        );
        assert_eq!(show1(&[0.1f32, 1.0 / 3.0]), "[0.1        0.33333334]");
        assert_eq!(show1(&[f16::from_f64(0.1)]), "[0.1]");
        assert_eq!(
            show1(&[f16::from_f64(-109.4), f16::from_f64(46.12)]),
            "[-109.4    46.12]"
        );
        assert_eq!(show1(&[0.0001f32]), "[0.0001]");
        assert_eq!(show1(&[0.0001f64]), "[0.0001]");
        assert_eq!(show(&ArrayD::from_elem(IxDyn(&[]), 1.0f64)), "1.");
        assert_eq!(show1(&[99999999.0f64]), "[99999999.]");
    }

    #[test]
    fn floats_scientific() {
        assert_eq!(show1(&[1e10f64, 2e10]), "[1.e+10 2.e+10]");
        assert_eq!(show1(&[1e-5f64, 1e100]), "[1.e-005 1.e+100]");
        assert_eq!(
            show1(&[123456789.0f64, 1.5]),
            "[1.23456789e+08 1.50000000e+00]"
        );
        assert_eq!(show1(&[1e-5f64, 1.5e-5]), "[1.0e-05 1.5e-05]");
        assert_eq!(show1(&[-1e-5f64, 1.5e-5]), "[-1.0e-05  1.5e-05]");
        assert_eq!(show1(&[0.0f64, 1e-9]), "[0.e+00 1.e-09]");
        assert_eq!(show1(&[1.0f64, 1001.0]), "[1.000e+00 1.001e+03]");
        // Digits past the shortest come from the exact value, not zeros.
        assert_eq!(
            show1(&[f16::from_f64(2f64.powi(-24)), f16::from_f64(-372.5)]),
            "[ 5.960e-08 -3.725e+02]"
        );
        assert_eq!(show1(&[0.1f32, 1e-5]), "[1.e-01 1.e-05]");
        assert_eq!(show1(&[0.1f32, 1.5e-5]), "[1.0e-01 1.5e-05]");
    }

    #[test]
    fn non_finite() {
        assert_eq!(show1(&[f64::NAN, f64::NEG_INFINITY]), "[ nan -inf]");
        assert_eq!(show1(&[1.0, f64::NAN, 2.5]), "[1.  nan 2.5]");
        assert_eq!(show1(&[f64::INFINITY, 1e-5]), "[   inf 1.e-05]");
        assert_eq!(show1(&[f64::NAN, f64::NAN]), "[nan nan]");
        assert_eq!(show(&ArrayD::from_elem(IxDyn(&[]), f32::NAN)), "nan");
    }

    #[test]
    fn complex() {
        let c = |re, im| Complex::new(re, im);
        assert_eq!(show1(&[c(1.5f64, 2.0), c(3.0, -1.0)]), "[1.5+2.j 3. -1.j]");
        assert_eq!(
            show(&ArrayD::from_elem(IxDyn(&[]), Complex::new(1.0f32, 2.0))),
            "1.+2.j"
        );
        assert_eq!(
            show1(&[c(1.0f64, f64::NAN), c(2.0, -1.0)]),
            "[1.+nanj 2. -1.j]"
        );
        assert_eq!(
            show1(&[c(f64::NAN, f64::NAN), c(2.0, -1.0)]),
            "[nan+nanj  2. -1.j]"
        );
        assert_eq!(show1(&[Complex::new(0.1f32, -0.0)]), "[0.1-0.j]");
    }

    #[test]
    fn empty_and_nested() {
        assert_eq!(show(&ArrayD::<f64>::zeros(IxDyn(&[0, 3]))), "[]");
        assert_eq!(show(&ArrayD::<i32>::zeros(IxDyn(&[0]))), "[]");
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24i64).collect()).unwrap();
        assert_eq!(
            show(&a),
            "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]"
        );
        let a = ArrayD::from_shape_vec(IxDyn(&[1, 1, 1]), vec![7u8]).unwrap();
        assert_eq!(show(&a), "[[[7]]]");
    }

    #[test]
    fn wraps_long_lines() {
        let v: Vec<f64> = (0..30).map(|i| i as f64 / 29.0).collect();
        assert_eq!(
            show1(&v),
            "[0.         0.03448276 0.06896552 0.10344828 0.13793103 0.17241379\n \
             0.20689655 0.24137931 0.27586207 0.31034483 0.34482759 0.37931034\n \
             0.4137931  0.44827586 0.48275862 0.51724138 0.55172414 0.5862069\n \
             0.62068966 0.65517241 0.68965517 0.72413793 0.75862069 0.79310345\n \
             0.82758621 0.86206897 0.89655172 0.93103448 0.96551724 1.        ]"
        );
    }

    #[test]
    fn summarises_large_arrays() {
        let v: Vec<f64> = (0..2000).map(f64::from).collect();
        assert_eq!(
            show1(&v),
            "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]"
        );
        let v: Vec<i32> = (0..1001).collect();
        assert_eq!(show1(&v), "[   0    1    2 ...  998  999 1000]");
        let a = ArrayD::from_shape_vec(IxDyn(&[100, 100]), (0..10000i32).collect()).unwrap();
        assert_eq!(
            show(&a),
            "[[   0    1    2 ...   97   98   99]\n [ 100  101  102 ...  197  198  199]\n \
             [ 200  201  202 ...  297  298  299]\n ...\n [9700 9701 9702 ... 9797 9798 9799]\n \
             [9800 9801 9802 ... 9897 9898 9899]\n [9900 9901 9902 ... 9997 9998 9999]]"
        );
        // 1296 elements, but no axis is long enough to cut.
        let a = ArrayD::from_elem(IxDyn(&[6, 6, 6, 6]), 0u8);
        assert!(!show(&a).contains("..."));
    }

    #[test]
    fn exponents() {
        assert_eq!(exponent(5, 0), "+05");
        assert_eq!(exponent(-100, 0), "-100");
        assert_eq!(exponent(-5, 3), "-005");
    }

    #[test]
    fn thresholds_follow_the_element_type() {
        let t = Thresholds::of::<f64>();
        assert_eq!(t.small, 1e-4);
        assert_eq!(t.large, 1e8);
        let t = Thresholds::of::<f32>();
        assert_eq!(t.small, 1e-4f32 as f64);
        assert_eq!(t.large, 1e6);
        assert_eq!(Thresholds::of::<f16>().large, 1e3);
        assert_eq!(Thresholds::of::<Complex<f32>>().large, 1e6);
        assert_eq!(Thresholds::of::<Complex<f64>>().large, 1e8);
        assert_eq!((t.round)(1e300), f64::INFINITY);
    }
}
