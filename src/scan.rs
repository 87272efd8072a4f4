//! Whole-file scans without a mapping: an array's bytes read front to back
//! with `pread` into a reused buffer.
//!
//! A mapping is the fastest way to look at a few elements, and it has two
//! costs for a pass over all of them: every page read stays in the
//! process's resident set until it is released (a 3 GiB file scanned
//! through a mapping peaks at 3 GiB), and a file that another program
//! shrinks under the mapping kills the reader with `SIGBUS` as soon as it
//! touches a page past the new end. Reading with `pread`
//! ([`FileExt::read_at`](std::os::unix::fs::FileExt::read_at)) has
//! neither: the bytes are copied into a buffer of [`BLOCK_BYTES`] that is
//! used again for the next block, so the resident set is the buffer
//! whatever the file's size (the page cache belongs to the kernel, not to
//! the process), and a file that ends early
//! makes `pread` return 0, which becomes [`Error::Truncated`] naming the
//! file and the byte where its data ended. The price is the copy: with
//! the file in the page cache, the streamed stats run at about 0.4x of the
//! same kernel over a mapping on the Zen 4 machine of issue 23 (the copy
//! runs at about 9 GB/s a core there, the kernel at 20-30 GB/s); from
//! disk both run at the disk's speed (BENCHMARKS.md, issues 16 and 23).
//! So [`Stats::of_path`](crate::Stats::of_path) avoids the copy on Linux
//! where it can: it maps the file under a read lease, which holds back any
//! writer until the scan lets go of the mapping ([`ReadPath`] says which
//! way a pass went, [`NoLease`](crate::NoLease) why there was no lease).
//!
//! - [`Scan`] is an array opened for a scan: its file held under the
//!   shared lock, described and checked for length, not mapped.
//! - [`ScanBuffer`] reads its elements in order, a block of whole elements
//!   at a time, as stored ([`next_block`](ScanBuffer::next_block)) or
//!   decoded to this machine's byte order
//!   ([`next_elements`](ScanBuffer::next_elements)).
//!
//! [`convert`](crate::convert) scans this way, and so do the command-line
//! tool's `convert` and `plot`, and its `stats` where no lease can be
//! had. Views ([`MappedArray`](crate::MappedArray)) stay mapped: the
//! `SIGBUS` limit applies to them (see its safety notes).

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use crate::dtype::{self, DType, Element};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::lock::SharedLock;
use crate::source::{ArrayInfo, open_unmapped};

/// Bytes read per `pread`: 256 KiB, a whole number of elements of every
/// size. Large enough that the calls cost little next to the copy, small
/// enough that a block stays in the core's L2 cache between being read
/// and being used (measured against 128 KiB and 1 MiB in BENCHMARKS.md,
/// issue 16).
pub const BLOCK_BYTES: usize = 256 << 10;

/// An array opened for a whole-file scan: its data file held open under
/// the shared lock (so no cooperating process shrinks it meanwhile),
/// described and checked to be long enough, but not mapped.
///
/// A [`reader`](Self::reader) copies the array's bytes front to back with
/// `pread` into one reused buffer of [`BLOCK_BYTES`], so a scan's
/// resident set is that buffer whatever the file's size (a scan through
/// a mapping keeps every page it read resident until released), and a
/// file that another program shrinks during the scan makes `pread` return
/// 0, reported as [`Error::Truncated`] naming the file and the byte where
/// its data ended, where a mapping would get `SIGBUS`. The copy costs
/// some speed when the file is cached, none when it comes from disk (see
/// the [module docs](crate::scan)).
///
/// ```
/// use mmarray::{MappedArray, Scan};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.dat");
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let mut a = unsafe { MappedArray::<u32>::create(&path, &[1000]) }?;
/// a.as_slice_mut().iter_mut().enumerate().for_each(|(i, x)| *x = i as u32);
/// a.flush()?;
///
/// let scan = Scan::open(&path)?;
/// let mut reader = scan.reader();
/// let mut total = 0u64;
/// while let Some(block) = reader.next_elements::<u32>()? {
///     total += block.iter().map(|&x| u64::from(x)).sum::<u64>();
/// }
/// assert_eq!(total, 999 * 1000 / 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Scan {
    lock: SharedLock,
    info: ArrayInfo,
}

impl Scan {
    /// Opens, locks and describes the array at `path` (a `.npy` file, a
    /// raw data file or its sidecar, or a stored `.npz` member
    /// `x.npz/name`) and checks that the file holds all of its bytes.
    ///
    /// # Errors
    ///
    /// As [`inspect`](crate::inspect); [`Error::CompressedMember`] for a
    /// compressed `.npz` member, which has no bytes in place to read.
    pub fn open(path: impl AsRef<Path>) -> Result<Scan> {
        let (info, lock) = open_unmapped(path.as_ref())?;
        Ok(Scan { lock, info })
    }

    /// Path, format, layout and attrs.
    pub fn info(&self) -> &ArrayInfo {
        &self.info
    }

    /// A reader of the array's bytes from the first element, with its own
    /// buffer. Readers are independent: each starts at the beginning.
    pub fn reader(&self) -> ScanBuffer<'_> {
        ScanBuffer::new(self.lock.file(), &self.info.path, &self.info.layout)
    }

    /// Copies the elements `range` (counted in memory order, the order of
    /// the file) with `pread`, decoded to this machine's byte order: a
    /// few rows of a large file without mapping it, so a file cut short
    /// by another program gives [`Error::Truncated`], not `SIGBUS`.
    ///
    /// ```
    /// use mmarray::{CreateOptions, Scan};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// CreateOptions::new().write(&path, &ndarray::array![[1i16, 2], [3, 4], [5, 6]])?;
    /// assert_eq!(Scan::open(&path)?.read_elements::<i16>(2..5)?, vec![3, 4, 5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::DtypeMismatch`] when the array does not hold `T`;
    /// [`Error::InvalidArgument`] for a range past the array's end;
    /// [`Error::Truncated`] when the file ends early; [`Error::InvalidBool`]
    /// for a bool byte other than 0 or 1.
    pub fn read_elements<T: Element>(&self, range: std::ops::Range<usize>) -> Result<Vec<T>> {
        let (path, layout) = (&self.info.path, &self.info.layout);
        let dtype = layout.dtype();
        if dtype.element_type() != T::TYPE {
            return Err(Error::DtypeMismatch {
                path: path.to_path_buf(),
                expected: DType::of::<T>(),
                found: dtype,
            });
        }
        if range.start > range.end || range.end > layout.len() {
            return Err(Error::InvalidArgument {
                path: path.to_path_buf(),
                message: format!(
                    "element range {}..{} is outside the array's {} elements",
                    range.start,
                    range.end,
                    layout.len()
                ),
            });
        }
        let size = dtype.itemsize();
        let mut bytes = vec![0u8; (range.end - range.start) * size];
        let start = layout.offset() + (range.start * size) as u64;
        read_exact_at(self.lock.file(), path, &mut bytes, start, layout.end())?;
        let mut out = Vec::with_capacity(range.end - range.start);
        dtype::decode_into(&bytes, dtype.byte_order(), &mut out).map_err(|index| {
            Error::InvalidBool {
                path: path.to_path_buf(),
                index: range.start + index,
                byte: bytes[index],
            }
        })?;
        Ok(out)
    }

    /// The open data file and what it holds, for the scans of this crate
    /// that read blocks from several threads.
    pub(crate) fn parts(&self) -> (&File, &ArrayInfo) {
        (self.lock.file(), &self.info)
    }
}

/// Sequential reads of one array's bytes into a reused buffer, a block of
/// whole elements at a time (see [`Scan`]).
///
/// The buffer is 8-byte aligned, so a block of native elements is viewed
/// in place; a block in the other byte order is swapped in the buffer.
pub struct ScanBuffer<'a> {
    file: &'a File,
    path: &'a Path,
    dtype: DType,
    /// Where the array's bytes start and end in the file.
    start: u64,
    end: u64,
    /// The next byte to read, from the start of the file.
    pos: u64,
    block_bytes: usize,
    buf: Vec<u64>,
}

impl<'a> ScanBuffer<'a> {
    /// A reader of the bytes `layout` places in `file` (named `path` in
    /// errors).
    pub(crate) fn new(file: &'a File, path: &'a Path, layout: &Layout) -> ScanBuffer<'a> {
        let dtype = layout.dtype();
        advise_sequential(file);
        ScanBuffer {
            file,
            path,
            dtype,
            start: layout.offset(),
            end: layout.end(),
            pos: layout.offset(),
            block_bytes: block_bytes(dtype.itemsize()),
            buf: Vec::new(),
        }
    }

    /// How many of the array's bytes have been read.
    pub fn bytes_read(&self) -> u64 {
        self.pos - self.start
    }

    /// The next block of the array's bytes as stored (file byte order),
    /// a whole number of elements; `None` after the last.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when the file ends before the array does (it
    /// was shrunk after being opened); [`Error::Io`] when a read fails.
    pub fn next_block(&mut self) -> Result<Option<&mut [u8]>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let len = (self.end - self.pos).min(self.block_bytes as u64) as usize;
        if self.buf.is_empty() {
            self.buf = vec![0u64; self.block_bytes.div_ceil(8)];
        }
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.buf)[..len];
        read_exact_at(self.file, self.path, bytes, self.pos, self.end)?;
        self.pos += len as u64;
        Ok(Some(bytes))
    }

    /// The next block of elements, decoded to this machine's byte order
    /// (swapped in the buffer when the file's is the other); `None` after
    /// the last.
    ///
    /// # Errors
    ///
    /// As [`next_block`](Self::next_block); [`Error::DtypeMismatch`] when
    /// the array does not hold `T`; [`Error::InvalidBool`] for a bool byte
    /// other than 0 or 1.
    pub fn next_elements<T: Element>(&mut self) -> Result<Option<&[T]>> {
        let (path, dtype) = (self.path, self.dtype);
        if dtype.element_type() != T::TYPE {
            return Err(Error::DtypeMismatch {
                path: path.to_path_buf(),
                expected: DType::of::<T>(),
                found: dtype,
            });
        }
        let first = (self.bytes_read() / dtype.itemsize() as u64) as usize;
        let Some(bytes) = self.next_block()? else {
            return Ok(None);
        };
        if !dtype.is_native() {
            T::TYPE.swap_bytes(bytes);
        }
        let bytes: &[u8] = bytes;
        match dtype::cast_bytes::<T>(bytes) {
            Some(elements) => Ok(Some(elements)),
            None => {
                let (index, byte) = dtype::first_invalid_byte(T::TYPE, bytes).unwrap_or((0, 0));
                Err(Error::InvalidBool {
                    path: path.to_path_buf(),
                    index: first + index,
                    byte,
                })
            }
        }
    }
}

/// How a whole-file pass read an array's bytes: the
/// [`read`](crate::Stats::read) of a [`Stats`](crate::Stats).
///
/// ```
/// use mmarray::{ReadPath, Stats};
///
/// let s = Stats::compute(&[1u8, 2, 3], |_| {});
/// assert_eq!(s.read, ReadPath::Memory);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadPath {
    /// Elements already in memory ([`Stats::compute`](crate::Stats::compute),
    /// or a compressed `.npz` member inflated first).
    Memory,
    /// Through a mapping the caller made
    /// ([`Stats::of_source`](crate::Stats::of_source)): no protection
    /// against truncation by other programs.
    Mapped,
    /// Through a mapping, every byte, under a read lease (Linux): zero-copy,
    /// and no other program could write to or truncate the file meanwhile.
    Leased,
    /// Through a leased mapping until another program (or thread) opened
    /// the file for writing or truncated it; the scan then let go of the
    /// lease and read from byte `at` of the array on with `pread`.
    LeaseBroken {
        /// Where the `pread` part began, in bytes from the array's start.
        at: u64,
    },
    /// With `pread`, every byte (a copy), because no lease could be had.
    Streamed(crate::NoLease),
}

/// The block size for elements of `itemsize` bytes: [`BLOCK_BYTES`] cut
/// to a whole number of elements (at least one).
pub(crate) fn block_bytes(itemsize: usize) -> usize {
    let itemsize = itemsize.max(1);
    (BLOCK_BYTES / itemsize).max(1) * itemsize
}

/// Fills `buf` from byte `pos` of `file` (at `path`), whose array data
/// should run to byte `end`, with `pread`: retried when interrupted,
/// continued after a short read, and [`Error::Truncated`] if the file ends
/// first.
pub(crate) fn read_exact_at(
    file: &File,
    path: &Path,
    mut buf: &mut [u8],
    mut pos: u64,
    end: u64,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    while !buf.is_empty() {
        match file.read_at(buf, pos) {
            Ok(0) => {
                return Err(Error::Truncated {
                    path: path.to_path_buf(),
                    at: pos,
                    end,
                });
            }
            Ok(n) => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "reading the data file", e)),
        }
    }
    Ok(())
}

/// Tells the kernel the file is read front to back (a larger read-ahead).
/// A hint: a kernel that ignores it reads the same bytes.
pub(crate) fn advise_sequential(file: &File) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::Sequential);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_hold_whole_elements_of_every_size() {
        for size in [1, 2, 4, 8, 16, 24] {
            let b = block_bytes(size);
            assert!(b <= BLOCK_BYTES && b + size > BLOCK_BYTES);
            assert_eq!(b % size, 0);
        }
    }
}
