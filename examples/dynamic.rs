//! `DynArray` and `dispatch!`: arrays whose element type is known only
//! when the file is opened, handled by generic code written once. Here a
//! directory of files of five dtypes is summarised by one function.
//!
//! ```sh
//! cargo run --example dynamic
//! ```
//!
//! The files go to a temporary directory that is removed at the end. The
//! example checks what it shows, so running it is a test.

use mmarray::ndarray::{Array1, array};
use mmarray::{CreateOptions, DynArray, Element, MappedArray, Mode, dispatch};

/// What any array can tell: its sum and largest element, as f64. Generic
/// over the element type, so `dispatch!` can call it for whichever the file
/// holds.
fn summary<T: Element, M: Mode>(a: &MappedArray<T, M>) -> (f64, f64) {
    let values = a.as_slice().iter().map(|&x| x.to_scalar().as_f64());
    values.fold((0.0, f64::NEG_INFINITY), |(sum, max), x| {
        (sum + x, max.max(x))
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let options = CreateOptions::new();
    options.write(dir.path().join("a.npy"), &array![1u8, 2, 3])?;
    options.write(dir.path().join("b.npy"), &array![[-1i16, 5], [7, 2]])?;
    options.write(dir.path().join("c.dat"), &Array1::linspace(0.0f64, 1.0, 5))?;
    options.write(dir.path().join("d.npy"), &array![true, false, true])?;
    options.write(dir.path().join("e.dat"), &array![half::f16::from_f32(2.5)])?;

    let mut files: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "npy" || e == "dat"));
    files.sort();

    let mut sums = Vec::new();
    for path in &files {
        // SAFETY: the example's own file in its own temporary directory; nothing else changes it while mapped.
        let array = unsafe { DynArray::open(path) }?; // the sidecar or header says the type
        let (sum, max) = dispatch!(&array, |a| summary(a)); // `a`: &MappedArray<that type>
        let layout = array.info().layout();
        println!(
            "{}: {} {:?}, {} bytes, sum {sum}, max {max}",
            path.file_name().unwrap().to_string_lossy(),
            array.element_type(),
            layout.shape(),
            array.as_bytes().len()
        );
        sums.push(sum);
    }
    assert_eq!(sums, [6.0, 13.0, 2.5, 2.0, 2.5]);
    Ok(())
}
