//! Exporting an array for readers in other languages: [`export_zarr`]
//! writes a zarr v3 array directory whose one chunk is a hard link to the
//! array's data file, so any zarr v3 reader opens the same bytes, with no
//! copy and no mmarray code.
//!
//! A zarr chunk file holds only elements, from its first byte to its last,
//! so a data file qualifies when the elements start at byte 0 and fill the
//! file exactly: a raw file with offset 0 whose length is the array's size.
//! A `.npy` file (elements after a header), a raw file with an offset, a
//! growable array holding spare capacity and a `.npz` member are refused
//! with the reason and the way out (a raw copy made by
//! [`convert`](crate::convert) qualifies). The hard link shares the inode:
//! writes through mmarray are seen by zarr readers, and a later
//! `mmarray zarr --force` or a removal of either name leaves the other.
//!
//! The directory is built under a hidden temporary name beside `out_dir`
//! and renamed into place whole; replacing an existing `out_dir` (only with
//! `overwrite`, and only if it is a zarr array directory or empty) is an
//! atomic exchange on Linux, after which the old directory is removed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::{Format, zarr};
use crate::fsutil;
use crate::source::{self, ArrayInfo};

/// What [`export_zarr`] wrote.
#[derive(Clone, Debug)]
pub struct ZarrExport {
    /// The zarr array directory.
    pub dir: PathBuf,
    /// The chunk file, a hard link to the data file (`None` for an array
    /// with no elements, which zarr reads as its fill value).
    pub chunk: Option<PathBuf>,
    /// The array exported.
    pub info: ArrayInfo,
}

/// Writes `out_dir` as a zarr v3 array over the data file of the array at
/// `path`: `zarr.json` (from the sidecar: attrs as attributes, `"dims"` as
/// dimension names; see [`format::zarr`](crate::format::zarr)) and a single
/// chunk that is a hard link to the data file.
///
/// ```
/// use mmarray::CreateOptions;
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("t.dat");
/// CreateOptions::new().write(&path, &array![[1.0f32, 2.0], [3.0, 4.0]])?;
/// let out = mmarray::export_zarr(&path, dir.path().join("t.zarr"), false)?;
/// assert_eq!(out.chunk.as_deref(), Some(dir.path().join("t.zarr/c/0/0").as_path()));
/// assert_eq!(std::fs::read(out.chunk.unwrap())?, std::fs::read(&path)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidArgument`] when the layout does not allow a chunk file
/// that is the data file (elements not at byte 0, a file longer than the
/// array, a `.npz` member), when `out_dir` holds `path`, or when
/// `out_dir` exists and is not a zarr array directory;
/// [`Error::AlreadyExists`] when `out_dir` exists and `overwrite` is
/// false; an I/O error when the hard link cannot be made (`out_dir` on
/// another file system than the data file); as [`inspect`](crate::inspect).
pub fn export_zarr(
    path: impl AsRef<Path>,
    out_dir: impl AsRef<Path>,
    overwrite: bool,
) -> Result<ZarrExport> {
    let (path, out_dir) = (path.as_ref(), out_dir.as_ref());
    // Held (shared lock) while the link is made: nobody shrinks or replaces
    // the file meanwhile.
    let (info, lock) = source::open_source(path, false)?;
    let data = info.path().to_path_buf();
    let layout = info.layout();
    let refuse = |message: String| Error::InvalidArgument {
        path: path.to_path_buf(),
        message,
    };
    match info.format() {
        Format::Raw => {}
        Format::Npy => {
            return Err(refuse(format!(
                "a .npy file's elements start after its {}-byte header, and a zarr chunk file \
                 holds elements only; write a raw copy (mmarray::convert to a raw name) and \
                 export that",
                layout.offset()
            )));
        }
        _ => {
            return Err(refuse(
                "a .npz member lives inside its archive, which no zarr chunk file can be; \
                 write a raw copy (mmarray::convert) and export that"
                    .into(),
            ));
        }
    }
    if layout.offset() != 0 {
        return Err(refuse(format!(
            "the elements start at byte {} (the sidecar's offset), and a zarr chunk file holds \
             elements only, from byte 0; write a raw copy (mmarray::convert) and export that",
            layout.offset()
        )));
    }
    let file_len = lock
        .file()
        .metadata()
        .at(&data, "reading the data file's metadata")?
        .len();
    if file_len != layout.end() {
        return Err(refuse(format!(
            "the data file is {file_len} bytes long but the array takes {}: a zarr chunk file \
             must be exactly the array (a grown array keeps spare capacity until closed or \
             shrink_to_fit)",
            layout.end()
        )));
    }
    if let (Ok(d), Ok(o)) = (fs::canonicalize(&data), fs::canonicalize(out_dir))
        && d.starts_with(&o)
    {
        return Err(Error::SameFile {
            path: out_dir.to_path_buf(),
            input: data,
        });
    }
    let exists = match fs::symlink_metadata(out_dir) {
        Ok(meta) => {
            if !overwrite {
                return Err(Error::AlreadyExists {
                    path: out_dir.to_path_buf(),
                });
            }
            let is_zarr_dir = meta.is_dir()
                && (out_dir.join("zarr.json").is_file()
                    || fs::read_dir(out_dir).is_ok_and(|mut d| d.next().is_none()));
            if !is_zarr_dir {
                return Err(Error::InvalidArgument {
                    path: out_dir.to_path_buf(),
                    message: "exists and is not a zarr array directory (no zarr.json); \
                              refusing to replace it"
                        .into(),
                });
            }
            true
        }
        Err(_) => false,
    };

    let name = data
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let chunk_shape: Vec<usize> = layout.shape().iter().map(|&d| d.max(1)).collect();
    let metadata = zarr::array_metadata(layout, info.attrs(), &chunk_shape, &name);
    let mut json = serde_json::to_vec_pretty(&metadata)
        .map_err(|e| Error::io(out_dir, "encoding zarr.json", std::io::Error::other(e)))?;
    json.push(b'\n');
    let chunk_key = zarr::chunk_key(&vec![0; layout.ndim()]);

    let tmp = fsutil::temp_path_for(out_dir);
    let built = (|| -> Result<()> {
        fs::create_dir(&tmp).at(
            out_dir,
            "creating the zarr directory (under a temporary name)",
        )?;
        fs::write(tmp.join("zarr.json"), &json).at(out_dir, "writing zarr.json")?;
        if !layout.is_empty() {
            let chunk = tmp.join(&chunk_key);
            if let Some(parent) = chunk.parent() {
                fs::create_dir_all(parent).at(out_dir, "creating the chunk directory")?;
            }
            fs::hard_link(&data, &chunk).map_err(|e| {
                let action = if e.raw_os_error() == Some(18) {
                    // EXDEV
                    "hard-linking the data file as the zarr chunk (the output directory must be \
                     on the data file's file system)"
                } else {
                    "hard-linking the data file as the zarr chunk"
                };
                Error::io(out_dir, action, e)
            })?;
        }
        let zarr_json = fs::File::open(tmp.join("zarr.json")).at(out_dir, "syncing zarr.json")?;
        zarr_json.sync_all().at(out_dir, "syncing zarr.json")?;
        fsutil::sync_dir(&tmp)?;
        if exists {
            fsutil::exchange(&tmp, out_dir).at(out_dir, "replacing the zarr directory")?;
            // `tmp` now holds the old directory.
            let _ = fs::remove_dir_all(&tmp);
        } else {
            fsutil::move_into_place(
                &tmp,
                out_dir,
                false,
                "renaming the zarr directory into place",
            )?;
        }
        fsutil::sync_dir(fsutil::parent_dir(out_dir))
    })();
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(ZarrExport {
        dir: out_dir.to_path_buf(),
        chunk: (!layout.is_empty()).then(|| out_dir.join(chunk_key)),
        info,
    })
}
