//! The `.npy` file format: header parsing and writing.
//!
//! A `.npy` file is a header followed by the array's bytes:
//!
//! ```text
//! \x93NUMPY  major minor  header_len  {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n  data…
//! 6 bytes    1     1      u16 LE (v1) / u32 LE (v2, v3)   Python dict literal, space-padded           ↑ offset
//! ```
//!
//! The header is parsed **as data, never evaluated**: a small parser accepts
//! exactly the dict numpy writes (string keys `descr`, `fortran_order` and
//! `shape`; a type string, `True`/`False`, and a tuple of integers), so a
//! hostile header can do nothing but fail to parse. Versions 1.0, 2.0 and
//! 3.0 are read (3.0 differs only in allowing UTF-8). Headers longer than
//! [`MAX_HEADER_LEN`] are refused before they are read.
//!
//! Parsing yields a [`Layout`] whose `offset` is the header length, the same
//! type a sidecar yields, so `.npy` files and raw files share every line of
//! view and mapping code. Headers written here are padded with spaces so that
//! the data starts on a 64-byte boundary, as numpy does.
//!
//! This module works on bytes: it never opens, reads or maps a file.

use std::path::Path;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{Layout, Order};

/// The longest preamble (magic, version, header length) of any version.
pub(crate) const PREAMBLE_LEN: usize = 12;

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The longest header accepted, in bytes: 64 KiB, the most a version 1.0
/// header can hold. numpy writes headers of well under 1 KiB for any array
/// this crate can map (only structured dtypes need more) and itself refuses
/// headers over 10,000 bytes unless asked not to.
pub const MAX_HEADER_LEN: usize = 65_535;

/// Whether `bytes` (the start of a file) begins with the `.npy` magic.
pub fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The error for a file that should be `.npy` but lacks the magic.
pub(crate) fn missing_magic(path: &Path) -> Error {
    Error::MalformedNpy {
        path: path.to_path_buf(),
        message: "missing the \\x93NUMPY magic".into(),
    }
}

/// Parses the magic, version and header length at the start of a `.npy`
/// file: returns where the header dict starts and how long it is (at most
/// [`MAX_HEADER_LEN`]), so that a reader knows how many bytes
/// [`parse_header`] needs. [`PREAMBLE_LEN`] bytes are always enough.
pub(crate) fn parse_preamble(path: &Path, bytes: &[u8]) -> Result<(usize, usize)> {
    let malformed = |message: String| Error::MalformedNpy {
        path: path.to_path_buf(),
        message,
    };
    if !has_magic(bytes) {
        return Err(missing_magic(path));
    }
    if bytes.len() < 8 {
        return Err(malformed("truncated before the format version".into()));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (start, len) = match (major, minor) {
        (1, 0) => {
            let b = bytes
                .get(8..10)
                .ok_or_else(|| malformed("truncated before the header length".into()))?;
            (10, u16::from_le_bytes([b[0], b[1]]) as usize)
        }
        (2, 0) | (3, 0) => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| malformed("truncated before the header length".into()))?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (12, usize::try_from(len).unwrap_or(usize::MAX))
        }
        _ => {
            return Err(malformed(format!(
                "format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
            )));
        }
    };
    if len > MAX_HEADER_LEN {
        return Err(malformed(format!(
            "header of {len} bytes is longer than the {MAX_HEADER_LEN}-byte limit"
        )));
    }
    Ok((start, len))
}

/// Parses a whole `.npy` header (`bytes` holds at least the preamble and the
/// header dict; anything after is ignored) into a layout whose offset is
/// where the data starts.
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<Layout> {
    let malformed = |message: String| Error::MalformedNpy {
        path: path.to_path_buf(),
        message,
    };
    let (start, len) = parse_preamble(path, bytes)?;
    let end = start + len;
    let header = bytes.get(start..end).ok_or_else(|| {
        malformed(format!(
            "truncated header: it declares {len} bytes but the file has {}",
            bytes.len().saturating_sub(start)
        ))
    })?;
    let text =
        std::str::from_utf8(header).map_err(|_| malformed("header is not UTF-8 text".into()))?;
    let dict = HeaderParser::new(text).parse().map_err(malformed)?;
    let dtype: DType = dict.descr.parse().map_err(|_| Error::UnknownDtype {
        path: path.to_path_buf(),
        dtype: dict.descr.clone(),
    })?;
    let order = if dict.fortran_order {
        Order::F
    } else {
        Order::C
    };
    Layout::new(path, dtype, &dict.shape, order, end as u64)
}

/// The header (magic through padding) `numpy.save` writes for `dtype`,
/// `shape` and `order`, byte for byte: the dict with sorted keys, then
/// spaces reserved for the growth axis to reach [`GROWTH_AXIS_MAX_DIGITS`]
/// digits (so the header can be rewritten in place when the array grows),
/// then padding and `\n` so that the data starts on a 64-byte boundary.
/// Version 1.0 when the header fits in 65,535 bytes, otherwise 2.0.
pub(crate) fn header_bytes(dtype: DType, shape: &[usize], order: Order) -> Vec<u8> {
    let shape_text = match shape {
        [] => "()".to_owned(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fortran = order == Order::F;
    let mut dict = format!(
        "{{'descr': '{dtype}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    let growth_axis = if fortran { shape.last() } else { shape.first() };
    if let Some(extent) = growth_axis {
        let digits = extent.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    let build = |preamble: usize, version: u8| {
        // numpy's `_wrap_header`: 1 to 64 spaces, then '\n'.
        let hlen = dict.len() + 1;
        let padlen = 64 - (preamble + hlen) % 64;
        let header_len = hlen + padlen;
        let mut out = Vec::with_capacity(preamble + header_len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header_len as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header_len as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', padlen));
        out.push(b'\n');
        (header_len, out)
    };
    let (len, v1) = build(10, 1);
    if len <= u16::MAX as usize {
        v1
    } else {
        build(12, 2).1
    }
}

/// The digits numpy reserves in a header for the growth axis's extent.
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The three fields of a header dict.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A parser for exactly the Python dict literal numpy writes.
struct HeaderParser<'a> {
    s: &'a [u8],
    pos: usize,
}

type ParseResult<T> = std::result::Result<T, String>;

impl<'a> HeaderParser<'a> {
    fn new(text: &'a str) -> Self {
        HeaderParser {
            s: text.as_bytes(),
            pos: 0,
        }
    }

    fn parse(mut self) -> ParseResult<HeaderDict> {
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        self.expect(b'{')?;
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let key = self.string()?;
            self.expect(b':')?;
            self.skip_ws();
            let seen = match key.as_str() {
                "descr" => {
                    // A structured dtype (a list of fields): kept as written,
                    // to be named as the dtype that is not supported.
                    let value = match self.peek() {
                        Some(b'[') => self.bracketed()?,
                        _ => self.string()?,
                    };
                    descr.replace(value).is_some()
                }
                "fortran_order" => fortran.replace(self.boolean()?).is_some(),
                "shape" => shape.replace(self.int_tuple()?).is_some(),
                other => {
                    return Err(format!(
                        "unexpected key {other:?} in header (numpy writes only descr, fortran_order and shape)"
                    ));
                }
            };
            if seen {
                return Err(format!("key {key:?} appears twice"));
            }
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            self.expect(b',')?;
        }
        // After the dict: only padding (spaces, and numpy's final newline).
        if let Some(pos) = self.s[self.pos..]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r' | 0))
        {
            return Err(format!(
                "unexpected text after the header dict at byte {}",
                self.pos + pos
            ));
        }
        Ok(HeaderDict {
            descr: descr.ok_or("header has no 'descr'")?,
            fortran_order: fortran.ok_or("header has no 'fortran_order'")?,
            shape: shape.ok_or("header has no 'shape'")?,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> ParseResult<()> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(found) => format!(
                    "expected '{}' at byte {}, found '{}'",
                    c as char,
                    self.pos,
                    found.escape_ascii()
                ),
                None => format!(
                    "expected '{}' at byte {}, found the end of the header",
                    c as char, self.pos
                ),
            })
        }
    }

    /// A quoted string without escapes (numpy's keys and type strings have none).
    fn string(&mut self) -> ParseResult<String> {
        self.skip_ws();
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.pos)),
        };
        self.pos += 1;
        let start = self.pos;
        let len = self.s[start..]
            .iter()
            .position(|&b| b == quote || b == b'\\')
            .ok_or("unterminated string")?;
        if self.s[start + len] == b'\\' {
            return Err("escape sequences are not allowed in header strings".into());
        }
        self.pos = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec())
            .map_err(|_| "string is not UTF-8".into())
    }

    /// A bracketed literal (a structured dtype's list of fields, such as
    /// `[('a', '<f4'), ('b', '<i4')]`) as written: brackets and
    /// parentheses counted, quoted strings taken whole.
    fn bracketed(&mut self) -> ParseResult<String> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'\'' | b'"' => {
                    self.string()?;
                    continue;
                }
                b'[' | b'(' => depth += 1,
                b']' | b')' => {
                    depth = depth.checked_sub(1).ok_or_else(|| {
                        format!("unbalanced '{}' at byte {}", c as char, self.pos)
                    })?;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(format!("unterminated list at byte {start}"))
    }

    fn boolean(&mut self) -> ParseResult<bool> {
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.pos..].starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        Err(format!("expected True or False at byte {}", self.pos))
    }

    /// `()`, `(n,)` or `(n, m, ...)` with an optional trailing comma.
    fn int_tuple(&mut self) -> ParseResult<Vec<u64>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.eat(b')') {
                break;
            }
            // No cap on the count here: the header's length bounds it, and
            // `Layout::new` rejects more than MAX_DIMS with a typed error.
            dims.push(self.integer()?);
            self.skip_ws();
            trailing_comma = self.eat(b',');
            if !trailing_comma {
                self.expect(b')')?;
                break;
            }
        }
        if dims.len() == 1 && !trailing_comma {
            // `(3)` is the integer 3 in Python, not a shape.
            return Err("a one-element shape must be written (n,)".into());
        }
        Ok(dims)
    }

    /// A non-negative decimal integer, with Python 2's optional `L` suffix.
    fn integer(&mut self) -> ParseResult<u64> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(format!("expected a non-negative integer at byte {start}"));
        }
        let digits =
            std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| "bad digits".to_string())?;
        let value = digits
            .parse::<u64>()
            .map_err(|_| format!("dimension {digits} is too large"))?;
        self.eat(b'L');
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::ElementType;

    fn parse(header: &str) -> Result<Layout> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        parse_header(Path::new("t.npy"), &bytes)
    }

    #[test]
    fn numpy_headers() {
        let l = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n").unwrap();
        assert_eq!(l.shape(), &[3, 4]);
        assert_eq!(l.order(), Order::C);
        assert_eq!(
            l.dtype(),
            DType::new(ElementType::F32, crate::ByteOrder::Little)
        );
        let l = parse("{'descr': '>i8', 'fortran_order': True, 'shape': (5,), }\n").unwrap();
        assert_eq!((l.shape(), l.order()), (&[5usize][..], Order::F));
        assert_eq!(
            parse("{'descr': '|b1', 'fortran_order': False, 'shape': (), }\n")
                .unwrap()
                .ndim(),
            0
        );
        assert_eq!(
            parse("{'shape': (0,), 'fortran_order': False, 'descr': '<c16'}")
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            parse("{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }")
                .unwrap()
                .len(),
            6
        );
    }

    #[test]
    fn rejects_bad_headers() {
        for bad in [
            "",
            "{",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
            "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(matches!(
            parse("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"),
            Err(Error::UnknownDtype { .. })
        ));
    }

    #[test]
    fn written_headers_parse_back_aligned() {
        for shape in [&[][..], &[0], &[7], &[2, 3, 4]] {
            for order in [Order::C, Order::F] {
                let d = DType::native(ElementType::F64);
                let h = header_bytes(d, shape, order);
                assert_eq!(h.len() % 64, 0);
                let l = parse_header(Path::new("t.npy"), &h).unwrap();
                assert_eq!(
                    (l.shape(), l.order(), l.offset()),
                    (shape, order, h.len() as u64)
                );
            }
        }
    }
}
