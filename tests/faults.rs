//! Faults: full disks, file-size limits, permissions, directories where
//! files should be, and data files that are not what their sidecar says.
//! Each is a typed error naming the file, never a crash (`SIGBUS`,
//! `SIGXFSZ`), and never a half-made array left behind.
//!
//! Tests that need a process of their own re-run this test binary as a
//! child, `current_exe() --exact child --nocapture --test-threads=1`, with
//! the job in `MMARRAY_FAULTS_JOB` and its directory in `MMARRAY_FAULTS_DIR`,
//! started through a wrapper:
//!
//! - `sh -c 'trap "" XFSZ; ulimit -f N; exec ...'` for a file-size limit
//!   (`SIGXFSZ` ignored, so that going past the limit is an `EFBIG` error
//!   rather than the signal's default, death);
//! - `unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o
//!   size=2m tmpfs DIR; exec ...'` for a small file system of the child's
//!   own, which vanishes with it (skipped, saying why, where user
//!   namespaces are not allowed);
//! - `unshare --user` (no uid mapping) to run without root's power over
//!   file permissions, when the tests run as root.
//!
//! [`child`] is a test that does nothing unless those variables are set;
//! a job's assertions run in the child, which the parent requires to exit
//! successfully, not by a signal.
//!
//! Related tests elsewhere: `tests/errors.rs` has
//! `data_file_missing_is_an_io_error` (a sidecar pointing at a missing data
//! file), `a_directory_is_not_an_array` (a directory opened read-only) and
//! `read_write_on_a_read_only_file_is_an_io_error` (without root);
//! `tests/multiprocess.rs` has
//! `opening_while_another_process_shrinks_never_sees_a_short_file`.

#![cfg(unix)]

mod common;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{dir_names, running_as_root, sidecar_json, sidecar_of, write_raw};
use mmarray::{CreateOptions, Error, MappedArray};
use ndarray::{Array2, Ix2};

const ENV_JOB: &str = "MMARRAY_FAULTS_JOB";
const ENV_DIR: &str = "MMARRAY_FAULTS_DIR";
/// Marks the child's reports among the test harness's own output.
const MARK: &str = "@faults:";
/// A child exits by itself after this long, whatever happens.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
/// Elements per row of the growable arrays here: 128-byte rows.
const COLS: usize = 16;
/// The file-size limit the `ulimit` tests set, in `sh`'s 512-byte blocks:
/// 1,536,000 bytes, on purpose not a power of two, so that doubling the
/// capacity passes the limit before the rows do.
const FSIZE_BLOCKS: u64 = 3000;
/// The small file system's size.
const TMPFS_SIZE: &str = "2m";

// ---------------------------------------------------------------------------
// Helpers

/// Row `r` of the growable arrays: `r * COLS + c` in column `c`.
fn rows(first: usize, n: usize) -> Array2<u64> {
    Array2::from_shape_fn((n, COLS), |(r, c)| ((first + r) * COLS + c) as u64)
}

/// Asserts that `a` holds exactly rows `0..n` of the pattern.
fn assert_rows<M: mmarray::Mode>(a: &MappedArray<u64, M>, n: usize) {
    assert_eq!(a.shape(), &[n, COLS]);
    assert!(
        a.view_dim::<Ix2>().unwrap() == rows(0, n),
        "row values differ"
    );
}

/// Asserts that `err` is an `Error::Io` about `path`, whose action contains
/// `action` and whose source has `kind`, and that its message names the file.
#[track_caller]
fn assert_io(err: &Error, path: &Path, action: &str, kind: ErrorKind) {
    match err {
        Error::Io {
            path: p,
            action: a,
            source,
        } => {
            assert_eq!(p, path, "{err}");
            assert!(a.contains(action), "action {a:?}: {err}");
            assert_eq!(source.kind(), kind, "{err}");
        }
        other => panic!(
            "expected an Io error about {}, got {other:?}",
            path.display()
        ),
    }
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(err.to_string().contains(&*name), "{err}");
}

/// Replacing an array in `dir` with a preallocated one of `shape` that
/// cannot fit fails with `kind`, and leaves the old array (returned) as it
/// was.
fn a_failed_overwrite_keeps_the_old_array(dir: &Path, shape: &[usize], kind: ErrorKind) -> PathBuf {
    let old = dir.join("old.dat");
    small_array(&old, 4, 7.0);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .preallocate(true)
            .create::<f64>(&old, shape)
    }
    .unwrap_err();
    assert_io(&err, &old, "reserving disk space", kind);
    assert_small_array(&old, 4, 7.0);
    assert_eq!(dir_names(dir), ["old.dat", "old.dat.json"]);
    old
}

/// A small raw `f32` array of `rows` x 4, every element `value`.
fn small_array(path: &Path, rows: usize, value: f32) {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<f32>::create(path, &[rows, 4]) }.unwrap();
    a.view_mut().fill(value);
    a.flush().unwrap();
}

fn assert_small_array(path: &Path, rows: usize, value: f32) {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<f32>::open(path) }.unwrap();
    assert_eq!(a.shape(), &[rows, 4]);
    assert!(a.as_slice().iter().all(|&x| x == value));
}

/// Sends a report to the parent.
fn say(message: impl std::fmt::Display) {
    println!("{MARK}{message}");
}

/// The child's reports.
fn reports(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.find(MARK).map(|at| l[at + MARK.len()..].to_string()))
        .collect()
}

/// The child's report starting with `word`, parsed as a number.
fn reported(out: &Output, word: &str) -> usize {
    reports(out)
        .iter()
        .find_map(|r| r.strip_prefix(word))
        .unwrap_or_else(|| panic!("no `{word}` report in {:?}", reports(out)))
        .trim()
        .parse()
        .unwrap()
}

/// Runs `job` on `dir` in a child started by `wrapper` (a command line
/// that ends by running the program and arguments appended to it), and
/// asserts that it exited successfully, not by a signal.
fn run_child(job: &str, dir: &Path, wrapper: &[&str]) -> Output {
    let out = child_command(job, dir, wrapper)
        .output()
        .expect("starting the child");
    if !out.status.success() {
        let signal = match out.status.signal() {
            Some(7) => " by SIGBUS".to_string(),
            Some(25) => " by SIGXFSZ".to_string(),
            Some(s) => format!(" by signal {s}"),
            None => String::new(),
        };
        panic!(
            "child `{job}` failed{signal} ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

fn child_command(job: &str, dir: &Path, wrapper: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    command
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(ENV_JOB, job)
        .env(ENV_DIR, dir);
    command
}

/// Whether `wrapper` can start this binary (as a child with no job, which
/// does nothing); if not, the reason, from its stderr.
fn can_run(wrapper: &[&str], dir: &Path) -> Result<(), String> {
    let out = child_command("", dir, wrapper)
        .env_remove(ENV_JOB)
        .output()
        .map_err(|e| format!("{}: {e}", wrapper[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` fails here ({}): {}",
            wrapper.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The wrapper for a file-size limit of [`FSIZE_BLOCKS`].
fn fsize_limit() -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("trap '' XFSZ; ulimit -f {FSIZE_BLOCKS} && exec \"$0\" \"$@\""),
    ]
}

/// The wrapper for a private tmpfs of [`TMPFS_SIZE`] mounted on the job's
/// directory.
fn small_file_system() -> Vec<String> {
    private_mount(&format!("-t tmpfs -o size={TMPFS_SIZE} tmpfs"))
}

/// The wrapper for a private ramfs, which has no `fallocate`, mounted on
/// the job's directory.
fn file_system_without_fallocate() -> Vec<String> {
    private_mount("-t ramfs ramfs")
}

/// The wrapper that mounts `mount_args` on the job's directory in a user
/// and mount namespace of the child's own.
fn private_mount(mount_args: &str) -> Vec<String> {
    vec![
        "unshare".into(),
        "--user".into(),
        "--map-root-user".into(),
        "--mount".into(),
        "sh".into(),
        "-c".into(),
        format!("mount {mount_args} \"${ENV_DIR}\" && exec \"$0\" \"$@\""),
    ]
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The soft limit on file size from `/proc/self/limits`, in bytes.
fn file_size_limit() -> u64 {
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max file size"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(FSIZE_BLOCKS * 512)
}

// ---------------------------------------------------------------------------
// The child's side

/// The child processes' entry point: a no-op unless run by [`run_child`].
#[test]
fn child() {
    let Ok(job) = std::env::var(ENV_JOB) else {
        return;
    };
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_LIFETIME);
        eprintln!("child watchdog: still running after {CHILD_LIFETIME:?}, exiting");
        std::process::exit(3);
    });
    let dir = PathBuf::from(std::env::var_os(ENV_DIR).expect("MMARRAY_FAULTS_DIR"));
    match job.as_str() {
        "create past the limit" => child_create_past_limit(&dir),
        "append past the limit" => child_append_past_limit(&dir),
        "full file system" => child_full_file_system(&dir),
        "permissions" => child_permissions(&dir),
        "no fallocate" => child_no_fallocate(&dir),
        other => panic!("unknown job {other:?}"),
    }
}

/// Under a file-size limit: creating an array past it is an `EFBIG` error
/// naming the file, with or without preallocation, raw or `.npy`, and
/// leaves nothing; a failed `overwrite` leaves the old array as it was.
fn child_create_past_limit(dir: &Path) {
    assert_eq!(file_size_limit(), FSIZE_BLOCKS * 512, "sh's ulimit -f unit");
    let shape = [1024, 1024]; // 8 MiB of f64: past the limit
    for (name, preallocate, action) in [
        ("big.dat", true, "reserving disk space"),
        ("big.npy", true, "reserving disk space"),
        ("sparse.dat", false, "setting the data file's length"),
    ] {
        let path = dir.join(name);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe {
            CreateOptions::new()
                .preallocate(preallocate)
                .create::<f64>(&path, &shape)
        }
        .unwrap_err();
        assert_io(&err, &path, action, ErrorKind::FileTooLarge);
        assert_eq!(
            dir_names(dir),
            Vec::<String>::new(),
            "left behind by {name}"
        );
    }

    a_failed_overwrite_keeps_the_old_array(dir, &shape, ErrorKind::FileTooLarge);
    say("done");
}

/// Under a file-size limit: appending batches (committing each) goes on
/// right up to the limit, even though doubling the capacity passes it
/// earlier; the batch that would pass it is an `EFBIG` error naming the
/// file, and the array keeps every row it had.
fn child_append_past_limit(dir: &Path) {
    const BATCH: usize = 256; // 32 KiB
    let limit = file_size_limit();
    let path = dir.join("log.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::create(&path, &[0, COLS]) }.unwrap();
    let mut len = 0;
    let err = loop {
        match a.append(&rows(len, BATCH)) {
            Ok(()) => len += BATCH,
            Err(e) => break e,
        }
        a.commit().unwrap();
    };
    assert_io(
        &err,
        &path,
        "growing the data file",
        ErrorKind::FileTooLarge,
    );
    let row_bytes = (COLS * 8) as u64;
    assert!((len as u64) * row_bytes <= limit);
    assert!(
        (len + BATCH) as u64 * row_bytes > limit,
        "stopped at {len} rows, short of the {limit}-byte limit"
    );
    assert_rows(&a, len);
    a.commit().unwrap();
    drop(a);
    say(format_args!("committed {len}"));
}

/// On a full file system: creating with preallocation is an `ENOSPC` error
/// naming the file and leaves nothing (an `overwrite` leaves the old array);
/// appending until the disk is full ends in an `ENOSPC` error from
/// `append`, not a `SIGBUS`, with every committed row intact on reopen.
fn child_full_file_system(dir: &Path) {
    const BATCH: usize = 512; // 64 KiB
    let big = [1024, 1024]; // 8 MiB of f64 on a 2 MiB file system
    for name in ["big.dat", "big.npy"] {
        let path = dir.join(name);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe {
            CreateOptions::new()
                .preallocate(true)
                .create::<f64>(&path, &big)
        }
        .unwrap_err();
        assert_io(&err, &path, "reserving disk space", ErrorKind::StorageFull);
        assert_eq!(
            dir_names(dir),
            Vec::<String>::new(),
            "left behind by {name}"
        );
    }
    let old = a_failed_overwrite_keeps_the_old_array(dir, &big, ErrorKind::StorageFull);
    fs::remove_file(&old).unwrap();
    fs::remove_file(sidecar_of(&old)).unwrap();

    // Without preallocation the same array is created, sparse: writing it
    // all would kill the process with SIGBUS. (Not written here.)
    let sparse = dir.join("sparse.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<f64>::create(&sparse, &big) }.unwrap());
    fs::remove_file(&sparse).unwrap();
    fs::remove_file(sidecar_of(&sparse)).unwrap();

    let path = dir.join("log.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::create(&path, &[0, COLS]) }.unwrap();
    let mut len = 0;
    let err = loop {
        match a.append(&rows(len, BATCH)) {
            Ok(()) => len += BATCH,
            Err(e) => break e,
        }
        if let Err(e) = a.commit() {
            panic!("commit after {len} rows failed before an append did: {e}");
        }
    };
    assert_io(
        &err,
        &path,
        "reserving disk space for the rows",
        ErrorKind::StorageFull,
    );
    assert!(len >= 8 * BATCH, "the disk was full after only {len} rows");
    assert_rows(&a, len);
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_rows(&a, len);

    // Fill the last blocks; then a (sparse) create whose sidecar finds no
    // room fails naming the sidecar, not a temporary file, and leaves
    // nothing: no data file without a sidecar, and a retry fails the same
    // way instead of finding "an array already exists".
    let filler = dir.join("filler");
    {
        use std::io::Write;
        let mut f = fs::File::create(&filler).unwrap();
        while f.write_all(&[1u8; 4096]).is_ok() {}
    }
    let late = dir.join("late.dat");
    for attempt in 0..2 {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe { MappedArray::<u8>::create(&late, &[100]) }.unwrap_err();
        assert_io(&err, &sidecar_of(&late), "writing", ErrorKind::StorageFull);
        assert!(
            !err.to_string().contains(".tmp-"),
            "attempt {attempt}: {err}"
        );
        assert_eq!(dir_names(dir), ["filler", "log.dat", "log.dat.json"]);
    }
    fs::remove_file(&filler).unwrap();
    say(format_args!("committed {len}"));
}

/// Where the file system has no `fallocate` (ramfs), preallocation writes
/// zeros: every byte is allocated and reads as zero, a `.npy` header is
/// left intact, and growth reserving space ahead of the rows never
/// overwrites a row.
fn child_no_fallocate(dir: &Path) {
    let allocated = |p: &Path| fs::metadata(p).unwrap().blocks() * 512;
    for name in ["dense.dat", "dense.npy"] {
        let path = dir.join(name);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe {
            CreateOptions::new()
                .preallocate(true)
                .create::<f32>(&path, &[1024, 1024])
        }
        .unwrap();
        // Before anything reads it: reading a ramfs hole allocates it too.
        assert!(allocated(&path) >= 4 << 20, "{name}: {}", allocated(&path));
        assert!(a.as_slice().iter().all(|&x| x == 0.0), "{name}");
        assert_eq!(fs::metadata(&path).unwrap().len(), a.layout().end());
        drop(a);
        assert_eq!(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            unsafe { MappedArray::<f32>::open(&path) }.unwrap().shape(),
            &[1024, 1024]
        );
    }

    let path = dir.join("log.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::create(&path, &[0, COLS]) }.unwrap();
    let mut len = 0;
    for batch in [1, 7, 300, 8192, 5, 20_000, 3] {
        a.append(&rows(len, batch)).unwrap();
        len += batch;
        if batch % 2 == 1 {
            a.commit().unwrap();
        }
    }
    a.resize(100).unwrap();
    a.append(&rows(100, 50)).unwrap();
    len = 150;
    a.commit().unwrap();
    assert_rows(&a, len);
    assert!(allocated(&path) >= (len * COLS * 8) as u64);
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_rows(&unsafe { MappedArray::<u64>::open(&path) }.unwrap(), len);
    say("done");
}

/// Without the power to ignore permissions: files the user may not read,
/// write or create in are `Io` errors with `PermissionDenied`, naming the
/// file (the data file or the sidecar, whichever was refused).
fn child_permissions(dir: &Path) {
    let data = dir.join("noread.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open(&data) }.unwrap_err();
    assert_io(
        &err,
        &data,
        "opening the data file",
        ErrorKind::PermissionDenied,
    );

    let data = dir.join("nosidecar.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open(&data) }.unwrap_err();
    assert_io(
        &err,
        &sidecar_of(&data),
        "opening the sidecar",
        ErrorKind::PermissionDenied,
    );

    // A read-only file maps read-only and copy-on-write, not read-write.
    let data = dir.join("readonly.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<f32>::open(&data) }.unwrap().len(), 2);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut copy = unsafe { MappedArray::<f32>::open_copy(&data) }.unwrap();
    copy.view_mut()[0] = 1.0;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open_mut(&data) }.unwrap_err();
    assert_io(
        &err,
        &data,
        "opening the data file",
        ErrorKind::PermissionDenied,
    );

    let new = dir.join("locked").join("new.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::create(&new, &[2]) }.unwrap_err();
    assert_io(
        &err,
        &new,
        "creating the data file",
        ErrorKind::PermissionDenied,
    );
    say("done");
}

// ---------------------------------------------------------------------------
// The tests

/// `preallocate(true)` allocates every byte of the array (raw or `.npy`,
/// `create` or zero-filled `create_filled`), which still reads as zeros;
/// without it the file is sparse.
#[test]
fn preallocate_allocates_every_byte_and_the_default_is_sparse() {
    let dir = tempfile::tempdir().unwrap();
    let allocated = |p: &Path| fs::metadata(p).unwrap().blocks() * 512;
    const BYTES: u64 = 4 << 20;
    for name in ["dense.dat", "dense.npy"] {
        let path = dir.path().join(name);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let a = unsafe {
            CreateOptions::new()
                .preallocate(true)
                .create::<f32>(&path, &[1024, 1024])
        }
        .unwrap();
        assert!(a.as_slice().iter().all(|&x| x == 0.0));
        assert!(allocated(&path) >= BYTES, "{name}: {}", allocated(&path));
        assert_eq!(fs::metadata(&path).unwrap().len(), a.layout().end());
    }
    let path = dir.path().join("filled.dat");
    CreateOptions::new()
        .preallocate(true)
        .create_filled(
            &path,
            "<f4".parse().unwrap(),
            &[1024, 1024],
            mmarray::Scalar::Int(0),
        )
        .unwrap();
    assert!(allocated(&path) >= BYTES);

    let sparse = dir.path().join("sparse.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<f32>::create(&sparse, &[1024, 1024]) }.unwrap());
    assert!(allocated(&sparse) < BYTES / 4, "{}", allocated(&sparse));
    // Empty and 0-d arrays: nothing to reserve.
    let empty = dir.path().join("empty.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let e = unsafe {
        CreateOptions::new()
            .preallocate(true)
            .create::<f32>(&empty, &[0, 4])
    }
    .unwrap();
    assert_eq!((e.len(), fs::metadata(&empty).unwrap().len()), (0, 0));
}

/// Appending reserves the disk space under the rows it writes (a little
/// ahead of them, never the whole geometric capacity): the file's allocated
/// bytes follow the rows, not the file's length.
#[test]
fn appending_reserves_the_rows_written_not_the_whole_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::create(&path, &[0, COLS]) }.unwrap();
    let batch = 8192; // 1 MiB
    for i in 0..5 {
        a.append(&rows(i * batch, batch)).unwrap();
    }
    a.commit().unwrap();
    let meta = fs::metadata(&path).unwrap();
    let data = (5 * batch * COLS * 8) as u64;
    assert!(meta.len() >= 8 << 20, "capacity {}", meta.len());
    assert!(meta.blocks() * 512 >= data, "{}", meta.blocks() * 512);
    assert!(
        meta.blocks() * 512 <= data + (2 << 20),
        "{} bytes allocated for {data} bytes of rows",
        meta.blocks() * 512
    );
    assert_rows(&a, 5 * batch);
}

/// Under `ulimit -f`: creating an array past the limit (with or without
/// preallocation, raw or `.npy`) is an `Error::Io` naming the file with
/// `ErrorKind::FileTooLarge`, leaves no file behind, and an `overwrite`
/// that fails so leaves the old array as it was.
#[test]
fn creating_past_a_file_size_limit_is_an_error_that_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(
        "create past the limit",
        dir.path(),
        &as_strs(&fsize_limit()),
    );
    assert_eq!(reports(&out), ["done"]);
    // Seen from a process without the limit, too.
    assert_eq!(dir_names(dir.path()), ["old.dat", "old.dat.json"]);
    assert_small_array(&dir.path().join("old.dat"), 4, 7.0);
}

/// Under `ulimit -f`: appending (and committing) batch after batch goes
/// right up to the limit, then the batch that does not fit is an
/// `Error::Io` naming the file, not a crash; reopened by another process,
/// the array holds exactly the rows committed, with their values.
#[test]
fn appending_past_a_file_size_limit_is_an_error_and_keeps_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(
        "append past the limit",
        dir.path(),
        &as_strs(&fsize_limit()),
    );
    let committed = reported(&out, "committed");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u64>::open(dir.path().join("log.dat")) }.unwrap();
    assert_rows(&a, committed);
}

/// Runs the child `role` in `dir` under `wrapper` (a command that mounts
/// `what` for it), or prints why it cannot and returns `None` (skipped).
fn run_child_in(role: &str, dir: &Path, wrapper: &[String], what: &str) -> Option<Output> {
    let wrapper = as_strs(wrapper);
    if let Err(why) = can_run(&wrapper, dir) {
        eprintln!("skipped: cannot mount {what} without privileges: {why}");
        return None;
    }
    Some(run_child(role, dir, &wrapper))
}

/// On a 2 MiB tmpfs of the child's own: creating an 8 MiB array with
/// preallocation is an `Error::Io` naming the file with
/// `ErrorKind::StorageFull` and leaves nothing (or, overwriting, the old
/// array); appending until the file system is full ends with such an error
/// from `append` (growth reserves the space under new rows), not a
/// `SIGBUS`, and the array reopens with every committed row.
#[test]
fn a_full_file_system_is_an_error_at_create_and_append_not_a_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = run_child_in(
        "full file system",
        dir.path(),
        &small_file_system(),
        "a small file system",
    ) else {
        return;
    };
    assert!(reported(&out, "committed") > 0);
    // The file system vanished with the child.
    assert_eq!(dir_names(dir.path()), Vec::<String>::new());
}

/// On a file system without `fallocate` (a private ramfs), preallocating
/// and growing fall back to writing zeros: the space is allocated, the
/// array reads as zeros, `.npy` headers and appended rows are intact.
#[test]
fn without_fallocate_preallocation_writes_zeros_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = run_child_in(
        "no fallocate",
        dir.path(),
        &file_system_without_fallocate(),
        "a ramfs",
    ) else {
        return;
    };
    assert_eq!(reports(&out), ["done"]);
}

/// Files the user may not read (data file or sidecar), a read-only file
/// opened for writing, and a directory the user may not write in are each
/// an `Error::Io` with `PermissionDenied` naming the refused file. Run as
/// an unprivileged child: as is when the tests do not run as root, under
/// `unshare --user` (skipped if unavailable) when they do.
#[test]
fn permission_denied_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    let json = sidecar_json("<f4", &[2], "C", 0);
    for name in ["noread.dat", "nosidecar.dat", "readonly.dat"] {
        write_raw(&dir.path().join(name), &[], &[0u8; 8], &json);
    }
    mode(&dir.path().join("noread.dat"), 0o000);
    mode(&sidecar_of(&dir.path().join("nosidecar.dat")), 0o000);
    mode(&dir.path().join("readonly.dat"), 0o444);
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    mode(&locked, 0o555);
    mode(dir.path(), 0o755); // others may look in, for the unshared child

    let wrapper: &[&str] = if running_as_root() {
        &["unshare", "--user"]
    } else {
        &[]
    };
    if let Err(why) = can_run(wrapper, dir.path()) {
        eprintln!("skipped: running as root, and cannot drop root's privileges: {why}");
        return;
    }
    let out = run_child("permissions", dir.path(), wrapper);
    assert_eq!(reports(&out), ["done"]);
    assert_eq!(dir_names(&locked), Vec::<String>::new());
    assert_eq!(
        fs::read(dir.path().join("readonly.dat")).unwrap(),
        [0u8; 8],
        "the copy-on-write change reached the file"
    );
}

/// A directory where the data file or the sidecar should be: opening it
/// for writing, or reading a sidecar that is a directory, is an
/// `Error::Io` naming it; replacing a directory with `overwrite(true)` is
/// refused up front with `InvalidArgument` (the directory and its
/// neighbours untouched); without `overwrite` it is `AlreadyExists`.
/// (Opening a directory read-only: `errors::a_directory_is_not_an_array`.)
#[test]
fn a_directory_as_data_file_or_sidecar_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("adir.dat");
    fs::create_dir(&sub).unwrap();
    fs::write(sidecar_of(&sub), sidecar_json("<f4", &[2], "C", 0)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open_mut(&sub) }.unwrap_err();
    assert_io(&err, &sub, "opening the data file", ErrorKind::IsADirectory);

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<f32>(&sub, &[2])
    }
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { path, .. } if path == &sub),
        "{err:?}"
    );
    assert!(err.to_string().contains("adir.dat"), "{err}");
    assert!(sub.is_dir());
    assert!(sidecar_of(&sub).is_file(), "the sidecar was removed");
    assert_eq!(dir_names(dir.path()), ["adir.dat", "adir.dat.json"]);
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f32>::create(&sub, &[2]) },
        Err(Error::AlreadyExists { .. })
    ));

    // A sidecar that is a directory.
    let data = dir.path().join("x.dat");
    fs::write(&data, [0u8; 8]).unwrap();
    fs::create_dir(sidecar_of(&data)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open(&data) }.unwrap_err();
    assert_io(
        &err,
        &sidecar_of(&data),
        "reading the sidecar",
        ErrorKind::IsADirectory,
    );
}

/// The data file replaced under its sidecar by another program (not
/// through mmarray): a shorter file is `DataTooShort` naming it, never a
/// view past its end; a longer one is mapped as the sidecar describes it,
/// with its own bytes. A mapping made before either replacement keeps
/// showing the file it mapped, unchanged.
#[test]
fn a_data_file_replaced_under_its_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u64>::create(&path, &[0, COLS]) }.unwrap();
    a.append(&rows(0, 100)).unwrap();
    a.commit().unwrap();
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let held = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    let replace = |bytes: Vec<u8>| {
        let tmp = dir.path().join("new");
        fs::write(&tmp, bytes).unwrap();
        fs::rename(&tmp, &path).unwrap();
    };

    // 50 rows of 7s where the sidecar says 100 rows.
    replace(vec![7u8; 50 * COLS * 8]);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<u64>::open(&path) }.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DataTooShort { path: p, needed: 12800, actual: 6400, .. } if p == &path
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("r.dat"), "{err}");
    assert_rows(&held, 100);

    // 200 rows of 1s: the first 100 are the array now.
    replace(vec![1u8; 200 * COLS * 8]);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let now = unsafe { MappedArray::<u64>::open(&path) }.unwrap();
    assert_eq!(now.shape(), &[100, COLS]);
    assert!(now.as_slice().iter().all(|&x| x == 0x0101_0101_0101_0101));
    assert_rows(&held, 100);

    // Truncated in place while nobody maps it: too short again.
    drop((held, now));
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(8)
        .unwrap();
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u64>::open(&path) },
        Err(Error::DataTooShort { actual: 8, .. })
    ));
}

/// Runs `f` on a thread and fails the test if it has not returned within
/// 20 s: for calls that used to block forever.
#[track_caller]
fn within_seconds<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r,
        Err(_) => panic!("{what} did not return in 20 s: it blocks"),
    }
}

#[track_caller]
fn assert_not_regular(err: &Error, path: &Path, kind: &str) {
    match err {
        Error::InvalidArgument { path: p, message } => {
            assert_eq!(p, path, "{err}");
            assert!(message.contains(kind), "{err}");
            assert!(message.contains("not a regular file"), "{err}");
        }
        other => panic!(
            "expected InvalidArgument about {}, got {other:?}",
            path.display()
        ),
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO as the data file, the sidecar, a `.npy` file, a store entry or
/// the target of `overwrite(true)` is refused at once with a typed error
/// naming it; none of `open`, `inspect`, `Stats::of_path`, `read_array`,
/// `convert`, `describe`, `create` or `Store::list` waits for a
/// writer that never comes. Sockets and character devices are refused
/// the same way.
#[test]
fn fifos_sockets_and_devices_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    within_seconds("calls on special files", move || {
        // The data file is a FIFO.
        let fifo = d.join("fifo.dat");
        mkfifo(&fifo);
        fs::write(sidecar_of(&fifo), sidecar_json("<f4", &[2], "C", 0)).unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        assert_not_regular(
            &unsafe { MappedArray::<f32>::open(&fifo) }.unwrap_err(),
            &fifo,
            "FIFO",
        );
        assert_not_regular(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            &unsafe { MappedArray::<f32>::open_mut(&fifo) }.unwrap_err(),
            &fifo,
            "FIFO",
        );
        assert_not_regular(&mmarray::inspect(&fifo).unwrap_err(), &fifo, "FIFO");
        assert_not_regular(
            &mmarray::inspect(sidecar_of(&fifo)).unwrap_err(),
            &fifo,
            "FIFO",
        );
        assert_not_regular(
            &mmarray::Stats::of_path(&fifo, |_| {}).unwrap_err(),
            &fifo,
            "FIFO",
        );
        assert_not_regular(
            &mmarray::read_array::<f32>(&fifo).unwrap_err(),
            &fifo,
            "FIFO",
        );
        assert_not_regular(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            &unsafe { mmarray::DynArray::open(&fifo) }.err().unwrap(),
            &fifo,
            "FIFO",
        );
        let out = d.join("out.npy");
        let err =
            mmarray::convert(&fifo, &out, &mmarray::ConvertOptions::new(), |_| {}).unwrap_err();
        assert_not_regular(&err, &fifo, "FIFO");
        assert!(!out.exists());
        let err = mmarray::describe(
            &fifo,
            "<f4".parse().unwrap(),
            &[2],
            mmarray::Order::C,
            0,
            true,
        )
        .unwrap_err();
        assert_not_regular(&err, &fifo, "FIFO");

        // The sidecar is a FIFO.
        let data = d.join("data.dat");
        fs::write(&data, [0u8; 8]).unwrap();
        mkfifo(&sidecar_of(&data));
        assert_not_regular(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            &unsafe { MappedArray::<f32>::open(&data) }.unwrap_err(),
            &sidecar_of(&data),
            "FIFO",
        );

        // A `.npy` FIFO.
        let npy = d.join("pipe.npy");
        mkfifo(&npy);
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        assert_not_regular(
            &unsafe { MappedArray::<f32>::open(&npy) }.unwrap_err(),
            &npy,
            "FIFO",
        );

        // The target of overwrite(true): refused, and the FIFO stays.
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe {
            CreateOptions::new()
                .overwrite(true)
                .create::<f32>(&npy, &[2])
        }
        .unwrap_err();
        assert_not_regular(&err, &npy, "FIFO");
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe {
            CreateOptions::new()
                .overwrite(true)
                .create::<f32>(&fifo, &[2])
        }
        .unwrap_err();
        assert_not_regular(&err, &fifo, "FIFO");
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());

        // A socket, and a character device (through a symlink).
        let sock = d.join("sock.dat");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        fs::write(sidecar_of(&sock), sidecar_json("<f4", &[2], "C", 0)).unwrap();
        assert_not_regular(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            &unsafe { MappedArray::<f32>::open(&sock) }.unwrap_err(),
            &sock,
            "socket",
        );
        let null = d.join("null.dat");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        fs::write(sidecar_of(&null), sidecar_json("<f4", &[0], "C", 0)).unwrap();
        assert_not_regular(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            &unsafe { MappedArray::<f32>::open(&null) }.unwrap_err(),
            &null,
            "character device",
        );

        // Store entries: a FIFO `.npy` and a FIFO sidecar.
        let store_dir = d.join("store");
        let store = mmarray::Store::create(&store_dir).unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        drop(unsafe { store.create_array::<f32>("fine", &[2]) }.unwrap());
        // Each is listed with its error (never waited on), beside the
        // arrays that are fine.
        let broken = |name: &str| {
            let entries = store.list().unwrap();
            let names: Vec<&str> = entries.iter().map(|e| e.name()).collect();
            assert_eq!(names, ["fine", name]);
            assert!(entries[0].error().is_none());
            entries.into_iter().nth(1).unwrap().into_info().unwrap_err()
        };
        mkfifo(&store_dir.join("piped.npy"));
        assert_not_regular(&broken("piped"), &store_dir.join("piped.npy"), "FIFO");
        fs::remove_file(store_dir.join("piped.npy")).unwrap();
        fs::write(store_dir.join("side.dat"), [0u8; 8]).unwrap();
        mkfifo(&store_dir.join("side.dat.json"));
        assert_not_regular(&broken("side"), &store_dir.join("side.dat.json"), "FIFO");
    });
}
