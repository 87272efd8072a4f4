//! Growable arrays: append, resize, capacity, and the committed length.

use mmarray::{CreateOptions, Error, MappedArray, Order};
use ndarray::{Array2, array, s};

fn rows(start: usize, n: usize) -> Array2<u64> {
    Array2::from_shape_fn((n, 3), |(r, c)| ((start + r) * 10 + c) as u64)
}

#[test]
fn append_grows_geometrically_and_commits_the_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.dat");
    let mut a = MappedArray::<u64>::create(&path, &[0, 3]).unwrap();
    let mut capacities = vec![];
    for batch in 0..200 {
        a.append(&rows(batch * 7, 7)).unwrap();
        capacities.push(a.capacity());
    }
    assert_eq!(a.shape(), &[1400, 3]);
    assert_eq!(a.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 1400));
    // Geometric: few distinct capacities (remaps), each at least double.
    capacities.dedup();
    assert!(capacities.len() <= 3, "{capacities:?}");
    // Before commit the sidecar still says 0 rows.
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape(), &[0, 3]);
    a.commit().unwrap();
    assert_eq!(
        mmarray::inspect(&path).unwrap().layout().shape(),
        &[1400, 3]
    );
    // Capacity is invisible: the file is longer, the array is not.
    assert!(std::fs::metadata(&path).unwrap().len() >= 1400 * 24);
    drop(a);
    let r = MappedArray::<u64>::open(&path).unwrap();
    assert_eq!(r.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 1400));
}

#[test]
fn flush_and_drop_commit_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dat");
    let mut a = MappedArray::<u64>::create(&path, &[0, 3]).unwrap();
    a.append(&rows(0, 5)).unwrap();
    a.flush().unwrap();
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape(), &[5, 3]);
    a.append(&rows(5, 2)).unwrap();
    drop(a);
    let r = MappedArray::<u64>::open(&path).unwrap();
    assert_eq!(r.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 7));
}

#[test]
fn append_after_reopen_and_non_contiguous_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    let mut a = MappedArray::<u64>::create(&path, &[2, 3]).unwrap();
    a.view_mut_dim::<ndarray::Ix2>()
        .unwrap()
        .assign(&rows(0, 2));
    drop(a);
    let mut a = MappedArray::<u64>::open_mut(&path).unwrap();
    // Every other row of a larger array: not contiguous.
    let big = rows(2, 8);
    let strided = big.slice(s![..;2, ..]);
    a.append(&strided).unwrap();
    a.commit().unwrap();
    let v = a.view_dim::<ndarray::Ix2>().unwrap().to_owned();
    assert_eq!(v.slice(s![..2, ..]), rows(0, 2));
    assert_eq!(v.slice(s![2.., ..]), strided);
}

#[test]
fn resize_up_zeroes_new_rows_even_over_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.dat");
    let mut a = MappedArray::<u64>::create(&path, &[0, 3]).unwrap();
    a.append(&rows(0, 10)).unwrap();
    a.resize(4).unwrap();
    a.resize(10).unwrap();
    let v = a.view_dim::<ndarray::Ix2>().unwrap();
    assert_eq!(v.slice(s![..4, ..]), rows(0, 4));
    assert!(v.slice(s![4.., ..]).iter().all(|&x| x == 0));
}

#[test]
fn resize_down_truncates_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.dat");
    let mut a = MappedArray::<f32>::create(&path, &[1000, 4]).unwrap();
    a.resize(10).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 10 * 16);
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape(), &[10, 4]);
}

#[test]
fn shrinking_a_mapped_array_is_busy_and_leaves_everything_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.dat");
    let mut a = MappedArray::<u64>::create(&path, &[0, 3]).unwrap();
    a.append(&rows(0, 100)).unwrap();
    a.commit().unwrap();
    let reader = MappedArray::<u64>::open(&path).unwrap();
    let err = a.resize(1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Busy {
                action: "resized",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("b.dat"));
    // Both mappings still see all rows; growing is still allowed.
    assert_eq!(reader.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 100));
    a.append(&rows(100, 1)).unwrap();
    assert_eq!(a.shape(), &[101, 3]);
    drop(reader);
    a.resize(1).unwrap();
    assert_eq!(a.shape(), &[1, 3]);
}

#[test]
fn appending_rows_of_the_wrong_shape_or_to_the_wrong_array_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let mut a = MappedArray::<f64>::create(&path, &[0, 3]).unwrap();
    let err = a.append(&array![[1.0, 2.0]]).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { ref expected, ref found, .. } if expected == &[1, 3] && found == &[1, 2]),
        "{err:?}"
    );
    assert!(matches!(
        a.append(&array![1.0, 2.0, 3.0]),
        Err(Error::ShapeMismatch { .. })
    ));

    let f = dir.path().join("f.dat");
    let mut fo = CreateOptions::new()
        .order(Order::F)
        .create::<f64>(&f, &[2, 3])
        .unwrap();
    assert!(matches!(
        fo.append(&array![[1.0, 2.0, 3.0]]),
        Err(Error::InvalidArgument { .. })
    ));
    let n = dir.path().join("n.npy");
    let mut np = MappedArray::<f64>::create(&n, &[2, 3]).unwrap();
    assert!(matches!(np.resize(5), Err(Error::InvalidArgument { .. })));
    let z = dir.path().join("z.dat");
    let mut zd = MappedArray::<f64>::create(&z, &[]).unwrap();
    assert!(matches!(zd.resize(5), Err(Error::InvalidArgument { .. })));
}

#[test]
fn one_dimensional_and_empty_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.dat");
    let mut a = MappedArray::<i16>::create(&path, &[0]).unwrap();
    a.append(&array![1i16, 2, 3]).unwrap();
    a.append(&ndarray::Array1::<i16>::zeros(0)).unwrap();
    a.append(&array![4i16]).unwrap();
    assert_eq!(a.as_slice(), &[1, 2, 3, 4]);
    // Rows of zero elements: length grows, no bytes.
    let e = dir.path().join("e.dat");
    let mut b = MappedArray::<i16>::create(&e, &[0, 0]).unwrap();
    b.append(&ndarray::Array2::<i16>::zeros((5, 0))).unwrap();
    b.commit().unwrap();
    assert_eq!(mmarray::inspect(&e).unwrap().layout().shape(), &[5, 0]);
}

/// Appends past several writeback steps (4 MiB), shrinking and growing
/// again in between: every row reads back, through this mapping and after
/// reopening, whatever the kernel had been asked to write back already.
#[test]
fn long_appends_with_writeback_keep_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.dat");
    let mut a = MappedArray::<u64>::create(&path, &[0, 3]).unwrap();
    // 24 bytes a row: 600,000 rows are 13.7 MiB, three steps and a bit.
    for start in (0..600_000).step_by(10_000) {
        a.append(&rows(start, 10_000)).unwrap();
    }
    a.resize(250_000).unwrap();
    for start in (250_000..500_000).step_by(25_000) {
        a.append(&rows(start, 25_000)).unwrap();
    }
    assert_eq!(a.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 500_000));
    a.commit().unwrap();
    drop(a);
    let b = MappedArray::<u64>::open(&path).unwrap();
    assert_eq!(b.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 500_000));
}
