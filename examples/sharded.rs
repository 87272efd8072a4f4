//! Sharded arrays: arrays with the same row shape read as one along axis
//! 0, here the shards `part-0000`, `part-0001`, ... of a store: global row
//! indexing, a row range across shard boundaries, per-shard views.
//!
//! ```sh
//! cargo run --example sharded
//! ```
//!
//! The files go to a temporary directory that is removed at the end. The
//! example checks what it shows, so running it is a test.

use mmarray::{ShardedArray, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::create(dir.path().join("shards"))?;

    // Four shards of rows of 3, of different lengths (one empty); the value
    // of row r, column c is 10 * r + c, counted over all shards.
    let lengths = [4, 0, 3, 5];
    let mut first = 0;
    for (i, &rows) in lengths.iter().enumerate() {
        // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
        let mut shard = unsafe { store.create_array::<u32>(&format!("part-{i:04}"), &[rows, 3]) }?;
        for (j, x) in shard.as_slice_mut().iter_mut().enumerate() {
            *x = (10 * (first + j / 3) + j % 3) as u32;
        }
        shard.flush()?;
        first += rows;
    }

    // Zero-pad the numbers: shards are taken in name order.
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let all: ShardedArray<u32> = unsafe { store.open_sharded("part-") }?;
    assert_eq!(all.len(), 12);
    assert_eq!(all.row_shape(), &[3]);
    println!(
        "{} rows of {:?} in {} shards",
        all.len(),
        all.row_shape(),
        all.shards().len()
    );

    let row = all.row(5).expect("row 5 exists"); // global index: shard 2, local row 1
    assert_eq!(all.locate(5), Some((2, 1)));
    assert_eq!(row.iter().copied().collect::<Vec<_>>(), [50, 51, 52]);
    println!("row 5 (shard {:?}): {row}", all.locate(5));

    // Rows 2..9 cross shards 0, 2 and 3: zero-copy views, or one copy.
    let views = all.row_views(2..9)?;
    assert_eq!(
        views.iter().map(|v| v.shape()[0]).collect::<Vec<_>>(),
        [2, 3, 2]
    );
    let copy = all.read_rows(2..9)?;
    assert_eq!(copy.shape(), &[7, 3]);
    assert_eq!(copy[[6, 2]], 82);
    println!("rows 2..9:\n{copy}");

    let per_shard: Vec<usize> = all.shard_views().map(|v| v.shape()[0]).collect();
    assert_eq!(per_shard, lengths);
    Ok(())
}
