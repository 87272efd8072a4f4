//! A growing array: an [`Appender`](mmarray::Appender) appends batches of
//! rows and `publish`es the length after each, so that readers (here, a
//! mapping in this process; in practice other processes) see every
//! finished batch while it goes on; `commit` makes the rows survive a
//! machine crash. The appender never maps the file and writes only past
//! the rows readers see, so it is safe, and readers map beside it.
//!
//! ```sh
//! cargo run --example growth
//! ```
//!
//! The files go to a temporary directory that is removed at the end. The
//! example checks what it shows, so running it is a test.

use mmarray::ndarray::{Array2, Ix2, s};
use mmarray::{Appender, MappedArray};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("log.dat");
    let cols = 4;

    // An empty array of rows of 4: the length along axis 0 is the one that grows.
    let mut log = Appender::<f32>::create(&path, &[cols])?;
    for batch in 0..5 {
        let rows = Array2::from_shape_fn((100, cols), |(r, c)| {
            (batch * 100 + r) as f32 + c as f32 / 10.0
        });
        log.append(&rows)?; // written with pwrite past the published rows
        log.publish()?; // the sidecar records the new length (process-crash safe)

        // What a reader opening now sees: every published row.
        // SAFETY: the example's own file; the appender writes only past the
        // rows this mapping covers, and nothing else writes the file.
        let reader = unsafe { MappedArray::<f32>::open(&path) }?;
        assert_eq!(reader.shape(), &[(batch + 1) * 100, cols]);
        println!(
            "batch {batch}: {} rows published, file {} bytes",
            reader.shape()[0],
            std::fs::metadata(&path)?.len()
        );
    }

    // A single row needs its leading axis: a batch of one.
    let row = mmarray::ndarray::Array1::from_elem(cols, -1.0f32);
    assert!(log.append(&row).is_err());
    log.append(&row.insert_axis(mmarray::ndarray::Axis(0)))?;

    log.commit()?; // synced, then recorded: survives a power cut too
    log.close()?;
    // No spare capacity: the file is exactly the array, as `tofile` writes it.
    assert_eq!(std::fs::metadata(&path)?.len(), 501 * 16);

    // SAFETY: the example's own file; the appender is closed.
    let done = unsafe { MappedArray::<f32>::open(&path) }?;
    let v = done.view_dim::<Ix2>()?;
    assert_eq!(v.dim(), (501, cols));
    assert_eq!(v[[499, 3]], 499.3);
    assert_eq!(v.row(500).to_vec(), [-1.0; 4]);
    println!(
        "closed: {:?} rows of {cols}, last two:\n{}",
        v.dim().0,
        v.slice(s![499.., ..])
    );
    println!(
        "sidecar: {}",
        std::fs::read_to_string(mmarray::sidecar_path(&path))?.trim_end()
    );
    Ok(())
}
