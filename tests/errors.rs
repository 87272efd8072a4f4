//! Every kind of bad input gives its own typed error, and every message
//! names the file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use mmarray::{Error, MappedArray};

/// A raw file of `len` zero bytes at `dir/name` with sidecar `json`.
fn raw(dir: &Path, name: &str, len: usize, json: &str) -> PathBuf {
    let path = dir.join(name);
    write_raw(&path, &[], &vec![0u8; len], json);
    path
}

fn open_err<T: mmarray::Element>(path: &Path) -> Error {
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<T>::open(path) }.unwrap_err();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        err.to_string().contains(name),
        "message does not name {name}: {err}"
    );
    err
}

#[test]
fn sidecar_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lonely.dat");
    std::fs::write(&path, [0u8; 16]).unwrap();
    let err = open_err::<f32>(&path);
    match &err {
        Error::SidecarMissing { path: p, sidecar } => {
            assert_eq!(p, &path);
            assert_eq!(sidecar, &sidecar_of(&path));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("lonely.dat.json"));
}

#[test]
fn sidecar_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(dir.path(), "bad.dat", 8, "{\"version\": 1, \"dtype\": ");
    let err = open_err::<f32>(&path);
    assert!(matches!(err, Error::MalformedSidecar { .. }), "{err:?}");
    assert!(err.to_string().contains("bad.dat.json"));
}

#[test]
fn sidecar_unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "typo.dat",
        8,
        r#"{"version": 1, "dtype": "<f4", "shap": [2]}"#,
    );
    let err = open_err::<f32>(&path);
    assert!(matches!(err, Error::MalformedSidecar { .. }), "{err:?}");
    assert!(err.to_string().contains("`shap`"), "{err}");
}

#[test]
fn sidecar_wrong_field_type_and_bad_order() {
    let dir = tempfile::tempdir().unwrap();
    for (i, json) in [
        r#"{"version": 1, "dtype": "<f4", "shape": "2"}"#,
        r#"{"version": 1, "dtype": "<f4", "shape": [-2]}"#,
        r#"{"version": 1, "dtype": "<f4", "shape": [2], "order": "X"}"#,
        r#"{"version": 1, "dtype": "<f4", "shape": [2], "attrs": []}"#,
        r#"{"version": 1, "dtype": "<f4"}"#,
        r#"[1, 2]"#,
    ]
    .into_iter()
    .enumerate()
    {
        let path = raw(dir.path(), &format!("f{i}.dat"), 8, json);
        let err = open_err::<f32>(&path);
        assert!(
            matches!(err, Error::MalformedSidecar { .. }),
            "{json}: {err:?}"
        );
    }
}

#[test]
fn unsupported_sidecar_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "v2.dat",
        8,
        r#"{"version": 2, "dtype": "<f4", "shape": [2]}"#,
    );
    assert!(matches!(
        open_err::<f32>(&path),
        Error::UnsupportedVersion { found: 2, .. }
    ));
}

#[test]
fn unknown_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(dir.path(), "odd.dat", 8, &sidecar_json("<f3", &[2], "C", 0));
    let err = open_err::<f32>(&path);
    assert!(
        matches!(&err, Error::UnknownDtype { dtype, .. } if dtype == "<f3"),
        "{err:?}"
    );
}

#[test]
fn dtype_mismatch_names_both_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "ints.dat",
        16,
        &sidecar_json("<i4", &[4], "C", 0),
    );
    let err = open_err::<f32>(&path);
    assert!(matches!(err, Error::DtypeMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("<i4") && msg.contains("int32") && msg.contains("f32"),
        "{msg}"
    );
}

#[test]
fn non_native_byte_order_names_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = if cfg!(target_endian = "little") {
        ">f8"
    } else {
        "<f8"
    };
    let path = raw(
        dir.path(),
        "be.dat",
        16,
        &sidecar_json(foreign, &[2], "C", 0),
    );
    let err = open_err::<f64>(&path);
    assert!(matches!(err, Error::NonNativeByteOrder { .. }), "{err:?}");
    assert!(err.to_string().contains("read_array"), "{err}");
}

#[test]
fn shape_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"version": 1, "dtype": "<f8", "shape": [4611686018427387904, 4]}"#;
    let path = raw(dir.path(), "huge.dat", 8, json);
    assert!(matches!(
        open_err::<f64>(&path),
        Error::ShapeOverflow { .. }
    ));
    let json = r#"{"version": 1, "dtype": "<f8", "shape": [18446744073709551615]}"#;
    let path = raw(dir.path(), "huge2.dat", 8, json);
    assert!(matches!(
        open_err::<f64>(&path),
        Error::ShapeOverflow { .. }
    ));
    let json = r#"{"version": 1, "dtype": "<f8", "shape": [184467440737095516150]}"#;
    let path = raw(dir.path(), "huge3.dat", 8, json);
    assert!(matches!(
        open_err::<f64>(&path),
        Error::MalformedSidecar { .. }
    ));
}

#[test]
fn too_many_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "deep.dat",
        8,
        &sidecar_json("<f8", &[1; 65], "C", 0),
    );
    assert!(matches!(
        open_err::<f64>(&path),
        Error::TooManyDimensions { ndim: 65, .. }
    ));
}

#[test]
fn data_too_short_gives_both_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "short.dat",
        100,
        &sidecar_json("<f4", &[10, 3], "C", 8),
    );
    let err = open_err::<f32>(&path);
    assert!(
        matches!(
            err,
            Error::DataTooShort {
                needed: 128,
                actual: 100,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("128") && msg.contains("100"), "{msg}");
}

#[test]
fn misaligned_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw(
        dir.path(),
        "mis.dat",
        64,
        &sidecar_json("<f4", &[4], "C", 2),
    );
    let err = open_err::<f32>(&path);
    assert!(
        matches!(
            err,
            Error::MisalignedOffset {
                offset: 2,
                align: 4,
                ..
            }
        ),
        "{err:?}"
    );
    // Any offset is fine for one-byte types, as in numpy.memmap.
    let path = raw(
        dir.path(),
        "bytes.dat",
        64,
        &sidecar_json("|u1", &[4], "C", 3),
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<u8>::open(&path) }.unwrap().len(), 4);
}

#[test]
fn invalid_bool_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.dat");
    write_raw(
        &path,
        &[],
        &[0, 1, 1, 2, 0],
        &sidecar_json("|b1", &[5], "C", 0),
    );
    let err = open_err::<bool>(&path);
    assert!(
        matches!(
            err,
            Error::InvalidBool {
                index: 3,
                byte: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn data_file_missing_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    // The sidecar exists but points at a data file that does not.
    let path = dir.path().join("gone.dat");
    std::fs::write(sidecar_of(&path), sidecar_json("<f4", &[2], "C", 0)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open(sidecar_of(&path)) }.unwrap_err();
    match &err {
        Error::Io {
            path: p, source, ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());
    // Opening by the data path fails the same way.
    assert!(matches!(open_err::<f32>(&path), Error::Io { .. }));
}

#[test]
fn a_directory_is_not_an_array() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("adir");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sidecar_of(&sub), sidecar_json("<f4", &[2], "C", 0)).unwrap();
    assert!(matches!(
        open_err::<f32>(&sub),
        Error::InvalidArgument { .. }
    ));
}

#[test]
fn read_write_on_a_read_only_file_is_an_io_error() {
    use std::os::unix::fs::PermissionsExt;
    if running_as_root() {
        eprintln!("skipped: root ignores file permissions");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = raw(dir.path(), "ro.dat", 8, &sidecar_json("<f4", &[2], "C", 0));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::open_mut(&path) }.unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
    );
}

/// A path holding a newline or an ESC byte is printed escaped (`\n`,
/// `\u{1b}`): every message is one line and never drives a terminal.
#[test]
fn paths_with_control_characters_are_escaped_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil\nname\x1b[31m.dat");
    std::fs::write(&path, [0u8; 8]).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let open = |p: &Path| unsafe { MappedArray::<f32>::open(p) }.unwrap_err();
    for err in [
        open(&path),
        open(&dir.path().join("missing\x1b]0;title\x07.npy")),
    ] {
        let message = err.to_string();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(message.contains(r"\u{1b}"), "{message}");
    }
    assert!(
        open(&path)
            .to_string()
            .contains(r"evil\nname\u{1b}[31m.dat")
    );
}
