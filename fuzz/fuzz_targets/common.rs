//! Checks shared by the fuzz targets.

use mmarray::layout::MAX_DIMS;
use mmarray::{Error, Layout};
use std::path::Path;

/// What every `Layout` the library hands out promises: at most `MAX_DIMS`
/// axes, exact sizes that fit in `isize::MAX` bytes, and an end that fits
/// in a `u64`.
pub fn check_layout(layout: &Layout) {
    assert!(layout.ndim() <= MAX_DIMS, "{layout:?}");
    let len = layout
        .shape()
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .expect("the element count of a validated layout cannot overflow");
    assert_eq!(layout.len(), len, "{layout:?}");
    assert_eq!(layout.is_empty(), len == 0);
    assert_eq!(
        layout.nbytes(),
        len * layout.dtype().itemsize(),
        "{layout:?}"
    );
    assert!(layout.nbytes() <= isize::MAX as usize, "{layout:?}");
    assert_eq!(
        Some(layout.end()),
        layout.offset().checked_add(layout.nbytes() as u64),
        "{layout:?}"
    );
    assert_eq!(layout.element_strides().len(), layout.ndim());
    // The dtype displays as a type string that parses back to itself.
    let text = layout.dtype().to_string();
    assert_eq!(text.parse::<mmarray::DType>().ok(), Some(layout.dtype()));
}

/// Every error names the file it is about, and formats without panicking.
pub fn check_error(err: &Error, path: &Path) {
    assert_eq!(err.path(), path, "{err:?}");
    assert!(!err.to_string().is_empty());
}
