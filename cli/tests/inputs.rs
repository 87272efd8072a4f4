//! The `mmarray` binary never writes over a file it reads and never waits
//! on a FIFO: `convert`, `create` and `sidecar` refuse a destination that
//! is the same file as an input (one line saying "same file", exit 1), and
//! every command given a FIFO, socket or device returns at once with one
//! line naming it. (`plot -o` onto its input: `show_plot.rs`.) A file of
//! a dtype mmarray does not support is said to be that, naming the dtype.

#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mmarray::CreateOptions;
use ndarray::array;

mod common;

/// Runs the binary, killing it (and failing) if it has not exited in 20 s.
fn mmarray(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mmarray binary runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mmarray {args:?} did not exit in 20 s: it blocks");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Exit 1, one line on stderr, containing each of `words`.
#[track_caller]
fn assert_refused(out: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "no {word:?} in: {stderr}");
    }
}

fn sidecar_of(path: &Path) -> std::path::PathBuf {
    mmarray::sidecar_path(path)
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn convert_onto_its_own_source_or_sidecar_says_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("x.dat");
    CreateOptions::new()
        .write(&src, &array![[1i32, 2], [3, 4]])
        .unwrap();
    let before = (
        std::fs::read(&src).unwrap(),
        std::fs::read(sidecar_of(&src)).unwrap(),
    );
    let link = dir.path().join("link.dat");
    symlink(&src, &link).unwrap();
    for dst in [&src, &sidecar_of(&src), &link] {
        for force in [&[][..], &["--force"][..]] {
            let mut args = vec!["convert", p(&src), p(dst)];
            args.extend_from_slice(force);
            let out = mmarray(&args);
            assert_refused(&out, &["same file"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("retry"), "{stderr}");
        }
    }
    assert_eq!(
        (
            std::fs::read(&src).unwrap(),
            std::fs::read(sidecar_of(&src)).unwrap()
        ),
        before
    );
}

#[test]
fn create_and_sidecar_refuse_a_sidecar_that_is_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.bin");
    std::fs::write(&raw, [5u8; 6]).unwrap();
    symlink(&raw, sidecar_of(&raw)).unwrap();
    let out = mmarray(&[
        "sidecar",
        p(&raw),
        "--dtype",
        "u1",
        "--shape",
        "6",
        "--force",
    ]);
    assert_refused(&out, &["same file", "raw.bin"]);
    let out = mmarray(&[
        "create",
        p(&raw),
        "--dtype",
        "u1",
        "--shape",
        "6",
        "--force",
    ]);
    assert_refused(&out, &["same file", "raw.bin"]);
    assert_eq!(std::fs::read(&raw).unwrap(), [5u8; 6]);
}

#[test]
fn every_command_refuses_a_fifo_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.dat");
    mkfifo(&fifo);
    std::fs::write(
        sidecar_of(&fifo),
        r#"{"version": 1, "dtype": "<f4", "shape": [2]}"#,
    )
    .unwrap();
    let npy = dir.path().join("pipe.npy");
    mkfifo(&npy);
    let out_npy = dir.path().join("out.npy");
    for (args, name) in [
        (vec!["info", p(&fifo)], "pipe.dat"),
        (vec!["info", p(&npy)], "pipe.npy"),
        (vec!["stats", p(&fifo)], "pipe.dat"),
        (vec!["show", p(&npy)], "pipe.npy"),
        (vec!["convert", p(&npy), p(&out_npy)], "pipe.npy"),
        (
            vec![
                "sidecar",
                p(&npy),
                "--dtype",
                "u1",
                "--shape",
                "2",
                "--force",
            ],
            "pipe.npy",
        ),
        (
            vec![
                "create",
                p(&npy),
                "--dtype",
                "u1",
                "--shape",
                "2",
                "--force",
            ],
            "pipe.npy",
        ),
    ] {
        let out = mmarray(&args);
        assert_refused(&out, &[name, "FIFO"]);
    }
    assert!(!out_npy.exists());
    // A sidecar that is a FIFO.
    let data = dir.path().join("d.dat");
    std::fs::write(&data, [0u8; 8]).unwrap();
    mkfifo(&sidecar_of(&data));
    assert_refused(&mmarray(&["info", p(&data)]), &["d.dat.json", "FIFO"]);
}

/// Library errors give the library's way out; the CLI replaces it with its
/// own flags and commands.
#[test]
fn errors_give_the_command_lines_way_out_not_the_librarys() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { CreateOptions::new().create::<u8>(&x, &[2]) }.unwrap();
    let out = mmarray(&["create", p(&x), "--dtype", "u1", "--shape", "2"]);
    assert_refused(&out, &["already exists", "--force"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("overwrite(true)"));
    let lonely = dir.path().join("lonely.bin");
    std::fs::write(&lonely, [0u8; 4]).unwrap();
    let out = mmarray(&["info", p(&lonely)]);
    assert_refused(&out, &["no sidecar", "mmarray sidecar"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sidecar::describe"));
}

/// A `.npy` file of a structured dtype, as numpy saves it, is a dtype
/// mmarray does not support (named as the header writes it), not a
/// malformed file: one line, exit 1, from every command that reads it.
#[test]
fn a_structured_dtype_is_named_as_unsupported_not_malformed() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.npy");
    let saved = Command::new(python)
        .args([
            "-c",
            "import sys, numpy as np; np.save(sys.argv[1], np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))",
            p(&path),
        ])
        .status()
        .unwrap();
    assert!(saved.success());
    let png = dir.path().join("rec.png");
    let copy = dir.path().join("copy.npy");
    for args in [
        vec!["info", p(&path)],
        vec!["stats", p(&path)],
        vec!["show", p(&path)],
        vec!["plot", p(&path), "-o", p(&png)],
        vec!["convert", p(&path), p(&copy)],
    ] {
        let out = mmarray(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "mmarray: error: {}: unsupported dtype \"[('a', '<f4'), ('b', '<i4')]\" (supported: bool, int8..int64, uint8..uint64, float16, float32, float64, complex64, complex128)",
                p(&path)
            ),
            "{args:?}"
        );
    }
    assert!(!png.exists() && !copy.exists());
}
