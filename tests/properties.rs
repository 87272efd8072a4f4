//! Property tests of the two file formats:
//!
//! - a sidecar written by the library reads back as the same layout and
//!   attrs, for every dtype and byte order, both orders, shapes up to 4-d
//!   (zero-length axes included) and offsets;
//! - a `.npy` file written by the library reads back as the same layout
//!   (offset = header length) and the same element bytes;
//! - any byte string given as a sidecar, or as the start of a `.npy` file,
//!   opens as a layout that fits in the file, or fails with a typed error
//!   that is the same whichever way in (parser or file) it is reached. The
//!   inputs are mostly *near-valid*: sidecars and headers assembled from
//!   valid and invalid pieces (huge, negative and float dimensions, missing
//!   and repeated keys, odd dtypes), then sometimes mutated byte by byte, so
//!   that the checks reach past the first parse error.
//!
//! Each property runs a modest number of cases by default (the number in
//! its `config(..)`), so that the file takes seconds in a debug build. For a
//! deeper run, `PROPTEST_CASES` overrides every property's default:
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release --test properties
//! ```

use std::fs;
use std::mem::discriminant;
use std::path::Path;

use mmarray::sidecar::{self, Attrs};
use mmarray::{
    ArrayInfo, ByteOrder, CreateOptions, DType, DynArray, Element, ElementType, Error, MappedArray,
    Order, Scalar, Stats, dispatch_type, inspect, npy, read_array,
};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

/// `default_cases` cases, unless `PROPTEST_CASES` says otherwise.
fn config(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    config
}

// ---------------------------------------------------------------------------
// Generators of valid values.

fn byte_order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)]
}

fn element_type() -> impl Strategy<Value = ElementType> {
    select(ElementType::ALL)
}

fn dtype() -> impl Strategy<Value = DType> {
    (element_type(), byte_order()).prop_map(|(t, o)| DType::new(t, o))
}

fn order() -> impl Strategy<Value = Order> {
    prop_oneof![Just(Order::C), Just(Order::F)]
}

/// Up to 4 axes of at most `max` each, zero-length ones frequent.
fn shape(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1 => Just(0), 4 => 1..=max], 0..=4)
}

/// Any JSON value of modest depth: numbers of every kind JSON can hold,
/// arbitrary Unicode strings, nested arrays and objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Attrs> {
    prop::collection::btree_map(".{0,8}", json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

// ---------------------------------------------------------------------------
// Sidecar: write, then read.

fn check_info(
    info: &ArrayInfo,
    dtype: DType,
    shape: &[usize],
    order: Order,
    offset: u64,
    attrs: &Attrs,
) -> Result<(), TestCaseError> {
    let layout = info.layout();
    prop_assert_eq!(layout.dtype(), dtype);
    prop_assert_eq!(layout.shape(), shape);
    prop_assert_eq!(layout.order(), order);
    prop_assert_eq!(layout.offset(), offset);
    prop_assert_eq!(info.attrs(), attrs);
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn sidecar_write_then_read_is_the_identity(
        dtype in dtype(),
        shape in shape(40),
        order in order(),
        offset in prop_oneof![0..=64u64, Just(4096), 0..=(1u64 << 24)],
        attrs in attrs(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.dat");
        let sidecar_path = mmarray::sidecar_path(&path);

        // Written by `create_filled` (offset 0, with attrs)...
        let created = CreateOptions::new()
            .order(order)
            .attrs(attrs.clone())
            .create_filled(&path, dtype, &shape, Scalar::Int(0))
            .unwrap();
        check_info(&created, dtype, &shape, order, 0, &attrs)?;
        check_info(&inspect(&path).unwrap(), dtype, &shape, order, 0, &attrs)?;

        // ... then rewritten by `describe` at an offset, which keeps the attrs.
        let nbytes = created.layout().nbytes() as u64;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(offset + nbytes)
            .unwrap();
        let described = mmarray::describe(&path, dtype, &shape, order, offset, true).unwrap();
        check_info(&described, dtype, &shape, order, offset, &attrs)?;
        let read = inspect(&path).unwrap();
        check_info(&read, dtype, &shape, order, offset, &attrs)?;
        prop_assert_eq!(read.sidecar_path(), Some(sidecar_path.as_path()));

        // The parser alone agrees with the open path.
        let parsed = sidecar::parse(&sidecar_path, &fs::read(&sidecar_path).unwrap()).unwrap();
        prop_assert_eq!(&parsed.layout, read.layout());
        prop_assert_eq!(&parsed.attrs, &attrs);
    }
}

// ---------------------------------------------------------------------------
// .npy: write, then read.

/// Whether two sequences of elements are equal bit for bit (so NaNs with
/// the same payload are equal, and -0.0 differs from 0.0).
fn same_bits<'a, T: Element>(
    a: impl IntoIterator<Item = &'a T>,
    b: impl IntoIterator<Item = &'a T>,
) -> bool {
    let bytes = |x: &T| bytemuck::bytes_of(x).to_vec();
    a.into_iter().map(bytes).eq(b.into_iter().map(bytes))
}

/// Writes `bytes` (read as elements of `T`, in C order) as a `.npy` file of
/// `shape`, `order` and `byte_order`, and checks what reads back.
fn npy_round_trip<T: Element>(
    shape: &[usize],
    order: Order,
    byte_order: ByteOrder,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let size = T::TYPE.size();
    let elements: Vec<T> = bytes
        .chunks_exact(size)
        .map(|chunk| {
            let mut chunk = chunk.to_vec();
            if T::TYPE == ElementType::Bool {
                chunk[0] &= 1;
            }
            bytemuck::checked::pod_read_unaligned::<T>(&chunk)
        })
        .collect();
    let array = ArrayD::from_shape_vec(IxDyn(shape), elements).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let written = CreateOptions::new()
        .order(order)
        .byte_order(byte_order)
        .write(&path, &array)
        .unwrap();
    let file = fs::read(&path).unwrap();

    // The header's length, read from the preamble independently of the
    // library.
    prop_assert_eq!(&file[..6], b"\x93NUMPY");
    let header_end = match file[6] {
        1 => 10 + u16::from_le_bytes([file[8], file[9]]) as usize,
        _ => 12 + u32::from_le_bytes([file[8], file[9], file[10], file[11]]) as usize,
    };
    prop_assert_eq!(header_end % 64, 0);

    let info = inspect(&path).unwrap();
    let layout = info.layout();
    prop_assert_eq!(layout, written.layout());
    prop_assert_eq!(layout.dtype(), DType::new(T::TYPE, byte_order));
    prop_assert_eq!(layout.shape(), shape);
    // As numpy, an array whose C and F sequences coincide is recorded as C.
    let expected_order = if layout.orders_differ() {
        order
    } else {
        Order::C
    };
    prop_assert_eq!(layout.order(), expected_order);
    prop_assert_eq!(layout.offset(), header_end as u64);
    prop_assert_eq!(layout.end(), file.len() as u64);

    // The element bytes: memory order, in the file's byte order.
    let in_memory_order: Vec<T> = match expected_order {
        Order::C => array.iter().copied().collect(),
        Order::F => array.t().iter().copied().collect(),
    };
    let mut expected = Vec::with_capacity(bytes.len());
    for x in &in_memory_order {
        let mut b = bytemuck::bytes_of(x).to_vec();
        if byte_order != ByteOrder::NATIVE {
            b.chunks_mut(T::TYPE.swap_unit()).for_each(<[u8]>::reverse);
        }
        expected.extend(b);
    }
    prop_assert_eq!(&file[header_end..], &expected[..]);

    // Read back as a copy, and (native byte order) mapped in place.
    let read = read_array::<T>(&path).unwrap();
    prop_assert_eq!(read.shape(), shape);
    prop_assert!(same_bits(read.iter(), array.iter()));
    if DType::new(T::TYPE, byte_order).is_native() {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let dynamic = unsafe { DynArray::open(&path) }.unwrap();
        prop_assert_eq!(dynamic.element_type(), T::TYPE);
        prop_assert_eq!(dynamic.info(), &info);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let mapped = unsafe { MappedArray::<T>::open(&path) }.unwrap();
        prop_assert!(same_bits(mapped.view().iter(), array.iter()));
    } else {
        let is_non_native = matches!(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            unsafe { MappedArray::<T>::open(&path) },
            Err(Error::NonNativeByteOrder { .. })
        );
        prop_assert!(is_non_native);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn npy_write_then_read_is_the_identity(
        (element, shape, order, byte_order, bytes) in (element_type(), shape(6), order(), byte_order())
            .prop_flat_map(|(element, shape, order, byte_order)| {
                let n = shape.iter().product::<usize>() * element.size();
                (
                    Just(element),
                    Just(shape),
                    Just(order),
                    Just(byte_order),
                    prop::collection::vec(any::<u8>(), n),
                )
            })
    ) {
        dispatch_type!(element, |T| npy_round_trip::<T>(&shape, order, byte_order, &bytes))?;
    }
}

// ---------------------------------------------------------------------------
// Near-valid inputs.

/// A dimension as text: mostly small, sometimes at or past an integer
/// type's limit, negative, a float or not a number.
fn dim_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u64..=4).prop_map(|d| d.to_string()),
        2 => (0u64..=300).prop_map(|d| d.to_string()),
        1 => any::<u64>().prop_map(|d| d.to_string()),
        2 => select(vec![
            "2147483648",
            "4294967296",
            "1099511627776",
            "4611686018427387904",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "-1",
            "-0",
            "3.0",
            "1e3",
            "3L",
            "0x10",
            "+2",
            "",
            " 3 ",
            "null",
        ])
        .prop_map(String::from),
    ]
}

/// A dtype as text: a valid type string or name, or something close.
fn dtype_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => dtype().prop_map(|d| d.to_string()),
        1 => element_type().prop_map(|t| t.name().to_string()),
        1 => (select(vec!['<', '>', '=', '|']), element_type())
            .prop_map(|(o, t)| format!("{o}{}{}", t.kind(), t.size())),
        2 => select(vec![
            "=f8", "f4", "|b1", "<f3", "<f16", ">c32", "O", "|O", "<U10", "V8", "S5", "", "<",
            "<i004", "<f+4", "float128", "<f 4", "\u{e9}f4",
        ])
        .prop_map(String::from),
    ]
}

/// Applies 1 to 3 random byte edits (overwrite, insert, delete).
fn mutate(input: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        input,
        prop::collection::vec((any::<Index>(), 0..3u8, any::<u8>()), 1..=3),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, op, byte) in edits {
                match op {
                    0 if !bytes.is_empty() => {
                        let i = at.index(bytes.len());
                        bytes[i] = byte;
                    }
                    1 => {
                        let i = at.index(bytes.len() + 1);
                        bytes.insert(i, byte);
                    }
                    _ if !bytes.is_empty() => {
                        bytes.remove(at.index(bytes.len()));
                    }
                    _ => {}
                }
            }
            bytes
        })
}

/// A sidecar assembled from valid and invalid values for each key, keys
/// sometimes missing, repeated or unknown, in any order.
fn near_valid_sidecar() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof![
        6 => Just("1".to_string()),
        1 => select(vec!["2", "0", "-1", "1.0", "\"1\"", "null", "18446744073709551616"])
            .prop_map(String::from),
    ];
    let dtype = prop_oneof![
        8 => dtype_text().prop_map(|d| Value::String(d).to_string()),
        1 => select(vec!["4", "null", "[\"<f4\"]"]).prop_map(String::from),
    ];
    let shape = prop_oneof![
        8 => prop::collection::vec(dim_text(), 0..=5).prop_map(|d| format!("[{}]", d.join(", "))),
        1 => select(vec!["3", "\"3\"", "null", "{}", "[[3]]", "[3,]", "[]"]).prop_map(String::from),
    ];
    let order = select(vec![
        "\"C\"", "\"F\"", "\"C\"", "\"F\"", "\"c\"", "\"X\"", "null", "1", "\"\"",
    ]);
    let offset = prop_oneof![
        4 => (0u64..=64).prop_map(|o| o.to_string()),
        1 => select(vec![
            "4096", "18446744073709551615", "18446744073709551616", "-8", "8.0", "1e3", "null",
        ])
        .prop_map(String::from),
    ];
    let attrs = prop_oneof![
        4 => Just("{}".to_string()),
        2 => attrs().prop_map(|a| Value::Object(a).to_string()),
        1 => select(vec!["[]", "null", "1", "\"a\""]).prop_map(String::from),
    ];
    let present = prop::collection::vec(prop::bool::weighted(0.9), 6);
    let extra = prop::option::weighted(
        0.1,
        select(vec![
            "\"shap\": [1]",
            "\"version\": 1",
            "\"shape\": [1]",
            "\"extra\": null",
        ]),
    );
    (version, dtype, shape, order, offset, attrs, present, extra)
        .prop_flat_map(
            |(version, dtype, shape, order, offset, attrs, present, extra)| {
                let mut entries: Vec<String> = [
                    ("version", version),
                    ("dtype", dtype),
                    ("shape", shape),
                    ("order", order.to_string()),
                    ("offset", offset),
                    ("attrs", attrs),
                ]
                .into_iter()
                .zip(present)
                .filter(|(_, present)| *present)
                .map(|((key, value), _)| format!("\"{key}\": {value}"))
                .collect();
                entries.extend(extra.map(String::from));
                Just(entries).prop_shuffle()
            },
        )
        .prop_map(|entries| format!("{{{}}}", entries.join(", ")).into_bytes())
}

/// A `.npy` header assembled from valid and invalid pieces: the version, the
/// dict's values, its keys (missing, repeated, unknown, in any order), the
/// padding and the declared header length.
fn near_valid_npy_header() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof![
        4 => Just((1u8, 0u8)),
        2 => Just((2, 0)),
        2 => Just((3, 0)),
        1 => any::<(u8, u8)>(),
    ];
    let quote = select(vec!['\'', '"']);
    let descr = prop_oneof![
        8 => (quote, dtype_text()).prop_map(|(q, d)| format!("{q}{d}{q}")),
        1 => select(vec!["[('a', '<f4')]", "4", "'<f4", "'<f\\x34'"]).prop_map(String::from),
    ];
    let fortran = prop_oneof![
        6 => select(vec!["False", "True"]).prop_map(String::from),
        1 => select(vec!["0", "'F'", "true", "Tru"]).prop_map(String::from),
    ];
    let shape = prop_oneof![
        8 => (prop::collection::vec(dim_text(), 0..=5), any::<bool>()).prop_map(|(dims, comma)| {
            match dims.len() {
                0 => "()".to_string(),
                1 if comma => format!("({},)", dims[0]),
                _ => format!("({}{})", dims.join(", "), if comma { "," } else { "" }),
            }
        }),
        1 => select(vec!["[3, 4]", "3", "(3)", "(,)", "((3,),)", "("]).prop_map(String::from),
    ];
    let present = prop::collection::vec(prop::bool::weighted(0.9), 3);
    let extra = prop::option::weighted(
        0.1,
        select(vec!["'descr': '<f4'", "'extra': 1", "'shape': (1,)"]),
    );
    let dict = (descr, fortran, shape, present, extra, any::<bool>())
        .prop_flat_map(|(descr, fortran, shape, present, extra, trailing)| {
            let mut entries: Vec<String> = [
                ("descr", descr),
                ("fortran_order", fortran),
                ("shape", shape),
            ]
            .into_iter()
            .zip(present)
            .filter(|(_, present)| *present)
            .map(|((key, value), _)| format!("'{key}': {value}"))
            .collect();
            entries.extend(extra.map(String::from));
            (Just(entries).prop_shuffle(), Just(trailing))
        })
        .prop_map(|(entries, trailing)| {
            format!(
                "{{{}{}}}",
                entries.join(", "),
                if trailing { ", " } else { "" }
            )
        });
    // Padding: numpy's (spaces to a 64-byte boundary, then '\n'), none, or
    // a few spaces / junk.
    let padding = prop_oneof![
        6 => Just(None),
        1 => select(vec!["", "\n", "   ", " x\n", "\0\0\n"]).prop_map(Some),
    ];
    // How wrong the declared header length is.
    let length_error = prop_oneof![
        8 => Just(0i64),
        1 => -4i64..=4,
        1 => Just(i64::MAX),
    ];
    (version, dict, padding, length_error).prop_map(|((major, minor), dict, padding, error)| {
        let preamble = if major == 1 { 10 } else { 12 };
        let mut header = dict.into_bytes();
        match padding {
            None => {
                let pad = 64 - (preamble + header.len() + 1) % 64;
                header.extend(std::iter::repeat_n(b' ', pad));
                header.push(b'\n');
            }
            Some(p) => header.extend_from_slice(p.as_bytes()),
        }
        let declared = if error == i64::MAX {
            u64::MAX
        } else {
            (header.len() as i64 + error).max(0) as u64
        };
        let mut out = npy::MAGIC.to_vec();
        out.extend_from_slice(&[major, minor]);
        if major == 1 {
            out.extend_from_slice(&(declared.min(u16::MAX as u64) as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(declared.min(u32::MAX as u64) as u32).to_le_bytes());
        }
        out.extend_from_slice(&header);
        out
    })
}

// ---------------------------------------------------------------------------
// Any sidecar: a layout that fits, or a typed error.

fn check_any_sidecar(bytes: &[u8], file_len: u64) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.dat");
    let sidecar_path = mmarray::sidecar_path(&data);
    fs::File::create(&data).unwrap().set_len(file_len).unwrap();
    fs::write(&sidecar_path, bytes).unwrap();

    let parsed = sidecar::parse(&sidecar_path, bytes);
    let inspected = inspect(&data);
    match (&parsed, &inspected) {
        (Ok(s), Ok(info)) => {
            prop_assert_eq!(&s.layout, info.layout());
            prop_assert_eq!(&s.attrs, info.attrs());
            prop_assert!(info.layout().end() <= file_len);
        }
        (
            Ok(s),
            Err(Error::DataTooShort {
                path,
                needed,
                offset,
                nbytes,
                actual,
            }),
        ) => {
            prop_assert_eq!(path, &data);
            prop_assert_eq!(*needed, s.layout.end());
            prop_assert!(*needed > file_len);
            prop_assert_eq!(*offset, s.layout.offset());
            prop_assert_eq!(*nbytes, s.layout.nbytes() as u64);
            prop_assert_eq!(*actual, file_len);
        }
        (Err(p), Err(i)) => {
            // The same error, naming the sidecar, whichever way in.
            prop_assert_eq!(discriminant(p), discriminant(i));
            prop_assert_eq!(p.to_string(), i.to_string());
            prop_assert_eq!(i.path(), sidecar_path.as_path());
        }
        (p, i) => prop_assert!(false, "parse gave {:?} but inspect gave {:?}", p, i),
    }
    check_open_paths(&data, &inspected)
}

/// `DynArray::open`, `read_array` and `Stats::of_path` agree with what
/// `inspect` said: they open what fits, and fail otherwise.
fn check_open_paths(
    path: &Path,
    inspected: &Result<ArrayInfo, Error>,
) -> Result<(), TestCaseError> {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let opened = unsafe { DynArray::open(path) };
    match (inspected, &opened) {
        (Ok(info), Ok(array)) => prop_assert_eq!(array.info(), info),
        (Ok(_), Err(e)) => prop_assert!(
            matches!(
                e,
                Error::MisalignedOffset { .. }
                    | Error::NonNativeByteOrder { .. }
                    | Error::InvalidBool { .. }
            ),
            "{:?}",
            e
        ),
        (Err(Error::DataTooShort { .. }), Err(e)) => prop_assert!(
            matches!(
                e,
                Error::DataTooShort { .. }
                    | Error::MisalignedOffset { .. }
                    | Error::NonNativeByteOrder { .. }
            ),
            "{:?}",
            e
        ),
        (Err(i), Err(e)) => prop_assert_eq!(i.to_string(), e.to_string()),
        (Err(i), Ok(_)) => prop_assert!(false, "inspect failed ({:?}) but DynArray opened", i),
    }
    let Ok(info) = inspected else {
        return Ok(());
    };
    let layout = info.layout();
    let element = layout.dtype().element_type();
    match dispatch_type!(element, |T| read_array::<T>(path)
        .map(|a| a.shape().to_vec()))
    {
        Ok(shape) => prop_assert_eq!(shape, layout.shape()),
        Err(e) => prop_assert!(matches!(e, Error::InvalidBool { .. }), "{:?}", e),
    }
    match Stats::of_path(path, |_| {}) {
        Ok(stats) => prop_assert_eq!(stats.count, layout.len() as u64),
        Err(e) => prop_assert!(matches!(e, Error::InvalidBool { .. }), "{:?}", e),
    }
    Ok(())
}

fn any_sidecar_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..64),
        6 => near_valid_sidecar(),
        3 => mutate(near_valid_sidecar()),
    ]
}

fn file_len() -> impl Strategy<Value = u64> {
    prop_oneof![0..=64u64, 0..=4096u64]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_sidecar_fits_or_fails_typed(bytes in any_sidecar_bytes(), file_len in file_len()) {
        check_any_sidecar(&bytes, file_len)?;
    }
}

// ---------------------------------------------------------------------------
// Any .npy header: a layout that fits, or a typed error.

fn check_any_npy(header: &[u8], data: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let mut file = header.to_vec();
    file.extend_from_slice(data);
    fs::write(&path, &file).unwrap();
    let file_len = file.len() as u64;

    let parsed = npy::parse_header(&path, &file);
    let inspected = inspect(&path);
    match (&parsed, &inspected) {
        (Ok(layout), Ok(info)) => {
            prop_assert_eq!(layout, info.layout());
            prop_assert!(layout.end() <= file_len);
        }
        (
            Ok(layout),
            Err(Error::DataTooShort {
                path: p,
                needed,
                actual,
                ..
            }),
        ) => {
            prop_assert_eq!(p, &path);
            prop_assert_eq!(*needed, layout.end());
            prop_assert!(*needed > file_len);
            prop_assert_eq!(*actual, file_len);
        }
        (Err(p), Err(i)) => {
            prop_assert_eq!(discriminant(p), discriminant(i));
            prop_assert_eq!(p.to_string(), i.to_string());
            prop_assert_eq!(i.path(), path.as_path());
        }
        (p, i) => prop_assert!(false, "parse gave {:?} but inspect gave {:?}", p, i),
    }
    check_open_paths(&path, &inspected)
}

fn any_npy_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|rest| {
            let mut bytes = npy::MAGIC.to_vec();
            bytes.extend(rest);
            bytes
        }),
        6 => near_valid_npy_header(),
        3 => mutate(near_valid_npy_header()),
    ]
}

fn npy_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(0u8..=1, 0..=600),
        1 => prop::collection::vec(any::<u8>(), 0..=600),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_npy_header_fits_or_fails_typed(header in any_npy_header(), data in npy_data()) {
        check_any_npy(&header, &data)?;
    }
}
