//! `mmarray stats --json` against numpy's own answers, for every dtype:
//! numpy writes each array (with NaNs in the float ones) and computes
//! `nanmin`, `nanmax`, `nansum`, `nanmean`, `nanstd`; the binary must agree
//! (integers exactly, floats to 1e-9 relative).
//!
//! Needs python3 with numpy (`MMARRAY_PYTHON`, set up by scripts/test.sh).
//! Without numpy the test is skipped, unless `MMARRAY_REQUIRE_NUMPY=1`.

use std::process::Command;

use serde_json::Value;

fn python() -> Option<String> {
    let python = std::env::var("MMARRAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("MMARRAY_REQUIRE_NUMPY").as_deref() != Ok("1"),
        "numpy is required (MMARRAY_REQUIRE_NUMPY=1) but `{python} -c 'import numpy'` failed"
    );
    eprintln!("skipped: numpy not available");
    None
}

/// Writes one `.npy` per dtype into the directory given as argv[1] and
/// prints {name: numpy's stats} as JSON.
const NUMPY_SIDE: &str = r#"
import json, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(12345)
cases = {}
def add(name, a):
    np.save(f"{out}/{name}.npy", a)
    cases[name] = a
for dt in ["int8", "uint8", "int16", "uint16", "int32", "uint32"]:
    info = np.iinfo(dt)
    add(dt, rng.integers(info.min, info.max, size=(50, 40), dtype=dt, endpoint=True))
# Sums beyond 2**63: exact integers required.
add("int64", np.array([2**62, 2**62, 2**62, -7, 5], dtype=np.int64))
add("uint64", np.array([2**64 - 1, 2**64 - 1, 3], dtype=np.uint64))
add("bool", rng.random(1001) < 0.3)
for dt in ["float16", "float32", "float64"]:
    a = (rng.standard_normal((64, 33)) * 100 + 1e3).astype(dt)
    a[3, 4] = np.nan
    a[10, :] = np.nan
    add(dt, np.asfortranarray(a) if dt == "float32" else a)
add("float64_big_endian", (rng.standard_normal(500) * 3).astype(">f8"))
add("float64_all_nan", np.full(7, np.nan))
add("float32_empty", np.zeros((0, 3), dtype=np.float32))
add("int32_0d", np.array(-42, dtype=np.int32))
for dt in ["complex64", "complex128"]:
    a = (rng.standard_normal(300) + 1j * rng.standard_normal(300)).astype(dt)
    a[7] = complex(np.nan, 1.0)
    add(dt, a)

def num(x):
    if isinstance(x, (np.integer, np.bool_)):
        return int(x)
    if isinstance(x, (np.complexfloating, complex)):
        return [float(x.real), float(x.imag)]
    x = float(x)
    return None if np.isnan(x) else x

result = {}
for name, a in cases.items():
    kind = a.dtype.kind
    n_nan = int(np.isnan(a).sum()) if kind in "fc" else 0
    valid = a.size - n_nan
    r = {"count": int(a.size), "nan_count": n_nan}
    if kind in "biu":
        ints = [int(v) for v in a.ravel().tolist()]
        r.update(min=min(ints) if ints else None, max=max(ints) if ints else None, sum=sum(ints),
                 mean=(sum(ints) / len(ints)) if ints else None,
                 std=float(np.std(a.astype(np.float64))) if ints else None)
    elif kind == "f":
        w = a.astype(np.float64)
        r.update(min=num(np.nanmin(w)) if valid else None, max=num(np.nanmax(w)) if valid else None,
                 sum=float(np.nansum(w)), mean=num(np.nanmean(w)) if valid else None,
                 std=num(np.nanstd(w)) if valid else None)
    else:
        w = a.astype(np.complex128)
        r.update(min=None, max=None, sum=num(np.nansum(w)), mean=num(np.nanmean(w)) if valid else None, std=None)
    result[name] = r
print(json.dumps(result))
"#;

/// Whether `a` (mmarray) is within `tolerance`, relative, of `b` (numpy's
/// float64 reference).
fn close(a: &Value, b: &Value, tolerance: f64, what: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= tolerance * x.abs().max(y.abs()).max(1.0),
                "{what}: mmarray {x} vs numpy {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{what}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                close(x, y, tolerance, &format!("{what}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{what}: mmarray {a} vs numpy {b}"),
    }
}

#[test]
fn stats_json_matches_numpy_for_every_dtype() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&python)
        .args(["-c", NUMPY_SIDE, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "numpy side failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    type RawFields = std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>;
    let expected: std::collections::BTreeMap<String, RawFields> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), 18);
    for (name, want) in &expected {
        let path = dir.path().join(format!("{name}.npy"));
        let run = Command::new(env!("CARGO_BIN_EXE_mmarray"))
            .args(["stats", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got: RawFields = serde_json::from_slice(&run.stdout).unwrap();
        for key in ["count", "nan_count", "min", "max", "sum", "mean", "std"] {
            let (g, w) = (got[key].get(), want[key].get());
            let exact = ["count", "nan_count"].contains(&key)
                || (["min", "max", "sum"].contains(&key)
                    && !name.starts_with("float")
                    && !name.starts_with("complex"));
            if exact {
                // Integers: the same digits, however large.
                assert_eq!(g, w, "{name} {key}: exact integer expected");
            } else {
                // float16 and float32 are reduced in float32 within short
                // blocks (see mmarray::stats): a few units in the last
                // place of a float32, against numpy's exact-as-float64
                // reference. Everything else is reduced in float64.
                let narrow = name.starts_with("float16") || name.starts_with("float32");
                close(
                    &serde_json::from_str(g).unwrap(),
                    &serde_json::from_str(w).unwrap(),
                    if narrow { 1e-6 } else { 1e-9 },
                    &format!("{name} {key}"),
                );
            }
        }
    }
}
