//! `mmarray stats --json` against numpy's own answers, for every dtype:
//! numpy writes each array (with NaNs in the float ones) and computes
//! `nanmin`, `nanmax`, `nansum`, `nanmean`, `nanstd`; the binary must agree
//! (integers exactly, floats to 1e-9 relative, float16 and float32
//! included: numpy computes on `a.astype(np.float64)`).
//!
//! Cases at the ends of the range: float32 above 1.8e19 and at its max,
//! float16 at its max, large means with tiny spreads, mixed signs, and
//! float64 near its max and among subnormals, where numpy's own float64
//! `nanstd` overflows (or its squares underflow): there the expected values
//! are numpy's on the data scaled by a power of two (exact), scaled back.
//!
//! Needs python3 with numpy (`MMARRAY_PYTHON`, set up by scripts/test.sh).
//! Without numpy the test is skipped, unless `MMARRAY_REQUIRE_NUMPY=1`.

mod common;
use common::python;
use std::process::Command;

use serde_json::Value;

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
# Squares overflow float32: the old float32 kernel gave std null here.
a = (rng.random(40000) * 1e20 + 2e19).astype(np.float32)
a[5] = np.nan
add("float32_above_1_8e19", a)
f32max = np.finfo(np.float32).max
add("float32_max", rng.choice(np.array([f32max, -f32max, f32max / 3], dtype=np.float32), 70000))
add("float16_max", rng.choice(np.array([65504, -65504, 1, np.nan], dtype=np.float16), 5000))
for dt in ["float32", "float64"]:
    add(f"{dt}_large_mean_tiny_spread", (1e4 + rng.uniform(-1e-2, 1e-2, 50000)).astype(dt))
a = rng.standard_normal(30000) * 1e6
a[::3] *= -3
add("float32_mixed_signs", a.astype(np.float32))
add("float64_mixed_signs", a * 1e-3)
f64max = np.finfo(np.float64).max
# True sum beyond float64's range: inf (JSON null), as numpy; mean and std finite.
a = rng.choice(np.array([f64max, -f64max, f64max / 2, 1.0, -1e300]), 70001)
a[100] = np.nan
add("float64_near_max_sum_overflows", a)
# Pairs that cancel: the true sum, f64max / 2, is in range.
base = rng.choice(np.array([f64max, f64max / 3, 1e300, -2.0]), 35000)
a = np.concatenate([base, -base, [f64max / 2, np.nan]])
rng.shuffle(a)
add("float64_near_max", a)
# Squares of these deviations underflow: numpy's own std is 0.
add("float64_tiny", (1 + rng.random(9000)) * 1e-200 * rng.choice([-1, 1], 9000))
# Where numpy's float64 arithmetic itself overflows or underflows: its
# answer on the data scaled by 2**-e (exact), scaled back.
SCALED = {"float64_near_max": 1000, "float64_near_max_sum_overflows": 1000, "float64_tiny": -700}
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
    # serde_json writes non-finite floats as null.
    return x if np.isfinite(x) else None

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
        e = SCALED.get(name, 0)
        s = w / 2.0**e if e > 0 else w * 2.0**-e
        back = (lambda x: x * 2.0**e) if e > 0 else (lambda x: x / 2.0**-e)
        r.update(min=num(np.nanmin(w)) if valid else None, max=num(np.nanmax(w)) if valid else None,
                 sum=num(back(np.nansum(s))), mean=num(back(np.nanmean(s))) if valid else None,
                 std=num(back(np.nanstd(s))) if valid else None)
        if e > 0:
            assert not np.isfinite(np.nanstd(w)), "numpy's own std no longer overflows here"
        r["scale"] = e
    else:
        w = a.astype(np.complex128)
        r.update(min=None, max=None, sum=num(np.nansum(w)), mean=num(np.nanmean(w)) if valid else None, std=None)
    result[name] = r
print(json.dumps(result))
"#;

/// Whether `a` (mmarray) is within `tolerance`, relative, of `b` (numpy's
/// float64 reference), or within `tolerance · floor` where both are
/// smaller than `floor`.
fn close(a: &Value, b: &Value, tolerance: f64, floor: f64, what: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= tolerance * x.abs().max(y.abs()).max(floor),
                "{what}: mmarray {x} vs numpy {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{what}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                close(x, y, tolerance, floor, &format!("{what}[{i}]"));
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
    assert_eq!(expected.len(), 28);
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
                // Every float dtype is accumulated in float64: 1e-9
                // relative (absolute below 1, or below the scale of the
                // subnormal case).
                let scale: i32 = want
                    .get("scale")
                    .map_or(0, |s| serde_json::from_str(s.get()).unwrap());
                let floor = if scale < 0 { 2f64.powi(scale) } else { 1.0 };
                close(
                    &serde_json::from_str(g).unwrap(),
                    &serde_json::from_str(w).unwrap(),
                    1e-9,
                    floor,
                    &format!("{name} {key}"),
                );
            }
        }
    }
}
