//! Byte access: `as_bytes` is exactly the array's bytes in the file (from
//! the offset, `nbytes` long: no `.npy` header, no spare capacity), in every
//! mode, and `as_bytes_mut` writes reach the file (read-write) or stay in
//! the process (copy-on-write).

mod common;

use common::*;
use mmarray::{CopyOnWrite, CreateOptions, DynArray, MappedArray, Mode, Order, ReadOnly};
use ndarray::{Array2, ArrayD, IxDyn, array};

/// `as_bytes` in all three modes equals the file's bytes at
/// `offset..offset + nbytes`.
fn assert_bytes_are_the_files<T: mmarray::Element>(path: &std::path::Path, nbytes: usize) {
    fn bytes_in<T: mmarray::Element, M: Mode>(path: &std::path::Path) -> (u64, Vec<u8>) {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<T, M>::open_in(path) }.unwrap();
        assert_eq!(a.as_bytes().len(), a.layout().nbytes());
        (a.layout().offset(), a.as_bytes().to_vec())
    }
    // Read-write through the shared-write open: the callers may hold a
    // read-only mapping, which an exclusive `open_mut` would be refused.
    fn bytes_shared<T: mmarray::Element>(path: &std::path::Path) -> (u64, Vec<u8>) {
        // SAFETY: the test's own file; nothing writes through any handle.
        let a = unsafe { MappedArray::<T>::open_shared_mut(path) }.unwrap();
        (a.layout().offset(), a.as_bytes().to_vec())
    }
    let file = std::fs::read(path).unwrap();
    for (offset, bytes) in [
        bytes_in::<T, ReadOnly>(path),
        bytes_shared::<T>(path),
        bytes_in::<T, CopyOnWrite>(path),
    ] {
        let offset = offset as usize;
        assert_eq!(bytes.len(), nbytes);
        assert_eq!(bytes, &file[offset..offset + nbytes]);
    }
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let dynamic = unsafe { DynArray::open(path) }.unwrap();
    assert_eq!(dynamic.as_bytes().len(), nbytes);
}

#[test]
fn raw_bytes_start_at_the_offset_and_stop_at_the_array_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    let want = expected::<f32>(&[5, 3]);
    let data = encode(&want, "C", false);
    // 16 bytes of header before the array, 7 bytes of trailer after it.
    let mut with_trailer = data.clone();
    with_trailer.extend_from_slice(b"TRAILER");
    write_raw(
        &path,
        &[0xEE; 16],
        &with_trailer,
        &sidecar_json("<f4", &[5, 3], "C", 16),
    );
    assert_bytes_are_the_files::<f32>(&path, 60);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f32>::open(&path) }
            .unwrap()
            .as_bytes(),
        &data[..]
    );
}

#[test]
fn npy_bytes_leave_out_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let want = expected::<i64>(&[4, 2]);
    CreateOptions::new().write(&path, &want).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<i64>::open(&path) }.unwrap();
    assert!(
        a.layout().offset() >= 64,
        "a .npy header is at least 64 bytes"
    );
    assert_eq!(a.as_bytes(), &encode(&want, "C", false)[..]);
    assert_bytes_are_the_files::<i64>(&path, 64);
}

#[test]
fn f_order_bytes_are_in_memory_order() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["f.npy", "f.dat"] {
        let path = dir.path().join(name);
        let want = expected::<u16>(&[3, 4]);
        CreateOptions::new()
            .order(Order::F)
            .write(&path, &want)
            .unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<u16>::open(&path) }.unwrap();
        assert_eq!(a.as_bytes(), &encode(&want, "F", false)[..], "{name}");
        assert_ne!(a.as_bytes(), &encode(&want, "C", false)[..], "{name}");
        assert_bytes_are_the_files::<u16>(&path, 24);
    }
}

#[test]
fn empty_and_zero_d_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.npy");
    CreateOptions::new()
        .write(&empty, &ArrayD::<f64>::zeros(IxDyn(&[0, 3])))
        .unwrap();
    assert!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f64>::open(&empty) }
            .unwrap()
            .as_bytes()
            .is_empty()
    );
    assert_bytes_are_the_files::<f64>(&empty, 0);

    for name in ["scalar.npy", "scalar.dat"] {
        let path = dir.path().join(name);
        CreateOptions::new()
            .write(&path, &ndarray::arr0(2.5f64))
            .unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<f64>::open(&path) }.unwrap();
        assert_eq!(a.as_bytes(), &2.5f64.to_ne_bytes(), "{name}");
        assert_bytes_are_the_files::<f64>(&path, 8);
    }
}

#[test]
fn a_growing_array_shows_its_rows_not_its_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u8>::create(&path, &[0, 4]) }.unwrap();
    a.append(&array![[1, 2, 3, 4], [5, 6, 7, 8]]).unwrap();
    assert!(a.capacity() > 2, "the file has grown ahead of the rows");
    assert_eq!(a.as_bytes(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    a.as_bytes_mut()[7] = 80;
    assert_eq!(a.as_bytes_mut().len(), 8);
    a.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), [1, 2, 3, 4, 5, 6, 7, 80]);
}

#[test]
fn writes_through_as_bytes_mut_are_in_the_file_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rw.dat");
    let prefix = [0u8; 8];
    let data = encode(&expected::<u32>(&[2, 3]), "C", false);
    write_raw(&path, &prefix, &data, &sidecar_json("<u4", &[2, 3], "C", 8));

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<u32>::open_mut(&path) }.unwrap();
    w.as_bytes_mut()[4..8].copy_from_slice(&0xDEAD_BEEFu32.to_ne_bytes());
    w.flush().unwrap();
    // The element view sees it at once, another mapping too (once the
    // exclusive writer is gone).
    assert_eq!(w.as_slice()[1], 0xDEAD_BEEF);
    drop(w);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u32>::open(&path) }
            .unwrap()
            .as_slice()[1],
        0xDEAD_BEEF
    );

    let file = std::fs::read(&path).unwrap();
    assert_eq!(
        &file[..8],
        &prefix,
        "the bytes before the offset are untouched"
    );
    assert_eq!(&file[12..16], &0xDEAD_BEEFu32.to_ne_bytes());
    assert_eq!(&file[8..12], &data[..4]);
    assert_eq!(&file[16..], &data[8..]);
}

#[test]
fn copy_on_write_bytes_change_the_mapping_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cow.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<i16>::create(&path, &[8]) }.unwrap();
    w.as_slice_mut().copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    w.flush().unwrap();
    drop(w);
    let before = std::fs::read(&path).unwrap();

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut c = unsafe { MappedArray::<i16>::open_copy(&path) }.unwrap();
    c.as_bytes_mut().fill(0);
    assert_eq!(c.as_slice(), &[0; 8]);
    drop(c);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn bytes_can_be_searched_and_mapped_back_to_elements() {
    // What examples/search.rs does with regex::bytes, with a plain window
    // search: byte offsets divided by the item size are memory-order
    // indices, and those unravel to the element's index.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u32>::create(&path, &[3, 4]) }.unwrap();
    a.view_mut()[[2, 1]] = 0x1234_5678;
    let needle = 0x1234_5678u32.to_ne_bytes();
    let at = a
        .as_bytes()
        .windows(4)
        .position(|w| w == needle)
        .expect("the value is in the bytes");
    assert_eq!(at % 4, 0);
    assert_eq!(at / 4, 2 * 4 + 1);
    let v: Array2<u32> = a.view_dim().unwrap().to_owned();
    assert_eq!(v[[(at / 4) / 4, (at / 4) % 4]], 0x1234_5678);
}
