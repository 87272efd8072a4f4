//! Finding an array's description from a path.
//!
//! A path names one of:
//! - a `.npy` file, recognised by its content (the `\x93NUMPY` magic), not
//!   its name;
//! - a raw data file with a sidecar `<name>.json` next to it;
//! - the sidecar itself (a path ending in `.json` that has no sidecar of its
//!   own), standing for the data file it describes.
//!
//! [`open_source`] opens the data file once, takes its shared lock, and only
//! then reads the description, through that same handle for `.npy` files.
//! So the length check made before mapping is made on the file that is
//! mapped, even if the path is replaced meanwhile, and no cooperating
//! process can shrink the file between the description being read and the
//! file being mapped: a shrink rewrites the sidecar and truncates the file
//! under the exclusive lock, so an open that meets one waits for it to
//! finish and reads the new, shorter length.
//!
//! [`Source`] is the array opened and mapped: the one "open and map" that
//! every reader builds on.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::{self, Format, format_for_path};
use crate::fsutil;
use crate::layout::Layout;
use crate::lock::{MapKind, MapLock, Owner, SharedLock};
use crate::mapping::{self, CopyOnWrite, MapOf, Mode, ReadWrite, Writable};
use crate::npy;
use crate::npz::Npz;
use crate::sidecar::{self, Attrs, Sidecar};

/// Everything known about an array without mapping it: where it is, its
/// format, layout and attrs.
///
/// ```
/// use mmarray::{Format, MappedArray};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.dat");
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// unsafe { MappedArray::<i16>::create(&path, &[4, 5]) }?;
/// let info = mmarray::inspect(&path)?;
/// assert_eq!(info.format(), Format::Raw);
/// assert_eq!(info.layout().shape(), &[4, 5]);
/// assert_eq!(info.layout().dtype().to_string(), "<i2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayInfo {
    pub(crate) path: PathBuf,
    pub(crate) sidecar: Option<PathBuf>,
    pub(crate) format: Format,
    pub(crate) layout: Layout,
    pub(crate) attrs: Attrs,
    /// The member's name, for a `.npz` member.
    pub(crate) member: Option<String>,
}

impl ArrayInfo {
    /// The file holding the elements (the `.npy` file, or the raw data file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar, for a raw file.
    pub fn sidecar_path(&self) -> Option<&Path> {
        self.sidecar.as_deref()
    }

    /// Raw + sidecar, or `.npy`.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where the elements are in the file.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// For a member of a `.npz` archive (format [`Format::Npz`]), its name;
    /// [`path`](Self::path) is then the archive.
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// User metadata from the sidecar (always empty for `.npy` files).
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }
}

/// As JSON (what `mmarray info --json` prints and the Python package's
/// `info` returns): `path`, `format`, `dtype` (a numpy type string),
/// `shape`, `order`, `offset`, `nbytes`, `attrs`.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("a.dat");
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// unsafe { mmarray::MappedArray::<u8>::create(&path, &[2, 3]) }?;
/// let json = serde_json::to_value(mmarray::inspect(&path)?)?;
/// assert_eq!(json["dtype"], "|u1");
/// assert_eq!(json["shape"], serde_json::json!([2, 3]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl serde::Serialize for ArrayInfo {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let layout = &self.layout;
        let mut map = serializer.serialize_map(Some(8))?;
        map.serialize_entry("path", &self.path.display().to_string())?;
        map.serialize_entry("format", self.format.as_str())?;
        map.serialize_entry("dtype", &layout.dtype().to_string())?;
        map.serialize_entry("shape", layout.shape())?;
        map.serialize_entry("order", layout.order().as_str())?;
        map.serialize_entry("offset", &layout.offset())?;
        map.serialize_entry("nbytes", &layout.nbytes())?;
        map.serialize_entry("attrs", &self.attrs)?;
        map.end()
    }
}

/// An opened and mapped array of any element type, byte order or
/// alignment: its description, its data file held under the shared lock,
/// and the mapping of its bytes. What [`MappedArray`](crate::MappedArray)
/// is over, and what [`Stats::of_source`](crate::Stats::of_source),
/// [`read_array`](crate::read_array) and
/// [`convert_source`](crate::convert_source) read: "open and map" is
/// written here once, so a command that looks at an array and then scans
/// it opens the file once.
///
/// ```
/// use mmarray::{MappedArray, Source, Stats};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.dat");
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// unsafe { MappedArray::<u16>::create(&path, &[3, 4]) }?;
/// // SAFETY: the file is this example's own; nothing else changes it.
/// let src = unsafe { Source::open(&path)? };       // any dtype, read-only
/// assert_eq!(src.info().layout().shape(), &[3, 4]);
/// assert_eq!(src.as_bytes().len(), 24);
/// let stats = Stats::of_source(&src, |_| {})?;     // no second open
/// assert_eq!(stats.count, 12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Source<M: Mode = crate::ReadOnly> {
    /// The mapping: the array's bytes (for a growable array, capacity may
    /// follow them).
    pub(crate) map: MapOf<M>,
    /// The data file; its shared lock lives as long as the mapping.
    pub(crate) lock: SharedLock,
    /// What the mapping may do to the file's bytes, held as long as it.
    _map_lock: MapLock,
    /// The process that opened it: the only one that acts on its locks.
    pub(crate) owner: Owner,
    /// Path, format, layout, attrs.
    pub(crate) info: ArrayInfo,
}

impl Source {
    /// Opens, locks, describes and maps the array at `path` read-only: a
    /// `.npy` file, a raw data file with a sidecar, or the sidecar.
    ///
    /// # Safety
    ///
    /// See [Safety of mappings](crate#safety-of-mappings): while the
    /// returned value (or a slice borrowed from it) lives, no program may
    /// change or cut off the array's bytes.
    ///
    /// # Errors
    ///
    /// As [`inspect`], and [`Error::Busy`] while another handle maps the
    /// file for writing.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Source> {
        // SAFETY: the caller's contract.
        unsafe { Source::open_in(path.as_ref(), MapKind::Shared) }
    }
}

impl Source<ReadWrite> {
    /// Opens, locks, describes and maps the array at `path` read-write for
    /// one of several writers that share it, whatever its element type,
    /// byte order or alignment: the bytes of numpy's
    /// `np.memmap(path, dtype, mode="r+")`, which views any of them. As
    /// [`MappedArray::open_shared_mut`](crate::MappedArray::open_shared_mut),
    /// it coexists with readers and other shared writers, and an `open_mut`
    /// mapping is refused while it lives (and it while one lives). Writes
    /// through [`as_bytes_mut`](Self::as_bytes_mut) go to the file;
    /// [`flush`](Self::flush) waits for them to reach it.
    ///
    /// ```
    /// use mmarray::{ByteOrder, CreateOptions, Source};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// // Big-endian on any machine: no `MappedArray<f32>` views it in place.
    /// let data = ndarray::array![1.0f32, 2.0];
    /// CreateOptions::new().byte_order(ByteOrder::Big).write(&path, &data)?;
    /// // SAFETY: the example's own file; no other handle or program touches it.
    /// let mut src = unsafe { Source::open_shared_mut(&path)? };
    /// src.as_bytes_mut()[..4].copy_from_slice(&3.0f32.to_be_bytes());
    /// src.flush()?;
    /// drop(src);
    /// let bytes = std::fs::read(&path)?;
    /// assert_eq!(&bytes[bytes.len() - 8..][..4], &3.0f32.to_be_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```compile_fail,E0133
    /// let src = mmarray::Source::open_shared_mut("a.dat");
    /// ```
    ///
    /// # Safety
    ///
    /// The shared-write contract of [Safety of
    /// mappings](crate#safety-of-mappings), as for
    /// [`MappedArray::open_shared_mut`](crate::MappedArray::open_shared_mut):
    /// while a slice from this value lives, no other handle or program
    /// writes the bytes it covers, and while this value writes bytes, no
    /// other handle reads or writes them; no program cuts the file short.
    ///
    /// # Errors
    ///
    /// As [`Source::open`], with [`Error::Busy`] only while an `open_mut`
    /// (exclusive) mapping exists; an I/O error if the file cannot be
    /// opened for writing; [`Error::InvalidArgument`] for a `.npz` member
    /// (writing it would break the archive's checksum).
    pub unsafe fn open_shared_mut(path: impl AsRef<Path>) -> Result<Source<ReadWrite>> {
        // SAFETY: the caller's contract, which covers the other writers the
        // shared map lock lets in.
        unsafe { Source::open_in(path.as_ref(), MapKind::Shared) }
    }
}

impl Source<CopyOnWrite> {
    /// Opens, locks, describes and maps the array at `path` copy-on-write,
    /// whatever its element type, byte order or alignment: the bytes of
    /// numpy's `np.memmap(path, dtype, mode="c")`. Writes through
    /// [`as_bytes_mut`](Self::as_bytes_mut) change this process's copy of
    /// the pages, never the file. It coexists with readers and shared
    /// writers, as [`MappedArray::open_copy`](crate::MappedArray::open_copy).
    ///
    /// ```
    /// use mmarray::{ByteOrder, CreateOptions, Source};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npy");
    /// CreateOptions::new().byte_order(ByteOrder::Big).write(&path, &ndarray::array![1u16, 2])?;
    /// let before = std::fs::read(&path)?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// let mut src = unsafe { Source::open_copy(&path)? };
    /// src.as_bytes_mut().fill(0xff);
    /// assert_eq!(src.as_bytes(), &[0xff; 4]);
    /// drop(src);
    /// assert_eq!(std::fs::read(&path)?, before);  // the file is untouched
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```compile_fail,E0133
    /// let src = mmarray::Source::open_copy("a.dat");
    /// ```
    ///
    /// # Safety
    ///
    /// As [`Source::open`]: a page not yet written through the copy is the
    /// file's page, so changes to the file show through it (see [Safety of
    /// mappings](crate#safety-of-mappings)).
    ///
    /// # Errors
    ///
    /// As [`Source::open`].
    pub unsafe fn open_copy(path: impl AsRef<Path>) -> Result<Source<CopyOnWrite>> {
        // SAFETY: the caller's contract.
        unsafe { Source::open_in(path.as_ref(), MapKind::Shared) }
    }
}

impl<M: Mode> Source<M> {
    /// Opens, locks, describes and maps the array at `path` in mode `M`
    /// (see [`open_source`]), holding the map lock as `kind`.
    ///
    /// # Safety
    ///
    /// The contract of [Safety of mappings](crate#safety-of-mappings) for
    /// mode `M` (and for the shared-write open when `kind` is shared and
    /// `M` writes the file).
    pub(crate) unsafe fn open_in(path: &Path, kind: MapKind) -> Result<Source<M>> {
        let (info, lock) = open_source(path, M::WRITES_FILE)?;
        // SAFETY: passed on to the caller.
        unsafe { Source::map(info, lock, kind) }
    }

    /// Path, format, layout and attrs.
    pub fn info(&self) -> &ArrayInfo {
        &self.info
    }

    /// The array's bytes as stored (in the file's byte order and memory
    /// order).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    /// Maps the array `info` describes in the file `lock` holds, after
    /// taking the map lock as `kind` ([`Error::Busy`] on a conflict).
    ///
    /// # Safety
    ///
    /// As [`open_in`](Self::open_in).
    pub(crate) unsafe fn map(
        info: ArrayInfo,
        lock: SharedLock,
        kind: MapKind,
    ) -> Result<Source<M>> {
        let map_lock = MapLock::try_new(lock.file(), &info.path, kind)?;
        // SAFETY: the caller's contract; mmarray's own handles keep it, as
        // the map lock just taken excludes every mapping that conflicts.
        let map = unsafe { mapping::map_layout::<M>(&lock, &info.path, &info.layout)? };
        Ok(Source {
            map,
            lock,
            _map_lock: map_lock,
            owner: Owner::current(),
            info,
        })
    }

    /// The array's bytes, in memory order.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map[..self.info.layout.nbytes()]
    }
}

impl<M: Writable> Source<M> {
    /// The array's bytes, in memory order, mutable.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        let nbytes = self.info.layout.nbytes();
        &mut self.map[..nbytes]
    }

    /// The array's bytes as stored (in the file's byte order and memory
    /// order), mutable: for [`ReadWrite`] writes to the file, for
    /// [`CopyOnWrite`] to this process's copy. See
    /// [`open_shared_mut`](Source::open_shared_mut) and
    /// [`open_copy`](Source::open_copy) for examples.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.bytes_mut()
    }

    /// Writes the changed pages to the file and waits (`msync`), as
    /// numpy's `memmap.flush()`; does nothing for a [`CopyOnWrite`]
    /// mapping, which never writes the file.
    ///
    /// # Errors
    ///
    /// An I/O error from the operating system.
    pub fn flush(&self) -> Result<()> {
        mapping::flush::<M>(&self.map).at(&self.info.path, "flushing the mapping")
    }
}

/// Reads an array's description (sidecar or `.npy` header) without mapping
/// it, and checks that the data file is long enough.
///
/// `path` may be a `.npy` file, a raw data file, or a sidecar.
///
/// # Errors
///
/// As [`MappedArray::open`](crate::MappedArray::open), except those about
/// the Rust element type.
pub fn inspect(path: impl AsRef<Path>) -> Result<ArrayInfo> {
    open_unmapped(path.as_ref()).map(|(info, _lock)| info)
}

/// Opens, locks and describes the array at `path` without mapping it,
/// and checks that the data file holds all of the array's bytes: what
/// [`inspect`] and a [`Scan`](crate::Scan) start with.
pub(crate) fn open_unmapped(path: &Path) -> Result<(ArrayInfo, SharedLock)> {
    let (info, lock) = open_source(path, false)?;
    let len = lock
        .file()
        .metadata()
        .at(&info.path, "reading the data file's metadata")?
        .len();
    info.layout.check_fits(&info.path, len)?;
    Ok((info, lock))
}

/// How long [`open_source`] keeps starting over when the path turns out to
/// name another file than the one it opened and locked. Each start over
/// follows a replacement that finished (the lock it waited for is
/// released when the new array is complete), so only a path replaced
/// back to back for this long makes an open fail.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves `path`, opens the data file (for writing if `write`), takes its
/// shared lock (waiting while a cooperating process holds the exclusive
/// lock to create, shrink, replace or remove it), and reads the array's
/// description. The returned handle holds the shared lock.
pub(crate) fn open_source(path: &Path, write: bool) -> Result<(ArrayInfo, SharedLock)> {
    if let Some((archive, member)) = format::npz_member(path)
        && archive.is_file()
    {
        return open_npz_member(archive, member, write);
    }
    // A sidecar given directly: `x.dat.json` with no `x.dat.json.json`.
    let (data_path, sidecar) = match sidecar::data_path_for(path) {
        Some(data_path) if !sidecar::sidecar_path(path).exists() => {
            (data_path, Some(path.to_path_buf()))
        }
        _ => (path.to_path_buf(), None),
    };
    let started = std::time::Instant::now();
    let mut attempts = 0u64;
    while attempts == 0 || started.elapsed() < OPEN_PATIENCE {
        attempts += 1;
        let lock = SharedLock::wait(fsutil::open_data_file(&data_path, write)?, &data_path)?;
        // Replaced (or removed) between being opened and being locked, as
        // `overwrite(true)` and `Store::remove` do under the exclusive lock
        // this waited for: the sidecar now describes another file.
        if !still_at(&data_path, lock.file())? {
            continue;
        }
        if let Some(sidecar) = sidecar {
            let described = read_sidecar(&sidecar)?;
            return Ok((raw_info(data_path, sidecar, described), lock));
        }
        let info = describe(path, lock.file())?;
        return Ok((info, lock));
    }
    Err(Error::io(
        &data_path,
        "opening the data file",
        std::io::Error::other(format!(
            "the path was replaced by another file {attempts} times in {OPEN_PATIENCE:?} while it was being opened"
        )),
    ))
}

/// Opens the `.npz` archive at `archive` under its shared lock and
/// describes its stored member `member`: a layout whose offset is where the
/// member's elements lie in the archive, so the member maps in place.
fn open_npz_member(archive: &Path, member: &str, write: bool) -> Result<(ArrayInfo, SharedLock)> {
    if write {
        return Err(Error::InvalidArgument {
            path: archive.to_path_buf(),
            message: format!(
                "member {member:?} of a .npz archive can be opened read-only or copy-on-write only: writing in place would break the archive's checksum"
            ),
        });
    }
    let npz = Npz::open(archive)?;
    let layout = npz.member(member)?.stored_layout(&npz.path)?.clone();
    // A duplicate of the archive's handle shares its lock; the whole-file
    // mapping made to read the directory goes with `npz`.
    let lock = npz.lock.duplicate(&npz.path)?;
    let info = ArrayInfo {
        path: npz.path.clone(),
        sidecar: None,
        format: Format::Npz,
        layout,
        attrs: Attrs::new(),
        member: Some(member.to_owned()),
    };
    Ok((info, lock))
}

/// Whether `path` still names the open `file` (the same inode).
#[cfg(unix)]
fn still_at(path: &Path, file: &File) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let ours = file
        .metadata()
        .at(path, "reading the data file's metadata")?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == ours.dev() && now.ino() == ours.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, "reading the data file's metadata", e)),
    }
}

/// Without inode numbers, trust the handle: the length check before
/// mapping still holds.
#[cfg(not(unix))]
fn still_at(_path: &Path, _file: &File) -> Result<bool> {
    Ok(true)
}

/// Whether the open file `file` (at `path`) starts with the `.npy` magic.
/// Reads from the start of the file, whatever its position.
pub(crate) fn is_npy(path: &Path, mut file: &File) -> Result<bool> {
    file.seek(SeekFrom::Start(0))
        .at(path, "reading the data file")?;
    let mut magic = Vec::with_capacity(npy::MAGIC.len());
    file.take(npy::MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .at(path, "reading the data file")?;
    Ok(npy::has_magic(&magic))
}

/// Whether the open file `file` (at `path`) starts like a ZIP archive (a
/// `.npz` file).
pub(crate) fn starts_like_zip(path: &Path, mut file: &File) -> Result<bool> {
    file.seek(SeekFrom::Start(0))
        .at(path, "reading the data file")?;
    let mut magic = Vec::with_capacity(4);
    file.take(4)
        .read_to_end(&mut magic)
        .at(path, "reading the data file")?;
    Ok(format::has_zip_magic(&magic))
}

/// Reads and parses the header of the `.npy` file `file` (at `path`):
/// the preamble first, then exactly the header it announces (bounded).
fn read_npy_header(path: &Path, mut file: &File) -> Result<Layout> {
    file.seek(SeekFrom::Start(0))
        .at(path, "reading the .npy header")?;
    let mut bytes = Vec::with_capacity(128);
    (&mut file)
        .take(npy::PREAMBLE_LEN as u64)
        .read_to_end(&mut bytes)
        .at(path, "reading the .npy header")?;
    let (start, len) = npy::parse_preamble(path, &bytes)?;
    // Bounded: `parse_preamble` caps `len` at MAX_HEADER_LEN.
    let missing = (start + len).saturating_sub(bytes.len());
    file.take(missing as u64)
        .read_to_end(&mut bytes)
        .at(path, "reading the .npy header")?;
    npy::parse_header(path, &bytes)
}

/// Reads and validates the sidecar at `path` (at most
/// [`sidecar::MAX_SIDECAR_BYTES`]).
pub(crate) fn read_sidecar(path: &Path) -> Result<Sidecar> {
    let bytes =
        fsutil::read_bounded(path, sidecar::MAX_SIDECAR_BYTES, &fsutil::SIDECAR).map_err(|e| {
            match e {
                Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    Error::SidecarMissing {
                        path: sidecar::data_path_for(path).unwrap_or_else(|| path.to_path_buf()),
                        sidecar: path.to_path_buf(),
                    }
                }
                e => e,
            }
        })?;
    sidecar::parse(path, &bytes)
}

/// How a rewritten sidecar must survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// fsynced, with its directory: survives a machine crash.
    Durable,
    /// Atomic for every process, not synced (`publish`).
    Atomic,
}

/// Writes the sidecar for `layout` and `attrs` to `path` atomically
/// (temporary file, rename), synced as `durability` says.
pub(crate) fn write_sidecar(
    path: &Path,
    layout: &Layout,
    attrs: &Attrs,
    durability: Durability,
) -> Result<()> {
    let json = Sidecar::to_json(layout, attrs);
    match durability {
        Durability::Durable => fsutil::write_atomic(path, json.as_bytes()),
        Durability::Atomic => fsutil::write_atomic_unsynced(path, json.as_bytes()),
    }
}

/// Reads the description of the data file `file` opened at `path`: its
/// `.npy` header, or its sidecar.
fn describe(path: &Path, file: &File) -> Result<ArrayInfo> {
    if is_npy(path, file)? {
        let layout = read_npy_header(path, file)?;
        let info = ArrayInfo {
            path: path.to_path_buf(),
            sidecar: None,
            format: Format::Npy,
            layout,
            attrs: Attrs::new(),
            member: None,
        };
        return Ok(info);
    }
    let sidecar_path = sidecar::sidecar_path(path);
    if format_for_path(path) == Format::Npy && !sidecar_path.exists() {
        // Named like a .npy file, with no sidecar: the likely problem is the
        // content, so say that rather than ask for a sidecar.
        return Err(npy::missing_magic(path));
    }
    match read_sidecar(&sidecar_path) {
        Ok(sidecar) => Ok(raw_info(path.to_path_buf(), sidecar_path, sidecar)),
        // No sidecar, and the file is a ZIP archive: a `.npz` opened whole.
        Err(Error::SidecarMissing { .. }) if starts_like_zip(path, file)? => {
            Err(Error::InvalidArgument {
                path: path.to_path_buf(),
                message: "is a .npz archive, not one array; name a member as ARCHIVE.npz/NAME (mmarray::Npz lists them)".into(),
            })
        }
        Err(e) => Err(e),
    }
}

fn raw_info(path: PathBuf, sidecar_path: PathBuf, sidecar: Sidecar) -> ArrayInfo {
    ArrayInfo {
        path,
        sidecar: Some(sidecar_path),
        format: Format::Raw,
        layout: sidecar.layout,
        attrs: sidecar.attrs,
        member: None,
    }
}
