//! Opening is O(1) in file size: open + read the last element of a 4 KiB
//! array and of a 64 GiB sparse array (files made by `create`, i.e. sparse
//! via `set_len`; the page cache holds only the touched pages). And views
//! are O(1) for every element type: `view()` of a 1 GiB `bool` array, which
//! re-checked every byte before the mapping contract made a check at open
//! enough (issue 21).
//!
//! ```sh
//! cargo bench --bench open
//! ```
//!
//! The file compiles against the crate before issue 21 too (its mapping
//! constructors were safe then; `unsafe {}` around them only warns), so
//! the same benchmark measures both sides.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use mmarray::MappedArray;

fn open_and_read_last(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut group = c.benchmark_group("open + read last element");
    for (name, rows) in [("4 KiB", 1usize), ("64 GiB", 64 << 30 >> 12)] {
        let path = dir.path().join(format!("{rows}.dat"));
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f32>::create(&path, &[rows, 1024]) }.expect("create");
        group.bench_function(name, |b| {
            b.iter(|| {
                // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
                let a = unsafe { MappedArray::<f32>::open(black_box(&path)) }.expect("open");
                black_box(a.as_slice()[a.len() - 1])
            })
        });
    }
    group.finish();
}

fn bool_view(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("flags.dat");
    // 1 GiB of `false` (a sparse file reads as zeros), read in once.
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<bool>::create(&path, &[1 << 30]) }.expect("create"));
    // SAFETY: as above.
    let a = unsafe { MappedArray::<bool>::open(&path) }.expect("open");
    a.populate().expect("populate");
    let mut group = c.benchmark_group("bool view");
    group.sample_size(10);
    group.bench_function("view() of 1 GiB + one element", |b| {
        b.iter(|| black_box(a.view()[black_box(12_345)]))
    });
    group.finish();
}

criterion_group!(benches, open_and_read_last, bool_view);
criterion_main!(benches);
