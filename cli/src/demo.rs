//! `mmarray demo [--dir DIR] [--size 1GiB]`: the tour. Creates an f32
//! array, fills it in parallel through the mapping, flushes, reopens it
//! read-only, computes its statistics, then opens a 64 GiB sparse array to
//! show that opening does not depend on size, printing timings throughout.
//!
//! The array is preallocated, so that a disk too small for it is an error
//! from the first step rather than a `SIGBUS` while filling it.
//!
//! `--size` takes the units [`common::parse_size`] reads (`1GB` is 10^9
//! bytes, `1GiB` 2^30), at least one row of the array ([`MIN_SIZE`]); a
//! `--dir` that already holds the demo's files is left alone unless
//! `--force` is given.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mmarray::{CreateOptions, MappedArray, Scalar, Stats};
use rayon::prelude::*;

use crate::common::{self, CliError, human_bytes, print_out, show_path};

/// Columns of the demo array.
const COLS: usize = 1024;

/// The smallest `--size`: one row of [`COLS`] `f32`, 4 KiB.
const MIN_SIZE: u64 = 4 * COLS as u64;

/// The array the demo keeps in `--dir`.
const ARRAY_FILE: &str = "demo.dat";

/// The sparse array of step 6, removed at the end of each run.
const HUGE_FILE: &str = "demo-64GiB.dat";

#[derive(clap::Args)]
pub struct Args {
    /// Where to put the files (default: a temporary directory removed
    /// afterwards). Refused if it already holds the demo's files (demo.dat,
    /// demo-64GiB.dat or their sidecars), unless --force is given.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Size of the array to create and scan: a byte count (4096), or a
    /// number (decimals allowed: 1.5GiB) and a unit: B; KB, MB, GB, TB
    /// (powers of 1000); KiB, MiB, GiB, TiB (powers of 1024). Units ignore
    /// case (gb, GiB); a bare K, M, G or T is refused, as it does not say
    /// which. At least 4KiB (one row of 1024 float32); rounded down to whole
    /// rows.
    #[arg(long, default_value = "1GiB", value_parser = parse_demo_size)]
    size: u64,
    /// Replace the demo's files in --dir if they are there.
    #[arg(long)]
    force: bool,
}

/// A `--size`: [`common::parse_size`], at least [`MIN_SIZE`].
fn parse_demo_size(s: &str) -> Result<u64, String> {
    let bytes = common::parse_size(s)?;
    if bytes < MIN_SIZE {
        return Err(format!(
            "{bytes} bytes is below the demo's minimum of {MIN_SIZE} bytes (4KiB, one row of {COLS} float32)"
        ));
    }
    Ok(bytes)
}

/// Refuses a `dir` that holds any of the demo's files (a link counts, even
/// a dangling one): the demo replaces files only when asked to.
fn refuse_existing(dir: &Path) -> Result<(), CliError> {
    for name in [ARRAY_FILE, HUGE_FILE] {
        let data = dir.join(name);
        for path in [data.clone(), mmarray::sidecar_path(&data)] {
            if std::fs::symlink_metadata(&path).is_ok() {
                return Err(CliError::Input(
                    format!(
                        "{}: the demo's files are already here; to replace them, pass --force",
                        path.display()
                    )
                    .into(),
                ));
            }
        }
    }
    Ok(())
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let tmp;
    let dir: &Path = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            if !args.force {
                refuse_existing(dir)?;
            }
            dir
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path()
        }
    };
    let rows = usize::try_from(args.size / MIN_SIZE)
        .map_err(|_| common::usage("--size is too large for this machine"))?;
    let path = dir.join(ARRAY_FILE);
    let mut log = Log::default();

    // 1. Create: a file at full size, its space reserved (a full disk is an
    // error here, not a SIGBUS while filling), plus its sidecar.
    let t = Instant::now();
    // Without --force, never over a file that appeared since the check.
    // SAFETY: the demo's own new file in its working directory (a new temporary
    // directory unless --dir is given): no other program writes it meanwhile.
    let mut array = unsafe {
        CreateOptions::new()
            .overwrite(args.force)
            .preallocate(true)
            .create::<f32>(&path, &[rows, COLS])
    }?;
    let nbytes = array.layout().nbytes() as u64;
    log.step(
        &format!(
            "created {} ({rows} x {COLS} f32, {})",
            show_path(&path),
            human_bytes(nbytes)
        ),
        t.elapsed(),
        None,
    );

    // 2. Fill in parallel, row by row, straight into the file's pages.
    let t = Instant::now();
    const CHUNK: usize = 1 << 18; // 1 MiB of f32 per task, whole pages
    array.par_chunks_mut(CHUNK).enumerate().for_each(|(c, xs)| {
        // Element i holds i % 1000, counted up rather than divided.
        let mut v = (c * CHUNK) % 1000;
        for x in xs {
            *x = v as f32;
            v = if v == 999 { 0 } else { v + 1 };
        }
    });
    log.step(
        &format!(
            "filled in parallel on {} threads",
            rayon::current_num_threads()
        ),
        t.elapsed(),
        Some(nbytes),
    );

    // 3. Flush: on disk when this returns.
    let t = Instant::now();
    array.flush()?;
    log.step("flushed to disk (msync)", t.elapsed(), Some(nbytes));
    drop(array);

    // 4. Reopen read-only: reads the sidecar and maps, nothing more.
    let t = Instant::now();
    // SAFETY: as for the create above: the demo's own file.
    let reopened = unsafe { MappedArray::<f32>::open(&path) }?;
    log.step("reopened read-only", t.elapsed(), None);

    // 5. Stats: one parallel pass over the mapping.
    let t = Instant::now();
    let stats = Stats::compute(reopened.as_slice(), |_| {});
    log.step(
        "computed stats in one parallel pass",
        t.elapsed(),
        Some(nbytes),
    );
    let mean = match stats.mean {
        Some(Scalar::Float(m)) => format!("{m:.3}"),
        _ => "-".into(),
    };
    log.line(&format!(
        "    count {}, min {}, max {}, mean {mean}, std {:.3}",
        stats.count,
        show(stats.min),
        show(stats.max),
        stats.std.unwrap_or(f64::NAN)
    ));

    // 6. O(1) open: a 64 GiB sparse array opens as fast as a small one.
    let huge = dir.join(HUGE_FILE);
    let huge_rows = (64usize << 30) / 4 / COLS;
    let big_time = open_huge(&huge, huge_rows, args.force)?;
    log.step(
        "opened a 64 GiB sparse array and read its last element (median of 9)",
        big_time,
        None,
    );
    let small_time = median_open(&path)?;
    log.step(
        &format!(
            "opened the {} array the same way (median of 9)",
            human_bytes(nbytes)
        ),
        small_time,
        None,
    );

    if args.dir.is_some() {
        log.line(&format!(
            "kept {} and its sidecar; try `mmarray info {}`",
            show_path(&path),
            show_path(&path)
        ));
    }
    print_out(&log.text)
}

/// Creates the sparse `rows` x [`COLS`] array at `path` (replacing one
/// there only if `overwrite`) and times [`median_open`] on it. The page
/// holding the last element is written through the file first, so that
/// reading it through the mapping cannot find the disk full (a `SIGBUS` on
/// tmpfs); a full disk is an error here.
fn open_huge(path: &Path, rows: usize, overwrite: bool) -> Result<Duration, CliError> {
    // SAFETY: as in `run`: the demo's own new file.
    let info = unsafe {
        CreateOptions::new()
            .overwrite(overwrite)
            .create::<f32>(path, &[rows, COLS])
    }?
    .info()
    .clone();
    let end = info.layout().end();
    let timed = write_last_and_time(path, end);
    // Removed whatever happened once created (a failed create leaves
    // nothing of ours, and no file that was there before is removed).
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(mmarray::sidecar_path(path));
    timed
}

/// Writes the last element of the array at `path`, whose data ends at
/// byte `end`, then times [`median_open`].
fn write_last_and_time(path: &Path, end: u64) -> Result<Duration, CliError> {
    use std::os::unix::fs::FileExt;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.write_all_at(&[0; 4], end - 4))
        .map_err(|e| {
            CliError::Input(
                format!(
                    "{}: writing the last element of the sparse array failed: {e}",
                    path.display()
                )
                .into(),
            )
        })?;
    median_open(path)
}

/// The median time of nine opens of `path` that each read the last element.
fn median_open(path: &Path) -> Result<Duration, CliError> {
    let mut times = Vec::with_capacity(9);
    for _ in 0..9 {
        let t = Instant::now();
        // SAFETY: as in `run`: the demo's own file.
        let array = unsafe { MappedArray::<f32>::open(path) }?;
        std::hint::black_box(array.as_slice()[array.len() - 1]);
        drop(array);
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[4])
}

fn show(v: Option<Scalar>) -> String {
    match v {
        Some(Scalar::Float(f)) => f.to_string(),
        Some(other) => format!("{other:?}"),
        None => "-".into(),
    }
}

/// The demo's report, one line per step with its time and throughput.
#[derive(Default)]
struct Log {
    text: String,
}

impl Log {
    fn step(&mut self, what: &str, took: Duration, bytes: Option<u64>) {
        let rate = bytes
            .filter(|_| took.as_secs_f64() > 0.0)
            .map(|b| format!("  {:.2} GB/s", b as f64 / took.as_secs_f64() / 1e9))
            .unwrap_or_default();
        self.line(&format!("{what:<72} {:>12}{rate}", format!("{took:.2?}")));
    }

    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
}
