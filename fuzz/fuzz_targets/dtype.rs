//! Arbitrary text as a dtype: it parses or gives `ParseDTypeError` holding
//! the text, and whatever parses displays as a type string that parses back
//! to the same `DType`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mmarray::{DType, ParseDTypeError};

fuzz_target!(|text: &str| {
    match text.parse::<DType>() {
        Ok(dtype) => {
            let shown = dtype.to_string();
            assert_eq!(shown.parse::<DType>(), Ok(dtype), "{text:?} -> {shown:?}");
            // Type strings are a byte order, a kind and a size: `<f4`, `|u1`.
            assert!(
                matches!(shown.as_bytes()[0], b'<' | b'>' | b'|'),
                "{shown:?}"
            );
            assert_eq!(
                shown[2..].parse::<usize>().ok(),
                Some(dtype.itemsize()),
                "{shown:?}"
            );
        }
        Err(ParseDTypeError(echo)) => assert_eq!(echo, text),
    }
});
