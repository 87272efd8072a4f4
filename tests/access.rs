//! Access advice, populate, releasing pages, and the parallel iteration
//! helpers: what they do to residency, and that they never change what a
//! view reads.

use std::path::Path;

use mmarray::{Access, Error, MappedArray};
#[cfg(feature = "parallel")]
use mmarray::{CreateOptions, Order};
#[cfg(feature = "parallel")]
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
#[cfg(feature = "parallel")]
use rayon::prelude::*;

const ALL_ACCESS: [Access; 6] = [
    Access::Normal,
    Access::Sequential,
    Access::Random,
    Access::WillNeed,
    Access::HugePages,
    Access::NoHugePages,
];

/// Resident bytes of the mapping of `path` in this process, from
/// `/proc/self/smaps` (the `Rss:` line of the mapping's region).
fn resident_bytes(path: &Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let name = path.to_str().unwrap();
    let mut in_region = false;
    let mut total = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A region header: "start-end perms offset dev inode path".
            in_region = line.ends_with(name);
        } else if in_region && first == "Rss:" {
            let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            total += kb * 1024;
        }
    }
    total
}

fn filled(path: &Path, len: usize) -> Vec<u32> {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<u32>::create(path, &[len]) }.unwrap();
    let values: Vec<u32> = (0..len as u32)
        .map(|i| i.wrapping_mul(2_654_435_761))
        .collect();
    w.as_slice_mut().copy_from_slice(&values);
    w.flush().unwrap();
    values
}

#[test]
fn advice_never_changes_what_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    let values = filled(&path, 1 << 20);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u32>::open(&path) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let rw = unsafe { MappedArray::<u32>::open_shared_mut(&path) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let c = unsafe { MappedArray::<u32>::open_copy(&path) }.unwrap();
    for access in ALL_ACCESS {
        for result in [
            r.advise(access),
            rw.advise(access),
            c.advise(access),
            r.advise_range(access, 1000..70_000),
            c.advise_range(access, 5..6),
            r.advise_range(access, 0..0),
        ] {
            match result {
                Ok(()) => {}
                // Huge pages are a kernel build option: refusing is allowed,
                // as a typed error naming the file.
                Err(Error::Io { path: p, .. })
                    if matches!(access, Access::HugePages | Access::NoHugePages) =>
                {
                    assert_eq!(p, path)
                }
                Err(e) => panic!("{access:?}: {e}"),
            }
        }
        assert_eq!(r.as_slice(), &values[..], "{access:?}");
        assert_eq!(c.as_slice(), &values[..], "{access:?}");
    }
    r.populate().unwrap();
    c.populate().unwrap();
    assert_eq!(r.as_slice(), &values[..]);
}

#[test]
fn ranges_past_the_end_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    filled(&path, 100);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u32>::open(&path) }.unwrap();
    #[allow(clippy::reversed_empty_ranges)] // a reversed range is one of the cases
    for range in [0..101, 100..101, 50..40] {
        match r.advise_range(Access::WillNeed, range.clone()) {
            Err(Error::InvalidArgument { path: p, message }) => {
                assert_eq!(p, path);
                assert!(
                    message.contains("outside the array's 100 elements"),
                    "{message}"
                );
            }
            other => panic!("{range:?}: {other:?}"),
        }
        assert!(matches!(
            r.release_range(range),
            Err(Error::InvalidArgument { .. })
        ));
    }
    r.advise_range(Access::Random, 100..100).unwrap();
    r.release_range(0..100).unwrap();
}

#[test]
fn populate_makes_pages_resident_and_release_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resident.dat");
    let len = 16 << 20; // 64 MiB of u32
    let values = filled(&path, len);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u32>::open(&path) }.unwrap();
    assert!(resident_bytes(&path) < 8 << 20, "fresh mapping");
    r.populate().unwrap();
    let full = resident_bytes(&path);
    assert!(full >= 60 << 20, "after populate: {full}");

    // Release the first half: resident memory halves, the data does not.
    r.release_range(0..len / 2).unwrap();
    let half = resident_bytes(&path);
    assert!(
        half <= (full / 2) + (1 << 20),
        "after releasing half: {half} of {full}"
    );
    r.release().unwrap();
    assert!(resident_bytes(&path) < 1 << 20);
    assert_eq!(
        r.as_slice(),
        &values[..],
        "released pages read back the same"
    );
}

#[test]
fn releasing_a_read_write_mapping_keeps_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rw.dat");
    let len = 1 << 20;
    filled(&path, len);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<u32>::open_mut(&path) }.unwrap();
    w.as_slice_mut().iter_mut().for_each(|x| *x = !*x);
    let written = w.as_slice().to_vec();
    // Not flushed: the dirty pages live only in the page cache.
    w.release().unwrap();
    assert_eq!(w.as_slice(), &written[..]);
    drop(w);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u32>::open(&path) }.unwrap();
    assert_eq!(
        r.as_slice(),
        &written[..],
        "another mapping sees the writes"
    );
}

#[cfg(feature = "parallel")]
/// A shape's elements in memory order, value = index, as an ndarray.
fn indexed(shape: &[usize], order: Order) -> ArrayD<u32> {
    let n: usize = shape.iter().product();
    let shape = IxDyn(shape).set_f(order == Order::F);
    ArrayD::from_shape_vec(shape, (0..n as u32).collect()).unwrap()
}

#[cfg(feature = "parallel")]
#[test]
fn par_outer_splits_along_the_slowest_axis() {
    let dir = tempfile::tempdir().unwrap();
    for order in [Order::C, Order::F] {
        for shape in [
            &[][..],
            &[7][..],
            &[5, 3][..],
            &[4, 0, 2][..],
            &[3, 4, 5][..],
            &[0, 3][..],
        ] {
            let path = dir.path().join(format!("{order:?}{}.dat", shape.len()));
            let expected = indexed(shape, order);
            {
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let mut w = unsafe {
                    CreateOptions::new()
                        .order(order)
                        .overwrite(true)
                        .create::<u32>(&path, shape)
                }
                .unwrap();
                // Fill through par_outer_mut, piece by piece.
                let pieces = w.par_outer_mut().count();
                let outer = match (shape.len(), order) {
                    (0, _) => 1,
                    (_, Order::C) => shape[0],
                    (n, _) => shape[n - 1],
                };
                assert_eq!(pieces, outer, "{order:?} {shape:?}");
                let axis = (order == Order::F) as usize * shape.len().saturating_sub(1);
                w.par_outer_mut().enumerate().for_each(|(i, mut piece)| {
                    if shape.is_empty() {
                        piece.assign(&expected);
                    } else {
                        piece.assign(&expected.index_axis(ndarray::Axis(axis), i));
                    }
                });
                w.flush().unwrap();
            }
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            let r = unsafe { MappedArray::<u32>::open(&path) }.unwrap();
            assert_eq!(r.view(), expected.view(), "{order:?} {shape:?}");
            // In memory order the file holds 0, 1, 2, ...
            assert!(r.as_slice().iter().enumerate().all(|(i, &x)| x == i as u32));
            // Read back through par_outer: each piece is contiguous and the
            // pieces come in memory order.
            let pieces: Vec<Vec<u32>> = r
                .par_outer()
                .map(|p| {
                    let slice = p.as_slice_memory_order().expect("contiguous piece");
                    slice.to_vec()
                })
                .collect();
            let flat: Vec<u32> = pieces.concat();
            assert_eq!(flat, r.as_slice(), "{order:?} {shape:?}");
        }
    }
}

#[cfg(feature = "parallel")]
#[test]
fn par_chunks_cover_memory_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunks.dat");
    let len = 1_000_003;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<u64>::create(&path, &[len]) }.unwrap();
    let chunk = 4096;
    w.par_chunks_mut(chunk).enumerate().for_each(|(c, xs)| {
        for (i, x) in xs.iter_mut().enumerate() {
            *x = (c * chunk + i) as u64;
        }
    });
    w.flush().unwrap();
    drop(w);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    let sum: u64 = r.par_chunks(10_000).map(|xs| xs.iter().sum::<u64>()).sum();
    assert_eq!(sum, (len as u64 - 1) * len as u64 / 2);
    assert_eq!(r.par_chunks(10_000).count(), len.div_ceil(10_000));
}
