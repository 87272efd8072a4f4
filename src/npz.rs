//! numpy `.npz` archives, opened: every member stored uncompressed
//! (`np.savez`) maps in place, with no copy; a compressed one
//! (`np.savez_compressed`) is read into memory.
//!
//! numpy's own `np.load("x.npz", mmap_mode="r")` ignores `mmap_mode` and
//! reads every member it is asked for (numpy issue 5976). mmarray maps the
//! archive once to read its central directory ([`format::npz`] parses and
//! checks it), and then a member is an array like any other, named by the
//! path `x.npz/name` (a `.npz` is a file, so such a path cannot be
//! ambiguous): [`MappedArray::open`](crate::MappedArray::open),
//! [`DynArray::open`](crate::DynArray::open), [`Stats::of_path`](crate::Stats::of_path),
//! [`inspect`](crate::inspect) and [`read_array`](crate::read_array) all take
//! it, and so does the CLI.
//!
//! ```
//! use mmarray::format::npz::NpzWriter;
//! use mmarray::{DType, ElementType, MappedArray, Npz, Order};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("runs.npz");
//! let mut w = NpzWriter::new(&path, std::fs::File::create(&path)?);
//! let bytes: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|x| x.to_ne_bytes()).collect();
//! w.add("loss", DType::native(ElementType::F32), &[2], Order::C, &bytes)?;
//! w.finish()?;
//!
//! let npz = Npz::open(&path)?;
//! let members = npz.members()?;
//! assert_eq!(members[0].name(), "loss");
//! assert_eq!(members[0].layout().shape(), &[2]);
//! // SAFETY: the example's own file; nothing else changes it while mapped.
//! let loss = unsafe { MappedArray::<f32>::open(npz.member_path("loss")?) }?; // zero-copy
//! assert_eq!(loss.as_slice(), &[1.5, 2.5]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Alignment.** A view of `f32` or `f64` elements needs them at an address
//! that is a multiple of 4 or 8; `np.savez` does not align members, so most
//! of its wider members start at odd offsets and a typed view of them is
//! refused with [`Error::MisalignedOffset`]. [`Stats`](crate::Stats) and
//! [`read_array`](crate::read_array) read such members all the same (by
//! decoding), and archives written by [`NpzWriter`](format::npz::NpzWriter)
//! align every member to 64 bytes, so all of theirs map.
//!
//! [`format::npz`]: crate::format::npz

use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, IoContext, Result};
use crate::format::npz::{Archive, Extracted, Member, NpzWriter};
use crate::fsutil;
use crate::layout::Layout;
use crate::lock::{ExclusiveLock, MapKind, MapLock, SharedLock};
use crate::mapping::{self, ReadOnly};

/// An opened `.npz` archive: its members found and checked, the file held
/// under the shared lock (so no cooperating process replaces or shrinks it
/// while it is open) and mapped read-only.
#[derive(Debug)]
pub struct Npz {
    pub(crate) path: PathBuf,
    pub(crate) lock: SharedLock,
    /// Held as long as the mapping: no writable mapping of the archive.
    _map_lock: MapLock,
    map: Mmap,
    archive: Archive,
}

/// One member of an archive, as [`Npz::members`] lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct NpzMember {
    name: String,
    layout: Layout,
    compressed: bool,
}

impl NpzMember {
    /// The array's name, as `np.load(...).files` lists it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Dtype, shape and order; for a stored member the offset is where its
    /// elements lie in the archive, for a compressed one where they lie in
    /// its inflated `.npy` file.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether the member is deflated (`np.savez_compressed`): read it
    /// with [`read_array`](crate::read_array), it cannot be mapped.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }
}

/// As JSON (what `mmarray info x.npz --json` lists): `name`, `dtype`,
/// `shape`, `order`, `nbytes`, `compressed`.
impl serde::Serialize for NpzMember {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let layout = &self.layout;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("dtype", &layout.dtype().to_string())?;
        map.serialize_entry("shape", layout.shape())?;
        map.serialize_entry("order", layout.order().as_str())?;
        map.serialize_entry("nbytes", &layout.nbytes())?;
        map.serialize_entry("compressed", &self.compressed)?;
        map.end()
    }
}

impl Npz {
    /// Opens the archive at `path` and reads its central directory.
    ///
    /// # Errors
    ///
    /// The errors of [`Archive::parse`] for a broken or hostile archive,
    /// and I/O errors opening and mapping the file (a FIFO or a directory
    /// is refused, as for every array file).
    pub fn open(path: impl AsRef<Path>) -> Result<Npz> {
        let path = path.as_ref();
        let file = fsutil::open_data_file(path, false)?;
        let lock = SharedLock::wait(file, path)?;
        let len = lock
            .file()
            .metadata()
            .at(path, "reading the archive's metadata")?
            .len();
        let len = usize::try_from(len).map_err(|_| Error::MalformedNpz {
            path: path.to_path_buf(),
            message: "larger than the address space".into(),
        })?;
        let map_lock = MapLock::try_new(lock.file(), path, MapKind::Shared)?;
        // SAFETY: the archive is held under the shared lock and the shared
        // map lock: no mmarray handle, in any process, can write, shrink or
        // replace it while `Npz` lives (`.npz` members are never mapped for
        // writing, and a writable mapping of the archive file is refused).
        // No reference into the mapping leaves `Npz`: members are handed out
        // as layouts, and compressed ones as inflated copies. What this does
        // not exclude is a program that ignores the locks rewriting the
        // archive while its directory is parsed here (a parse error or a
        // `SIGBUS`, as for any mapping); reading the directory with `pread`
        // instead is left to the ZIP container's rewrite (issue 24).
        let map = unsafe { mapping::map_bytes::<ReadOnly>(&lock, path, 0, len)? };
        let archive = Archive::parse(path, &map)?;
        Ok(Npz {
            path: path.to_path_buf(),
            lock,
            _map_lock: map_lock,
            map,
            archive,
        })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members in the archive's order, each with its layout (for a
    /// compressed member, only its `.npy` header is inflated to find it).
    ///
    /// # Errors
    ///
    /// [`Error::MalformedNpz`] or a header error for a compressed member
    /// whose header does not inflate or parse.
    pub fn members(&self) -> Result<Vec<NpzMember>> {
        self.archive
            .members()
            .iter()
            .map(|m| {
                let layout = match m.layout() {
                    Some(layout) => layout.clone(),
                    None => m.header_layout(&self.path, &self.map)?,
                };
                Ok(NpzMember {
                    name: m.name().to_owned(),
                    layout,
                    compressed: m.is_compressed(),
                })
            })
            .collect()
    }

    /// The path that names member `name` (`x.npz/name`), for
    /// [`MappedArray::open`](crate::MappedArray::open) and every other
    /// function that takes an array's path.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if there is no such member.
    pub fn member_path(&self, name: &str) -> Result<PathBuf> {
        self.member(name)?;
        Ok(self.path.join(name))
    }

    /// Writes a new archive at `path` (the `np.savez` layout, which
    /// `np.load` reads; every member aligned to 64 bytes, so all map in
    /// place): `build` adds the members to an [`NpzWriter`]. The archive is
    /// written under a temporary name in the same directory, synced, and
    /// renamed into place only once complete, so a failure (in `build`, or
    /// a full disk) leaves nothing at `path`. An existing file is replaced
    /// only with `overwrite`, and never while anyone maps it.
    ///
    /// ```
    /// use mmarray::{DType, ElementType, Npz, Order};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.npz");
    /// Npz::write(&path, false, |w| {
    ///     w.add("x", DType::native(ElementType::U8), &[3], Order::C, &[1, 2, 3])
    /// })?;
    /// assert_eq!(mmarray::read_array::<u8>(path.join("x"))?.as_slice(), Some(&[1u8, 2, 3][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if something is at `path` and `overwrite`
    /// is false; [`Error::Busy`] when replacing a mapped file; what `build`
    /// returns; I/O errors naming `path`.
    ///
    /// [`NpzWriter`]: crate::format::npz::NpzWriter
    pub fn write(
        path: impl AsRef<Path>,
        overwrite: bool,
        build: impl FnOnce(&mut NpzWriter<BufWriter<&File>>) -> Result<()>,
    ) -> Result<()> {
        let path = path.as_ref();
        if !overwrite && fs::symlink_metadata(path).is_ok() {
            return Err(Error::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        if overwrite {
            fsutil::refuse_special(path)?;
        }
        // Held until the new archive is in place: nobody maps the old one.
        let _old = match overwrite {
            true => ExclusiveLock::try_existing(path, "replaced")?,
            false => None,
        };
        let tmp = fsutil::temp_path_for(path);
        let result = (|| {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .at(path, "creating the archive (under a temporary name)")?;
            let mut writer = NpzWriter::new(path, BufWriter::with_capacity(1 << 20, &file));
            build(&mut writer)?;
            writer
                .finish()?
                .into_inner()
                .map_err(|e| Error::io(path, "writing the archive", e.into_error()))?;
            file.sync_all().at(path, "syncing the archive")?;
            fsutil::move_into_place(&tmp, path, overwrite, "renaming the archive into place")
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        fsutil::sync_dir(fsutil::parent_dir(path))
    }

    /// Member `name`, or an error listing the members there are.
    pub(crate) fn member(&self, name: &str) -> Result<&Member> {
        self.archive.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.archive.names().collect();
            Error::InvalidArgument {
                path: self.path.clone(),
                message: format!("no member named {name:?} (members: {names:?})"),
            }
        })
    }

    /// Member `name` inflated (or copied) into memory, its size and CRC-32
    /// checked.
    pub(crate) fn extract(&self, name: &str) -> Result<Extracted> {
        self.member(name)?.extract(&self.path, &self.map)
    }
}
