//! Outputs never overwrite inputs, and a failed write leaves nothing: a
//! destination that is the same file as something the call reads (by
//! device and inode, through symlinks and hard links) is refused with
//! `Error::SameFile`, and a create that fails after its data file was made
//! takes it back and names the file the user asked for.

#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::{dir_names, sidecar_of};
use mmarray::{ConvertOptions, CreateOptions, Error, MappedArray, Order};
use ndarray::array;

#[track_caller]
fn assert_same_file(err: &Error, path: &Path, input: &Path) {
    match err {
        Error::SameFile { path: p, input: i } => {
            assert_eq!((p.as_path(), i.as_path()), (path, input), "{err}");
        }
        other => panic!("expected SameFile, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("same file"), "{message}");
    assert!(!message.contains("retry"), "no retry can work: {message}");
}

fn source(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src.dat");
    CreateOptions::new()
        .write(&src, &array![[1.0f32, 2.0], [3.0, 4.0]])
        .unwrap();
    src
}

fn assert_source_intact(src: &Path) {
    assert_eq!(
        mmarray::read_array::<f32>(src).unwrap(),
        array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn()
    );
}

/// `convert` onto its own data file, onto its own sidecar, onto a symlink
/// or hard link to either: `SameFile`, with or without overwrite, and the
/// source is untouched (today's `Busy` for `convert x x --force` invited a
/// retry that could never work).
#[test]
fn convert_refuses_a_destination_that_is_its_source_or_its_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let link = dir.path().join("link.npy");
    symlink(&src, &link).unwrap();
    let hard = dir.path().join("hard.dat");
    fs::hard_link(&src, &hard).unwrap();
    for overwrite in [false, true] {
        let options = {
            let mut o = ConvertOptions::new();
            o.overwrite(overwrite);
            o
        };
        let convert = |dst: &Path| mmarray::convert(&src, dst, &options, |_| {}).unwrap_err();
        assert_same_file(&convert(&src), &src, &src);
        assert_same_file(
            &convert(&sidecar_of(&src)),
            &sidecar_of(&src),
            &sidecar_of(&src),
        );
        assert_same_file(&convert(&link), &link, &src);
        // A raw destination whose sidecar name is the source's sidecar.
        let err = convert(&hard);
        assert!(matches!(err, Error::SameFile { .. }), "{err:?}");
        assert_source_intact(&src);
    }
    // Through the sidecar as the source's name, too.
    let err = mmarray::convert(
        sidecar_of(&src),
        &src,
        ConvertOptions::new().overwrite(true),
        |_| {},
    )
    .unwrap_err();
    assert_same_file(&err, &src, &src);
    assert_source_intact(&src);
}

/// `create` whose sidecar name leads to its own data file (a symlink), and
/// `describe` whose sidecar would be the data file itself:
/// `SameFile`, nothing written.
#[test]
fn create_and_describe_refuse_a_sidecar_that_is_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw.bin");
    fs::write(&data, [7u8; 8]).unwrap();
    symlink(&data, sidecar_of(&data)).unwrap();
    let err = mmarray::describe(&data, "u1".parse().unwrap(), &[8], Order::C, 0, true).unwrap_err();
    assert_same_file(&err, &sidecar_of(&data), &data);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u8>(&data, &[8])
    }
    .unwrap_err();
    assert_same_file(&err, &data, &sidecar_of(&data));
    assert_eq!(fs::read(&data).unwrap(), [7u8; 8]);
}

/// A create whose sidecar cannot be written (its name is too long for the
/// file system) fails naming the sidecar, leaves no data file behind, and
/// a retry fails the same way (not "an array already exists").
#[test]
fn a_create_whose_sidecar_cannot_be_written_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let name = "n".repeat(252); // the sidecar's name would be 257 bytes
    let path = dir.path().join(&name);
    for attempt in 0..2 {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe { MappedArray::<f32>::create(&path, &[4]) }.unwrap_err();
        match &err {
            Error::Io {
                path: p, source, ..
            } => {
                assert_eq!(p, &sidecar_of(&path), "attempt {attempt}: {err}");
                assert_eq!(source.raw_os_error(), Some(36), "ENAMETOOLONG: {err}");
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
        assert!(!err.to_string().contains(".tmp-"), "{err}");
        assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    }
}

/// A create that finds an array at its path refuses without touching it,
/// even when the array appeared after the first check (the new file is
/// renamed into place only if nothing is there), and leaves no temporary
/// file.
#[test]
fn create_never_replaces_what_is_there_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    fs::write(&path, b"not mine").unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<f32>::create(&path, &[4]) }.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), b"not mine");
    assert_eq!(dir_names(dir.path()), ["x.npy"]);
}

/// `create_filled` refuses a fill the dtype cannot hold, as numpy 2's
/// `np.full` does, instead of wrapping or truncating it; nothing is made.
#[test]
fn create_filled_refuses_a_fill_the_dtype_cannot_hold() {
    use mmarray::Scalar;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.dat");
    for (dtype, fill) in [
        ("int8", Scalar::Int(300)),
        ("uint8", Scalar::Int(-1)),
        ("int32", Scalar::Float(1.5)),
        ("bool", Scalar::Int(2)),
        ("float16", Scalar::Float(1e6)),
    ] {
        let err = CreateOptions::new()
            .create_filled(&path, dtype.parse().unwrap(), &[3], fill)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }),
            "{dtype}: {err:?}"
        );
        assert!(err.to_string().contains(dtype), "{err}");
        assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    }
    CreateOptions::new()
        .create_filled(&path, "int8".parse().unwrap(), &[3], Scalar::Int(-128))
        .unwrap();
    assert_eq!(
        mmarray::read_array::<i8>(&path)
            .unwrap()
            .as_slice()
            .unwrap(),
        [-128; 3]
    );
}
