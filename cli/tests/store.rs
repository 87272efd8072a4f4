//! Stores (directories made by `mmarray::Store::create`) in the CLI, run
//! for real: `info DIR` lists the arrays (a table, or JSON with the keys of
//! the Python package's `Store.list()`), and `info`, `stats`, `show` and
//! `plot` take one of them as `DIR/NAME`. Each store is built here with the
//! library, and the output is compared with the values written.

use std::path::Path;
use std::process::{Command, Output};

use mmarray::{CreateOptions, Format, Store};
use serde_json::{Value, json};

fn mmarray_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mmarray"));
    command.args(args);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    command.output().expect("the mmarray binary runs")
}

fn mmarray(args: &[&str]) -> Output {
    mmarray_in(None, args)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).expect("stdout is one JSON object")
}

/// Asserts exit code 1 and one line on stderr containing each of `words`.
fn assert_fails(out: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mmarray: error: "), "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "stderr lacks {word:?}: {stderr}");
    }
}

/// A store `runs` with attrs and three arrays: `loss` (raw f32, 0.5 * i),
/// `weights` (.npy f64, 4 x 3, 10 * row + column) and `counts` (raw i16,
/// 2 x 2 x 2, zeros).
fn build_store(dir: &Path) -> std::path::PathBuf {
    let runs = dir.join("runs");
    let mut store = Store::create(&runs).unwrap();
    let mut attrs = mmarray::Attrs::new();
    attrs.insert("experiment".into(), json!("sweep-7"));
    attrs.insert("seed".into(), json!(42));
    store.set_attrs(attrs).unwrap();

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut loss = unsafe { store.create_array::<f32>("loss", &[100]) }.unwrap();
    for (i, x) in loss.as_slice_mut().iter_mut().enumerate() {
        *x = i as f32 * 0.5;
    }
    loss.flush().unwrap();
    drop(loss);

    let mut options = CreateOptions::new();
    options.format(Format::Npy);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut weights =
        unsafe { store.create_array_with::<f64>("weights", &[4, 3], &options) }.unwrap();
    for ((r, c), x) in weights
        .view_mut()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .indexed_iter_mut()
    {
        *x = (10 * r + c) as f64;
    }
    weights.flush().unwrap();
    drop(weights);

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<i16>("counts", &[2, 2, 2]) }.unwrap());
    runs
}

#[test]
fn info_lists_a_store_as_json_with_the_python_keys() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    let value = stdout_json(&mmarray(&["info", p(&runs), "--json"]));
    assert_eq!(
        value,
        json!({
            "store": p(&runs),
            "attrs": {"experiment": "sweep-7", "seed": 42},
            "arrays": [
                {"name": "counts", "dtype": "<i2", "shape": [2, 2, 2], "nbytes": 16},
                {"name": "loss", "dtype": "<f4", "shape": [100], "nbytes": 400},
                {"name": "weights", "dtype": "<f8", "shape": [4, 3], "nbytes": 96},
            ],
        })
    );
    // Exactly these keys in each entry, as `Store.list()` in Python gives.
    for entry in value["arrays"].as_array().unwrap() {
        let mut keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["dtype", "name", "nbytes", "shape"]);
    }

    // An empty store is a store with no arrays, not an error.
    let empty = dir.path().join("empty");
    Store::create(&empty).unwrap();
    assert_eq!(
        stdout_json(&mmarray(&["info", p(&empty), "--json"])),
        json!({"store": p(&empty), "attrs": {}, "arrays": []})
    );
}

#[test]
fn info_lists_a_store_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    let text = stdout(&mmarray(&["info", p(&runs)]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], p(&runs), "{text}");
    assert!(lines[1].contains("mmarray store, 3 arrays"), "{text}");
    assert!(
        lines[2].contains(r#""experiment":"sweep-7""#),
        "attrs: {text}"
    );
    let rows: Vec<Vec<&str>> = lines[3..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["name", "dtype", "shape", "nbytes"],
            vec!["counts", "<i2", "[2,", "2,", "2]", "16", "bytes"],
            vec!["loss", "<f4", "[100]", "400", "bytes"],
            vec!["weights", "<f8", "[4,", "3]", "96", "bytes"],
        ],
        "{text}"
    );
    // The columns line up: each column starts where its header does.
    let start = |line: &str, word: &str| line.find(word).unwrap();
    for (row, (dtype, shape)) in
        lines[4..]
            .iter()
            .zip([("<i2", "[2"), ("<f4", "[1"), ("<f8", "[4")])
    {
        assert_eq!(start(row, dtype), start(lines[3], "dtype"), "{text}");
        assert_eq!(start(row, shape), start(lines[3], "shape"), "{text}");
    }
}

#[test]
fn info_stats_show_plot_and_convert_take_dir_slash_name() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    let loss = runs.join("loss");
    let weights = runs.join("weights");

    // info DIR/NAME describes the array's own file.
    let info = stdout_json(&mmarray(&["info", p(&weights), "--json"]));
    assert_eq!(info["path"], json!(p(&runs.join("weights.npy"))));
    assert_eq!(info["dtype"], json!("<f8"));
    assert_eq!(info["shape"], json!([4, 3]));
    let info = stdout_json(&mmarray(&["info", p(&loss), "--json"]));
    assert_eq!(info["path"], json!(p(&runs.join("loss.dat"))));
    assert_eq!(info["shape"], json!([100]));

    // stats: 0.5 * i for i in 0..100.
    let stats = stdout_json(&mmarray(&["stats", p(&loss), "--json"]));
    assert_eq!(stats["count"], json!(100));
    assert_eq!(stats["nan_count"], json!(0));
    assert_eq!(stats["min"], json!(0.0));
    assert_eq!(stats["max"], json!(49.5));
    assert_eq!(stats["sum"], json!(2475.0));
    assert_eq!(stats["mean"], json!(24.75));

    // show: the values written, and the same text as for the file itself.
    let shown = stdout(&mmarray(&["show", p(&weights)]));
    assert_eq!(
        shown,
        "[[ 0.  1.  2.]\n [10. 11. 12.]\n [20. 21. 22.]\n [30. 31. 32.]]\n"
    );
    assert_eq!(
        shown,
        stdout(&mmarray(&["show", p(&runs.join("weights.npy"))]))
    );
    let row = stdout(&mmarray(&["show", p(&weights), "--slice", "2"]));
    assert_eq!(row, "[20. 21. 22.]\n");

    // plot: a PNG of the requested size.
    let png = dir.path().join("loss.png");
    let out = mmarray(&[
        "plot",
        p(&loss),
        "-o",
        p(&png),
        "--width",
        "400",
        "--height",
        "300",
    ]);
    stdout(&out);
    let decoder = png::Decoder::new(std::io::Cursor::new(std::fs::read(&png).unwrap()));
    let reader = decoder.read_info().expect("a valid PNG");
    assert_eq!((reader.info().width, reader.info().height), (400, 300));

    // convert DIR/NAME reads the store's array.
    let out = dir.path().join("weights-f.npy");
    stdout(&mmarray(&["convert", p(&weights), p(&out), "--order", "F"]));
    assert_eq!(
        stdout(&mmarray(&["show", p(&out)])),
        stdout(&mmarray(&["show", p(&weights)]))
    );
    let info = stdout_json(&mmarray(&["info", p(&out), "--json"]));
    assert_eq!(info["order"], json!("F"));

    // A bare NAME inside the store directory is resolved there too.
    let stats = stdout_json(&mmarray_in(Some(&runs), &["stats", "loss", "--json"]));
    assert_eq!(stats["count"], json!(100));
}

#[test]
fn files_in_a_store_are_still_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    for file in ["loss.dat", "loss.dat.json"] {
        let stats = stdout_json(&mmarray(&["stats", p(&runs.join(file)), "--json"]));
        assert_eq!(stats["count"], json!(100), "{file}");
    }
    let info = stdout_json(&mmarray(&["info", p(&runs.join("weights.npy")), "--json"]));
    assert_eq!(info["shape"], json!([4, 3]));
}

#[test]
fn directories_and_missing_names_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("x.bin"), b"1234").unwrap();

    // A store where one array is wanted: say how to name one.
    for command in ["stats", "show"] {
        let out = mmarray(&[command, p(&runs)]);
        assert_fails(&out, &[p(&runs), "store", "/NAME", "mmarray info"]);
    }
    let out = mmarray(&["plot", p(&runs), "-o", p(&dir.path().join("o.png"))]);
    assert_fails(&out, &[p(&runs), "/NAME"]);

    // A directory that is no store.
    for args in [
        vec!["info", p(&plain)],
        vec!["info", p(&plain), "--json"],
        vec!["stats", p(&plain)],
        vec!["show", p(&plain)],
    ] {
        let out = mmarray(&args);
        assert_fails(&out, &[p(&plain), "not a store", "mmarray-store.json"]);
    }

    // A name the store does not hold, or cannot hold.
    let missing = runs.join("missing");
    for command in ["info", "stats", "show"] {
        let out = mmarray(&[command, p(&missing)]);
        assert_fails(&out, &["missing", "no array named"]);
    }
    let out = mmarray(&["stats", p(&runs.join(".hidden"))]);
    assert_fails(&out, &[".hidden", "dot"]);
    assert!(!dir.path().join("o.png").exists());

    // A broken store file is the store's error, in one line.
    std::fs::write(runs.join(mmarray::store::STORE_FILE), b"{not json").unwrap();
    let out = mmarray(&["info", p(&runs)]);
    assert_fails(&out, &["mmarray-store.json"]);
    let out = mmarray(&["stats", p(&runs.join("loss"))]);
    assert_fails(&out, &["mmarray-store.json"]);
}

#[test]
fn info_lists_every_array_of_a_store_with_a_broken_one_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    std::fs::write(runs.join("broken.dat"), [0u8; 4]).unwrap();
    std::fs::write(runs.join("broken.dat.json"), "{not json").unwrap();
    let sidecar = runs.join("broken.dat.json");
    let summary = format!(
        "mmarray: error: {}: 1 of 4 arrays could not be read (listed above with its error)",
        p(&runs)
    );

    // JSON: the broken entry has its name and error, the others their
    // layouts; stdout is complete, the exit code 1.
    let out = mmarray(&["info", p(&runs), "--json"]);
    assert_fails(&out, &[&summary]);
    let value: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let arrays = value["arrays"].as_array().unwrap();
    let names: Vec<&str> = arrays.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["broken", "counts", "loss", "weights"]);
    assert_eq!(
        arrays[2],
        json!({"name": "loss", "dtype": "<f4", "shape": [100], "nbytes": 400})
    );
    let broken = arrays[0].as_object().unwrap();
    assert_eq!(broken.keys().collect::<Vec<_>>(), ["error", "name"]);
    let error = broken["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("{}: malformed sidecar: ", p(&sidecar))),
        "{error}"
    );

    // The table: a row saying the error, the other rows as before.
    let out = mmarray(&["info", p(&runs)]);
    assert_fails(&out, &[&summary]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mmarray store, 4 arrays"), "{text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("broken"))
        .unwrap_or_else(|| panic!("no row for the broken array: {text}"));
    assert!(
        row.contains(&format!("error: {}: malformed sidecar", p(&sidecar))),
        "{row}"
    );
    for name in ["counts", "loss", "weights"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(name) && l.contains('[')),
            "{name}: {text}"
        );
    }
    // The other arrays open as before.
    stdout(&mmarray(&["info", &format!("{}/loss", p(&runs))]));
}

#[test]
fn info_lists_an_unreadable_entry_with_the_io_reason() {
    // A data file shorter than its sidecar says, and an I/O error's reason
    // (its source) on the row as on stderr for one array.
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let store = Store::create(&runs).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<u8>("ok", &[2]) }.unwrap());
    std::fs::write(runs.join("short.dat"), [0u8; 3]).unwrap();
    std::fs::write(
        runs.join("short.dat.json"),
        r#"{"version": 1, "dtype": "|u1", "shape": [8]}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(runs.join("nowhere"), runs.join("gone.npy")).unwrap();
    let out = mmarray(&["info", p(&runs), "--json"]);
    assert_fails(
        &out,
        &["2 of 3 arrays could not be read (listed above with their errors)"],
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<&str> = value["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["error"].as_str())
        .collect();
    assert_eq!(errors.len(), 2, "{value}");
    assert!(
        errors[0].contains("gone.npy") && errors[0].contains("No such file"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("data file is too short"),
        "{}",
        errors[1]
    );
}

/// `info DIR/` (as a shell completes a directory) names the arrays as
/// `DIR/NAME` with one slash, and so do the archive listing and the
/// message for a store given where one array is wanted.
#[test]
fn a_trailing_slash_gives_one_slash_before_name() {
    let dir = tempfile::tempdir().unwrap();
    let runs = build_store(dir.path());
    let plain = p(&runs).to_string();
    for given in [format!("{plain}/"), format!("{plain}//")] {
        let text = stdout(&mmarray(&["info", &given]));
        assert!(
            text.contains(&format!("(open one as {plain}/NAME)")),
            "{given}: {text}"
        );
        assert!(!text.contains("//NAME"), "{given}: {text}");
        let out = mmarray(&["stats", &given]);
        assert_fails(&out, &[&format!("name one as {plain}/NAME ")]);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("//NAME"));
        // The arrays it lists open as it says.
        stdout(&mmarray(&["stats", &format!("{given}loss")]));
    }
}
