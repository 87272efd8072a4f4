//! The stored forms of an array, one module each: how a [`Layout`] (and
//! user attrs) is written down next to, or in front of, the elements.
//!
//! - [`sidecar`]: a raw data file described by a small JSON file beside it.
//! - [`npy`]: numpy's `.npy` file, a header followed by the elements.
//! - [`npz`]: numpy's `.npz` archive, a ZIP file of `.npy` members; stored
//!   members are found in place, compressed ones inflated.
//!
//! [`Layout`]: crate::Layout
//!
//! Each module parses and writes bytes; the I/O around them (finding the
//! description of a path, opening and locking files) lives in the modules
//! that open files.

pub mod npy;
pub mod npz;
pub mod sidecar;
