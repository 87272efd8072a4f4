//! Element types and numpy dtype strings.
//!
//! numpy describes an element type with an *array-protocol type string*: a
//! byte-order character (`<` little, `>` big, `=` native, `|` not applicable),
//! a kind character (`b` bool, `i` signed, `u` unsigned, `f` float, `c`
//! complex) and the size in bytes: `<f4` is a little-endian `float32`, `|u1` a
//! byte. [`DType`] is such a string parsed: an [`ElementType`] plus a
//! [`ByteOrder`].
//!
//! The Rust types that can be viewed in place implement [`Element`]. All of
//! this is generated from **one table** ([`for_each_element_type!`](crate::for_each_element_type)), so a new
//! element type is one line there and nowhere else.
//!
//! This module knows nothing of files; it only names and checks types.

use std::fmt;
use std::str::FromStr;

/// Calls `$callback!` (a macro path in brackets) with the extra tokens given
/// after it, in parentheses, then the table of element types, one row per
/// type:
/// `Variant => rust_type, kind_char, size_in_bytes, "numpy name", class;`
/// where `class` is `boolean`, `integer`, `float` or `complex`: it decides
/// how bytes are cast (only `boolean` needs validating) and how values
/// convert to and from [`Scalar`].
///
/// This is the single source of truth for element types: [`ElementType`],
/// the [`Element`] impls and the runtime-typed dispatch are all generated
/// from it.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_element_type {
    ([$($callback:tt)*] $($extra:tt)*) => {
        $($callback)*! {
            ($($extra)*)
            Bool => bool, b'b', 1, "bool", boolean;
            I8 => i8, b'i', 1, "int8", integer;
            U8 => u8, b'u', 1, "uint8", integer;
            I16 => i16, b'i', 2, "int16", integer;
            U16 => u16, b'u', 2, "uint16", integer;
            I32 => i32, b'i', 4, "int32", integer;
            U32 => u32, b'u', 4, "uint32", integer;
            I64 => i64, b'i', 8, "int64", integer;
            U64 => u64, b'u', 8, "uint64", integer;
            F16 => ::half::f16, b'f', 2, "float16", float;
            F32 => f32, b'f', 4, "float32", float;
            F64 => f64, b'f', 8, "float64", float;
            C64 => ::num_complex::Complex<f32>, b'c', 8, "complex64", complex;
            C128 => ::num_complex::Complex<f64>, b'c', 16, "complex128", complex;
        }
    };
}

/// Runs `$body` with the type alias `$t` set to the Rust type of the
/// [`ElementType`](crate::ElementType) `$element`: the type-level twin of
/// [`dispatch!`](crate::dispatch), for code that has a dtype but no array.
///
/// ```
/// use mmarray::{dispatch_type, Element, ElementType};
///
/// let size = dispatch_type!(ElementType::C64, |T| std::mem::size_of::<T>());
/// assert_eq!(size, 8);
/// let zero = dispatch_type!(ElementType::U16, |T| T::from_scalar(mmarray::Scalar::Int(0)).to_scalar());
/// assert_eq!(zero, mmarray::Scalar::Int(0));
/// ```
#[macro_export]
macro_rules! dispatch_type {
    ($element:expr, |$t:ident| $body:expr) => {
        $crate::for_each_element_type!([$crate::__dispatch_type_arms] $element, $t, $body)
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! __dispatch_type_arms {
    (($element:expr, $t:ident, $body:expr) $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        {
            #[allow(unreachable_patterns)]
            let value = match $element {
                $($crate::ElementType::$variant => {
                    #[allow(dead_code)]
                    type $t = $crate::dtype::rust_type::$variant;
                    $body
                })*
                other => unreachable!("element type {other:?} is missing from the dtype table"),
            };
            value
        }
    };
}

macro_rules! define_element_types {
    (() $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        /// An element type, independent of byte order.
        ///
        /// ```
        /// use mmarray::ElementType;
        /// assert_eq!(ElementType::F32.name(), "float32");
        /// assert_eq!(ElementType::F32.size(), 4);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ElementType {
            $(
                #[doc = concat!("numpy `", $name, "`, Rust `", stringify!($ty), "`.")]
                $variant,
            )*
        }

        impl ElementType {
            /// Every element type, in table order.
            pub const ALL: &'static [ElementType] = &[$(ElementType::$variant),*];

            /// numpy's name for the type (`"float32"`).
            pub const fn name(self) -> &'static str {
                match self { $(ElementType::$variant => $name),* }
            }

            /// The Rust type that views it (`"f32"`).
            pub const fn rust_name(self) -> &'static str {
                match self { $(ElementType::$variant => stringify!($ty)),* }
            }

            /// The size of one element in bytes.
            pub const fn size(self) -> usize {
                match self { $(ElementType::$variant => $size),* }
            }

            /// numpy's kind character: `b`, `i`, `u`, `f` or `c`.
            pub const fn kind(self) -> char {
                match self { $(ElementType::$variant => $kind as char),* }
            }

            /// The alignment the Rust type needs in memory.
            pub const fn align(self) -> usize {
                match self { $(ElementType::$variant => std::mem::align_of::<$ty>()),* }
            }
        }

        /// The Rust type of each element type, named by its variant, so that
        /// [`dispatch_type!`](crate::dispatch_type) can name the types from
        /// crates that do not themselves depend on `half` or `num-complex`.
        #[doc(hidden)]
        pub mod rust_type {
            $(
                #[allow(missing_docs)]
                pub type $variant = $ty;
            )*
        }

        $(
            impl sealed::Sealed for $ty {}
            impl Element for $ty {
                const TYPE: ElementType = ElementType::$variant;

                #[inline(always)]
                fn to_scalar(self) -> Scalar {
                    to_scalar!($class, self)
                }

                #[inline(always)]
                fn from_scalar(value: Scalar) -> Self {
                    from_scalar!($class, $ty, value)
                }
            }
        )*
    };
}

/// A value as [`Scalar`]: exact for integers and bools.
macro_rules! to_scalar {
    (boolean, $x:expr) => {
        Scalar::Int(i128::from($x as u8))
    };
    (integer, $x:expr) => {
        Scalar::Int(i128::from($x))
    };
    (float, $x:expr) => {
        Scalar::Float(f64::from($x))
    };
    (complex, $x:expr) => {
        Scalar::Complex(f64::from($x.re), f64::from($x.im))
    };
}

/// A [`Scalar`] converted as numpy's `astype` does: integers wrap, floats
/// truncate toward zero (saturating where numpy's result is undefined),
/// complex numbers drop the imaginary part, anything non-zero is `true`.
macro_rules! from_scalar {
    (boolean, $ty:ty, $v:expr) => {
        match $v {
            Scalar::Int(i) => i != 0,
            Scalar::Float(f) => f != 0.0,
            Scalar::Complex(re, im) => re != 0.0 || im != 0.0,
        }
    };
    (integer, $ty:ty, $v:expr) => {
        match $v {
            Scalar::Int(i) => i as $ty,
            Scalar::Float(f) | Scalar::Complex(f, _) => f as $ty,
        }
    };
    (float, $ty:ty, $v:expr) => {
        <$ty as FromF64>::from_f64(match $v {
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) | Scalar::Complex(f, _) => f,
        })
    };
    (complex, $ty:ty, $v:expr) => {{
        let (re, im) = match $v {
            Scalar::Int(i) => (i as f64, 0.0),
            Scalar::Float(f) => (f, 0.0),
            Scalar::Complex(re, im) => (re, im),
        };
        <$ty>::new(FromF64::from_f64(re), FromF64::from_f64(im))
    }};
}

/// Narrowing from `f64` to each float type, rounding to nearest.
trait FromF64 {
    fn from_f64(x: f64) -> Self;
}

impl FromF64 for f64 {
    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }
}

impl FromF64 for f32 {
    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
}

impl FromF64 for half::f16 {
    #[inline(always)]
    fn from_f64(x: f64) -> half::f16 {
        half::f16::from_f64(x)
    }
}

/// One value of any element type, widened without loss: bools and integers
/// as `i128`, floats as `f64`, complex numbers as two `f64`.
///
/// ```
/// use mmarray::{Element, Scalar};
/// assert_eq!(u64::MAX.to_scalar(), Scalar::Int(u64::MAX as i128));
/// assert_eq!(i8::from_scalar(Scalar::Int(300)), 44); // wraps, as numpy's astype
/// assert_eq!(u8::from_scalar(Scalar::Float(2.9)), 2); // truncates
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A bool (0 or 1) or an integer.
    Int(i128),
    /// A real float.
    Float(f64),
    /// A complex number: real and imaginary parts.
    Complex(f64, f64),
}

impl Scalar {
    /// The value as an `f64`: integers rounded to nearest, complex numbers
    /// by their real part.
    #[inline(always)]
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) | Scalar::Complex(f, _) => f,
        }
    }
}

for_each_element_type!([define_element_types]);

impl ElementType {
    /// Finds the type with numpy kind character `kind` and size `size`.
    ///
    /// ```
    /// use mmarray::ElementType;
    /// assert_eq!(ElementType::from_kind_size('i', 8), Some(ElementType::I64));
    /// assert_eq!(ElementType::from_kind_size('f', 3), None);
    /// ```
    pub fn from_kind_size(kind: char, size: usize) -> Option<ElementType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.kind() == kind && t.size() == size)
    }

    /// Finds the type by numpy name (`"float32"`, `"uint8"`, `"bool"`).
    pub fn from_name(name: &str) -> Option<ElementType> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The size of the unit whose bytes are swapped to change byte order:
    /// the element size, except for complex numbers, whose real and imaginary
    /// parts are swapped separately.
    pub const fn swap_unit(self) -> usize {
        match self.kind() {
            'c' => self.size() / 2,
            _ => self.size(),
        }
    }

    /// Swaps the byte order of every element in `bytes` (whole elements of
    /// this type), in place: each [`swap_unit`](Self::swap_unit) reversed.
    ///
    /// ```
    /// use mmarray::ElementType;
    /// let mut bytes = [1, 2, 3, 4, 5, 6, 7, 8];
    /// ElementType::U16.swap_bytes(&mut bytes);
    /// assert_eq!(bytes, [2, 1, 4, 3, 6, 5, 8, 7]);
    /// ElementType::C64.swap_bytes(&mut bytes); // real and imaginary parts apart
    /// assert_eq!(bytes, [3, 4, 1, 2, 7, 8, 5, 6]);
    /// ```
    pub fn swap_bytes(self, bytes: &mut [u8]) {
        bytes
            .chunks_exact_mut(self.swap_unit())
            .for_each(<[u8]>::reverse);
    }

    /// Whether the type is an integer (signed or unsigned).
    pub const fn is_integer(self) -> bool {
        matches!(self.kind(), 'i' | 'u')
    }

    /// Whether the type is a float (real).
    pub const fn is_float(self) -> bool {
        self.kind() == 'f'
    }

    /// Whether the type is complex.
    pub const fn is_complex(self) -> bool {
        self.kind() == 'c'
    }
}

/// Why a [`Scalar`] cannot be stored in an [`ElementType`] as given: what
/// [`ElementType::check_scalar`] refuses.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScalarError {
    /// An integer outside the integer type's range, or a finite value
    /// beyond a float type's largest finite value.
    #[error("{} is out of range for {element} ({})", show_scalar(*value), range_text(*element))]
    OutOfRange {
        /// The type asked for.
        element: ElementType,
        /// The value refused.
        value: Scalar,
    },
    /// A value with a fraction, or infinity or NaN, for an integer type.
    #[error("{} is not an integer, which {element} needs", show_scalar(*value))]
    NotAnInteger {
        /// The type asked for.
        element: ElementType,
        /// The value refused.
        value: Scalar,
    },
    /// For `bool`, anything but `0` and `1` (`false` and `true`).
    #[error("{} is not a bool: bool takes true, false, 0 or 1", show_scalar(*value))]
    NotABool {
        /// The value refused.
        value: Scalar,
    },
    /// A non-zero imaginary part for a type that is not complex.
    #[error("{} has an imaginary part, which {element} cannot hold", show_scalar(*value))]
    Imaginary {
        /// The type asked for.
        element: ElementType,
        /// The value refused.
        value: Scalar,
    },
}

/// A scalar as Python writes it: `300`, `1.5`, `inf`, `nan`, `(1+2j)`.
fn show_scalar(value: Scalar) -> String {
    fn float(f: f64) -> String {
        if f.is_nan() {
            "nan".into()
        } else if f.is_infinite() {
            if f > 0.0 { "inf" } else { "-inf" }.into()
        } else {
            format!("{f:?}")
        }
    }
    match value {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => float(f),
        Scalar::Complex(re, im) => {
            let im_text = float(im);
            let sign = if im_text.starts_with('-') { "" } else { "+" };
            format!("({}{sign}{im_text}j)", float(re))
        }
    }
}

/// The range of values a type holds, for messages: `-128 to 127`.
fn range_text(element: ElementType) -> String {
    match (element.int_range(), element.largest_finite()) {
        (Some((min, max)), _) => format!("{min} to {max}"),
        (None, Some(max)) => format!("-{max:e} to {max:e}, or inf or nan"),
        (None, None) => "any".into(),
    }
}

impl ElementType {
    /// The smallest and largest value of an integer type (`bool` is 0 to
    /// 1); `None` for floats and complex types.
    const fn int_range(self) -> Option<(i128, i128)> {
        Some(match self.kind() {
            'b' => (0, 1),
            'i' => {
                let bits = 8 * self.size() as u32;
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            }
            'u' => (0, (1i128 << (8 * self.size() as u32)) - 1),
            _ => return None,
        })
    }

    /// The largest finite value of a float type, or of each part of a
    /// complex type; `None` for bools and integers.
    const fn largest_finite(self) -> Option<f64> {
        match (self.kind(), self.swap_unit()) {
            ('f' | 'c', 2) => Some(65504.0),
            ('f' | 'c', 4) => Some(f32::MAX as f64),
            ('f' | 'c', 8) => Some(f64::MAX),
            _ => None,
        }
    }

    /// Checks that `value` can be stored in this type as it is, with no
    /// wrapping, truncation or overflow: what numpy 2's `np.full(shape,
    /// value, dtype)` refuses with `OverflowError`, and what it would change
    /// silently. [`Element::from_scalar`] itself converts as `astype` does
    /// (integers wrap, floats truncate); call this first to refuse instead.
    ///
    /// - integer types take integers within their range, and floats with
    ///   no fraction within it (`3.0`), never infinity or NaN;
    /// - `bool` takes the integers `0` and `1` (`false`, `true`) only;
    /// - float types take any integer or float whose magnitude is at most
    ///   the type's largest finite value (65504 for `float16`), plus
    ///   infinity and NaN; values in range are rounded to nearest as
    ///   usual;
    /// - complex types take the same, for each part;
    /// - only complex types take a non-zero imaginary part.
    ///
    /// ```
    /// use mmarray::{ElementType, Scalar};
    /// use mmarray::dtype::ScalarError;
    ///
    /// assert!(ElementType::I8.check_scalar(Scalar::Int(-128)).is_ok());
    /// let err = ElementType::I8.check_scalar(Scalar::Int(300)).unwrap_err();
    /// assert_eq!(err.to_string(), "300 is out of range for int8 (-128 to 127)");
    /// assert!(matches!(
    ///     ElementType::U8.check_scalar(Scalar::Float(1.5)),
    ///     Err(ScalarError::NotAnInteger { .. })
    /// ));
    /// assert!(ElementType::U8.check_scalar(Scalar::Float(2.0)).is_ok());
    /// assert!(ElementType::Bool.check_scalar(Scalar::Int(2)).is_err());
    /// assert!(ElementType::F16.check_scalar(Scalar::Float(1e5)).is_err());
    /// assert!(ElementType::F32.check_scalar(Scalar::Float(f64::INFINITY)).is_ok());
    /// assert!(ElementType::C64.check_scalar(Scalar::Complex(1.0, 2.0)).is_ok());
    /// assert!(ElementType::F64.check_scalar(Scalar::Complex(1.0, 2.0)).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ScalarError`] saying why; its message names the value and the
    /// type.
    pub fn check_scalar(self, value: Scalar) -> Result<(), ScalarError> {
        let (re, im) = match value {
            Scalar::Complex(re, im) => (Scalar::Float(re), im),
            real => (real, 0.0),
        };
        if im != 0.0 && !self.is_complex() {
            return Err(ScalarError::Imaginary {
                element: self,
                value,
            });
        }
        if let Some((min, max)) = self.int_range() {
            let int = match re {
                Scalar::Int(i) => i,
                // Saturating: beyond i128 is beyond every integer type.
                Scalar::Float(f)
                    if self != ElementType::Bool && f.is_finite() && f.fract() == 0.0 =>
                {
                    f as i128
                }
                _ if self == ElementType::Bool => return Err(ScalarError::NotABool { value }),
                _ => {
                    return Err(ScalarError::NotAnInteger {
                        element: self,
                        value,
                    });
                }
            };
            return match (int < min || int > max, self == ElementType::Bool) {
                (false, _) => Ok(()),
                (true, true) => Err(ScalarError::NotABool { value }),
                (true, false) => Err(ScalarError::OutOfRange {
                    element: self,
                    value,
                }),
            };
        }
        let largest = self.largest_finite().unwrap_or(f64::INFINITY);
        let beyond = |part: f64| part.is_finite() && part.abs() > largest;
        let re = match re {
            Scalar::Int(i) => {
                // i as f64 rounds: compare the exact integer with the bound.
                if (i.unsigned_abs() as f64) > largest {
                    return Err(ScalarError::OutOfRange {
                        element: self,
                        value,
                    });
                }
                0.0
            }
            other => other.as_f64(),
        };
        if beyond(re) || beyond(im) {
            return Err(ScalarError::OutOfRange {
                element: self,
                value,
            });
        }
        Ok(())
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The order of bytes within one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (`<`): x86-64, aarch64.
    Little,
    /// Most significant byte first (`>`).
    Big,
}

impl ByteOrder {
    /// The byte order of the machine this code runs on.
    #[cfg(target_endian = "little")]
    pub const NATIVE: ByteOrder = ByteOrder::Little;
    /// The byte order of the machine this code runs on.
    #[cfg(target_endian = "big")]
    pub const NATIVE: ByteOrder = ByteOrder::Big;

    /// numpy's character for it: `<` or `>`.
    pub const fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
        }
    }
}

/// A numpy dtype: an element type in a byte order.
///
/// Parses numpy's array-protocol type strings (`<f4`, `>i8`, `=u2`, `|u1`,
/// `f8`) and numpy's names (`float32`, `int64`, `uint8`, `bool`, meaning
/// native byte order). Always displays as a type string with an explicit
/// byte order (`|` for one-byte types), which is what numpy writes in
/// `.npy` headers and what sidecars store.
///
/// ```
/// use mmarray::{ByteOrder, DType, ElementType};
///
/// let d: DType = ">i4".parse()?;
/// assert_eq!(d.element_type(), ElementType::I32);
/// assert_eq!(d.byte_order(), ByteOrder::Big);
/// assert_eq!(d.to_string(), ">i4");
///
/// let d: DType = "float32".parse()?;
/// assert_eq!(d, DType::native(ElementType::F32));
/// assert_eq!("|u1".parse::<DType>()?.to_string(), "|u1");
/// # Ok::<(), mmarray::ParseDTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DType {
    element: ElementType,
    byte_order: ByteOrder,
}

impl DType {
    /// `element` in byte order `byte_order`. One-byte types have no byte
    /// order; for them `byte_order` is ignored and the native order recorded,
    /// so that `|u1`, `<u1` and `>u1` compare equal.
    pub const fn new(element: ElementType, byte_order: ByteOrder) -> DType {
        let byte_order = if element.size() == 1 {
            ByteOrder::NATIVE
        } else {
            byte_order
        };
        DType {
            element,
            byte_order,
        }
    }

    /// `element` in this machine's byte order.
    pub const fn native(element: ElementType) -> DType {
        DType::new(element, ByteOrder::NATIVE)
    }

    /// The dtype of the Rust type `T`, in native byte order.
    pub const fn of<T: Element>() -> DType {
        DType::native(T::TYPE)
    }

    /// The element type.
    pub const fn element_type(self) -> ElementType {
        self.element
    }

    /// The byte order (native for one-byte types).
    pub const fn byte_order(self) -> ByteOrder {
        self.byte_order
    }

    /// Whether the elements can be read in place on this machine.
    pub const fn is_native(self) -> bool {
        matches!(
            (self.byte_order, ByteOrder::NATIVE),
            (ByteOrder::Little, ByteOrder::Little) | (ByteOrder::Big, ByteOrder::Big)
        )
    }

    /// The same element type in another byte order.
    pub const fn with_byte_order(self, byte_order: ByteOrder) -> DType {
        DType::new(self.element, byte_order)
    }

    /// The size of one element in bytes.
    pub const fn itemsize(self) -> usize {
        self.element.size()
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.element.size() == 1 {
            '|'
        } else {
            self.byte_order.as_char()
        };
        write!(f, "{}{}{}", order, self.element.kind(), self.element.size())
    }
}

/// A dtype string that is not one of the supported element types.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported dtype {0:?}")]
pub struct ParseDTypeError(pub String);

impl FromStr for DType {
    type Err = ParseDTypeError;

    fn from_str(s: &str) -> Result<DType, ParseDTypeError> {
        let err = || ParseDTypeError(s.to_owned());
        if let Some(element) = ElementType::from_name(s) {
            return Ok(DType::native(element));
        }
        let (order, rest) = match s.as_bytes().first() {
            Some(b'<') => (Some(ByteOrder::Little), &s[1..]),
            Some(b'>') => (Some(ByteOrder::Big), &s[1..]),
            Some(b'=') | Some(b'|') => (None, &s[1..]),
            _ => (None, s),
        };
        let mut chars = rest.chars();
        let kind = chars.next().ok_or_else(err)?;
        let digits = chars.as_str();
        // Only plain decimal digits: no sign, no whitespace, no leading `+`.
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let size: usize = digits.parse().map_err(|_| err())?;
        let element = ElementType::from_kind_size(kind, size).ok_or_else(err)?;
        Ok(DType::new(element, order.unwrap_or(ByteOrder::NATIVE)))
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that array elements can be viewed as.
///
/// Implemented for `bool`, the integers `i8`..`u64`, [`half::f16`], `f32`,
/// `f64` and [`num_complex::Complex`] of `f32` and `f64`: the types of the
/// table in this module. The trait is sealed: the set is fixed by what numpy
/// and the file formats can describe.
///
/// Every type but `bool` accepts any bit pattern. `bool` does not: a byte
/// other than 0 or 1 read as `bool` is undefined behaviour, so `bool` arrays
/// are checked byte by byte once, when they are opened (see
/// [`MappedArray`](crate::MappedArray)); views are then O(1).
pub trait Element:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + fmt::Debug
    + PartialEq
    + bytemuck::NoUninit
    + bytemuck::CheckedBitPattern
    + 'static
{
    /// The element type this Rust type views.
    const TYPE: ElementType;

    /// The value, widened without loss.
    fn to_scalar(self) -> Scalar;

    /// A value converted to this type as numpy's `astype` would
    /// (integers wrap, floats truncate, complex drops the imaginary part).
    fn from_scalar(value: Scalar) -> Self;

    /// The value whose bytes are this one's in the other byte order (each
    /// part of a complex number swapped on its own; `bool` and 1-byte
    /// integers unchanged): what an element stored in the other byte order
    /// and read in place as `Self` is worth. For reading a few elements of
    /// such a file in place; [`read_array`](crate::read_array) and
    /// [`ScanBuffer::next_elements`](crate::ScanBuffer::next_elements)
    /// convert whole arrays.
    ///
    /// ```
    /// use mmarray::Element;
    /// assert_eq!(1i32.byte_swapped(), 1 << 24);
    /// assert_eq!(1.5f64.byte_swapped().byte_swapped(), 1.5);
    /// ```
    fn byte_swapped(self) -> Self {
        let mut bytes = [0u8; 16];
        let bytes = &mut bytes[..Self::TYPE.size()];
        bytes.copy_from_slice(bytemuck::bytes_of(&self));
        Self::TYPE.swap_bytes(bytes);
        // Only `bool` has invalid bit patterns, and one byte swaps to itself.
        bytemuck::checked::pod_read_unaligned(bytes)
    }
}

/// Bytes converted per step by the codec below: 64 KiB, a multiple of every
/// element size.
const CODEC_CHUNK: usize = 64 << 10;

/// Decodes `bytes`, elements stored in `byte_order`, appending them to
/// `out`: a copy, byte-swapped when the order is not native. Works in
/// 64 KiB steps through an aligned scratch buffer, so the input needs no
/// alignment and memory use beyond `out` is constant.
///
/// Returns the index of the first invalid element (a `bool` byte other than
/// 0 or 1) as `Err`.
pub(crate) fn decode_into<T: Element>(
    bytes: &[u8],
    byte_order: ByteOrder,
    out: &mut Vec<T>,
) -> Result<(), usize> {
    let swap = DType::new(T::TYPE, byte_order) != DType::native(T::TYPE);
    let mut scratch = vec![0u64; CODEC_CHUNK / 8];
    out.reserve(bytes.len() / T::TYPE.size());
    for (i, chunk) in bytes.chunks(CODEC_CHUNK).enumerate() {
        let buf = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut scratch)[..chunk.len()];
        buf.copy_from_slice(chunk);
        if swap {
            T::TYPE.swap_bytes(buf);
        }
        match cast_bytes::<T>(buf) {
            Some(elements) => out.extend_from_slice(elements),
            None => {
                let first_bad = first_invalid_byte(T::TYPE, buf).map_or(0, |(index, _)| index);
                return Err(i * CODEC_CHUNK / T::TYPE.size() + first_bad);
            }
        }
    }
    Ok(())
}

/// Encodes `elements` in `byte_order`, appending the bytes to `out`.
pub(crate) fn encode_into<T: Element>(elements: &[T], byte_order: ByteOrder, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(bytemuck::cast_slice::<T, u8>(elements));
    if DType::new(T::TYPE, byte_order) != DType::native(T::TYPE) {
        T::TYPE.swap_bytes(&mut out[start..]);
    }
}

/// Casts bytes to elements: `None` if the length is not a multiple of the
/// size, the start is misaligned, or (for `bool`) a byte is not 0 or 1.
/// O(1) for every type but `bool`, whose bytes are checked.
pub(crate) fn cast_bytes<T: Element>(bytes: &[u8]) -> Option<&[T]> {
    bytemuck::checked::try_cast_slice(bytes).ok()
}

/// Mutable form of [`cast_bytes`].
pub(crate) fn cast_bytes_mut<T: Element>(bytes: &mut [u8]) -> Option<&mut [T]> {
    bytemuck::checked::try_cast_slice_mut(bytes).ok()
}

/// [`cast_bytes`] without the check of each `bool` byte: O(1) for every
/// type. `None` for a length that is not a whole number of elements or a
/// misaligned start.
///
/// # Safety
///
/// For `bool`, every byte of `bytes` is 0 or 1, and stays so while the
/// returned slice lives.
pub(crate) unsafe fn cast_bytes_prechecked<T: Element>(bytes: &[u8]) -> Option<&[T]> {
    let size = std::mem::size_of::<T>();
    if !bytes.len().is_multiple_of(size)
        || !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: the pointer is aligned for `T` and the length is a whole
    // number of `T`s, all within `bytes`, borrowed for the slice's life.
    // `T` is one of the table's types: each but `bool` is `Pod`, valid for
    // every bit pattern, and for `bool` the caller promises 0 or 1.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
}

/// Mutable form of [`cast_bytes_prechecked`].
///
/// # Safety
///
/// As [`cast_bytes_prechecked`]; writes through the slice store only `T`s,
/// so they keep a `bool` array valid.
pub(crate) unsafe fn cast_bytes_mut_prechecked<T: Element>(bytes: &mut [u8]) -> Option<&mut [T]> {
    let size = std::mem::size_of::<T>();
    if !bytes.len().is_multiple_of(size)
        || !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: as in `cast_bytes_prechecked`; the slice borrows `bytes`
    // mutably, so nothing else reaches them while it lives.
    Some(unsafe {
        std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<T>(), bytes.len() / size)
    })
}

/// Index and value of the first byte of a `bool` array that is not 0 or 1;
/// `None` for other types or when all bytes are valid.
pub(crate) fn first_invalid_byte(element: ElementType, bytes: &[u8]) -> Option<(usize, u8)> {
    if element != ElementType::Bool {
        return None;
    }
    bytes
        .iter()
        .position(|&b| b > 1)
        .map(|index| (index, bytes[index]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_type_string() {
        for &t in ElementType::ALL {
            for order in [ByteOrder::Little, ByteOrder::Big] {
                let d = DType::new(t, order);
                let parsed: DType = d.to_string().parse().unwrap();
                assert_eq!(parsed, d, "{d}");
            }
            assert_eq!(DType::native(t), t.name().parse().unwrap());
        }
    }

    #[test]
    fn byte_order_characters() {
        assert_eq!(
            "=f8".parse::<DType>().unwrap(),
            DType::native(ElementType::F64)
        );
        assert_eq!(
            "|f8".parse::<DType>().unwrap(),
            DType::native(ElementType::F64)
        );
        assert_eq!(
            "f8".parse::<DType>().unwrap(),
            DType::native(ElementType::F64)
        );
        assert_eq!(">u1".parse::<DType>().unwrap().to_string(), "|u1");
        assert_eq!(
            "|b1".parse::<DType>().unwrap().element_type(),
            ElementType::Bool
        );
    }

    #[test]
    fn rejects_what_numpy_would_not_map_here() {
        for bad in [
            "", "<", "<f", "<f3", "<f+4", "<f 4", "<f04x", "O8", "<U10", "V8", "S5", "float128",
            "<f16", "<i004",
        ] {
            assert!(bad.parse::<DType>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn codec_round_trips_and_swaps() {
        let values = [1.5f64, -2.0, 1e300];
        let mut be = Vec::new();
        encode_into(&values, ByteOrder::Big, &mut be);
        assert_eq!(&be[..8], &1.5f64.to_be_bytes());
        let mut back = Vec::new();
        decode_into::<f64>(&be, ByteOrder::Big, &mut back).unwrap();
        assert_eq!(back, values);
        let c = [num_complex::Complex::new(1.0f32, 2.0)];
        let mut cb = Vec::new();
        encode_into(&c, ByteOrder::Big, &mut cb);
        assert_eq!(&cb[4..], &2.0f32.to_be_bytes());
        let mut bools = Vec::new();
        assert_eq!(
            decode_into::<bool>(&[1, 0, 7], ByteOrder::Little, &mut bools),
            Err(2)
        );
    }

    #[test]
    fn check_scalar_refuses_what_would_wrap_truncate_or_overflow() {
        use ElementType::*;
        let ok = |t: ElementType, v: Scalar| assert!(t.check_scalar(v).is_ok(), "{t} {v:?}");
        let no = |t: ElementType, v: Scalar| assert!(t.check_scalar(v).is_err(), "{t} {v:?}");
        let (int, float) = (Scalar::Int, Scalar::Float);
        ok(I8, int(127));
        ok(I8, int(-128));
        no(I8, int(128));
        no(I8, int(300));
        no(I8, int(-129));
        no(U8, int(-1));
        ok(U8, int(255));
        no(U8, int(256));
        ok(U64, int(u64::MAX as i128));
        no(U64, int(u64::MAX as i128 + 1));
        ok(I64, int(i64::MIN as i128));
        no(I64, int(i64::MIN as i128 - 1));
        ok(I16, float(-3.0));
        no(I16, float(1.5));
        no(I32, float(f64::NAN));
        no(I32, float(f64::INFINITY));
        no(I64, float(1e30));
        no(U64, float(1e300));
        ok(Bool, int(0));
        ok(Bool, int(1));
        no(Bool, int(2));
        no(Bool, int(-1));
        no(Bool, float(1.0));
        ok(F16, float(65504.0));
        no(F16, float(65505.0));
        no(F16, int(70000));
        ok(F16, float(-f64::INFINITY));
        ok(F16, float(f64::NAN));
        ok(F16, float(1e-10)); // rounds to zero, as any float does
        ok(F32, float(f32::MAX as f64));
        no(F32, float(1e39));
        ok(F64, float(f64::MAX));
        ok(F64, int(i128::MAX));
        ok(C64, Scalar::Complex(1.0, -2.0));
        no(C64, Scalar::Complex(1.0, 1e39));
        ok(C128, Scalar::Complex(f64::MAX, f64::NAN));
        no(F64, Scalar::Complex(1.0, 2.0));
        ok(F64, Scalar::Complex(1.0, 0.0));
        no(U8, Scalar::Complex(1.0, 2.0));
        let msg = |t: ElementType, v| t.check_scalar(v).unwrap_err().to_string();
        assert_eq!(msg(U8, int(-1)), "-1 is out of range for uint8 (0 to 255)");
        assert_eq!(
            msg(I32, float(1.5)),
            "1.5 is not an integer, which int32 needs"
        );
        assert_eq!(
            msg(Bool, int(2)),
            "2 is not a bool: bool takes true, false, 0 or 1"
        );
        assert!(msg(F16, float(1e5)).contains("100000.0 is out of range for float16"));
        assert_eq!(
            msg(F64, Scalar::Complex(1.0, -2.0)),
            "(1.0-2.0j) has an imaginary part, which float64 cannot hold"
        );
    }

    #[test]
    fn complex_swaps_its_parts_separately() {
        assert_eq!(ElementType::C64.swap_unit(), 4);
        assert_eq!(ElementType::F64.swap_unit(), 8);
    }
}
