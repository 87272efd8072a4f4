//! Raw files written byte by byte (independently of the library) read back
//! through zero-copy views with the right values, for every element type,
//! both memory orders, shapes from 0-d to 4-d, and several byte offsets.

mod common;

use common::*;
use mmarray::{MappedArray, Order};

fn round_trip<T: TestElement>() {
    let dir = tempfile::tempdir().unwrap();
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in ["C", "F"] {
            // Offsets: none, one element, and one that crosses a page boundary.
            let item = T::TYPE.size();
            for offset in [0, item * 3, 4096 + item * 5] {
                let path = dir.path().join(format!("a{case}{order}{offset}.dat"));
                let want = expected::<T>(shape);
                let data = encode(&want, order, cfg!(target_endian = "big"));
                let prefix = vec![0xA5u8; offset];
                write_raw(
                    &path,
                    &prefix,
                    &data,
                    &sidecar_json(
                        &type_string::<T>(cfg!(target_endian = "big")),
                        shape,
                        order,
                        offset,
                    ),
                );

                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let a = unsafe { MappedArray::<T>::open(&path) }.unwrap();
                let v = a.view();
                assert_eq!(v, want, "{} {shape:?} {order} offset {offset}", T::CODE);
                assert_eq!(v.shape(), *shape);
                assert_eq!(a.order(), if order == "C" { Order::C } else { Order::F });
                // The memory-order slice is exactly the file's bytes.
                let slice_bytes: Vec<u8> = a
                    .as_slice()
                    .iter()
                    .flat_map(|&x| x.encode(cfg!(target_endian = "big")))
                    .collect();
                assert_eq!(slice_bytes, data);
                // Strides follow the order: C is standard, F is its transpose.
                if shape.len() > 1 && !want.is_empty() {
                    match order {
                        "C" => assert!(v.is_standard_layout()),
                        _ => assert!(v.t().is_standard_layout() && !v.is_standard_layout()),
                    }
                }
                // The view points into the mapping: zero-copy.
                assert_eq!(v.as_ptr(), a.as_slice().as_ptr());
            }
        }
    }
}

#[test]
fn every_type_order_shape_and_offset() {
    for_each_type!(round_trip);
}

fn create_write_reopen<T: TestElement>() {
    let dir = tempfile::tempdir().unwrap();
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in [Order::C, Order::F] {
            let path = dir.path().join(format!("c{case}{order}.dat"));
            let want = expected::<T>(shape);
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            let mut w = unsafe {
                mmarray::CreateOptions::new()
                    .order(order)
                    .create::<T>(&path, shape)
            }
            .unwrap();
            w.view_mut().assign(&want);
            w.flush().unwrap();
            drop(w);
            // The file holds the encoding in the requested memory order.
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(
                on_disk,
                encode(&want, order.as_str(), cfg!(target_endian = "big"))
            );
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            let r = unsafe { MappedArray::<T>::open(&path) }.unwrap();
            assert_eq!(r.view(), want);
        }
    }
}

#[test]
fn create_write_reopen_every_type() {
    for_each_type!(create_write_reopen);
}

#[test]
fn a_longer_file_is_fine_and_only_the_described_bytes_are_viewed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.dat");
    let want = expected::<u16>(&[3, 2]);
    let mut data = encode(&want, "C", false);
    data.extend_from_slice(&[0xFF; 1000]);
    write_raw(&path, &[], &data, &sidecar_json("<u2", &[3, 2], "C", 0));
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u16>::open(&path) }.unwrap();
    assert_eq!(a.view(), want);
    assert_eq!(a.as_slice().len(), 6);
}

#[test]
fn open_accepts_the_sidecar_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.bin");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<i32>::create(&path, &[4]) }
        .unwrap()
        .view_mut()[2] = 7;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<i32>::open(sidecar_of(&path)) }.unwrap();
    assert_eq!(a.path(), path);
    assert_eq!(a.view()[2], 7);
}

#[test]
fn numpy_names_are_accepted_in_sidecars() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.dat");
    let want = expected::<i64>(&[5]);
    write_raw(
        &path,
        &[],
        &encode(&want, "C", false),
        r#"{"version": 1, "dtype": "int64", "shape": [5]}"#,
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<i64>::open(&path) }.unwrap().view(),
        want
    );
}

#[test]
fn static_dimension_views() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<f64>::create(&path, &[2, 3]) }.unwrap();
    {
        let mut v2 = w.view_mut_dim::<ndarray::Ix2>().unwrap();
        v2[[1, 2]] = 9.0;
    }
    let v: ndarray::ArrayView2<f64> = w.view_dim().unwrap();
    assert_eq!(v[[1, 2]], 9.0);
    assert!(matches!(
        w.view_dim::<ndarray::Ix3>(),
        Err(mmarray::Error::DimensionMismatch {
            expected: 3,
            found: 2,
            ..
        })
    ));
}
