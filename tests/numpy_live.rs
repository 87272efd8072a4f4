//! Live round trips against real numpy, driven through `python3`.
//!
//! The interpreter is `$MMARRAY_PYTHON` (default `python3`). Without numpy
//! these tests print "skipped: numpy not available" and pass, unless
//! `MMARRAY_REQUIRE_NUMPY=1` (set by `scripts/test.sh`), which makes them
//! fail instead.
//!
//! Each test starts one Python process for all its cases: Rust writes a JSON
//! list of cases, the script (a shared prelude plus the test's body) writes
//! or checks every file and prints `{"checked": N}`, or lists what differed
//! and exits non-zero. Both sides compute the expected values from the same
//! formula (`TestElement::nth` in `tests/common/mod.rs`, mirrored by `nth`
//! in the prelude) and compare them exactly, byte for byte.

mod common;

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use mmarray::{ByteOrder, CreateOptions, Error, Format, MappedArray, Order, read_array};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Running Python.

struct Python {
    exe: OsString,
}

/// The interpreter with numpy, or `None` (after printing why) when numpy is
/// missing and not required. Panics when it is missing and required.
fn numpy() -> Option<&'static Python> {
    static FOUND: OnceLock<Result<Python, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let exe = std::env::var_os("MMARRAY_PYTHON").unwrap_or_else(|| "python3".into());
        let shown = exe.to_string_lossy().into_owned();
        match Command::new(&exe)
            .args(["-c", "import numpy; print(numpy.__version__)"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(Python { exe }),
            Ok(out) => Err(format!(
                "`{shown} -c 'import numpy'` failed: {}",
                // The traceback's last line: "ModuleNotFoundError: ...".
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            )),
            Err(e) => Err(format!("cannot run `{shown}`: {e}")),
        }
    });
    match found {
        Ok(python) => Some(python),
        Err(why) if std::env::var("MMARRAY_REQUIRE_NUMPY").as_deref() == Ok("1") => panic!(
            "MMARRAY_REQUIRE_NUMPY=1 but numpy is not available: {why}\n\
             (set MMARRAY_PYTHON to an interpreter with numpy, or run `bash scripts/test.sh`)"
        ),
        Err(why) => {
            println!("skipped: numpy not available ({why})");
            None
        }
    }
}

impl Python {
    /// Runs the prelude plus `body` on `cases` (written to `dir/cases.json`)
    /// and returns the JSON object the script prints last. Panics, with the
    /// script's output, if it fails.
    fn run(&self, dir: &Path, body: &str, cases: &Value) -> Value {
        let cases_path = dir.join("cases.json");
        std::fs::write(&cases_path, serde_json::to_vec(cases).unwrap()).unwrap();
        let helper_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
        let out = Command::new(&self.exe)
            .arg("-c")
            .arg(format!("{PRELUDE}\n{body}\nfinish()\n"))
            .arg(&cases_path)
            .env("MMARRAY_PY_DIR", helper_dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("running python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("python printed {stdout:?} ({e}); stderr: {stderr}"))
    }

    /// As [`run`](Self::run), and checks that the script made `checks` checks.
    fn run_checked(&self, dir: &Path, body: &str, cases: &Value, checks: usize) -> Value {
        let result = self.run(dir, body, cases);
        assert_eq!(
            result["checked"].as_u64(),
            Some(checks as u64),
            "python made another number of checks than expected: {result}"
        );
        result
    }
}

/// Helpers every script shares. `nth` mirrors `TestElement::nth`.
const PRELUDE: &str = r#"
import hashlib, json, math, os, sys
import numpy as np
sys.path.insert(0, os.environ["MMARRAY_PY_DIR"])
import mmarray_sidecar as ms

MASK64 = (1 << 64) - 1
INTS = {"int8": (8, True), "uint8": (8, False), "int16": (16, True), "uint16": (16, False),
        "int32": (32, True), "uint32": (32, False), "int64": (64, True), "uint64": (64, False)}

def nth(type_name, start, n):
    """Elements start..start+n of TestElement::nth (tests/common/mod.rs)."""
    idx = range(start, start + n)
    if type_name == "bool":
        return np.array([k % 3 == 1 for k in idx], dtype=bool)
    if type_name in INTS:
        bits, signed = INTS[type_name]
        out = []
        for k in idx:
            v = (k * 0x9E3779B97F4A7C15) & MASK64
            v = ((v << 7) | (v >> 57)) & MASK64
            v &= (1 << bits) - 1
            if signed and v >> (bits - 1):
                v -= 1 << bits
            out.append(v)
        return np.array(out, dtype=type_name)
    # Every value below is exact in float64 and float32, so computing in
    # float64 and rounding once gives what Rust computes.
    if type_name == "float16":
        return np.array([k * 0.5 - 3.25 for k in idx]).astype(np.float16)
    if type_name == "float32":
        return np.array([k * 1.25 - 7.5 for k in idx]).astype(np.float32)
    if type_name == "float64":
        return np.array([k * -0.375 + 1e10 for k in idx], dtype=np.float64)
    if type_name == "complex64":
        return np.array([complex(k, -k * 2.0 - 0.5) for k in idx], dtype=np.complex64)
    if type_name == "complex128":
        return np.array([complex(k + 0.25, -float(k)) for k in idx], dtype=np.complex128)  # -0.0 at 0, as in Rust
    raise ValueError(type_name)

def expected(type_name, shape, start=0, big=False, order="C"):
    a = nth(type_name, start, math.prod(shape)).reshape(tuple(shape))
    if big:
        a = a.astype(a.dtype.newbyteorder(">"))
    return a.copy(order=order)

def same(actual, want):
    """None if `actual` has want's shape, element type and exactly its values
    (compared as bytes in native order), else what differs."""
    a = np.asarray(actual)
    if a.shape != want.shape:
        return f"shape {a.shape}, expected {want.shape}"
    if (a.dtype.kind, a.dtype.itemsize) != (want.dtype.kind, want.dtype.itemsize):
        return f"dtype {a.dtype.str}, expected {want.dtype.str}"
    native = lambda x: x.astype(x.dtype.newbyteorder("="))
    if native(a).tobytes(order="C") != native(want).tobytes(order="C"):
        return f"values {a.tolist()}, expected {want.tolist()}"
    return None

def order_problem(arr, order):
    """None if the array's memory layout is `order`, else what differs."""
    flags = arr.flags
    ok = flags.f_contiguous if order == "F" else flags.c_contiguous
    return None if ok else f"not {order}-contiguous (C: {flags.c_contiguous}, F: {flags.f_contiguous})"

def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

FAILURES = []
CHECKED = 0

def check(label, *problems):
    """Counts one check; records the first problem that is not None."""
    global CHECKED
    CHECKED += 1
    for problem in problems:
        if problem:
            FAILURES.append(f"{label}: {problem}")
            return

def raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return None
    except Exception as e:
        return f"raised {type(e).__name__}: {e}, expected {exc_type.__name__}"
    return f"did not raise {exc_type.__name__}"

RESULT = {}

def finish():
    """Prints the result (the number of checks, and RESULT) or the failures."""
    if FAILURES:
        print(f"{len(FAILURES)} of {CHECKED} checks failed:", file=sys.stderr)
        for failure in FAILURES[:40]:
            print("  " + failure, file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"checked": CHECKED, "numpy": np.__version__, **RESULT}))

with open(sys.argv[1]) as f:
    CASES = json.load(f)
"#;

// ---------------------------------------------------------------------------
// Shared Rust-side helpers.

/// Calls `$f::<T>($args)` for every element type.
macro_rules! each_type {
    ($f:ident($($arg:expr),*)) => {{
        $f::<bool>($($arg),*);
        $f::<i8>($($arg),*);
        $f::<u8>($($arg),*);
        $f::<i16>($($arg),*);
        $f::<u16>($($arg),*);
        $f::<i32>($($arg),*);
        $f::<u32>($($arg),*);
        $f::<i64>($($arg),*);
        $f::<u64>($($arg),*);
        $f::<half::f16>($($arg),*);
        $f::<f32>($($arg),*);
        $f::<f64>($($arg),*);
        $f::<num_complex::Complex<f32>>($($arg),*);
        $f::<num_complex::Complex<f64>>($($arg),*);
    }};
}

/// Checks run after Python has done its part.
type Checks = Vec<Box<dyn FnOnce()>>;

const BIG_IS_NATIVE: bool = cfg!(target_endian = "big");

/// The byte orders (as "is big-endian") worth testing for `T`: both for
/// multi-byte types, one for bytes (numpy writes `|` for them).
fn byte_orders<T: TestElement>() -> &'static [bool] {
    if T::TYPE.size() > 1 {
        &[false, true]
    } else {
        &[BIG_IS_NATIVE]
    }
}

fn is_native<T: TestElement>(big: bool) -> bool {
    T::TYPE.size() == 1 || big == BIG_IS_NATIVE
}

fn order_of(name: &str) -> Order {
    if name == "F" { Order::F } else { Order::C }
}

/// The order numpy records for an array of `shape` laid out in `requested`
/// order: F only when that layout is not also a C layout (arrays with no
/// elements, or with at most one axis longer than 1, are both).
fn numpy_order(shape: &[usize], requested: Order) -> Order {
    let both = shape.contains(&0) || shape.iter().filter(|&&d| d > 1).count() <= 1;
    if requested == Order::F && !both {
        Order::F
    } else {
        Order::C
    }
}

fn file_name<T: TestElement>(tag: &str, case: usize, order: &str, big: bool, ext: &str) -> String {
    let bo = if big { "be" } else { "le" };
    format!("{}_{tag}_{case}_{order}_{bo}.{ext}", T::TYPE.name())
}

/// Checks a file numpy wrote: its description, zero-copy values (or the
/// right refusal) and copied values.
fn check_numpy_file<T: TestElement>(
    path: &Path,
    want_values: &ndarray::ArrayD<T>,
    format: Format,
    big: bool,
    order: Order,
    offset: Option<u64>,
) {
    let name = path.display();
    let dtype = type_string::<T>(big);
    let info = mmarray::inspect(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(info.format(), format, "{name}");
    assert_eq!(info.layout().dtype().to_string(), dtype, "{name}");
    assert_eq!(info.layout().shape(), want_values.shape(), "{name}");
    assert_eq!(info.layout().order(), order, "{name}");
    let offset = offset.unwrap_or_else(|| info.layout().offset());
    assert_eq!(info.layout().offset(), offset, "{name}");
    let aligned = offset.is_multiple_of(T::TYPE.align() as u64);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    match unsafe { MappedArray::<T>::open(path) } {
        Ok(a) if is_native::<T>(big) && aligned => {
            assert_eq!(&a.view(), want_values, "{name}: zero-copy values");
            assert_eq!(a.order(), order, "{name}");
            if format == Format::Raw {
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let via_sidecar = unsafe { MappedArray::<T>::open(sidecar_of(path)) }.unwrap();
                assert_eq!(&via_sidecar.view(), want_values, "{name} via its sidecar");
            }
        }
        Err(Error::NonNativeByteOrder { dtype: d, .. }) if !is_native::<T>(big) => {
            assert_eq!(d.to_string(), dtype, "{name}");
        }
        Err(Error::MisalignedOffset {
            offset: o, align, ..
        }) if is_native::<T>(big) && !aligned => {
            assert_eq!((o, align), (offset, T::TYPE.align()), "{name}")
        }
        other => panic!(
            "{name}: open gave {other:?} (native: {}, aligned: {aligned})",
            is_native::<T>(big)
        ),
    }
    let copy = read_array::<T>(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&copy, want_values, "{name}: read_array values");
}

// ---------------------------------------------------------------------------
// numpy writes, Rust reads.

const NPY_WRITERS: &[&str] = &["save", "v1", "v2", "v3", "open_memmap"];

fn numpy_npy_cases<T: TestElement>(dir: &Path, cases: &mut Vec<Value>, checks: &mut Checks) {
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in ["C", "F"] {
            for &big in byte_orders::<T>() {
                for writer in NPY_WRITERS {
                    let path = dir.join(file_name::<T>(writer, case, order, big, "npy"));
                    cases.push(json!({
                        "path": path, "type": T::TYPE.name(), "shape": shape,
                        "order": order, "big": big, "writer": writer,
                    }));
                    let version = match *writer {
                        "v2" => 2,
                        "v3" => 3,
                        _ => 1,
                    };
                    checks.push(Box::new(move || {
                        let bytes = std::fs::read(&path).unwrap();
                        assert_eq!(bytes[6..8], [version, 0], "{}: version", path.display());
                        let order = numpy_order(shape, order_of(order));
                        let want = expected::<T>(shape);
                        check_numpy_file::<T>(&path, &want, Format::Npy, big, order, None);
                        let offset = mmarray::inspect(&path).unwrap().layout().offset();
                        assert_eq!(offset % 64, 0, "numpy aligns the data to 64 bytes");
                    }));
                }
            }
        }
    }
}

#[test]
fn npy_files_written_by_numpy_are_read_by_rust() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut cases, mut checks) = (Vec::new(), Checks::new());
    each_type!(numpy_npy_cases(dir.path(), &mut cases, &mut checks));
    let body = r#"
for c in CASES:
    a = expected(c["type"], c["shape"], big=c["big"], order=c["order"])
    path, writer = c["path"], c["writer"]
    if writer == "save":
        np.save(path, a)
    elif writer == "open_memmap":
        fortran = c["order"] == "F" and not a.flags.c_contiguous
        m = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape, fortran_order=fortran)
        m[...] = a
        m.flush()
        del m
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=(int(writer[1]), 0))
    check(path, same(np.load(path), a))
"#;
    py.run_checked(dir.path(), body, &json!(cases), cases.len());
    let n = checks.len();
    checks.into_iter().for_each(|check| check());
    // 8 shapes x 2 orders x 5 writers x (3 one-byte types + 11 types x 2 byte orders).
    assert_eq!(n, 8 * 2 * 5 * (3 + 11 * 2));
}

const RAW_WRITERS: &[&str] = &["tofile", "save", "memmap"];

fn numpy_raw_cases<T: TestElement>(dir: &Path, cases: &mut Vec<Value>, checks: &mut Checks) {
    let item = T::TYPE.size();
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in ["C", "F"] {
            for &big in byte_orders::<T>() {
                for writer in RAW_WRITERS {
                    let offsets: Vec<usize> = match *writer {
                        // None, one element, past the first page, and (for
                        // multi-byte types) misaligned, which only read_array reads.
                        "tofile" if item > 1 => vec![0, 3 * item, 4096 + 5 * item, 1],
                        "tofile" => vec![0, 3, 4096 + 5],
                        "save" => vec![0],
                        _ => vec![2 * item + 8],
                    };
                    for offset in offsets {
                        let tag = format!("{writer}{offset}");
                        let path = dir.join(file_name::<T>(&tag, case, order, big, "dat"));
                        cases.push(json!({
                            "path": path, "type": T::TYPE.name(), "shape": shape,
                            "order": order, "big": big, "writer": writer, "offset": offset,
                        }));
                        checks.push(Box::new(move || {
                            let order = match *writer {
                                "save" => numpy_order(shape, order_of(order)),
                                _ => order_of(order),
                            };
                            let want = expected::<T>(shape);
                            let offset = Some(offset as u64);
                            check_numpy_file::<T>(&path, &want, Format::Raw, big, order, offset);
                            let info = mmarray::inspect(&path).unwrap();
                            assert_eq!(info.attrs()["writer"], *writer, "{}", path.display());
                        }));
                    }
                }
            }
        }
    }
}

#[test]
fn raw_files_written_by_numpy_are_read_by_rust() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut cases, mut checks) = (Vec::new(), Checks::new());
    each_type!(numpy_raw_cases(dir.path(), &mut cases, &mut checks));
    let body = r#"
for c in CASES:
    a = expected(c["type"], c["shape"], big=c["big"], order=c["order"])
    path, writer, offset, order = c["path"], c["writer"], c["offset"], c["order"]
    attrs = {"writer": writer}
    if writer == "tofile":
        with open(path, "wb") as f:
            f.write(b"\xa5" * offset)
            (a.T if order == "F" else a).tofile(f)  # C order of a.T is F order of a
        ms.write_sidecar(path, a.dtype, a.shape, order, offset, attrs)
    elif writer == "save":
        ms.save(path, a, attrs)
    else:
        m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape, order=order, offset=offset)
        m[...] = a
        m.flush()
        del m
        ms.write_sidecar(path, a.dtype, a.shape, order, offset, attrs)
    check(path, same(ms.load(path), a))
"#;
    py.run_checked(dir.path(), body, &json!(cases), cases.len());
    let n = checks.len();
    checks.into_iter().for_each(|check| check());
    // Per shape and order: tofile 4 (3 for bytes) + save + memmap, per byte order.
    assert_eq!(n, 8 * 2 * (3 * 5 + 11 * 2 * 6));
}

// ---------------------------------------------------------------------------
// Rust writes, numpy reads.

fn rust_written_cases<T: TestElement>(dir: &Path, cases: &mut Vec<Value>) {
    for (case, shape) in SHAPES.iter().enumerate() {
        let want = expected::<T>(shape);
        for order in [Order::C, Order::F] {
            for ext in ["npy", "dat"] {
                let attrs = json!({"type": T::TYPE.name(), "case": case, "order": order.as_str()});
                let attrs = attrs.as_object().unwrap().clone();
                let native = BIG_IS_NATIVE;
                // MappedArray::create, then fill and flush through the mapping.
                let path = dir.join(file_name::<T>("create", case, order.as_str(), native, ext));
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let mut a = unsafe {
                    CreateOptions::new()
                        .order(order)
                        .attrs(attrs.clone())
                        .create::<T>(&path, shape)
                }
                .unwrap();
                a.view_mut().assign(&want);
                a.flush().unwrap();
                drop(a);
                cases.push(rust_case::<T>(&path, shape, order, native, ext, &attrs));
                // CreateOptions::write, in each byte order, from an array in
                // C layout (.npy) or in F layout (raw files).
                let f_layout = want.t().as_standard_layout().into_owned().reversed_axes();
                let input = if ext == "npy" { &want } else { &f_layout };
                assert_eq!(input, &want);
                for &big in byte_orders::<T>() {
                    let path = dir.join(file_name::<T>("write", case, order.as_str(), big, ext));
                    let byte_order = if big {
                        ByteOrder::Big
                    } else {
                        ByteOrder::Little
                    };
                    let info = CreateOptions::new()
                        .order(order)
                        .byte_order(byte_order)
                        .attrs(attrs.clone())
                        .write(&path, input)
                        .unwrap();
                    assert_eq!(info.layout().dtype().to_string(), type_string::<T>(big));
                    cases.push(rust_case::<T>(&path, shape, order, big, ext, &attrs));
                }
            }
        }
    }
}

fn rust_case<T: TestElement>(
    path: &Path,
    shape: &[usize],
    order: Order,
    big: bool,
    ext: &str,
    attrs: &serde_json::Map<String, Value>,
) -> Value {
    json!({
        "path": path, "type": T::TYPE.name(), "shape": shape, "order": order.as_str(),
        "dtype": type_string::<T>(big), "format": ext,
        "attrs": if ext == "dat" { Value::Object(attrs.clone()) } else { Value::Null },
    })
}

#[test]
fn files_written_by_rust_are_read_by_numpy() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    each_type!(rust_written_cases(dir.path(), &mut cases));
    let body = r#"
for c in CASES:
    path, order, dtype = c["path"], c["order"], c["dtype"]
    want = expected(c["type"], c["shape"])
    if c["format"] == "npy":
        readers = {"np.load": np.load(path), "np.load(mmap_mode='r')": np.load(path, mmap_mode="r")}
        check(f"{path} is mapped", None if isinstance(readers["np.load(mmap_mode='r')"], np.memmap) else "not an np.memmap")
    else:
        info = ms.read_sidecar(path)
        check(f"{path} sidecar", None if info["attrs"] == c["attrs"] else f"attrs {info['attrs']}",
              None if (info["dtype"].str, info["order"], info["offset"]) == (dtype, order, 0) else f"sidecar {info}")
        flat = np.fromfile(path, dtype=np.dtype(dtype))
        readers = {
            "mmarray_sidecar.load": ms.load(path, mode="r"),
            "mmarray_sidecar.load(sidecar)": ms.load(path + ".json", mode="r"),
            "np.fromfile": flat.reshape(tuple(c["shape"]), order=order),
        }
    for name, arr in readers.items():
        dtype_problem = None if arr.dtype.str == dtype else f"dtype {arr.dtype.str}, expected {dtype}"
        layout_problem = order_problem(arr, order) if name != "np.fromfile" else None
        check(f"{path} via {name}", dtype_problem, same(arr, want), layout_problem)
"#;
    let npy = cases.iter().filter(|c| c["format"] == "npy").count();
    let raw = cases.len() - npy;
    // npy: mapped check + 2 readers; raw: sidecar check + 3 readers.
    py.run_checked(dir.path(), body, &json!(cases), npy * 3 + raw * 4);
    // 8 shapes x 2 orders x 2 formats x (create + write in each byte order).
    assert_eq!(cases.len(), 8 * 2 * 2 * (3 * 2 + 11 * 3));
}

// ---------------------------------------------------------------------------
// Shared mappings: Rust writes, numpy sees; numpy writes, Rust sees.

const SHARED: &[(&str, Order, &[usize])] = &[
    ("dat", Order::C, &[4, 5]),
    ("dat", Order::F, &[2, 3, 4]),
    ("dat", Order::C, &[]),
    ("npy", Order::C, &[2, 3, 4]),
    ("npy", Order::F, &[4, 5]),
    ("npy", Order::F, &[7]),
];
const RUST_START: usize = 100;
const NUMPY_START: usize = 200;

fn shared_cases<T: TestElement>(dir: &Path, cases: &mut Vec<Value>, after: &mut Checks) {
    for (case, &(ext, order, shape)) in SHARED.iter().enumerate() {
        let path = dir.join(file_name::<T>(
            "shared",
            case,
            order.as_str(),
            BIG_IS_NATIVE,
            ext,
        ));
        drop(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            unsafe { CreateOptions::new().order(order).create::<T>(&path, shape) }.unwrap(),
        );
        // SAFETY: a shared writer beside the reader below: numpy (the other
        // writer) writes the file only after these writes, while no view of
        // either mapping is alive; the views are taken after it is done.
        let mut w = unsafe { MappedArray::<T>::open_shared_mut(&path) }.unwrap();
        w.view_mut().assign(&expected_from::<T>(shape, RUST_START));
        w.flush().unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let r = unsafe { MappedArray::<T>::open(&path) }.unwrap();
        cases.push(json!({
            "path": path, "type": T::TYPE.name(), "shape": shape, "order": order.as_str(),
            "format": ext, "dtype": type_string::<T>(BIG_IS_NATIVE), "offset": w.layout().offset(),
        }));
        after.push(Box::new(move || {
            let want = expected_from::<T>(shape, NUMPY_START);
            let name = path.display();
            // The mappings opened before numpy wrote see its writes.
            assert_eq!(w.view(), want, "{name}: the read-write mapping");
            assert_eq!(r.view(), want, "{name}: the read-only mapping");
            assert_eq!(
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                unsafe { MappedArray::<T>::open(&path) }.unwrap().view(),
                want,
                "{name}: reopened"
            );
            assert_eq!(read_array::<T>(&path).unwrap(), want, "{name}: read_array");
        }));
    }
}

#[test]
fn writes_through_shared_mappings_are_seen_by_the_other_side() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut cases, mut after) = (Vec::new(), Checks::new());
    each_type!(shared_cases(dir.path(), &mut cases, &mut after));
    let body = format!(
        "RUST_START, NUMPY_START = {RUST_START}, {NUMPY_START}\n{}",
        r#"
for c in CASES:
    path, shape, order, t = c["path"], tuple(c["shape"]), c["order"], c["type"]
    def mapping(mode):
        if c["format"] == "npy":
            return np.load(path, mmap_mode=mode)
        return np.memmap(path, dtype=c["dtype"], mode=mode, shape=shape, order=order, offset=c["offset"])
    r = mapping("r")
    check(f"{path}: np.memmap(mode='r') sees Rust's writes", same(r, expected(t, shape, RUST_START)), order_problem(r, order))
    if c["format"] == "dat":
        check(f"{path}: mmarray_sidecar.load sees Rust's writes", same(ms.load(path), expected(t, shape, RUST_START)))
    w = mapping("r+")
    w[...] = expected(t, shape, NUMPY_START)
    w.flush()
    del w
    check(f"{path}: numpy's read-only mapping sees the r+ writes", same(r, expected(t, shape, NUMPY_START)))
    del r
"#
    );
    let dat = cases.iter().filter(|c| c["format"] == "dat").count();
    py.run_checked(dir.path(), &body, &json!(cases), cases.len() * 2 + dat);
    assert_eq!(after.len(), 14 * SHARED.len());
    after.into_iter().for_each(|check| check());
}

// ---------------------------------------------------------------------------
// The Python helper.

fn helper_cases<T: TestElement>(dir: &Path, cases: &mut Vec<Value>, checks: &mut Checks) {
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in ["C", "F"] {
            for &big in byte_orders::<T>() {
                let path = dir.join(file_name::<T>("helper", case, order, big, "dat"));
                let attrs = json!({
                    "type": T::TYPE.name(), "shape": shape,
                    "nested": {"list": [1, 2.5, null, true, "x"]},
                });
                cases.push(json!({
                    "path": path, "type": T::TYPE.name(), "shape": shape,
                    "order": order, "big": big, "attrs": attrs,
                }));
                checks.push(Box::new(move || {
                    // The values numpy last wrote through `load(mode="r+")`.
                    let want = expected_from::<T>(shape, 400);
                    let order = numpy_order(shape, order_of(order));
                    check_numpy_file::<T>(&path, &want, Format::Raw, big, order, Some(0));
                    assert_eq!(
                        Value::Object(mmarray::inspect(&path).unwrap().attrs().clone()),
                        attrs
                    );
                }));
            }
        }
    }
}

#[test]
fn python_helper_saves_and_loads_in_every_mode() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut cases, mut checks) = (Vec::new(), Checks::new());
    each_type!(helper_cases(dir.path(), &mut cases, &mut checks));
    let body = r#"
for c in CASES:
    path, t, shape, attrs = c["path"], c["type"], tuple(c["shape"]), c["attrs"]
    a = expected(t, shape, big=c["big"], order=c["order"])
    want = lambda start: expected(t, shape, start)
    ms.save(path, a, attrs=attrs)
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    with open(path + ".json") as f:
        sidecar = json.load(f)
    described = {"version": 1, "dtype": a.dtype.str, "shape": list(shape), "order": order, "offset": 0, "attrs": attrs}
    check(f"{path}: sidecar", None if sidecar == described else f"{sidecar}, expected {described}")
    with open(path, "rb") as f:
        data = f.read()
    check(f"{path}: data file", None if data == a.tobytes(order=order) else "bytes differ from tobytes")

    # r: the values, read-only, from either path.
    for given in (path, path + ".json"):
        m = ms.load(given, mode="r")
        check(f"{given}: load(r)", same(m, want(0)), order_problem(m, order),
              None if isinstance(m, np.memmap) else f"a {type(m).__name__}",
              None if m.dtype.str == a.dtype.str else f"dtype {m.dtype.str}",
              None if not m.flags.writeable else "writeable",
              raises(ValueError, m.__setitem__, Ellipsis, want(1)))
        del m

    # c: changes in memory only; the files stay byte-identical.
    before = (sha(path), sha(path + ".json"))
    m = ms.load(path, mode="c")
    m[...] = want(300)
    check(f"{path}: load(c) holds the change", same(m, want(300)))
    del m
    check(f"{path}: load(c) leaves the files alone",
          None if (sha(path), sha(path + ".json")) == before else "a file changed",
          same(ms.load(path), want(0)))

    # r+: changes go to the file.
    m = ms.load(path, mode="r+")
    m[...] = want(400)
    m.flush()
    del m
    check(f"{path}: load(r+) changes the file", same(ms.load(path), want(400)),
          None if sha(path + ".json") == before[1] else "the sidecar changed")

# Errors, in a directory of their own.
d = os.path.join(os.path.dirname(CASES[0]["path"]), "errors")
os.mkdir(d)
bad = os.path.join(d, "bad.dat")
for arr in (np.array([object()]), np.array(["text"]), np.zeros(2, dtype=[("a", "<f4")]),
            np.zeros(2, dtype="datetime64[s]"), np.zeros(2, dtype="V8")):
    check(f"save of {arr.dtype}", raises(ValueError, ms.save, bad, arr),
          None if not os.path.exists(bad) and not os.path.exists(bad + ".json") else "a file was written")
# longdouble is float64 on some platforms (and then supported).
check("save of longdouble", raises(ValueError, ms.save, bad, np.zeros(2, dtype=np.longdouble))
      if np.dtype(np.longdouble).itemsize > 8 else None)
good = os.path.join(d, "good.dat")
ms.save(good, np.arange(6, dtype="<i4"))
before = (sha(good), sha(good + ".json"))
check("bad mode", raises(ValueError, ms.load, good, mode="w+"))
check("attrs not a dict", raises(ValueError, ms.save, good, np.zeros(3), attrs=[1]))
check("NaN in attrs", raises(ValueError, ms.save, good, np.zeros(3), attrs={"x": float("nan")}),
      None if (sha(good), sha(good + ".json")) == before else "a failed save changed the files")
check("missing sidecar", raises(FileNotFoundError, ms.load, os.path.join(d, "none.dat")))
with open(good, "r+b") as f:
    f.truncate(20)
check("data file too short", raises(ValueError, ms.load, good, mode="r+"),
      None if os.path.getsize(good) == 20 else "load(r+) extended the file")
check("no temporary files left", None if sorted(os.listdir(d)) == ["good.dat", "good.dat.json"] else os.listdir(d))
"#;
    let errors = 5 + 1 + 6;
    py.run_checked(dir.path(), body, &json!(cases), cases.len() * 7 + errors);
    let n = checks.len();
    checks.into_iter().for_each(|check| check());
    assert_eq!(n, 8 * 2 * (3 + 11 * 2));
}

// ---------------------------------------------------------------------------
// Sidecar validation: the helper and Rust agree on what is valid.

#[test]
fn python_helper_validates_sidecars_as_rust_does() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    // (sidecar JSON, data file length, valid?)
    let table: &[(&str, usize, bool)] = &[
        (r#"{"version": 1, "dtype": "<f4", "shape": [2]}"#, 8, true),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2, 3], "order": "F", "offset": 8, "attrs": {"a": [1, {"b": null}]}}"#,
            32,
            true,
        ),
        (
            r#"{"version": 1, "dtype": "float32", "shape": [2]}"#,
            8,
            true,
        ),
        (r#"{"version": 1, "dtype": "bool", "shape": [3]}"#, 3, true),
        (r#"{"version": 1, "dtype": "|f8", "shape": [1]}"#, 8, true),
        (r#"{"version": 1, "dtype": "=i2", "shape": [1]}"#, 2, true),
        (r#"{"version": 1, "dtype": "f8", "shape": [1]}"#, 8, true),
        (r#"{"version": 1, "dtype": ">c16", "shape": []}"#, 16, true),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [0, 5]}"#,
            0,
            true,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "order": null}"#,
            8,
            true,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "offset": 2}"#,
            10,
            true,
        ),
        (r#"{"version": 1, "dtype": "<f4", "shap": [2]}"#, 8, false),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "comment": "x"}"#,
            8,
            false,
        ),
        (r#"{"version": 2, "dtype": "<f4", "shape": [2]}"#, 8, false),
        (
            r#"{"version": "1", "dtype": "<f4", "shape": [2]}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1.0, "dtype": "<f4", "shape": [2]}"#,
            8,
            false,
        ),
        (
            r#"{"version": true, "dtype": "<f4", "shape": [2]}"#,
            8,
            false,
        ),
        (r#"{"dtype": "<f4", "shape": [2]}"#, 8, false),
        (r#"{"version": 1, "shape": [2]}"#, 8, false),
        (r#"{"version": 1, "dtype": "<f4"}"#, 8, false),
        (r#"{"version": 1, "dtype": "<f3", "shape": [2]}"#, 8, false),
        (r#"{"version": 1, "dtype": "|O", "shape": [2]}"#, 16, false),
        (
            r#"{"version": 1, "dtype": "<U10", "shape": [2]}"#,
            80,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "float128", "shape": [2]}"#,
            32,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f16", "shape": [2]}"#,
            32,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<i004", "shape": [2]}"#,
            8,
            false,
        ),
        (r#"{"version": 1, "dtype": 4, "shape": [2]}"#, 8, false),
        (r#"{"version": 1, "dtype": "<f4", "shape": "2"}"#, 8, false),
        (r#"{"version": 1, "dtype": "<f4", "shape": [-2]}"#, 8, false),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2.0]}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [true]}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "order": "X"}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "order": "c"}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "offset": -1}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "offset": "0"}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "offset": null}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "attrs": []}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "attrs": null}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "attrs": {"x": NaN}}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f4", "dtype": "<f4", "shape": [2]}"#,
            8,
            false,
        ),
        (r#"{"version": 1, "dtype": "<f4", "shape": [2],}"#, 8, false),
        (r#"[1, 2]"#, 8, false),
        (r#"{"version": 1, "dtype": "<f4", "shape": [10]}"#, 8, false),
        (
            r#"{"version": 1, "dtype": "<f4", "shape": [2], "offset": 4}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f8", "shape": [4611686018427387904, 4]}"#,
            8,
            false,
        ),
        (
            r#"{"version": 1, "dtype": "<f8", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}"#,
            8,
            false,
        ),
    ];
    let mut cases = Vec::new();
    for (i, &(json, len, valid)) in table.iter().enumerate() {
        let path = dir.path().join(format!("s{i}.dat"));
        std::fs::write(&path, vec![0u8; len]).unwrap();
        std::fs::write(sidecar_of(&path), json).unwrap();
        let rust = mmarray::inspect(&path);
        assert_eq!(rust.is_ok(), valid, "Rust on {json}: {rust:?}");
        cases.push(json!({"path": path, "json": json}));
    }
    let body = r#"
verdicts = []
for c in CASES:
    try:
        ms.load(c["path"])
        verdicts.append("ok")
    except ValueError as e:
        verdicts.append(f"ValueError: {e}")
    except Exception as e:
        verdicts.append(f"{type(e).__name__}: {e}")
RESULT["verdicts"] = verdicts
"#;
    let result = py.run(dir.path(), body, &json!(cases));
    let verdicts = result["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), table.len());
    for (&(json, _, valid), verdict) in table.iter().zip(verdicts) {
        let verdict = verdict.as_str().unwrap();
        if valid {
            assert_eq!(verdict, "ok", "Python refused {json}");
        } else {
            assert!(
                verdict.starts_with("ValueError: "),
                "Python gave {verdict:?} for {json}, which Rust refuses"
            );
        }
    }
    // Every error names the file it is about.
    for (i, (&(_, _, valid), verdict)) in table.iter().zip(verdicts).enumerate() {
        let verdict = verdict.as_str().unwrap();
        assert!(valid || verdict.contains(&format!("s{i}.dat")), "{verdict}");
    }
}
