//! Read-write, copy-on-write and create semantics, checked on the file.

mod common;

use common::*;
use mmarray::{CreateOptions, Error, MappedArray};

#[test]
fn read_write_changes_are_in_the_file_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rw.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<f32>::create(&path, &[10, 3]) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<f32>::open_mut(&path) }.unwrap();
    w.view_mut()[[9, 2]] = 4.5;
    w.view_mut()[[0, 1]] = -1.0;
    w.flush().unwrap();
    w.flush_async().unwrap();
    w.flush_range(0..3).unwrap();
    w.flush_async_range(27..30).unwrap();
    drop(w);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[4..8], &(-1.0f32).to_le_bytes());
    assert_eq!(&bytes[116..120], &4.5f32.to_le_bytes());
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<f32>::open(&path) }.unwrap();
    assert_eq!(r.view()[[9, 2]], 4.5);
    assert_eq!(r.view()[[0, 1]], -1.0);
}

/// A mapping that hands out `&mut` views excludes every other mapping of
/// the file, in either order, and the shared-write open is the explicit
/// way for writers and readers to coexist (their contract is the caller's).
#[test]
fn a_writable_mapping_and_any_other_mapping_never_coexist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.dat");
    let busy = |r: mmarray::Result<()>, action: &str| match r {
        Err(Error::Busy { path: p, action: a }) => assert!(p == path && a == action, "{a}"),
        other => panic!("expected Busy ({action}), got {other:?}"),
    };
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut w = unsafe { MappedArray::<u64>::create(&path, &[100]) }.unwrap();
    w.view_mut()[42] = 0xDEAD_BEEF;
    // While the writer lives: no reader, no copy, no second writer, no
    // shared writer, no store or dynamic open.
    // SAFETY: (each) the test's own file; every open here is refused.
    unsafe {
        busy(MappedArray::<u64>::open(&path).map(drop), "mapped");
        busy(MappedArray::<u64>::open_copy(&path).map(drop), "mapped");
        busy(
            MappedArray::<u64>::open_mut(&path).map(drop),
            "mapped for writing",
        );
        busy(
            MappedArray::<u64>::open_shared_mut(&path).map(drop),
            "mapped",
        );
        busy(mmarray::DynArray::open(&path).map(drop), "mapped");
        busy(mmarray::Source::open(&path).map(drop), "mapped");
    }
    drop(w);
    // The other order: while a reader (or a copy) lives, no writer.
    for reader_mode in ["r", "c"] {
        // SAFETY: the test's own file; nothing else changes it while mapped.
        let reader: Box<dyn std::any::Any> = unsafe {
            match reader_mode {
                "r" => Box::new(MappedArray::<u64>::open(&path).unwrap()),
                _ => Box::new(MappedArray::<u64>::open_copy(&path).unwrap()),
            }
        };
        // SAFETY: the test's own file; every open here is refused.
        unsafe {
            busy(
                MappedArray::<u64>::open_mut(&path).map(drop),
                "mapped for writing",
            );
            busy(
                CreateOptions::new()
                    .overwrite(true)
                    .create::<u64>(&path, &[1])
                    .map(drop),
                "replaced",
            );
        }
        // Any number of readers and copies coexist.
        // SAFETY: the test's own file; nothing writes it.
        let (r2, c2) = unsafe {
            (
                MappedArray::<u64>::open(&path).unwrap(),
                MappedArray::<u64>::open_copy(&path).unwrap(),
            )
        };
        assert_eq!((r2.view()[42], c2.view()[42]), (0xDEAD_BEEF, 0xDEAD_BEEF));
        drop(reader);
    }
    // Shared writers coexist with readers and each other, and their writes
    // are seen by the other mappings without reopening.
    // SAFETY: the test writes element 7 through `a` and reads it through
    // `r` only after the write; nothing else writes the file.
    let (mut a, b, r) = unsafe {
        (
            MappedArray::<u64>::open_shared_mut(&path).unwrap(),
            MappedArray::<u64>::open_shared_mut(&path).unwrap(),
            MappedArray::<u64>::open(&path).unwrap(),
        )
    };
    a.view_mut()[7] = 7;
    assert_eq!((r.view()[7], b.view()[7]), (7, 7));
    // ... but not with an exclusive writer.
    // SAFETY: refused.
    busy(
        unsafe { MappedArray::<u64>::open_mut(&path) }.map(drop),
        "mapped for writing",
    );
    drop((a, b, r));
    // SAFETY: the test's own file; all other handles are gone.
    assert!(unsafe { MappedArray::<u64>::open_mut(&path) }.is_ok());
}

#[test]
fn copy_on_write_leaves_the_file_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cow.dat");
    let want = expected::<i32>(&[50, 4]);
    write_raw(
        &path,
        &[],
        &encode(&want, "C", false),
        &sidecar_json("<i4", &[50, 4], "C", 0),
    );
    let before = (file_hash(&path), file_hash(&sidecar_of(&path)));

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut c = unsafe { MappedArray::<i32>::open_copy(&path) }.unwrap();
    c.view_mut().fill(123);
    assert!(c.view().iter().all(|&x| x == 123));
    // Another mapping of the file still sees the original values.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<i32>::open(&path) }.unwrap().view(),
        want
    );
    drop(c);

    assert_eq!((file_hash(&path), file_hash(&sidecar_of(&path))), before);
}

#[test]
fn copy_on_write_works_on_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { MappedArray::<u8>::create(&path, &[8]) }.unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut c = unsafe { MappedArray::<u8>::open_copy(&path) }.unwrap();
    c.view_mut()[0] = 1;
    assert_eq!(c.view()[0], 1);
}

#[test]
fn create_writes_a_sparse_zeroed_file_and_a_sidecar() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<f64>::create(&path, &[1 << 20]) }.unwrap();
    assert!(a.view().iter().all(|&x| x == 0.0));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 8 << 20);
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "not sparse: {} blocks",
        meta.blocks()
    );
    let json = std::fs::read_to_string(sidecar_of(&path)).unwrap();
    assert_eq!(
        json,
        "{\"version\": 1, \"dtype\": \"<f8\", \"shape\": [1048576], \"order\": \"C\", \"offset\": 0, \"attrs\": {}}\n"
    );
}

#[test]
fn create_refuses_to_overwrite_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<u32>::create(&path, &[4]) }.unwrap();
    a.view_mut()[0] = 99;
    a.flush().unwrap();
    drop(a);
    let before = file_hash(&path);

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<u32>::create(&path, &[8]) }.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("keep.dat"));
    assert_eq!(file_hash(&path), before);

    // A lone sidecar also counts as an existing array.
    let other = dir.path().join("other.dat");
    std::fs::write(sidecar_of(&other), "{}").unwrap();
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u32>::create(&other, &[1]) },
        Err(Error::AlreadyExists { .. })
    ));

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let b = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u32>(&path, &[8])
    }
    .unwrap();
    assert_eq!(b.shape(), &[8]);
    assert!(b.view().iter().all(|&x| x == 0));
}

#[test]
fn overwriting_a_mapped_array_is_refused_as_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut old = unsafe { MappedArray::<u8>::create(&path, &[1 << 16]) }.unwrap();
    old.view_mut().fill(7);
    drop(old);
    // A shared writer, so that a reader can map the file beside it.
    // SAFETY: nothing reads what it writes; nothing else changes the file.
    let old = unsafe { MappedArray::<u8>::open_shared_mut(&path) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let reader = unsafe { MappedArray::<u8>::open(&path) }.unwrap();
    // Replacing it would pull the file from under both mappings.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u8>(&path, &[10])
    }
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Busy {
                action: "replaced",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("live.dat"));
    assert!(reader.view().iter().all(|&x| x == 7));
    drop((old, reader));
    // Once nothing maps it, overwriting works.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe {
        CreateOptions::new()
            .overwrite(true)
            .create::<u8>(&path, &[10])
    }
    .unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(unsafe { MappedArray::<u8>::open(&path) }.unwrap().len(), 10);
}

#[test]
fn attrs_are_kept_and_rewritten_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attrs.dat");
    let mut attrs = serde_json::Map::new();
    attrs.insert("units".into(), "kelvin".into());
    attrs.insert("nested".into(), serde_json::json!({"a": [1, 2, 3]}));
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe {
        CreateOptions::new()
            .attrs(attrs.clone())
            .create::<f32>(&path, &[2])
    }
    .unwrap();
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<f32>::open(&path) }.unwrap().attrs(),
        &attrs
    );
    attrs.insert("step".into(), 3.into());
    // SAFETY: the test's own file; the reader above is gone.
    let mut a = unsafe { MappedArray::<f32>::open_mut(&path) }.unwrap();
    a.set_attrs(attrs.clone()).unwrap();
    drop(a);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<f32>::open(&path) }.unwrap().attrs(),
        &attrs
    );
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn empty_and_zero_d_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("empty.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { MappedArray::<f32>::create(&e, &[0, 5]) }.unwrap();
    assert!(a.is_empty() && a.view().is_empty() && a.view_mut().is_empty());
    a.flush().unwrap();
    drop(a);
    assert_eq!(std::fs::metadata(&e).unwrap().len(), 0);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { MappedArray::<f32>::open(&e) }.unwrap().shape(),
        &[0, 5]
    );

    let s = dir.path().join("scalar.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut b = unsafe { MappedArray::<i16>::create(&s, &[]) }.unwrap();
    b.view_mut()[[]] = -5;
    b.flush().unwrap();
    drop(b);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let r = unsafe { MappedArray::<i16>::open(&s) }.unwrap();
    assert_eq!((r.len(), r.view().ndim(), r.view()[[]]), (1, 0, -5));
}

#[test]
fn flush_range_outside_the_array_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.dat");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let a = unsafe { MappedArray::<u16>::create(&path, &[4]) }.unwrap();
    assert!(matches!(
        a.flush_range(2..5),
        Err(Error::InvalidArgument { .. })
    ));
}

/// `SealedArray::from_fd` maps only what the kernel keeps from changing:
/// an unsealed memfd, one sealed without `F_SEAL_WRITE`, and one whose
/// header promises more bytes than it holds are each refused with a typed
/// error saying why; a good one round-trips dtype, shape, values and attrs.
#[cfg(target_os = "linux")]
#[test]
fn sealed_arrays_refuse_descriptors_that_are_not_sealed_or_lie() {
    use rustix::fs::{MemfdFlags, SealFlags};
    use std::os::unix::fs::FileExt;
    let memfd = |image: &[u8], seals: SealFlags| -> std::os::fd::OwnedFd {
        let fd =
            rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        let file = std::fs::File::from(fd);
        file.write_all_at(image, 0).unwrap();
        if !seals.is_empty() {
            rustix::fs::fcntl_add_seals(&file, seals).unwrap();
        }
        file.into()
    };
    let all = SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    let mut attrs = serde_json::Map::new();
    attrs.insert("units".into(), "m".into());
    let good = mmarray::SealedArray::with_attrs(
        &ndarray::array![[1.5f64, 2.5], [3.5, 4.5]],
        attrs.clone(),
    )
    .unwrap();
    assert_eq!(
        good.view(),
        ndarray::array![[1.5f64, 2.5], [3.5, 4.5]].into_dyn()
    );
    assert_eq!(good.attrs(), &attrs);
    // An .npy image of 1000 f64 that holds 10 of them.
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("a.npy");
    CreateOptions::new()
        .write(&npy, &ndarray::Array1::<f64>::zeros(1000))
        .unwrap();
    let image = std::fs::read(&npy).unwrap();
    let whole = &image[..];
    let short = &image[..image.len() - 990 * 8];

    let unsealed =
        mmarray::SealedArray::<f64>::from_fd(memfd(whole, SealFlags::empty())).unwrap_err();
    assert!(
        matches!(unsealed, Error::InvalidArgument { .. }),
        "{unsealed:?}"
    );
    assert!(unsealed.to_string().contains("F_SEAL_WRITE"), "{unsealed}");
    let no_write = mmarray::SealedArray::<f64>::from_fd(memfd(
        whole,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
    ))
    .unwrap_err();
    let message = no_write.to_string();
    assert!(message.contains("F_SEAL_WRITE missing"), "{message}");
    assert!(!message.contains("F_SEAL_SHRINK"), "{message}");
    let lying = mmarray::SealedArray::<f64>::from_fd(memfd(short, all)).unwrap_err();
    assert!(matches!(lying, Error::DataTooShort { .. }), "{lying:?}");
    let wrong_type = mmarray::SealedArray::<f32>::from_fd(memfd(whole, all)).unwrap_err();
    assert!(
        matches!(wrong_type, Error::DtypeMismatch { .. }),
        "{wrong_type:?}"
    );
    let ok = mmarray::SealedArray::<f64>::from_fd(memfd(whole, all)).unwrap();
    assert_eq!(ok.view().shape(), &[1000]);
}

/// The store's opens keep the same exclusion as the array's own.
#[test]
fn store_opens_exclude_a_writer_like_the_arrays_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = mmarray::Store::create(dir.path().join("s")).unwrap();
    // SAFETY: the test's own store; every other open below is refused.
    unsafe {
        let w = store.create_array::<f32>("a", &[3]).unwrap();
        assert!(matches!(
            store.open_array::<f32>("a"),
            Err(Error::Busy {
                action: "mapped",
                ..
            })
        ));
        assert!(matches!(
            store.open_array_dyn("a"),
            Err(Error::Busy {
                action: "mapped",
                ..
            })
        ));
        drop(w);
        let r = store.open_array::<f32>("a").unwrap();
        assert!(matches!(
            store.open_array_mut::<f32>("a"),
            Err(Error::Busy {
                action: "mapped for writing",
                ..
            })
        ));
        assert!(store.open_array_copy::<f32>("a").is_ok());
        drop(r);
        assert!(store.open_array_mut::<f32>("a").is_ok());
    }
}

/// Data no typed array views in place (the other byte order, an offset
/// its type is not aligned to) is written through the bytes of the
/// shared-write open, which reach the file, and changed in a copy through
/// the copy-on-write open, which never does: numpy's `np.memmap(path,
/// ">f4", mode="r+")` and `mode="c"`.
#[test]
fn sources_write_through_the_shared_write_open_and_copy_on_write_any_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.dat");
    let values = ndarray::ArrayD::from_shape_vec(vec![4], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
    write_raw(
        &big,
        &[],
        &encode(&values, "C", true),
        &sidecar_json(">f4", &[4], "C", 0),
    );
    let unaligned = dir.path().join("unaligned.dat");
    let doubles = ndarray::ArrayD::from_shape_vec(vec![3], vec![1.0f64, 2.0, 3.0]).unwrap();
    write_raw(
        &unaligned,
        &[0; 3],
        &encode(&doubles, "C", false),
        &sidecar_json("<f8", &[3], "C", 3),
    );
    let cases: [(&std::path::Path, usize, Vec<u8>); 2] = [
        (&big, 0, 9.5f32.to_be_bytes().to_vec()),
        (&unaligned, 3, 9.5f64.to_le_bytes().to_vec()),
    ];
    // SAFETY: (each) the test's own files; refused.
    unsafe {
        let refused = MappedArray::<f32>::open_shared_mut(&big).map(drop);
        assert!(matches!(refused, Err(Error::NonNativeByteOrder { .. })));
        let refused = MappedArray::<f64>::open_shared_mut(&unaligned).map(drop);
        assert!(matches!(refused, Err(Error::MisalignedOffset { .. })));
    }
    for (path, offset, nine_and_a_half) in cases {
        let width = nine_and_a_half.len();
        // SAFETY: the test writes element 1 through `w` only, and reads it
        // through `r` after the write; nothing else touches the file.
        let (mut w, r) = unsafe {
            (
                mmarray::Source::open_shared_mut(path).unwrap(),
                mmarray::Source::open(path).unwrap(),
            )
        };
        assert_eq!(w.as_bytes(), r.as_bytes());
        w.as_bytes_mut()[width..2 * width].copy_from_slice(&nine_and_a_half);
        w.flush().unwrap();
        // A reader sees the write at once, the file after the flush.
        assert_eq!(&r.as_bytes()[width..2 * width], nine_and_a_half.as_slice());
        let file = std::fs::read(path).unwrap();
        assert_eq!(
            &file[offset + width..offset + 2 * width],
            nine_and_a_half.as_slice()
        );
        // Another shared writer coexists with these (it writes nothing).
        // SAFETY: the test's own file; the second writer writes nothing.
        let second = unsafe { mmarray::Source::open_shared_mut(path) }.map(drop);
        assert!(second.is_ok(), "{second:?}");
        drop(r);

        // Copy-on-write: changes stay in this process, beside the writer.
        let before = (file_hash(path), file_hash(&sidecar_of(path)));
        // SAFETY: the test's own file; `w` writes nothing while `c` lives.
        let mut c = unsafe { mmarray::Source::open_copy(path) }.unwrap();
        assert_eq!(c.as_bytes(), w.as_bytes());
        c.as_bytes_mut().fill(0xAB);
        c.flush().unwrap(); // does nothing for a copy
        assert!(c.as_bytes().iter().all(|&b| b == 0xAB));
        assert_eq!(&w.as_bytes()[width..2 * width], nine_and_a_half.as_slice());
        drop((c, w));
        assert_eq!((file_hash(path), file_hash(&sidecar_of(path))), before);
        // SAFETY: the test's own file; every other handle is gone.
        let r = unsafe { mmarray::Source::open(path) }.unwrap();
        assert_eq!(&r.as_bytes()[width..2 * width], nine_and_a_half.as_slice());
    }
}

/// The shared-write open of bytes keeps the exclusive writer out, and is
/// kept out by it, as `MappedArray::open_shared_mut` does.
#[test]
fn the_shared_write_open_of_bytes_and_an_exclusive_writer_never_coexist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dat");
    // SAFETY: the test's own file; nothing else changes it while mapped.
    let w = unsafe { MappedArray::<u16>::create(&path, &[4]) }.unwrap();
    // SAFETY: refused.
    let busy = unsafe { mmarray::Source::open_shared_mut(&path) }.map(drop);
    assert!(matches!(busy, Err(Error::Busy { .. })), "{busy:?}");
    drop(w);
    // SAFETY: the test's own file; nothing else changes it while mapped.
    let s = unsafe { mmarray::Source::open_shared_mut(&path) }.unwrap();
    // SAFETY: refused.
    let busy = unsafe { MappedArray::<u16>::open_mut(&path) }.map(drop);
    assert!(matches!(busy, Err(Error::Busy { .. })), "{busy:?}");
    drop(s);
}
