//! Appending rows: 131,072 rows of 128 f32 (64 MiB) in batches of 1,024,
//! committing the length (msync + atomic sidecar rewrite) after every batch
//! or only at the end. The file starts empty and grows geometrically. And
//! the same rows through an [`Appender`] (pwrite, no mapping), publishing
//! after every batch or once at the end.
//!
//! ```sh
//! cargo bench --bench append
//! ```

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use mmarray::{Appender, CreateOptions, MappedArray};
use ndarray::Array2;

const COLS: usize = 128;
const BATCH: usize = 1024;
const BATCHES: usize = 128;

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let batch = Array2::from_shape_fn((BATCH, COLS), |(r, c)| (r * COLS + c) as f32);
    let mut group = c.benchmark_group("append 64 MiB in batches of 1024 rows");
    group.throughput(Throughput::Bytes((BATCH * BATCHES * COLS * 4) as u64));
    group.sample_size(10);
    for (name, commit_each) in [("commit every batch", true), ("commit at the end", false)] {
        let path = dir.path().join("a.dat");
        group.bench_function(name, |b| {
            b.iter(|| {
                // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
                let mut a: MappedArray<f32, _> = unsafe {
                    CreateOptions::new()
                        .overwrite(true)
                        .create::<f32>(&path, &[0, COLS])
                }
                .expect("create");
                for _ in 0..BATCHES {
                    a.append(black_box(&batch)).expect("append");
                    if commit_each {
                        a.commit().expect("commit");
                    }
                }
                a.commit().expect("commit");
            })
        });
    }
    for (name, publish_each) in [
        ("Appender, publish every batch", true),
        ("Appender, publish at the end", false),
    ] {
        let path = dir.path().join("b.dat");
        group.bench_function(name, |b| {
            b.iter(|| {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(dir.path().join("b.dat.json"));
                let mut log = Appender::<f32>::create(&path, &[COLS]).expect("create");
                for _ in 0..BATCHES {
                    log.append(black_box(&batch)).expect("append");
                    if publish_each {
                        log.publish().expect("publish");
                    }
                }
                log.publish().expect("publish");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
