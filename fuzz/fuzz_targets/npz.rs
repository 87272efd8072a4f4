//! Arbitrary bytes as a whole `.npz` file: `npz::Archive::parse` returns
//! members whose bytes and validated layouts lie inside the file, each of
//! which extracts (inflated, CRC-checked) or gives a typed error naming the
//! file; or parsing gives such an error. It never panics, and never
//! allocates more than the file's declared sizes allow.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mmarray::format::npz::Archive;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npz");
    match Archive::parse(path, data) {
        Ok(archive) => {
            for member in archive.members() {
                let range = member.data_range();
                assert!(range.start <= range.end && range.end <= data.len() as u64);
                if let Some(layout) = member.layout() {
                    common::check_layout(layout);
                    assert!(layout.offset() >= range.start && layout.end() == range.end);
                }
                // Inflating is bounded by the declared size, which parsing
                // capped at 1032 times the compressed size.
                match member.extract(path, data) {
                    Ok(e) => {
                        common::check_layout(&e.layout);
                        assert_eq!(e.layout.end(), e.bytes.len() as u64);
                    }
                    Err(err) => common::check_error(&err, path),
                }
            }
        }
        Err(err) => common::check_error(&err, path),
    }
});
