//! Staged creation (`CreateOptions::stage`): an array is filled under a
//! hidden temporary name and appears at its destination only when
//! published, complete; until then (and after a discard or a drop) the
//! destination is untouched.

#![cfg(unix)]

mod common;

use common::dir_names;
use mmarray::{CreateOptions, Error, MappedArray, Order, Store};
use ndarray::array;

#[test]
fn a_staged_array_appears_only_when_published_raw_and_npy() {
    for name in ["out.dat", "out.npy"] {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(name);
        let mut attrs = mmarray::Attrs::new();
        attrs.insert("units".into(), "K".into());
        let mut staged = CreateOptions::new()
            .order(Order::F)
            .attrs(attrs)
            .preallocate(true)
            .stage(&dest, "<i4".parse().unwrap(), &[2, 3])
            .unwrap();
        // Hidden beside the destination, and a complete array already.
        assert_eq!(staged.path().parent(), Some(dir.path()));
        assert!(
            staged
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with('.')
        );
        assert_eq!(staged.destination(), dest);
        {
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            let mut a = unsafe { MappedArray::<i32>::open_mut(staged.path()) }.unwrap();
            a.view_mut()
                .assign(&array![[1, 2, 3], [4, 5, 6]].into_dyn());
            a.close().unwrap();
        }
        assert!(
            !dest.exists(),
            "{name}: nothing at the destination before publish"
        );
        let info = staged.publish().unwrap();
        assert_eq!(info.path(), dest);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<i32>::open(&dest) }.unwrap();
        assert_eq!(a.view(), array![[1, 2, 3], [4, 5, 6]].into_dyn());
        assert_eq!(a.order(), Order::F);
        if name.ends_with(".dat") {
            assert_eq!(a.attrs()["units"], "K");
            assert_eq!(dir_names(dir.path()), ["out.dat", "out.dat.json"]);
        } else {
            assert_eq!(dir_names(dir.path()), ["out.npy"]);
        }
    }
}

#[test]
fn a_dropped_or_discarded_staged_array_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.dat");
    let staged = CreateOptions::new()
        .stage(&dest, "<f4".parse().unwrap(), &[10])
        .unwrap();
    assert_eq!(dir_names(dir.path()).len(), 2, "staged data + sidecar");
    drop(staged);
    assert!(dir_names(dir.path()).is_empty());
    let staged = CreateOptions::new()
        .stage(&dest, "<f4".parse().unwrap(), &[10])
        .unwrap();
    staged.discard().unwrap();
    assert!(dir_names(dir.path()).is_empty());
}

#[test]
fn publish_refuses_while_a_writer_maps_the_staged_array_and_after_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.npy");
    let mut staged = CreateOptions::new()
        .stage(&dest, "<u8".parse().unwrap(), &[4])
        .unwrap();
    let staged_path = staged.path().to_path_buf();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let writer = unsafe { MappedArray::<u64>::open_mut(&staged_path) }.unwrap();
    let err = staged.publish().unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert!(!dest.exists());
    assert!(
        staged_path.exists(),
        "a refused publish leaves the array staged"
    );
    drop(writer);
    staged.publish().unwrap();
    assert!(!staged_path.exists());
    let err = staged.publish().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<u64>::open(&dest) }.unwrap().len(), 4);
}

#[test]
fn staging_over_an_existing_array_needs_overwrite_and_refuses_a_mapped_one() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.dat");
    CreateOptions::new().write(&dest, &array![1u8, 2]).unwrap();
    let err = CreateOptions::new()
        .stage(&dest, "|u1".parse().unwrap(), &[3])
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");

    let mut staged = CreateOptions::new()
        .overwrite(true)
        .stage(&dest, "|u1".parse().unwrap(), &[3])
        .unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let reader = unsafe { MappedArray::<u8>::open(&dest) }.unwrap();
    let err = staged.publish().unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert_eq!(reader.view(), array![1u8, 2].into_dyn(), "old array intact");
    drop(reader);
    staged.publish().unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<u8>::open(&dest) }.unwrap().len(), 3);
    assert_eq!(dir_names(dir.path()), ["x.dat", "x.dat.json"]);
}

#[test]
fn something_appearing_at_the_destination_meanwhile_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.npy");
    let mut staged = CreateOptions::new()
        .stage(&dest, "<f8".parse().unwrap(), &[3])
        .unwrap();
    CreateOptions::new().write(&dest, &array![7.0f64]).unwrap();
    let err = staged.publish().unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<f64>::open(&dest) }.unwrap().len(), 1);
    drop(staged);
    assert_eq!(dir_names(dir.path()), ["x.npy"], "the staged file is gone");
}

#[test]
fn staged_arrays_in_a_store_directory_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("s")).unwrap();
    let mut staged = CreateOptions::new()
        .stage(store.path().join("a.dat"), "<f4".parse().unwrap(), &[5])
        .unwrap();
    assert!(store.list().unwrap().is_empty());
    staged.publish().unwrap();
    let names: Vec<String> = store
        .list()
        .unwrap()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert_eq!(names, ["a"]);
}
