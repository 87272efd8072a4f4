//! Full scans of 256 MiB of f32 on one thread, in the same run: the in-RAM
//! `Vec` sum (16 lanes per block, blocks added in f64: the memory-bandwidth
//! reference), the same sum over a mapped array, and `Stats::compute` over
//! the mapped array. The file is written by `create` + one `fill` through the
//! mapping and read back warm from the page cache.
//!
//! ```sh
//! cargo bench --bench scan
//! ```
//!
//! Run with `RAYON_NUM_THREADS=1` to keep `Stats::compute` on one thread.

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use mmarray::{MappedArray, Stats};

const LEN: usize = 64 << 20; // 256 MiB of f32

/// Sum in 16 f32 lanes per 64 KiB block, blocks added in f64.
fn lane_sum(xs: &[f32]) -> f64 {
    xs.chunks(16 << 10)
        .map(|block| {
            let mut lanes = [0f32; 16];
            for c in block.chunks_exact(16) {
                for (l, &x) in lanes.iter_mut().zip(c) {
                    *l += x;
                }
            }
            let tail: f32 = block.chunks_exact(16).remainder().iter().sum();
            lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + f64::from(tail)
        })
        .sum()
}

fn scans(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("scan.dat");
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<f32>::create(&path, &[LEN]) }.expect("create");
    for (i, x) in w.as_slice_mut().iter_mut().enumerate() {
        *x = (i % 1000) as f32 * 0.5;
    }
    w.flush().expect("flush");
    drop(w);
    let vec: Vec<f32> = (0..LEN).map(|i| (i % 1000) as f32 * 0.5).collect();
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    let mapped = unsafe { MappedArray::<f32>::open(&path) }.expect("open");

    let mut group = c.benchmark_group("scan 256 MiB f32");
    group.throughput(Throughput::Bytes((LEN * 4) as u64));
    group.sample_size(10);
    group.bench_function("Vec lane sum (reference)", |b| {
        b.iter(|| lane_sum(black_box(&vec)))
    });
    group.bench_function("mapped lane sum", |b| {
        b.iter(|| lane_sum(black_box(mapped.as_slice())))
    });
    group.bench_function("Vec Stats::compute", |b| {
        b.iter(|| Stats::compute(black_box(&vec), |_| {}))
    });
    group.bench_function("mapped Stats::compute", |b| {
        b.iter(|| Stats::compute(black_box(mapped.as_slice()), |_| {}))
    });
    group.finish();
}

criterion_group!(benches, scans);
criterion_main!(benches);
