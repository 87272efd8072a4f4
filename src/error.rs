//! The crate's one error type.
//!
//! Every variant names the file it is about (`path`) and carries what was
//! expected next to what was found, so that a message printed on its own is
//! enough to fix the problem. Underlying I/O errors are kept as
//! [`std::error::Error::source`], not repeated in the message.
//!
//! This module owns only the error type; it constructs nothing itself.

use std::io;
use std::path::{Path, PathBuf};

use crate::dtype::DType;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening, creating or using a mapped array.
///
/// Each variant holds the path of the file it is about. The enum is
/// `#[non_exhaustive]`: match the variants you handle and keep a `_` arm.
///
/// # Example
///
/// ```
/// use mmarray::{Error, MappedArray};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("lonely.dat");
/// std::fs::write(&path, [0u8; 16])?; // a raw file with no sidecar
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let err = unsafe { MappedArray::<f32>::open(&path) }.unwrap_err();
/// assert!(matches!(err, Error::SidecarMissing { .. }));
/// assert!(err.to_string().contains("lonely.dat.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on `path` failed; `action` says which one.
    #[error("{}: {action} failed: {source}", Escaped(path))]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What was being done, e.g. `"opening the data file"`.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A raw data file has no sidecar next to it (and is not a `.npy` file).
    #[error(
        "{}: no sidecar describes this file (looked for {}); describe the file with `mmarray::describe`, or open a .npy file",
        Escaped(path),
        Escaped(sidecar)
    )]
    SidecarMissing {
        /// The data file.
        path: PathBuf,
        /// Where the sidecar was expected.
        sidecar: PathBuf,
    },

    /// The sidecar is not valid JSON, has a field of the wrong type, lacks a
    /// required field or has a field the schema does not know.
    #[error("{}: malformed sidecar: {message}", Escaped(path))]
    MalformedSidecar {
        /// The sidecar file.
        path: PathBuf,
        /// What is wrong, with line and column when the JSON parser knows them.
        message: String,
    },

    /// The sidecar's `version` is not one this build reads.
    #[error(
        "{}: sidecar version {found} is not supported (this build reads version {supported})",
        Escaped(path)
    )]
    UnsupportedVersion {
        /// The sidecar file.
        path: PathBuf,
        /// The version found.
        found: u64,
        /// The version this build reads.
        supported: u64,
    },

    /// A `.npy` file's magic, version or header is invalid.
    #[error("{}: malformed .npy file: {message}", Escaped(path))]
    MalformedNpy {
        /// The `.npy` file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A `.npz` file's ZIP structure is invalid: no end of central
    /// directory, a central directory or member out of bounds or
    /// overlapping another, a local header that disagrees with the central
    /// one, a deflate stream that does not inflate to its declared size, or
    /// a member that is not a `.npy` file.
    #[error("{}: malformed .npz file: {message}", Escaped(path))]
    MalformedNpz {
        /// The `.npz` file.
        path: PathBuf,
        /// What is wrong, naming the member when one is at fault.
        message: String,
    },

    /// A `.npz` member uses a ZIP feature this crate does not read: a
    /// compression method other than stored (0) or deflate (8), encryption,
    /// or a split archive.
    #[error("{}", unsupported_npz_message(path, member, feature))]
    UnsupportedNpz {
        /// The `.npz` file.
        path: PathBuf,
        /// The member's file name in the archive, as stored (`x.npy`);
        /// empty when the archive as a whole is at fault (several disks).
        member: String,
        /// The feature, e.g. `"compression method 12 (bzip2)"`.
        feature: String,
    },

    /// A `.npz` member is compressed (`np.savez_compressed`), so it cannot
    /// be mapped in place; inflate it into memory instead.
    #[error(
        "{}: member {member:?} is compressed, so it cannot be mapped in place; read it into memory, or write the file with np.savez instead of np.savez_compressed",
        Escaped(path)
    )]
    CompressedMember {
        /// The `.npz` file.
        path: PathBuf,
        /// The member's name (without `.npy`).
        member: String,
    },

    /// A `.npz` member's bytes do not have the CRC-32 its central directory
    /// entry records.
    #[error(
        "{}: member {member:?} is corrupt: its CRC-32 is {found:#010x} but the archive records {expected:#010x}",
        Escaped(path)
    )]
    ChecksumMismatch {
        /// The `.npz` file.
        path: PathBuf,
        /// The member's name (without `.npy`).
        member: String,
        /// The CRC-32 recorded in the archive.
        expected: u32,
        /// The CRC-32 of the member's bytes.
        found: u32,
    },

    /// The dtype string is not one of the supported element types.
    #[error(
        "{}: unsupported dtype {dtype:?} (supported: bool, int8..int64, uint8..uint64, float16, float32, float64, complex64, complex128)",
        Escaped(path)
    )]
    UnknownDtype {
        /// The file holding the dtype.
        path: PathBuf,
        /// The dtype string as written.
        dtype: String,
    },

    /// The array's element type differs from the Rust type it was opened as.
    #[error("{}: the array holds {found} ({}) but was opened as {expected} ({})", Escaped(path), found.element_type().name(), expected.element_type().rust_name())]
    DtypeMismatch {
        /// The file.
        path: PathBuf,
        /// The dtype of the Rust type asked for.
        expected: DType,
        /// The dtype recorded in the file.
        found: DType,
    },

    /// The data is stored in the other byte order, so no zero-copy view of it
    /// can be given.
    #[error(
        "{}: dtype {dtype} is not in this machine's byte order, so it cannot be viewed in place; read a converted copy with `read_array`, or convert the file with `convert` and `ConvertOptions::byte_order(ByteOrder::NATIVE)`",
        Escaped(path)
    )]
    NonNativeByteOrder {
        /// The file.
        path: PathBuf,
        /// The dtype recorded in the file.
        dtype: DType,
    },

    /// The number of elements times the element size does not fit in memory
    /// (`isize::MAX` bytes), or the shape has too many dimensions.
    #[error(
        "{}: shape {shape:?} of {itemsize}-byte elements overflows the address space",
        Escaped(path)
    )]
    ShapeOverflow {
        /// The file.
        path: PathBuf,
        /// The shape as written.
        shape: Vec<u64>,
        /// The element size in bytes.
        itemsize: usize,
    },

    /// The shape has more dimensions than numpy supports.
    #[error(
        "{}: shape has {ndim} dimensions, more than the {max} numpy supports",
        Escaped(path)
    )]
    TooManyDimensions {
        /// The file.
        path: PathBuf,
        /// The number of dimensions found.
        ndim: usize,
        /// The largest number allowed.
        max: usize,
    },

    /// The data file is shorter than `offset` plus the array's size.
    #[error(
        "{}: data file is too short: the array needs {needed} bytes (offset {offset} + {nbytes} bytes of data) but the file has {actual}",
        Escaped(path)
    )]
    DataTooShort {
        /// The data file.
        path: PathBuf,
        /// `offset + nbytes`.
        needed: u64,
        /// The byte offset of element 0.
        offset: u64,
        /// The bytes the elements take.
        nbytes: u64,
        /// The file's length.
        actual: u64,
    },

    /// The data file ended before the array did while it was being read:
    /// another program shrank it after it was opened (and checked to be
    /// long enough). Reported by the whole-file scans, which read with
    /// `pread` (see [`Scan`](crate::Scan)); a mapped view of such a file
    /// gets `SIGBUS` instead (see [`MappedArray`](crate::MappedArray#safety)).
    #[error(
        "{}: the array's data ended at byte {at} of {end}: the file was truncated while being read",
        Escaped(path)
    )]
    Truncated {
        /// The data file.
        path: PathBuf,
        /// The byte (from the start of the file) where the data ended.
        at: u64,
        /// Where the array's data should have ended (offset + nbytes).
        end: u64,
    },

    /// The byte offset of element 0 is not a multiple of the element type's
    /// alignment.
    #[error(
        "{}: offset {offset} is not a multiple of {align}, the alignment of {dtype}",
        Escaped(path)
    )]
    MisalignedOffset {
        /// The file.
        path: PathBuf,
        /// The byte offset of element 0.
        offset: u64,
        /// The alignment the element type needs.
        align: usize,
        /// The array's dtype.
        dtype: DType,
    },

    /// A `bool` array holds a byte other than 0 or 1.
    #[error(
        "{}: element {index} of the bool array is the byte {byte}, not 0 or 1",
        Escaped(path)
    )]
    InvalidBool {
        /// The file.
        path: PathBuf,
        /// Index of the first bad element, in memory order.
        index: usize,
        /// The byte found there.
        byte: u8,
    },

    /// A view of a fixed number of dimensions was asked for an array with
    /// another number.
    #[error("{}: the array has {found} dimensions, not {expected}", Escaped(path))]
    DimensionMismatch {
        /// The file.
        path: PathBuf,
        /// The number of dimensions asked for.
        expected: usize,
        /// The array's number of dimensions.
        found: usize,
    },

    /// `create` was asked to write over an existing array without
    /// `overwrite(true)`.
    #[error(
        "{}: an array already exists here; to replace it, pass overwrite(true)",
        Escaped(path)
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// [`Store::create`](crate::Store::create) was given a directory that
    /// is a store already. A store has no `overwrite`: open the one there,
    /// or remove it first.
    #[error(
        "{}: is a store already (it has a {}); open it with `Store::open`, or remove the directory to make a new store there",
        Escaped(path),
        crate::store::STORE_FILE
    )]
    StoreExists {
        /// The store's directory.
        path: PathBuf,
    },

    /// [`Store::rename`](crate::Store::rename) was asked for a name the
    /// store already has. Renaming never replaces an array: remove that one
    /// first, or pick another name.
    #[error(
        "{}: the store already has an array named {name:?}; remove it first (`Store::remove`) or pick another name",
        Escaped(path)
    )]
    NameTaken {
        /// The existing array's file.
        path: PathBuf,
        /// The name asked for.
        name: String,
    },

    /// The file is mapped by another process (or another handle in this
    /// one), so it cannot be shrunk, replaced or removed now; or (action
    /// `"grown"`) another handle holds the array's writer claim: it is
    /// appending, and one appender at a time may change the length; or
    /// (action `"mapped"`) another handle maps the file for writing, so it
    /// cannot be mapped now, and (action `"mapped for writing"`) another
    /// handle maps it, so it cannot be mapped for writing now (see
    /// [Safety of mappings](crate#safety-of-mappings)).
    #[error("{}", busy_message(path, action))]
    Busy {
        /// The data file.
        path: PathBuf,
        /// What was refused: `"resized"`, `"replaced"`, `"removed"`,
        /// `"renamed"`, `"grown"` for a second appender, `"mapped"` or
        /// `"mapped for writing"` for a mapping the map lock refused.
        action: &'static str,
    },

    /// A handle was used in a process other than the one that opened it (a
    /// `fork` child, which inherits the parent's handles and, with them,
    /// the parent's locks): it refuses to grow, shrink, rewrite the sidecar
    /// or release a claim, any of which would act on the parent's locks and
    /// could pull the file from under the parent's mappings. Reading the
    /// inherited views is fine. Open the array again in the child.
    #[error(
        "{}: this handle was opened by process {opened_by}, not this one (a forked child inherits its parent's handles and locks); open the array again in this process",
        Escaped(path)
    )]
    ForkedHandle {
        /// The data file.
        path: PathBuf,
        /// The process that opened the handle.
        opened_by: u32,
    },

    /// A call would write over a file it reads: the destination of a
    /// `convert`, `create` or sidecar is the same file as its source, its
    /// sidecar or its own data file (compared by device and inode, after
    /// following symlinks, so a symlink or hard link to an input counts).
    /// No retry can succeed: write to another path.
    #[error(
        "{}: is the same file as {}, which this call reads or writes too; give a destination that is another file",
        Escaped(path),
        Escaped(input)
    )]
    SameFile {
        /// The destination.
        path: PathBuf,
        /// The input (or other output) it is the same file as.
        input: PathBuf,
    },

    /// A store was given an array name that could reach outside its
    /// directory or is otherwise unsafe as a file name.
    #[error("{}: invalid array name {name:?}: {reason}", Escaped(path))]
    InvalidName {
        /// The store's directory.
        path: PathBuf,
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// Arrays that must agree in shape (shards of one array) do not.
    #[error("{}: shape {found:?} does not match {expected:?}", Escaped(path))]
    ShapeMismatch {
        /// The file (or store) involved.
        path: PathBuf,
        /// The shape required (the trailing dimensions, for shards).
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },

    /// Rows appended to an array do not have its row shape: every row has
    /// the array's shape without axis 0, and the rows come stacked along a
    /// leading axis of their own (`[n, ...row_shape]`), also when there is
    /// one row.
    #[error("{}", row_shape_message(path, row_shape, found))]
    RowShapeMismatch {
        /// The array's data file.
        path: PathBuf,
        /// The shape of one row: the array's shape without axis 0.
        row_shape: Vec<usize>,
        /// The shape of what was appended.
        found: Vec<usize>,
    },

    /// An argument is out of range for the array, e.g. a flush range past its
    /// end.
    #[error("{}: {message}", Escaped(path))]
    InvalidArgument {
        /// The array's file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// The file the error is about.
    ///
    /// ```
    /// # use mmarray::MappedArray;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let err = unsafe { MappedArray::<u8>::open("no/such/array.dat") }.unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new("no/such/array.dat"));
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::SidecarMissing { path, .. }
            | Error::MalformedSidecar { path, .. }
            | Error::UnsupportedVersion { path, .. }
            | Error::MalformedNpy { path, .. }
            | Error::MalformedNpz { path, .. }
            | Error::UnsupportedNpz { path, .. }
            | Error::CompressedMember { path, .. }
            | Error::ChecksumMismatch { path, .. }
            | Error::UnknownDtype { path, .. }
            | Error::DtypeMismatch { path, .. }
            | Error::NonNativeByteOrder { path, .. }
            | Error::ShapeOverflow { path, .. }
            | Error::TooManyDimensions { path, .. }
            | Error::DataTooShort { path, .. }
            | Error::Truncated { path, .. }
            | Error::MisalignedOffset { path, .. }
            | Error::InvalidBool { path, .. }
            | Error::DimensionMismatch { path, .. }
            | Error::AlreadyExists { path }
            | Error::StoreExists { path }
            | Error::NameTaken { path, .. }
            | Error::Busy { path, .. }
            | Error::ForkedHandle { path, .. }
            | Error::SameFile { path, .. }
            | Error::InvalidName { path, .. }
            | Error::ShapeMismatch { path, .. }
            | Error::RowShapeMismatch { path, .. }
            | Error::InvalidArgument { path, .. } => path,
        }
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// The [`Error::Busy`] action of a second appender refused the writer
/// claim.
pub(crate) const GROWN: &str = "grown";

/// The [`Error::Busy`] action of a mapping refused because another handle
/// maps the file for writing.
pub(crate) const MAPPED: &str = "mapped";

/// The [`Error::Busy`] action of a mapping for writing refused because
/// another handle maps the file.
pub(crate) const MAPPED_FOR_WRITING: &str = "mapped for writing";

/// The [`Error::Busy`] action of a store rename refused because a handle
/// appends to the array.
pub(crate) const RENAMED: &str = "renamed";

fn busy_message(path: &Path, action: &str) -> String {
    if action == RENAMED {
        format!(
            "{}: another handle (in this or another process) is appending to the array, so it cannot be renamed now; close the appender and retry",
            Escaped(path)
        )
    } else if action == MAPPED {
        format!(
            "{}: another handle (in this or another process) maps the array for writing, so it cannot be mapped now; close that handle and retry",
            Escaped(path)
        )
    } else if action == MAPPED_FOR_WRITING {
        format!(
            "{}: another handle (in this or another process) maps the array, so it cannot be mapped for writing now; close the other mappings and retry",
            Escaped(path)
        )
    } else if action == GROWN {
        format!(
            "{}: another handle (in this or another process) is growing the array, so it cannot be grown now; one appender at a time: close the other appender and retry",
            Escaped(path)
        )
    } else {
        format!(
            "{}: the array is in use (mapped by another process or handle), so it cannot be {action} now; close the other mappings and retry",
            Escaped(path)
        )
    }
}

fn row_shape_message(path: &Path, row_shape: &[usize], found: &[usize]) -> String {
    let batch = match row_shape {
        [] => "[n]".to_owned(),
        dims => format!("[n, {}]", join(dims)),
    };
    let mut message = format!(
        "{}: cannot append an array of shape {found:?}: rows must have the trailing shape {row_shape:?}, and the batch a leading axis counting the rows (shape {batch})",
        Escaped(path)
    );
    if found == row_shape {
        message += &format!(
            "; this is one row: append row.insert_axis(Axis(0)) (shape [1{}{}])",
            if row_shape.is_empty() { "" } else { ", " },
            join(row_shape)
        );
    }
    message
}

fn join(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn unsupported_npz_message(path: &Path, member: &str, feature: &str) -> String {
    let what = if member.is_empty() {
        "the archive".to_owned()
    } else {
        format!("member {member:?}")
    };
    format!(
        "{}: {what} uses {feature}, which is not supported (members must be stored or deflated, unencrypted, in a one-disk archive, as np.savez and np.savez_compressed write them)",
        Escaped(path)
    )
}

/// A path as error messages print it: as [`Path::display`] does, but with
/// every control character (newline, tab, ESC, ...) shown as an escape
/// (`\n`, `\t`, `\u{1b}`), so that a message is always one line and never
/// sends terminal control sequences. Other characters, backslashes
/// included, are printed as they are.
pub(crate) struct Escaped<'a>(pub(crate) &'a Path);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for c in self.0.to_string_lossy().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Attach a path and an action to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path, action: &'static str) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path, action: &'static str) -> Result<T> {
        self.map_err(|source| Error::io(path, action, source))
    }
}
