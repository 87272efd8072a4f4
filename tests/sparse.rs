//! A 64 GiB array made sparse opens in O(1) and reads and writes its last
//! element without using real disk space.

use std::os::unix::fs::MetadataExt;

use mmarray::MappedArray;

#[test]
fn a_64_gib_sparse_array_opens_and_touches_its_last_element() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.dat");
    let rows = 64usize << 30 >> 12; // 64 GiB of f32 in rows of 1024
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<f32>::create(&path, &[rows, 1024]) }.unwrap();
    w.view_mut()[[rows - 1, 1023]] = 2.5;
    w.flush().unwrap();
    drop(w);

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<f32>::open(&path) }.unwrap();
    assert_eq!(r.layout().nbytes(), 64 << 30);
    assert_eq!(r.view()[[rows - 1, 1023]], 2.5);
    assert_eq!(r.view()[[0, 0]], 0.0);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 64 << 30);
    assert!(
        meta.blocks() * 512 <= 1 << 20,
        "{} bytes allocated",
        meta.blocks() * 512
    );
}
