//! mmarray against the tools a user would pick instead, on the same files
//! in one run: memmap2 over the raw file, an in-RAM `Vec`, ndarray-npy,
//! `std::fs::read`, and numpy (timed inside Python, through the `python3`
//! in `MMARRAY_PYTHON`, `target/pyenv` or `PATH`). Prints a table of medians
//! and ratios, also written as Markdown to `target/compare.md`.
//!
//! ```sh
//! cargo bench --bench compare                          # 1 GiB files
//! MMARRAY_BENCH_GIB=4 cargo bench --bench compare      # 4 GiB files
//! MMARRAY_BENCH_ONLY=stream cargo bench --bench compare  # leased vs pread vs mapped only
//! MMARRAY_BENCH_ONLY=kernel cargo bench --bench compare  # the kernel over Vecs only
//! ```
//!
//! The group "stats, leased vs pread vs mapped" (issues 16 and 23) times
//! the same stats kernel over a mapping (`Stats::of_source`), through a
//! mapping under a read lease (`Stats::of_path`) and reading the file with
//! `pread` (`Stats::of_path` while a writer holds the file open), on one
//! thread and on all, warm and cold: cold repetitions first drop the
//! file's pages from the page cache (`posix_fadvise(POSIX_FADV_DONTNEED)`
//! on the clean, synced file; no root needed). The group "stats kernel
//! over a Vec" (issue 23, `MMARRAY_BENCH_ONLY=kernel`) times the kernel
//! against a lane sum over in-RAM `Vec`s of each type, with the form of
//! the kernel this CPU picks and with the AVX2 form forced.
//!
//! Under `cargo test` (no `--bench` argument) it runs every case once on
//! 4 MiB files, as a check that the program and its numpy side work.
//!
//! How the files are made, since it decides the page-cache state:
//! `scan.dat` / `scan.npy` are written with 8 MiB `write` calls (the page
//! cache then holds them in large folios, like files written by numpy or
//! read back by read-ahead); `small.dat` is written with 64 KiB writes
//! (small folios: many more page faults per mapped scan). All reads are
//! warm: every file is read once before it is timed. `huge.dat` is a sparse
//! 64 GiB file, `tiny.dat` a 4 KiB one.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use memmap2::{Mmap, MmapMut};
use mmarray::{CreateOptions, Format, MappedArray, Stats};
use ndarray::{ArrayView1, Ix1};
use ndarray_npy::{ReadNpyExt, ViewNpyExt};
use rayon::prelude::*;

/// Sum in 16 f32 lanes per 64 KiB block, blocks added in f64: the scan
/// every contender runs, so that only where the bytes come from differs.
fn lane_sum(xs: &[f32]) -> f64 {
    xs.chunks(16 << 10)
        .map(|block| {
            let mut lanes = [0f32; 16];
            let (groups, rest) = block.as_chunks::<16>();
            for group in groups {
                for (l, &x) in lanes.iter_mut().zip(group) {
                    *l += x;
                }
            }
            let tail: f32 = rest.iter().sum();
            lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + f64::from(tail)
        })
        .sum()
}

/// The parallel form: 4 MiB per task.
fn par_lane_sum(xs: &[f32]) -> f64 {
    xs.par_chunks(1 << 20).map(lane_sum).sum()
}

fn value(i: usize) -> f32 {
    (i % 1000) as f32 * 0.5
}

struct Config {
    full: bool,
    /// f32 elements in the scan and write files.
    len: usize,
    reps: usize,
    open_reps: usize,
    append_rows: usize,
}

struct Row {
    group: &'static str,
    case: String,
    median: Duration,
    bytes: Option<u64>,
    /// The case this row is compared with, in the same group, and what the
    /// ratio means.
    versus: Option<(&'static str, Ratio)>,
}

#[derive(Clone, Copy)]
enum Ratio {
    /// reference time / this time: above 1 means this is faster.
    Speedup,
    /// this time / reference time: above 1 means this is slower.
    Slowdown,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn add(&mut self, group: &'static str, case: impl Into<String>, median: Duration) -> &mut Row {
        self.rows.push(Row {
            group,
            case: case.into(),
            median,
            bytes: None,
            versus: None,
        });
        self.rows.last_mut().unwrap()
    }

    fn median(&self, group: &str, case: &str) -> Option<Duration> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.case == case)
            .map(|r| r.median)
    }

    fn render(&self) -> String {
        let mut out =
            String::from("| group | case | median | GB/s | ratio |\n|---|---|---:|---:|---|\n");
        for row in &self.rows {
            let gbs = row
                .bytes
                .map(|b| format!("{:.2}", b as f64 / row.median.as_secs_f64() / 1e9))
                .unwrap_or_default();
            let ratio = row
                .versus
                .and_then(|(case, kind)| {
                    let reference = self.median(row.group, case)?.as_secs_f64();
                    let this = row.median.as_secs_f64();
                    Some(match kind {
                        Ratio::Speedup if reference >= this => {
                            format!("{:.2}x faster than {case}", reference / this)
                        }
                        Ratio::Speedup => format!("{:.2}x slower than {case}", this / reference),
                        Ratio::Slowdown => format!("{:.2}x the time of {case}", this / reference),
                    })
                })
                .unwrap_or_default();
            out += &format!(
                "| {} | {} | {} | {} | {} |\n",
                row.group,
                row.case,
                human(row.median),
                gbs,
                ratio
            );
        }
        out
    }
}

impl Row {
    fn bytes(&mut self, bytes: usize) -> &mut Self {
        self.bytes = Some(bytes as u64);
        self
    }
    fn versus(&mut self, case: &'static str, kind: Ratio) -> &mut Self {
        self.versus = Some((case, kind));
        self
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.2} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// The median time of `reps` runs of `f`, each after `setup` (untimed).
fn median_of<S, T>(
    reps: usize,
    mut setup: impl FnMut() -> S,
    mut f: impl FnMut(S) -> T,
) -> Duration {
    let mut times: Vec<Duration> = (0..reps.max(1))
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            black_box(f(input));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn time<T>(reps: usize, f: impl FnMut(()) -> T) -> Duration {
    median_of(reps, || (), f)
}

/// Writes `len` f32 values to `file` from its current position in writes of
/// `write_bytes`.
fn write_values(file: &mut File, len: usize, write_bytes: usize) {
    let per_write = write_bytes / 4;
    let mut buf: Vec<u8> = Vec::with_capacity(write_bytes);
    let mut i = 0;
    while i < len {
        buf.clear();
        for j in i..(i + per_write).min(len) {
            buf.extend_from_slice(&value(j).to_ne_bytes());
        }
        file.write_all(&buf).expect("write");
        i += per_write;
    }
}

/// Creates an mmarray array at `path` (raw + sidecar, or `.npy`) and
/// rewrites its data with `write_bytes`-sized writes.
fn make_array(path: &Path, len: usize, format: Format, write_bytes: usize) {
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe {
        CreateOptions::new()
            .format(format)
            .overwrite(true)
            .create::<f32>(path, &[len])
    }
    .expect("create");
    let offset = a.layout().offset();
    drop(a);
    let mut file = OpenOptions::new().write(true).open(path).expect("open");
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).expect("seek");
    write_values(&mut file, len, write_bytes);
    file.sync_all().expect("sync");
}

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MMARRAY_PYTHON").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The numpy side: each case timed inside Python with `perf_counter`,
/// medians printed as JSON.
const NUMPY_SIDE: &str = r#"
import json, os, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
def med(f, reps, setup=lambda: None):
    ts = []
    for _ in range(max(reps, 1)):
        setup()
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]
out = {}
out["open"] = med(lambda: np.memmap(cfg["huge"], dtype=np.float32, mode="r")[-1], cfg["open_reps"])
np.memmap(cfg["scan"], dtype=np.float32, mode="r").sum()
out["memmap_sum"] = med(lambda: np.memmap(cfg["scan"], dtype=np.float32, mode="r").sum(), cfg["reps"])
out["fromfile_sum"] = med(lambda: np.fromfile(cfg["scan"], dtype=np.float32).sum(), cfg["reps"])
def remove():
    if os.path.exists(cfg["write"]):
        os.remove(cfg["write"])
def write():
    a = np.memmap(cfg["write"], dtype=np.float32, mode="w+", shape=(cfg["len"],))
    a.fill(1.5)
    a.flush()
    del a
out["write"] = med(write, cfg["write_reps"], remove)
remove()
print(json.dumps(out))
"#;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let gib: f64 = std::env::var("MMARRAY_BENCH_GIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let config = if full {
        Config {
            full,
            len: (gib * (1u64 << 30) as f64 / 4.0) as usize,
            reps: 7,
            open_reps: 201,
            append_rows: 1 << 20,
        }
    } else {
        Config {
            full,
            len: 1 << 20,
            reps: 1,
            open_reps: 3,
            append_rows: 4096,
        }
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let table = run(&config, dir.path());
    let rendered = table.render();
    println!("\n{rendered}");
    if full {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compare.md");
        let _ = fs::write(&out, &rendered);
        println!("(also written to {})", out.display());
    }
}

fn run(config: &Config, dir: &Path) -> Table {
    let mut t = Table::default();
    let len = config.len;
    let bytes = len * 4;
    let path = |name: &str| dir.join(name);
    eprintln!(
        "files: {} MiB of f32; {} threads",
        bytes >> 20,
        rayon::current_num_threads()
    );

    match std::env::var("MMARRAY_BENCH_ONLY").as_deref() {
        Ok("stream") => {
            make_array(&path("scan.dat"), len, Format::Raw, 8 << 20);
            stream_group(&mut t, config, &path("scan.dat"), bytes);
            return t;
        }
        Ok("kernel") => {
            kernel_group(&mut t, config);
            return t;
        }
        _ => {}
    }

    // Files.
    make_array(&path("scan.dat"), len, Format::Raw, 8 << 20);
    make_array(&path("small.dat"), len, Format::Raw, 64 << 10);
    make_array(&path("scan.npy"), len, Format::Npy, 8 << 20);
    let huge_len = (64usize << 30) / 4;
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<f32>::create(path("huge.dat"), &[huge_len]) }.expect("huge"));
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<f32>::create(path("tiny.dat"), &[1024]) }.expect("tiny"));
    for name in ["scan.dat", "small.dat", "scan.npy"] {
        black_box(fs::read(path(name)).expect("warm"));
    }

    // numpy, first, so that its files are warm and its writes done.
    let numpy = python().map(|py| {
        let cfg = serde_json::json!({
            "huge": path("huge.dat"), "scan": path("scan.dat"), "write": path("np-write.dat"),
            "len": len, "reps": config.reps, "open_reps": config.open_reps,
            "write_reps": if config.full { 3 } else { 1 },
        });
        let out = Command::new(&py)
            .args(["-c", NUMPY_SIDE, &cfg.to_string()])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "numpy side: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("numpy json");
        move |key: &str| Duration::from_secs_f64(v[key].as_f64().expect("numpy time"))
    });
    if numpy.is_none() {
        eprintln!("numpy not found: its rows are left out");
    }

    // 1. Open + map + read the last element.
    let g = "open + last element";
    let open_last = |p: PathBuf| {
        move |()| {
            // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
            let a = unsafe { MappedArray::<f32>::open(&p) }.expect("open");
            a.as_slice()[a.len() - 1]
        }
    };
    let d = time(config.open_reps, open_last(path("tiny.dat")));
    t.add(g, "mmarray 4 KiB", d);
    let d = time(config.open_reps, open_last(path("huge.dat")));
    t.add(g, "mmarray 64 GiB (sidecar + map)", d)
        .versus("mmarray 4 KiB", Ratio::Slowdown);
    let huge = path("huge.dat");
    let d = time(config.open_reps, |()| {
        let file = File::open(&huge).expect("open");
        // SAFETY: the benchmark's own file, not modified while mapped.
        let map = unsafe { Mmap::map(&file) }.expect("map");
        let xs: &[f32] = bytemuck::cast_slice(&map[..]);
        xs[xs.len() - 1]
    });
    t.add(g, "memmap2 64 GiB (map only)", d);
    if let Some(np) = &numpy {
        t.add(g, "np.memmap 64 GiB", np("open"))
            .versus("mmarray 64 GiB (sidecar + map)", Ratio::Speedup);
    }

    // 2. Full scans, warm, large folios.
    let g = "scan, large folios";
    let vec: Vec<f32> = (0..len).map(value).collect();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let reference = "Vec lane sum, 1 thread";
    let d = time(config.reps, |()| lane_sum(&vec));
    t.add(g, reference, d).bytes(bytes);
    // The exact (f64-accumulated) one-pass summary over the same memory.
    let d = time(config.reps, |()| {
        one_thread.install(|| Stats::compute(&vec, |_| {}))
    });
    t.add(g, "Vec Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let scan = path("scan.dat");
    let d = time(config.reps, |()| {
        let file = File::open(&scan).expect("open");
        // SAFETY: as above.
        let map = unsafe { Mmap::map(&file) }.expect("map");
        lane_sum(bytemuck::cast_slice(&map[..]))
    });
    t.add(g, "memmap2 map + lane sum, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        lane_sum(
            unsafe { MappedArray::<f32>::open(&scan) }
                .expect("open")
                .as_slice(),
        )
    });
    t.add(g, "mmarray open + lane sum, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<f32>::open(&scan) }.expect("open");
        one_thread.install(|| Stats::compute(a.as_slice(), |_| {}))
    });
    t.add(g, "mmarray open + Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| par_lane_sum(&vec));
    t.add(g, "Vec lane sum, all threads", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<f32>::open(&scan) }.expect("open");
        a.par_chunks(1 << 20).map(lane_sum).sum::<f64>()
    });
    t.add(g, "mmarray open + par_chunks lane sum", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        Stats::of_path(&scan, |_| {}).expect("stats")
    });
    t.add(g, "mmarray Stats::of_path, all threads", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        let raw = fs::read(&scan).expect("read");
        lane_sum(bytemuck::cast_slice(&raw))
    });
    t.add(g, "fs::read + lane sum", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    if let Some(np) = &numpy {
        t.add(g, "np.memmap(...).sum()", np("memmap_sum"))
            .bytes(bytes)
            .versus(reference, Ratio::Speedup);
        t.add(g, "np.fromfile(...).sum()", np("fromfile_sum"))
            .bytes(bytes)
            .versus(reference, Ratio::Speedup);
        let d = t.median(g, "mmarray open + par_chunks lane sum").unwrap();
        t.add(g, "mmarray par_chunks sum (vs numpy)", d)
            .bytes(bytes)
            .versus("np.memmap(...).sum()", Ratio::Speedup);
        // The library's own parallel reduction: the sum and four more
        // statistics in the same pass.
        let d = t.median(g, "mmarray Stats::of_path, all threads").unwrap();
        t.add(g, "mmarray Stats::of_path (vs numpy sum)", d)
            .bytes(bytes)
            .versus("np.memmap(...).sum()", Ratio::Speedup);
    }

    // 2b. The same after small writes.
    let g = "scan, small folios";
    let d = time(config.reps, |()| lane_sum(&vec));
    t.add(g, reference, d).bytes(bytes);
    let small = path("small.dat");
    let d = time(config.reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        lane_sum(
            unsafe { MappedArray::<f32>::open(&small) }
                .expect("open")
                .as_slice(),
        )
    });
    t.add(g, "mmarray open + lane sum, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);
    let d = time(config.reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe { MappedArray::<f32>::open(&small) }.expect("open");
        one_thread.install(|| Stats::compute(a.as_slice(), |_| {}))
    });
    t.add(g, "mmarray open + Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus(reference, Ratio::Speedup);

    stream_group(&mut t, config, &scan, bytes);
    kernel_group(&mut t, config);

    // 3. Random single-element reads.
    let g = "random reads (16 M)";
    let reads = if config.full { 16 << 20 } else { 1 << 16 };
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let indices: Vec<usize> = (0..reads)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % len as u64) as usize
        })
        .collect();
    let file = File::open(&scan).expect("open");
    // SAFETY: as above.
    let raw_map = unsafe { Mmap::map(&file) }.expect("map");
    let raw: &[f32] = bytemuck::cast_slice(&raw_map[..]);
    // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<f32>::open(&scan) }.expect("open");
    let view: ArrayView1<f32> = a.view_dim::<Ix1>().expect("1-d");
    let gather = |get: &dyn Fn(usize) -> f32| indices.iter().map(|&i| get(i)).sum::<f32>();
    let d = time(config.reps, |()| gather(&|i| raw[i]));
    t.add(g, "memmap2 slice[i]", d);
    let d = time(config.reps, |()| gather(&|i| view[i]));
    t.add(g, "mmarray view_dim::<Ix1>()[i]", d)
        .versus("memmap2 slice[i]", Ratio::Slowdown);
    let slice = a.as_slice();
    let d = time(config.reps, |()| gather(&|i| slice[i]));
    t.add(g, "mmarray as_slice()[i]", d)
        .versus("memmap2 slice[i]", Ratio::Slowdown);
    let d = time(config.reps, |()| gather(&|i| vec[i]));
    t.add(g, "Vec[i]", d)
        .versus("memmap2 slice[i]", Ratio::Slowdown);
    drop((a, raw_map, file, vec));

    // 4. Create + fill + flush.
    let g = "create + fill + flush";
    let write_reps = if config.full { 3 } else { 1 };
    let target = path("write.dat");
    let remove = || {
        let _ = fs::remove_file(&target);
        let _ = fs::remove_file(target.with_extension("dat.json"));
    };
    let reference_write = "Vec fill + fs::write + fdatasync";
    let d = median_of(write_reps, remove, |()| {
        let v = vec![1.5f32; len];
        let mut f = File::create(&target).expect("create");
        f.write_all(bytemuck::cast_slice(&v)).expect("write");
        f.sync_data().expect("sync");
    });
    t.add(g, reference_write, d).bytes(bytes);
    let d = median_of(write_reps, remove, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        let mut a = unsafe { MappedArray::<f32>::create(&target, &[len]) }.expect("create");
        a.par_chunks_mut(1 << 20).for_each(|xs| xs.fill(1.5));
        a.flush().expect("flush");
    });
    t.add(g, "mmarray create + par_chunks_mut fill + flush", d)
        .bytes(bytes)
        .versus(reference_write, Ratio::Speedup);
    let d = median_of(write_reps, remove, |()| {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&target)
            .expect("create");
        f.set_len(bytes as u64).expect("set_len");
        // SAFETY: as above.
        let mut map = unsafe { MmapMut::map_mut(&f) }.expect("map");
        let xs: &mut [f32] = bytemuck::cast_slice_mut(&mut map[..]);
        xs.par_chunks_mut(1 << 20).for_each(|xs| xs.fill(1.5));
        map.flush().expect("flush");
    });
    t.add(g, "memmap2 set_len + parallel fill + flush", d)
        .bytes(bytes)
        .versus(reference_write, Ratio::Speedup);
    if let Some(np) = &numpy {
        t.add(g, "np.memmap w+ fill + flush", np("write"))
            .bytes(bytes)
            .versus(reference_write, Ratio::Speedup);
        let d = t
            .median(g, "mmarray create + par_chunks_mut fill + flush")
            .unwrap();
        t.add(g, "mmarray (vs numpy)", d)
            .bytes(bytes)
            .versus("np.memmap w+ fill + flush", Ratio::Speedup);
    }
    remove();

    // 5. Appending rows.
    let g = "append 128 f32 rows, batches of 1024";
    let batch = ndarray::Array2::from_shape_fn((1024, 128), |(r, c)| (r * 128 + c) as f32);
    let rows = config.append_rows;
    let append_bytes = rows * 128 * 4;
    let log = path("log.dat");
    // The previous repetition's file is removed before the clock starts, as
    // for the writes above: freeing 512 MiB of blocks is not appending.
    let remove_log = || {
        let _ = fs::remove_file(&log);
        let _ = fs::remove_file(log.with_extension("dat.json"));
    };
    for (case, each) in [
        ("publish every batch", Some(false)),
        ("commit every batch", Some(true)),
        ("commit at the end", None),
    ] {
        let d = median_of(write_reps, remove_log, |()| {
            // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
            let mut a = unsafe { MappedArray::<f32>::create(&log, &[0, 128]) }.expect("create");
            for _ in 0..rows / 1024 {
                a.append(&batch).expect("append");
                match each {
                    Some(false) => a.publish().expect("publish"),
                    Some(true) => a.commit().expect("commit"),
                    None => {}
                }
            }
            a.commit().expect("commit");
        });
        t.add(g, case, d).bytes(append_bytes);
    }

    // 6. .npy: open to the first element.
    let g = ".npy open + first element";
    let npy = path("scan.npy");
    let d = time(config.open_reps, |()| {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f32>::open(&npy) }
            .expect("open")
            .as_slice()[0]
    });
    t.add(g, "mmarray open", d)
        .versus("ndarray-npy view_npy over memmap2", Ratio::Slowdown);
    let d = time(config.open_reps, |()| {
        let file = File::open(&npy).expect("open");
        // SAFETY: as above.
        let map = unsafe { Mmap::map(&file) }.expect("map");
        let view = ArrayView1::<f32>::view_npy(&map).expect("view_npy");
        view[0]
    });
    t.add(g, "ndarray-npy view_npy over memmap2", d);
    let d = time(write_reps, |()| {
        let file = File::open(&npy).expect("open");
        let a = ndarray::Array1::<f32>::read_npy(file).expect("read_npy");
        a[0]
    });
    t.add(g, "ndarray-npy read_npy (copies)", d).bytes(bytes);
    let d = t.median(g, "mmarray open").unwrap();
    t.add(g, "mmarray open (vs read_npy)", d)
        .versus("ndarray-npy read_npy (copies)", Ratio::Speedup);
    t
}

/// [`lane_sum`] over `f64` values: 16 lanes per 64 KiB block.
fn lane_sum_f64(xs: &[f64]) -> f64 {
    xs.chunks(8 << 10)
        .map(|block| {
            let mut lanes = [0f64; 16];
            let (groups, rest) = block.as_chunks::<16>();
            for group in groups {
                for (l, &x) in lanes.iter_mut().zip(group) {
                    *l += x;
                }
            }
            lanes.iter().sum::<f64>() + rest.iter().sum::<f64>()
        })
        .sum()
}

/// Issue 23: the exact stats kernel over in-RAM `Vec`s of each element
/// type against the plain lane sum over the same bytes, on one thread and
/// on all, with the form of the kernel this CPU picks and with the AVX2
/// form forced (`Stats::compute_with`).
fn kernel_group(t: &mut Table, config: &Config) {
    use mmarray::stats::Kernel;
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let all = rayon::ThreadPoolBuilder::new().build().expect("pool");
    let bytes = config.len * 4;
    let g = "stats kernel over a Vec";
    let detected = Kernel::detected();
    eprintln!("kernel: {}", detected.name());
    let f32s: Vec<f32> = (0..bytes / 4).map(value).collect();
    let f64s: Vec<f64> = (0..bytes / 8).map(|i| f64::from(value(i)) + 1e6).collect();
    for (pool, threads) in [(&one, "1 thread"), (&all, "all threads")] {
        let lane32: &'static str =
            Box::leak(format!("f32 Vec lane sum, {threads}").into_boxed_str());
        let lane64: &'static str =
            Box::leak(format!("f64 Vec lane sum, {threads}").into_boxed_str());
        let d = time(config.reps, |()| {
            pool.install(|| f32s.par_chunks(1 << 20).map(lane_sum).sum::<f64>())
        });
        t.add(g, lane32, d).bytes(bytes);
        let mut kernels = vec![(detected, detected.name())];
        if let Some(avx2) = Kernel::avx2().filter(|&k| k != detected) {
            kernels.push((avx2, "avx2 forced"));
        }
        for &(kernel, name) in &kernels {
            let d = time(config.reps, |()| {
                pool.install(|| Stats::compute_with(kernel, &f32s, |_| {}))
            });
            t.add(g, format!("f32 Stats::compute ({name}), {threads}"), d)
                .bytes(bytes)
                .versus(lane32, Ratio::Speedup);
        }
        let d = time(config.reps, |()| {
            pool.install(|| f64s.par_chunks(1 << 19).map(lane_sum_f64).sum::<f64>())
        });
        t.add(g, lane64, d).bytes(bytes);
        for &(kernel, name) in &kernels {
            let d = time(config.reps, |()| {
                pool.install(|| Stats::compute_with(kernel, &f64s, |_| {}))
            });
            t.add(g, format!("f64 Stats::compute ({name}), {threads}"), d)
                .bytes(bytes)
                .versus(lane64, Ratio::Speedup);
        }
    }
    // The other types: reported against the f32 lane sum (same bytes).
    let halves: Vec<half::f16> = (0..bytes / 2)
        .map(|i| half::f16::from_f32(value(i)))
        .collect();
    drop(f64s);
    let d = time(config.reps, |()| {
        one.install(|| Stats::compute(&halves, |_| {}))
    });
    t.add(g, "f16 Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus("f32 Vec lane sum, 1 thread", Ratio::Speedup);
    drop(halves);
    let i32s: Vec<i32> = (0..bytes / 4).map(|i| (i % 1000) as i32 - 500).collect();
    let d = time(config.reps, |()| {
        one.install(|| Stats::compute(&i32s, |_| {}))
    });
    t.add(g, "i32 Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus("f32 Vec lane sum, 1 thread", Ratio::Speedup);
    drop(i32s);
    let i64s: Vec<i64> = (0..bytes / 8).map(|i| (i % 1000) as i64 - 500).collect();
    let d = time(config.reps, |()| {
        one.install(|| Stats::compute(&i64s, |_| {}))
    });
    t.add(g, "i64 Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus("f32 Vec lane sum, 1 thread", Ratio::Speedup);
    drop(i64s);
    let u8s: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let d = time(config.reps, |()| {
        one.install(|| Stats::compute(&u8s, |_| {}))
    });
    t.add(g, "u8 Stats::compute, 1 thread", d)
        .bytes(bytes)
        .versus("f32 Vec lane sum, 1 thread", Ratio::Speedup);
}

/// Drops the pages of `path` from the page cache, so that the next read
/// comes from the disk (the file must be clean: written and synced).
fn drop_cache(path: &Path) {
    let file = File::open(path).expect("open");
    #[cfg(target_os = "linux")]
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
    drop(file);
}

/// Issues 16 and 23: the stats kernel over the file read three ways:
/// through a mapping the caller made (`Stats::of_source`, the reference),
/// through a mapping under a read lease (`Stats::of_path` on a file it can
/// lease), and with `pread` (`Stats::of_path` while a writer holds the
/// file open, so no lease can be had); warm and cold, one thread and all.
fn stream_group(t: &mut Table, config: &Config, scan: &Path, bytes: usize) {
    use mmarray::{NoLease, ReadPath};
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let all_threads = rayon::ThreadPoolBuilder::new().build().expect("pool");
    let mapped = || {
        // SAFETY: the benchmark's own file in its own temporary directory; nothing else changes it while mapped.
        let src = unsafe { mmarray::Source::open(scan) }.expect("open");
        Stats::of_source(&src, |_| {}).expect("stats")
    };
    let leased = || {
        let s = Stats::of_path(scan, |_| {}).expect("stats");
        assert_eq!(s.read, ReadPath::Leased, "no lease");
        s
    };
    let streamed = || {
        let s = Stats::of_path(scan, |_| {}).expect("stats");
        assert_eq!(s.read, ReadPath::Streamed(NoLease::WriterOpen));
        s
    };
    let g = "stats, leased vs pread vs mapped";
    for (cold, warmth) in [(false, "warm"), (true, "cold")] {
        for (pool, threads) in [(&one_thread, "1 thread"), (&all_threads, "all threads")] {
            let setup = || {
                if cold {
                    drop_cache(scan);
                }
            };
            let reference: &'static str =
                Box::leak(format!("mapped Stats::of_source, {warmth}, {threads}").into_boxed_str());
            let d = median_of(config.reps, setup, |()| pool.install(mapped));
            t.add(g, reference, d).bytes(bytes);
            let d = median_of(config.reps, setup, |()| pool.install(leased));
            t.add(g, format!("leased Stats::of_path, {warmth}, {threads}"), d)
                .bytes(bytes)
                .versus(reference, Ratio::Speedup);
            // A writer elsewhere: no lease, so the scan streams.
            let writer = OpenOptions::new().write(true).open(scan).expect("open");
            let d = median_of(config.reps, setup, |()| pool.install(streamed));
            drop(writer);
            t.add(g, format!("pread Stats::of_path, {warmth}, {threads}"), d)
                .bytes(bytes)
                .versus(reference, Ratio::Speedup);
        }
    }
    // Warm again for the groups after this one.
    black_box(fs::read(scan).expect("warm"));
}
