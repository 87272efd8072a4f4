//! Inputs that fuzzing (`fuzz/`) or the property tests (`properties.rs`)
//! found to misbehave, kept as ordinary tests: each input is inline and each
//! test asserts the exact outcome, typed error variant included.

use std::path::Path;

use mmarray::{CreateOptions, Scalar};
use serde_json::Value;

/// Found by `sidecar_write_then_read_is_the_identity`: serde_json's default
/// float parser is not exact, so a float in attrs could come back one unit
/// in the last place off after a write and a read (and drift further with
/// each rewrite of the sidecar).
#[test]
fn attrs_floats_survive_a_sidecar_round_trip_exactly() {
    let x = 9.588228916784527e48_f64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    let mut attrs = serde_json::Map::new();
    attrs.insert("x".into(), Value::from(x));
    CreateOptions::new()
        .attrs(attrs.clone())
        .create_filled(&path, "<f4".parse().unwrap(), &[2], Scalar::Int(0))
        .unwrap();
    let read = mmarray::inspect(&path).unwrap();
    assert_eq!(
        read.attrs()["x"].as_f64().map(f64::to_bits),
        Some(x.to_bits())
    );
    assert_eq!(read.attrs(), &attrs);

    let json =
        br#"{"version": 1, "dtype": "<f4", "shape": [2], "attrs": {"x": 9.588228916784527e+48}}"#;
    let parsed = mmarray::sidecar::parse(Path::new("a.dat.json"), json).unwrap();
    assert_eq!(
        parsed.attrs["x"].as_f64().map(f64::to_bits),
        Some(x.to_bits())
    );
}
