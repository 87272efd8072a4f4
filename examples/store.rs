//! A store: a directory of named arrays (raw + sidecar or `.npy`, each a
//! file numpy opens on its own) with store-level attrs. Create, list (a
//! broken array is listed with its error, beside the others), open, rename
//! and remove.
//!
//! ```sh
//! cargo run --example store
//! ```
//!
//! The files go to a temporary directory that is removed at the end. The
//! example checks what it shows, so running it is a test.

use mmarray::{CreateOptions, Error, Format, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::create(dir.path().join("runs"))?;
    let mut attrs = mmarray::Attrs::new();
    attrs.insert("experiment".into(), "sweep-7".into());
    store.set_attrs(attrs)?;

    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let mut loss = unsafe { store.create_array::<f32>("loss", &[100]) }?; // runs/loss.dat + loss.dat.json
    for (i, x) in loss.as_slice_mut().iter_mut().enumerate() {
        *x = 1.0 / (1.0 + i as f32);
    }
    loss.flush()?;
    drop(loss);
    let mut npy = CreateOptions::new();
    npy.format(Format::Npy);
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array_with::<i64>("labels", &[100], &npy) }?); // runs/labels.npy

    // Names are the store's, not file names: it adds the suffixes itself.
    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let refused = unsafe { store.create_array::<f32>("weights.dat", &[1]) }.unwrap_err();
    assert!(matches!(refused, Error::InvalidName { .. }));
    println!("refused: {refused}");

    // A sidecar broken by hand: listed with its error, hiding nothing.
    std::fs::write(store.path().join("broken.dat"), [0u8; 4])?;
    std::fs::write(store.path().join("broken.dat.json"), "{not json")?;
    for entry in store.list()? {
        match entry.layout() {
            Ok(layout) => println!(
                "  {:<8} {} {:?}",
                entry.name(),
                layout.dtype(),
                layout.shape()
            ),
            Err(e) => println!("  {:<8} error: {e}", entry.name()),
        }
    }
    let names: Vec<String> = store.list()?.iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(names, ["broken", "labels", "loss"]);
    std::fs::remove_file(store.path().join("broken.dat.json"))?;
    std::fs::remove_file(store.path().join("broken.dat"))?;

    // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
    let loss = unsafe { store.open_array::<f32>("loss") }?;
    assert_eq!(loss.view()[1], 0.5);
    drop(loss);
    store.rename("loss", "loss-v1")?;
    store.remove("labels")?;
    assert!(store.contains("loss-v1") && !store.contains("labels"));

    // Reopened from disk: the same arrays and attrs.
    let again = Store::open(store.path())?;
    assert_eq!(again.attrs()["experiment"], "sweep-7");
    assert_eq!(again.list()?.len(), 1);
    // A second `create` says how to get at the store that is there.
    let exists = Store::create(store.path()).unwrap_err();
    assert!(matches!(exists, Error::StoreExists { .. }));
    println!("{exists}");
    Ok(())
}
