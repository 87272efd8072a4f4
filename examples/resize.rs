//! Resize a growable array from another process: the Rust side of the
//! Python package's cross-process `Busy` tests (`python/tests/test_busy.py`).
//!
//! ```sh
//! cargo run --example resize -- PATH ROWS         # resize PATH to ROWS rows
//! cargo run --example resize -- PATH ROWS --hold  # map PATH read-only and wait
//! ```
//!
//! Without `--hold` it opens the raw C-order array at `PATH` read-write
//! with the shared-write open (so that it works beside the Python
//! process's mappings, as the tests need), sets its length along axis 0 to `ROWS`, commits and
//! exits 0; on an error it prints it and exits 3 for [`Error::Busy`]
//! (shrinking a file another process maps), 1 for any other.
//!
//! With `--hold` it opens the array read-only instead (`ROWS` is ignored),
//! prints `ready` and keeps the mapping until a line arrives on stdin (or
//! stdin closes), then exits 0.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use mmarray::{DynArray, Error, ReadWrite};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, rows, hold) = match args.as_slice() {
        [path, rows] => (path, rows, false),
        [path, rows, flag] if flag == "--hold" => (path, rows, true),
        _ => {
            eprintln!("usage: resize PATH ROWS [--hold]");
            return ExitCode::from(2);
        }
    };
    let Ok(rows) = rows.parse::<usize>() else {
        eprintln!("resize: ROWS must be a non-negative integer, not {rows:?}");
        return ExitCode::from(2);
    };
    if hold {
        return match hold_open(path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("resize: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // SAFETY: this handle writes only rows past the length the other
    // handles (the test's Python process) map: growing adds zero rows after
    // them, and a shrink is refused while they map the file; it reads
    // nothing they write.
    let result = unsafe { DynArray::<ReadWrite>::open_shared_mut(path) }.and_then(|mut array| {
        mmarray::dispatch!(&mut array, |a| {
            a.resize(rows)?;
            a.commit()
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resize: {e}");
            let code = if matches!(e, Error::Busy { .. }) {
                3
            } else {
                1
            };
            ExitCode::from(code)
        }
    }
}

/// Maps `path` read-only, says `ready` and waits for a line on stdin.
fn hold_open(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: the test's own file; the other side only grows it (past the
    // rows this mapping covers) or is refused.
    let array = unsafe { DynArray::open(path) }?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    drop(array);
    Ok(())
}
