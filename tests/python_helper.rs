//! The numpy helper (`python/mmarray_sidecar.py`) takes part in the lock
//! protocol that keeps a mapped file from being shrunk, replaced or removed:
//! while a real Python process maps an array with `load`, Rust's `resize`
//! down, `create` with `overwrite(true)` and `Store::remove` fail with
//! `Error::Busy`, and the Python process keeps reading it (without the lock,
//! the shrink would kill it with `SIGBUS` at that read). The reverse holds
//! too: `save` refuses to replace a file Rust maps.
//!
//! The interpreter is `$MMARRAY_PYTHON` (default `python3`), as in
//! `numpy_live`: without numpy the tests print "skipped: numpy not
//! available" and pass, unless `MMARRAY_REQUIRE_NUMPY=1`, which makes them
//! fail instead.
//!
//! Each Python process runs [`SCRIPT`]: it prints one line per event on
//! stdout and reads commands from stdin, one per line, and exits when its
//! stdin is closed. Nothing is synchronised by sleeping. Every wait is
//! bounded: the parent fails a test after [`TIMEOUT`], and a Python process
//! exits on its own after a minute (`signal.alarm`) even if its parent is
//! gone. A [`Py`] kills and reaps its process when dropped.

mod common;

use std::ffi::OsString;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::child::{Child as Py, TIMEOUT, drop_unforked};
use common::{dir_names, numpy, sidecar_of};
use mmarray::{CreateOptions, Error, MappedArray, Store};
use ndarray::Array2;

/// How long the parent waits for any one line or exit.
/// Elements per row in every array here.
const COLS: usize = 16;

/// Element `(row, col)` of the pattern `salt`: distinct for each salt, row
/// and column.
fn cell(salt: u64, row: usize, col: usize) -> u64 {
    (salt << 48) | (row * COLS + col) as u64
}

fn pattern(salt: u64, rows: usize) -> Array2<u64> {
    Array2::from_shape_fn((rows, COLS), |(r, c)| cell(salt, r, c))
}

/// The last element of the pattern `salt` with `rows` rows.
fn last(salt: u64, rows: usize) -> u64 {
    cell(salt, rows - 1, COLS - 1)
}

/// Writes a raw `u64` array of the pattern `salt` and its sidecar at `path`.
fn write_array(path: &Path, salt: u64, rows: usize) {
    CreateOptions::new()
        .write(path, &pattern(salt, rows))
        .unwrap();
}

// ---------------------------------------------------------------------------
// The Python side

/// What each Python process runs: `sys.argv[1]` is the role.
///
/// - `hold <path> <mode> <keep>`: `load(path, mode)`; with `keep` `view`,
///   keeps only a view of the last row (`del` of the memmap, then a garbage
///   collection); prints `mapped <rows> <last element>`. Then on each
///   `read` reads the last element again and prints `last <value>`.
/// - `save <path> <rows>`: `save(path, ...)` of `rows` rows of zeros; prints
///   `saved` or `busy <message>`.
const SCRIPT: &str = r#"
import gc, os, signal, sys
signal.alarm(60)  # never outlive a lost parent by long
sys.path.insert(0, os.environ["MMARRAY_PY_DIR"])
import numpy as np
import mmarray_sidecar as ms

def say(*words):
    print(*words, flush=True)

role, path = sys.argv[1], sys.argv[2]
if role == "hold":
    mode, keep = sys.argv[3], sys.argv[4]
    m = ms.load(path, mode=mode)
    rows = m.shape[0]
    if keep == "view":
        v = m[-1:].view(np.ndarray)
        del m
        gc.collect()
        assert "m" not in globals()
    else:
        v = m
    say("mapped", rows, int(v[-1, -1]))
    for line in sys.stdin:
        if line.strip() == "read":
            say("last", int(v[-1, -1]))
        else:
            raise SystemExit(f"unknown command {line!r}")
elif role == "save":
    try:
        ms.save(path, np.zeros((int(sys.argv[3]), 16), dtype=np.uint64))
        say("saved")
    except ms.BusyError as e:
        assert isinstance(e, BlockingIOError) and e.filename == path, (e, e.filename)
        say("busy", e)
else:
    raise SystemExit(f"unknown role {role!r}")
"#;

/// Spawns a Python process running `args[0]` (its role) of [`SCRIPT`].
fn spawn_py(exe: &OsString, args: &[&str]) -> Py {
    let helper_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let mut command = Command::new(exe);
    command
        .arg("-c")
        .arg(SCRIPT)
        .args(args)
        .env("MMARRAY_PY_DIR", helper_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    Py::spawn(command, &format!("python {}", args.join(" ")), "")
}

/// Has the process read its last element again, and checks the value.
#[track_caller]
fn reads_last(py: &mut Py, expected: u64) {
    py.send("read");
    let got = py.expect_numbers("last");
    if got != [expected] {
        py.fail(&format!("read {got:?}, expected [{expected}]"));
    }
}

/// A Python process that maps `path` with `load(path, mode)` (keeping only a
/// view with `keep` `"view"`), once it says it has: rows and last element.
fn holder(exe: &OsString, path: &Path, mode: &str, keep: &str) -> (Py, Vec<u64>) {
    let mut py = spawn_py(exe, &["hold", path.to_str().unwrap(), mode, keep]);
    let mapped = py.expect_numbers("mapped");
    (py, mapped)
}

#[track_caller]
fn assert_busy<T: std::fmt::Debug>(result: mmarray::Result<T>, path: &Path, action: &str) {
    match result {
        Err(Error::Busy { path: p, action: a }) if p == path && a == action => {}
        other => panic!(
            "expected Busy {{ {}, {action:?} }}, got {other:?}",
            path.display()
        ),
    }
}

// ---------------------------------------------------------------------------
// While numpy maps an array, Rust cannot shrink, replace or remove it

#[test]
fn resize_down_is_busy_while_numpy_maps_the_array_and_succeeds_after() {
    let Some(exe) = numpy() else { return };
    const ROWS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    for (salt, mode) in [(1, "r"), (2, "r+"), (3, "c")] {
        let path = dir.path().join(format!("resize-{salt}.dat"));
        write_array(&path, salt, ROWS);
        let (mut py, mapped) = holder(exe, &path, mode, "memmap");
        assert_eq!(mapped, [ROWS as u64, last(salt, ROWS)], "mode {mode}");

        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let mut a = unsafe { MappedArray::<u64>::open_mut(&path) }.unwrap();
        assert_busy(a.resize(1), &path, "resized");
        assert_eq!(fs::metadata(&path).unwrap().len(), (ROWS * COLS * 8) as u64);
        assert_eq!(a.shape(), &[ROWS, COLS]);
        // The numpy process still reads its last page: no SIGBUS.
        reads_last(&mut py, last(salt, ROWS));
        py.finish();

        a.resize(1).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), (COLS * 8) as u64);
        drop(a);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        assert_eq!(
            unsafe { MappedArray::<u64>::open(&path) }.unwrap().shape(),
            &[1, COLS]
        );
    }
}

#[test]
fn overwrite_is_busy_while_numpy_maps_the_array_and_succeeds_after() {
    let Some(exe) = numpy() else { return };
    const ROWS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overwrite.dat");
    write_array(&path, 4, ROWS);
    let inode = fs::metadata(&path).unwrap().ino();
    let sidecar_before = fs::read(sidecar_of(&path)).unwrap();
    let (mut py, mapped) = holder(exe, &path, "r", "memmap");
    assert_eq!(mapped, [ROWS as u64, last(4, ROWS)]);

    let replace = || {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe {
            CreateOptions::new()
                .overwrite(true)
                .create::<u64>(&path, &[1, COLS])
        }
    };
    assert_busy(replace(), &path, "replaced");
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "replaced anyway");
    assert_eq!(fs::read(sidecar_of(&path)).unwrap(), sidecar_before);
    assert_eq!(
        dir_names(dir.path()),
        ["overwrite.dat", "overwrite.dat.json"]
    );
    reads_last(&mut py, last(4, ROWS));
    py.finish();

    let a = replace().unwrap();
    assert_eq!(a.shape(), &[1, COLS]);
    assert_ne!(fs::metadata(&path).unwrap().ino(), inode);
}

#[test]
fn store_remove_is_busy_while_numpy_maps_the_array_and_succeeds_after() {
    let Some(exe) = numpy() else { return };
    const ROWS: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("store")).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { store.create_array::<u64>("temps", &[ROWS, COLS]) }.unwrap();
    a.view_mut().assign(&pattern(5, ROWS).into_dyn());
    a.flush().unwrap();
    let path = a.path().to_path_buf();
    drop_unforked(a);
    let (mut py, mapped) = holder(exe, &path, "r", "memmap");
    assert_eq!(mapped, [ROWS as u64, last(5, ROWS)]);

    assert_busy(store.remove("temps"), &path, "removed");
    assert!(store.contains("temps"));
    assert!(path.exists() && sidecar_of(&path).exists());
    reads_last(&mut py, last(5, ROWS));
    py.finish();

    store.remove("temps").unwrap();
    assert!(!store.contains("temps"));
}

#[test]
fn a_view_kept_after_the_memmap_is_deleted_still_holds_the_lock() {
    let Some(exe) = numpy() else { return };
    const ROWS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("view.dat");
    write_array(&path, 6, ROWS);
    // The script deletes the memmap and collects garbage before it says
    // `mapped`: only a plain ndarray view of the last row is left.
    let (mut py, mapped) = holder(exe, &path, "r", "view");
    assert_eq!(mapped, [ROWS as u64, last(6, ROWS)]);

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::open_mut(&path) }.unwrap();
    assert_busy(a.resize(0), &path, "resized");
    assert_busy(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe {
            CreateOptions::new()
                .overwrite(true)
                .create::<u64>(&path, &[1, COLS])
        },
        &path,
        "replaced",
    );
    reads_last(&mut py, last(6, ROWS));
    py.finish();

    a.resize(0).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 0);
}

// ---------------------------------------------------------------------------
// The other way round, and opening during a replacement

#[test]
fn save_over_an_array_rust_maps_is_busy_and_changes_nothing() {
    let Some(exe) = numpy() else { return };
    const ROWS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.dat");
    write_array(&path, 7, ROWS);
    let data_before = fs::read(&path).unwrap();
    let sidecar_before = fs::read(sidecar_of(&path)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();

    let mut py = spawn_py(exe, &["save", path.to_str().unwrap(), "3"]);
    let message = py.expect("busy");
    py.finish();
    assert!(
        message.contains(path.to_str().unwrap()) && message.contains("in use"),
        "{message}"
    );
    assert!(fs::read(&path).unwrap() == data_before, "the data changed");
    assert_eq!(fs::read(sidecar_of(&path)).unwrap(), sidecar_before);
    assert_eq!(dir_names(dir.path()), ["saved.dat", "saved.dat.json"]);
    assert_eq!(a.as_slice().last(), Some(&last(7, ROWS)));

    drop_unforked(a);
    let mut py = spawn_py(exe, &["save", path.to_str().unwrap(), "3"]);
    py.expect("saved");
    py.finish();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(a.shape(), &[3, COLS]);
    assert!(a.as_slice().iter().all(|&x| x == 0));
    assert_eq!(dir_names(dir.path()), ["saved.dat", "saved.dat.json"]);
}

/// Whether `/proc/locks` shows process `pid` waiting for a flock on inode
/// `ino`; `None` where there is no `/proc/locks`.
fn waits_for_flock(pid: u32, ino: u64) -> Option<bool> {
    let locks = fs::read_to_string("/proc/locks").ok()?;
    // "12: -> FLOCK  ADVISORY  READ 4321 fe:00:123456 0 EOF"
    let inode = format!(":{ino}");
    Some(locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"->")
            && fields.get(2) == Some(&"FLOCK")
            && fields.get(5) == Some(&pid.to_string().as_str())
            && fields.get(6).is_some_and(|f| f.ends_with(&inode))
    }))
}

#[test]
fn load_waits_out_an_exclusive_lock_and_maps_the_file_that_replaced_it() {
    let Some(exe) = numpy() else { return };
    const OLD_ROWS: usize = 4;
    const NEW_ROWS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replaced.dat");
    write_array(&path, 8, OLD_ROWS);
    let old_inode = fs::metadata(&path).unwrap().ino();
    // What mmarray's `overwrite(true)` holds while it builds and renames.
    let exclusive = File::open(&path).unwrap();
    exclusive.lock().unwrap();

    let mut py = spawn_py(exe, &["hold", path.to_str().unwrap(), "r", "memmap"]);
    // Let it open the old file and block on its lock, when that can be seen.
    let deadline = Instant::now() + TIMEOUT;
    while waits_for_flock(py.pid(), old_inode) == Some(false) {
        if Instant::now() > deadline {
            py.fail("never waited for the lock");
        }
        thread::sleep(Duration::from_millis(2));
    }
    // Replace both files: the old file's sidecar now describes the new one,
    // which is longer than the old file.
    let new = dir.path().join("new.dat");
    write_array(&new, 9, NEW_ROWS);
    fs::rename(sidecar_of(&new), sidecar_of(&path)).unwrap();
    fs::rename(&new, &path).unwrap();
    drop_unforked(exclusive);

    assert_eq!(
        py.expect_numbers("mapped"),
        [NEW_ROWS as u64, last(9, NEW_ROWS)]
    );
    assert_busy(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u64>::open_mut(&path) }
            .unwrap()
            .resize(1),
        &path,
        "resized",
    );
    py.finish();
}
