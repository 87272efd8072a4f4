//! Helpers shared by the CLI's integration tests.

use std::process::Command;

/// The interpreter with numpy (`$MMARRAY_PYTHON`, default `python3`), or
/// `None` (after saying so) when numpy is missing; with
/// `MMARRAY_REQUIRE_NUMPY=1` a missing numpy fails the test instead.
pub fn python() -> Option<String> {
    let python = std::env::var("MMARRAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("MMARRAY_REQUIRE_NUMPY").as_deref() != Ok("1"),
        "numpy is required (MMARRAY_REQUIRE_NUMPY=1) but `{python} -c 'import numpy'` failed"
    );
    eprintln!("skipped: numpy not available");
    None
}
