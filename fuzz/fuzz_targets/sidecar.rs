//! Arbitrary bytes as sidecar JSON: `mmarray::sidecar::parse` returns a
//! validated layout or a typed error naming the sidecar, never panics.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.dat.json");
    match mmarray::sidecar::parse(path, data) {
        Ok(sidecar) => common::check_layout(&sidecar.layout),
        Err(err) => common::check_error(&err, path),
    }
});
