//! Arrays whose element type is known only at run time.
//!
//! A file's dtype is learned when it is opened. [`DynArray`] opens any array
//! as the right `MappedArray<T>`, one variant per element type, and
//! [`dispatch!`](crate::dispatch) runs generic code on whichever it is: the
//! one place where all element types are matched, generated from the dtype
//! table, so code over `DynArray` never lists the types itself.
//!
//! ```
//! use mmarray::{dispatch, CreateOptions, DynArray, Element};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.npy");
//! CreateOptions::new().write(&path, &ndarray::array![1u16, 2, 3])?;
//!
//! // SAFETY: the example's own file; nothing else changes it while mapped.
//! let array = unsafe { DynArray::open(&path) }?;            // the file says u16
//! let total: f64 = dispatch!(&array, |a| {        // `a`: &MappedArray<u16>
//!     a.as_slice().iter().map(|&x| x.to_scalar().as_f64()).sum()
//! });
//! assert_eq!(total, 6.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use crate::array::MappedArray;
use crate::create::CreateOptions;
use crate::dtype::ElementType;
use crate::error::Result;
use crate::lock::MapKind;
use crate::mapping::{Mode, ReadOnly, ReadWrite};
use crate::source::{self, ArrayInfo};

macro_rules! define_dyn_array {
    (() $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        /// A [`MappedArray`] of whichever element type the file holds.
        ///
        /// Use [`dispatch!`](crate::dispatch) to run generic code on it
        /// rather than matching the variants by hand.
        pub enum DynArray<M: Mode = ReadOnly> {
            $(
                #[doc = concat!("A `", $name, "` array.")]
                $variant(MappedArray<$ty, M>),
            )*
        }

        $(
            impl<M: Mode> From<MappedArray<$ty, M>> for DynArray<M> {
                fn from(array: MappedArray<$ty, M>) -> Self {
                    DynArray::$variant(array)
                }
            }
        )*

        impl<M: Mode> DynArray<M> {
            /// Opens the array at `path` in mode `M`, as whatever element
            /// type its sidecar or header names.
            ///
            /// # Safety
            ///
            /// As [`MappedArray::open_in`].
            ///
            /// # Errors
            ///
            /// As [`MappedArray::open`], except that the dtype cannot
            /// mismatch.
            pub unsafe fn open_in(path: impl AsRef<Path>) -> Result<Self> {
                let (info, file) = source::open_source(path.as_ref(), M::WRITES_FILE)?;
                match info.layout.dtype().element_type() {
                    // SAFETY: the caller's contract.
                    $(ElementType::$variant => unsafe { MappedArray::map_opened(info, file) }.map(DynArray::$variant),)*
                }
            }
        }

        impl DynArray<ReadWrite> {
            /// [`MappedArray::open_shared_mut`], as whatever element type
            /// the file holds: one of several writers of an array.
            ///
            /// # Safety
            ///
            /// As [`MappedArray::open_shared_mut`].
            ///
            /// # Errors
            ///
            /// As [`MappedArray::open_shared_mut`], except that the dtype
            /// cannot mismatch.
            pub unsafe fn open_shared_mut(path: impl AsRef<Path>) -> Result<Self> {
                let (info, file) = source::open_source(path.as_ref(), true)?;
                match info.layout.dtype().element_type() {
                    // SAFETY: the caller's contract, which covers the other
                    // writers the shared map lock lets in.
                    $(ElementType::$variant => unsafe {
                        MappedArray::map_opened_as(info, file, MapKind::Shared)
                    }
                    .map(DynArray::$variant),)*
                }
            }
        }
    };
}

crate::for_each_element_type!([define_dyn_array]);

impl DynArray<ReadWrite> {
    /// Creates a zero-filled array of `element` type and `shape` with
    /// `options` (see [`CreateOptions::create`]) and maps it read-write.
    ///
    /// ```
    /// use mmarray::{CreateOptions, DynArray, ElementType};
    ///
    /// let dir = tempfile::tempdir()?;
    /// // SAFETY: a new file in our own directory: nothing else changes it.
    /// let a = unsafe { DynArray::create(dir.path().join("x.npy"), ElementType::I16, &[3], &CreateOptions::new())? };
    /// assert_eq!(a.element_type(), ElementType::I16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    ///
    /// As [`CreateOptions::create`].
    ///
    /// # Errors
    ///
    /// As [`CreateOptions::create`].
    pub unsafe fn create(
        path: impl AsRef<Path>,
        element: ElementType,
        shape: &[usize],
        options: &CreateOptions,
    ) -> Result<DynArray<ReadWrite>> {
        // SAFETY: the caller's contract.
        crate::dispatch_type!(element, |T| unsafe { options.create::<T>(path, shape) }
            .map(Self::from))
    }
}

impl DynArray {
    /// Opens the array at `path` read-only, as whatever element type it
    /// holds.
    ///
    /// ```compile_fail,E0133
    /// # let path = std::path::Path::new("a.dat");
    /// let a = mmarray::DynArray::open(path);
    /// ```
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open`].
    ///
    /// # Errors
    ///
    /// As [`MappedArray::open`], except that the dtype cannot mismatch.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<DynArray> {
        // SAFETY: the caller's contract.
        unsafe { DynArray::open_in(path) }
    }
}

impl<M: Mode> DynArray<M> {
    /// Path, format, layout and attrs.
    pub fn info(&self) -> &ArrayInfo {
        crate::dispatch!(self, |a| a.info())
    }

    /// The element type.
    pub fn element_type(&self) -> ElementType {
        self.info().layout().dtype().element_type()
    }

    /// The array's bytes as they are in the file, whatever its element
    /// type; see [`MappedArray::as_bytes`].
    ///
    /// ```
    /// use mmarray::{CreateOptions, DynArray};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// CreateOptions::new().write(&path, &ndarray::array![1i32, 2, 3])?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let a = unsafe { DynArray::open(&path) }?;
    /// assert_eq!(a.as_bytes().len(), 12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        crate::dispatch!(self, |a| a.as_bytes())
    }
}

/// Runs `$body` with `$a` bound to the typed [`MappedArray`] inside a
/// [`DynArray`] (or a reference to one), whatever its element type. The body
/// is compiled once per element type, so it may only use what every
/// [`Element`](crate::Element) offers.
///
/// See the [module docs](crate::dynamic) for an example.
#[macro_export]
macro_rules! dispatch {
    ($array:expr, |$a:ident| $body:expr) => {
        $crate::for_each_element_type!([$crate::__dispatch_arms] $array, $a, $body)
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! __dispatch_arms {
    (($array:expr, $a:ident, $body:expr) $($variant:ident => $ty:ty, $kind:expr, $size:expr, $name:expr, $class:ident;)*) => {
        match $array {
            $($crate::DynArray::$variant($a) => $body,)*
        }
    };
}
