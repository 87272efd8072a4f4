//! `--slice`: numpy's basic indexing, parsed from text and applied to a view
//! without copying.
//!
//! The syntax is what goes between the brackets of `a[...]` in Python,
//! restricted to basic indexing: comma-separated items, one per axis, each an
//! integer `i` (negative counts from the end; the axis is dropped),
//! `start:stop` or `start:stop:step` with any part optional and negative
//! values and steps allowed, or `...` (at most one, standing for as many `:`
//! as needed). Axes not named at the end are taken whole. Slices clamp to
//! the axis like Python's; an integer out of range is an error naming the
//! axis, as numpy's `IndexError` does.
//!
//! This module owns the parser ([`parse`]), the resolution against a shape
//! into ndarray's [`SliceInfoElem`]s ([`resolve`]) and applying them
//! ([`apply`]). It knows nothing of files or element types.

use std::fmt;

use ndarray::{ArrayViewD, IxDyn, SliceInfo, SliceInfoElem};

/// One comma-separated item of a slice expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// `i`: one position; the axis is dropped.
    Index(i64),
    /// `start:stop:step`, each part optional.
    Range {
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
    },
    /// `...`: as many whole axes as the other items leave.
    Ellipsis,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
        match *self {
            Item::Index(i) => write!(f, "{i}"),
            Item::Ellipsis => f.write_str("..."),
            Item::Range { start, stop, step } => {
                write!(f, "{}:{}", part(start), part(stop))?;
                match step {
                    Some(s) => write!(f, ":{s}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Parses a slice expression such as `"0:5, :, -1"` or `"..., ::-2"`. An
/// empty (or all-blank) expression selects everything. A trailing comma is
/// allowed, as in Python (`"0,"`).
pub fn parse(text: &str) -> Result<Vec<Item>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let last = parts.len() - 1;
    let mut items = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            if i == last && i > 0 {
                break; // "0," is a one-item tuple in Python
            }
            return Err(format!(
                "slice {text:?} has an empty item; write : for a whole axis"
            ));
        }
        items.push(parse_item(part)?);
    }
    if items.iter().filter(|&&item| item == Item::Ellipsis).count() > 1 {
        return Err(format!(
            "slice {text:?} has more than one ...; an index can only have a single ellipsis"
        ));
    }
    Ok(items)
}

fn parse_item(part: &str) -> Result<Item, String> {
    if part == "..." {
        return Ok(Item::Ellipsis);
    }
    let number = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>().map(Some).map_err(|_| {
            format!(
                "{part:?} is not a slice item: expected an integer, start:stop, start:stop:step or ..."
            )
        })
    };
    let pieces: Vec<&str> = part.split(':').collect();
    match pieces.as_slice() {
        [single] => number(single)?.map(Item::Index).ok_or_else(|| {
            format!("{part:?} is not a slice item: expected an integer, start:stop, start:stop:step or ...")
        }),
        [start, stop] => Ok(Item::Range {
            start: number(start)?,
            stop: number(stop)?,
            step: None,
        }),
        [start, stop, step] => Ok(Item::Range {
            start: number(start)?,
            stop: number(stop)?,
            step: number(step)?,
        }),
        _ => Err(format!(
            "{part:?} has too many colons: a slice is start:stop or start:stop:step"
        )),
    }
}

/// Resolves `items` against an array of `shape`: expands `...` and missing
/// trailing axes to whole axes, checks integer indices and turns Python's
/// slice semantics (clamping, negative steps) into ndarray's.
pub fn resolve(items: &[Item], shape: &[usize]) -> Result<Vec<SliceInfoElem>, String> {
    let ndim = shape.len();
    let named = items.iter().filter(|&&i| i != Item::Ellipsis).count();
    if named > ndim {
        return Err(format!(
            "too many indices: the array is {ndim}-dimensional, but {named} were given"
        ));
    }
    let whole = Item::Range {
        start: None,
        stop: None,
        step: None,
    };
    let mut expanded = Vec::with_capacity(ndim);
    for &item in items {
        if item == Item::Ellipsis {
            expanded.extend(std::iter::repeat_n(whole, ndim - named));
        } else {
            expanded.push(item);
        }
    }
    expanded.resize(ndim, whole);
    expanded
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(axis, (&item, &len))| resolve_item(item, axis, len))
        .collect()
}

fn resolve_item(item: Item, axis: usize, len: usize) -> Result<SliceInfoElem, String> {
    let n = len as i128;
    match item {
        Item::Index(i) => {
            let j = if i < 0 {
                i128::from(i) + n
            } else {
                i128::from(i)
            };
            if !(0..n).contains(&j) {
                return Err(format!(
                    "index {i} is out of bounds for axis {axis} with size {len}"
                ));
            }
            Ok(SliceInfoElem::Index(j as isize))
        }
        Item::Range { start, stop, step } => {
            let step = i128::from(step.unwrap_or(1));
            if step == 0 {
                return Err(format!("slice step cannot be zero (axis {axis})"));
            }
            let (first, count) =
                python_indices(start.map(i128::from), stop.map(i128::from), step, n);
            Ok(to_ndarray_slice(first, count, step))
        }
        Item::Ellipsis => Err("internal: ... left after expansion".into()),
    }
}

/// Python's `slice(start, stop, step).indices(n)`, as the first index and
/// the number of elements selected.
fn python_indices(start: Option<i128>, stop: Option<i128>, step: i128, n: i128) -> (i128, i128) {
    // Negative values count from the end; then clamp to what the direction
    // allows: [0, n] going forwards, [-1, n-1] going backwards.
    let (low, high) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let clamp = |v: i128| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(low, high)
    };
    let start = start.map_or(if step > 0 { 0 } else { n - 1 }, clamp);
    let stop = stop.map_or(if step > 0 { n } else { -1 }, clamp);
    let count = if step > 0 {
        (stop - start + step - 1).div_euclid(step)
    } else {
        (start - stop - step - 1).div_euclid(-step)
    };
    (start, count.max(0))
}

/// ndarray's slice for `count` elements `first, first+step, ...`. ndarray
/// takes a range and walks it from its far end when the step is negative.
fn to_ndarray_slice(first: i128, count: i128, step: i128) -> SliceInfoElem {
    let (start, end) = if count == 0 {
        (0, 0)
    } else if step > 0 {
        (first, first + (count - 1) * step + 1)
    } else {
        (first + (count - 1) * step, first + 1)
    };
    SliceInfoElem::Slice {
        start: start as isize,
        end: Some(end as isize),
        step: step as isize,
    }
}

/// Applies the slice expression `text` to `view`, zero-copy.
pub fn apply<'a, T>(view: ArrayViewD<'a, T>, text: &str) -> Result<ArrayViewD<'a, T>, String> {
    let items = parse(text)?;
    let elems = resolve(&items, view.shape())?;
    let info = SliceInfo::<Vec<SliceInfoElem>, IxDyn, IxDyn>::try_from(elems)
        .map_err(|e| format!("slice {text:?}: {e}"))?;
    Ok(view.slice_move(info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn r(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Item {
        Item::Range { start, stop, step }
    }

    #[test]
    fn parses_items() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("  ").unwrap(), vec![]);
        assert_eq!(
            parse("0:5, :, 3").unwrap(),
            vec![
                r(Some(0), Some(5), None),
                r(None, None, None),
                Item::Index(3)
            ]
        );
        assert_eq!(
            parse("-1, ::-2, ...").unwrap(),
            vec![Item::Index(-1), r(None, None, Some(-2)), Item::Ellipsis]
        );
        assert_eq!(parse("1:2:3").unwrap(), vec![r(Some(1), Some(2), Some(3))]);
        assert_eq!(parse("-3:").unwrap(), vec![r(Some(-3), None, None)]);
        assert_eq!(parse(" 4 , ").unwrap(), vec![Item::Index(4)]);
        assert_eq!(parse("+2").unwrap(), vec![Item::Index(2)]);
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "a", "1:2:3:4", "1,,2", ",1", ",", "..., ...", "1.5", "1 2", "[0]", "::x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse("1:2:3:4").unwrap_err().contains("too many colons"));
        assert!(parse("...,...").unwrap_err().contains("single ellipsis"));
    }

    #[test]
    fn displays_items() {
        let items = parse("0:5, :, ::-1, -2, ...").unwrap();
        let text: Vec<String> = items.iter().map(Item::to_string).collect();
        assert_eq!(text, ["0:5", ":", "::-1", "-2", "..."]);
    }

    /// Python's `list(range(n))[start:stop:step]`, by the definition.
    fn python(start: Option<i64>, stop: Option<i64>, step: i64, n: usize) -> Vec<usize> {
        let (first, count) = python_indices(
            start.map(i128::from),
            stop.map(i128::from),
            i128::from(step),
            n as i128,
        );
        (0..count)
            .map(|k| (first + k * i128::from(step)) as usize)
            .collect()
    }

    #[test]
    fn python_slice_semantics() {
        assert_eq!(python(None, None, 1, 5), [0, 1, 2, 3, 4]);
        assert_eq!(python(None, None, -1, 5), [4, 3, 2, 1, 0]);
        assert_eq!(python(Some(5), Some(1), -1, 6), [5, 4, 3, 2]);
        assert_eq!(python(None, None, -2, 6), [5, 3, 1]);
        assert_eq!(python(Some(-2), None, 1, 5), [3, 4]);
        assert_eq!(python(Some(-100), Some(100), 2, 5), [0, 2, 4]);
        assert_eq!(python(Some(100), Some(-100), -3, 7), [6, 3, 0]);
        assert_eq!(python(Some(3), Some(1), 1, 5), Vec::<usize>::new());
        assert_eq!(python(Some(1), Some(3), -1, 5), Vec::<usize>::new());
        assert_eq!(python(None, Some(-1), -1, 5), Vec::<usize>::new());
        assert_eq!(python(None, None, 1, 0), Vec::<usize>::new());
        assert_eq!(python(None, None, -1, 0), Vec::<usize>::new());
    }

    /// Every slice of a small axis, through ndarray, against Python's rule.
    #[test]
    fn ndarray_agrees_with_python() {
        let bounds = [
            None,
            Some(-7),
            Some(-3),
            Some(-1),
            Some(0),
            Some(2),
            Some(4),
            Some(9),
        ];
        for n in 0..6usize {
            let a = ArrayD::from_shape_vec(IxDyn(&[n]), (0..n).collect()).unwrap();
            for start in bounds {
                for stop in bounds {
                    for step in [-3, -2, -1, 1, 2, 5] {
                        let item = r(start, stop, Some(step));
                        let got: Vec<usize> = apply(a.view(), &item.to_string())
                            .unwrap()
                            .iter()
                            .copied()
                            .collect();
                        assert_eq!(got, python(start, stop, step, n), "{item} on {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn indices_and_ellipsis() {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).collect()).unwrap();
        let v = apply(a.view(), "1").unwrap();
        assert_eq!(v.shape(), [3, 4]);
        assert_eq!(v[[0, 0]], 12);
        let v = apply(a.view(), "-1, -1, -1").unwrap();
        assert_eq!(v.shape(), [] as [usize; 0]);
        assert_eq!(v[[]], 23);
        let v = apply(a.view(), "..., 0").unwrap();
        assert_eq!(v.shape(), [2, 3]);
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), [0, 4, 8, 12, 16, 20]);
        let v = apply(a.view(), "0, ..., ::-2").unwrap();
        assert_eq!(v.shape(), [3, 2]);
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), [3, 1, 7, 5, 11, 9]);
        let v = apply(a.view(), "...").unwrap();
        assert_eq!(v.shape(), [2, 3, 4]);
        let v = apply(a.view(), "1, ..., 2, 3").unwrap();
        assert_eq!(v[[]], 23);
        let v = apply(a.view(), ":, 1").unwrap();
        assert_eq!(v.shape(), [2, 4]);
    }

    #[test]
    fn index_errors_name_the_axis() {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), (0..6).collect()).unwrap();
        let e = apply(a.view(), "0, 3").unwrap_err();
        assert_eq!(e, "index 3 is out of bounds for axis 1 with size 3");
        let e = apply(a.view(), "-3").unwrap_err();
        assert_eq!(e, "index -3 is out of bounds for axis 0 with size 2");
        let e = apply(a.view(), "0, 0, 0").unwrap_err();
        assert!(e.contains("2-dimensional, but 3 were given"), "{e}");
        let e = apply(a.view(), ":, ::0").unwrap_err();
        assert!(e.contains("step cannot be zero (axis 1)"), "{e}");
        assert!(apply(a.view(), &i64::MIN.to_string()).is_err());
        let zero_d = ArrayD::from_shape_vec(IxDyn(&[]), vec![7]).unwrap();
        assert_eq!(apply(zero_d.view(), "...").unwrap()[[]], 7);
        assert_eq!(apply(zero_d.view(), "").unwrap()[[]], 7);
        assert!(apply(zero_d.view(), "0").is_err());
    }
}
