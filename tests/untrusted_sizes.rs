//! Sizes read from a sidecar or a `.npy` header are untrusted: they are
//! checked against the real file's length before anything is mapped,
//! allocated or computed from them.
//!
//! The main test claims arrays of 4 GiB and 1 TiB over a 16-byte file and
//! checks that every public way in fails with [`Error::DataTooShort`]. Its
//! body runs in a child process (this test binary, re-run with only that
//! test) whose address space is capped at 1 GiB with `ulimit -v`: a buffer
//! allocated for the claimed size, even one never touched (which Linux's
//! overcommit would otherwise let pass), fails to allocate and aborts the
//! child, which fails the test.

use std::path::Path;
use std::process::Command;

use mmarray::store::Store;
use mmarray::{
    ConvertOptions, DynArray, Error, MappedArray, ShardedArray, Stats, inspect, read_array,
};

/// Set in the child process that runs the body under the memory limit.
const ENV_CHILD: &str = "MMARRAY_UNTRUSTED_SIZES_CHILD";
/// The child's address-space limit, in KiB (`ulimit -v` units): 1 GiB.
const CHILD_LIMIT_KIB: u64 = 1 << 20;

/// `Error::DataTooShort` with these counts, or a panic naming what was got.
fn assert_too_short<T: std::fmt::Debug>(result: Result<T, Error>, needed: u64, actual: u64) {
    match result {
        Err(Error::DataTooShort {
            needed: n,
            actual: a,
            ..
        }) if n == needed && a == actual => {}
        other => {
            panic!("expected DataTooShort {{ needed: {needed}, actual: {actual} }}, got {other:?}")
        }
    }
}

/// A `.npy` file with a numpy header for `descr` and `shape`, then `data`.
fn npy_file(path: &Path, descr: &str, shape: u64, data: &[u8]) -> u64 {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape},), }}");
    let pad = 64 - (10 + dict.len() + 1) % 64;
    let header_len = dict.len() + pad + 1;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    let offset = bytes.len() as u64;
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
    offset
}

/// Every public way to open or read `path`, which claims `nbytes` of
/// `float32` elements at `offset` in a file of `file_len` bytes.
fn every_reader_says_too_short(path: &Path, offset: u64, nbytes: u64, file_len: u64) {
    let needed = offset + nbytes;
    assert_too_short(inspect(path), needed, file_len);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_too_short(unsafe { MappedArray::<f32>::open(path) }, needed, file_len);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_too_short(
        unsafe { MappedArray::<f32>::open_copy(path) },
        needed,
        file_len,
    );
    assert_too_short(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { DynArray::open(path) }.map(|a| a.info().clone()),
        needed,
        file_len,
    );
    assert_too_short(read_array::<f32>(path), needed, file_len);
    assert_too_short(Stats::of_path(path, |_| {}), needed, file_len);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_too_short(
        unsafe { ShardedArray::<f32>::open([path]) },
        needed,
        file_len,
    );
    let out = path.with_extension("converted.npy");
    assert_too_short(
        mmarray::convert(path, &out, &ConvertOptions::new(), |_| {}),
        needed,
        file_len,
    );
    assert!(!out.exists(), "convert made {}", out.display());
}

/// The body: raw files with sidecars, and `.npy` files, claiming 4 GiB and
/// 1 TiB over 16 bytes of data; also through a store.
fn claims_over_a_short_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, elements) in [("four_gib", 1u64 << 30), ("one_tib", 1 << 38)] {
        let nbytes = elements * 4;

        let raw = dir.path().join(format!("{name}.dat"));
        std::fs::write(&raw, [0u8; 16]).unwrap();
        std::fs::write(
            mmarray::sidecar_path(&raw),
            format!(r#"{{"version": 1, "dtype": "<f4", "shape": [{elements}]}}"#),
        )
        .unwrap();
        every_reader_says_too_short(&raw, 0, nbytes, 16);
        // The sidecar given directly stands for the data file.
        assert_too_short(inspect(mmarray::sidecar_path(&raw)), nbytes, 16);

        let npy = dir.path().join(format!("{name}.npy"));
        let offset = npy_file(&npy, "<f4", elements, &[0u8; 16]);
        every_reader_says_too_short(&npy, offset, nbytes, offset + 16);
    }

    let store_dir = dir.path().join("store");
    let store = Store::create(&store_dir).unwrap();
    let offset = npy_file(&store_dir.join("big.npy"), "<f4", 1 << 38, &[0u8; 16]);
    assert_too_short(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array_dyn("big") }.map(|a| a.info().clone()),
        offset + (1 << 40),
        offset + 16,
    );
    assert_too_short(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array::<f32>("big") },
        offset + (1 << 40),
        offset + 16,
    );
    let entries = store.list().unwrap();
    assert_eq!(entries.len(), 1);
    assert_too_short(
        entries.into_iter().next().unwrap().into_info(),
        offset + (1 << 40),
        offset + 16,
    );
}

#[test]
fn claims_larger_than_the_file_are_data_too_short_without_allocating() {
    if std::env::var_os(ENV_CHILD).is_some() || !cfg!(target_os = "linux") {
        // In the child; or where `ulimit -v` is not reliable, unlimited.
        claims_over_a_short_file();
        return;
    }
    let this = "claims_larger_than_the_file_are_data_too_short_without_allocating";
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CHILD_LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", this, "--nocapture", "--test-threads=1"])
        .env(ENV_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child under `ulimit -v {CHILD_LIMIT_KIB}` failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // It ran the body, rather than matching no test.
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Shards of an empty array may each claim up to `isize::MAX` rows; reading
/// all their rows back must not overflow computing the copy's size (it
/// panicked in debug builds), and fails as ndarray cannot make that shape.
#[test]
fn reading_rows_of_many_empty_shards_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 1u64 << 61;
    let paths: Vec<_> = (0..4)
        .map(|i| {
            let path = dir.path().join(format!("part-{i}.npy"));
            let dict =
                format!("{{'descr': '|b1', 'fortran_order': False, 'shape': ({rows}, 3, 0), }}");
            let pad = 64 - (10 + dict.len() + 1) % 64;
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
            bytes.extend_from_slice(dict.as_bytes());
            bytes.extend(std::iter::repeat_n(b' ', pad));
            bytes.push(b'\n');
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let all = unsafe { ShardedArray::<bool>::open(&paths) }.unwrap();
    assert_eq!(all.len() as u64, 4 * rows);
    assert_eq!(all.row_shape(), &[3, 0]);
    // A few rows are fine: an empty array of shape (5, 3, 0).
    assert_eq!(all.read_rows(0..5).unwrap().shape(), &[5, 3, 0]);
    // All of them: 2^63 × 3 overflows ndarray's size limit.
    let err = all.read_rows(0..all.len()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}
