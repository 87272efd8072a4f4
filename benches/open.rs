//! Opening is O(1) in file size: open + read the last element of a 4 KiB
//! array and of a 64 GiB sparse array (files made by `create`, i.e. sparse
//! via `set_len`; the page cache holds only the touched pages).
//!
//! ```sh
//! cargo bench --bench open
//! ```

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

criterion_group!(benches, open_and_read_last);
criterion_main!(benches);
