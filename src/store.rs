//! A directory of named arrays.
//!
//! A [`Store`] is a directory with a small marker file,
//! `mmarray-store.json` (`{"version": 1, "attrs": {}}`, store-level user
//! metadata), and arrays stored as ordinary files that numpy can open
//! directly: `<name>.dat` with its sidecar `<name>.dat.json`, or
//! `<name>.npy`.
//!
//! Names are checked before any file is touched (see [`validate_name`]):
//! nothing is ever created, renamed or deleted outside the store's
//! directory, whatever the name. Names are the store's, not file names:
//! the store adds `.dat` or `.npy` itself, so names ending in a suffix it
//! adds are refused.
//!
//! [`Store::list`] reads every array's description; an array whose
//! sidecar or header is broken is listed with its error ([`Entry`]), so a
//! damaged file never hides the others. Removing an array takes its file's
//! exclusive lock first and fails with [`Error::Busy`] while any process
//! maps it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::array::MappedArray;
use crate::create::CreateOptions;
use crate::dtype::Element;
use crate::dynamic::DynArray;
use crate::error::{Error, IoContext, RENAMED, Result};
use crate::format::{self, Format};
use crate::fsutil;
use crate::layout::Layout;
use crate::lock::{ExclusiveLock, WriterClaim};
use crate::mapping::{CopyOnWrite, Mode, ReadOnly, ReadWrite};
use crate::shard::ShardedArray;
use crate::sidecar::{self, Attrs};
use crate::source::{self, ArrayInfo};

/// The marker file that makes a directory a store.
pub const STORE_FILE: &str = "mmarray-store.json";

/// The longest array name: 255 bytes (the usual file-name limit) less the
/// longest suffix a store adds, `.dat.json`.
pub const MAX_NAME_BYTES: usize = 255 - ".dat.json".len();

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    version: u64,
    #[serde(default)]
    attrs: Attrs,
}

/// A directory of named arrays.
///
/// ```
/// use mmarray::Store;
///
/// let dir = tempfile::tempdir()?;
/// let store = Store::create(dir.path().join("runs"))?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let mut loss = unsafe { store.create_array::<f32>("loss", &[100]) }?;
/// loss.view_mut()[0] = 0.5;
/// drop(loss);
///
/// let names: Vec<String> = store.list()?.into_iter().map(|e| e.name().to_string()).collect();
/// assert_eq!(names, ["loss"]);
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// assert_eq!(unsafe { store.open_array::<f32>("loss") }?.view()[0], 0.5);
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// assert!(unsafe { store.create_array::<f32>("../escape", &[1]) }.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    attrs: Attrs,
}

/// One array of a store, as [`Store::list`] reports it: its name and data
/// file, and its description or, for an array whose sidecar or header is
/// broken, the error opening it would give.
///
/// ```
/// use mmarray::{Error, Store};
///
/// let dir = tempfile::tempdir()?;
/// let store = Store::create(dir.path().join("runs"))?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// drop(unsafe { store.create_array::<f32>("loss", &[100]) }?);
/// std::fs::write(store.path().join("broken.dat"), [0u8; 8])?;
/// std::fs::write(store.path().join("broken.dat.json"), "{not json")?;
///
/// let entries = store.list()?;                       // both, in name order
/// assert_eq!(entries[0].name(), "broken");
/// assert!(matches!(entries[0].error(), Some(Error::MalformedSidecar { .. })));
/// assert_eq!(entries[1].layout().expect("sound").shape(), &[100]); // the others as usual
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Entry {
    name: String,
    path: PathBuf,
    info: Result<ArrayInfo>,
}

impl Entry {
    /// The array's name in the store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The array's data file: `<name>.dat` (with its sidecar
    /// `<name>.dat.json`) or `<name>.npy`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path, format, layout and attrs, or the error reading them (a broken
    /// or unreadable sidecar or header, a data file too short for it, ...).
    /// Borrowed; [`into_info`](Self::into_info) gives an owned `Result` for
    /// `?`.
    ///
    /// # Errors
    ///
    /// The error [`Store::open_array`] would give for this array, as far as
    /// reading its description and checking its file's length find it.
    pub fn info(&self) -> std::result::Result<&ArrayInfo, &Error> {
        self.info.as_ref()
    }

    /// Dtype, shape, order, offset and sizes.
    ///
    /// # Errors
    ///
    /// As [`info`](Self::info).
    pub fn layout(&self) -> std::result::Result<&Layout, &Error> {
        self.info().map(ArrayInfo::layout)
    }

    /// The error reading this array's description, if it is broken.
    pub fn error(&self) -> Option<&Error> {
        self.info.as_ref().err()
    }

    /// The description, by value.
    ///
    /// # Errors
    ///
    /// As [`info`](Self::info).
    pub fn into_info(self) -> Result<ArrayInfo> {
        self.info
    }
}

impl Store {
    /// Makes `dir` (and missing parents) a new store.
    ///
    /// ```
    /// use mmarray::{Error, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// Store::create(dir.path().join("runs"))?;
    /// let err = Store::create(dir.path().join("runs")).unwrap_err();
    /// assert!(matches!(err, Error::StoreExists { .. }));
    /// let store = Store::open(dir.path().join("runs"))?; // what the message advises
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::StoreExists`] if `dir` is a store already; I/O errors.
    pub fn create(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).at(dir, "creating the store directory")?;
        let marker = dir.join(STORE_FILE);
        if marker.exists() {
            return Err(Error::StoreExists {
                path: dir.to_path_buf(),
            });
        }
        let store = Store {
            dir: dir.to_path_buf(),
            attrs: Attrs::new(),
        };
        store.write_marker(&Attrs::new())?;
        Ok(store)
    }

    /// Opens the store at `dir`.
    ///
    /// # Errors
    ///
    /// An I/O error (not found) if `dir` has no `mmarray-store.json`;
    /// [`Error::MalformedSidecar`] or [`Error::UnsupportedVersion`] if that
    /// file is not a version 1 store file.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        let marker = dir.join(STORE_FILE);
        let bytes = fsutil::read_bounded(
            &marker,
            sidecar::MAX_SIDECAR_BYTES,
            &fsutil::Metadata {
                what: "the store file",
                opening: "opening the file",
                reading: "reading the file",
            },
        )?;
        let file: StoreFile =
            serde_json::from_slice(&bytes).map_err(|e| Error::MalformedSidecar {
                path: marker.clone(),
                message: e.to_string(),
            })?;
        if file.version != 1 {
            return Err(Error::UnsupportedVersion {
                path: marker,
                found: file.version,
                supported: 1,
            });
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            attrs: file.attrs,
        })
    }

    /// Whether `dir` is a store: a directory holding [`STORE_FILE`]. Says
    /// nothing about whether that file is valid ([`Store::open`] checks).
    ///
    /// ```
    /// use mmarray::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// assert!(!Store::is_store(dir.path()));
    /// Store::create(dir.path().join("runs"))?;
    /// assert!(Store::is_store(dir.path().join("runs")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_store(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(STORE_FILE).is_file()
    }

    /// The data file that `path` names when it is `DIR/NAME`, with `DIR` a
    /// store and `NAME` one of its arrays: `Some(DIR/NAME.dat)` or
    /// `Some(DIR/NAME.npy)`. This is how a tool that takes file paths also
    /// takes a store's arrays.
    ///
    /// `None`, meaning "open `path` as it is", when `path` exists (a file,
    /// a directory or a link: a path that names a file is that file, inside
    /// a store too, so `DIR/NAME.npy` is itself) or when its parent is not a
    /// store. A bare `NAME` has the current directory as its parent.
    ///
    /// ```
    /// use mmarray::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let runs = dir.path().join("runs");
    /// let store = Store::create(&runs)?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// drop(unsafe { store.create_array::<f32>("loss", &[10]) }?);
    ///
    /// assert_eq!(Store::resolve(runs.join("loss"))?, Some(runs.join("loss.dat")));
    /// // Existing files are themselves; paths outside a store are not resolved.
    /// assert_eq!(Store::resolve(runs.join("loss.dat"))?, None);
    /// assert_eq!(Store::resolve(dir.path().join("elsewhere"))?, None);
    /// // In a store, a name it does not hold is an error.
    /// assert!(Store::resolve(runs.join("missing")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `DIR` is a store: an I/O error (not found) if it holds no array
    /// `NAME`, [`Error::InvalidName`] for a name no array can have, and the
    /// errors of [`Store::open`].
    pub fn resolve(path: impl AsRef<Path>) -> Result<Option<PathBuf>> {
        let path = path.as_ref();
        if fs::symlink_metadata(path).is_ok() {
            return Ok(None);
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(None);
        };
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let Some(name) = name.to_str() else {
            // Not UTF-8: no array has this name.
            return Ok(None);
        };
        if has_store_suffix(name) {
            // `DIR/NAME.npy`, `DIR/NAME.dat` that do not exist: a file's
            // name, not an array's; opening it says it is not found.
            return Ok(None);
        }
        if !Store::is_store(dir) {
            return Ok(None);
        }
        Store::open(dir)?.existing(name).map(Some)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Store-level user metadata.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// Replaces the store-level metadata (written atomically).
    ///
    /// # Errors
    ///
    /// I/O errors writing `mmarray-store.json`.
    pub fn set_attrs(&mut self, attrs: Attrs) -> Result<()> {
        self.write_marker(&attrs)?;
        self.attrs = attrs;
        Ok(())
    }

    /// Creates a zero-filled raw array `name` of `shape`, mapped read-write.
    ///
    /// # Safety
    ///
    /// As [`CreateOptions::create`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::AlreadyExists`], and as
    /// [`CreateOptions::create`].
    pub unsafe fn create_array<T: Element>(
        &self,
        name: &str,
        shape: &[usize],
    ) -> Result<MappedArray<T, ReadWrite>> {
        // SAFETY: the caller's contract.
        unsafe { self.create_array_with(name, shape, &CreateOptions::new()) }
    }

    /// Like [`create_array`](Self::create_array), with options; `options.format(Format::Npy)`
    /// stores the array as `<name>.npy`.
    ///
    /// # Safety
    ///
    /// As [`CreateOptions::create`].
    ///
    /// # Errors
    ///
    /// As [`create_array`](Self::create_array). An array of that name in the other
    /// format also counts as existing.
    pub unsafe fn create_array_with<T: Element>(
        &self,
        name: &str,
        shape: &[usize],
        options: &CreateOptions,
    ) -> Result<MappedArray<T, ReadWrite>> {
        let format = options.format_or(Format::Raw);
        let path = self.file_for(name, format)?;
        if !options.overwrites()
            && let Some(existing) = self.find(name)?
        {
            return Err(Error::AlreadyExists { path: existing });
        }
        let mut options = options.clone();
        options.format(format);
        // SAFETY: the caller's contract.
        unsafe { options.create(path, shape) }
    }

    /// Maps array `name` read-only.
    ///
    /// ```compile_fail,E0133
    /// # fn f(store: &mmarray::Store) {
    /// let a = store.open_array::<f32>("x");
    /// # }
    /// ```
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; an I/O error (not found) if there is no such
    /// array; as [`MappedArray::open`].
    pub unsafe fn open_array<T: Element>(&self, name: &str) -> Result<MappedArray<T, ReadOnly>> {
        // SAFETY: the caller's contract.
        unsafe { self.open_array_in::<T, ReadOnly>(name) }
    }

    /// Maps array `name` read-write.
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open_mut`].
    ///
    /// # Errors
    ///
    /// As [`open_array`](Self::open_array).
    pub unsafe fn open_array_mut<T: Element>(
        &self,
        name: &str,
    ) -> Result<MappedArray<T, ReadWrite>> {
        // SAFETY: the caller's contract.
        unsafe { self.open_array_in::<T, ReadWrite>(name) }
    }

    /// Maps array `name` copy-on-write.
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open_copy`].
    ///
    /// # Errors
    ///
    /// As [`open_array`](Self::open_array).
    pub unsafe fn open_array_copy<T: Element>(
        &self,
        name: &str,
    ) -> Result<MappedArray<T, CopyOnWrite>> {
        // SAFETY: the caller's contract.
        unsafe { self.open_array_in::<T, CopyOnWrite>(name) }
    }

    /// Maps array `name` in mode `M`.
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open_in`].
    ///
    /// # Errors
    ///
    /// As [`open_array`](Self::open_array).
    pub unsafe fn open_array_in<T: Element, M: Mode>(
        &self,
        name: &str,
    ) -> Result<MappedArray<T, M>> {
        let path = self.existing(name)?;
        // SAFETY: the caller's contract.
        unsafe { MappedArray::open_in(path) }
    }

    /// Maps array `name` read-only as whatever element type it holds.
    ///
    /// # Safety
    ///
    /// As [`MappedArray::open`].
    ///
    /// # Errors
    ///
    /// As [`open_array`](Self::open_array).
    pub unsafe fn open_array_dyn(&self, name: &str) -> Result<DynArray> {
        let path = self.existing(name)?;
        // SAFETY: the caller's contract.
        unsafe { DynArray::open(path) }
    }

    /// The arrays whose names start with `prefix`, in name order, as one
    /// read-only array concatenated along axis 0 (zero-pad numbers in shard
    /// names, `part-0001`, so that name order is the intended order).
    ///
    /// # Safety
    ///
    /// As [`ShardedArray::open`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if no array matches; as
    /// [`ShardedArray::open`].
    pub unsafe fn open_sharded<T: Element>(&self, prefix: &str) -> Result<ShardedArray<T>> {
        // A broken shard fails the whole open with its error; broken
        // arrays of other names are no concern of this one.
        let paths = self
            .list()?
            .into_iter()
            .filter(|e| e.name.starts_with(prefix))
            .map(|e| e.into_info().map(|info| info.path))
            .collect::<Result<Vec<PathBuf>>>()?;
        if paths.is_empty() {
            return Err(Error::InvalidArgument {
                path: self.dir.clone(),
                message: format!("no arrays named {prefix:?}... in the store"),
            });
        }
        // SAFETY: the caller's contract.
        unsafe { ShardedArray::open(paths) }
    }

    /// Whether an array `name` exists (false for invalid names).
    pub fn contains(&self, name: &str) -> bool {
        matches!(self.find(name), Ok(Some(_)))
    }

    /// Every array in the store, sorted by name, each with its dtype, shape,
    /// order and size, or with the error that reading its description
    /// gave: one broken array (a malformed sidecar, a truncated data file)
    /// does not hide the others. Hidden files, the store file and data
    /// files without a sidecar are not arrays; a file whose name gives an
    /// array name the store refuses ([`validate_name`], such as
    /// `weights.dat.dat.json`, written by hand or by an older version) is
    /// listed with that [`Error::InvalidName`].
    ///
    /// ```
    /// use mmarray::Store;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::create(dir.path().join("runs"))?;
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// drop(unsafe { store.create_array::<u8>("b", &[2]) }?);
    /// // SAFETY: the example's own file; nothing else changes it while mapped.
    /// drop(unsafe { store.create_array::<u8>("a", &[3]) }?);
    /// let names: Vec<String> = store.list()?.iter().map(|e| e.name().to_owned()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// I/O errors reading the directory itself. Errors of one array are in
    /// its [`Entry`].
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for item in fs::read_dir(&self.dir).at(&self.dir, "reading the store directory")? {
            let item = item.at(&self.dir, "reading the store directory")?;
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if file_name.starts_with('.') || file_name == STORE_FILE {
                continue;
            }
            let (name, path) = if let Some(name) = file_name.strip_suffix(".dat.json") {
                (name, self.dir.join(format!("{name}.dat")))
            } else if let Some(name) = file_name.strip_suffix(".npy") {
                (name, item.path())
            } else {
                continue;
            };
            let info = validate_name(&self.dir, name).and_then(|()| source::inspect(&path));
            entries.push(Entry {
                name: name.to_owned(),
                path,
                info,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Deletes array `name`: its data file and sidecar.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; not found; [`Error::Busy`] while any process
    /// maps it (nothing is deleted then).
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.existing(name)?;
        // Held until both files are gone: nobody can map it meanwhile.
        let _lock = ExclusiveLock::try_existing(&path, "removed")?;
        if format::format_for_path(&path) == Format::Npy {
            fs::remove_file(&path).at(&path, "removing the array")?;
        } else {
            // Sidecar first: an interrupted removal leaves a data file the
            // store does not list, never a sidecar without data.
            fsutil::remove_if_exists(&sidecar::sidecar_path(&path))?;
            fsutil::remove_if_exists(&path)?;
        }
        fsutil::sync_dir(&self.dir)
    }

    /// Renames array `from` to `to`. Mappings of it stay valid. Refused
    /// while a handle appends to it ([`Error::Busy`]): the appender would
    /// record its new length under the old name.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for either name; not found;
    /// [`Error::NameTaken`] if the store has an array `to` (renaming never
    /// replaces one); [`Error::Busy`] (action `"renamed"`) while another
    /// handle holds the array's writer claim.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let old = self.existing(from)?;
        // Held until the rename is done: no appender can start meanwhile.
        let _claim = WriterClaim::try_existing(&old, RENAMED)?;
        validate_name(&self.dir, to)?;
        if let Some(existing) = self.find(to)? {
            return Err(Error::NameTaken {
                path: existing,
                name: to.to_string(),
            });
        }
        if format::format_for_path(&old) == Format::Npy {
            let new = self.file_for(to, Format::Npy)?;
            fs::rename(&old, &new).at(&new, "renaming the array")?;
        } else {
            let new = self.file_for(to, Format::Raw)?;
            // New sidecar, then the data, then the old sidecar: every crash
            // leaves `from` or `to` (or both) openable.
            let old_sidecar = sidecar::sidecar_path(&old);
            let contents =
                fsutil::read_bounded(&old_sidecar, sidecar::MAX_SIDECAR_BYTES, &fsutil::SIDECAR)?;
            fsutil::write_atomic(&sidecar::sidecar_path(&new), &contents)?;
            fs::rename(&old, &new).at(&new, "renaming the array")?;
            fsutil::remove_if_exists(&old_sidecar)?;
        }
        fsutil::sync_dir(&self.dir)
    }

    fn write_marker(&self, attrs: &Attrs) -> Result<()> {
        let marker = self.dir.join(STORE_FILE);
        let mut json = serde_json::to_vec(&serde_json::json!({"version": 1, "attrs": attrs}))
            .map_err(|e| Error::io(&marker, "encoding the store file", std::io::Error::other(e)))?;
        json.push(b'\n');
        fsutil::write_atomic(&marker, &json)
    }

    /// The data file array `name` would have in `format`.
    fn file_for(&self, name: &str, format: Format) -> Result<PathBuf> {
        validate_name(&self.dir, name)?;
        Ok(match format {
            Format::Npy => self.dir.join(format!("{name}.npy")),
            Format::Raw | Format::Npz => self.dir.join(format!("{name}.dat")),
        })
    }

    /// The data file of array `name`, if it exists in either format.
    fn find(&self, name: &str) -> Result<Option<PathBuf>> {
        for format in [Format::Npy, Format::Raw] {
            let path = self.file_for(name, format)?;
            let exists = match format {
                Format::Npy => path.exists(),
                Format::Raw | Format::Npz => path.exists() || sidecar::sidecar_path(&path).exists(),
            };
            if exists {
                return Ok(Some(path));
            }
        }
        Ok(None)
    }

    /// The data file of array `name`, which must exist.
    fn existing(&self, name: &str) -> Result<PathBuf> {
        match self.find(name)? {
            Some(path) => Ok(path),
            None => Err(Error::io(
                &self.dir.join(name),
                "finding the array in the store",
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no array named {name:?}"),
                ),
            )),
        }
    }
}

/// Checks that `name` is safe as an array name in the store at `dir`: not
/// empty, at most [`MAX_NAME_BYTES`] bytes, no `/` or `\`, not `.` or `..`,
/// no leading dot (hidden and temporary files), no NUL or other control
/// characters, and not ending in one of the suffixes the store adds
/// (`.dat`, `.json`, `.npy`, in any case): the store names the files
/// itself, so `"weights.dat"` would be stored as `weights.dat.dat` and
/// listed under a name that looks like a file. Name the array `"weights"`.
///
/// ```
/// use std::path::Path;
/// use mmarray::store::validate_name;
///
/// assert!(validate_name(Path::new("s"), "train-0001").is_ok());
/// assert!(validate_name(Path::new("s"), "v1.2").is_ok());
/// for bad in ["", ".", "..", "../x", "a/b", ".hidden", "nul\0", "tab\t", "weights.dat", "x.npy", "x.JSON"] {
///     assert!(validate_name(Path::new("s"), bad).is_err(), "{bad:?}");
/// }
/// ```
///
/// # Errors
///
/// [`Error::InvalidName`] naming the rule broken.
pub fn validate_name(dir: &Path, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "names must not be empty"
    } else if name.len() > MAX_NAME_BYTES {
        "names must be at most 246 bytes (the 255-byte file-name limit less the '.dat.json' suffix)"
    } else if name == "." || name == ".." {
        "'.' and '..' are not names"
    } else if name.contains(['/', '\\']) {
        "names must not contain path separators"
    } else if name.starts_with('.') {
        "names must not start with a dot (hidden and temporary files)"
    } else if name.chars().any(char::is_control) {
        "names must not contain NUL or control characters"
    } else if has_store_suffix(name) {
        "names must not end in .dat, .json or .npy: the store adds the file's suffix itself (name the array \"weights\", and it is stored as weights.dat)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        path: dir.to_path_buf(),
        name: name.to_owned(),
        reason,
    })
}

/// Whether `name` ends in a suffix the store gives its files (any case).
fn has_store_suffix(name: &str) -> bool {
    let bytes = name.as_bytes();
    [".dat", ".json", ".npy"].iter().any(|suffix| {
        bytes.len() >= suffix.len()
            && bytes[bytes.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    })
}
