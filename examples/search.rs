//! Searching a mapped file's bytes with a regular expression, as Python's
//! `re` searches an `mmap`: `MappedArray::as_bytes` is the array's bytes in
//! the file (from its offset, no header, no spare capacity), so a match's
//! byte offset divided by the element size is the element's index in
//! memory order, which unravels to its index in the array.
//!
//! ```sh
//! cargo run --example search
//! ```
//!
//! The file goes to a temporary directory that is removed at the end. The
//! example checks what it shows, so running it is a test.

use mmarray::ndarray::Ix2;
use mmarray::{CreateOptions, MappedArray};
use regex::bytes::Regex;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("frames.npy");
    let (rows, cols) = (1000, 64);

    // A .npy file of 1000 x 64 u32, with a marker value planted in a few
    // places. The header comes before the data in the file; as_bytes
    // starts after it.
    let marker: u32 = 0xC0FF_EE00;
    let planted = [(3, 7), (250, 0), (999, 63)];
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { CreateOptions::new().create::<u32>(&path, &[rows, cols]) }?;
    {
        let mut v = a.view_mut_dim::<Ix2>()?;
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as u32 % 1000;
        }
        for &(r, c) in &planted {
            v[[r, c]] = marker;
        }
    }
    a.flush()?;
    drop(a);

    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u32>::open(&path) }?;
    let bytes = a.as_bytes(); // zero-copy: the mapping itself
    println!(
        "{}: {} bytes of data after a {}-byte header",
        path.display(),
        bytes.len(),
        a.layout().offset()
    );

    // The marker's bytes, in the file's byte order, as a byte pattern
    // (`(?-u)`: bytes, not UTF-8). Matches at offsets that are not a
    // multiple of the element size straddle two elements: skip those.
    let pattern: String = marker
        .to_ne_bytes()
        .iter()
        .map(|b| format!("\\x{b:02x}"))
        .collect();
    let re = Regex::new(&format!("(?-u){pattern}"))?;
    let item = std::mem::size_of::<u32>();
    let mut found = Vec::new();
    for m in re.find_iter(bytes) {
        if m.start() % item != 0 {
            continue;
        }
        let index = m.start() / item; // memory order (C order here)
        let (r, c) = (index / cols, index % cols);
        println!("byte {:>7} -> element {index:>6} -> [{r}, {c}]", m.start());
        found.push((r, c));
    }
    assert_eq!(found, planted);

    // The same offsets as file offsets: add the array's offset.
    let file = std::fs::read(&path)?;
    let at = a.layout().offset() as usize + (3 * cols + 7) * item;
    assert_eq!(&file[at..at + item], &marker.to_ne_bytes());
    Ok(())
}
