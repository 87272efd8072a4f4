//! `mmarray show` and `mmarray plot`, run as the real binary on files made
//! with the mmarray library: exact text for `show` (as numpy prints), PNG
//! files decoded and looked at for `plot`, and the exit codes and messages
//! of what goes wrong.
//!
//! `show_matches_live_numpy` also compares `show` with numpy itself on
//! generated arrays when `MMARRAY_PYTHON` names a Python with numpy (as
//! `scripts/test.sh` sets up); it fails without one if
//! `MMARRAY_REQUIRE_NUMPY=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use half::f16;
use mmarray::{ByteOrder, CreateOptions, MappedArray, Order};
use ndarray::{Array, ArrayD, IxDyn, array};
use num_complex::Complex;
use tempfile::TempDir;

fn mmarray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .expect("the mmarray binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `array` as `name` (a .npy file, or raw + sidecar for other names).
fn write<T, D>(dir: &TempDir, name: &str, array: &Array<T, D>) -> PathBuf
where
    T: mmarray::Element,
    D: ndarray::Dimension,
{
    let path = dir.path().join(name);
    CreateOptions::new()
        .write(&path, array)
        .expect("test array written");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Runs `mmarray show PATH [extra...]`, expecting success, and gives stdout.
fn show(path: &Path, extra: &[&str]) -> String {
    let mut args = vec!["show", path_str(path)];
    args.extend_from_slice(extra);
    let out = mmarray(&args);
    assert!(
        out.status.success(),
        "show {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn show_integers_and_floats() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "i.npy", &array![[1i32, 2, 3], [4, 5, 6]]);
    assert_eq!(show(&p, &[]), "[[1 2 3]\n [4 5 6]]\n");
    let p = write(&dir, "f.npy", &array![1.5f64, -0.25, 10.0]);
    assert_eq!(show(&p, &[]), "[ 1.5  -0.25 10.  ]\n");
    // float32 prints with float32's shortest digits.
    let p = write(&dir, "f32.npy", &array![[0.1f32, 0.2], [1.0 / 3.0, 100.0]]);
    assert_eq!(
        show(&p, &[]),
        "[[  0.1          0.2       ]\n [  0.33333334 100.        ]]\n"
    );
    let p = write(
        &dir,
        "f16.npy",
        &array![
            f16::from_f32(65504.0),
            f16::from_f32(0.1),
            f16::from_f32(-2.0)
        ],
    );
    assert_eq!(show(&p, &[]), "[ 6.55e+04  1.00e-01 -2.00e+00]\n");
    let p = write(
        &dir,
        "nan.npy",
        &array![1.0f64, f64::NAN, f64::NEG_INFINITY],
    );
    assert_eq!(show(&p, &[]), "[  1.  nan -inf]\n");
}

#[test]
fn show_bool_complex_zero_d_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "b.npy", &array![true, false, true]);
    assert_eq!(show(&p, &[]), "[ True False  True]\n");
    let c = |re, im| Complex::new(re, im);
    let p = write(
        &dir,
        "c.npy",
        &array![c(1.0f64, 2.0), c(-0.0, -0.5), c(3.25, 0.0)],
    );
    assert_eq!(show(&p, &[]), "[ 1.  +2.j  -0.  -0.5j  3.25+0.j ]\n");
    let p = write(&dir, "z.npy", &ArrayD::from_elem(IxDyn(&[]), 2.5f64));
    assert_eq!(show(&p, &[]), "2.5\n");
    let p = write(&dir, "zb.npy", &ArrayD::from_elem(IxDyn(&[]), true));
    assert_eq!(show(&p, &[]), "True\n");
    let p = write(&dir, "e.npy", &ArrayD::<f64>::zeros(IxDyn(&[0, 3])));
    assert_eq!(show(&p, &[]), "[]\n");
    // A raw file with a sidecar shows the same way as a .npy file.
    let p = write(&dir, "raw.dat", &array![7u16, 8]);
    assert_eq!(show(&p, &[]), "[7 8]\n");
}

#[test]
fn show_slices() {
    let dir = tempfile::tempdir().unwrap();
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24i64).collect()).unwrap();
    let p = write(&dir, "a.npy", &a);
    let cases = [
        ("-1", "[[12 13 14 15]\n [16 17 18 19]\n [20 21 22 23]]\n"),
        ("::-1, 0, ::2", "[[12 14]\n [ 0  2]]\n"),
        ("..., -1", "[[ 3  7 11]\n [15 19 23]]\n"),
        ("1, -2:, 1::2", "[[17 19]\n [21 23]]\n"),
        (
            ":, ::-2",
            "[[[ 8  9 10 11]\n  [ 0  1  2  3]]\n\n [[20 21 22 23]\n  [12 13 14 15]]]\n",
        ),
        ("1, 2, 3", "23\n"),
        ("0, 0, 5:", "[]\n"),
    ];
    for (slice, expected) in cases {
        assert_eq!(show(&p, &["--slice", slice]), expected, "--slice {slice:?}");
    }
    // A leading minus is a value, in either spelling.
    assert_eq!(show(&p, &["--slice=-1, -1"]), "[20 21 22 23]\n");
    assert_eq!(show(&p, &["--slice", "-1, -1, -1"]), "23\n");
}

#[test]
fn show_elides_large_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "big.npy",
        &Array::from_iter((0..10_000).map(f64::from)),
    );
    assert_eq!(
        show(&p, &[]),
        "[0.000e+00 1.000e+00 2.000e+00 ... 9.997e+03 9.998e+03 9.999e+03]\n"
    );
    let p = write(&dir, "ints.npy", &Array::from_iter(0..5000i16));
    let text = show(&p, &[]);
    assert_eq!(text, "[   0    1    2 ... 4997 4998 4999]\n");
    let rows = Array::from_shape_fn((2000, 3), |(r, c)| ((r * 3 + c) % 200) as u8);
    let p = write(&dir, "rows.npy", &rows);
    assert_eq!(
        show(&p, &[]),
        "[[  0   1   2]\n [  3   4   5]\n [  6   7   8]\n ...\n [191 192 193]\n [194 195 196]\n [197 198 199]]\n"
    );
    // Slicing first: a small part prints whole.
    assert_eq!(
        show(&p, &["--slice", "-2:"]),
        "[[194 195 196]\n [197 198 199]]\n"
    );
}

#[test]
fn show_f_order_prints_in_logical_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    CreateOptions::new()
        .order(Order::F)
        .write(&path, &array![[1i8, 2, 3], [4, 5, 6]])
        .unwrap();
    assert_eq!(show(&path, &[]), "[[1 2 3]\n [4 5 6]]\n");
    assert_eq!(show(&path, &["--slice", ":, 1"]), "[2 5]\n");
    let raw = dir.path().join("f.dat");
    CreateOptions::new()
        .order(Order::F)
        .write(&raw, &array![[1.5f32, 2.0], [3.0, 4.0]])
        .unwrap();
    assert_eq!(show(&raw, &[]), "[[1.5 2. ]\n [3.  4. ]]\n");
}

#[test]
fn show_bad_slices_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.npy", &array![[1i32, 2, 3], [4, 5, 6]]);
    let cases = [
        ("5", "index 5 is out of bounds for axis 0 with size 2"),
        ("0, -4", "index -4 is out of bounds for axis 1 with size 3"),
        ("0, 0, 0", "2-dimensional, but 3 were given"),
        ("1:2:3:4", "too many colons"),
        ("x", "is not a slice item"),
        (":, ::0", "step cannot be zero"),
        ("..., ...", "single ellipsis"),
    ];
    for (slice, message) in cases {
        let out = mmarray(&["show", path_str(&p), "--slice", slice]);
        assert_eq!(out.status.code(), Some(2), "--slice {slice:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "--slice {slice:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn show_missing_file_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.npy");
    let png = dir.path().join("x.png");
    let show_args = ["show", path_str(&missing)];
    let plot_args = ["plot", path_str(&missing), "-o", path_str(&png)];
    for args in [&show_args[..], &plot_args[..]] {
        let out = mmarray(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("nope.npy"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        // The OS's reason appears once.
        assert_eq!(err.matches("No such file").count(), 1, "{err}");
    }
}

/// A file in the other byte order shows exactly as its native twin: the
/// elements shown are swapped as they are printed (issue 16: `show` used
/// to refuse such files with advice naming a Rust function).
#[test]
fn big_endian_files_show_as_their_native_twins() {
    fn twins<T, D>(array: &Array<T, D>, name: &str, extra: &[&str])
    where
        T: mmarray::Element,
        D: ndarray::Dimension,
    {
        let (le, be) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut texts = Vec::new();
        for (dir, order) in [(&le, ByteOrder::Little), (&be, ByteOrder::Big)] {
            let path = dir.path().join(name);
            CreateOptions::new()
                .byte_order(order)
                .write(&path, array)
                .unwrap();
            texts.push(show(&path, extra));
        }
        assert_eq!(texts[0], texts[1], "{name} {extra:?}");
    }
    twins(&array![1.0f32, 2.5, -0.1, f32::NAN], "a.npy", &[]);
    twins(&array![[1i64, -2], [3, 1 << 40]], "a.dat", &[]);
    twins(
        &Array::from_shape_fn((40, 50), |(r, c)| (r * 50 + c) as f64 / 7.0),
        "big.npy",
        &["--slice", "::3, 1:-1"],
    );
    twins(
        &array![f16::from_f32(0.5), f16::from_f32(-3.0)],
        "h.dat",
        &[],
    );
    twins(&array![Complex::new(1.5f32, -2.0)], "c.npy", &[]);
    twins(
        &array![Complex::new(1.5f64, -2.0)],
        "c16.dat",
        &["--slice", "0"],
    );
}

// --- plot ---------------------------------------------------------------

/// A decoded RGB PNG.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let bytes = std::fs::read(path).expect("the PNG was written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a valid PNG header");
        let mut rgb = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader.next_frame(&mut rgb).expect("valid PNG data");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        rgb.truncate(info.buffer_size());
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]])
    }

    fn count(&self, colour: [u8; 3]) -> usize {
        self.pixels().filter(|&p| p == colour).count()
    }

    fn distinct(&self) -> usize {
        let mut all: Vec<[u8; 3]> = self.pixels().collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }
}

const LINE_BLUE: [u8; 3] = [31, 119, 180];
const NAN_RED: [u8; 3] = [214, 39, 40];

fn plot(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["plot", path_str(input), "-o", path_str(out)];
    args.extend_from_slice(extra);
    mmarray(&args)
}

fn plot_ok(input: &Path, out: &Path, extra: &[&str]) -> Image {
    let result = plot(input, out, extra);
    assert!(result.status.success(), "plot failed: {}", stderr(&result));
    Image::read(out)
}

#[test]
fn plot_line() {
    let dir = tempfile::tempdir().unwrap();
    let values = Array::from_iter((0..500).map(|i| (i as f64 / 40.0).sin()));
    let p = write(&dir, "wave.npy", &values);
    let img = plot_ok(&p, &dir.path().join("wave.png"), &[]);
    assert_eq!((img.width, img.height), (1000, 600));
    assert!(img.distinct() > 10, "antialiased text, grid and line");
    assert!(img.count(LINE_BLUE) > 500, "the line is drawn");
    assert!(
        img.count([255, 255, 255]) > img.rgb.len() / 3 / 2,
        "mostly background"
    );
    // The size can be chosen.
    let img = plot_ok(
        &p,
        &dir.path().join("small.png"),
        &["--width", "640", "--height", "400"],
    );
    assert_eq!((img.width, img.height), (640, 400));
    // Too small a picture is a usage error from clap.
    let out = plot(&p, &dir.path().join("tiny.png"), &["--width", "10"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plot_ten_million_points_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.npy");
    let n = 10_000_000;
    {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let mut a = unsafe { MappedArray::<f32>::create(&path, &[n]) }.unwrap();
        for (i, v) in a.as_slice_mut().iter_mut().enumerate() {
            *v = (i as f32 * 1e-5).sin() + if i % 1000 == 0 { 0.5 } else { 0.0 };
        }
        a.flush().unwrap();
    }
    let start = Instant::now();
    let img = plot_ok(&path, &dir.path().join("long.png"), &[]);
    let took = start.elapsed();
    // A debug build on a loaded 2-core machine still takes well under this.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(img.count(LINE_BLUE) > 5000, "a dense band of line");
}

#[test]
fn plot_line_with_nans_and_reversed_slice() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = Array::from_iter((0..100).map(f64::from));
    values.slice_mut(ndarray::s![40..60]).fill(f64::NAN);
    let p = write(&dir, "gaps.npy", &values);
    let img = plot_ok(&p, &dir.path().join("gaps.png"), &["--slice", "::-1"]);
    assert!(img.count(LINE_BLUE) > 200);
    // All NaN: an empty plot that says so, not an error.
    let p = write(&dir, "allnan.npy", &Array::from_elem(10, f32::NAN));
    let img = plot_ok(&p, &dir.path().join("allnan.png"), &[]);
    assert_eq!(img.count(LINE_BLUE), 0);
}

#[test]
fn plot_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let field = Array::from_shape_fn((120, 200), |(r, c)| {
        (r as f32 / 10.0).sin() + c as f32 / 50.0
    });
    let p = write(&dir, "field.npy", &field);
    let img = plot_ok(
        &p,
        &dir.path().join("field.png"),
        &["--width", "800", "--height", "500"],
    );
    assert_eq!((img.width, img.height), (800, 500));
    assert!(
        img.distinct() > 100,
        "a colour gradient: {}",
        img.distinct()
    );
    // viridis' ends appear (the minimum and maximum, and the colour bar).
    assert!(img.count([68, 1, 84]) > 0, "viridis dark purple");
    assert!(img.count([254, 232, 37]) > 0, "viridis yellow");
    assert_eq!(img.count(NAN_RED), 0, "no NaN, no red");
}

#[test]
fn plot_heatmap_nans_are_red() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Array::from_shape_fn((50, 80), |(r, c)| (r * c) as f64);
    field.slice_mut(ndarray::s![10..20, 30..50]).fill(f64::NAN);
    let p = write(&dir, "holes.npy", &field);
    let img = plot_ok(&p, &dir.path().join("holes.png"), &[]);
    // The hole is a fifth of a fifth of the plot, plus the legend swatch.
    assert!(img.count(NAN_RED) > 5000, "{}", img.count(NAN_RED));
}

#[test]
fn plot_large_heatmap_is_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let big = Array::from_shape_fn((3000, 2000), |(r, c)| ((r / 100 + c / 100) % 2) as u8);
    let p = write(&dir, "checks.npy", &big);
    let img = plot_ok(&p, &dir.path().join("checks.png"), &[]);
    assert!(img.count([68, 1, 84]) > 10_000 && img.count([254, 232, 37]) > 10_000);
}

#[test]
fn plot_complex_bool_and_sliced_3d() {
    let dir = tempfile::tempdir().unwrap();
    let c = Array::from_iter((0..300).map(|i| Complex::new(i as f32, -(i as f32))));
    let p = write(&dir, "c.npy", &c);
    plot_ok(&p, &dir.path().join("c.png"), &[]);
    let b = Array::from_shape_fn((10, 10), |(r, c)| r == c);
    let p = write(&dir, "b.npy", &b);
    let img = plot_ok(&p, &dir.path().join("b.png"), &[]);
    assert!(img.count([254, 232, 37]) > 0 && img.count([68, 1, 84]) > 0);
    let cube = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24i32).collect()).unwrap();
    let p = write(&dir, "cube.npy", &cube);
    plot_ok(&p, &dir.path().join("slab.png"), &["--slice", "1"]);
    plot_ok(&p, &dir.path().join("row.png"), &["--slice", "1, 2"]);
}

#[test]
fn plot_refuses_other_dimensionalities() {
    let dir = tempfile::tempdir().unwrap();
    let cube = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24i32).collect()).unwrap();
    let p = write(&dir, "cube.npy", &cube);
    let out_png = dir.path().join("cube.png");
    let out = plot(&p, &out_png, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("3-D") && err.contains("--slice"), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert!(!out_png.exists(), "no picture for a refused plot");
    let out = plot(&p, &out_png, &["--slice", "0, 0, 0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("0-D"), "{}", stderr(&out));
    let out = plot(&p, &out_png, &["--slice", "0, 0, 4:"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no elements"), "{}", stderr(&out));
    let out = plot(&p, &out_png, &["--slice", "9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("axis 0"), "{}", stderr(&out));
}

#[test]
fn plot_unwritable_output_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.npy", &array![1.0f64, 2.0]);
    let out_png = dir.path().join("no/such/dir/a.png");
    let out = plot(&p, &out_png, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("a.png"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Runs `mmarray ARGS`, killing it and failing if it has not finished
/// after `limit`: for inputs that once made `plot` loop forever.
fn mmarray_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the mmarray binary runs");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting for mmarray").is_some() {
            return child.wait_with_output().expect("mmarray's output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mmarray {args:?} still running after {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Values whose range overflows (`1.7e308 - 0` fits, `1e308 - -1e308`
/// does not), sits at the ends of f64, is a few subnormals, or is all
/// NaN, infinite or constant: `plot` (line and heatmap) and `show` finish
/// within 20 s with a picture, and the value axis is labelled.
#[test]
fn plot_and_show_of_extreme_values_finish() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = f64::from_bits(1);
    let max = f64::MAX;
    let lines: Vec<(&str, Vec<f64>)> = vec![
        ("overflowing", vec![0.0, 1.7e308]),
        ("symmetric", vec![-1e308, 1e308]),
        ("extremes", vec![-max, max, 0.0]),
        ("max", vec![max, max, max]),
        ("subnormal", vec![0.0, tiny, 2.0 * tiny]),
        ("one_subnormal", vec![tiny; 3]),
        ("infinite", vec![f64::INFINITY, f64::NEG_INFINITY, 1.0]),
        ("nan", vec![f64::NAN; 4]),
        ("constant", vec![3.25; 5]),
        ("close", vec![1e15, 1e15 + 1.0, 1e15 + 0.5]),
    ];
    let limit = Duration::from_secs(20);
    for (name, values) in &lines {
        let p = write(
            &dir,
            &format!("{name}.npy"),
            &Array::from_vec(values.clone()),
        );
        let png = dir.path().join(format!("{name}.png"));
        let out = mmarray_within(&["plot", path_str(&p), "-o", path_str(&png)], limit);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            Image::read(&png).count(LINE_BLUE) > 0 || name == &"nan",
            "{name}"
        );
        let out = mmarray_within(&["show", path_str(&p)], limit);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    // Long enough to be decimated into pixel columns.
    let long = Array::from_iter((0..100_000).map(|i| if i % 2 == 0 { -max } else { max }));
    let p = write(&dir, "long.npy", &long);
    let out = mmarray_within(
        &["plot", path_str(&p), "-o", &format!("{}.png", path_str(&p))],
        limit,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Heatmaps, small and averaged (block sums that overflow).
    for (name, shape) in [("heat", (3, 4)), ("bigheat", (2000, 3000))] {
        let a =
            ndarray::Array2::from_shape_fn(
                shape,
                |(r, c)| {
                    if (r + c) % 3 == 0 { -1e308 } else { 1e308 }
                },
            );
        let p = write(&dir, &format!("{name}.npy"), &a);
        let png = dir.path().join(format!("{name}.png"));
        let out = mmarray_within(&["plot", path_str(&p), "-o", path_str(&png)], limit);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            Image::read(&png).count(NAN_RED) == 0,
            "{name}: no NaN cells"
        );
    }
    // Integers at the ends of their types.
    let p = write(&dir, "u64.npy", &array![0u64, u64::MAX]);
    let out = mmarray_within(
        &["plot", path_str(&p), "-o", &format!("{}.png", path_str(&p))],
        limit,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let p = write(&dir, "i64.npy", &array![i64::MIN, i64::MAX]);
    let out = mmarray_within(
        &["plot", path_str(&p), "-o", &format!("{}.png", path_str(&p))],
        limit,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `plot -o` onto the array's own `.npy`, raw data file or sidecar (by any
/// name: a symbolic link, a hard link, a raw file named `.png`) is refused
/// in one line saying so (a name not ending in `.png` is refused for that
/// first), and the array is untouched; `-o` onto a link to another file
/// replaces the link, never its target.
#[test]
fn plot_onto_its_own_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let npy = write(&dir, "a.npy", &array![1.0f64, 2.0, 3.0]);
    let raw = write(&dir, "r.png", &array![1.0f32, 2.0]);
    let sidecar = mmarray::sidecar_path(&raw);
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(&npy, &link).unwrap();
    let hard = dir.path().join("hard.png");
    std::fs::hard_link(&raw, &hard).unwrap();
    let before: Vec<Vec<u8>> = [&npy, &raw, &sidecar]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    for (input, out) in [(&npy, &link), (&raw, &raw), (&sidecar, &raw), (&raw, &hard)] {
        let result = plot(input, out, &[]);
        let err = stderr(&result);
        assert_eq!(result.status.code(), Some(1), "{input:?} -o {out:?}: {err}");
        assert!(err.contains("same file"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    for (input, out) in [(&npy, &npy), (&raw, &sidecar), (&sidecar, &sidecar)] {
        let result = plot(input, out, &[]);
        let err = stderr(&result);
        assert_eq!(result.status.code(), Some(2), "{input:?} -o {out:?}: {err}");
        assert!(err.contains("ending in .png"), "{err}");
    }
    let after: Vec<Vec<u8>> = [&npy, &raw, &sidecar]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after, "the inputs are untouched");
    assert_eq!(show(&npy, &[]), "[1. 2. 3.]\n");

    // A link to some other file: the link becomes the PNG; the target stays.
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, b"keep me").unwrap();
    let to_other = dir.path().join("to_other.png");
    std::os::unix::fs::symlink(&other, &to_other).unwrap();
    let img = plot_ok(&npy, &to_other, &[]);
    assert_eq!((img.width, img.height), (1000, 600));
    assert_eq!(std::fs::read(&other).unwrap(), b"keep me");
    assert!(
        !std::fs::symlink_metadata(&to_other)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A `plot` that fails while writing (here past a 512-byte file-size
/// limit) leaves no PNG, empty or partial, and no temporary file; an
/// existing PNG at the destination is left as it was; the one-line error
/// names the destination.
#[test]
fn failed_plot_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "a.npy",
        &Array::from_iter((0..500).map(|i| (i as f64).sin())),
    );
    let names = |dir: &Path| {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    let run_limited = |out: &Path| {
        Command::new("sh")
            .args(["-c", "ulimit -f 1 && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_mmarray"))
            .args(["plot", path_str(&p), "-o", path_str(out)])
            .output()
            .unwrap()
    };
    let png = dir.path().join("new.png");
    let out = run_limited(&png);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(path_str(&png)) && !err.contains(".new.png."),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(names(dir.path()), ["a.npy"]);

    let old = dir.path().join("old.png");
    std::fs::write(&old, b"the old picture").unwrap();
    let out = run_limited(&old);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read(&old).unwrap(), b"the old picture");
    assert_eq!(names(dir.path()), ["a.npy", "old.png"]);
}

// --- live comparison with numpy -------------------------------------------

/// numpy writes arrays of every dtype, shape and order with awkward values,
/// and the text `np.array2string` gives for them and for slices of them;
/// `mmarray show` must print the same.
#[test]
fn show_matches_live_numpy() {
    let Some(python) = std::env::var_os("MMARRAY_PYTHON") else {
        assert!(
            std::env::var("MMARRAY_REQUIRE_NUMPY").as_deref() != Ok("1"),
            "MMARRAY_REQUIRE_NUMPY=1 but MMARRAY_PYTHON is not set"
        );
        eprintln!(
            "show_matches_live_numpy: MMARRAY_PYTHON not set; compared with numpy in scripts/test.sh"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .arg("-c")
        .arg(NUMPY_CASES)
        .arg(dir.path())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "numpy case generator failed: {}",
        stderr(&out)
    );
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() > 300, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let file = dir.path().join(case["file"].as_str().unwrap());
        let expected = format!("{}\n", case["expected"].as_str().unwrap());
        let mut extra = Vec::new();
        if let Some(slice) = case["slice"].as_str() {
            extra.extend(["--slice", slice]);
        }
        let mut args = vec!["show", path_str(&file)];
        args.extend_from_slice(&extra);
        let got = mmarray(&args);
        if stdout(&got) != expected {
            failures.push(format!(
                "{} {:?} ({}):\nexpected:\n{expected}got:\n{}{}",
                case["file"],
                case["slice"],
                case["dtype"],
                stdout(&got),
                stderr(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ from numpy; first:\n{}",
        failures.len(),
        cases.len(),
        failures[0]
    );
}

/// The generator: a fixed seed, 14 dtypes, shapes of 0 to 3 dimensions
/// (some large enough to be summarised), both orders, values from tiny to
/// huge with NaN, inf and -0.0, and a random basic-indexing slice of each.
/// numpy before 2.2 switched float16 and float32 to scientific notation at
/// other limits, so with an older numpy only the other types are compared.
const NUMPY_CASES: &str = r#"
import json, os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(20261121)
new_numpy = tuple(int(x) for x in np.__version__.split(".")[:2]) >= (2, 2)
dtypes = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]
if not new_numpy:
    dtypes = [d for d in dtypes if d not in ("float16", "float32", "complex64")]

def values(dt, n):
    kind = rng.integers(0, 8)
    if dt == "bool":
        return rng.integers(0, 2, n).astype(bool)
    if np.dtype(dt).kind in "iu":
        info = np.iinfo(dt)
        if kind < 3:
            return rng.integers(max(info.min, -100), min(info.max, 100), n, endpoint=True).astype(dt)
        return rng.integers(info.min, info.max, n, endpoint=True, dtype=dt)
    scale = 10.0 ** rng.integers(-12, 12)
    v = [rng.normal(size=n) * scale,
         rng.integers(-1000, 1000, n).astype(float),
         rng.integers(-1000, 1000, n) / 8.0,
         np.round(rng.normal(size=n), int(rng.integers(0, 6))),
         rng.normal(size=n) * 10.0 ** rng.integers(-12, 12, n),
         rng.uniform(0, 1, n),
         np.where(rng.uniform(size=n) < 0.3, -0.0, rng.normal(size=n)),
         rng.normal(size=n) * 1e4][kind]
    mask = rng.uniform(size=n)
    if rng.uniform() < 0.3:
        v = np.where(mask < 0.1, np.nan, v)
        v = np.where((mask >= 0.1) & (mask < 0.15), np.inf, v)
        v = np.where((mask >= 0.15) & (mask < 0.2), -np.inf, v)
    if np.dtype(dt).kind == "c":
        w = rng.normal(size=n) * scale
        if rng.uniform() < 0.2:
            w = np.where(mask > 0.9, np.nan, w)
        v = v + 1j * w
    with np.errstate(all="ignore"):
        return np.asarray(v).astype(dt)

cases = []
for dt in dtypes:
    for rep in range(16):
        ndim = int(rng.integers(0, 4))
        big = rng.uniform() < 0.15
        shape = tuple(int(x) for x in rng.integers(0 if rng.uniform() < 0.05 else 1, 40 if big else 6, ndim))
        if big and ndim == 1:
            shape = (int(rng.integers(900, 3000)),)
        n = int(np.prod(shape)) if shape else 1
        a = np.asarray(values(dt, n).reshape(shape), order="F" if rng.uniform() < 0.3 else "C")
        name = "a%d.npy" % len(cases)
        np.save(os.path.join(out, name), a)
        cases.append({"file": name, "slice": None, "dtype": dt, "expected": np.array2string(a)})
        if ndim >= 1 and n > 0:
            items = []
            for ax in range(ndim):
                r, L = rng.integers(0, 4), shape[ax]
                if r == 0:
                    items.append(str(int(rng.integers(-L, L))))
                elif r == 1:
                    items.append(":")
                else:
                    items.append("%d:%d:%d" % (rng.integers(-L - 2, L + 2), rng.integers(-L - 2, L + 2),
                                               rng.choice([-3, -2, -1, 1, 2, 3])))
            if rng.uniform() < 0.3 and len(items) > 1:
                k = int(rng.integers(0, len(items)))
                items[k] = "..."
            expr = ", ".join(items)
            b = np.asarray(eval("a[%s]" % expr))
            cases.append({"file": name, "slice": expr, "dtype": dt, "expected": np.array2string(b)})
with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(cases, f)
"#;

// --- plot: NaN shown, flags and what is printed (issue 16) ----------------

/// The heatmap's part of a `width`-pixel picture: left of the colour bar
/// column (148 pixels with its gap) and below the title band (66).
fn in_heat_area(img: &Image, x: u32, y: u32) -> bool {
    x < img.width - 148 && y >= 66
}

/// Pixels of `colour` in the heatmap's part of the picture.
fn count_in_heat(img: &Image, colour: [u8; 3]) -> usize {
    img.pixels()
        .enumerate()
        .filter(|&(i, p)| {
            let (x, y) = (i as u32 % img.width, i as u32 / img.width);
            p == colour && in_heat_area(img, x, y)
        })
        .count()
}

/// A 3000 × 3000 float32 array (`7 × 5` elements to a pixel), written in
/// place: values `(r + c) % 10 / 10`, and a NaN at `nan` if given.
fn big_heat(path: &Path, nan: Option<(usize, usize)>) {
    let n = 3000;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<f32>::create(path, &[n, n]) }.unwrap();
    for (i, v) in a.as_slice_mut().iter_mut().enumerate() {
        *v = ((i / n + i % n) % 10) as f32 / 10.0;
    }
    if let Some((r, c)) = nan {
        a.as_slice_mut()[r * n + c] = f32::NAN;
    }
    a.flush().unwrap();
}

/// One NaN among nine million elements averaged 35 to a pixel: its block
/// is drawn red (it used to vanish from the mean while the subtitle spoke
/// of it); without the NaN, no red anywhere.
#[test]
fn plot_a_nan_in_an_averaged_heatmap_is_drawn_red() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.npy");
    big_heat(&p, Some((1234, 2345)));
    let img = plot_ok(&p, &dir.path().join("big.png"), &[]);
    let red = count_in_heat(&img, NAN_RED);
    assert!(red >= 1, "the NaN's block is red");
    assert!(red < 100, "and only it: {red} red pixels");
    // Where it belongs: row 1234 of 3000, column 2345 of 3000.
    let at = img
        .pixels()
        .position(|p| p == NAN_RED)
        .map(|i| (i as u32 % img.width, i as u32 / img.width))
        .unwrap();
    let (x0, x1, y0, y1) = (108.0, 852.0, 66.0, 530.0);
    let (fx, fy) = (
        (at.0 as f64 - x0) / (x1 - x0),
        (at.1 as f64 - y0) / (y1 - y0),
    );
    assert!((fx - 2345.0 / 3000.0).abs() < 0.01, "{at:?}");
    assert!((fy - 1234.0 / 3000.0).abs() < 0.01, "{at:?}");

    let p = dir.path().join("clean.npy");
    big_heat(&p, None);
    let img = plot_ok(&p, &dir.path().join("clean.png"), &[]);
    assert_eq!(
        img.count(NAN_RED),
        0,
        "no NaN, no red (nor a legend swatch)"
    );
}

/// A long line with one NaN: the pixel column that held it is a red line
/// across the plot; without the NaN, no red.
#[test]
fn plot_a_nan_in_a_long_line_is_drawn_red() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = Array::from_iter((0..1_000_000).map(|i| (i as f64 / 1e4).sin()));
    values[612_345] = f64::NAN;
    let p = write(&dir, "long.npy", &values);
    let img = plot_ok(&p, &dir.path().join("long.png"), &[]);
    let mut per_column = vec![0usize; img.width as usize];
    for (i, p) in img.pixels().enumerate() {
        if p == NAN_RED {
            per_column[i % img.width as usize] += 1;
        }
    }
    let columns: Vec<usize> = (0..per_column.len())
        .filter(|&x| per_column[x] > 0)
        .collect();
    assert_eq!(columns.len(), 1, "one red column: {columns:?}");
    assert!(per_column[columns[0]] > 300, "across the plot");
    values[612_345] = 0.0;
    let p = write(&dir, "clean.npy", &values);
    let img = plot_ok(&p, &dir.path().join("clean.png"), &[]);
    assert_eq!(img.count(NAN_RED), 0);
}

/// `plot` says where it wrote, in one line, as `create` and `convert` do.
#[test]
fn plot_prints_where_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.npy", &array![1.0f64, 3.0, 2.0]);
    let png = dir.path().join("a.png");
    let out = plot(&p, &png, &["--width", "640", "--height", "400"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let start = format!("wrote {} (PNG, 640×400 pixels, ", path_str(&png));
    assert!(text.starts_with(&start), "{text}");
    assert!(
        text.ends_with(" KiB)\n") || text.ends_with(" bytes)\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(Image::read(&png).width, 640);
}

/// `-o` must name a .png file (any case), refused before the input is
/// even opened: exit 2, one line naming the flag and the extension, and
/// nothing written.
#[test]
fn plot_refuses_names_not_ending_in_png() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.npy", &array![1.0f64, 2.0]);
    let missing = dir.path().join("missing.npy");
    for name in ["x.jpg", "x", "x.png.jpg", ".png", "x.svg"] {
        let out_path = dir.path().join(name);
        for input in [&p, &missing] {
            let out = plot(input, &out_path, &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("-o/--output") && err.contains(".png"), "{err}");
            assert!(stdout(&out).is_empty());
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.npy"], "nothing written");
    let img = plot_ok(&p, &dir.path().join("UPPER.PNG"), &[]);
    assert_eq!(img.width, 1000);
}

/// Columns valued 0 to 99, one element to a cell.
fn ramp(dir: &TempDir) -> PathBuf {
    write(
        dir,
        "ramp.npy",
        &Array::from_shape_fn((50, 100), |(_, c)| c as f64),
    )
}

const VIRIDIS_LOW: [u8; 3] = [68, 1, 84];
const VIRIDIS_HIGH: [u8; 3] = [254, 232, 37];

#[test]
fn plot_cmaps() {
    let dir = tempfile::tempdir().unwrap();
    let p = ramp(&dir);
    // gray: every pixel grey (heatmap, colour bar, text), with a gradient.
    let img = plot_ok(&p, &dir.path().join("gray.png"), &["--cmap", "gray"]);
    assert!(img.pixels().all(|[r, g, b]| r == g && g == b));
    assert!(img.count([0, 0, 0]) > 1000 && img.count([255, 255, 255]) > 1000);
    assert!(img.distinct() > 200, "{}", img.distinct());
    // magma: its ends, and no viridis.
    let img = plot_ok(&p, &dir.path().join("magma.png"), &["--cmap", "magma"]);
    assert!(count_in_heat(&img, [0, 0, 4]) > 1000);
    assert!(count_in_heat(&img, [252, 253, 191]) > 1000);
    assert_eq!(img.count(VIRIDIS_LOW) + img.count(VIRIDIS_HIGH), 0);
    // viridis, by name as by default.
    let img = plot_ok(&p, &dir.path().join("viridis.png"), &["--cmap", "viridis"]);
    assert!(count_in_heat(&img, VIRIDIS_LOW) > 1000);
    let out = plot(&p, &dir.path().join("x.png"), &["--cmap", "jet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("magma"), "{}", stderr(&out));
}

/// Values beyond --vmin and --vmax take the end colours: a quarter of the
/// ramp each, against one column of 100 without them.
#[test]
fn plot_vmin_vmax_clamp() {
    let dir = tempfile::tempdir().unwrap();
    let p = ramp(&dir);
    let img = plot_ok(&p, &dir.path().join("plain.png"), &[]);
    let area = (img.width as usize - 148 - 108) * (img.height as usize - 66 - 70);
    let low = count_in_heat(&img, VIRIDIS_LOW);
    assert!(low > 0 && low < area / 50, "{low} of {area}");
    let img = plot_ok(
        &p,
        &dir.path().join("clamped.png"),
        &["--vmin", "24.5", "--vmax=74.5"],
    );
    // Columns 0..=24 and 75..=99: a quarter each.
    for colour in [VIRIDIS_LOW, VIRIDIS_HIGH] {
        let n = count_in_heat(&img, colour) as f64 / area as f64;
        assert!((0.22..0.28).contains(&n), "{colour:?}: {n}");
    }
    // Negative values are values; one end alone works.
    let img = plot_ok(&p, &dir.path().join("neg.png"), &["--vmin", "-100"]);
    assert_eq!(count_in_heat(&img, VIRIDIS_LOW), 0, "nothing at -100");
    assert!(count_in_heat(&img, VIRIDIS_HIGH) > 0);
}

/// The range flags are checked: a usage error in one line, no picture.
#[test]
fn plot_bad_colour_ranges_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = ramp(&dir);
    let png = dir.path().join("x.png");
    let cases: [(&[&str], &str); 6] = [
        (&["--vmin", "5", "--vmax", "5"], "below --vmax"),
        (&["--vmin", "7", "--vmax", "-1"], "below --vmax"),
        (&["--vmin", "nan"], "finite"),
        (&["--log", "--vmin", "0"], "<= 0"),
        (&["--vmin", "99"], "largest value drawn, 99"),
        (&["--vmax", "0"], "smallest value drawn, 0"),
    ];
    for (flags, message) in cases {
        let out = plot(&p, &png, flags);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!png.exists(), "{flags:?}");
    }
    // On a line plot the heatmap flags are refused, naming them.
    let line = write(&dir, "line.npy", &array![1.0f64, 2.0, 3.0]);
    let out = plot(&line, &png, &["--cmap", "gray", "--log"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--cmap, --log") && err.contains("1-D"),
        "{err}"
    );
    assert!(!png.exists());
}

/// Values 1 to 10^5 across the columns: linear colours leave all but the
/// last columns near the dark end; log colours spread them evenly. Values
/// <= 0 are masked in red on a log scale only.
#[test]
fn plot_log_colours() {
    let dir = tempfile::tempdir().unwrap();
    let field = Array::from_shape_fn((40, 100), |(r, c)| {
        if r == 0 && c < 50 {
            0.0
        } else {
            10f64.powf(c as f64 / 20.0)
        }
    });
    let p = write(&dir, "decades.npy", &field);
    let bright = |img: &Image| {
        img.pixels()
            .filter(|&[r, g, b]| g > 150 && (b as i32) < 120 && r < 255)
            .count()
    };
    let linear = plot_ok(&p, &dir.path().join("linear.png"), &[]);
    let log = plot_ok(&p, &dir.path().join("log.png"), &["--log"]);
    let area = (1000 - 148 - 108) * (600 - 66 - 70);
    assert!(bright(&linear) < area / 20, "{}", bright(&linear));
    assert!(bright(&log) > area / 5, "{}", bright(&log));
    assert_eq!(linear.count(NAN_RED), 0);
    // Row 0's first half (50 of 4000 cells) masked, and the legend swatch.
    let red = count_in_heat(&log, NAN_RED);
    assert!(red > 2000 && red < 10_000, "{red}");
}

/// --title replaces the generated title: an empty one leaves the title
/// band blank, a long one is drawn wider than the file name's.
#[test]
fn plot_title() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "t.npy", &array![1.0f64, 2.0]);
    // Columns with ink in the title line (y 8 to 40).
    let ink = |img: &Image| {
        let w = img.width as usize;
        let xs: Vec<usize> = img
            .pixels()
            .enumerate()
            .filter(|&(i, p)| (8..40).contains(&(i / w)) && p != [255, 255, 255])
            .map(|(i, _)| i % w)
            .collect();
        (xs.len(), xs.iter().min().copied(), xs.iter().max().copied())
    };
    let plain = ink(&plot_ok(&p, &dir.path().join("plain.png"), &[]));
    assert!(plain.0 > 100);
    let blank = ink(&plot_ok(
        &p,
        &dir.path().join("blank.png"),
        &["--title", ""],
    ));
    assert_eq!(blank.0, 0, "no title drawn");
    let long = ink(&plot_ok(
        &p,
        &dir.path().join("long.png"),
        &[
            "--title",
            "A title much longer than the file name, drawn instead",
        ],
    ));
    assert!(long.1 < plain.1 && long.2 > plain.2, "{long:?} {plain:?}");
}

/// A file in the other byte order plots exactly as its native twin, the
/// same PNG bytes, whole (streamed) or sliced (viewed in place, swapped
/// per element), line or heatmap, C or F order (issue 16: `plot` used to
/// refuse such files).
#[test]
fn big_endian_files_plot_as_their_native_twins() {
    fn twins<D: ndarray::Dimension>(array: &Array<f32, D>, order: Order, extra: &[&str]) {
        let (le, be) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut pngs = Vec::new();
        for (dir, byte_order) in [(&le, ByteOrder::Little), (&be, ByteOrder::Big)] {
            let path = dir.path().join("twin.dat");
            CreateOptions::new()
                .byte_order(byte_order)
                .order(order)
                .write(&path, array)
                .unwrap();
            let out = dir.path().join("p.png");
            let result = plot(&path, &out, extra);
            assert!(result.status.success(), "{extra:?}: {}", stderr(&result));
            pngs.push(std::fs::read(&out).unwrap());
        }
        assert!(pngs[0] == pngs[1], "{order:?} {extra:?}: the PNGs differ");
    }
    let line = Array::from_shape_fn(20_000, |i| {
        if i == 777 {
            f32::NAN
        } else {
            (i as f32 / 300.0).sin()
        }
    });
    twins(&line, Order::C, &[]);
    twins(&line, Order::C, &["--slice", "100:5000"]);
    let heat = Array::from_shape_fn((300, 700), |(r, c)| {
        if (r, c) == (10, 20) {
            f32::NAN
        } else {
            (r as f32 / 9.0).sin() * c as f32
        }
    });
    for order in [Order::C, Order::F] {
        twins(&heat, order, &[]);
        twins(&heat, order, &["--slice", "::2, 5:"]);
        twins(&heat, order, &["--log", "--cmap", "magma"]);
    }
}

/// The whole-array plot (read with `pread`, streamed) draws exactly what
/// the sliced plot of the whole array (`--slice ":"`, a mapped view)
/// draws: the streamed reductions add each cell's elements in the order
/// the view's fold does.
#[test]
fn streamed_plots_equal_viewed_plots() {
    let dir = tempfile::tempdir().unwrap();
    let heat = Array::from_shape_fn((1000, 2500), |(r, c)| {
        if (r, c) == (500, 7) {
            f64::NAN
        } else {
            (r as f64 * 0.01).cos() * 1.7e308 / (1 + c % 3) as f64
        }
    });
    let line = Array::from_shape_fn(1_000_003, |i| (i as f64).sqrt());
    for (name, order) in [("c.dat", Order::C), ("f.dat", Order::F)] {
        let path = dir.path().join(name);
        CreateOptions::new()
            .order(order)
            .write(&path, &heat)
            .unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        plot_ok(&path, &a, &["--title", "t"]);
        plot_ok(&path, &b, &["--slice", ":", "--title", "t"]);
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{name}"
        );
    }
    let path = dir.path().join("line.npy");
    CreateOptions::new().write(&path, &line).unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    plot_ok(&path, &a, &["--title", "t"]);
    plot_ok(&path, &b, &["--slice", ":", "--title", "t"]);
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "line"
    );
}

/// A valid `.npy` file (numpy loads it) whose data starts at byte 67, an
/// offset no element wider than a byte is aligned to: `info` describes it,
/// and `show` and `plot` (whole or sliced) read it as a copy, as `stats`
/// reads it, with the values of the same array stored aligned.
#[test]
fn show_and_plot_read_a_npy_whose_data_is_not_aligned() {
    let dir = TempDir::new().unwrap();
    let values = array![[1.5f64, -2.25, 3.0], [4.0, f64::NAN, 6.5]];
    let aligned = write(&dir, "aligned.npy", &values);
    // Version 1.0: magic (6) + version (2) + length (2) + dict + '\n' = 67.
    let dict = "{'descr':'<f8','fortran_order':False,'shape':(2,3)}";
    let pad = 67 - 10 - dict.len() - 1;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    assert_eq!(bytes.len(), 67);
    for x in values.iter() {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let odd = dir.path().join("odd.npy");
    std::fs::write(&odd, &bytes).unwrap();
    let info = mmarray(&["info", path_str(&odd), "--json"]);
    assert!(info.status.success(), "{}", stderr(&info));
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["offset"], 67);
    assert_eq!(info["shape"], serde_json::json!([2, 3]));
    assert_eq!(show(&odd, &[]), show(&aligned, &[]));
    assert_eq!(
        show(&odd, &["--slice", "1, ::-1"]),
        show(&aligned, &["--slice", "1, ::-1"])
    );
    let stats = |path: &Path| stdout(&mmarray(&["stats", path_str(path), "--json"]));
    assert_eq!(stats(&odd), stats(&aligned));
    for slice in [None, Some("1"), Some("1:, :")] {
        let [a, b] = ["odd", "aligned"].map(|n| dir.path().join(format!("{n}.png")));
        for (input, png) in [(&odd, &a), (&aligned, &b)] {
            let mut args = vec!["plot", path_str(input), "-o", path_str(png), "--title", "t"];
            args.extend(slice.iter().flat_map(|s| ["--slice", s]));
            let out = mmarray(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        }
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{slice:?}"
        );
    }
    // The PNG is never written over the file read as a copy.
    let onto = dir.path().join("link.png");
    std::os::unix::fs::symlink(&odd, &onto).unwrap();
    let out = mmarray(&[
        "plot",
        path_str(&odd),
        "-o",
        path_str(&onto),
        "--slice",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("same file"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&odd).unwrap(), bytes);
    // numpy loads it, with these values (where scripts/test.sh set up numpy).
    if let Some(python) = std::env::var_os("MMARRAY_PYTHON") {
        let ok = Command::new(python)
            .args([
                "-c",
                "import sys, numpy as np; a = np.load(sys.argv[1]); \
                 assert a.shape == (2, 3) and a[0, 1] == -2.25 and np.isnan(a[1, 1]), a",
                path_str(&odd),
            ])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}
