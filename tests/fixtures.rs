//! Files written by numpy (committed under `tests/fixtures/`, made by
//! `tests/fixtures/generate.py`) read back with the values, shape, order and
//! offset their manifest lists. Needs no Python.
//!
//! Every fixture is read twice: zero-copy with `MappedArray::open` (which
//! must refuse big-endian files with `Error::NonNativeByteOrder` and
//! misaligned offsets with `Error::MisalignedOffset`) and by copying with
//! `read_array` (which accepts both).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use half::f16;
use mmarray::{DType, Element, ElementType, Error, Format, MappedArray, Order, read_array};
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    generator: String,
    numpy_version: String,
    values: String,
    fixtures: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    format: String,
    npy_version: Option<[u8; 2]>,
    #[serde(rename = "type")]
    type_name: String,
    dtype: String,
    shape: Vec<usize>,
    order: String,
    offset: u64,
    values: Vec<Value>,
    attrs: Option<serde_json::Map<String, Value>>,
}

impl Entry {
    fn dtype(&self) -> DType {
        self.dtype
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.file))
    }

    fn order(&self) -> Order {
        match self.order.as_str() {
            "C" => Order::C,
            "F" => Order::F,
            other => panic!("{}: order {other:?}", self.file),
        }
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(fixtures_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Manifest values: bools and integers as JSON literals, floats as decimal
/// strings (parsed exactly by `str::parse`), complex numbers as `[re, im]`.
trait FromManifest: Element {
    fn from_manifest(v: &Value) -> Option<Self>;
}

impl FromManifest for bool {
    fn from_manifest(v: &Value) -> Option<Self> {
        v.as_bool()
    }
}

macro_rules! signed_from_manifest {
    ($($t:ty),*) => {$(
        impl FromManifest for $t {
            fn from_manifest(v: &Value) -> Option<Self> {
                v.as_i64().and_then(|x| <$t>::try_from(x).ok())
            }
        }
    )*};
}
signed_from_manifest!(i8, i16, i32, i64);

macro_rules! unsigned_from_manifest {
    ($($t:ty),*) => {$(
        impl FromManifest for $t {
            fn from_manifest(v: &Value) -> Option<Self> {
                v.as_u64().and_then(|x| <$t>::try_from(x).ok())
            }
        }
    )*};
}
unsigned_from_manifest!(u8, u16, u32, u64);

fn manifest_f64(v: &Value) -> Option<f64> {
    v.as_str()?.parse().ok()
}

impl FromManifest for f64 {
    fn from_manifest(v: &Value) -> Option<Self> {
        manifest_f64(v)
    }
}

impl FromManifest for f32 {
    fn from_manifest(v: &Value) -> Option<Self> {
        let x = manifest_f64(v)?;
        // Every manifest value is exact in its own type.
        (f64::from(x as f32) == x).then_some(x as f32)
    }
}

impl FromManifest for f16 {
    fn from_manifest(v: &Value) -> Option<Self> {
        let x = manifest_f64(v)?;
        let h = f16::from_f64(x);
        (h.to_f64() == x).then_some(h)
    }
}

impl<F: FromManifest> FromManifest for Complex<F>
where
    Complex<F>: Element,
{
    fn from_manifest(v: &Value) -> Option<Self> {
        match v.as_array()?.as_slice() {
            [re, im] => Some(Complex::new(F::from_manifest(re)?, F::from_manifest(im)?)),
            _ => None,
        }
    }
}

/// Runs `$f::<T>(args)` for the Rust type `T` of numpy type name `$name`.
macro_rules! with_type {
    ($name:expr, $f:ident($($arg:expr),*)) => {
        match $name {
            "bool" => $f::<bool>($($arg),*),
            "int8" => $f::<i8>($($arg),*),
            "uint8" => $f::<u8>($($arg),*),
            "int16" => $f::<i16>($($arg),*),
            "uint16" => $f::<u16>($($arg),*),
            "int32" => $f::<i32>($($arg),*),
            "uint32" => $f::<u32>($($arg),*),
            "int64" => $f::<i64>($($arg),*),
            "uint64" => $f::<u64>($($arg),*),
            "float16" => $f::<f16>($($arg),*),
            "float32" => $f::<f32>($($arg),*),
            "float64" => $f::<f64>($($arg),*),
            "complex64" => $f::<Complex<f32>>($($arg),*),
            "complex128" => $f::<Complex<f64>>($($arg),*),
            other => panic!("unknown type {other:?} in the manifest"),
        }
    };
}

/// The logical array the manifest describes (values are in C order).
fn expected<T: FromManifest>(e: &Entry) -> ArrayD<T> {
    let values: Vec<T> = e
        .values
        .iter()
        .map(|v| {
            T::from_manifest(v).unwrap_or_else(|| {
                panic!("{}: manifest value {v} is not a {}", e.file, e.type_name)
            })
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&e.shape), values)
        .unwrap_or_else(|err| panic!("{}: values do not fit the shape: {err}", e.file))
}

/// Checks one fixture completely; returns what was exercised.
fn check<T: FromManifest>(e: &Entry) -> Outcome {
    let path = fixtures_dir().join(&e.file);
    let name = &e.file;
    let want = expected::<T>(e);
    let dtype = e.dtype();
    assert_eq!(dtype.element_type(), T::TYPE, "{name}");
    assert_eq!(dtype.to_string(), e.dtype, "{name}: dtype string");

    // The description, without mapping.
    let info = mmarray::inspect(&path).unwrap_or_else(|err| panic!("{name}: {err}"));
    let format = match e.format.as_str() {
        "npy" => Format::Npy,
        "raw" => Format::Raw,
        other => panic!("{name}: format {other:?}"),
    };
    assert_eq!(info.format(), format, "{name}");
    assert_eq!(info.layout().dtype(), dtype, "{name}");
    assert_eq!(info.layout().shape(), &e.shape[..], "{name}");
    assert_eq!(info.layout().order(), e.order(), "{name}");
    assert_eq!(info.layout().offset(), e.offset, "{name}");
    assert_eq!(info.layout().len(), want.len(), "{name}");
    match format {
        Format::Raw => {
            let attrs = e.attrs.as_ref().expect("raw fixtures list attrs");
            assert_eq!(info.attrs(), attrs, "{name}");
            assert_eq!(info.sidecar_path(), Some(&*sidecar_of(&path)), "{name}");
        }
        Format::Npy => assert!(info.attrs().is_empty(), "{name}"),
        other => panic!("{name}: fixtures are raw or .npy, not {other}"),
    }

    // A converted copy: any byte order, any offset.
    let copy = read_array::<T>(&path).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(copy, want, "{name}: read_array values");
    assert_eq!(copy.shape(), &e.shape[..], "{name}");

    // Zero-copy: native byte order and an aligned offset only.
    let aligned = e.offset.is_multiple_of(T::TYPE.align() as u64);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let outcome = match unsafe { MappedArray::<T>::open(&path) } {
        Err(Error::NonNativeByteOrder {
            dtype: found,
            path: p,
        }) if !dtype.is_native() => {
            assert_eq!((found, p), (dtype, path.clone()), "{name}");
            Outcome::RefusedNonNative
        }
        Err(Error::MisalignedOffset {
            offset,
            align,
            dtype: found,
            ..
        }) if dtype.is_native() && !aligned => {
            assert_eq!(
                (offset, align, found),
                (e.offset, T::TYPE.align(), dtype),
                "{name}"
            );
            Outcome::RefusedMisaligned
        }
        Ok(a) if dtype.is_native() && aligned => {
            assert_eq!(a.view(), want, "{name}: zero-copy values");
            assert_eq!(a.shape(), &e.shape[..], "{name}");
            assert_eq!(a.order(), e.order(), "{name}");
            assert_eq!(a.format(), format, "{name}");
            // The mapping holds the elements in the file's memory order.
            let in_memory_order: Vec<T> = match e.order() {
                Order::C => want.iter().copied().collect(),
                Order::F => want.t().iter().copied().collect(),
            };
            assert_eq!(a.as_slice(), &in_memory_order[..], "{name}: memory order");
            if format == Format::Raw {
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let via_sidecar = unsafe { MappedArray::<T>::open(sidecar_of(&path)) }
                    .unwrap_or_else(|err| panic!("{name} via its sidecar: {err}"));
                assert_eq!(via_sidecar.view(), want, "{name} via its sidecar");
            }
            Outcome::Mapped
        }
        other => panic!(
            "{name}: open gave {other:?} for dtype {dtype} (native: {}) at offset {} (aligned: {aligned})",
            dtype.is_native(),
            e.offset
        ),
    };

    // Opened as the wrong type: a mismatch naming both types.
    if T::TYPE == ElementType::U8 {
        check_mismatch::<i8>(&path, dtype);
    } else {
        check_mismatch::<u8>(&path, dtype);
    }
    outcome
}

fn check_mismatch<U: Element>(path: &Path, found_dtype: DType) {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    match unsafe { MappedArray::<U>::open(path) } {
        Err(Error::DtypeMismatch {
            expected, found, ..
        }) => assert_eq!((expected, found), (DType::of::<U>(), found_dtype)),
        other => panic!("{}: opened as {:?}: {other:?}", path.display(), U::TYPE),
    }
    match read_array::<U>(path) {
        Err(Error::DtypeMismatch { found, .. }) => assert_eq!(found, found_dtype),
        other => panic!("{}: read as {:?}: {other:?}", path.display(), U::TYPE),
    }
}

fn sidecar_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    Mapped,
    RefusedNonNative,
    RefusedMisaligned,
}

/// Checks every fixture selected by `select`; returns how many ended in
/// each outcome. `check` itself works on any machine; the counts the tests
/// expect are those of a little-endian one (where the fixtures were made),
/// and are only compared there.
fn check_all(select: impl Fn(&Entry) -> bool) -> Vec<(Outcome, usize)> {
    let m = manifest();
    let mut counts = std::collections::BTreeMap::new();
    for e in m.fixtures.iter().filter(|e| select(e)) {
        let outcome = with_type!(e.type_name.as_str(), check(e));
        *counts.entry(outcome).or_insert(0) += 1;
    }
    if cfg!(target_endian = "big") {
        return Vec::new();
    }
    counts.into_iter().collect()
}

/// The expected counts, on a little-endian machine.
fn on_little_endian(counts: &[(Outcome, usize)]) -> Vec<(Outcome, usize)> {
    if cfg!(target_endian = "big") {
        return Vec::new();
    }
    counts.to_vec()
}

fn big_endian(e: &Entry) -> bool {
    e.dtype.starts_with('>')
}

#[test]
fn little_endian_npy_fixtures_map_zero_copy_with_their_values() {
    let counts = check_all(|e| e.format == "npy" && !big_endian(e));
    // 14 types x 5 shapes x 2 orders, 28 version 2.0/3.0 files, 3 more.
    assert_eq!(counts, on_little_endian(&[(Outcome::Mapped, 140 + 28 + 3)]));
}

#[test]
fn little_endian_raw_fixtures_map_zero_copy_with_their_values() {
    let counts = check_all(|e| e.format == "raw" && !big_endian(e));
    // 14 types x 2, 3 past the first page, 4 more; one misaligned.
    assert_eq!(
        counts,
        on_little_endian(&[
            (Outcome::Mapped, 28 + 3 + 4),
            (Outcome::RefusedMisaligned, 1)
        ])
    );
}

#[test]
fn big_endian_fixtures_are_refused_zero_copy_and_read_by_copying() {
    let counts = check_all(big_endian);
    // .npy: 11 multi-byte types x 3, two more in versions 2.0 / 3.0; raw: 5.
    assert_eq!(
        counts,
        on_little_endian(&[(Outcome::RefusedNonNative, 33 + 2 + 5)])
    );
}

#[test]
fn manifest_covers_every_type_shape_order_and_version() {
    let m = manifest();
    assert_eq!(m.generator, "tests/fixtures/generate.py");
    assert!(m.values.contains("docstring"), "{}", m.values);
    assert!(
        m.numpy_version.starts_with(|c: char| c.is_ascii_digit()),
        "{}",
        m.numpy_version
    );
    let shapes: [&[usize]; 5] = [&[], &[0], &[5], &[3, 4], &[2, 3, 4]];
    let has = |pred: &dyn Fn(&Entry) -> bool| m.fixtures.iter().any(pred);
    for &t in ElementType::ALL {
        let of_type = |e: &Entry| e.type_name == t.name();
        for shape in shapes {
            for order in ["C", "F"] {
                assert!(
                    has(&|e| of_type(e)
                        && e.format == "npy"
                        && e.npy_version == Some([1, 0])
                        && !big_endian(e)
                        && e.shape == shape
                        && e.order == order),
                    "no .npy fixture for {t} {shape:?} {order}"
                );
            }
        }
        for version in [[2, 0], [3, 0]] {
            assert!(
                has(&|e| of_type(e) && e.npy_version == Some(version)),
                "no version {version:?} fixture for {t}"
            );
        }
        assert!(
            has(&|e| of_type(e) && e.format == "raw" && e.offset > 0),
            "no raw fixture at a nonzero offset for {t}"
        );
        if t.size() > 1 {
            assert!(
                has(&|e| of_type(e) && e.format == "npy" && e.dtype.starts_with('>')),
                "no big-endian .npy fixture for {t}"
            );
        }
    }
    let raw = |pred: &dyn Fn(&Entry) -> bool| has(&|e| e.format == "raw" && pred(e));
    assert!(raw(&|e| e.shape.is_empty()), "no 0-d raw fixture");
    assert!(raw(&|e| e.values.is_empty()), "no empty raw fixture");
    assert!(raw(&big_endian), "no big-endian raw fixture");
    assert!(
        raw(&|e| e.offset > 4096),
        "no raw fixture past the first page"
    );
}

#[test]
fn every_fixture_file_is_in_the_manifest_and_every_entry_exists() {
    let m = manifest();
    let listed: BTreeSet<String> = m.fixtures.iter().map(|e| e.file.clone()).collect();
    assert_eq!(listed.len(), m.fixtures.len(), "duplicate manifest entries");
    let mut on_disk = BTreeSet::new();
    for sub in ["npy", "raw"] {
        for entry in std::fs::read_dir(fixtures_dir().join(sub)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if sub == "raw" && name.ends_with(".json") {
                let data = name.strip_suffix(".json").unwrap();
                assert!(
                    fixtures_dir().join(sub).join(data).is_file(),
                    "sidecar {name} without its data file"
                );
                continue;
            }
            on_disk.insert(format!("{sub}/{name}"));
        }
    }
    assert_eq!(on_disk, listed);
}
