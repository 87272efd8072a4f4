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
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{dir_names, numpy, sidecar_of};
use mmarray::{CreateOptions, Error, MappedArray, Store};
use ndarray::Array2;

/// How long the parent waits for any one line or exit.
const TIMEOUT: Duration = Duration::from_secs(20);
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

/// Held while spawning a Python process. Between fork and exec a new
/// process holds a copy of every descriptor of this test process, including
/// data files that other tests have open and locked (they are close-on-exec;
/// `Command::spawn` returns after the exec). A test that needs its own
/// closed handles' locks gone closes them while holding this
/// ([`drop_unforked`]), so that no half-spawned sibling keeps one alive.
static SPAWNING: Mutex<()> = Mutex::new(());

fn no_spawn_in_flight() -> MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops `value` (a mapping, a locked file) with no spawn in flight: once
/// this returns, no process holds a copy of its descriptor.
fn drop_unforked<T>(value: T) {
    let _guard = no_spawn_in_flight();
    drop(value);
}

/// A Python process running one role of [`SCRIPT`]. Dropping it kills and
/// reaps the process.
struct Py {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Py {
    fn spawn(exe: &OsString, args: &[&str]) -> Py {
        let helper_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
        let spawning = no_spawn_in_flight();
        let mut child = Command::new(exe)
            .arg("-c")
            .arg(SCRIPT)
            .args(args)
            .env("MMARRAY_PY_DIR", helper_dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning python");
        drop(spawning);
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Py {
            label: format!("python {} (pid {})", args.join(" "), child.id()),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            status: None,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills and reaps the process, then panics with `what` and its stderr.
    #[track_caller]
    fn fail(&mut self, what: &str) -> ! {
        let status = self.kill();
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        panic!(
            "{}: {what} (exit: {status})\n--- its stderr ---\n{stderr}",
            self.label
        );
    }

    /// The next line, which must start with `word`; returns the rest.
    #[track_caller]
    fn expect(&mut self, word: &str) -> String {
        let line = match self.lines.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail("timed out waiting for a line"),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.wait();
                self.fail(&format!(
                    "exited ({status}) instead of printing `{word} ...`"
                ))
            }
        };
        match line.strip_prefix(word) {
            Some(rest) => rest.trim().to_string(),
            None => self.fail(&format!("expected `{word} ...`, got `{line}`")),
        }
    }

    /// Like [`expect`](Self::expect), parsing the rest as numbers.
    #[track_caller]
    fn expect_numbers(&mut self, word: &str) -> Vec<u64> {
        let rest = self.expect(word);
        match rest.split_whitespace().map(str::parse).collect() {
            Ok(numbers) => numbers,
            Err(_) => self.fail(&format!("`{word} {rest}`: not numbers")),
        }
    }

    /// Sends one command line.
    #[track_caller]
    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        if let Err(e) = writeln!(stdin, "{command}").and_then(|()| stdin.flush()) {
            self.fail(&format!("could not be sent `{command}`: {e}"));
        }
    }

    /// Has the process read its last element again, and checks the value.
    #[track_caller]
    fn reads_last(&mut self, expected: u64) {
        self.send("read");
        let got = self.expect_numbers("last");
        if got != [expected] {
            self.fail(&format!("read {got:?}, expected [{expected}]"));
        }
    }

    /// Waits for the process to exit, within [`TIMEOUT`].
    #[track_caller]
    fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    return status;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                Ok(None) => self.fail("did not exit in time"),
                Err(e) => panic!("waiting for {}: {e}", self.label),
            }
        }
    }

    /// Closes the process's stdin (its signal to finish) and asserts that it
    /// exits successfully: in particular, not killed by `SIGBUS`.
    #[track_caller]
    fn finish(mut self) {
        self.stdin = None;
        let status = self.wait();
        if !status.success() {
            self.fail("failed");
        }
    }

    /// Kills the process (a no-op if it has exited) and reaps it.
    fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("reaping python");
        self.status = Some(status);
        status
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Python process that maps `path` with `load(path, mode)` (keeping only a
/// view with `keep` `"view"`), once it says it has: rows and last element.
fn holder(exe: &OsString, path: &Path, mode: &str, keep: &str) -> (Py, Vec<u64>) {
    let mut py = Py::spawn(exe, &["hold", path.to_str().unwrap(), mode, keep]);
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

        let mut a = MappedArray::<u64>::open_mut(&path).unwrap();
        assert_busy(a.resize(1), &path, "resized");
        assert_eq!(fs::metadata(&path).unwrap().len(), (ROWS * COLS * 8) as u64);
        assert_eq!(a.shape(), &[ROWS, COLS]);
        // The numpy process still reads its last page: no SIGBUS.
        py.reads_last(last(salt, ROWS));
        py.finish();

        a.resize(1).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), (COLS * 8) as u64);
        drop(a);
        assert_eq!(MappedArray::<u64>::open(&path).unwrap().shape(), &[1, COLS]);
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
        CreateOptions::new()
            .overwrite(true)
            .create::<u64>(&path, &[1, COLS])
    };
    assert_busy(replace(), &path, "replaced");
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "replaced anyway");
    assert_eq!(fs::read(sidecar_of(&path)).unwrap(), sidecar_before);
    assert_eq!(
        dir_names(dir.path()),
        ["overwrite.dat", "overwrite.dat.json"]
    );
    py.reads_last(last(4, ROWS));
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
    let mut a = store.create_array::<u64>("temps", &[ROWS, COLS]).unwrap();
    a.view_mut().assign(&pattern(5, ROWS).into_dyn());
    a.flush().unwrap();
    let path = a.path().to_path_buf();
    drop_unforked(a);
    let (mut py, mapped) = holder(exe, &path, "r", "memmap");
    assert_eq!(mapped, [ROWS as u64, last(5, ROWS)]);

    assert_busy(store.remove("temps"), &path, "removed");
    assert!(store.contains("temps"));
    assert!(path.exists() && sidecar_of(&path).exists());
    py.reads_last(last(5, ROWS));
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

    let mut a = MappedArray::<u64>::open_mut(&path).unwrap();
    assert_busy(a.resize(0), &path, "resized");
    assert_busy(
        CreateOptions::new()
            .overwrite(true)
            .create::<u64>(&path, &[1, COLS]),
        &path,
        "replaced",
    );
    py.reads_last(last(6, ROWS));
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
    let a = MappedArray::<u64>::open(&path).unwrap();

    let mut py = Py::spawn(exe, &["save", path.to_str().unwrap(), "3"]);
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
    let mut py = Py::spawn(exe, &["save", path.to_str().unwrap(), "3"]);
    py.expect("saved");
    py.finish();
    let a = MappedArray::<u64>::open(&path).unwrap();
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

    let mut py = Py::spawn(exe, &["hold", path.to_str().unwrap(), "r", "memmap"]);
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
        MappedArray::<u64>::open_mut(&path).unwrap().resize(1),
        &path,
        "resized",
    );
    py.finish();
}
