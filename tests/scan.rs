//! Whole-file scans read with `pread` (issue 16): the streamed statistics
//! equal the mapped ones bit for bit at any thread count and in either
//! byte order; a file truncated after it was opened gives
//! `Error::Truncated` with the byte where it ended (from the reader, from
//! `Stats::of_scan` and from `convert`), never `SIGBUS`.
//!
//! Leased scans (issue 23, Linux): `Stats::of_path` maps a file it can
//! lease and says so (`Stats::read`); a file open for writing elsewhere,
//! or one this process may not lease (a user namespace without
//! `CAP_LEASE`), is streamed with `pread`; a writer that turns up mid-scan
//! waits only until the scan lets go of the lease, and the scan finishes
//! with `pread`, with the same result, or `Error::Truncated` if the file
//! shrank.

use std::fs::OpenOptions;

use mmarray::{
    ByteOrder, ConvertOptions, CreateOptions, DType, ElementType, Error, NoLease, Npz, Order,
    ReadPath, Scan, Source, Stats,
};
use ndarray::{Array1, ArrayD, IxDyn};
use num_complex::Complex;

/// `Stats` as text: equal texts are equal results to the bit (Debug of an
/// `f64` is its shortest round-trip form). How the bytes were read
/// (`Stats::read`) is left out.
fn bits(s: &Stats) -> String {
    format!(
        "{:?}",
        Stats {
            read: ReadPath::Memory,
            ..s.clone()
        }
    )
}

/// `of_path` (streamed) on 1 to 4 threads and `of_source` (mapped) agree
/// exactly, for `array` written in each byte order.
fn check_streamed_equals_mapped<T: mmarray::Element>(array: &ArrayD<T>) {
    for byte_order in [ByteOrder::Little, ByteOrder::Big] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.dat");
        CreateOptions::new()
            .byte_order(byte_order)
            .write(&path, array)
            .unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let mapped = Stats::of_source(&unsafe { Source::open(&path) }.unwrap(), |_| {}).unwrap();
        for threads in [1, 2, 3, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let counted = std::sync::atomic::AtomicUsize::new(0);
            let streamed = pool
                .install(|| {
                    Stats::of_path(&path, |n| {
                        counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    })
                })
                .unwrap();
            assert_eq!(
                bits(&streamed),
                bits(&mapped),
                "{} {byte_order:?} on {threads} threads",
                T::TYPE
            );
            assert_eq!(counted.into_inner(), array.len(), "progress adds up");
        }
    }
}

#[test]
fn streamed_stats_equal_mapped_stats_at_any_thread_count() {
    // Several blocks and a partial last one, for each element size.
    let n = 3 * (1 << 20) / 4 + 12_345;
    let wave = |i: usize| ((i as f64) * 0.001).sin() * 1e6 + 1e9;
    let floats = Array1::from_iter((0..n).map(|i| {
        if i % 100_003 == 7 {
            f32::NAN
        } else {
            wave(i) as f32
        }
    }));
    check_streamed_equals_mapped(&floats.into_dyn());
    let doubles = Array1::from_iter((0..n).map(wave)).into_dyn();
    check_streamed_equals_mapped(&doubles);
    let halves = Array1::from_iter((0..n).map(|i| half::f16::from_f64((i % 1000) as f64 * 0.5)));
    check_streamed_equals_mapped(&halves.into_dyn());
    let ints = Array1::from_iter((0..n as i64).map(|i| i * 1_000_003 - (1 << 40)));
    check_streamed_equals_mapped(&ints.into_dyn());
    let complex = Array1::from_iter((0..n / 4).map(|i| Complex::new(wave(i), -(i as f64))));
    check_streamed_equals_mapped(&complex.into_dyn());
    let bools = Array1::from_iter((0..n).map(|i| i % 3 == 0));
    check_streamed_equals_mapped(&bools.into_dyn());
    check_streamed_equals_mapped(&ArrayD::<f32>::zeros(IxDyn(&[0])));
}

/// A stored `.npz` member is streamed at its offset in the archive, and
/// gives what the array itself gives.
#[test]
fn npz_members_stream_at_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f64> = (0..300_001).map(|i| (i as f64).sqrt()).collect();
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let archive = dir.path().join("a.npz");
    Npz::write(&archive, false, |w| {
        w.add(
            "pad",
            DType::native(ElementType::U8),
            &[3],
            Order::C,
            &[1, 2, 3],
        )?;
        w.add(
            "x",
            DType::native(ElementType::F64),
            &[x.len()],
            Order::C,
            &bytes,
        )
    })
    .unwrap();
    let plain = dir.path().join("x.npy");
    CreateOptions::new()
        .write(&plain, &Array1::from(x.clone()))
        .unwrap();
    let want = bits(&Stats::of_path(&plain, |_| {}).unwrap());
    assert_eq!(
        bits(&Stats::of_path(archive.join("x"), |_| {}).unwrap()),
        want
    );
}

/// A file truncated after the scan opened it: the reader, the stats and
/// the conversion each report `Error::Truncated` at the byte where the
/// data ended, in one line naming the file.
#[test]
fn a_file_truncated_under_a_scan_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3 << 20; // 12 MiB of f32: 48 blocks
    let make = |name: &str| {
        let path = dir.path().join(name);
        CreateOptions::new()
            .write(&path, &Array1::<f32>::ones(n))
            .unwrap();
        path
    };
    let cut = 5 * (1 << 20) + 1000; // inside block 20
    let truncate = |path: &std::path::Path| {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(cut)
            .unwrap()
    };
    let end = 4 * n as u64;

    let path = make("shrinks.dat");
    let scan = Scan::open(&path).unwrap();
    truncate(&path);
    let mut reader = scan.reader();
    let mut read = 0u64;
    let err = loop {
        match reader.next_elements::<f32>() {
            Ok(Some(block)) => read += 4 * block.len() as u64,
            Ok(None) => panic!("read to the end of a truncated file"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, Error::Truncated { at, end: e, .. } if at == cut && e == end),
        "{err:?}"
    );
    assert_eq!(read, 5 << 20, "the whole blocks before the cut were read");
    let text = err.to_string();
    assert!(
        !text.contains('\n')
            && text.contains("shrinks.dat")
            && text.contains(&format!("byte {cut} of {end}")),
        "{text}"
    );
    assert_eq!(err.path(), path);

    for threads in [1, 2, 4] {
        let path = make(&format!("stats-{threads}.dat"));
        let scan = Scan::open(&path).unwrap();
        truncate(&path);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let err = pool.install(|| Stats::of_scan(&scan, |_| {})).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { at, .. } if at == cut),
            "{threads} threads: {err:?}"
        );
    }

    let path = make("convert.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let src = unsafe { Source::open(&path) }.unwrap();
    truncate(&path);
    let dst = dir.path().join("out.dat");
    let mut options = ConvertOptions::new();
    options.element_type(ElementType::F16);
    let err = mmarray::convert_source(&src, &dst, &options, |_| {}).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { at, .. } if at == cut),
        "{err:?}"
    );
    assert!(!dst.exists(), "no partial output is left");
}

/// The reader yields whole elements, decoded from the other byte order
/// and checked (bools), with the element index of a bad byte.
#[test]
fn the_reader_decodes_and_checks_elements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.dat");
    let x = Array1::from_iter((0..600_000).map(|i| i as f64 - 1.5));
    CreateOptions::new()
        .byte_order(ByteOrder::Big)
        .order(Order::C)
        .write(&path, &x)
        .unwrap();
    let scan = Scan::open(&path).unwrap();
    let mut reader = scan.reader();
    let mut all = Vec::new();
    while let Some(block) = reader.next_elements::<f64>().unwrap() {
        assert!(block.len() * 8 <= mmarray::BLOCK_BYTES);
        all.extend_from_slice(block);
    }
    assert_eq!(all, x.to_vec());
    assert!(matches!(
        scan.reader().next_elements::<f32>(),
        Err(Error::DtypeMismatch { .. })
    ));

    let bools = dir.path().join("b.dat");
    CreateOptions::new()
        .write(&bools, &Array1::from_elem(2_000_000, true))
        .unwrap();
    let mut bytes = std::fs::read(&bools).unwrap();
    bytes[1_500_000] = 7;
    std::fs::write(&bools, bytes).unwrap();
    let scan = Scan::open(&bools).unwrap();
    let mut reader = scan.reader();
    let from_reader = loop {
        match reader.next_elements::<bool>() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("a bad bool was let through"),
            Err(e) => break e,
        }
    };
    let from_stats = Stats::of_path(&bools, |_| {}).unwrap_err();
    for err in [from_reader, from_stats] {
        assert!(
            matches!(
                err,
                Error::InvalidBool {
                    index: 1_500_000,
                    byte: 7,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

/// A memory order change of an array too large to read whole (over
/// 64 MiB) goes tile by tile with `pread`/`pwrite`: the result holds the
/// same array, in the other order, with the element type converted.
#[test]
fn a_large_order_change_streams_in_tiles_and_keeps_every_element() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("c.dat");
    // 4,353 x 4,099 u32: 68 MiB, both extents off the 1,024-element tiles.
    let (rows, cols) = (4353usize, 4099usize);
    let array = ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| (i * cols + j) as u32);
    CreateOptions::new().write(&src, &array).unwrap();
    let dst = dir.path().join("f.npy");
    let mut options = ConvertOptions::new();
    options.order(Order::F).element_type(ElementType::F64);
    let info = mmarray::convert(&src, &dst, &options, |_| {}).unwrap();
    assert_eq!(info.layout().order(), Order::F);
    let back = mmarray::read_array::<f64>(&dst).unwrap();
    assert_eq!(back, array.mapv(f64::from).into_dyn());
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { mmarray::MappedArray::<f64>::open(&dst) }.unwrap();
    // In memory order, column 1 follows column 0.
    assert_eq!(a.as_slice()[rows], 1.0);
}

/// A float32 array of `n` values that are not all alike, written at
/// `path`; gives the values.
fn wave_file(path: &std::path::Path, n: usize) -> Vec<f32> {
    let x: Vec<f32> = (0..n)
        .map(|i| ((i as f64) * 0.001).sin() as f32 * 1e3 + 5.0)
        .collect();
    CreateOptions::new()
        .write(path, &Array1::from(x.clone()))
        .unwrap();
    x
}

#[cfg(target_os = "linux")]
#[test]
fn a_leased_scan_maps_and_equals_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    let x = wave_file(&path, 5 << 20); // 20 MiB: 5 leased blocks
    let want = bits(&Stats::compute(&x, |_| {}));
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let counted = std::sync::atomic::AtomicUsize::new(0);
        let s = pool
            .install(|| {
                Stats::of_path(&path, |n| {
                    counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                })
            })
            .unwrap();
        assert_eq!(s.read, ReadPath::Leased, "{threads} threads");
        assert_eq!(bits(&s), want, "{threads} threads");
        assert_eq!(counted.into_inner(), x.len(), "progress adds up");
    }
    // Small arrays are not worth a lease.
    let small = dir.path().join("small.dat");
    wave_file(&small, 1000);
    let s = Stats::of_path(&small, |_| {}).unwrap();
    assert_eq!(s.read, ReadPath::Streamed(NoLease::Small));
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_open_for_writing_elsewhere_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dat");
    let x = wave_file(&path, 2 << 20);
    let writer = OpenOptions::new().write(true).open(&path).unwrap();
    let s = Stats::of_path(&path, |_| {}).unwrap();
    assert_eq!(s.read, ReadPath::Streamed(NoLease::WriterOpen));
    assert_eq!(bits(&s), bits(&Stats::compute(&x, |_| {})));
    drop(writer);
    let s = Stats::of_path(&path, |_| {}).unwrap();
    assert_eq!(s.read, ReadPath::Leased, "the lease is free again");
}

/// Runs a leased scan of `path` on `threads` threads, slowed down by its
/// progress callback, and calls `writer` once the scan is under way (from
/// this thread, while the scan runs on another). Gives the scan's result
/// and how long `writer` took (it waits for the lease to be let go).
#[cfg(target_os = "linux")]
fn write_during_scan(
    path: &std::path::Path,
    threads: usize,
    writer: impl FnOnce(),
) -> (mmarray::Result<Stats>, std::time::Duration) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let seen = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let scan = s.spawn(|| {
            pool.install(|| {
                Stats::of_path(path, |n| {
                    seen.fetch_add(n, Relaxed);
                    // Slow enough that the writer comes mid-scan.
                    std::thread::sleep(std::time::Duration::from_millis(20));
                })
            })
        });
        while seen.load(Relaxed) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let started = std::time::Instant::now();
        writer();
        let waited = started.elapsed();
        (scan.join().unwrap(), waited)
    })
}

#[cfg(target_os = "linux")]
#[test]
fn a_writer_mid_scan_breaks_the_lease_and_the_scan_finishes_with_pread() {
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2] {
        let path = dir.path().join(format!("b{threads}.dat"));
        let x = wave_file(&path, 16 << 20); // 64 MiB: 16 blocks
        let (s, waited) = write_during_scan(&path, threads, || {
            // Opened for writing, not written: the bytes stay the same.
            drop(OpenOptions::new().write(true).open(&path).unwrap());
        });
        let s = s.unwrap();
        assert!(
            matches!(s.read, ReadPath::LeaseBroken { at } if at > 0 && at < 64 << 20),
            "{threads} threads: {:?}",
            s.read
        );
        assert_eq!(bits(&s), bits(&Stats::compute(&x, |_| {})));
        // The kernel would have given up on the lease after
        // /proc/sys/fs/lease-break-time (45 s): the scan let go first.
        assert!(waited.as_secs() < 10, "the writer waited {waited:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_truncated_during_a_leased_scan_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2] {
        let path = dir.path().join(format!("t{threads}.dat"));
        wave_file(&path, 16 << 20);
        let cut = (40 << 20) + 1000;
        let (s, waited) = write_during_scan(&path, threads, || {
            let file = OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(cut).unwrap();
        });
        let err = s.unwrap_err();
        assert!(
            matches!(err, Error::Truncated { at, .. } if at == cut),
            "{threads} threads: {err:?}"
        );
        assert!(waited.as_secs() < 10, "the truncation waited {waited:?}");
    }
}

/// Without `CAP_LEASE` and not the file's owner, no lease: the scan
/// streams. The file is given to `nobody` (65534) and this test binary
/// run again under `unshare --user`: the child keeps its user id (root's,
/// outside the namespace: not the owner) but its capabilities now hold in
/// the new namespace only, and a lease asks for `CAP_LEASE` in the
/// initial one. Needs root (to give the file away) and `unshare`; says so
/// and passes where either is missing.
#[cfg(target_os = "linux")]
#[test]
fn a_file_this_process_may_not_lease_is_streamed() {
    const CHILD: &str = "MMARRAY_TEST_LEASE_CHILD";
    if let Some(path) = std::env::var_os(CHILD) {
        // The child, in the user namespace.
        let s = Stats::of_path(&path, |_| {}).unwrap();
        assert_eq!(s.read, ReadPath::Streamed(NoLease::NotOwner));
        println!("child-ok {}", bits(&s));
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("n.dat");
    let x = wave_file(&path, 2 << 20);
    if std::os::unix::fs::chown(&path, Some(65534), Some(65534)).is_err() {
        eprintln!("skipped: only root can give the file to another user");
        return;
    }
    if !std::process::Command::new("unshare")
        .args(["--user", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: `unshare --user` is not available here");
        return;
    }
    let out = std::process::Command::new("unshare")
        .arg("--user")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_file_this_process_may_not_lease_is_streamed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("child-ok {}", bits(&Stats::compute(&x, |_| {})));
    assert!(stdout.contains(&want), "{stdout}");
}

/// mmarray's own writers (which open with `O_NONBLOCK`, so that a FIFO
/// never hangs them) get `EWOULDBLOCK` from the kernel while a scan holds
/// its lease: they wait it out (the scan lets go at once) instead of
/// failing: an `Appender` and a read-write mapping, mid-scan.
#[cfg(target_os = "linux")]
#[test]
fn mmarrays_own_writers_wait_out_a_leased_scan_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    for (k, writer) in ["appender", "open_mut"].into_iter().enumerate() {
        // A raw array with a sidecar, so that an Appender may open it.
        let raw = dir.path().join(format!("r{k}.dat"));
        let values: Vec<f32> = (0..16 << 20).map(|i| (i % 1000) as f32).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&raw, &bytes).unwrap();
        std::fs::write(
            mmarray::sidecar_path(&raw),
            format!(
                r#"{{"version": 1, "dtype": "<f4", "shape": [{}]}}"#,
                values.len()
            ),
        )
        .unwrap();
        let (s, waited) = write_during_scan(&raw, 1, || match writer {
            "appender" => drop(mmarray::Appender::<f32>::open(&raw).unwrap()),
            // SAFETY: the test's own file; the mapping is dropped at once
            // and writes nothing.
            _ => drop(unsafe { mmarray::MappedArray::<f32>::open_mut(&raw) }.unwrap()),
        });
        let s = s.unwrap();
        assert!(
            matches!(s.read, ReadPath::LeaseBroken { .. }),
            "{writer}: {:?}",
            s.read
        );
        assert_eq!(bits(&s), bits(&Stats::compute(&values, |_| {})));
        assert!(waited.as_secs() < 10, "{writer} waited {waited:?}");
    }
}
