//! Growable arrays: append, resize, capacity, and the committed length.

use mmarray::{CreateOptions, Error, MappedArray, Order};
use ndarray::{Array2, array, s};

mod common;
use common::{create_shared, open_shared};

fn rows(start: usize, n: usize) -> Array2<u64> {
    Array2::from_shape_fn((n, 3), |(r, c)| ((start + r) * 10 + c) as u64)
}

#[test]
fn append_grows_geometrically_and_commits_the_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.dat");
    let mut a = create_shared::<u64>(&path, &[0, 3]);
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
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(r.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 1400));
}

#[test]
fn flush_and_drop_commit_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dat");
    let mut a = create_shared::<u64>(&path, &[0, 3]);
    a.append(&rows(0, 5)).unwrap();
    a.flush().unwrap();
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape(), &[5, 3]);
    a.append(&rows(5, 2)).unwrap();
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(r.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 7));
}

#[test]
fn append_after_reopen_and_non_contiguous_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    let mut a = create_shared::<u64>(&path, &[2, 3]);
    a.view_mut_dim::<ndarray::Ix2>()
        .unwrap()
        .assign(&rows(0, 2));
    drop(a);
    let mut a = open_shared::<u64>(&path);
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
    let mut a = create_shared::<u64>(&path, &[0, 3]);
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
    let mut a = create_shared::<f32>(&path, &[1000, 4]);
    a.resize(10).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 10 * 16);
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape(), &[10, 4]);
}

#[test]
fn shrinking_a_mapped_array_is_busy_and_leaves_everything_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.dat");
    let mut a = create_shared::<u64>(&path, &[0, 3]);
    a.append(&rows(0, 100)).unwrap();
    a.commit().unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let reader = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
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
fn one_row_without_its_leading_axis_is_told_to_insert_one() {
    // The case: a 1-D row appended to a 2-D array.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.dat");
    let mut a = create_shared::<f32>(&path, &[4, 4]);
    let row = ndarray::Array1::<f32>::ones(4);
    let err = a.append(&row).unwrap_err();
    let message = err.to_string();
    assert_eq!(
        message,
        format!(
            "{}: cannot append an array of shape [4]: rows must have the trailing shape [4], and the batch a leading axis counting the rows (shape [n, 4]); this is one row: append row.insert_axis(Axis(0)) (shape [1, 4])",
            path.display()
        )
    );
    // And the advice works.
    a.append(&row.insert_axis(ndarray::Axis(0))).unwrap();
    assert_eq!(a.shape(), &[5, 4]);

    // Rows of a 1-D array are scalars: the batch is 1-D, a 0-d one is refused.
    let b = dir.path().join("v.dat");
    let mut v = create_shared::<f32>(&b, &[0]);
    let err = v.append(&ndarray::arr0(1.0f32)).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "rows must have the trailing shape [], and the batch a leading axis counting the rows (shape [n]); this is one row: append row.insert_axis(Axis(0)) (shape [1])"
        ),
        "{err}"
    );
    // A 3-D array: the row shape is two axes.
    let c = dir.path().join("c.dat");
    let mut cube = create_shared::<u8>(&c, &[0, 2, 3]);
    let err = cube
        .append(&ndarray::Array2::<u8>::zeros((2, 3)))
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "(shape [n, 2, 3]); this is one row: append row.insert_axis(Axis(0)) (shape [1, 2, 3])"
        ),
        "{err}"
    );
}

#[test]
fn appending_rows_of_the_wrong_shape_or_to_the_wrong_array_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let mut a = create_shared::<f64>(&path, &[0, 3]);
    let err = a.append(&array![[1.0, 2.0]]).unwrap_err();
    assert!(
        matches!(err, Error::RowShapeMismatch { ref row_shape, ref found, .. } if row_shape == &[3] && found == &[1, 2]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot append an array of shape [1, 2]: rows must have the trailing shape [3], and the batch a leading axis counting the rows (shape [n, 3])",
            path.display()
        )
    );
    assert!(matches!(
        a.append(&array![1.0, 2.0, 3.0]),
        Err(Error::RowShapeMismatch { .. })
    ));
    assert_eq!(a.shape(), &[0, 3], "nothing was appended");

    let f = dir.path().join("f.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut fo = unsafe {
        CreateOptions::new()
            .order(Order::F)
            .create::<f64>(&f, &[2, 3])
    }
    .unwrap();
    assert!(matches!(
        fo.append(&array![[1.0, 2.0, 3.0]]),
        Err(Error::InvalidArgument { .. })
    ));
    let n = dir.path().join("n.npy");
    let mut np = create_shared::<f64>(&n, &[2, 3]);
    assert!(matches!(np.resize(5), Err(Error::InvalidArgument { .. })));
    let z = dir.path().join("z.dat");
    let mut zd = create_shared::<f64>(&z, &[]);
    assert!(matches!(zd.resize(5), Err(Error::InvalidArgument { .. })));
}

#[test]
fn one_dimensional_and_empty_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.dat");
    let mut a = create_shared::<i16>(&path, &[0]);
    a.append(&array![1i16, 2, 3]).unwrap();
    a.append(&ndarray::Array1::<i16>::zeros(0)).unwrap();
    a.append(&array![4i16]).unwrap();
    assert_eq!(a.as_slice(), &[1, 2, 3, 4]);
    // Rows of zero elements: length grows, no bytes.
    let e = dir.path().join("e.dat");
    let mut b = create_shared::<i16>(&e, &[0, 0]);
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
    let mut a = create_shared::<u64>(&path, &[0, 3]);
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
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let b = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(b.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 500_000));
}

/// One appender at a time, within one process too: a second read-write
/// handle's first append is `Busy` (action `"grown"`) and changes nothing,
/// while readers and in-place writers go on; once the first appender is
/// closed, the second appends after its rows (it adopts the recorded
/// length, never writing over rows it did not know of).
#[test]
fn a_second_appender_is_busy_and_appends_after_the_first_once_it_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.dat");
    let mut first = create_shared::<u64>(&path, &[0, 3]);
    let mut second = open_shared::<u64>(&path);
    first.append(&rows(0, 5)).unwrap();
    first.publish().unwrap();
    let err = second.append(&rows(100, 2)).unwrap_err();
    assert!(
        matches!(&err, Error::Busy { path: p, action: "grown" } if p == &path),
        "{err:?}"
    );
    assert!(err.to_string().contains("one.dat"), "{err}");
    assert!(matches!(second.resize(9), Err(Error::Busy { .. })));
    assert!(matches!(second.shrink_to_fit(), Err(Error::Busy { .. })));
    assert_eq!(second.shape(), &[0, 3], "the refused appender is unchanged");
    // Readers and in-place writers need no claim.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let reader = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(reader.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 5));
    let mut writer = open_shared::<u64>(&path);
    writer.view_mut()[[4, 2]] = 42;
    writer.flush().unwrap();
    drop((reader, writer));
    first.append(&rows(5, 1)).unwrap();
    first.close().unwrap();

    second.append(&rows(6, 2)).unwrap();
    assert_eq!(second.shape(), &[8, 3]);
    second.close().unwrap();
    let mut expected = rows(0, 8);
    expected[[4, 2]] = 42;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(a.view_dim::<ndarray::Ix2>().unwrap(), expected);
}

/// A grown file closed, dropped or shrunk to fit is exactly
/// `offset + nbytes` long: the geometric capacity is cut off, so numpy's
/// `fromfile` reads exactly the array. A file that was never grown by the
/// handle is left as it is.
#[test]
fn a_grown_file_closed_or_dropped_is_exactly_its_array_long() {
    let dir = tempfile::tempdir().unwrap();
    let len = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();

    let closed = dir.path().join("closed.dat");
    let mut a = create_shared::<f32>(&closed, &[4, 3]);
    a.append(&array![[1.0f32, 2.0, 3.0]]).unwrap();
    assert!(len(&closed) > 1 << 19, "growth pads the file");
    a.close().unwrap();
    assert_eq!(len(&closed), 5 * 12);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<f32>::open(&closed) }
            .unwrap()
            .shape(),
        &[5, 3]
    );

    let dropped = dir.path().join("dropped.dat");
    let mut a = create_shared::<u64>(&dropped, &[0, 3]);
    a.append(&rows(0, 7)).unwrap();
    drop(a);
    assert_eq!(len(&dropped), 7 * 24);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u64>::open(&dropped) }
            .unwrap()
            .view_dim::<ndarray::Ix2>()
            .unwrap(),
        rows(0, 7)
    );

    // shrink_to_fit keeps the handle usable, and the next append grows again.
    let fitted = dir.path().join("fitted.dat");
    let mut a = create_shared::<u64>(&fitted, &[0, 3]);
    a.append(&rows(0, 2)).unwrap();
    a.shrink_to_fit().unwrap();
    assert_eq!((a.capacity(), len(&fitted)), (2, 48));
    a.append(&rows(2, 1)).unwrap();
    assert_eq!(a.view_dim::<ndarray::Ix2>().unwrap(), rows(0, 3));
    a.close().unwrap();
    assert_eq!(len(&fitted), 72);

    // A read-write handle that did not grow the array trims nothing.
    let padded = dir.path().join("padded.dat");
    drop(create_shared::<u8>(&padded, &[4]));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&padded)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let mut a = open_shared::<u8>(&padded);
    a.view_mut()[0] = 1;
    a.close().unwrap();
    assert_eq!(len(&padded), 4096);
    // Read-only and copy-on-write mappings close as they drop.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<u8>::open(&padded) }
        .unwrap()
        .close()
        .unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<u8>::open_copy(&padded) }
        .unwrap()
        .close()
        .unwrap();
}

/// numpy 2 allows up to 64 dimensions, and so does every path here, with
/// no panic: 40 dimensions are created, viewed, appended to, reopened,
/// read as shards, scanned and converted; 65 are a typed error at create.
#[test]
fn forty_dimensions_work_everywhere_and_sixty_five_are_refused() {
    use ndarray::{ArrayD, IxDyn};
    let dir = tempfile::tempdir().unwrap();
    let mut shape = vec![1usize; 40];
    shape[0] = 2;
    shape[39] = 3;
    let store = mmarray::Store::create(dir.path().join("runs")).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { store.create_array::<f32>("part-0", &shape) }.unwrap();
    for (i, x) in a.as_slice_mut().iter_mut().enumerate() {
        *x = i as f32;
    }
    assert_eq!(a.view().ndim(), 40);
    let mut row_shape = shape.clone();
    row_shape[0] = 1;
    let row = ArrayD::from_shape_fn(IxDyn(&row_shape), |ix| 100.0 + ix[39] as f32);
    a.append(&row).unwrap();
    a.close().unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<f32>("part-1", &shape) }.unwrap());

    let path = dir.path().join("runs/part-0.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let reopened = unsafe { MappedArray::<f32>::open(&path) }.unwrap();
    assert_eq!(reopened.shape()[0], 3);
    assert_eq!(
        reopened.as_slice(),
        &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 101.0, 102.0]
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let shards = unsafe { store.open_sharded::<f32>("part-") }.unwrap();
    assert_eq!(shards.len(), 5);
    let rows = shards.read_rows(1..4).unwrap();
    assert_eq!(rows.ndim(), 40);
    assert_eq!(
        rows.iter().copied().collect::<Vec<_>>(),
        [3.0, 4.0, 5.0, 100.0, 101.0, 102.0, 0.0, 0.0, 0.0]
    );
    let stats = mmarray::Stats::of_path(&path, |_| {}).unwrap();
    assert_eq!(stats.count, 9);
    let f = dir.path().join("f.npy");
    let mut options = mmarray::ConvertOptions::new();
    options.order(Order::F);
    mmarray::convert(&path, &f, &options, |_| {}).unwrap();
    assert_eq!(mmarray::read_array::<f32>(&f).unwrap(), reopened.view());

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err =
        unsafe { MappedArray::<f32>::create(dir.path().join("x.dat"), &[1; 65]) }.unwrap_err();
    assert!(matches!(err, Error::TooManyDimensions { .. }), "{err:?}");
    let err = CreateOptions::new()
        .write(
            dir.path().join("y.npy"),
            &ArrayD::<u8>::zeros(IxDyn(&[1; 65])),
        )
        .unwrap_err();
    assert!(matches!(err, Error::TooManyDimensions { .. }), "{err:?}");
}
