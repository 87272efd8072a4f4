//! Helpers shared by the integration tests: an encoder for element values
//! written independently of the library, and file builders.
#![allow(dead_code)]

pub mod child;

use std::fs;
use std::path::{Path, PathBuf};

use half::f16;
use mmarray::Element;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex;

/// Element types with a deterministic value for each index and an
/// independent byte encoding in either byte order.
pub trait TestElement: Element {
    /// numpy's type string without byte order (`f4`).
    const CODE: &'static str;
    fn nth(i: usize) -> Self;
    fn encode(self, big_endian: bool) -> Vec<u8>;
}

macro_rules! int_elements {
    ($($t:ty => $code:expr),*) => {$(
        impl TestElement for $t {
            const CODE: &'static str = $code;
            fn nth(i: usize) -> Self {
                // Spread values over the range, including negatives and extremes.
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7) as $t
            }
            fn encode(self, big: bool) -> Vec<u8> {
                if big { self.to_be_bytes().to_vec() } else { self.to_le_bytes().to_vec() }
            }
        }
    )*};
}
int_elements!(i8 => "i1", u8 => "u1", i16 => "i2", u16 => "u2", i32 => "i4", u32 => "u4", i64 => "i8", u64 => "u8");

impl TestElement for bool {
    const CODE: &'static str = "b1";
    fn nth(i: usize) -> Self {
        i % 3 == 1
    }
    fn encode(self, _big: bool) -> Vec<u8> {
        vec![self as u8]
    }
}

impl TestElement for f16 {
    const CODE: &'static str = "f2";
    fn nth(i: usize) -> Self {
        f16::from_f32(i as f32 * 0.5 - 3.25)
    }
    fn encode(self, big: bool) -> Vec<u8> {
        if big {
            self.to_be_bytes().to_vec()
        } else {
            self.to_le_bytes().to_vec()
        }
    }
}

impl TestElement for f32 {
    const CODE: &'static str = "f4";
    fn nth(i: usize) -> Self {
        i as f32 * 1.25 - 7.5
    }
    fn encode(self, big: bool) -> Vec<u8> {
        if big {
            self.to_be_bytes().to_vec()
        } else {
            self.to_le_bytes().to_vec()
        }
    }
}

impl TestElement for f64 {
    const CODE: &'static str = "f8";
    fn nth(i: usize) -> Self {
        i as f64 * -0.375 + 1e10
    }
    fn encode(self, big: bool) -> Vec<u8> {
        if big {
            self.to_be_bytes().to_vec()
        } else {
            self.to_le_bytes().to_vec()
        }
    }
}

impl TestElement for Complex<f32> {
    const CODE: &'static str = "c8";
    fn nth(i: usize) -> Self {
        Complex::new(i as f32, -(i as f32) * 2.0 - 0.5)
    }
    fn encode(self, big: bool) -> Vec<u8> {
        let mut v = self.re.encode(big);
        v.extend(self.im.encode(big));
        v
    }
}

impl TestElement for Complex<f64> {
    const CODE: &'static str = "c16";
    fn nth(i: usize) -> Self {
        Complex::new(i as f64 + 0.25, -(i as f64))
    }
    fn encode(self, big: bool) -> Vec<u8> {
        let mut v = self.re.encode(big);
        v.extend(self.im.encode(big));
        v
    }
}

/// The expected logical array: element at C-order flat index `i` is `nth(i)`.
pub fn expected<T: TestElement>(shape: &[usize]) -> ArrayD<T> {
    expected_from(shape, 0)
}

/// Like [`expected`], with element `i` being `nth(start + i)`: another set of
/// values for the same shape.
pub fn expected_from<T: TestElement>(shape: &[usize], start: usize) -> ArrayD<T> {
    let len: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (start..start + len).map(T::nth).collect()).unwrap()
}

/// The array's elements in memory order `order` ("C" or "F"), encoded.
pub fn encode<T: TestElement>(array: &ArrayD<T>, order: &str, big: bool) -> Vec<u8> {
    let iter: Box<dyn Iterator<Item = &T>> = match order {
        "C" => Box::new(array.iter()),
        _ => Box::new(array.t().into_iter()),
    };
    iter.flat_map(|&x| x.encode(big)).collect()
}

/// The type string numpy would write for `T` in the given byte order.
pub fn type_string<T: TestElement>(big: bool) -> String {
    let order = if T::CODE.ends_with('1') && T::CODE.len() == 2 {
        '|'
    } else if big {
        '>'
    } else {
        '<'
    };
    format!("{order}{}", T::CODE)
}

/// Writes `prefix` followed by `data` to `path`, and a sidecar for it.
pub fn write_raw(path: &Path, prefix: &[u8], data: &[u8], sidecar_json: &str) {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(data);
    fs::write(path, bytes).unwrap();
    fs::write(sidecar_of(path), sidecar_json).unwrap();
}

pub fn sidecar_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

pub fn sidecar_json(dtype: &str, shape: &[usize], order: &str, offset: usize) -> String {
    format!(
        r#"{{"version": 1, "dtype": "{dtype}", "shape": {shape:?}, "order": "{order}", "offset": {offset}, "attrs": {{}}}}"#
    )
}

/// The shapes every round trip covers: 0-d, empty, 1-d to 4-d.
pub const SHAPES: &[&[usize]] = &[
    &[],
    &[0],
    &[1],
    &[7],
    &[3, 0],
    &[4, 5],
    &[2, 3, 4],
    &[2, 3, 2, 5],
];

/// Applies `$body` (a generic function) to every element type.
#[macro_export]
macro_rules! for_each_type {
    ($f:ident) => {{
        $f::<bool>();
        $f::<i8>();
        $f::<u8>();
        $f::<i16>();
        $f::<u16>();
        $f::<i32>();
        $f::<u32>();
        $f::<i64>();
        $f::<u64>();
        $f::<half::f16>();
        $f::<f32>();
        $f::<f64>();
        $f::<num_complex::Complex<f32>>();
        $f::<num_complex::Complex<f64>>();
    }};
}

/// A stable hash of a file's bytes (FNV-1a 64).
pub fn file_hash(path: &Path) -> u64 {
    fs::read(path)
        .unwrap()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Whether the tests run as root (who ignores file permissions), from the
/// owner of a file just made.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid() == 0
}

/// The names of the entries in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// A live numpy, for the tests that compare with it

use std::ffi::OsString;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The interpreter with numpy, or `None` (after printing why) when numpy is
/// missing and not required. Panics when it is missing and required.
pub fn numpy() -> Option<&'static OsString> {
    static FOUND: OnceLock<Result<OsString, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let exe = std::env::var_os("MMARRAY_PYTHON").unwrap_or_else(|| "python3".into());
        match Command::new(&exe).args(["-c", "import numpy"]).output() {
            Ok(out) if out.status.success() => Ok(exe),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned()),
            Err(e) => Err(format!("cannot run {exe:?}: {e}")),
        }
    });
    match found {
        Ok(exe) => Some(exe),
        Err(why) if std::env::var("MMARRAY_REQUIRE_NUMPY").as_deref() == Ok("1") => {
            panic!("MMARRAY_REQUIRE_NUMPY=1 but numpy is not available: {why}")
        }
        Err(why) => {
            println!("skipped: numpy not available ({why})");
            None
        }
    }
}

/// Runs `script` with the directory as `sys.argv[1]`; returns the JSON
/// object it prints last.
pub fn run_python(python: &OsString, dir: &Path, script: &str) -> Value {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("python printed {stdout:?}: {e}"))
}

/// A new zero-filled array of `shape` at `path`, opened with the
/// shared-write open: what the tests of growth, locks and processes use
/// for a writer that readers map beside (an exclusive `open_mut` or
/// `create` mapping refuses every other mapping of the file).
#[allow(dead_code)]
pub fn create_shared<T: Element>(
    path: &Path,
    shape: &[usize],
) -> mmarray::MappedArray<T, mmarray::ReadWrite> {
    // SAFETY: a new file in the test's own temporary directory; the handle
    // is gone before the shared-write open.
    drop(unsafe { mmarray::MappedArray::<T>::create(path, shape) }.unwrap());
    open_shared::<T>(path)
}

/// The shared-write open of `path` (see [`create_shared`]).
#[allow(dead_code)]
pub fn open_shared<T: Element>(path: &Path) -> mmarray::MappedArray<T, mmarray::ReadWrite> {
    // SAFETY: the test's own file: its handles write disjoint rows (or one
    // writer appends), and readers read rows once written.
    unsafe { mmarray::MappedArray::<T>::open_shared_mut(path) }.unwrap()
}
