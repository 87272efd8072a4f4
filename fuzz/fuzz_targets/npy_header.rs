//! Arbitrary bytes as the start of a `.npy` file: `npy::parse_header`
//! returns a validated layout whose data starts right after the header it
//! read, or a typed error naming the file; it never panics.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npy");
    match mmarray::npy::parse_header(path, data) {
        Ok(layout) => {
            common::check_layout(&layout);
            // The header was read from `data`, so it ends within it, after
            // the 10- or 12-byte preamble.
            assert!(layout.offset() >= 10, "{layout:?}");
            assert!(layout.offset() <= data.len() as u64, "{layout:?}");
        }
        Err(err) => common::check_error(&err, path),
    }
});
