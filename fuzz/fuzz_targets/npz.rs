//! Arbitrary bytes as a whole `.npz` file: `npz::Archive::parse` returns
//! members whose bytes and validated layouts lie inside the file, each of
//! which gives the same layout from its header alone as from extracting it
//! whole (inflated, CRC-checked), or a typed error naming the
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
                // Inflating only the header gives the same layout as
                // inflating everything (for a stored member, its absolute
                // layout), or an error.
                let peeked = member.header_layout(path, data);
                match &peeked {
                    Ok(layout) => common::check_layout(layout),
                    Err(err) => common::check_error(err, path),
                }
                // Inflating is bounded by the declared size, which parsing
                // capped at 1032 times the compressed size.
                match member.extract(path, data) {
                    Ok(e) => {
                        common::check_layout(&e.layout);
                        assert_eq!(e.layout.end(), e.bytes.len() as u64);
                        if member.is_compressed() {
                            assert_eq!(peeked.ok(), Some(e.layout));
                        }
                    }
                    Err(err) => common::check_error(&err, path),
                }
            }
        }
        Err(err) => common::check_error(&err, path),
    }
});
