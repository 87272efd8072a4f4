//! Create an array, write it through a mutable view, flush, reopen it
//! read-only and print what it holds.
//!
//! ```sh
//! cargo run --release --example quickstart [DIR]
//! ```
//!
//! Without `DIR` the files go to a temporary directory that is removed at
//! the end. The example checks what it prints, so running it is a test.

use std::time::Instant;

use mmarray::MappedArray;
use ndarray::{Axis, Ix2};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args_os()
        .nth(1)
        .map(Into::into)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let path = dir.join("temps.dat");
    let (rows, cols) = (1_000_000, 3);

    let t = Instant::now();
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<f32>::create(&path, &[rows, cols]) }?;
    for (i, mut row) in w.view_mut_dim::<Ix2>()?.axis_iter_mut(Axis(0)).enumerate() {
        let x = i as f32;
        row.assign(&ndarray::arr1(&[x, x.sin(), 0.5 * x]));
    }
    w.flush()?;
    println!(
        "created, filled and flushed {} ({} x {} f32, {} MiB) in {:.1?}",
        path.display(),
        rows,
        cols,
        w.layout().nbytes() >> 20,
        t.elapsed()
    );
    println!(
        "sidecar: {}",
        std::fs::read_to_string(mmarray::sidecar_path(&path))?.trim_end()
    );
    drop(w);

    let t = Instant::now();
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<f32>::open(&path) }?;
    let v = r.view_dim::<Ix2>()?;
    println!(
        "reopened read-only in {:.1?}: dtype {}, shape {:?}, order {}",
        t.elapsed(),
        r.dtype(),
        r.shape(),
        r.order()
    );
    println!("first rows:\n{}", v.slice(ndarray::s![..3, ..]));
    println!("last row: {}", v.row(rows - 1));
    // Accumulate in f64: a million f32 additions in f32 lose digits.
    let means: Vec<f64> = v
        .axis_iter(Axis(1))
        .map(|col| col.iter().map(|&x| f64::from(x)).sum::<f64>() / rows as f64)
        .collect();
    println!("column means: {means:?}");
    assert_eq!(r.shape(), &[rows, cols]);
    assert_eq!(v[[2, 2]], 1.0);
    assert_eq!(means[0], (rows - 1) as f64 / 2.0);
    Ok(())
}
