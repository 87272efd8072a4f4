//! numpy's `.npz` archive: a ZIP file of `.npy` members, parsed and written
//! as bytes.
//!
//! `np.savez` stores each array uncompressed as a member `<name>.npy`;
//! `np.savez_compressed` deflates them. numpy's own
//! `np.load(..., mmap_mode="r")` ignores `mmap_mode` for `.npz` files and
//! reads every array into memory. This module finds where each stored
//! member's elements sit in the archive, so that they can be mapped in
//! place, and inflates compressed members into memory. It never opens a
//! file: [`Archive::parse`] takes the whole file's bytes (typically a
//! read-only mapping of it) and [`NpzWriter`] writes to any
//! [`std::io::Write`].
//!
//! # The ZIP structure, as far as `.npz` files use it
//!
//! ```text
//! [local header 1][name][extra][member 1's bytes]   ← a .npy file: header + elements
//! [local header 2][name][extra][member 2's bytes]
//! ...
//! [central directory: one entry per member: name, sizes, CRC-32, method, local header offset]
//! [ZIP64 end of central directory record + locator]   (only when counts or offsets need 64 bits)
//! [end of central directory record (22 bytes) + comment (0..65535 bytes)]
//! ```
//!
//! A reader starts at the end: it searches backwards, over at most the
//! 22-byte record plus the longest comment, for the end of central
//! directory (EOCD), follows the ZIP64 locator when there is one, walks the
//! central directory, and checks each entry against its local header.
//! Sizes and offsets that do not fit in 32 bits are `0xFFFFFFFF` in the
//! fixed fields and given as 64-bit values in a ZIP64 "extra field"
//! (id `0x0001`). numpy writes members with `force_zip64=True`, so every
//! local header of an `np.savez` file has such an extra field, while the
//! central directory uses one only when a value needs it.
//!
//! # What [`Archive::parse`] checks
//!
//! Everything it reads from the file is checked against the file before it
//! is used, and no allocation is sized by an untrusted count beyond what the
//! bytes can hold (a central directory entry is at least 46 bytes):
//!
//! - the EOCD, found with a bounded backwards search, whose comment runs
//!   exactly to the end of the file; one disk only; the ZIP64 locator and
//!   record when present, with the 16- and 32-bit fields of the EOCD equal
//!   to the 64-bit ones or saturated (`0xFFFF`, `0xFFFFFFFF`);
//! - the central directory lies inside the file and ends exactly where the
//!   (ZIP64) EOCD starts; its entries fill it exactly; the entry count fits
//!   in its size;
//! - each entry: a well-formed extra field, ZIP64 values present for every
//!   saturated field, compression method stored (0) or deflate (8), no
//!   encryption ([`Error::UnsupportedNpz`] otherwise); its local header
//!   has the signature, the same name, method and flags, and the same
//!   CRC-32 and sizes (ZIP64 ones included; with a data descriptor, flag
//!   bit 3, zeros or the same values, and the descriptor after the data
//!   must agree too); a stored member's compressed and uncompressed sizes
//!   are equal; a deflated member declares at most
//!   [`MAX_DEFLATE_RATIO`] times its compressed size;
//! - each member's local header, data (and data descriptor) lie before the
//!   central directory, and no two members overlap;
//! - names: valid UTF-8 (non-ASCII only with the UTF-8 flag, bit 11),
//!   ending in `.npy`, and the name without it non-empty, not `.`, without
//!   `/`, `\`, `..`, control characters (NUL included) or a drive prefix (`C:`),
//!   and no two the same ([`Error::InvalidName`]);
//! - a stored member's bytes are a `.npy` file whose header parses
//!   ([`npy::parse_header`]) and whose elements fill the rest of the member
//!   exactly.
//!
//! Parsing does **not** read a stored member's elements, so it does not
//! check their CRC-32 (that would read the whole file, which mapping is
//! meant to avoid); [`Member::check_crc`] does it on request.
//! [`Member::extract`] always checks it.
//!
//! # Alignment of stored members
//!
//! A stored member's elements start at its local header offset + 30 + the
//! name's length + the extra field's length + the `.npy` header's length.
//! numpy pads the `.npy` header to a multiple of 64 bytes, but the ZIP
//! headers before it have arbitrary lengths: in the files `np.savez` writes
//! the first member's elements start at byte 55 + 128 = 183 (`"a.npy"`,
//! a 20-byte ZIP64 extra field), which is not even a multiple of 2. So a
//! [`Layout`] from an `np.savez` file usually has an offset that is not a
//! multiple of its element type's alignment: one-byte types can be mapped in
//! place, others only by luck. [`NpzWriter`] pads its local headers so that
//! every member's elements start on a 64-byte boundary of the file, and such
//! files map in place whatever the dtype.
//!
//! # Limits
//!
//! Only what numpy writes is read: stored or deflated members, one disk, no
//! encryption, member names ending in `.npy`. Archives with bytes before
//! the first member (self-extracting archives) are refused, because the
//! central directory must end where the EOCD starts. Deflated members are
//! inflated whole into memory; [`Member::uncompressed_size`] says how much
//! before it is done.
//!
//! ```
//! use mmarray::format::npz::{Archive, NpzWriter};
//! use mmarray::{DType, ElementType, Order};
//! use std::path::Path;
//!
//! // Write an archive of one 2 x 3 float64 array into memory...
//! let values: Vec<u8> = (0..6).flat_map(|i| (i as f64).to_le_bytes()).collect();
//! let mut w = NpzWriter::new("a.npz", Vec::new());
//! w.add("temps", DType::new(ElementType::F64, mmarray::ByteOrder::Little), &[2, 3], Order::C, &values)?;
//! let bytes = w.finish()?;
//!
//! // ...and find the array in it.
//! let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
//! let member = archive.get("temps").unwrap();
//! let layout = member.stored_layout(Path::new("a.npz"))?;
//! assert_eq!(layout.shape(), &[2, 3]);
//! assert_eq!(layout.offset() % 64, 0);
//! assert_eq!(&bytes[layout.offset() as usize..layout.end() as usize], &values[..]);
//! # Ok::<(), mmarray::Error>(())
//! ```

use std::collections::HashSet;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::dtype::DType;
use crate::error::{Error, IoContext, Result};
use crate::format::npy;
use crate::layout::{Layout, Order};

/// The longest ZIP archive comment: the EOCD is searched for in the last
/// 22 + 65,535 bytes of a file.
pub const MAX_COMMENT_LEN: usize = 65_535;

/// The most a deflate stream can expand: 1032 output bytes per input byte
/// (a 258-byte match coded in 2 bits). A deflated member declaring a larger
/// uncompressed size than this times its compressed size is refused as a
/// likely decompression bomb before anything is inflated.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The alignment [`NpzWriter`] gives every member's elements within the
/// file, as numpy gives them within a `.npy` file.
pub const WRITER_ALIGNMENT: u64 = 64;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;

const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const EOCD_LEN: usize = 22;
const ZIP64_EOCD_LEN: usize = 56;
const LOCATOR_LEN: usize = 20;

const ZIP64_EXTRA_ID: u16 = 0x0001;
/// Android's zipalign extra field: a u16 alignment, then zero padding.
/// Readers skip extra fields they do not know.
const ALIGN_EXTRA_ID: u16 = 0xd935;

const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_PATCHED: u16 = 1 << 5;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_UTF8: u16 = 1 << 11;
const FLAG_MASKED_HEADERS: u16 = 1 << 13;

const MAX16: u16 = 0xffff;
const MAX32: u32 = 0xffff_ffff;

/// How a member's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Method 0, as `np.savez` writes: the `.npy` file as it is, mappable
    /// in place.
    Stored,
    /// Method 8, as `np.savez_compressed` writes: must be inflated.
    Deflated,
}

/// One `.npy` member of an archive, as [`Archive::parse`] found and
/// checked it.
///
/// ```
/// # use mmarray::format::npz::{Archive, Compression, NpzWriter};
/// # use mmarray::{DType, ElementType, Order};
/// # use std::path::Path;
/// let mut w = NpzWriter::new("a.npz", Vec::new());
/// w.add("flags", DType::native(ElementType::Bool), &[3], Order::C, &[1, 0, 1])?;
/// let bytes = w.finish()?;
/// let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
/// let m = &archive.members()[0];
/// assert_eq!((m.name(), m.file_name()), ("flags", "flags.npy"));
/// assert_eq!(m.compression(), Compression::Stored);
/// assert!(!m.is_compressed());
/// // The member's bytes are a whole .npy file: header, then elements.
/// let npy = &bytes[m.data_range().start as usize..m.data_range().end as usize];
/// assert!(mmarray::npy::has_magic(npy));
/// assert_eq!(m.uncompressed_size(), npy.len() as u64);
/// m.check_crc(Path::new("a.npz"), &bytes)?;
/// # Ok::<(), mmarray::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    name: String,
    file_name: String,
    compression: Compression,
    data: Range<u64>,
    uncompressed_size: u64,
    crc32: u32,
    layout: Option<Layout>,
}

impl Member {
    /// The array's name, as `np.load(...).files` lists it: the member's
    /// file name without `.npy` (`arr_0` for `np.savez(f, a)`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The member's file name in the archive (`arr_0.npy`).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Stored or deflated.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether the member must be inflated before use (`np.savez_compressed`).
    pub fn is_compressed(&self) -> bool {
        self.compression != Compression::Stored
    }

    /// Where the member's bytes (the `.npy` file, deflated or not) lie in
    /// the archive: after its local header, within the file, overlapping no
    /// other member.
    pub fn data_range(&self) -> Range<u64> {
        self.data.clone()
    }

    /// The size of the member's `.npy` file once inflated (for a stored
    /// member, the length of [`data_range`](Self::data_range)).
    pub fn uncompressed_size(&self) -> u64 {
        self.uncompressed_size
    }

    /// The CRC-32 the archive records for the member's `.npy` bytes.
    pub fn crc32(&self) -> u32 {
        self.crc32
    }

    /// For a stored member, the array's layout with an `offset` absolute in
    /// the archive: map the file and view `layout.offset()..layout.end()`.
    /// `None` for a compressed member (see [`extract`](Self::extract)).
    ///
    /// The offset need not be a multiple of the element type's alignment
    /// (see the [module docs](self#alignment-of-stored-members)).
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// As [`layout`](Self::layout), with an error for a compressed member.
    ///
    /// # Errors
    ///
    /// [`Error::CompressedMember`] (naming `path`) when the member is
    /// deflated.
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// # use mmarray::{DType, ElementType, Order};
    /// # use std::path::Path;
    /// let mut w = NpzWriter::new("a.npz", Vec::new());
    /// w.add("x", DType::native(ElementType::U8), &[2], Order::C, &[7, 8])?;
    /// let bytes = w.finish()?;
    /// let layout = Archive::parse(Path::new("a.npz"), &bytes)?.members()[0]
    ///     .stored_layout(Path::new("a.npz"))?
    ///     .clone();
    /// assert_eq!(&bytes[layout.offset() as usize..layout.end() as usize], &[7, 8]);
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn stored_layout(&self, path: &Path) -> Result<&Layout> {
        self.layout.as_ref().ok_or_else(|| Error::CompressedMember {
            path: path.to_path_buf(),
            member: self.name.clone(),
        })
    }

    /// The member's bytes in `file` (the archive the member was parsed
    /// from), checked to still be there.
    fn raw<'f>(&self, path: &Path, file: &'f [u8]) -> Result<&'f [u8]> {
        usize::try_from(self.data.start)
            .ok()
            .zip(usize::try_from(self.data.end).ok())
            .and_then(|(s, e)| file.get(s..e))
            .ok_or_else(|| Error::MalformedNpz {
                path: path.to_path_buf(),
                message: format!(
                    "member {:?} lies at bytes {}..{} but the file has {}; it changed after it was parsed",
                    self.file_name,
                    self.data.start,
                    self.data.end,
                    file.len()
                ),
            })
    }

    /// Checks the member's CRC-32 against its bytes in `file` (the archive
    /// it was parsed from). Reads the whole member: for a stored member
    /// mapped in place, this is the price of checking. A deflated member is
    /// inflated and dropped.
    ///
    /// # Errors
    ///
    /// [`Error::ChecksumMismatch`] when the bytes differ from what was
    /// written; for a deflated member, any error of
    /// [`extract`](Self::extract).
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// # use mmarray::{DType, ElementType, Error, Order};
    /// # use std::path::Path;
    /// let mut w = NpzWriter::new("a.npz", Vec::new());
    /// w.add("x", DType::native(ElementType::U8), &[2], Order::C, &[7, 8])?;
    /// let mut bytes = w.finish()?;
    /// let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
    /// let layout = archive.members()[0].layout().unwrap().clone();
    /// bytes[layout.offset() as usize] = 9; // corrupt an element
    /// let err = archive.members()[0].check_crc(Path::new("a.npz"), &bytes).unwrap_err();
    /// assert!(matches!(err, Error::ChecksumMismatch { .. }));
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn check_crc(&self, path: &Path, file: &[u8]) -> Result<()> {
        match self.compression {
            Compression::Stored => self.verify(path, self.raw(path, file)?),
            Compression::Deflated => self.extract(path, file).map(drop),
        }
    }

    fn verify(&self, path: &Path, npy_bytes: &[u8]) -> Result<()> {
        let found = crc32fast::hash(npy_bytes);
        if found != self.crc32 {
            return Err(Error::ChecksumMismatch {
                path: path.to_path_buf(),
                member: self.name.clone(),
                expected: self.crc32,
                found,
            });
        }
        Ok(())
    }

    /// Reads the member into memory: inflates a deflated member (a stored
    /// one is copied), checks the result's size and CRC-32, and parses its
    /// `.npy` header. The layout's offset is relative to the returned
    /// bytes, whose allocation is aligned only as a `Vec<u8>` is: copy the
    /// elements out (or into an aligned buffer) to view them as a wider
    /// type.
    ///
    /// Inflating never produces more than [`uncompressed_size`](Self::uncompressed_size)
    /// bytes, which parsing bounded by [`MAX_DEFLATE_RATIO`] times the
    /// compressed size; the buffer grows as output is produced, so a
    /// stream that ends early allocates only what it produced.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedNpz`] when the deflate stream is corrupt, inflates
    /// to more or fewer bytes than declared, or the bytes are not a `.npy`
    /// file whose elements fill it; [`Error::ChecksumMismatch`] when the
    /// CRC-32 differs; the errors of [`npy::parse_header`].
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// # use mmarray::{DType, ElementType, Order};
    /// # use std::path::Path;
    /// let mut w = NpzWriter::new("a.npz", Vec::new());
    /// w.add("x", DType::native(ElementType::U8), &[2], Order::C, &[7, 8])?;
    /// let bytes = w.finish()?;
    /// let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
    /// let e = archive.members()[0].extract(Path::new("a.npz"), &bytes)?;
    /// assert_eq!(&e.bytes[e.layout.offset() as usize..], &[7, 8]);
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn extract(&self, path: &Path, file: &[u8]) -> Result<Extracted> {
        let raw = self.raw(path, file)?;
        let malformed = |message: String| Error::MalformedNpz {
            path: path.to_path_buf(),
            message: format!("member {:?}: {message}", self.file_name),
        };
        let bytes = match self.compression {
            Compression::Stored => raw.to_vec(),
            Compression::Deflated => {
                let limit = usize::try_from(self.uncompressed_size).map_err(|_| {
                    malformed(format!(
                        "declares {} bytes uncompressed, more than this machine can address",
                        self.uncompressed_size
                    ))
                })?;
                miniz_oxide::inflate::decompress_to_vec_with_limit(raw, limit).map_err(|e| {
                    use miniz_oxide::inflate::TINFLStatus;
                    match e.status {
                        TINFLStatus::HasMoreOutput => malformed(format!(
                            "inflates to more than the {} bytes it declares",
                            self.uncompressed_size
                        )),
                        status => malformed(format!("corrupt deflate stream ({status:?})")),
                    }
                })?
            }
        };
        if bytes.len() as u64 != self.uncompressed_size {
            return Err(malformed(format!(
                "inflates to {} bytes but declares {}",
                bytes.len(),
                self.uncompressed_size
            )));
        }
        self.verify(path, &bytes)?;
        let layout = npy_layout(path, &self.file_name, &bytes)?;
        Ok(Extracted { bytes, layout })
    }
}

impl Member {
    /// The array's layout, read without touching its elements: for a
    /// stored member, [`layout`](Self::layout) (offset absolute in the
    /// archive); for a deflated member, only the `.npy` header is inflated
    /// (at most 12 + [`npy::MAX_HEADER_LEN`] bytes of output), and the
    /// offset is relative to the inflated bytes, as [`extract`](Self::extract)
    /// gives it. Lists a `np.savez_compressed` file's dtypes and shapes
    /// without inflating the arrays. The CRC-32 is not checked (it covers
    /// the whole member).
    ///
    /// # Errors
    ///
    /// [`Error::MalformedNpz`] when the deflate stream is corrupt before the
    /// header ends, or the header's array does not fill the declared
    /// uncompressed size exactly; the errors of [`npy::parse_header`].
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// # use mmarray::{DType, ElementType, Order};
    /// # use std::path::Path;
    /// let mut w = NpzWriter::new("a.npz", Vec::new());
    /// w.add("x", DType::native(ElementType::U8), &[2, 1], Order::C, &[7, 8])?;
    /// let bytes = w.finish()?;
    /// let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
    /// let layout = archive.members()[0].header_layout(Path::new("a.npz"), &bytes)?;
    /// assert_eq!(layout.shape(), &[2, 1]);
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn header_layout(&self, path: &Path, file: &[u8]) -> Result<Layout> {
        if let Some(layout) = &self.layout {
            return Ok(layout.clone());
        }
        use miniz_oxide::inflate::stream::{InflateState, inflate};
        use miniz_oxide::{DataFormat, MZFlush, MZStatus};
        let raw = self.raw(path, file)?;
        let malformed = |message: String| Error::MalformedNpz {
            path: path.to_path_buf(),
            message: format!("member {:?}: {message}", self.file_name),
        };
        let cap = self.uncompressed_size.min(12 + npy::MAX_HEADER_LEN as u64) as usize;
        let mut out = vec![0; cap];
        let (mut read, mut written) = (0, 0);
        let mut state = InflateState::new_boxed(DataFormat::Raw);
        while written < cap {
            let r = inflate(&mut state, &raw[read..], &mut out[written..], MZFlush::None);
            read += r.bytes_consumed;
            written += r.bytes_written;
            match r.status {
                Ok(MZStatus::StreamEnd) => break,
                Ok(_) if r.bytes_consumed + r.bytes_written > 0 => {}
                Ok(_) => break,
                Err(e) => return Err(malformed(format!("corrupt deflate stream ({e:?})"))),
            }
        }
        out.truncate(written);
        let layout = npy::parse_header(path, &out).map_err(|e| match e {
            Error::MalformedNpy { message, .. } => {
                malformed(format!("not a valid .npy file: {message}"))
            }
            other => other,
        })?;
        if layout.end() != self.uncompressed_size {
            return Err(malformed(format!(
                "the .npy header describes {} bytes of elements after {} bytes of header, but the member has {} bytes",
                layout.nbytes(),
                layout.offset(),
                self.uncompressed_size
            )));
        }
        Ok(layout)
    }
}

/// A member read into memory by [`Member::extract`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// The member's whole `.npy` file: header, then elements.
    pub bytes: Vec<u8>,
    /// The array's layout; its offset is where the elements start in
    /// [`bytes`](Self::bytes).
    pub layout: Layout,
}

/// The `.npy` members of a `.npz` archive, found and checked by
/// [`parse`](Self::parse), in the order of the central directory (the order
/// `np.load(...).files` lists them).
///
/// ```
/// # use mmarray::format::npz::{Archive, NpzWriter};
/// # use mmarray::{DType, ElementType, Order};
/// # use std::path::Path;
/// let u8s = DType::native(ElementType::U8);
/// let mut w = NpzWriter::new("a.npz", Vec::new());
/// w.add("b", u8s, &[1], Order::C, &[1])?;
/// w.add("a", u8s, &[], Order::C, &[2])?;
/// let bytes = w.finish()?;
/// let archive = Archive::parse(Path::new("a.npz"), &bytes)?;
/// assert_eq!(archive.names().collect::<Vec<_>>(), ["b", "a"]);
/// assert_eq!(archive.len(), 2);
/// assert!(!archive.is_empty());
/// assert_eq!(archive.get("a").unwrap().layout().unwrap().ndim(), 0);
/// assert!(archive.get("c").is_none());
/// # Ok::<(), mmarray::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    members: Vec<Member>,
}

impl Archive {
    /// Parses and checks the archive whose whole contents are `bytes`;
    /// `path` is only named in errors. See the
    /// [module docs](self#what-archiveparse-checks) for what is checked.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedNpz`] for a broken ZIP structure,
    /// [`Error::UnsupportedNpz`] for a compression method other than stored
    /// or deflate, encryption or several disks, [`Error::InvalidName`] for
    /// a member name that is not a safe `<name>.npy` or is repeated, and
    /// the errors of [`npy::parse_header`] for a stored member's header.
    ///
    /// ```
    /// # use mmarray::format::npz::Archive;
    /// # use mmarray::Error;
    /// # use std::path::Path;
    /// // The empty archive: just an end of central directory record.
    /// let mut empty = vec![0x50, 0x4b, 0x05, 0x06];
    /// empty.resize(22, 0);
    /// assert!(Archive::parse(Path::new("e.npz"), &empty)?.is_empty());
    /// let err = Archive::parse(Path::new("e.npz"), b"not a zip file").unwrap_err();
    /// assert!(matches!(err, Error::MalformedNpz { .. }));
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Archive> {
        Parser { path, bytes }.parse()
    }

    /// The members, in central directory order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member named `name` (without `.npy`).
    pub fn get(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The members' names (without `.npy`), as `np.load(...).files` lists
    /// them.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.name.as_str())
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the archive has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Parses the `.npy` file `bytes` (a member's whole contents) into a layout
/// relative to `bytes`, requiring the elements to fill the rest exactly.
fn npy_layout(path: &Path, file_name: &str, bytes: &[u8]) -> Result<Layout> {
    let malformed = |message: String| Error::MalformedNpz {
        path: path.to_path_buf(),
        message: format!("member {file_name:?}: {message}"),
    };
    let layout = npy::parse_header(path, bytes).map_err(|e| match e {
        Error::MalformedNpy { message, .. } => {
            malformed(format!("not a valid .npy file: {message}"))
        }
        other => other,
    })?;
    if layout.end() != bytes.len() as u64 {
        return Err(malformed(format!(
            "the .npy header describes {} bytes of elements after {} bytes of header, but the member has {} bytes",
            layout.nbytes(),
            layout.offset(),
            bytes.len()
        )));
    }
    Ok(layout)
}

/// Why `name` (an array's name, without `.npy`) is not a safe member name,
/// or `None` when it is.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.contains(['/', '\\']) {
        Some("names may not contain path separators (/ or \\)")
    } else if name.contains("..") || name == "." {
        Some("names may not be \".\" or contain \"..\"")
    } else if name.chars().any(char::is_control) {
        Some("names may not contain control characters (NUL included)")
    } else if name.as_bytes().get(1) == Some(&b':') && name.as_bytes()[0].is_ascii_alphabetic() {
        Some("names may not start with a drive letter (C:)")
    } else {
        None
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The data of the extra field with id `id` in `extra`, which must be a
/// well-formed sequence of (id, size, data) fields.
fn find_extra(extra: &[u8], id: u16) -> std::result::Result<Option<&[u8]>, String> {
    let mut rest = extra;
    let mut found = None;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(format!("extra field ends with {} stray bytes", rest.len()));
        }
        let (field_id, size) = (le16(rest, 0), le16(rest, 2) as usize);
        let data = rest.get(4..4 + size).ok_or_else(|| {
            format!(
                "extra field {field_id:#06x} declares {size} bytes but {} remain",
                rest.len() - 4
            )
        })?;
        if field_id == id && found.replace(data).is_some() {
            return Err(format!("extra field {id:#06x} appears twice"));
        }
        rest = &rest[4 + size..];
    }
    Ok(found)
}

/// Reads the ZIP64 values, in their fixed order, for the fields given as
/// `(value, saturated)`: a saturated field takes the next u64 of `zip64`.
fn resolve_zip64(
    zip64: Option<&[u8]>,
    fields: &mut [(&mut u64, bool)],
) -> std::result::Result<(), String> {
    let mut at = 0;
    for (value, saturated) in fields.iter_mut() {
        if !*saturated {
            continue;
        }
        let data =
            zip64.ok_or("a size or offset is 0xFFFFFFFF but there is no ZIP64 extra field")?;
        let v = data
            .get(at..at + 8)
            .ok_or("the ZIP64 extra field is too short for the fields it must give")?;
        **value = le64(v, 0);
        at += 8;
    }
    Ok(())
}

/// One central directory entry, before its local header is checked.
struct CentralEntry<'a> {
    name: &'a [u8],
    flags: u16,
    method: u16,
    crc32: u32,
    compressed: u64,
    uncompressed: u64,
    local_offset: u64,
}

struct Parser<'a> {
    path: &'a Path,
    bytes: &'a [u8],
}

impl<'a> Parser<'a> {
    fn malformed(&self, message: impl Into<String>) -> Error {
        Error::MalformedNpz {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }

    /// `bytes[start..start + len]`, or an error saying what was cut off.
    fn slice(&self, start: u64, len: u64, what: &str) -> Result<&'a [u8]> {
        start
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len() as u64)
            .map(|end| &self.bytes[start as usize..end as usize])
            .ok_or_else(|| {
                self.malformed(format!(
                    "{what} at byte {start} ({len} bytes) lies past the end of the file ({} bytes)",
                    self.bytes.len()
                ))
            })
    }

    fn find_eocd(&self) -> Result<usize> {
        let b = self.bytes;
        if b.len() < EOCD_LEN {
            return Err(self.malformed(format!(
                "{} bytes is too short for a ZIP archive (the end of central directory record alone is 22)",
                b.len()
            )));
        }
        let last = b.len() - EOCD_LEN;
        let first = last.saturating_sub(MAX_COMMENT_LEN);
        (first..=last)
            .rev()
            .find(|&pos| {
                le32(b, pos) == EOCD_SIG && pos + EOCD_LEN + le16(b, pos + 20) as usize == b.len()
            })
            .ok_or_else(|| {
                self.malformed(
                    "no end of central directory record (with a comment reaching the end of the file) in its last 65,557 bytes; not a ZIP archive, or truncated",
                )
            })
    }

    /// The central directory's range and entry count.
    fn directory(&self) -> Result<(u64, u64, u64)> {
        let b = self.bytes;
        let pos = self.find_eocd()?;
        let disk = le16(b, pos + 4);
        let cd_disk = le16(b, pos + 6);
        let n_disk = le16(b, pos + 8);
        let n16 = le16(b, pos + 10);
        let size32 = le32(b, pos + 12);
        let offset32 = le32(b, pos + 16);
        let zip64 = pos >= LOCATOR_LEN && le32(b, pos - LOCATOR_LEN) == ZIP64_LOCATOR_SIG;
        let split = |what: String| Error::UnsupportedNpz {
            path: self.path.to_path_buf(),
            member: String::new(),
            feature: what,
        };
        let (count, size, offset, cd_end) = if zip64 {
            let loc = pos - LOCATOR_LEN;
            let (eocd_disk, record, disks) =
                (le32(b, loc + 4), le64(b, loc + 8), le32(b, loc + 16));
            if eocd_disk != 0 || disks > 1 {
                return Err(split(format!("several disks ({disks})")));
            }
            let r = self.slice(
                record,
                ZIP64_EOCD_LEN as u64,
                "the ZIP64 end of central directory record",
            )?;
            if le32(r, 0) != ZIP64_EOCD_SIG {
                return Err(self.malformed(format!(
                    "the ZIP64 locator points to byte {record}, which is not a ZIP64 end of central directory record"
                )));
            }
            let record_end = le64(r, 4)
                .checked_add(12)
                .and_then(|n| n.checked_add(record));
            if record_end != Some(loc as u64) {
                return Err(self.malformed(
                    "the ZIP64 end of central directory record does not end where its locator starts",
                ));
            }
            let (disk64, cd_disk64) = (le32(r, 16), le32(r, 20));
            let (n_disk64, n64) = (le64(r, 24), le64(r, 32));
            let (size64, offset64) = (le64(r, 40), le64(r, 48));
            if disk64 != 0 || cd_disk64 != 0 || n_disk64 != n64 {
                return Err(split("several disks".into()));
            }
            let agree = |short: u64, max: u64, long: u64| short == long || short == max;
            if !agree(disk.into(), MAX16.into(), 0)
                || !agree(cd_disk.into(), MAX16.into(), 0)
                || !agree(n_disk.into(), MAX16.into(), n64)
                || !agree(n16.into(), MAX16.into(), n64)
                || !agree(size32.into(), MAX32.into(), size64)
                || !agree(offset32.into(), MAX32.into(), offset64)
            {
                return Err(self.malformed(
                    "the end of central directory record disagrees with the ZIP64 one",
                ));
            }
            (n64, size64, offset64, record)
        } else {
            if disk != 0 || cd_disk != 0 || n_disk != n16 {
                return Err(split("several disks".into()));
            }
            (n16.into(), size32.into(), offset32.into(), pos as u64)
        };
        if offset.checked_add(size) != Some(cd_end) {
            return Err(self.malformed(format!(
                "the central directory (at byte {offset}, {size} bytes) does not end where the end of central directory record starts (byte {cd_end})"
            )));
        }
        if count > size / CENTRAL_LEN as u64 {
            return Err(self.malformed(format!(
                "{count} entries declared, but a central directory of {size} bytes holds at most {}",
                size / CENTRAL_LEN as u64
            )));
        }
        Ok((offset, cd_end, count))
    }

    fn parse(&self) -> Result<Archive> {
        let (cd_start, cd_end, count) = self.directory()?;
        // Bounded by the directory's size (checked in `directory`), which
        // lies within the file.
        let mut members = Vec::with_capacity(count as usize);
        let mut names = HashSet::with_capacity(count as usize);
        let mut occupied = Vec::with_capacity(count as usize);
        let mut at = cd_start;
        for index in 0..count {
            let fixed = self.slice(at, CENTRAL_LEN as u64, "a central directory entry")?;
            if at + CENTRAL_LEN as u64 > cd_end || le32(fixed, 0) != CENTRAL_SIG {
                return Err(self.malformed(format!(
                    "central directory entry {index} at byte {at} lacks its signature"
                )));
            }
            let (name_len, extra_len, comment_len) = (
                le16(fixed, 28) as u64,
                le16(fixed, 30) as u64,
                le16(fixed, 32) as u64,
            );
            let var_len = name_len + extra_len + comment_len;
            let var = self.slice(
                at + CENTRAL_LEN as u64,
                var_len,
                "a central directory entry",
            )?;
            let next = at + CENTRAL_LEN as u64 + var_len;
            if next > cd_end {
                return Err(self.malformed(format!(
                    "central directory entry {index} runs past the end of the central directory"
                )));
            }
            let name = &var[..name_len as usize];
            let extra = &var[name_len as usize..(name_len + extra_len) as usize];
            let shown = String::from_utf8_lossy(name).into_owned();
            let bad_extra =
                |m: String| self.malformed(format!("member {shown:?}: central directory: {m}"));
            let zip64 = find_extra(extra, ZIP64_EXTRA_ID).map_err(&bad_extra)?;
            let (mut uncompressed, mut compressed, mut local_offset) = (
                le32(fixed, 24) as u64,
                le32(fixed, 20) as u64,
                le32(fixed, 42) as u64,
            );
            let mut disk_start = le16(fixed, 34) as u64;
            let disk_saturated = disk_start == MAX16 as u64;
            let saturated = [uncompressed, compressed, local_offset].map(|v| v == MAX32 as u64);
            resolve_zip64(
                zip64,
                &mut [
                    (&mut uncompressed, saturated[0]),
                    (&mut compressed, saturated[1]),
                    (&mut local_offset, saturated[2]),
                ],
            )
            .map_err(|m| bad_extra(m.to_string()))?;
            if disk_saturated {
                // A u32 after the u64s.
                let skip = saturated.iter().filter(|&&s| s).count() * 8;
                disk_start = zip64
                    .and_then(|z| z.get(skip..skip + 4))
                    .map(|d| le32(d, 0) as u64)
                    .ok_or_else(|| {
                        bad_extra(
                            "the disk number is 0xFFFF but the ZIP64 extra field does not give it"
                                .into(),
                        )
                    })?;
            }
            if disk_start != 0 {
                return Err(Error::UnsupportedNpz {
                    path: self.path.to_path_buf(),
                    member: shown,
                    feature: format!("a start on disk {disk_start}"),
                });
            }
            let entry = CentralEntry {
                name,
                flags: le16(fixed, 8),
                method: le16(fixed, 10),
                crc32: le32(fixed, 16),
                compressed,
                uncompressed,
                local_offset,
            };
            let (member, end) = self.member(&entry, cd_start)?;
            if !names.insert(member.name.clone()) {
                return Err(Error::InvalidName {
                    path: self.path.to_path_buf(),
                    name: member.file_name,
                    reason: "two members have this name",
                });
            }
            occupied.push((entry.local_offset, end, members.len()));
            members.push(member);
            at = next;
        }
        if at != cd_end {
            return Err(self.malformed(format!(
                "the central directory has {} bytes after its {count} entries",
                cd_end - at
            )));
        }
        occupied.sort_unstable();
        for pair in occupied.windows(2) {
            let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
            if start < end {
                return Err(self.malformed(format!(
                    "members {:?} and {:?} overlap (bytes {start}..{end})",
                    members[a].file_name, members[b].file_name
                )));
            }
        }
        Ok(Archive { members })
    }

    /// Checks an entry's name, flags and method, and its local header;
    /// returns the member and the end of the bytes it occupies (local
    /// header, data and data descriptor), which lie before `cd_start`.
    fn member(&self, e: &CentralEntry<'_>, cd_start: u64) -> Result<(Member, u64)> {
        let shown = String::from_utf8_lossy(e.name).into_owned();
        let unsupported = |feature: String| Error::UnsupportedNpz {
            path: self.path.to_path_buf(),
            member: shown.clone(),
            feature,
        };
        let malformed = |m: String| self.malformed(format!("member {shown:?}: {m}"));
        if e.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
            return Err(unsupported("encryption".into()));
        }
        if e.flags & FLAG_PATCHED != 0 {
            return Err(unsupported("patched data (flag bit 5)".into()));
        }
        let compression = match e.method {
            0 => Compression::Stored,
            8 => Compression::Deflated,
            m => {
                let known = match m {
                    1 => " (shrink)",
                    6 => " (implode)",
                    9 => " (deflate64)",
                    12 => " (bzip2)",
                    14 => " (LZMA)",
                    93 => " (zstd)",
                    95 => " (xz)",
                    99 => " (AES encryption)",
                    _ => "",
                };
                return Err(unsupported(format!("compression method {m}{known}")));
            }
        };
        let invalid_name = |name: String, reason| Error::InvalidName {
            path: self.path.to_path_buf(),
            name,
            reason,
        };
        let file_name = std::str::from_utf8(e.name)
            .map_err(|_| invalid_name(shown.clone(), "the name is not UTF-8"))?;
        if !file_name.is_ascii() && e.flags & FLAG_UTF8 == 0 {
            return Err(invalid_name(
                shown.clone(),
                "a non-ASCII name without the UTF-8 flag (a CP437 name) is not supported",
            ));
        }
        let name = file_name.strip_suffix(".npy").ok_or_else(|| {
            invalid_name(shown.clone(), "members of an .npz file must be .npy files")
        })?;
        if let Some(reason) = name_problem(name) {
            return Err(invalid_name(shown.clone(), reason));
        }
        if compression == Compression::Stored && e.compressed != e.uncompressed {
            return Err(malformed(format!(
                "stored, but its compressed size {} differs from its uncompressed size {}",
                e.compressed, e.uncompressed
            )));
        }
        if compression == Compression::Deflated
            && e.uncompressed > e.compressed.saturating_mul(MAX_DEFLATE_RATIO)
        {
            return Err(malformed(format!(
                "declares {} bytes inflated from {} deflated, more than deflate can produce ({MAX_DEFLATE_RATIO}:1): a decompression bomb or a corrupt entry",
                e.uncompressed, e.compressed
            )));
        }

        // The local header.
        if e.local_offset
            .checked_add(LOCAL_LEN as u64)
            .is_none_or(|end| end > cd_start)
        {
            return Err(malformed(format!(
                "its local header offset {} is not before the central directory (byte {cd_start})",
                e.local_offset
            )));
        }
        let fixed = self.slice(e.local_offset, LOCAL_LEN as u64, "a local header")?;
        if le32(fixed, 0) != LOCAL_SIG {
            return Err(malformed(format!(
                "no local header signature at byte {}",
                e.local_offset
            )));
        }
        let (flags, method) = (le16(fixed, 6), le16(fixed, 8));
        let (crc32, mut compressed, mut uncompressed) = (
            le32(fixed, 14),
            le32(fixed, 18) as u64,
            le32(fixed, 22) as u64,
        );
        let (name_len, extra_len) = (le16(fixed, 26) as u64, le16(fixed, 28) as u64);
        let var = self.slice(
            e.local_offset + LOCAL_LEN as u64,
            name_len + extra_len,
            "a local header",
        )?;
        let data_start = e.local_offset + LOCAL_LEN as u64 + name_len + extra_len;
        if &var[..name_len as usize] != e.name {
            return Err(malformed(format!(
                "its local header names {:?}",
                String::from_utf8_lossy(&var[..name_len as usize])
            )));
        }
        if method != e.method {
            return Err(malformed(format!(
                "its local header gives compression method {method}, the central directory {}",
                e.method
            )));
        }
        let relevant = FLAG_ENCRYPTED | FLAG_DESCRIPTOR | FLAG_UTF8;
        if flags & relevant != e.flags & relevant {
            return Err(malformed(format!(
                "its local header's flags {flags:#06x} disagree with the central directory's {:#06x}",
                e.flags
            )));
        }
        let local_zip64 = compressed == MAX32 as u64 || uncompressed == MAX32 as u64;
        if local_zip64 {
            let zip64 = find_extra(&var[name_len as usize..], ZIP64_EXTRA_ID)
                .map_err(|m| malformed(format!("local header: {m}")))?;
            let (u_sat, c_sat) = (uncompressed == MAX32 as u64, compressed == MAX32 as u64);
            resolve_zip64(
                zip64,
                &mut [(&mut uncompressed, u_sat), (&mut compressed, c_sat)],
            )
            .map_err(|m| malformed(format!("local header: {m}")))?;
        }
        let descriptor = e.flags & FLAG_DESCRIPTOR != 0;
        let agrees = |local: u64, central: u64| local == central || (descriptor && local == 0);
        if !agrees(crc32.into(), e.crc32.into())
            || !agrees(compressed, e.compressed)
            || !agrees(uncompressed, e.uncompressed)
        {
            return Err(malformed(format!(
                "its local header (CRC-32 {crc32:#010x}, {compressed} bytes compressed, {uncompressed} uncompressed) disagrees with the central directory ({:#010x}, {}, {})",
                e.crc32, e.compressed, e.uncompressed
            )));
        }
        let data_end = data_start
            .checked_add(e.compressed)
            .filter(|&end| end <= cd_start)
            .ok_or_else(|| {
                malformed(format!(
                    "its {} bytes of data at byte {data_start} run past the start of the central directory (byte {cd_start})",
                    e.compressed
                ))
            })?;
        let end = if descriptor {
            data_end + self.descriptor_len(e, data_end, cd_start, local_zip64).ok_or_else(|| {
                malformed(format!(
                    "no data descriptor agreeing with the central directory at byte {data_end}"
                ))
            })?
        } else {
            data_end
        };
        let layout = match compression {
            Compression::Stored => {
                let raw = &self.bytes[data_start as usize..data_end as usize];
                let l = npy_layout(self.path, file_name, raw)?;
                Some(l.with_offset_and_order(self.path, data_start + l.offset(), l.order())?)
            }
            Compression::Deflated => None,
        };
        let member = Member {
            name: name.to_owned(),
            file_name: file_name.to_owned(),
            compression,
            data: data_start..data_end,
            uncompressed_size: e.uncompressed,
            crc32: e.crc32,
            layout,
        };
        Ok((member, end))
    }

    /// The length of the data descriptor at `at` (with or without its
    /// optional signature, with 4- or 8-byte sizes) that agrees with the
    /// entry, if there is one before `limit`.
    fn descriptor_len(
        &self,
        e: &CentralEntry<'_>,
        at: u64,
        limit: u64,
        zip64: bool,
    ) -> Option<u64> {
        let wide_first = [zip64, !zip64];
        for wide in wide_first {
            for signed in [true, false] {
                let len = if signed { 4 } else { 0 } + 4 + if wide { 16 } else { 8 };
                if at + len > limit {
                    continue;
                }
                let d = &self.bytes[at as usize..(at + len) as usize];
                let d = if signed {
                    if le32(d, 0) != DESCRIPTOR_SIG {
                        continue;
                    }
                    &d[4..]
                } else {
                    d
                };
                let (c, u) = if wide {
                    (le64(d, 4), le64(d, 12))
                } else {
                    (le32(d, 4) as u64, le32(d, 8) as u64)
                };
                if le32(d, 0) == e.crc32 && c == e.compressed && u == e.uncompressed {
                    return Some(len);
                }
            }
        }
        None
    }
}

/// Writes a `.npz` archive that `np.load` reads, one stored member at a
/// time, to any [`Write`]: no seeking, and nothing buffered but the central
/// directory (under a hundred bytes per member).
///
/// The layout is `np.savez`'s: each array is a stored (uncompressed) member
/// `<name>.npy` holding the `.npy` file [`npy`] writes (numpy's header, then
/// the elements), its local header carrying the CRC-32 and the sizes in a
/// ZIP64 extra field as numpy's `force_zip64=True` does; the central
/// directory and the end records use ZIP64 only where values need it.
/// [`add`](Self::add) takes a member's elements as one slice (typically a
/// mapping) and computes its CRC-32 before writing the local header, as
/// numpy does: no data descriptor, two reads of the elements, no copy.
/// [`add_streamed`](Self::add_streamed) takes them in pieces from a
/// closure and computes the CRC-32 on the way, so it follows the elements
/// with a data descriptor, as Python's `zipfile` does on an unseekable
/// stream (`np.load` reads both forms). Two differences from numpy's
/// files, both invisible to readers:
/// each local header is padded with a zipalign extra field (id `0xd935`) so
/// that the member's elements start at a multiple of [`WRITER_ALIGNMENT`]
/// bytes in the file (so [`Archive::parse`] gives layouts that map in place
/// for every dtype), and the modification times are all 1980-01-01 00:00,
/// so the same arrays give the same bytes.
///
/// After an error the archive is incomplete: discard what was written.
///
/// ```
/// use mmarray::format::npz::NpzWriter;
/// use mmarray::{DType, ElementType, Order};
///
/// let f32s = DType::native(ElementType::F32);
/// let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_ne_bytes()).collect();
/// let mut w = NpzWriter::new("out.npz", Vec::new());
/// w.add("square", f32s, &[2, 2], Order::F, &data)?;
/// w.add("scalar", f32s, &[], Order::C, &data[..4])?;
/// let bytes: Vec<u8> = w.finish()?;
/// assert_eq!(&bytes[..4], b"PK\x03\x04");
/// # Ok::<(), mmarray::Error>(())
/// ```
#[derive(Debug)]
pub struct NpzWriter<W: Write> {
    out: W,
    path: PathBuf,
    pos: u64,
    central: Vec<u8>,
    count: u64,
    names: HashSet<String>,
}

impl<W: Write> NpzWriter<W> {
    /// A writer of an archive to `out`; `path` is only named in errors.
    pub fn new(path: impl AsRef<Path>, out: W) -> NpzWriter<W> {
        NpzWriter {
            out,
            path: path.as_ref().to_path_buf(),
            pos: 0,
            central: Vec::new(),
            count: 0,
            names: HashSet::new(),
        }
    }

    /// Adds the array `name` (without `.npy`; `np.load(...)[name]` reads
    /// it) of `dtype` and `shape`, whose elements in `order` are `data`, as
    /// a stored member `<name>.npy`. `data` is written as it is, in the
    /// dtype's byte order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name that is empty or `.`, contains `/`, `\`,
    /// `..` or a control character, starts with a drive letter, is longer
    /// than 65,531 bytes, or was added before; [`Error::InvalidArgument`]
    /// when `data` is not the size `dtype` and `shape` need; the errors of
    /// a [`Layout`] (too many dimensions, a size overflow); [`Error::Io`]
    /// when writing fails.
    ///
    /// ```
    /// # use mmarray::format::npz::NpzWriter;
    /// # use mmarray::{DType, ElementType, Error, Order};
    /// let mut w = NpzWriter::new("out.npz", Vec::new());
    /// let u8s = DType::native(ElementType::U8);
    /// assert!(matches!(w.add("../up", u8s, &[1], Order::C, &[0]), Err(Error::InvalidName { .. })));
    /// assert!(matches!(w.add("x", u8s, &[2], Order::C, &[0]), Err(Error::InvalidArgument { .. })));
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn add(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[usize],
        order: Order,
        data: &[u8],
    ) -> Result<()> {
        let member = self.begin(name, dtype, shape, order)?;
        if data.len() as u64 != member.nbytes {
            return Err(self.wrong_size(&member, data.len() as u64));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&member.header);
        hasher.update(data);
        let crc = hasher.finalize();
        let offset = self.write_local(&member, crc, 0)?;
        self.write(&member.header)?;
        self.write(data)?;
        self.push_central(&member, crc, offset, 0);
        Ok(())
    }

    /// As [`add`](Self::add), but `fill` writes the elements (exactly the
    /// number of bytes `dtype` and `shape` take, in any number of writes)
    /// to the [`Write`] it is given, which passes them on to the output as
    /// they come and computes the CRC-32 on the way: for elements that are
    /// produced in pieces (converted, generated) and never whole in
    /// memory. As the CRC-32 is known only at the end, the member's local
    /// header carries flag bit 3 and the CRC-32 and sizes follow the
    /// elements in a data descriptor (ZIP64 form, with signature), as
    /// Python's `zipfile` writes to an unseekable stream; `np.load` reads
    /// the central directory's copy.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add); [`Error::InvalidArgument`] when `fill` writes
    /// more or fewer bytes than the array takes; [`Error::Io`] when `fill`
    /// or the output fails. After an error the archive is incomplete.
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// # use mmarray::{DType, ElementType, Order};
    /// use std::io::Write;
    ///
    /// let mut w = NpzWriter::new("out.npz", Vec::new());
    /// w.add_streamed("ramp", DType::native(ElementType::U8), &[4, 64], Order::C, |out| {
    ///     for row in 0..4u8 {
    ///         out.write_all(&[row; 64])?; // one row at a time
    ///     }
    ///     Ok(())
    /// })?;
    /// let bytes = w.finish()?;
    /// let archive = Archive::parse("out.npz".as_ref(), &bytes)?;
    /// let layout = archive.get("ramp").unwrap().layout().unwrap();
    /// assert_eq!(bytes[layout.offset() as usize + 64], 1);
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn add_streamed<F>(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[usize],
        order: Order,
        fill: F,
    ) -> Result<()>
    where
        F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
    {
        let member = self.begin(name, dtype, shape, order)?;
        let offset = self.write_local(&member, 0, FLAG_DESCRIPTOR)?;
        self.write(&member.header)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&member.header);
        let mut sink = Counting {
            out: &mut self.out,
            hasher,
            written: 0,
            limit: member.nbytes,
            overflowed: false,
        };
        let filled = fill(&mut sink);
        let (written, overflowed) = (sink.written, sink.overflowed);
        let crc = sink.hasher.finalize();
        self.pos += written;
        if overflowed {
            return Err(Error::InvalidArgument {
                path: self.path.clone(),
                message: format!(
                    "member {name:?}: more than the {} bytes of elements its shape takes were written",
                    member.nbytes
                ),
            });
        }
        filled.at(&self.path, "writing the .npz file")?;
        if written != member.nbytes {
            return Err(self.wrong_size(&member, written));
        }
        let mut descriptor = Vec::with_capacity(24);
        put32(&mut descriptor, DESCRIPTOR_SIG);
        put32(&mut descriptor, crc);
        put64(&mut descriptor, member.size);
        put64(&mut descriptor, member.size);
        self.write(&descriptor)?;
        self.push_central(&member, crc, offset, FLAG_DESCRIPTOR);
        Ok(())
    }

    /// Checks a new member's name and shape; makes its `.npy` header.
    fn begin(&self, name: &str, dtype: DType, shape: &[usize], order: Order) -> Result<NewMember> {
        let invalid = |reason| Error::InvalidName {
            path: self.path.clone(),
            name: name.to_owned(),
            reason,
        };
        if let Some(reason) = name_problem(name) {
            return Err(invalid(reason));
        }
        let file_name = format!("{name}.npy");
        if file_name.len() > u16::MAX as usize {
            return Err(invalid("names may be at most 65,531 bytes long"));
        }
        if self.names.contains(name) {
            return Err(invalid("another member already has this name"));
        }
        let shape64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let layout = Layout::new(&self.path, dtype, &shape64, order, 0)?;
        let header = npy::header_bytes(dtype, shape, order);
        Ok(NewMember {
            name: name.to_owned(),
            file_name,
            size: header.len() as u64 + layout.nbytes() as u64,
            header,
            nbytes: layout.nbytes() as u64,
            len: layout.len(),
            dtype,
            shape: shape.to_vec(),
            flags: if name.is_ascii() { 0 } else { FLAG_UTF8 },
        })
    }

    fn wrong_size(&self, m: &NewMember, given: u64) -> Error {
        Error::InvalidArgument {
            path: self.path.clone(),
            message: format!(
                "member {:?}: {given} bytes of data given, but {} elements of {} (shape {:?}) take {}",
                m.name, m.len, m.dtype, m.shape, m.nbytes
            ),
        }
    }

    /// Writes the local header: the ZIP64 sizes, then the padding that
    /// puts the member's data on a WRITER_ALIGNMENT boundary. Returns its
    /// offset.
    fn write_local(&mut self, m: &NewMember, crc: u32, extra_flags: u16) -> Result<u64> {
        let offset = self.pos;
        let unpadded = offset + (LOCAL_LEN + m.file_name.len() + 20 + 6) as u64;
        let pad = (WRITER_ALIGNMENT - unpadded % WRITER_ALIGNMENT) % WRITER_ALIGNMENT;
        let mut local = Vec::with_capacity(LOCAL_LEN + m.file_name.len() + 26 + pad as usize);
        local.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        put16(&mut local, 45); // version needed: ZIP64
        put16(&mut local, m.flags | extra_flags);
        put16(&mut local, 0); // stored
        put16(&mut local, 0); // time 00:00:00
        put16(&mut local, DOS_DATE_1980);
        put32(&mut local, crc);
        put32(&mut local, MAX32);
        put32(&mut local, MAX32);
        put16(&mut local, m.file_name.len() as u16);
        put16(&mut local, (20 + 6 + pad) as u16);
        local.extend_from_slice(m.file_name.as_bytes());
        put16(&mut local, ZIP64_EXTRA_ID);
        put16(&mut local, 16);
        put64(&mut local, m.size);
        put64(&mut local, m.size);
        put16(&mut local, ALIGN_EXTRA_ID);
        put16(&mut local, (2 + pad) as u16);
        put16(&mut local, WRITER_ALIGNMENT as u16);
        local.resize(local.len() + pad as usize, 0);
        debug_assert_eq!((offset + local.len() as u64) % WRITER_ALIGNMENT, 0);
        self.write(&local)?;
        Ok(offset)
    }

    /// Adds the member's central directory entry (written by `finish`).
    fn push_central(&mut self, m: &NewMember, crc: u32, offset: u64, extra_flags: u16) {
        let c = &mut self.central;
        let mut zip64 = Vec::new();
        let size32 = if m.size >= MAX32 as u64 {
            put64(&mut zip64, m.size);
            put64(&mut zip64, m.size);
            MAX32
        } else {
            m.size as u32
        };
        let offset32 = if offset >= MAX32 as u64 {
            put64(&mut zip64, offset);
            MAX32
        } else {
            offset as u32
        };
        c.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        put16(c, (3 << 8) | 45); // made by: Unix, ZIP 4.5
        put16(c, 45);
        put16(c, m.flags | extra_flags);
        put16(c, 0);
        put16(c, 0);
        put16(c, DOS_DATE_1980);
        put32(c, crc);
        put32(c, size32);
        put32(c, size32);
        put16(c, m.file_name.len() as u16);
        put16(
            c,
            if zip64.is_empty() {
                0
            } else {
                4 + zip64.len() as u16
            },
        );
        put16(c, 0); // comment
        put16(c, 0); // disk
        put16(c, 0); // internal attributes
        put32(c, 0o600 << 16); // external: a regular file, rw-------, as numpy's
        put32(c, offset32);
        c.extend_from_slice(m.file_name.as_bytes());
        if !zip64.is_empty() {
            put16(c, ZIP64_EXTRA_ID);
            put16(c, zip64.len() as u16);
            c.extend_from_slice(&zip64);
        }
        self.count += 1;
        self.names.insert(m.name.clone());
    }

    /// Writes the central directory and end records, flushes, and returns
    /// the writer.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing or flushing fails.
    ///
    /// ```
    /// # use mmarray::format::npz::{Archive, NpzWriter};
    /// let bytes = NpzWriter::new("empty.npz", Vec::new()).finish()?;
    /// assert_eq!(bytes.len(), 22); // just the end of central directory record
    /// assert!(Archive::parse("empty.npz".as_ref(), &bytes)?.is_empty());
    /// # Ok::<(), mmarray::Error>(())
    /// ```
    pub fn finish(mut self) -> Result<W> {
        let cd_offset = self.pos;
        let central = std::mem::take(&mut self.central);
        self.write(&central)?;
        let cd_size = central.len() as u64;
        let n = self.count;
        let mut end = Vec::with_capacity(ZIP64_EOCD_LEN + LOCATOR_LEN + EOCD_LEN);
        if n >= MAX16 as u64 || cd_offset >= MAX32 as u64 || cd_size >= MAX32 as u64 {
            let record = self.pos;
            end.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
            put64(&mut end, (ZIP64_EOCD_LEN - 12) as u64);
            put16(&mut end, (3 << 8) | 45);
            put16(&mut end, 45);
            put32(&mut end, 0);
            put32(&mut end, 0);
            put64(&mut end, n);
            put64(&mut end, n);
            put64(&mut end, cd_size);
            put64(&mut end, cd_offset);
            end.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
            put32(&mut end, 0);
            put64(&mut end, record);
            put32(&mut end, 1);
        }
        end.extend_from_slice(&EOCD_SIG.to_le_bytes());
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, n.min(MAX16 as u64) as u16);
        put16(&mut end, n.min(MAX16 as u64) as u16);
        put32(&mut end, cd_size.min(MAX32 as u64) as u32);
        put32(&mut end, cd_offset.min(MAX32 as u64) as u32);
        put16(&mut end, 0);
        self.write(&end)?;
        self.out.flush().at(&self.path, "writing the .npz file")?;
        Ok(self.out)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .at(&self.path, "writing the .npz file")?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// A member being written: its checked name and shape, and `.npy` header.
struct NewMember {
    name: String,
    file_name: String,
    header: Vec<u8>,
    /// Header plus elements.
    size: u64,
    nbytes: u64,
    len: usize,
    dtype: DType,
    shape: Vec<usize>,
    flags: u16,
}

/// What [`NpzWriter::add_streamed`] hands its closure: passes bytes to the
/// output, hashing and counting them, and refuses more than the array takes.
struct Counting<'a, W: Write> {
    out: &'a mut W,
    hasher: crc32fast::Hasher,
    written: u64,
    limit: u64,
    overflowed: bool,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.limit - self.written {
            self.overflowed = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "more than the {} bytes of elements the member's shape takes",
                    self.limit
                ),
            ));
        }
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// 1980-01-01 in MS-DOS date format, the earliest a ZIP file can record.
const DOS_DATE_1980: u16 = (1 << 5) | 1;

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{ByteOrder, ElementType};

    const P: &str = "t.npz";

    fn parse(bytes: &[u8]) -> Result<Archive> {
        Archive::parse(Path::new(P), bytes)
    }

    fn npy_file(e: ElementType, shape: &[usize], order: Order) -> Vec<u8> {
        let d = DType::native(e);
        let n: usize = shape.iter().product();
        let mut v = npy::header_bytes(d, shape, order);
        v.extend(
            (0..n * d.itemsize())
                .map(|i| (i * 7 % 251) as u8 & if e == ElementType::Bool { 1 } else { 0xff }),
        );
        v
    }

    /// One entry of a hand-built archive.
    #[derive(Clone)]
    struct Entry {
        name: Vec<u8>,
        method: u16,
        flags: u16,
        /// The member's bytes as stored (deflated for method 8).
        data: Vec<u8>,
        uncompressed: u64,
        crc: u32,
        /// A ZIP64 extra field in the local header, as numpy's
        /// `force_zip64=True` writes.
        local_zip64: bool,
    }

    impl Entry {
        fn stored(name: &str, npy: Vec<u8>) -> Entry {
            Entry {
                name: name.as_bytes().to_vec(),
                method: 0,
                flags: 0,
                uncompressed: npy.len() as u64,
                crc: crc32fast::hash(&npy),
                data: npy,
                local_zip64: true,
            }
        }

        fn deflated(name: &str, npy: Vec<u8>) -> Entry {
            Entry {
                method: 8,
                data: miniz_oxide::deflate::compress_to_vec(&npy, 6),
                ..Entry::stored(name, npy)
            }
        }
    }

    /// A built archive and where its parts are.
    struct Built {
        bytes: Vec<u8>,
        local: Vec<usize>,
        central: Vec<usize>,
        eocd: usize,
    }

    /// Writes `entries` as Python's zipfile does for np.savez (central
    /// directory without ZIP64 fields, 1980 dates).
    fn build(entries: &[Entry]) -> Built {
        let mut b = Vec::new();
        let mut local = Vec::new();
        for e in entries {
            local.push(b.len());
            b.extend_from_slice(&LOCAL_SIG.to_le_bytes());
            put16(&mut b, 45);
            put16(&mut b, e.flags);
            put16(&mut b, e.method);
            put16(&mut b, 0);
            put16(&mut b, DOS_DATE_1980);
            let descriptor = e.flags & FLAG_DESCRIPTOR != 0;
            put32(&mut b, if descriptor { 0 } else { e.crc });
            if e.local_zip64 {
                put32(&mut b, MAX32);
                put32(&mut b, MAX32);
            } else {
                put32(&mut b, e.data.len() as u32);
                put32(&mut b, e.uncompressed as u32);
            }
            put16(&mut b, e.name.len() as u16);
            put16(&mut b, if e.local_zip64 { 20 } else { 0 });
            b.extend_from_slice(&e.name);
            if e.local_zip64 {
                put16(&mut b, 1);
                put16(&mut b, 16);
                put64(&mut b, e.uncompressed);
                put64(&mut b, e.data.len() as u64);
            }
            b.extend_from_slice(&e.data);
            if descriptor {
                put32(&mut b, DESCRIPTOR_SIG);
                put32(&mut b, e.crc);
                put64(&mut b, e.data.len() as u64);
                put64(&mut b, e.uncompressed);
            }
        }
        let cd = b.len();
        let mut central = Vec::new();
        for (e, &off) in entries.iter().zip(&local) {
            central.push(b.len());
            b.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
            put16(&mut b, (3 << 8) | 45);
            put16(&mut b, 45);
            put16(&mut b, e.flags);
            put16(&mut b, e.method);
            put16(&mut b, 0);
            put16(&mut b, DOS_DATE_1980);
            put32(&mut b, e.crc);
            put32(&mut b, e.data.len() as u32);
            put32(&mut b, e.uncompressed as u32);
            put16(&mut b, e.name.len() as u16);
            put16(&mut b, 0);
            put16(&mut b, 0);
            put16(&mut b, 0);
            put16(&mut b, 0);
            put32(&mut b, 0o600 << 16);
            put32(&mut b, off as u32);
            b.extend_from_slice(&e.name);
        }
        let eocd = b.len();
        b.extend_from_slice(&EOCD_SIG.to_le_bytes());
        put16(&mut b, 0);
        put16(&mut b, 0);
        put16(&mut b, entries.len() as u16);
        put16(&mut b, entries.len() as u16);
        put32(&mut b, (eocd - cd) as u32);
        put32(&mut b, cd as u32);
        put16(&mut b, 0);
        Built {
            bytes: b,
            local,
            central,
            eocd,
        }
    }

    fn two() -> Vec<Entry> {
        vec![
            Entry::stored("a.npy", npy_file(ElementType::F64, &[5], Order::C)),
            Entry::deflated("b.npy", npy_file(ElementType::I16, &[3, 4], Order::F)),
        ]
    }

    fn set32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn set16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn malformed(r: Result<Archive>, needle: &str) {
        match r {
            Err(Error::MalformedNpz { message, path }) => {
                assert_eq!(path, Path::new(P));
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            other => panic!("expected MalformedNpz ({needle}), got {other:?}"),
        }
    }

    #[test]
    fn numpy_style_archive() {
        let built = build(&two());
        let a = parse(&built.bytes).unwrap();
        assert_eq!(a.names().collect::<Vec<_>>(), ["a", "b"]);
        let m = a.get("a").unwrap();
        // 30-byte local header + "a.npy" + 20-byte ZIP64 extra, then a
        // 128-byte .npy header: the elements start at 183, as in np.savez.
        assert_eq!(m.data_range(), 55..55 + 128 + 40);
        let l = m.stored_layout(Path::new(P)).unwrap();
        assert_eq!(
            (l.offset(), l.shape(), l.order()),
            (183, &[5usize][..], Order::C)
        );
        assert!(matches!(
            l.check_alignment(Path::new(P)),
            Err(Error::MisalignedOffset { .. })
        ));
        m.check_crc(Path::new(P), &built.bytes).unwrap();
        let b = a.get("b").unwrap();
        assert!(b.is_compressed() && b.layout().is_none());
        assert!(
            matches!(b.stored_layout(Path::new(P)), Err(Error::CompressedMember { member, .. }) if member == "b")
        );
        let e = b.extract(Path::new(P), &built.bytes).unwrap();
        assert_eq!(
            b.header_layout(Path::new(P), &built.bytes).unwrap(),
            e.layout
        );
        assert_eq!(&m.header_layout(Path::new(P), &built.bytes).unwrap(), l);
        assert_eq!(e.bytes, npy_file(ElementType::I16, &[3, 4], Order::F));
        assert_eq!(
            (e.layout.shape(), e.layout.order()),
            (&[3usize, 4][..], Order::F)
        );
        b.check_crc(Path::new(P), &built.bytes).unwrap();
        // Without the local ZIP64 field (numpy before force_zip64) too.
        let mut plain = two();
        plain.iter_mut().for_each(|e| e.local_zip64 = false);
        assert_eq!(
            parse(&build(&plain).bytes)
                .unwrap()
                .get("a")
                .unwrap()
                .layout()
                .unwrap()
                .offset(),
            163
        );
    }

    #[test]
    fn writer_output_parses_aligned() {
        let mut w = NpzWriter::new(P, Vec::new());
        let mut expected = Vec::new();
        for (i, &e) in ElementType::ALL.iter().enumerate() {
            for (j, shape) in [&[][..], &[0], &[3], &[2, 3], &[2, 0, 3]]
                .iter()
                .enumerate()
            {
                let order = if j % 2 == 0 { Order::C } else { Order::F };
                let npy = npy_file(e, shape, order);
                let h = npy::header_bytes(DType::native(e), shape, order).len();
                let name = format!("m{i}_{j}_{}", "x".repeat(i));
                w.add(&name, DType::native(e), shape, order, &npy[h..])
                    .unwrap();
                expected.push((name, npy, h));
            }
        }
        w.add(
            "big",
            DType::new(ElementType::F32, ByteOrder::Big),
            &[2],
            Order::C,
            &[0; 8],
        )
        .unwrap();
        let bytes = w.finish().unwrap();
        let a = parse(&bytes).unwrap();
        assert_eq!(a.len(), expected.len() + 1);
        for ((name, npy, h), m) in expected.iter().zip(a.members()) {
            assert_eq!(m.name(), name);
            let l = m.layout().unwrap();
            assert_eq!(l.offset() % WRITER_ALIGNMENT, 0, "{name}");
            assert_eq!(&bytes[l.offset() as usize..l.end() as usize], &npy[*h..]);
            assert_eq!(
                &bytes[m.data_range().start as usize..m.data_range().end as usize],
                &npy[..]
            );
            m.check_crc(Path::new(P), &bytes).unwrap();
        }
        let big = a.get("big").unwrap().layout().unwrap();
        assert_eq!(big.dtype().byte_order(), ByteOrder::Big);
    }

    #[test]
    fn writer_refuses_bad_names_and_sizes() {
        let u8s = DType::native(ElementType::U8);
        let mut w = NpzWriter::new(P, Vec::new());
        for bad in [
            "", "a/b", "a\\b", "..", "a..b", "/abs", "nul\0", "tab\t", "C:x",
        ] {
            assert!(
                matches!(
                    w.add(bad, u8s, &[1], Order::C, &[0]),
                    Err(Error::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        w.add("ok", u8s, &[1], Order::C, &[0]).unwrap();
        assert!(matches!(
            w.add("ok", u8s, &[1], Order::C, &[0]),
            Err(Error::InvalidName { .. })
        ));
        assert!(matches!(
            w.add("n", u8s, &[2], Order::C, &[0]),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            w.add("long", u8s, &[1; 65], Order::C, &[0]),
            Err(Error::TooManyDimensions { .. })
        ));
        w.add("ünï", u8s, &[], Order::C, &[5]).unwrap();
        let a = parse(&w.finish().unwrap()).unwrap();
        assert_eq!(a.names().collect::<Vec<_>>(), ["ok", "ünï"]);
    }

    #[test]
    fn streamed_members() {
        let u16s = DType::new(ElementType::U16, ByteOrder::Big);
        let mut w = NpzWriter::new(P, Vec::new());
        w.add_streamed("s", u16s, &[3, 2], Order::F, |out| {
            out.write_all(&[0, 1, 0, 2])?;
            out.write_all(&[0, 3, 0, 4, 0, 5, 0, 6])
        })
        .unwrap();
        w.add("after", u16s, &[1], Order::C, &[9, 9]).unwrap();
        w.add_streamed("empty", u16s, &[0, 4], Order::C, |_| Ok(()))
            .unwrap();
        let bytes = w.finish().unwrap();
        let a = parse(&bytes).unwrap();
        assert_eq!(a.names().collect::<Vec<_>>(), ["s", "after", "empty"]);
        let l = a.get("s").unwrap().layout().unwrap();
        assert_eq!(l.offset() % WRITER_ALIGNMENT, 0);
        assert_eq!((l.shape(), l.order()), (&[3usize, 2][..], Order::F));
        assert_eq!(
            &bytes[l.offset() as usize..l.end() as usize],
            &[0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6]
        );
        for m in a.members() {
            m.check_crc(Path::new(P), &bytes).unwrap();
        }
        // Too few, too many, and the closure's own error.
        let mut w = NpzWriter::new(P, Vec::new());
        let short = w.add_streamed("a", u16s, &[2], Order::C, |out| out.write_all(&[1, 2]));
        assert!(
            matches!(short, Err(Error::InvalidArgument { message, .. }) if message.contains("2 bytes of data given"))
        );
        let long = w.add_streamed("b", u16s, &[1], Order::C, |out| out.write_all(&[1, 2, 3]));
        assert!(
            matches!(long, Err(Error::InvalidArgument { message, .. }) if message.contains("more than the 2 bytes"))
        );
        let failed = w.add_streamed("c", u16s, &[1], Order::C, |_| {
            Err(std::io::Error::other("source gone"))
        });
        assert!(matches!(failed, Err(Error::Io { .. })));
    }

    #[test]
    fn truncated_at_every_length() {
        let built = build(&two());
        for len in 0..built.bytes.len() {
            assert!(parse(&built.bytes[..len]).is_err(), "{len}");
        }
        let w = NpzWriter::new(P, Vec::new());
        let mut w = w;
        w.add(
            "x",
            DType::native(ElementType::U8),
            &[3],
            Order::C,
            &[1, 2, 3],
        )
        .unwrap();
        let bytes = w.finish().unwrap();
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn bad_end_of_central_directory() {
        let built = build(&two());
        malformed(parse(b""), "too short");
        malformed(parse(&[0; 100]), "no end of central directory");
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 20, 3); // comment longer than the file
        malformed(parse(&b), "no end of central directory");
        let mut b = built.bytes.clone();
        b.extend_from_slice(b"trailing");
        malformed(parse(&b), "no end of central directory");
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 20, 3);
        b.extend_from_slice(b"abc");
        parse(&b).unwrap(); // a real comment is fine
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 4, 1);
        assert!(matches!(parse(&b), Err(Error::UnsupportedNpz { .. })));
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 8, 1);
        let err = parse(&b).unwrap_err();
        assert!(matches!(err, Error::UnsupportedNpz { .. }));
        assert!(
            err.to_string()
                .starts_with("t.npz: the archive uses several disks"),
            "{err}"
        );
    }

    #[test]
    fn central_directory_out_of_bounds() {
        let built = build(&two());
        let mut b = built.bytes.clone();
        set32(&mut b, built.eocd + 16, u32::MAX - 5); // offset
        malformed(parse(&b), "does not end where");
        let mut b = built.bytes.clone();
        set32(&mut b, built.eocd + 12, 10_000); // size
        malformed(parse(&b), "does not end where");
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 8, 60_000);
        set16(&mut b, built.eocd + 10, 60_000); // count
        malformed(parse(&b), "holds at most");
        let mut b = built.bytes.clone();
        set16(&mut b, built.eocd + 8, 1);
        set16(&mut b, built.eocd + 10, 1); // fewer entries than the bytes hold
        malformed(parse(&b), "bytes after its 1 entries");
        let mut b = built.bytes.clone();
        set32(&mut b, built.central[1], 0x1234_5678);
        malformed(parse(&b), "lacks its signature");
        let mut b = built.bytes.clone();
        set16(&mut b, built.central[1] + 30, 40); // extra field past the directory
        malformed(parse(&b), "past the end");
        let mut b = built.bytes.clone();
        set32(&mut b, built.central[1] + 42, u32::MAX - 1); // local header offset
        malformed(parse(&b), "not before the central directory");
    }

    #[test]
    fn local_header_disagrees() {
        let built = build(&two());
        let (l0, l1) = (built.local[0], built.local[1]);
        let cases: &[(usize, &[u8], &str)] = &[
            (l0, &[0, 0, 0, 0], "no local header signature"),
            (l0 + 30, b"c", "its local header names"),
            (l0 + 8, &[8, 0], "compression method"),
            (l0 + 6, &[8, 0], "flags"),
            (
                l0 + 14,
                &[1, 2, 3, 4],
                "disagrees with the central directory",
            ),
            (l0 + 35 + 4, &[1], "disagrees with the central directory"),
            (
                l1 + 35 + 12,
                &[0, 0, 0, 0, 0, 0, 0, 1],
                "disagrees with the central directory",
            ),
            (l0 + 35 + 2, &[8], "ZIP64 extra field is too short"),
            (l0 + 28, &[10, 0], "declares 16 bytes but 6 remain"),
        ];
        for &(at, patch, needle) in cases {
            let mut b = built.bytes.clone();
            b[at..at + patch.len()].copy_from_slice(patch);
            malformed(parse(&b), needle);
        }
    }

    #[test]
    fn zip64_values_out_of_range() {
        let entries = two();
        let built = build(&entries);
        let c = built.central[0];
        // Central sizes and offset saturated, with ZIP64 values that lie
        // past the end of the file: rebuild the entry with an extra field.
        let with_zip64 = |values: &[u64], mask: [bool; 3]| {
            let mut b = built.bytes[..c].to_vec();
            let mut entry = built.bytes[c..c + CENTRAL_LEN].to_vec();
            for (on, at) in mask.iter().zip([24, 20, 42]) {
                if *on {
                    set32(&mut entry, at, MAX32);
                }
            }
            set16(&mut entry, 30, 4 + 8 * values.len() as u16);
            b.extend_from_slice(&entry);
            b.extend_from_slice(b"a.npy");
            put16(&mut b, 1);
            put16(&mut b, 8 * values.len() as u16);
            values.iter().for_each(|&v| put64(&mut b, v));
            let rest_start = c + CENTRAL_LEN + 5;
            let grown = 4 + 8 * values.len();
            b.extend_from_slice(&built.bytes[rest_start..]);
            let eocd = built.eocd + grown;
            let size = le32(&b, eocd + 12) + grown as u32;
            set32(&mut b, eocd + 12, size);
            b
        };
        malformed(
            parse(&with_zip64(&[u64::MAX, u64::MAX], [true, true, false])),
            "",
        );
        malformed(
            parse(&with_zip64(&[1 << 40], [false, false, true])),
            "not before the central directory",
        );
        malformed(
            parse(&with_zip64(&[u64::MAX - 3], [false, false, true])),
            "not before the central directory",
        );
        malformed(parse(&with_zip64(&[168], [true, true, false])), "too short");
        // The right values parse.
        let size = entries[0].data.len() as u64;
        parse(&with_zip64(&[size, size, 0], [true, true, true])).unwrap();
        // ZIP64 end records pointing anywhere.
        let mut b = built.bytes[..built.eocd].to_vec();
        b.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        put32(&mut b, 0);
        put64(&mut b, u64::MAX - 10);
        put32(&mut b, 1);
        b.extend_from_slice(&built.bytes[built.eocd..]);
        malformed(parse(&b), "past the end of the file");
    }

    #[test]
    fn zip64_end_records_with_many_members() {
        let mut w = NpzWriter::new(P, Vec::new());
        let u8s = DType::native(ElementType::U8);
        let n = 65_536;
        for i in 0..n {
            w.add(&format!("{i}"), u8s, &[], Order::C, &[i as u8])
                .unwrap();
        }
        let bytes = w.finish().unwrap();
        let eocd = bytes.len() - EOCD_LEN;
        assert_eq!(le16(&bytes, eocd + 10), MAX16);
        assert_eq!(le32(&bytes, eocd - LOCATOR_LEN), ZIP64_LOCATOR_SIG);
        let a = parse(&bytes).unwrap();
        assert_eq!(a.len(), n);
        assert_eq!(a.get("65535").unwrap().layout().unwrap().offset() % 64, 0);
        // The 16-bit count must agree with the 64-bit one or be saturated.
        let mut b = bytes.clone();
        set16(&mut b, eocd + 10, 3);
        malformed(parse(&b), "disagrees with the ZIP64");
    }

    #[test]
    fn bad_names() {
        let npy = npy_file(ElementType::U8, &[1], Order::C);
        for name in [
            "a/b.npy", "/abs.npy", "a\\b.npy", "..npy", "../x.npy", "a\0.npy", ".npy", "x.txt",
            "x", "C:x.npy",
        ] {
            let b = build(&[Entry::stored(name, npy.clone())]).bytes;
            assert!(
                matches!(parse(&b), Err(Error::InvalidName { .. })),
                "{name:?}: {:?}",
                parse(&b)
            );
        }
        let dup = build(&[
            Entry::stored("a.npy", npy.clone()),
            Entry::stored("a.npy", npy.clone()),
        ]);
        assert!(
            matches!(parse(&dup.bytes), Err(Error::InvalidName { reason, .. }) if reason.contains("two"))
        );
        let mut latin = Entry::stored("x.npy", npy.clone());
        latin.name = b"\xe9.npy".to_vec();
        assert!(matches!(
            parse(&build(&[latin.clone()]).bytes),
            Err(Error::InvalidName { .. })
        ));
        latin.name = "é.npy".as_bytes().to_vec();
        assert!(matches!(
            parse(&build(&[latin.clone()]).bytes),
            Err(Error::InvalidName { .. })
        ));
        latin.flags = FLAG_UTF8;
        assert_eq!(
            parse(&build(&[latin]).bytes).unwrap().names().next(),
            Some("é")
        );
    }

    #[test]
    fn unsupported_methods_and_encryption() {
        let npy = npy_file(ElementType::U8, &[4], Order::C);
        let mut e = Entry::stored("a.npy", npy.clone());
        e.method = 12;
        assert!(
            matches!(parse(&build(&[e]).bytes), Err(Error::UnsupportedNpz { feature, .. }) if feature.contains("bzip2"))
        );
        for flag in [FLAG_ENCRYPTED, FLAG_STRONG_ENCRYPTION, FLAG_MASKED_HEADERS] {
            let mut e = Entry::stored("a.npy", npy.clone());
            e.flags = flag;
            assert!(
                matches!(parse(&build(&[e]).bytes), Err(Error::UnsupportedNpz { feature, .. }) if feature.contains("encryption"))
            );
        }
    }

    #[test]
    fn stored_member_must_be_npy() {
        let mut npy = npy_file(ElementType::F32, &[4], Order::C);
        npy.push(0);
        malformed(
            parse(&build(&[Entry::stored("a.npy", npy.clone())]).bytes),
            "describes 16 bytes",
        );
        npy.truncate(npy.len() - 2);
        malformed(
            parse(&build(&[Entry::stored("a.npy", npy)]).bytes),
            "describes 16 bytes",
        );
        malformed(
            parse(&build(&[Entry::stored("a.npy", b"hello".to_vec())]).bytes),
            "not a valid .npy",
        );
        let mut e = Entry::stored("a.npy", npy_file(ElementType::U8, &[4], Order::C));
        e.uncompressed += 1;
        malformed(parse(&build(&[e]).bytes), "stored, but");
    }

    #[test]
    fn deflate_bomb_and_crc_mismatch() {
        let path = Path::new(P);
        // Declares the 132 bytes of a small .npy, inflates to a megabyte.
        let small = npy_file(ElementType::U8, &[4], Order::C);
        let mut bomb = Entry::deflated("a.npy", small.clone());
        bomb.data = miniz_oxide::deflate::compress_to_vec(&vec![0; 1 << 20], 10);
        let built = build(&[bomb.clone()]);
        let a = parse(&built.bytes).unwrap();
        match a.members()[0].extract(path, &built.bytes) {
            Err(Error::MalformedNpz { message, .. }) => {
                assert!(message.contains("more than the 132 bytes"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // Declares more than deflate can produce from its size.
        bomb.uncompressed = bomb.data.len() as u64 * MAX_DEFLATE_RATIO + 1;
        malformed(parse(&build(&[bomb.clone()]).bytes), "decompression bomb");
        // Inflates to less than declared.
        let mut short = Entry::deflated("a.npy", small.clone());
        short.uncompressed += 1;
        let built = build(&[short]);
        let err = parse(&built.bytes).unwrap().members()[0]
            .extract(path, &built.bytes)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("inflates to 132 bytes but declares 133"),
            "{err}"
        );
        // Corrupt deflate data.
        let mut corrupt = Entry::deflated("a.npy", small.clone());
        corrupt.data = vec![0xff; 20];
        let built = build(&[corrupt]);
        let err = parse(&built.bytes).unwrap().members()[0]
            .extract(path, &built.bytes)
            .unwrap_err();
        assert!(err.to_string().contains("corrupt deflate stream"), "{err}");
        // CRC mismatch, deflated and stored.
        for mut e in [
            Entry::deflated("a.npy", small.clone()),
            Entry::stored("a.npy", small.clone()),
        ] {
            e.crc ^= 1;
            let built = build(&[e]);
            let archive = parse(&built.bytes).unwrap();
            let m = &archive.members()[0];
            assert!(matches!(
                m.extract(path, &built.bytes),
                Err(Error::ChecksumMismatch { .. })
            ));
            assert!(matches!(
                m.check_crc(path, &built.bytes),
                Err(Error::ChecksumMismatch { .. })
            ));
        }
        // A member asked of a shorter file than it was parsed from.
        let built = build(&[Entry::stored("a.npy", small)]);
        let m = parse(&built.bytes).unwrap().members()[0].clone();
        assert!(matches!(
            m.extract(path, &built.bytes[..50]),
            Err(Error::MalformedNpz { .. })
        ));
    }

    #[test]
    fn overlapping_members() {
        let mut entries = two();
        entries.swap(0, 1); // the deflated one first
        let built = build(&entries);
        // Stretch the deflated member's size over the next local header,
        // in both headers (the local one's ZIP64 compressed size).
        let grown = entries[0].data.len() as u64 + 40;
        let mut b = built.bytes.clone();
        set32(&mut b, built.central[0] + 20, grown as u32);
        b[built.local[0] + 35 + 12..built.local[0] + 35 + 20].copy_from_slice(&grown.to_le_bytes());
        malformed(parse(&b), "overlap");
        // Two entries for the same bytes under different names.
        let mut b = built.bytes.clone();
        let l1 = built.local[1];
        let c0 = built.central[0];
        b[c0 + 42..c0 + 46].copy_from_slice(&(l1 as u32).to_le_bytes());
        malformed(parse(&b), "its local header names");
    }

    #[test]
    fn data_descriptors() {
        let mut e = Entry::stored("a.npy", npy_file(ElementType::U8, &[4], Order::C));
        e.flags = FLAG_DESCRIPTOR;
        let built = build(&[
            e.clone(),
            Entry::stored("b.npy", npy_file(ElementType::U8, &[1], Order::C)),
        ]);
        let a = parse(&built.bytes).unwrap();
        assert_eq!(a.len(), 2);
        // A descriptor that disagrees.
        let mut b = built.bytes.clone();
        let at = a.members()[0].data_range().end as usize + 4;
        b[at] ^= 1;
        malformed(parse(&b), "no data descriptor");
    }

    /// What a parse of arbitrary bytes may give: an archive whose members
    /// lie inside the file with valid layouts (and whose extraction gives
    /// a result or a typed error), or an error naming the file.
    fn check_any(bytes: &[u8]) {
        let path = Path::new(P);
        match parse(bytes) {
            Ok(a) => {
                for m in a.members() {
                    assert!(m.data_range().end <= bytes.len() as u64);
                    if let Some(l) = m.layout() {
                        assert!(
                            l.offset() >= m.data_range().start && l.end() == m.data_range().end
                        );
                    }
                    let peeked = m.header_layout(path, bytes);
                    if let Err(err) = &peeked {
                        assert_eq!(err.path(), path);
                    }
                    match m.extract(path, bytes) {
                        Ok(e) => {
                            assert_eq!(e.layout.end(), e.bytes.len() as u64);
                            if m.is_compressed() {
                                assert_eq!(peeked.unwrap(), e.layout);
                            }
                        }
                        Err(err) => assert_eq!(err.path(), path),
                    }
                }
            }
            Err(err) => {
                assert_eq!(err.path(), path);
                assert!(!err.to_string().is_empty());
            }
        }
    }

    fn seeds() -> Vec<Vec<u8>> {
        let mut w = NpzWriter::new(P, Vec::new());
        w.add(
            "x",
            DType::native(ElementType::I32),
            &[2, 2],
            Order::F,
            &[1; 16],
        )
        .unwrap();
        w.add_streamed("y", DType::native(ElementType::U8), &[3], Order::C, |out| {
            out.write_all(&[1, 2, 3])
        })
        .unwrap();
        let mut descriptor = Entry::stored("d.npy", npy_file(ElementType::U8, &[3], Order::C));
        descriptor.flags = FLAG_DESCRIPTOR;
        let mut entries = two();
        entries.push(descriptor);
        vec![build(&entries).bytes, w.finish().unwrap()]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Random byte changes, insertions and cuts of valid archives give
        /// `Ok` or a typed error, never a panic.
        #[test]
        fn mutations_never_panic(
            seed in 0usize..2,
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..8), 1..8),
            cut in proptest::option::of(proptest::prelude::any::<usize>()),
        ) {
            let mut b = seeds().swap_remove(seed);
            for (at, byte, kind) in edits {
                let at = at % b.len();
                match kind {
                    0 => b.insert(at, byte),
                    1 => { b.remove(at); }
                    // Saturate a field: the values parsers treat specially.
                    2 => b[at] = 0xff,
                    _ => b[at] = byte,
                }
                if b.is_empty() { break; }
            }
            if let Some(cut) = cut {
                let len = b.len();
                b.truncate(cut % (len + 1));
            }
            check_any(&b);
        }
    }

    #[test]
    fn every_single_byte_change_of_a_seed() {
        for seed in seeds() {
            for at in 0..seed.len() {
                for byte in [0, 1, 0x7f, 0xff, seed[at] ^ 0x80] {
                    let mut b = seed.clone();
                    b[at] = byte;
                    check_any(&b);
                }
            }
        }
    }

    #[test]
    fn errors_name_the_path_and_escape_it() {
        let err = Archive::parse(Path::new("a\nb.npz"), b"x").unwrap_err();
        assert_eq!(err.path(), Path::new("a\nb.npz"));
        assert!(
            err.to_string()
                .starts_with("a\\nb.npz: malformed .npz file")
        );
    }
}
