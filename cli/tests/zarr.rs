//! `mmarray zarr PATH OUT_DIR [--force]`: exit 0 and one line saying what
//! was written; exit 1 with one line (and the command that helps) where the
//! layout allows no zero-copy chunk or OUT_DIR exists without --force.
//! (zarr-python opening the result without the adapter is tested in
//! python/tests/test_zarr.py.)

use std::path::Path;
use std::process::{Command, Output};

fn mmarray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .expect("the mmarray binary runs")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[track_caller]
fn one_line_error(out: &Output, needle: &str) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
    err
}

#[test]
fn exports_refuses_and_replaces_as_told() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("a.npy");
    let raw = dir.path().join("a.dat");
    let out = dir.path().join("a.zarr");
    let created = mmarray(&[
        "create",
        p(&npy),
        "--dtype",
        "float32",
        "--shape",
        "3,4",
        "--fill",
        "1.5",
    ]);
    assert!(created.status.success(), "{created:?}");

    let err = one_line_error(&mmarray(&["zarr", p(&npy), p(&out)]), "header");
    assert!(
        err.contains("mmarray convert"),
        "the command-line way out: {err}"
    );
    assert!(!out.exists());

    assert!(mmarray(&["convert", p(&npy), p(&raw)]).status.success());
    let ok = mmarray(&["zarr", p(&raw), p(&out)]);
    assert!(ok.status.success(), "{ok:?}");
    let said = String::from_utf8(ok.stdout).unwrap();
    assert!(
        said.starts_with("wrote ") && said.contains("hard link"),
        "{said}"
    );
    // One line that says the export is one chunk of the whole array and
    // names the adapter that reads slices.
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("one chunk holding the whole array")
            && said.contains(&format!("open {} with mmarray.zarr.Store", p(&raw))),
        "{said}"
    );
    assert_eq!(
        std::fs::read(out.join("c/0/0")).unwrap(),
        std::fs::read(&raw).unwrap()
    );

    one_line_error(&mmarray(&["zarr", p(&raw), p(&out)]), "--force");
    assert!(
        mmarray(&["zarr", p(&raw), p(&out), "--force"])
            .status
            .success()
    );

    // A directory that is not a zarr array is never replaced.
    let other = dir.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"meow").unwrap();
    one_line_error(
        &mmarray(&["zarr", p(&raw), p(&other), "--force"]),
        "not a zarr",
    );
    assert!(other.join("cat.jpg").exists());
}

/// `mmarray zarr --help` says the export is one chunk holding the whole
/// array, what that costs a zarr reader, and names the adapter for slices;
/// the one-line list of commands says "one chunk" too.
#[test]
fn help_says_one_chunk_and_names_the_adapter_for_slices() {
    let help = mmarray(&["zarr", "--help"]);
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap().replace('\n', " ");
    for words in [
        "one chunk holding the whole array",
        "reads all of it",
        "mmarray.zarr.Store",
        "To read slices",
    ] {
        assert!(help.contains(words), "{words:?} in {help}");
    }
    let list = String::from_utf8(mmarray(&["--help"]).stdout).unwrap();
    let line = list
        .lines()
        .find(|l| l.trim_start().starts_with("zarr "))
        .unwrap();
    assert!(line.contains("one chunk holding the whole array"), "{line}");
}
