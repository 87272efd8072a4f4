//! Read-write, copy-on-write and create semantics, checked on the file.

mod common;

use common::*;
use mmarray::{CreateOptions, Error, MappedArray};

#[test]
fn read_write_changes_are_in_the_file_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rw.dat");
    MappedArray::<f32>::create(&path, &[10, 3]).unwrap();
    let mut w = MappedArray::<f32>::open_mut(&path).unwrap();
    w.view_mut()[[9, 2]] = 4.5;
    w.view_mut()[[0, 1]] = -1.0;
    w.flush().unwrap();
    w.flush_async().unwrap();
    w.flush_range(0..3).unwrap();
    w.flush_async_range(27..30).unwrap();
    drop(w);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[4..8], &(-1.0f32).to_le_bytes());
    assert_eq!(&bytes[116..120], &4.5f32.to_le_bytes());
    let r = MappedArray::<f32>::open(&path).unwrap();
    assert_eq!(r.view()[[9, 2]], 4.5);
    assert_eq!(r.view()[[0, 1]], -1.0);
}

#[test]
fn writes_are_seen_by_another_mapping_of_the_file_without_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.dat");
    let mut w = MappedArray::<u64>::create(&path, &[100]).unwrap();
    let r = MappedArray::<u64>::open(&path).unwrap();
    w.view_mut()[42] = 0xDEAD_BEEF;
    assert_eq!(r.view()[42], 0xDEAD_BEEF);
}

#[test]
fn copy_on_write_leaves_the_file_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cow.dat");
    let want = expected::<i32>(&[50, 4]);
    write_raw(
        &path,
        &[],
        &encode(&want, "C", false),
        &sidecar_json("<i4", &[50, 4], "C", 0),
    );
    let before = (file_hash(&path), file_hash(&sidecar_of(&path)));

    let mut c = MappedArray::<i32>::open_copy(&path).unwrap();
    c.view_mut().fill(123);
    assert!(c.view().iter().all(|&x| x == 123));
    // Another mapping of the file still sees the original values.
    assert_eq!(MappedArray::<i32>::open(&path).unwrap().view(), want);
    drop(c);

    assert_eq!((file_hash(&path), file_hash(&sidecar_of(&path))), before);
}

#[test]
fn copy_on_write_works_on_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.dat");
    MappedArray::<u8>::create(&path, &[8]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut c = MappedArray::<u8>::open_copy(&path).unwrap();
    c.view_mut()[0] = 1;
    assert_eq!(c.view()[0], 1);
}

#[test]
fn create_writes_a_sparse_zeroed_file_and_a_sidecar() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.dat");
    let a = MappedArray::<f64>::create(&path, &[1 << 20]).unwrap();
    assert!(a.view().iter().all(|&x| x == 0.0));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 8 << 20);
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "not sparse: {} blocks",
        meta.blocks()
    );
    let json = std::fs::read_to_string(sidecar_of(&path)).unwrap();
    assert_eq!(
        json,
        "{\"version\": 1, \"dtype\": \"<f8\", \"shape\": [1048576], \"order\": \"C\", \"offset\": 0, \"attrs\": {}}\n"
    );
}

#[test]
fn create_refuses_to_overwrite_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.dat");
    let mut a = MappedArray::<u32>::create(&path, &[4]).unwrap();
    a.view_mut()[0] = 99;
    a.flush().unwrap();
    drop(a);
    let before = file_hash(&path);

    let err = MappedArray::<u32>::create(&path, &[8]).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("keep.dat"));
    assert_eq!(file_hash(&path), before);

    // A lone sidecar also counts as an existing array.
    let other = dir.path().join("other.dat");
    std::fs::write(sidecar_of(&other), "{}").unwrap();
    assert!(matches!(
        MappedArray::<u32>::create(&other, &[1]),
        Err(Error::AlreadyExists { .. })
    ));

    let b = CreateOptions::new()
        .overwrite(true)
        .create::<u32>(&path, &[8])
        .unwrap();
    assert_eq!(b.shape(), &[8]);
    assert!(b.view().iter().all(|&x| x == 0));
}

#[test]
fn overwriting_a_mapped_array_is_refused_as_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.dat");
    let mut old = MappedArray::<u8>::create(&path, &[1 << 16]).unwrap();
    old.view_mut().fill(7);
    let reader = MappedArray::<u8>::open(&path).unwrap();
    // Replacing it would pull the file from under both mappings.
    let err = CreateOptions::new()
        .overwrite(true)
        .create::<u8>(&path, &[10])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Busy {
                action: "replaced",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("live.dat"));
    assert!(reader.view().iter().all(|&x| x == 7));
    drop((old, reader));
    // Once nothing maps it, overwriting works.
    CreateOptions::new()
        .overwrite(true)
        .create::<u8>(&path, &[10])
        .unwrap();
    assert_eq!(MappedArray::<u8>::open(&path).unwrap().len(), 10);
}

#[test]
fn attrs_are_kept_and_rewritten_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attrs.dat");
    let mut attrs = serde_json::Map::new();
    attrs.insert("units".into(), "kelvin".into());
    attrs.insert("nested".into(), serde_json::json!({"a": [1, 2, 3]}));
    let mut a = CreateOptions::new()
        .attrs(attrs.clone())
        .create::<f32>(&path, &[2])
        .unwrap();
    assert_eq!(MappedArray::<f32>::open(&path).unwrap().attrs(), &attrs);
    attrs.insert("step".into(), 3.into());
    a.set_attrs(attrs.clone()).unwrap();
    assert_eq!(MappedArray::<f32>::open(&path).unwrap().attrs(), &attrs);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn empty_and_zero_d_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("empty.dat");
    let mut a = MappedArray::<f32>::create(&e, &[0, 5]).unwrap();
    assert!(a.is_empty() && a.view().is_empty() && a.view_mut().is_empty());
    a.flush().unwrap();
    assert_eq!(std::fs::metadata(&e).unwrap().len(), 0);
    assert_eq!(MappedArray::<f32>::open(&e).unwrap().shape(), &[0, 5]);

    let s = dir.path().join("scalar.dat");
    let mut b = MappedArray::<i16>::create(&s, &[]).unwrap();
    b.view_mut()[[]] = -5;
    b.flush().unwrap();
    let r = MappedArray::<i16>::open(&s).unwrap();
    assert_eq!((r.len(), r.view().ndim(), r.view()[[]]), (1, 0, -5));
}

#[test]
fn flush_range_outside_the_array_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.dat");
    let a = MappedArray::<u16>::create(&path, &[4]).unwrap();
    assert!(matches!(
        a.flush_range(2..5),
        Err(Error::InvalidArgument { .. })
    ));
}
