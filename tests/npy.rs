//! `.npy` files mapped in place: versions 1.0, 2.0 and 3.0, both orders,
//! 0-d / empty / n-d shapes, every access mode, and each malformed-header
//! error. (Live checks against numpy itself are in `numpy_live.rs`.)

mod common;

use std::path::{Path, PathBuf};

use common::*;
use mmarray::{ByteOrder, CreateOptions, Error, Format, MappedArray, Order};

/// numpy's header dict for `dtype`, `order` and `shape`, as numpy writes it.
fn header_dict(dtype: &str, fortran: bool, shape: &[usize]) -> String {
    let shape = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fortran = if fortran { "True" } else { "False" };
    format!("{{'descr': '{dtype}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
}

/// A `.npy` file of format `version` with `dict` padded to 64 bytes, then `data`.
fn npy_bytes(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    // numpy's `_wrap_header`: 1 to 64 spaces of padding, then '\n'.
    let preamble = if version == 1 { 10 } else { 12 };
    let padlen = 64 - (preamble + dict.len() + 1) % 64;
    let total = preamble + dict.len() + 1 + padlen;
    let header_len = total - preamble;
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(data);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn versions_orders_shapes<T: TestElement>() {
    let dir = tempfile::tempdir().unwrap();
    for version in [1u8, 2, 3] {
        for (case, shape) in SHAPES.iter().enumerate() {
            for order in ["C", "F"] {
                let want = expected::<T>(shape);
                let data = encode(&want, order, cfg!(target_endian = "big"));
                let dict = header_dict(
                    &type_string::<T>(cfg!(target_endian = "big")),
                    order == "F",
                    shape,
                );
                let path = write(
                    dir.path(),
                    &format!("v{version}-{case}-{order}.npy"),
                    &npy_bytes(version, &dict, &data),
                );
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let a = unsafe { MappedArray::<T>::open(&path) }.unwrap();
                assert_eq!(a.format(), Format::Npy);
                assert_eq!(a.view(), want, "v{version} {shape:?} {order}");
                assert_eq!(a.order().as_str(), order);
                assert_eq!(a.layout().offset() % 64, 0);
                assert_eq!(mmarray::read_array::<T>(&path).unwrap(), want);
            }
        }
    }
}

#[test]
fn versions_1_2_3_every_type_order_and_shape() {
    for_each_type!(versions_orders_shapes);
}

fn create_npy<T: TestElement>() {
    let dir = tempfile::tempdir().unwrap();
    for (case, shape) in SHAPES.iter().enumerate() {
        for order in [Order::C, Order::F] {
            let path = dir.path().join(format!("{case}{order}.npy"));
            let want = expected::<T>(shape);
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            let mut a =
                unsafe { CreateOptions::new().order(order).create::<T>(&path, shape) }.unwrap();
            a.view_mut().assign(&want);
            a.flush().unwrap();
            drop(a);
            // Exactly the bytes numpy.save writes: its header (with the
            // spaces it reserves for the growth axis; fortran_order only when
            // C and F differ), then the data.
            let long_axes = shape.iter().filter(|&&d| d > 1).count();
            let fortran = order == Order::F && long_axes >= 2 && !want.is_empty();
            let mut dict = header_dict(
                &type_string::<T>(cfg!(target_endian = "big")),
                fortran,
                shape,
            );
            let growth = if fortran { shape.last() } else { shape.first() };
            if let Some(extent) = growth {
                dict.push_str(&" ".repeat(21 - extent.to_string().len()));
            }
            let data = encode(&want, order.as_str(), cfg!(target_endian = "big"));
            assert_eq!(std::fs::read(&path).unwrap(), npy_bytes(1, &dict, &data));
            assert!(!sidecar_of(&path).exists(), ".npy files need no sidecar");
        }
    }
}

#[test]
fn created_npy_files_are_byte_identical_to_numpys() {
    for_each_type!(create_npy);
}

#[test]
fn big_endian_npy_is_written_and_read_by_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.npy");
    let want = expected::<f64>(&[3, 4]);
    let info = CreateOptions::new()
        .byte_order(ByteOrder::Big)
        .order(Order::F)
        .write(&path, &want)
        .unwrap();
    assert_eq!(info.layout().dtype().to_string(), ">f8");
    let dict = header_dict(">f8", true, &[3, 4]) + &" ".repeat(20);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        npy_bytes(1, &dict, &encode(&want, "F", true))
    );
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f64>::open(&path) },
        Err(Error::NonNativeByteOrder { .. })
    ));
    assert_eq!(mmarray::read_array::<f64>(&path).unwrap(), want);
}

#[test]
fn npy_read_write_and_copy_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npy");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<i32>::create(&path, &[4, 4]) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<i32>::open_mut(&path) }.unwrap();
    w.view_mut()[[3, 3]] = 42;
    w.flush().unwrap();
    drop(w);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<i32>::open(&path) }.unwrap().view()[[3, 3]],
        42
    );
    let before = file_hash(&path);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut c = unsafe { MappedArray::<i32>::open_copy(&path) }.unwrap();
    c.view_mut().fill(-1);
    drop(c);
    assert_eq!(file_hash(&path), before);
    // .npy files have nowhere to keep attrs.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<i32>::open_mut(&path) }.unwrap();
    assert!(matches!(
        w.set_attrs(Default::default()),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn content_decides_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected::<u16>(&[6]);
    let bytes = npy_bytes(
        1,
        &header_dict("<u2", false, &[6]),
        &encode(&want, "C", false),
    );
    // A .npy file under another name opens as .npy, even with a sidecar
    // that says something else.
    let path = write(dir.path(), "data.bin", &bytes);
    std::fs::write(sidecar_of(&path), sidecar_json("<f8", &[1], "C", 0)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u16>::open(&path) }.unwrap();
    assert_eq!((a.format(), a.view()), (Format::Npy, want.view()));
    assert_eq!(mmarray::inspect(&path).unwrap().format(), Format::Npy);
}

fn npy_err(dir: &Path, name: &str, bytes: &[u8]) -> Error {
    let path = write(dir, name, bytes);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open(&path) }.unwrap_err();
    assert!(
        err.to_string().contains(name),
        "message does not name {name}: {err}"
    );
    err
}

#[test]
fn bad_magic() {
    let dir = tempfile::tempdir().unwrap();
    let err = npy_err(dir.path(), "nomagic.npy", b"\x93NUMPX\x01\x00\x10\x00{}");
    assert!(
        matches!(&err, Error::MalformedNpy { message, .. } if message.contains("magic")),
        "{err}"
    );
}

#[test]
fn truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let full = npy_bytes(1, &header_dict("<f4", false, &[3]), &[0; 12]);
    for cut in [7, 9, 11, 40, full.len() - 13] {
        let err = npy_err(dir.path(), &format!("cut{cut}.npy"), &full[..cut]);
        assert!(
            matches!(err, Error::MalformedNpy { .. }),
            "cut at {cut}: {err:?}"
        );
    }
    // Header complete, data short.
    let err = npy_err(dir.path(), "short.npy", &full[..full.len() - 4]);
    assert!(
        matches!(err, Error::DataTooShort { needed, actual, .. } if needed == actual + 4),
        "{err:?}"
    );
}

#[test]
fn unsupported_version_and_oversized_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut v4 = npy_bytes(1, &header_dict("<f4", false, &[1]), &[0; 4]);
    v4[6] = 4;
    let err = npy_err(dir.path(), "v4.npy", &v4);
    assert!(
        matches!(&err, Error::MalformedNpy { message, .. } if message.contains("4.0")),
        "{err}"
    );
    // A v2 header declaring 4 GiB is refused before anything is read.
    let mut huge = b"\x93NUMPY\x02\x00".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(b"{'descr': '<f4'");
    let err = npy_err(dir.path(), "huge.npy", &huge);
    assert!(
        matches!(&err, Error::MalformedNpy { message, .. } if message.contains("limit")),
        "{err}"
    );
}

#[test]
fn object_structured_and_overflowing_headers() {
    let dir = tempfile::tempdir().unwrap();
    let err = npy_err(
        dir.path(),
        "obj.npy",
        &npy_bytes(1, &header_dict("|O", false, &[2]), &[0; 16]),
    );
    assert!(matches!(err, Error::UnknownDtype { .. }), "{err:?}");
    let structured =
        "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (2,), }";
    let err = npy_err(dir.path(), "rec.npy", &npy_bytes(1, structured, &[0; 16]));
    // Not malformed: a dtype this crate does not support, named as written.
    assert!(
        matches!(&err, Error::UnknownDtype { dtype, .. } if dtype == "[('x', '<f4'), ('y', '<i4')]"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("unsupported dtype \"[('x', '<f4'), ('y', '<i4')]\""),
        "{err}"
    );
    // Nested fields and brackets in names are taken whole; an unbalanced
    // list is malformed.
    let nested = "{'descr': [('p', [('x', '<f8')]), ('a]', '|u1', (2,))], 'fortran_order': False, 'shape': (1,), }";
    let err = npy_err(dir.path(), "nested.npy", &npy_bytes(1, nested, &[0; 16]));
    assert!(
        matches!(&err, Error::UnknownDtype { dtype, .. } if dtype == "[('p', [('x', '<f8')]), ('a]', '|u1', (2,))]"),
        "{err:?}"
    );
    for broken in ["[('x', '<f4')", "[('x', '<f4')))]", "[('x, '<f4')]"] {
        let header = format!("{{'descr': {broken}, 'fortran_order': False, 'shape': (1,), }}");
        let err = npy_err(dir.path(), "broken.npy", &npy_bytes(1, &header, &[0; 16]));
        assert!(
            matches!(&err, Error::MalformedNpy { .. }),
            "{broken}: {err:?}"
        );
    }
    let err = npy_err(
        dir.path(),
        "big.npy",
        &npy_bytes(1, &header_dict("<f4", false, &[1 << 40, 1 << 40]), &[]),
    );
    assert!(matches!(err, Error::ShapeOverflow { .. }), "{err:?}");
    let evil =
        "{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,), }";
    let err = npy_err(dir.path(), "evil.npy", &npy_bytes(1, evil, &[0; 4]));
    assert!(matches!(err, Error::MalformedNpy { .. }), "{err:?}");
}
