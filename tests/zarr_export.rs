//! `export_zarr`: a zarr v3 directory whose one chunk is a hard link to the
//! array's data file, written whole or not at all, and refused (with the
//! reason) where the layout does not allow it. (zarr-python reading the
//! result is tested in python/tests/test_zarr.py.)

#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::dir_names;
use mmarray::{CreateOptions, Error, MappedArray, Order, export_zarr};
use ndarray::array;

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_chunk_is_the_data_file_and_zarr_json_describes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("temps.dat");
    let mut attrs = mmarray::Attrs::new();
    attrs.insert("dims".into(), serde_json::json!(["y", "x"]));
    attrs.insert("units".into(), "K".into());
    CreateOptions::new()
        .order(Order::F)
        .attrs(attrs)
        .write(
            &path,
            &array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]].reversed_axes(),
        )
        .unwrap();
    let out = dir.path().join("temps.zarr");
    let done = export_zarr(&path, &out, false).unwrap();
    let chunk = out.join("c/0/0");
    assert_eq!(done.chunk.as_deref(), Some(chunk.as_path()));
    assert_eq!(
        fs::metadata(&chunk).unwrap().ino(),
        fs::metadata(&path).unwrap().ino(),
        "a hard link, not a copy"
    );
    let meta = json(&out.join("zarr.json"));
    assert_eq!(meta["zarr_format"], 3);
    assert_eq!(meta["node_type"], "array");
    assert_eq!(meta["shape"], serde_json::json!([3, 2]));
    assert_eq!(meta["data_type"], "float64");
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([3, 2])
    );
    assert_eq!(meta["codecs"][0]["name"], "transpose");
    assert_eq!(
        meta["codecs"][0]["configuration"]["order"],
        serde_json::json!([1, 0])
    );
    assert_eq!(meta["codecs"][1]["configuration"]["endian"], "little");
    assert_eq!(meta["dimension_names"], serde_json::json!(["y", "x"]));
    assert_eq!(meta["attributes"], serde_json::json!({"units": "K"}));
    // Writes through mmarray are what zarr readers see.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<f64>::open_mut(&path) }.unwrap();
    a.view_mut()[[0, 0]] = 42.0;
    a.close().unwrap();
    assert_eq!(&fs::read(&chunk).unwrap()[..8], &42.0f64.to_le_bytes());
}

#[test]
fn layouts_that_no_chunk_file_can_be_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.zarr");
    let npy = dir.path().join("a.npy");
    CreateOptions::new().write(&npy, &array![1u8, 2]).unwrap();
    let e = export_zarr(&npy, &out, false).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert!(e.to_string().contains("header"), "{e}");

    let raw = dir.path().join("off.dat");
    fs::write(&raw, [0u8; 24]).unwrap();
    mmarray::describe(&raw, "<f8".parse().unwrap(), &[2], Order::C, 8, false).unwrap();
    let e = export_zarr(&raw, &out, false).unwrap_err();
    assert!(e.to_string().contains("byte 8"), "{e}");

    // A data file longer than the array (trailing bytes).
    let long = dir.path().join("long.dat");
    fs::write(&long, [0u8; 20]).unwrap();
    mmarray::describe(&long, "<u2".parse().unwrap(), &[4], Order::C, 0, false).unwrap();
    let e = export_zarr(&long, &out, false).unwrap_err();
    assert!(e.to_string().contains("20 bytes"), "{e}");
    assert!(!e.to_string().contains('\n'), "one line: {e}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_existing_directory_is_kept_unless_overwrite_and_only_a_zarr_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    CreateOptions::new()
        .write(&path, &array![1i32, 2, 3])
        .unwrap();
    let out = dir.path().join("a.zarr");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let e = export_zarr(&path, &out, false).unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    let e = export_zarr(&path, &out, true).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert_eq!(
        dir_names(&out),
        ["keep.txt"],
        "not a zarr directory: untouched"
    );

    fs::remove_file(out.join("keep.txt")).unwrap();
    export_zarr(&path, &out, true).unwrap();
    // Export again over it, after the array changed shape.
    CreateOptions::new()
        .overwrite(true)
        .write(&path, &array![[1i32, 2], [3, 4]])
        .unwrap();
    export_zarr(&path, &out, true).unwrap();
    assert_eq!(
        json(&out.join("zarr.json"))["shape"],
        serde_json::json!([2, 2])
    );
    assert_eq!(dir_names(&out), ["c", "zarr.json"]);
    assert!(
        dir_names(dir.path()).iter().all(|n| !n.starts_with('.')),
        "no temporary directory left: {:?}",
        dir_names(dir.path())
    );
}

#[test]
fn an_output_directory_holding_the_data_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    CreateOptions::new().write(&path, &array![1u8]).unwrap();
    let e = export_zarr(&path, dir.path(), true).unwrap_err();
    assert!(matches!(e, Error::SameFile { .. }), "{e:?}");
    assert!(path.exists());
}

#[test]
fn empty_and_zero_dimensional_arrays_export() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("e.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { CreateOptions::new().create::<f32>(&empty, &[0, 3]) }.unwrap();
    let done = export_zarr(&empty, dir.path().join("e.zarr"), false).unwrap();
    assert_eq!(done.chunk, None);
    let meta = json(&dir.path().join("e.zarr/zarr.json"));
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([1, 3])
    );

    let scalar = dir.path().join("s.dat");
    CreateOptions::new()
        .write(&scalar, &ndarray::arr0(7i64))
        .unwrap();
    let done = export_zarr(&scalar, dir.path().join("s.zarr"), false).unwrap();
    assert_eq!(
        done.chunk.as_deref(),
        Some(dir.path().join("s.zarr/c").as_path())
    );
}
