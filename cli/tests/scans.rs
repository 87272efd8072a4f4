//! The whole-file scans of `stats`, `convert` and `plot` as real processes
//! (issue 16; `stats` through a leased mapping where it can, issue 23): a
//! file truncated by another program mid-scan is a one-line
//! error naming it and the byte where it ended (exit code 1), never a
//! signal; and on a file of 1 GiB their peak resident set stays under
//! 256 MiB (a scan through a mapping peaked at the file's size); `convert`
//! changing the memory order too.

use std::fs::OpenOptions;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mmarray::MappedArray;

/// A new sparse float32 array of `len` elements (zeros, no disk used),
/// with its sidecar.
fn sparse(dir: &Path, name: &str, shape: &[usize]) -> PathBuf {
    let path = dir.join(name);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { MappedArray::<f32>::create(&path, shape) }.expect("sparse array created"));
    path
}

/// Bytes the process `pid` has read so far (`rchar` of /proc/PID/io).
fn bytes_read(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|v| v.trim().parse().ok())
}

/// The command lines: each scans `input` whole; `out` is an output path.
fn commands(input: &Path, out: &Path) -> Vec<(&'static str, Vec<String>)> {
    let (i, o) = (input.display().to_string(), out.display().to_string());
    vec![
        ("stats", vec!["stats".into(), i.clone()]),
        (
            "convert",
            vec![
                "convert".into(),
                i.clone(),
                o.clone(),
                "--dtype".into(),
                "float16".into(),
            ],
        ),
        (
            "plot",
            vec!["plot".into(), i.clone(), "-o".into(), format!("{o}.png")],
        ),
        (
            "convert --order F",
            vec!["convert".into(), i, o, "--order".into(), "F".into()],
        ),
    ]
}

/// Whether the process `pid` holds a file lease (`stats` reads a file it
/// can lease through a mapping, issue 23: its `rchar` does not grow).
fn holds_lease(pid: u32) -> bool {
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    locks.lines().any(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        fields.get(1) == Some(&"LEASE") && fields.get(4) == Some(&pid.to_string().as_str())
    })
}

/// Starts `mmarray args`, waits until it has read `after` bytes (or holds
/// a lease on the file: it is then scanning it), truncates `file` to `cut`
/// bytes (the open for writing waits until a leased scan lets go), and
/// gives the exit status and stderr; `None` if the command finished before
/// the truncation (too fast to test).
fn truncate_mid_scan(
    args: &[String],
    file: &Path,
    after: u64,
    cut: u64,
) -> Option<(std::process::ExitStatus, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mmarray starts");
    let started = Instant::now();
    let leased = loop {
        if child.try_wait().expect("child status").is_some() {
            return None;
        }
        if bytes_read(child.id()).is_some_and(|n| n >= after) {
            break false;
        }
        if holds_lease(child.id()) {
            break true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{args:?} never read"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let opening = Instant::now();
    let writer = OpenOptions::new()
        .write(true)
        .open(file)
        .expect("file opens");
    // The kernel lets a writer wait up to /proc/sys/fs/lease-break-time
    // (45 s) for a lease: the scan must let go long before.
    assert!(
        opening.elapsed() < Duration::from_secs(10),
        "{args:?}: the open for writing waited {:?}",
        opening.elapsed()
    );
    writer.set_len(cut).expect("file truncated");
    let out = child.wait_with_output().expect("child finishes");
    if leased && out.status.success() {
        // It finished its last block between holding the lease and the
        // open: the truncation came after the scan.
        return None;
    }
    Some((
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn a_file_truncated_mid_scan_is_an_error_not_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dat");
    let png = dir.path().join("out.dat.png");
    let len: usize = 128 << 20; // 512 MiB of float32
    let cut = (len as u64 * 4) / 2 + 12_345;
    let names = ["stats", "convert", "plot", "convert --order F"];
    for (k, name) in names.into_iter().enumerate() {
        // A change of memory order needs two dimensions: 16,384 x 8,192.
        let shape: &[usize] = match name {
            "convert --order F" => &[len >> 13, 1 << 13],
            _ => &[len],
        };
        let mut truncated = 0;
        for attempt in 0..20 {
            if truncated == 3 {
                break;
            }
            let input = sparse(dir.path(), &format!("big-{k}-{attempt}.dat"), shape);
            let args = commands(&input, &out).swap_remove(k).1;
            let result = truncate_mid_scan(&args, &input, 16 << 20, cut);
            std::fs::remove_file(&input).unwrap();
            let Some((status, stderr)) = result else {
                continue; // finished before the cut: try again
            };
            assert_eq!(status.signal(), None, "{name} died of a signal: {stderr}");
            assert_eq!(status.code(), Some(1), "{name}: {stderr}");
            let line = stderr.trim_end();
            assert!(!line.contains('\n'), "{name}: not one line: {stderr}");
            let file = input.file_name().unwrap().to_str().unwrap();
            assert!(
                line.contains(file) && line.contains("byte") && line.contains("truncated"),
                "{name}: {line}"
            );
            assert!(
                !out.exists() && !png.exists(),
                "{name} left a partial output"
            );
            truncated += 1;
        }
        assert_eq!(truncated, 3, "{name} always finished before the cut");
    }
}

/// Runs `mmarray args` to the end and gives its exit code and peak
/// resident set in bytes (`wait4`'s `ru_maxrss`).
fn peak_rss(args: &[String]) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mmarray starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (the `Child` is
    // never waited on), and both pointers are to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    drop(child);
    (code, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn whole_file_scans_stay_under_256_mib_resident() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dat");
    // 1 GiB of float32, as a line and as a heatmap (C and F order).
    let line = sparse(dir.path(), "line.dat", &[256 << 20]);
    let heat = sparse(dir.path(), "heat.dat", &[1 << 15, 1 << 13]);
    let mut runs = commands(&line, &out);
    runs.pop(); // the memory order change, of the 2-D array below
    runs.push(("convert --order F", commands(&heat, &out).pop().unwrap().1));
    runs.push(("plot heatmap", {
        let mut a = commands(&heat, &out).swap_remove(2).1;
        a[3] = format!("{}.heat.png", out.display());
        a
    }));
    for (name, args) in runs {
        let (code, rss) = peak_rss(&args);
        assert_eq!(code, 0, "{name} failed");
        assert!(
            rss < 256 << 20,
            "{name} peaked at {} MiB resident on a 1 GiB file",
            rss >> 20
        );
        eprintln!("{name}: peak RSS {} MiB", rss >> 20);
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(dir.path().join("out.dat.json"));
    }
}
