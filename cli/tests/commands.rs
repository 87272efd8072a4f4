//! The `mmarray` binary, run for real: exact machine-readable output, exit
//! codes (1 bad input, 2 bad usage), one-line errors, files on disk.

use std::path::Path;
use std::process::{Command, Output};

use mmarray::{CreateOptions, MappedArray};
use serde_json::{Value, json};

fn mmarray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .expect("the mmarray binary runs")
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Asserts a failure with `code` and a single stderr line naming `name`.
fn assert_fails(out: &Output, code: i32, name: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(name),
        "stderr does not name {name}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    if code == 1 {
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn info_json_for_raw_and_npy() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("t.dat");
    let mut attrs = serde_json::Map::new();
    attrs.insert("units".into(), "K".into());
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe {
        CreateOptions::new()
            .order(mmarray::Order::F)
            .attrs(attrs)
            .create::<f32>(&raw, &[10, 3])
    }
    .unwrap();
    let v = stdout_json(&mmarray(&["info", p(&raw), "--json"]));
    assert_eq!(
        v,
        json!({"path": p(&raw), "format": "raw", "dtype": "<f4", "shape": [10, 3], "order": "F", "offset": 0, "nbytes": 120, "attrs": {"units": "K"}})
    );
    // The sidecar path works too.
    let v2 = stdout_json(&mmarray(&["info", &format!("{}.json", p(&raw)), "--json"]));
    assert_eq!(v2["path"], p(&raw));

    let npy = dir.path().join("t.npy");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<i64>::create(&npy, &[]) }.unwrap();
    let v = stdout_json(&mmarray(&["info", p(&npy), "--json"]));
    assert_eq!(
        (
            v["format"].as_str(),
            v["shape"].clone(),
            v["offset"].as_u64(),
            v["nbytes"].as_u64()
        ),
        (Some("npy"), json!([]), Some(128), Some(8))
    );

    let human = mmarray(&["info", p(&raw)]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("<f4") && text.contains("10 x 3") && text.contains("120 bytes"),
        "{text}"
    );
}

#[test]
fn stats_json_fields_and_exact_integers() {
    let dir = tempfile::tempdir().unwrap();
    let ints = dir.path().join("i.npy");
    CreateOptions::new()
        .write(&ints, &ndarray::array![i64::MAX, i64::MAX, -5])
        .unwrap();
    let v = stdout_json(&mmarray(&["stats", p(&ints), "--json"]));
    // Exact: 2 * i64::MAX - 5 does not fit in an i64 or an f64.
    let text = String::from_utf8(mmarray(&["stats", p(&ints), "--json"]).stdout).unwrap();
    assert!(text.contains(r#""sum":18446744073709551609"#), "{text}");
    assert_eq!(
        (
            v["count"].as_u64(),
            v["nan_count"].as_u64(),
            v["min"].as_i64(),
            v["max"].as_i64()
        ),
        (Some(3), Some(0), Some(-5), Some(i64::MAX))
    );

    let floats = dir.path().join("f.dat");
    CreateOptions::new()
        .write(&floats, &ndarray::array![1.0f32, f32::NAN, 3.0])
        .unwrap();
    let v = stdout_json(&mmarray(&["stats", p(&floats), "--json"]));
    assert_eq!(
        v,
        json!({"count": 3, "nan_count": 1, "min": 1.0, "max": 3.0, "sum": 4.0, "mean": 2.0, "std": 1.0})
    );

    let complex = dir.path().join("c.npy");
    CreateOptions::new()
        .write(
            &complex,
            &ndarray::array![
                num_complex::Complex::new(1.0f64, 2.0),
                num_complex::Complex::new(3.0, -4.0)
            ],
        )
        .unwrap();
    let v = stdout_json(&mmarray(&["stats", p(&complex), "--json"]));
    assert_eq!(
        v,
        json!({"count": 2, "nan_count": 0, "min": null, "max": null, "sum": [4.0, -2.0], "mean": [2.0, -1.0], "std": null})
    );

    let nans = dir.path().join("n.npy");
    CreateOptions::new()
        .write(&nans, &ndarray::array![f64::NAN, f64::NAN])
        .unwrap();
    let v = stdout_json(&mmarray(&["stats", p(&nans), "--json"]));
    assert_eq!(
        v,
        json!({"count": 2, "nan_count": 2, "min": null, "max": null, "sum": 0.0, "mean": null, "std": null})
    );

    // A big-endian file is summarised too (decoded chunk by chunk).
    let be = dir.path().join("be.npy");
    CreateOptions::new()
        .byte_order(mmarray::ByteOrder::Big)
        .write(&be, &ndarray::array![2u32, 4, 6])
        .unwrap();
    let v = stdout_json(&mmarray(&["stats", p(&be), "--json"]));
    assert_eq!(
        (v["sum"].as_u64(), v["mean"].as_f64()),
        (Some(12), Some(4.0))
    );
}

#[test]
fn create_sparse_filled_npy_and_force() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.dat");
    let out = mmarray(&[
        "create",
        p(&a),
        "--dtype",
        "float32",
        "--shape",
        "1000,3",
        "--order",
        "F",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let m = unsafe { MappedArray::<f32>::open(&a) }.unwrap();
    assert_eq!(
        (m.shape(), m.order()),
        (&[1000usize, 3][..], mmarray::Order::F)
    );
    assert!(m.as_slice().iter().all(|&x| x == 0.0));
    {
        use std::os::unix::fs::MetadataExt;
        assert!(
            std::fs::metadata(&a).unwrap().blocks() * 512 < 12_000,
            "zero fill must stay sparse"
        );
    }

    drop(m);
    // Refuses to overwrite without --force (exit 1, names the file).
    assert_fails(
        &mmarray(&["create", p(&a), "--dtype", "<f4", "--shape", "2"]),
        1,
        "a.dat",
    );
    let out = mmarray(&[
        "create",
        p(&a),
        "--dtype",
        ">i2",
        "--shape",
        "2,2",
        "--fill",
        "-7",
        "--force",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mmarray::read_array::<i16>(&a).unwrap(),
        ndarray::array![[-7i16, -7], [-7, -7]].into_dyn()
    );

    let n = dir.path().join("n.bin");
    let out = mmarray(&[
        "create",
        p(&n),
        "--dtype",
        "complex64",
        "--shape",
        "3",
        "--fill",
        "1+2j",
        "--npy",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mmarray::inspect(&n).unwrap().format(), mmarray::Format::Npy);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<num_complex::Complex<f32>>::open(&n) }
            .unwrap()
            .as_slice()[2],
        num_complex::Complex::new(1.0, 2.0)
    );

    let b = dir.path().join("b.npy");
    assert!(
        mmarray(&[
            "create",
            p(&b),
            "--dtype",
            "bool",
            "--shape",
            "",
            "--fill",
            "true"
        ])
        .status
        .success()
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert!(unsafe { MappedArray::<bool>::open(&b) }.unwrap().view()[[]]);
}

#[test]
fn sidecar_describes_a_tofile_output() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("tofile.bin");
    let values: Vec<u8> = (0..24u16).flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&raw, [vec![0u8; 8], values].concat()).unwrap();
    let out = mmarray(&[
        "sidecar",
        p(&raw),
        "--dtype",
        "<u2",
        "--shape",
        "4,3",
        "--offset",
        "8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let m = unsafe { MappedArray::<u16>::open(&raw) }.unwrap();
    assert_eq!(m.view()[[3, 2]], 11);
    // Shorter than the shape needs: refused, with both counts.
    let short = dir.path().join("short.bin");
    std::fs::write(&short, [0u8; 10]).unwrap();
    let out = mmarray(&["sidecar", p(&short), "--dtype", "<f8", "--shape", "2"]);
    assert_fails(&out, 1, "short.bin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("16") && stderr.contains("10"), "{stderr}");
    assert!(!mmarray::sidecar_path(&short).exists());
}

#[test]
fn convert_round_trips_between_formats_orders_and_byte_orders() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.npy");
    let want =
        ndarray::Array::from_shape_fn((3, 4, 5), |(i, j, k)| (i * 100 + j * 10 + k) as f64 + 0.5);
    CreateOptions::new().write(&src, &want).unwrap();

    let raw = dir.path().join("out.dat");
    let out = mmarray(&[
        "convert",
        p(&src),
        p(&raw),
        "--order",
        "F",
        "--byte-order",
        "big",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = mmarray::inspect(&raw).unwrap();
    assert_eq!(
        (
            info.format(),
            info.layout().order(),
            info.layout().dtype().to_string()
        ),
        (mmarray::Format::Raw, mmarray::Order::F, ">f8".into())
    );
    assert_eq!(
        mmarray::read_array::<f64>(&raw).unwrap(),
        want.clone().into_dyn()
    );

    let back = dir.path().join("back.npy");
    let out = mmarray(&[
        "convert",
        p(&raw),
        p(&back),
        "--dtype",
        "int32",
        "--order",
        "C",
        "--byte-order",
        "native",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let got = unsafe { MappedArray::<i32>::open(&back) }.unwrap();
    assert_eq!(got.view(), want.mapv(|x| x as i32).into_dyn());

    drop(got);
    // Existing destination: refused without --force.
    assert_fails(&mmarray(&["convert", p(&src), p(&back)]), 1, "back.npy");
    assert!(
        mmarray(&["convert", p(&src), p(&back), "--force"])
            .status
            .success()
    );
}

#[test]
fn bad_input_exits_1_and_bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.dat");
    assert_fails(&mmarray(&["info", p(&missing)]), 1, "missing.dat");
    assert_fails(
        &mmarray(&["stats", p(&missing), "--json"]),
        1,
        "missing.dat",
    );
    let junk = dir.path().join("junk.npy");
    std::fs::write(&junk, b"not an array").unwrap();
    assert_fails(&mmarray(&["info", p(&junk)]), 1, "junk.npy");

    assert_fails(
        &mmarray(&["create", p(&missing), "--dtype", "float128", "--shape", "3"]),
        2,
        "float128",
    );
    assert_fails(
        &mmarray(&["create", p(&missing), "--dtype", "<f4", "--shape", "3,x"]),
        2,
        "\"x\"",
    );
    assert_fails(&mmarray(&["frobnicate"]), 2, "frobnicate");
    assert_fails(
        &mmarray(&["convert", p(&missing), p(&junk), "--byte-order", "middle"]),
        2,
        "middle",
    );
    assert!(mmarray(&["--help"]).status.success());
}

#[test]
fn demo_runs_and_reports_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = mmarray(&["demo", "--dir", p(dir.path()), "--size", "8MiB"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for step in [
        "created",
        "filled in parallel",
        "flushed",
        "reopened read-only",
        "stats",
        "64 GiB",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
    // 8 MiB of f32 holding (i % 1000): the demo's stats are right.
    assert!(
        text.contains("count 2097152") && text.contains("max 999"),
        "{text}"
    );
    let kept = dir.path().join("demo.dat");
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f32>::open(&kept) }
            .unwrap()
            .as_slice()[1001],
        1.0
    );
    assert!(
        !dir.path().join("demo-64GiB.dat").exists(),
        "the 64 GiB demo file is removed"
    );
}

/// The shape of the array a demo kept in `dir`.
fn demo_shape(dir: &Path) -> Vec<usize> {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<f32>::open(dir.join("demo.dat")) }
        .unwrap()
        .shape()
        .to_vec()
}

/// `--size` units say what they mean: KB, MB, GB, TB are powers of 1000,
/// KiB, MiB, GiB, TiB powers of 1024, rounded down to whole 4 KiB rows.
/// Below one row, zero, ambiguous units and garbage are usage errors.
#[test]
fn demo_sizes_mean_their_units_and_too_small_is_a_usage_error() {
    for (size, rows) in [
        ("4096", 1),
        ("1MB", 1_000_000 / 4096),
        ("1mib", 256),
        ("0.5MiB", 128),
        ("1.5 MB", 1_500_000 / 4096),
        ("8KiB", 2),
        ("8KB", 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = mmarray(&["demo", "--dir", p(dir.path()), "--size", size]);
        assert!(
            out.status.success(),
            "{size}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(demo_shape(dir.path()), [rows, 1024], "{size}");
    }
    let dir = tempfile::tempdir().unwrap();
    for size in ["0", "100", "4095", "4KB", "0.5KiB"] {
        let out = mmarray(&["demo", "--dir", p(dir.path()), "--size", size]);
        assert_fails(&out, 2, "minimum of 4096 bytes");
    }
    for (size, says) in [
        ("1G", "GiB"),
        ("512m", "MiB"),
        ("lots", "not a size"),
        ("-1MiB", "not a size"),
        ("1e9", "unknown size unit"),
        ("1PiB", "unknown size unit"),
        ("99999999999TiB", "too large"),
    ] {
        let size = format!("--size={size}");
        let out = mmarray(&["demo", "--dir", p(dir.path()), &size]);
        assert_fails(&out, 2, says);
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let help = String::from_utf8(mmarray(&["demo", "--help"]).stdout).unwrap();
    for spelling in ["KB, MB, GB, TB", "KiB, MiB, GiB, TiB", "1.5GiB", "4KiB"] {
        assert!(
            help.contains(spelling),
            "--help lacks {spelling:?}:\n{help}"
        );
    }
}

/// A second `demo --dir D` leaves the first one's files alone unless
/// `--force` is given; with it, they are replaced (nothing else left).
#[test]
fn demo_dir_refuses_to_replace_its_files_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = p(dir.path());
    let out = mmarray(&["demo", "--dir", d, "--size", "16KiB"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = std::fs::read(dir.path().join("demo.dat.json")).unwrap();

    let out = mmarray(&["demo", "--dir", d, "--size", "8KiB"]);
    assert_fails(&out, 1, "--force");
    assert_fails(&out, 1, "demo.dat");
    assert!(out.stdout.is_empty());
    assert_eq!(demo_shape(dir.path()), [4, 1024]);
    assert_eq!(
        std::fs::read(dir.path().join("demo.dat.json")).unwrap(),
        before
    );

    let out = mmarray(&["demo", "--dir", d, "--size", "8KiB", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(demo_shape(dir.path()), [2, 1024]);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["demo.dat", "demo.dat.json"]);

    // Any one of the demo's files is enough to refuse: a lone sidecar, or
    // a leftover of the 64 GiB step (which is never removed unless ours).
    for leftover in ["demo.dat.json", "demo-64GiB.dat"] {
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join(leftover), b"keep").unwrap();
        let out = mmarray(&["demo", "--dir", p(other.path()), "--size", "8KiB"]);
        assert_fails(&out, 1, leftover);
        assert_eq!(std::fs::read(other.path().join(leftover)).unwrap(), b"keep");
        assert!(!other.path().join("demo.dat").exists() || leftover == "demo.dat");
    }
}

/// Runs `sh_command` under `script` (util-linux), so that the terminal is
/// a pty, and gives what was drawn on it; `None`, saying why, where there
/// is no util-linux `script`.
fn under_pty(sh_command: &str) -> Option<Vec<u8>> {
    let util_linux = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"));
    if !util_linux {
        eprintln!("skipped: no util-linux `script` to run the command under a pty");
        return None;
    }
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", sh_command, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// `text` quoted for `sh`.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The progress bar is decided by stderr alone: `stats big.dat --json >
/// s.json` in a terminal draws it on the terminal (stderr) while the JSON
/// goes whole to the file; with stderr not a terminal, nothing is drawn.
#[test]
fn progress_bar_is_drawn_when_stderr_is_a_terminal_whatever_stdout_is() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.dat");
    // 256 MiB, the smallest job with a bar; sparse, so cheap to make.
    let out = mmarray(&["create", p(&big), "--dtype", "f8", "--shape", "33554432"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = dir.path().join("s.json");
    let command = format!(
        "{} stats {} --json > {}",
        sh_quote(env!("CARGO_BIN_EXE_mmarray")),
        sh_quote(p(&big)),
        sh_quote(p(&json))
    );
    let Some(terminal) = under_pty(&command) else {
        return;
    };
    let terminal = String::from_utf8_lossy(&terminal);
    assert!(
        terminal.contains("stats ") && terminal.contains("% "),
        "no bar drawn on the terminal: {terminal:?}"
    );
    let stats: Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("s.json is only the JSON");
    assert_eq!(stats["count"], json!(33554432));

    // The same job with stderr a pipe: no bar, stdout the JSON alone.
    let out = mmarray(&["stats", p(&big), "--json"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out)["count"], json!(33554432));
}

#[test]
fn create_preallocate_reserves_the_space_or_fails_cleanly() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("dense.dat");
    let args = ["--dtype", "float64", "--shape", "1000,64", "--preallocate"];
    let out = mmarray(&[&["create", p(&a)][..], &args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&a).unwrap().blocks() * 512 >= 512_000);
    assert!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<f64>::open(&a) }
            .unwrap()
            .as_slice()
            .iter()
            .all(|&x| x == 0.0)
    );

    // Past a file-size limit of 64 KiB (SIGXFSZ ignored, so that the limit
    // is an error): one line naming the file, exit 1, nothing left behind.
    let big = dir.path().join("big.dat");
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 128 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_mmarray"))
        .args([&["create", p(&big)][..], &args].concat())
        .output()
        .unwrap();
    assert_fails(&out, 1, "big.dat");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reserving disk space"), "{stderr}");
    assert!(!big.exists() && !dir.path().join("big.dat.json").exists());
}

/// Runs `mmarray ARGS` under `sh -c 'ulimit -f BLOCKS; exec ...'`, without
/// `trap '' XFSZ`: the binary itself must keep the signal from killing it.
fn mmarray_under_fsize_limit(blocks: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .args(["-c", &format!("ulimit -f {blocks} && exec \"$0\" \"$@\"")])
        .arg(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .unwrap()
}

/// Asserts that `out` is an exit with code 1, not death by a signal.
fn assert_not_signalled(out: &Output) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        None,
        "killed by a signal; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn create_fill_and_convert_past_a_file_size_limit_are_errors_not_sigxfsz() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("filled.dat");
    // 800 KB of 1.5s past a 64 KiB limit.
    let out = mmarray_under_fsize_limit(
        128,
        &[
            "create",
            p(&big),
            "--dtype",
            "float64",
            "--shape",
            "100000",
            "--fill",
            "1.5",
        ],
    );
    assert_not_signalled(&out);
    assert_fails(&out, 1, "filled.dat");
    assert!(!big.exists() && !mmarray::sidecar_path(&big).exists());

    let src = dir.path().join("src.npy");
    CreateOptions::new()
        .write(&src, &ndarray::Array1::<f64>::ones(100_000))
        .unwrap();
    for name in ["converted.dat", "converted.npy"] {
        let dst = dir.path().join(name);
        let out = mmarray_under_fsize_limit(128, &["convert", p(&src), p(&dst)]);
        assert_not_signalled(&out);
        assert_fails(&out, 1, name);
        assert!(!dst.exists() && !mmarray::sidecar_path(&dst).exists());
    }
    // The demo too (its array is preallocated).
    let demo = dir.path().join("demo");
    let out = mmarray_under_fsize_limit(128, &["demo", "--dir", p(&demo), "--size", "8MiB"]);
    assert_not_signalled(&out);
    assert_fails(&out, 1, "demo.dat");
}

/// Runs `mmarray ARGS` with a private 2 MiB tmpfs mounted on `dir` (in a
/// user and mount namespace of its own, as `tests/faults.rs` does), or
/// gives `None`, saying why, where that is not allowed.
fn mmarray_on_small_file_system(dir: &Path, args: &[&str]) -> Option<Output> {
    let wrapper = |args: &[&str]| {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg("mount -t tmpfs -o size=2m tmpfs \"$0\" && exec \"$@\"")
            .arg(dir)
            .arg(env!("CARGO_BIN_EXE_mmarray"))
            .args(args);
        c.output()
    };
    match wrapper(&["--version"]) {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "skipped: cannot mount a small file system without privileges: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            eprintln!("skipped: cannot run unshare: {e}");
            return None;
        }
    }
    Some(wrapper(args).unwrap())
}

/// On a 2 MiB file system, the demo (the README's first command) with an
/// 8 MiB array is one line saying the disk is full, exit 1, not a SIGBUS
/// while filling the mapping; `create --fill` likewise.
#[test]
fn demo_on_a_full_file_system_is_an_error_not_a_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = mmarray_on_small_file_system(
        dir.path(),
        &["demo", "--dir", p(dir.path()), "--size", "8MiB"],
    ) else {
        return;
    };
    assert_not_signalled(&out);
    assert_fails(&out, 1, "demo.dat");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No space left"), "{stderr}");

    let filled = dir.path().join("filled.dat");
    let out = mmarray_on_small_file_system(
        dir.path(),
        &[
            "create",
            p(&filled),
            "--dtype",
            "f8",
            "--shape",
            "1000000",
            "--fill",
            "2",
        ],
    )
    .unwrap();
    assert_not_signalled(&out);
    assert_fails(&out, 1, "filled.dat");
    // A demo that fits still runs.
    let out = mmarray_on_small_file_system(
        dir.path(),
        &["demo", "--dir", p(dir.path()), "--size", "1MiB"],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--fill` values the dtype cannot hold as given (numpy 2's `np.full`
/// raises OverflowError for these) are usage errors naming the value and
/// the dtype, and nothing is created; values that fit are written exactly.
#[test]
fn create_fill_refuses_values_the_dtype_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.dat");
    for (dtype, fill, named) in [
        ("int8", "300", "int8"),
        ("int8", "-129", "int8"),
        ("uint8", "-1", "uint8"),
        ("int16", "1.5", "int16"),
        ("uint64", "18446744073709551616", "uint64"),
        ("int32", "nan", "int32"),
        ("int64", "inf", "int64"),
        ("bool", "2", "bool"),
        ("bool", "0.5", "bool"),
        ("float16", "70000", "float16"),
        ("float32", "1e39", "float32"),
        ("float64", "1e999", "1e999"),
        ("float64", "1+2j", "(1.0+2.0j)"),
        ("complex64", "1e39j", "complex64"),
    ] {
        let out = mmarray(&[
            "create",
            p(&a),
            "--dtype",
            dtype,
            "--shape",
            "3",
            "--fill",
            fill,
        ]);
        assert_fails(&out, 2, named);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(fill) || fill.contains('j'), "{stderr}");
        assert!(!a.exists(), "--dtype {dtype} --fill {fill} created a file");
    }
    for (dtype, fill) in [
        ("int8", "-128"),
        ("uint8", "255"),
        ("uint64", "18446744073709551615"),
        ("int16", "3.0"),
        ("bool", "true"),
        ("bool", "1"),
        ("float16", "65504"),
        ("float32", "-inf"),
        ("float64", "nan"),
    ] {
        let out = mmarray(&[
            "create",
            p(&a),
            "--dtype",
            dtype,
            "--shape",
            "2",
            "--fill",
            fill,
            "--force",
        ]);
        assert!(
            out.status.success(),
            "--dtype {dtype} --fill {fill}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        mmarray::read_array::<f64>(&a)
            .unwrap()
            .iter()
            .filter(|v| v.is_nan())
            .count(),
        2
    );
}

/// `--shape 3,,4` is a usage error (it was read as [3, 4]); one trailing
/// comma is a tuple, as in Python: `3,` is [3].
#[test]
fn shape_with_an_empty_dimension_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.dat");
    for shape in ["3,,4", ",3", "3,,", ","] {
        let out = mmarray(&["create", p(&a), "--dtype", "f4", "--shape", shape]);
        assert_fails(&out, 2, "empty dimension");
        assert!(!a.exists());
    }
    let out = mmarray(&["create", p(&a), "--dtype", "f4", "--shape", "3,"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<f32>::open(&a) }.unwrap().shape(),
        &[3]
    );
}

/// A file name holding a newline and ESC: the error is exactly one line on
/// stderr with the characters escaped, no raw ESC byte; `info` and
/// `create` print such names escaped too.
#[test]
fn errors_about_names_with_control_characters_are_one_escaped_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad\nname\u{1b}[31m.npy");
    let out = mmarray(&["info", p(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.contains(&0x1b), "raw ESC on stderr");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.matches('\n').count(), 1, "{stderr:?}");
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    assert!(stderr.contains(r"bad\nname\u{1b}[31m.npy"), "{stderr:?}");

    // Existing arrays with such names: summaries and info escape them.
    let created = mmarray(&["create", p(&bad), "--dtype", "f4", "--shape", "2"]);
    assert!(created.status.success());
    for out in [created, mmarray(&["info", p(&bad)])] {
        assert!(!out.stdout.contains(&0x1b), "raw ESC on stdout");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains(r"bad\nname\u{1b}[31m.npy"), "{stdout:?}");
        assert!(!stdout.contains("bad\nname"), "{stdout:?}");
    }
    // --json escapes as JSON does, and gives the name back exactly.
    let v = stdout_json(&mmarray(&["info", p(&bad), "--json"]));
    assert_eq!(v["path"], p(&bad));
}
