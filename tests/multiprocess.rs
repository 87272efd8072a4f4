//! Behaviour across real processes: shared mappings seen by both sides, the
//! lock that keeps a mapped file from being shrunk or replaced, concurrent
//! writers, and appends killed with `SIGKILL` at random instants.
//!
//! Every test re-runs this test binary as its child process:
//! `current_exe() --exact child_process --nocapture --test-threads=1`, with
//! the job in `MMARRAY_CHILD_*` environment variables. [`child_process`] is
//! a test that does nothing unless those are set. Parent and child talk
//! through pipes: the child prints `@mmarray:<message>` lines on stdout and
//! reads commands from stdin, one per line. Nothing is synchronised by
//! sleeping. Every wait is bounded: the parent fails a test after
//! [`TIMEOUT`], and a child exits on its own after [`CHILD_LIFETIME`] even if
//! its parent is gone. A [`Kid`] kills and reaps its process when dropped, so
//! a failed assertion leaves neither zombies nor stray writers behind.

use std::fmt::Display;
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use mmarray::{Appender, CreateOptions, Error, MappedArray};

mod common;
use common::child::{Child as Kid, no_spawn_in_flight};
use common::{create_shared, dir_names, open_shared, sidecar_of};
use ndarray::{Array2, Ix2, s};

/// The test that runs the child's side.
const CHILD_TEST: &str = "child_process";
const ENV_ROLE: &str = "MMARRAY_CHILD_ROLE";
const ENV_PATH: &str = "MMARRAY_CHILD_PATH";
/// Whitespace-separated integers: the role's parameters.
const ENV_ARGS: &str = "MMARRAY_CHILD_ARGS";
/// Marks the child's messages among the test harness's own output (which
/// may precede a message on the same line).
const MARK: &str = "@mmarray:";
/// A child exits by itself after this long, whatever its parent does.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
/// Elements per row in every array here.
const COLS: usize = 16;
const SIGKILL: i32 = 9;

// ---------------------------------------------------------------------------
// Values

/// Element `(row, col)` of the pattern `salt`: distinct for each salt, row
/// and column, and never zero for `salt >= 1`. Salt 0 is the crash test's
/// `row * 16 + col`, which is just the element's C-order index.
fn cell(salt: u64, row: usize, col: usize) -> u64 {
    (salt << 48) | (row * COLS + col) as u64
}

fn pattern(salt: u64, rows: Range<usize>) -> Array2<u64> {
    Array2::from_shape_fn((rows.len(), COLS), |(r, c)| cell(salt, rows.start + r, c))
}

/// The first element of `elements` (rows from `first_row` on, C order) that
/// differs from the pattern `salt`, described.
fn first_mismatch(elements: &[u64], salt: u64, first_row: usize) -> Option<String> {
    let (k, &found) = elements
        .iter()
        .enumerate()
        .find(|&(k, &x)| x != cell(salt, first_row, 0) + k as u64)?;
    let (row, col) = (first_row + k / COLS, k % COLS);
    Some(format!(
        "row {row}, column {col}: found {found:#x}, expected {:#x}",
        cell(salt, row, col)
    ))
}

/// A small deterministic generator (SplitMix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for test purposes.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Temporary files left next to `name` by an interrupted atomic write.
fn is_temp_of(file: &str, name: &str) -> bool {
    file.starts_with(&format!(".{name}")) && file.contains(".tmp-")
}

// ---------------------------------------------------------------------------
// The parent's side: a child process and its pipes

/// Spawns this test binary as a child running `role` of [`child_process`]
/// on `path` with the numeric `args`.
fn spawn_kid(role: &str, path: &Path, args: &[u64]) -> Kid {
    let args: Vec<String> = args.iter().map(u64::to_string).collect();
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(ENV_ROLE, role)
        .env(ENV_PATH, path)
        .env(ENV_ARGS, args.join(" "));
    Kid::spawn(command, &format!("{role} {}", args.join(" ")), MARK)
}

// ---------------------------------------------------------------------------
// The child's side

/// The child processes' entry point: a no-op unless run by a [`Kid`].
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ENV_ROLE) else {
        return;
    };
    thread::spawn(|| {
        thread::sleep(CHILD_LIFETIME);
        eprintln!("child watchdog: still running after {CHILD_LIFETIME:?}, exiting");
        std::process::exit(3);
    });
    let path = PathBuf::from(std::env::var_os(ENV_PATH).expect("MMARRAY_CHILD_PATH"));
    let args: Vec<u64> = std::env::var(ENV_ARGS)
        .unwrap_or_default()
        .split_whitespace()
        .map(|a| a.parse().expect("numeric child arguments"))
        .collect();
    match role.as_str() {
        "writer" => child_writer(&path),
        "checker" => child_checker(&path),
        "reader" => child_reader(&path, args[0]),
        "rows" => child_row_writer(&path, args[0], args[1] as usize, args[2] as usize),
        "appender" => child_appender(&path, args[0]),
        "shrinker" => child_shrinker(&path, args[0], args[1] as usize),
        "racer" => child_racer(&path, args[0], args[1] as usize),
        "replacer" => child_replacer(&path),
        "holder" => child_holder(&path, args[0]),
        "tail" => child_tail(&path, args[0]),
        "stale" => child_stale(&path),
        "store_appender" => child_store_appender(&path, args[0]),
        "sealed" => child_sealed(args[0] as u32, args[1] as i32, args[2]),
        other => panic!("unknown child role {other:?}"),
    }
}

/// Sends a message to the parent.
fn say(message: impl Display) {
    let mut out = io::stdout().lock();
    writeln!(out, "{MARK}{message}").unwrap();
    out.flush().unwrap();
}

/// The parent's next command; `None` when it closed our stdin.
fn command() -> Option<String> {
    let mut line = String::new();
    match io::stdin().read_line(&mut line).expect("reading stdin") {
        0 => None,
        _ => Some(line.trim_end().to_string()),
    }
}

/// Whether the parent has sent `stop` (the only command of a working
/// child), without waiting.
fn stop_requested(commands: &Receiver<Option<String>>) -> bool {
    match commands.try_recv() {
        Ok(Some(cmd)) => {
            assert_eq!(cmd, "stop");
            true
        }
        Ok(None) => panic!("stdin closed before `stop`"),
        Err(TryRecvError::Empty) => false,
        Err(TryRecvError::Disconnected) => panic!("the stdin thread died"),
    }
}

/// Commands read on a thread, for a child that works while it waits.
fn commands_in_background() -> Receiver<Option<String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        loop {
            let next = command();
            let done = next.is_none();
            if tx.send(next).is_err() || done {
                return;
            }
        }
    });
    rx
}

/// Maps the array read-write, then on each `write <salt>` fills it with
/// that pattern and flushes.
fn child_writer(path: &Path) {
    let mut a = open_shared::<u64>(path);
    let rows = a.shape()[0];
    say("mapped");
    while let Some(cmd) = command() {
        let salt: u64 = cmd.strip_prefix("write ").unwrap().parse().unwrap();
        a.view_mut_dim::<Ix2>()
            .unwrap()
            .assign(&pattern(salt, 0..rows));
        a.flush().unwrap();
        say(format_args!("written {salt}"));
    }
}

/// Maps the array read-only (it is all zeros then), and on each
/// `check <salt>` reports whether this same mapping now shows that pattern.
fn child_checker(path: &Path) {
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let a = unsafe { MappedArray::<u64>::open(path) }.unwrap();
    assert!(a.as_slice().iter().all(|&x| x == 0), "not zero when mapped");
    say(format_args!("mapped {}", a.shape()[0]));
    while let Some(cmd) = command() {
        let salt: u64 = cmd.strip_prefix("check ").unwrap().parse().unwrap();
        match first_mismatch(a.as_slice(), salt, 0) {
            None => say(format_args!("ok {salt}")),
            Some(m) => say(format_args!("bad {salt}: {m}")),
        }
    }
}

/// Maps the array read-only and reads every element, over and over, until
/// told to stop; then reads it all once more and reports the passes.
fn child_reader(path: &Path, salt: u64) {
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let a = unsafe { MappedArray::<u64>::open(path) }.unwrap();
    let commands = commands_in_background();
    let verify = || {
        if let Some(m) = first_mismatch(a.as_slice(), salt, 0) {
            panic!("{m}");
        }
    };
    verify();
    say(format_args!("mapped {}", a.shape()[0]));
    let mut passes = 0u64;
    loop {
        let stopping = match commands.try_recv() {
            Ok(Some(cmd)) => {
                assert_eq!(cmd, "stop");
                true
            }
            Ok(None) => panic!("stdin closed before `stop`"),
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => panic!("the stdin thread died"),
        };
        // A pass that starts after `stop` arrived: every element is still
        // readable after everything the parent tried.
        verify();
        passes += 1;
        if stopping {
            break;
        }
    }
    say(format_args!("passes {passes}"));
}

/// Maps the array read-write and, on `go`, writes rows `first..end` with the
/// pattern `salt` in chunks, flushing each.
fn child_row_writer(path: &Path, salt: u64, first: usize, end: usize) {
    let mut a = open_shared::<u64>(path);
    say("ready");
    assert_eq!(command().as_deref(), Some("go"));
    for start in (first..end).step_by(97) {
        let stop = (start + 97).min(end);
        a.view_mut_dim::<Ix2>()
            .unwrap()
            .slice_mut(s![start..stop, ..])
            .assign(&pattern(salt, start..stop));
        a.flush_range(start * COLS..stop * COLS).unwrap();
    }
    a.flush().unwrap();
    say("done");
}

/// Appends rows `len..` of the crash pattern forever, in batches of random
/// size, committing, flushing or publishing every few batches and reporting
/// each length made visible.
fn child_appender(path: &Path, seed: u64) -> ! {
    let mut rng = SplitMix64(seed.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut a = open_shared::<u64>(path);
    assert_eq!(a.shape()[1], COLS);
    let mut len = a.shape()[0];
    say(format_args!("start {len}"));
    let mut until_commit = 1 + rng.below(4);
    loop {
        let n = 1 + rng.below(63) as usize;
        a.append(&pattern(0, len..len + n)).unwrap();
        len += n;
        until_commit -= 1;
        if until_commit == 0 {
            // All three publish the length atomically; publish skips the
            // flush and fsyncs, which a process kill does not need.
            match rng.below(3) {
                0 => a.flush().unwrap(),
                1 => a.publish().unwrap(),
                _ => a.commit().unwrap(),
            }
            say(format_args!("committed {len}"));
            until_commit = 1 + rng.below(4);
        }
    }
}

/// Maps the array read-write and, until told to stop, shrinks it to
/// `small` rows and appends its rows back (pattern `salt`), committing,
/// over and over; a shrink refused as busy (the parent maps it) is retried.
/// Then reports how many shrinks went through and how many were refused.
fn child_shrinker(path: &Path, salt: u64, small: usize) {
    let mut a = open_shared::<u64>(path);
    let full = a.shape()[0];
    let commands = commands_in_background();
    say(format_args!("mapped {full}"));
    let (mut shrinks, mut refused) = (0u64, 0u64);
    loop {
        if stop_requested(&commands) {
            break;
        }
        match a.resize(small) {
            Ok(()) => {
                shrinks += 1;
                a.append(&pattern(salt, small..full)).unwrap();
                a.commit().unwrap();
            }
            Err(Error::Busy { .. }) => refused += 1,
            Err(e) => panic!("shrinking: {e}"),
        }
    }
    say(format_args!("shrinks {shrinks} {refused}"));
}

/// Maps the array read-write, reports `mapped`, waits for `go`, then
/// appends `batches` batches of rows of the pattern `salt`, publishing
/// after each and reporting `published <len>` for each publish that
/// returned; stops with `busy <len>` at the first `Error::Busy`, or `done`.
fn child_racer(path: &Path, salt: u64, batches: usize) {
    let mut a = open_shared::<u64>(path);
    say("mapped");
    assert_eq!(command().as_deref(), Some("go"));
    for batch in 0..batches {
        let len = a.shape()[0];
        let n = 1 + (batch * 7) % 50;
        match a.append(&pattern(salt, len..len + n)) {
            Ok(()) => {}
            Err(Error::Busy {
                action: "grown", ..
            }) => {
                say(format_args!("busy {len}"));
                return;
            }
            Err(e) => panic!("appending: {e}"),
        }
        a.publish().unwrap();
        say(format_args!("published {}", a.shape()[0]));
    }
    say("done");
}

/// The two arrays [`child_replacer`] puts in place in turn: `(rows, salt)`.
const REPLACEMENTS: [(usize, u64); 2] = [(10, 1), (20, 2)];

/// Replaces the array at `path` with the two [`REPLACEMENTS`] in turn
/// (`overwrite(true)`, the whole array written before it is renamed into
/// place), retrying when the parent's mapping makes it busy, until told to
/// stop; then reports how many replacements went through.
fn child_replacer(path: &Path) {
    let commands = commands_in_background();
    say("ready");
    let mut done = 0u64;
    loop {
        if stop_requested(&commands) {
            break;
        }
        let (rows, salt) = REPLACEMENTS[done as usize % 2];
        match CreateOptions::new()
            .overwrite(true)
            .write(path, &pattern(salt, 0..rows))
        {
            Ok(_) => done += 1,
            Err(Error::Busy { .. }) => {}
            Err(e) => panic!("replacing: {e}"),
        }
    }
    say(format_args!("replaced {done}"));
}

// ---------------------------------------------------------------------------
// The tests

/// A child writes through its read-write mapping and flushes; the parent's
/// read-only mapping, opened before any of it, shows each round of writes
/// without reopening.
#[test]
fn writes_in_a_child_are_seen_by_a_mapping_opened_before_them() {
    const ROWS: usize = 300; // several pages
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.dat");
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    drop(create_shared::<u64>(&path, &[ROWS, COLS]));
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let reader = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert!(reader.as_slice().iter().all(|&x| x == 0));

    let mut kid = spawn_kid("writer", &path, &[]);
    kid.expect("mapped");
    for salt in 1..=3 {
        kid.send(format_args!("write {salt}"));
        assert_eq!(kid.expect("written"), salt.to_string());
        assert_eq!(
            first_mismatch(reader.as_slice(), salt, 0),
            None,
            "round {salt}"
        );
        assert_eq!(reader.shape(), &[ROWS, COLS]);
    }
    kid.finish();
}

/// The parent writes and flushes; a child's read-only mapping, opened before
/// the writes, shows each round without reopening, and the child reports so
/// on stdout and exits successfully.
#[test]
fn writes_in_the_parent_are_seen_by_a_child_mapping_opened_before_them() {
    const ROWS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.dat");
    let mut w = create_shared::<u64>(&path, &[ROWS, COLS]);

    // The child checks that it maps zeros: it opened before any write.
    let mut kid = spawn_kid("checker", &path, &[]);
    assert_eq!(kid.expect_number("mapped"), ROWS);
    for salt in 1..=3 {
        w.view_mut_dim::<Ix2>()
            .unwrap()
            .assign(&pattern(salt, 0..ROWS));
        w.flush().unwrap();
        kid.send(format_args!("check {salt}"));
        assert_eq!(kid.recv(), format!("ok {salt}"));
    }
    kid.finish();
}

/// Shrinking (`resize` down) and replacing (`overwrite(true).create`) an
/// array that another process maps are refused with `Error::Busy` naming the
/// file; nothing on disk changes; the other process reads every element
/// throughout and exits successfully (no `SIGBUS`). Once it has exited, both
/// succeed.
#[test]
fn shrinking_or_replacing_an_array_mapped_by_another_process_is_busy() {
    const ROWS: usize = 500;
    const SALT: u64 = 7;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.dat");
    let sidecar = sidecar_of(&path);
    let mut a = create_shared::<u64>(&path, &[0, COLS]);
    a.append(&pattern(SALT, 0..ROWS)).unwrap();
    a.commit().unwrap();
    // Without spare capacity, which dropping `a` below would trim.
    a.shrink_to_fit().unwrap();
    let data_before = fs::read(&path).unwrap();
    let sidecar_before = fs::read_to_string(&sidecar).unwrap();
    let inode_before = fs::metadata(&path).unwrap().ino();
    let unchanged = |what: &str| {
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.ino(), inode_before, "{what}: the file was replaced");
        assert_eq!(meta.len(), data_before.len() as u64, "{what}: length");
        assert!(fs::read(&path).unwrap() == data_before, "{what}: contents");
        assert_eq!(fs::read_to_string(&sidecar).unwrap(), sidecar_before);
        assert_eq!(dir_names(dir.path()), ["busy.dat", "busy.dat.json"]);
    };

    let mut kid = spawn_kid("reader", &path, &[SALT]);
    assert_eq!(kid.expect_number("mapped"), ROWS);

    let err = a.resize(1).unwrap_err();
    assert!(
        matches!(&err, Error::Busy { path: p, action: "resized" } if p == &path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    unchanged("after the refused shrink");
    // This handle is intact too, and keeps its (shared) lock: still busy.
    assert_eq!(a.shape(), &[ROWS, COLS]);
    assert_eq!(first_mismatch(a.as_slice(), SALT, 0), None);
    assert!(matches!(a.resize(0), Err(Error::Busy { .. })));
    drop(a);

    // Now only the child maps it.
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let err = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u64>(&path, &[1, COLS])
    }
    .unwrap_err();
    assert!(
        matches!(&err, Error::Busy { path: p, action: "replaced" } if p == &path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    unchanged("after the refused replacement");

    kid.send("stop");
    // The child's last pass started after `stop`, i.e. after every refused
    // attempt: it read every element then, and exits cleanly (no SIGBUS).
    // How many passes came before depends on scheduling, not on mmarray.
    let passes = kid.expect_number("passes");
    assert!(passes >= 1, "{passes}");
    kid.finish();

    // Nobody maps it now: the shrink goes through.
    let quiet = no_spawn_in_flight();
    let mut a = open_shared::<u64>(&path);
    a.resize(2).unwrap();
    drop(a);
    assert_eq!(fs::metadata(&path).unwrap().len(), (2 * COLS * 8) as u64);
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let r = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(r.shape(), &[2, COLS]);
    assert_eq!(first_mismatch(r.as_slice(), SALT, 0), None);
    drop(r);
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let fresh = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u64>(&path, &[1, COLS])
    }
    .unwrap();
    assert_eq!(fresh.shape(), &[1, COLS]);
    assert!(fresh.as_slice().iter().all(|&x| x == 0));
    drop(quiet);
}

/// Four processes write disjoint row ranges of one array at the same time
/// (the ranges are not page-aligned, so neighbours share pages), each
/// flushing as it goes; afterwards every row is exactly right, both through
/// a mapping the parent held all along and through a fresh one.
#[test]
fn writers_in_several_processes_fill_disjoint_rows() {
    const WRITERS: usize = 4;
    const ROWS_EACH: usize = 1000; // 1000 rows of 128 bytes: not whole pages
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.dat");
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    drop(create_shared::<u64>(&path, &[WRITERS * ROWS_EACH, COLS]));
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let held = unsafe { MappedArray::<u64>::open(&path) }.unwrap();

    let mut kids: Vec<Kid> = (0..WRITERS)
        .map(|k| {
            let range = [k * ROWS_EACH, (k + 1) * ROWS_EACH].map(|r| r as u64);
            spawn_kid("rows", &path, &[k as u64 + 1, range[0], range[1]])
        })
        .collect();
    // All map first, then all write at once.
    kids.iter_mut()
        .for_each(|kid| assert_eq!(kid.recv(), "ready"));
    kids.iter_mut().for_each(|kid| kid.send("go"));
    kids.iter_mut()
        .for_each(|kid| assert_eq!(kid.recv(), "done"));
    kids.into_iter().for_each(Kid::finish);

    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let fresh = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    for a in [&held, &fresh] {
        let v = a.view_dim::<Ix2>().unwrap();
        assert_eq!(v.shape(), &[WRITERS * ROWS_EACH, COLS]);
        for k in 0..WRITERS {
            let first = k * ROWS_EACH;
            let rows = v.slice(s![first..first + ROWS_EACH, ..]);
            let rows = rows.as_slice().unwrap();
            assert_eq!(
                first_mismatch(rows, k as u64 + 1, first),
                None,
                "writer {k}"
            );
        }
    }
}

/// A child keeps reading its rows through a read-only mapping while the
/// parent appends to the array, growing the file past several capacities
/// (each a new mapping in the parent); the child's mapping stays valid, and
/// a mapping it opens afterwards sees every row.
#[test]
fn a_mapping_in_another_process_survives_the_file_growing() {
    const FIRST: usize = 100;
    const TOTAL: usize = 40_100; // about 5 MB: past 1, 2 and 4 MiB capacities
    const SALT: u64 = 5;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.dat");
    let mut a = create_shared::<u64>(&path, &[0, COLS]);
    a.append(&pattern(SALT, 0..FIRST)).unwrap();
    a.commit().unwrap();

    let mut kid = spawn_kid("reader", &path, &[SALT]);
    assert_eq!(kid.expect_number("mapped"), FIRST);
    let mut capacities = vec![a.capacity()];
    let mut len = FIRST;
    for batch in 0.. {
        let n = 1000.min(TOTAL - len);
        if n == 0 {
            break;
        }
        a.append(&pattern(SALT, len..len + n)).unwrap();
        len += n;
        capacities.push(a.capacity());
        if batch % 5 == 0 {
            a.commit().unwrap();
        }
    }
    a.commit().unwrap();
    capacities.dedup();
    assert!(capacities.len() >= 4, "{capacities:?}");
    kid.send("stop");
    assert!(kid.expect_number("passes") >= 2);
    kid.finish();

    // Another process sees all the rows the parent committed.
    drop(a);
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let r = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(r.shape(), &[TOTAL, COLS]);
    assert_eq!(first_mismatch(r.as_slice(), SALT, 0), None);
}

/// A child appends rows forever (random batch sizes, committing or flushing
/// every few batches); the parent kills it with `SIGKILL` at a random
/// instant, reopens the array, and checks it: it opens, every row of its
/// recorded shape is exactly right, and every length the child reported as
/// committed is there. The next child carries on from that length. Stray
/// temporary sidecars (one planted, others from kills mid-commit) never get
/// in the way.
#[test]
fn appends_killed_at_random_instants_leave_a_consistent_array() {
    const KILLS: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.dat");
    drop(create_shared::<u64>(&path, &[0, COLS]));
    // What a kill in the middle of writing a sidecar leaves behind.
    fs::write(
        dir.path().join(".crash.dat.json.tmp-1-0-0"),
        r#"{"version": 1, "dtype": "<u8", "sha"#,
    )
    .unwrap();

    let started = Instant::now();
    let mut len = 0;
    let mut grew = 0;
    let mut killed_after_commits = 0;
    let mut most_temps = 0;
    for iteration in 0..KILLS {
        let mut rng = SplitMix64(0x6d6d_6172_7261_7900 ^ iteration);
        let mut kid = spawn_kid("appender", &path, &[iteration]);
        assert_eq!(kid.expect_number("start"), len, "iteration {iteration}");
        thread::sleep(Duration::from_micros(rng.below(20_000)));
        let status = kid.kill();
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "iteration {iteration}: the child ended by itself ({status}): {}",
            kid.take_stderr()
        );
        let committed: Vec<usize> = kid
            .remaining_messages()
            .iter()
            .map(|m| m.strip_prefix("committed ").unwrap().parse().unwrap())
            .collect();
        if !committed.is_empty() {
            killed_after_commits += 1;
        }
        drop(kid);

        let temps = dir_names(dir.path())
            .into_iter()
            .filter(|f| is_temp_of(f, "crash.dat.json"))
            .count();
        most_temps = most_temps.max(temps);
        // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
        let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap_or_else(|e| {
            panic!(
                "iteration {iteration}: the array does not reopen ({temps} temporary files): {e}"
            )
        });
        assert_eq!(a.shape()[1], COLS);
        let now = a.shape()[0];
        assert!(
            now >= len && now >= committed.last().copied().unwrap_or(0),
            "iteration {iteration}: {now} rows recorded, but {len} were there and the child committed {committed:?}"
        );
        if let Some(m) = first_mismatch(a.as_slice(), 0, 0) {
            panic!("iteration {iteration}, {now} rows: {m}");
        }
        if now > len {
            grew += 1;
        }
        len = now;
    }
    eprintln!(
        "crash test: {KILLS} kills, {len} rows, {grew} kills after growth, \
         {killed_after_commits} after commits, up to {most_temps} temporary files, {:?}",
        started.elapsed()
    );
    // Not vacuous: the children ran, committed, and were killed while at it.
    assert!(len >= 1000, "only {len} rows");
    assert!(grew >= KILLS / 10, "the length grew in only {grew} runs");
    assert!(
        killed_after_commits >= KILLS / 10,
        "only {killed_after_commits} children committed before being killed"
    );
    assert!(most_temps >= 1, "the planted temporary file is gone");

    // Clean up the strays; the array is still whole, and grows on.
    for name in dir_names(dir.path()) {
        if is_temp_of(&name, "crash.dat.json") {
            fs::remove_file(dir.path().join(name)).unwrap();
        } else {
            assert!(
                ["crash.dat", "crash.dat.json"].contains(&name.as_str()),
                "{name}"
            );
        }
    }
    let mut a = open_shared::<u64>(&path);
    a.append(&pattern(0, len..len + 3)).unwrap();
    a.commit().unwrap();
    drop(a);
    assert_eq!(dir_names(dir.path()), ["crash.dat", "crash.dat.json"]);
    // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
    let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(a.shape(), &[len + 3, COLS]);
    assert_eq!(first_mismatch(a.as_slice(), 0, 0), None);
}

/// A child shrinks an array and appends its rows back, committing, as fast
/// as it can, while the parent opens the array over and over. Every open
/// succeeds and shows one of the two committed lengths with every row
/// exactly right: an open never reads the long sidecar and then finds the
/// file already truncated (no spurious `DataTooShort`), because it takes
/// the file's shared lock before reading the sidecar, and waits out a
/// shrink in progress.
#[test]
fn opening_while_another_process_shrinks_never_sees_a_short_file() {
    const FULL: usize = 600;
    const SMALL: usize = 10;
    const SALT: u64 = 3;
    /// Opens at least this many times, and until both lengths were seen
    /// this often (or `MAX_OPENS` is reached).
    const MIN_OPENS: usize = 2000;
    const MIN_EACH: usize = 20;
    const MAX_OPENS: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.dat");
    let mut a = create_shared::<u64>(&path, &[0, COLS]);
    a.append(&pattern(SALT, 0..FULL)).unwrap();
    drop(a);

    let mut kid = spawn_kid("shrinker", &path, &[SALT, SMALL as u64]);
    assert_eq!(kid.expect_number("mapped"), FULL);
    let (mut opens, mut full_seen, mut small_seen) = (0, 0, 0);
    while opens < MAX_OPENS && (opens < MIN_OPENS || full_seen < MIN_EACH || small_seen < MIN_EACH)
    {
        // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
        let r = match unsafe { MappedArray::<u64>::open(&path) } {
            Ok(r) => r,
            Err(e) => kid.fail(&format!(
                "open {opens} failed while the child resized: {e:?}"
            )),
        };
        match r.shape() {
            [FULL, COLS] => full_seen += 1,
            [SMALL, COLS] => small_seen += 1,
            other => kid.fail(&format!("open {opens}: shape {other:?}")),
        }
        if let Some(m) = first_mismatch(r.as_slice(), SALT, 0) {
            kid.fail(&format!("open {opens}: {m}"));
        }
        opens += 1;
    }
    kid.send("stop");
    let counts = kid.expect("shrinks");
    kid.finish();
    eprintln!(
        "{opens} opens: {full_seen} of {FULL} rows, {small_seen} of {SMALL}; child shrinks, refused: {counts}"
    );
    // Not vacuous: the opens met the array at both lengths.
    assert!(
        full_seen >= MIN_EACH && small_seen >= MIN_EACH,
        "{full_seen}, {small_seen}"
    );
}

/// Two processes append to one growable array at once, each publishing
/// after every batch: the first to grow takes the writer claim, the other
/// gets `Error::Busy` (action `"grown"`) at its first append and changes
/// nothing. Afterwards every row whose `publish` returned is there, holding
/// the winner's values; rows are never lost to a second writer recording
/// its own length over the first's.
#[test]
fn two_processes_appending_at_once_one_is_busy_and_every_published_row_stays() {
    const BATCHES: usize = 200;
    for round in 0..5u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.dat");
        drop(create_shared::<u64>(&path, &[0, COLS]));
        let salts = [1 + 2 * round, 2 + 2 * round];
        let mut kids: Vec<Kid> = salts
            .iter()
            .map(|&salt| spawn_kid("racer", &path, &[salt, BATCHES as u64]))
            .collect();
        for kid in &mut kids {
            assert_eq!(kid.recv(), "mapped");
        }
        for kid in &mut kids {
            kid.send("go");
        }
        // Each child's messages up to its last: `published` lines, then
        // `busy` or `done`.
        let mut published = [0usize; 2];
        let mut outcome = [String::new(), String::new()];
        for (k, kid) in kids.iter_mut().enumerate() {
            loop {
                let message = kid.recv();
                if let Some(len) = message.strip_prefix("published ") {
                    published[k] = len.parse().unwrap();
                } else {
                    outcome[k] = message;
                    break;
                }
            }
        }
        for kid in kids {
            kid.finish();
        }
        let busy: Vec<usize> = (0..2).filter(|&k| outcome[k].starts_with("busy")).collect();
        assert_eq!(
            busy.len(),
            1,
            "round {round}: exactly one appender is refused: {outcome:?}"
        );
        let (loser, winner) = (busy[0], 1 - busy[0]);
        assert_eq!(outcome[winner], "done");
        assert_eq!(
            published[loser], 0,
            "the refused appender published nothing"
        );
        // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
        let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
        assert!(
            a.shape()[0] >= published[winner],
            "round {round}: rows lost"
        );
        assert_eq!(a.shape()[0], published[winner]);
        if let Some(m) = first_mismatch(a.as_slice(), salts[winner], 0) {
            panic!("round {round}: {m}");
        }
    }
}

/// While another process replaces an array over and over (`create` with
/// `overwrite(true)`, two shapes in turn), every open in this process
/// succeeds and sees the old array or the new one, whole: never
/// `SidecarMissing`, never a mix of one's sidecar and the other's data.
#[test]
fn an_open_during_a_replace_sees_the_old_or_the_new_array_never_an_error() {
    const MIN_OPENS: usize = 400;
    // Seen as a change of array between two opens in a row: each is at
    // least one replacement made while this process was opening. How many
    // replacements a second brings depends on the disk (each is fsynced),
    // so the loop runs until enough were seen, within a time limit.
    const MIN_SWITCHES: usize = 20;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replaced.dat");
    let (rows, salt) = REPLACEMENTS[1];
    CreateOptions::new()
        .write(&path, &pattern(salt, 0..rows))
        .unwrap();
    let mut kid = spawn_kid("replacer", &path, &[]);
    assert_eq!(kid.recv(), "ready");
    let mut seen = [0usize; 2];
    let mut opens = 0;
    let (mut last, mut switches) = (None, 0);
    while std::time::Instant::now() < deadline
        && (opens < MIN_OPENS || seen.iter().any(|&n| n < 20) || switches < MIN_SWITCHES)
    {
        // SAFETY: the test's own file; its processes write it in the turns the pipes order, never bytes a live view of another process is reading.
        let a = match unsafe { MappedArray::<u64>::open(&path) } {
            Ok(a) => a,
            Err(e) => kid.fail(&format!("open {opens} during a replace: {e:?}")),
        };
        let k = match REPLACEMENTS
            .iter()
            .position(|&(rows, _)| a.shape() == [rows, COLS])
        {
            Some(k) => k,
            None => kid.fail(&format!("open {opens}: shape {:?}", a.shape())),
        };
        if let Some(m) = first_mismatch(a.as_slice(), REPLACEMENTS[k].1, 0) {
            kid.fail(&format!("open {opens}: {m}"));
        }
        seen[k] += 1;
        opens += 1;
        switches += usize::from(last.is_some_and(|j| j != k));
        last = Some(k);
    }
    kid.send("stop");
    let replaced: usize = kid.expect("replaced").parse().unwrap();
    kid.finish();
    eprintln!("{opens} opens saw {seen:?} ({switches} switches); {replaced} replacements");
    assert!(seen.iter().all(|&n| n >= 20), "both arrays seen: {seen:?}");
    assert!(
        switches >= MIN_SWITCHES,
        "{switches} switches seen in {opens} opens"
    );
    assert!(
        replaced >= switches,
        "{replaced} replacements, {switches} seen"
    );
    // Nothing left behind by the replacements.
    assert_eq!(dir_names(dir.path()), ["replaced.dat", "replaced.dat.json"]);
}

// ---------------------------------------------------------------------------
// Soundness: the map lock, the appender, stale handles, sealed memory

/// Opens the array read-only (`mode` 0) or read-write alone (`mode` 1) and
/// says `held`, or `busy <action>` when refused; drops it on `release`.
fn child_holder(path: &Path, mode: u64) {
    // SAFETY: the test's own file; its writers write nothing another
    // handle reads meanwhile.
    let held: mmarray::Result<Box<dyn std::any::Any>> = unsafe {
        match mode {
            0 => MappedArray::<u64>::open(path).map(|a| Box::new(a) as _),
            _ => MappedArray::<u64>::open_mut(path).map(|a| Box::new(a) as _),
        }
    };
    match held {
        Ok(handle) => {
            say("held");
            assert_eq!(command().as_deref(), Some("release"));
            drop(handle);
            say("released");
        }
        Err(Error::Busy { action, .. }) => say(format_args!("busy {action}")),
        Err(e) => panic!("{e}"),
    }
    while command().is_some() {}
}

/// A live-tail reader: reopens the array over and over while another
/// process appends, checks every row it sees against the pattern `salt`
/// and that the length never goes back, until `stop`; then reports the
/// rows of a last open and how many opens it made.
fn child_tail(path: &Path, salt: u64) {
    let commands = commands_in_background();
    say("reading");
    let (mut last, mut opens) = (0usize, 0u64);
    loop {
        let stop = stop_requested(&commands);
        // SAFETY: the appender writes only past the published rows this
        // mapping covers; nothing else writes the file.
        let a = unsafe { MappedArray::<u64>::open(path) }.unwrap();
        let rows = a.shape()[0];
        assert!(rows >= last, "the length went back from {last} to {rows}");
        if let Some(m) = first_mismatch(a.as_slice(), salt, 0) {
            say(format_args!("bad {m}"));
            return;
        }
        (last, opens) = (rows, opens + 1);
        if stop {
            break;
        }
    }
    say(format_args!("seen {last} {opens}"));
    while command().is_some() {}
}

/// Holds the array read-write alone (1 row when opened), and on `attrs`
/// sets attrs through that stale handle; drops it on `close`.
fn child_stale(path: &Path) {
    // SAFETY: the test's own file; this handle writes nothing but the
    // sidecar.
    let mut stale = unsafe { MappedArray::<u64>::open_mut(path) }.unwrap();
    say(format_args!("opened {}", stale.shape()[0]));
    assert_eq!(command().as_deref(), Some("attrs"));
    let mut attrs = serde_json::Map::new();
    attrs.insert("by".into(), "stale".into());
    stale.set_attrs(attrs).unwrap();
    say(format_args!("set {}", stale.shape()[0]));
    assert_eq!(command().as_deref(), Some("close"));
    stale.close().unwrap();
    say("closed");
    while command().is_some() {}
}

/// Appends batches of 10 rows of the pattern `salt` with an [`Appender`],
/// publishing each, until `stop`; then closes it and reports the rows.
fn child_store_appender(path: &Path, salt: u64) {
    let commands = commands_in_background();
    let mut log = Appender::<u64>::open(path).unwrap();
    let mut rows = log.rows();
    let mut said = false;
    while !stop_requested(&commands) {
        log.append(&pattern(salt, rows..rows + 10)).unwrap();
        log.publish().unwrap();
        rows += 10;
        if !said {
            say("appending");
            said = true;
        }
    }
    log.close().unwrap();
    say(format_args!("rows {rows}"));
    while command().is_some() {}
}

/// Maps the sealed array of process `pid`'s descriptor `fd` (by its /proc
/// entry), checks it holds `rows` rows of the pattern 1, and tries every
/// way of changing it, reporting what the kernel said.
fn child_sealed(pid: u32, fd: i32, rows: u64) {
    use std::os::unix::fs::FileExt;
    let proc_path = format!("/proc/{pid}/fd/{fd}");
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&proc_path)
        .unwrap();
    let sealed = mmarray::SealedArray::<u64>::from_fd(file.try_clone().unwrap().into()).unwrap();
    assert_eq!(sealed.view().shape(), &[rows as usize, COLS]);
    assert_eq!(first_mismatch(sealed.as_slice(), 1, 0), None);
    let refused = |r: io::Result<()>| match r {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => "refused".to_string(),
        other => format!("allowed {other:?}"),
    };
    let write = refused(file.write_all_at(&[0xFF; 8], 200).map(drop));
    let shrink = refused(file.set_len(8));
    let grow = refused(file.set_len(1 << 20));
    let fallocate = refused(
        rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, 1 << 20)
            .map_err(io::Error::from),
    );
    // SAFETY: the map is never read or written: only whether the kernel
    // grants a writable shared mapping of a sealed memfd is asked.
    let map = refused(unsafe { memmap2::MmapMut::map_mut(&file) }.map(drop));
    say(format_args!("{write} {shrink} {grow} {fallocate} {map}"));
    // Still the parent's values.
    assert_eq!(first_mismatch(sealed.as_slice(), 1, 0), None);
    while command().is_some() {}
}

/// Point 2 of the soundness work across processes: a mapping that can
/// write and any other mapping of the file never coexist, in either
/// order; read-only mappings coexist freely.
#[test]
fn a_writer_and_any_other_mapping_exclude_each_other_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.dat");
    drop(create_shared::<u64>(&path, &[4, COLS]));
    let busy = |r: mmarray::Result<()>, action: &str| match r {
        Err(Error::Busy { action: a, .. }) => assert_eq!(a, action),
        other => panic!("expected Busy ({action}), got {other:?}"),
    };

    // A reader in the child: the parent cannot map for writing, but reads.
    let mut kid = spawn_kid("holder", &path, &[0]);
    assert_eq!(kid.recv(), "held");
    // SAFETY: the test's own file; nothing writes it.
    unsafe {
        busy(
            MappedArray::<u64>::open_mut(&path).map(drop),
            "mapped for writing",
        );
        busy(
            CreateOptions::new()
                .overwrite(true)
                .create::<u64>(&path, &[1])
                .map(drop),
            "replaced",
        );
        assert!(MappedArray::<u64>::open(&path).is_ok());
        assert!(MappedArray::<u64>::open_copy(&path).is_ok());
    }
    kid.send("release");
    assert_eq!(kid.recv(), "released");
    // SAFETY: the child's mapping is gone.
    assert!(unsafe { MappedArray::<u64>::open_mut(&path) }.is_ok());
    kid.finish();

    // A writer in the child: the parent maps nothing.
    let mut kid = spawn_kid("holder", &path, &[1]);
    assert_eq!(kid.recv(), "held");
    // SAFETY: every open is refused.
    unsafe {
        busy(MappedArray::<u64>::open(&path).map(drop), "mapped");
        busy(MappedArray::<u64>::open_copy(&path).map(drop), "mapped");
        busy(
            MappedArray::<u64>::open_shared_mut(&path).map(drop),
            "mapped",
        );
        busy(
            MappedArray::<u64>::open_mut(&path).map(drop),
            "mapped for writing",
        );
    }
    kid.send("release");
    assert_eq!(kid.recv(), "released");
    kid.finish();

    // The parent writes: a child's read-only open is refused.
    // SAFETY: the test's own file; the child's open is refused.
    let w = unsafe { MappedArray::<u64>::open_mut(&path) }.unwrap();
    let mut kid = spawn_kid("holder", &path, &[0]);
    assert_eq!(kid.recv(), "busy mapped");
    kid.finish();
    drop(w);
}

/// Point 3: an [`Appender`] in this process and a reader reopening the
/// array in another, for a second and more: the reader sees only whole,
/// published rows, and at the end every row whose `publish` returned.
#[test]
fn an_appender_and_a_reader_in_another_process_every_published_row_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.dat");
    let mut log = Appender::<u64>::create(&path, &[COLS]).unwrap();
    log.append(&pattern(5, 0..1)).unwrap();
    log.publish().unwrap();
    let mut kid = spawn_kid("tail", &path, &[5]);
    assert_eq!(kid.recv(), "reading");
    let started = Instant::now();
    let mut rows = 1;
    while started.elapsed() < Duration::from_millis(1500) {
        log.append(&pattern(5, rows..rows + 97)).unwrap();
        log.publish().unwrap();
        rows += 97;
    }
    kid.send("stop");
    let seen = kid.expect_numbers("seen");
    assert_eq!(
        seen[0], rows as u64,
        "the last open saw every published row"
    );
    assert!(seen[1] > 1, "the reader opened the array more than once");
    kid.finish();
    log.close().unwrap();
    // No padding left behind, and every row there.
    assert_eq!(fs::metadata(&path).unwrap().len(), (rows * COLS * 8) as u64);
    let all = mmarray::read_array::<u64>(&path).unwrap();
    assert_eq!(first_mismatch(all.as_slice().unwrap(), 5, 0), None);
}

/// Point 8, a stale handle: a handle opened at 1 row sets attrs after
/// another process appended 1,000 rows; the sidecar keeps every committed
/// row, and a later appender's close cuts nothing from under a reader of
/// them.
#[test]
fn a_stale_handle_rewriting_the_sidecar_keeps_every_committed_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.dat");
    let mut log = Appender::<u64>::create(&path, &[COLS]).unwrap();
    log.append(&pattern(3, 0..1)).unwrap();
    log.close().unwrap();
    let mut kid = spawn_kid("stale", &path, &[]);
    assert_eq!(kid.expect_number("opened"), 1);
    // Appending beside the child's exclusive mapping: past its rows.
    let mut log = Appender::<u64>::open(&path).unwrap();
    log.append(&pattern(3, 1..1001)).unwrap();
    log.close().unwrap();
    kid.send("attrs");
    assert_eq!(
        kid.expect_number("set"),
        1001,
        "the stale handle adopted the recorded length"
    );
    let info = mmarray::inspect(&path).unwrap();
    assert_eq!(info.layout().shape(), &[1001, COLS]);
    assert_eq!(info.attrs()["by"], "stale");
    kid.send("close");
    assert_eq!(kid.recv(), "closed");
    kid.finish();
    // A reader of all rows, then another appender that closes beside it.
    // SAFETY: the appender writes past the rows this mapping covers.
    let reader = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    let mut log = Appender::<u64>::open(&path).unwrap();
    log.append(&pattern(3, 1001..1002)).unwrap();
    log.close().unwrap();
    assert_eq!(reader.shape()[0], 1001);
    assert_eq!(first_mismatch(reader.as_slice(), 3, 0), None);
    assert_eq!(mmarray::inspect(&path).unwrap().layout().shape()[0], 1002);
}

/// Point 8, `Store::rename` while another process appends: refused while
/// it appends; afterwards every row is under the new name and no sidecar
/// is left under the old one.
#[test]
fn renaming_a_store_array_while_another_process_appends_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let store = mmarray::Store::create(dir.path().join("s")).unwrap();
    let data = store.path().join("log.dat");
    Appender::<u64>::create(&data, &[COLS])
        .unwrap()
        .close()
        .unwrap();
    let mut kid = spawn_kid("store_appender", &data, &[9]);
    assert_eq!(kid.recv(), "appending");
    let err = store.rename("log", "moved").unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Busy {
                action: "renamed",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("appending"), "{err}");
    kid.send("stop");
    let rows = kid.expect_number("rows");
    kid.finish();
    store.rename("log", "moved").unwrap();
    assert!(!sidecar_of(&data).exists() && !data.exists());
    let moved = mmarray::read_array::<u64>(store.path().join("moved.dat")).unwrap();
    assert_eq!(moved.shape(), &[rows, COLS]);
    assert_eq!(first_mismatch(moved.as_slice().unwrap(), 9, 0), None);
}

/// Point 7 with real processes: a child maps this process's sealed array
/// zero-copy and sees its values; the kernel refuses its `write(2)`,
/// `ftruncate` (shorter and longer), `fallocate` and writable mapping.
#[test]
fn a_sealed_array_is_shared_with_a_child_and_changeable_by_nobody() {
    use std::os::fd::{AsFd, AsRawFd};
    const ROWS: usize = 300;
    let sealed = mmarray::SealedArray::new(&pattern(1, 0..ROWS)).unwrap();
    let fd = sealed.as_fd().as_raw_fd();
    let mut kid = spawn_kid(
        "sealed",
        Path::new("-"),
        &[std::process::id() as u64, fd as u64, ROWS as u64],
    );
    assert_eq!(kid.recv(), "refused refused refused refused refused");
    kid.finish();
    assert_eq!(first_mismatch(sealed.as_slice(), 1, 0), None);
}
