//! `.npz` archives opened as arrays: members stored by `np.savez` (or
//! `NpzWriter`) map in place as `x.npz/name`, compressed ones
//! (`np.savez_compressed`) are read as a copy or refused zero-copy with
//! `Error::CompressedMember`, and every member reads back with numpy's
//! values, for every dtype. Needs numpy (see `tests/common`).

mod common;

use std::path::Path;

use common::{numpy, run_python};
use mmarray::format::npz::NpzWriter;
use mmarray::{DType, DynArray, Element, Error, Format, MappedArray, Npz, Order, Stats};

/// numpy writes the same arrays into `s.npz` (np.savez), `c.npz`
/// (np.savez_compressed) and each one alone into `<name>.npy`.
const WRITE: &str = r#"
import json, sys, numpy as np
d = sys.argv[1]
types = ["?", "i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16"]
rng = np.random.default_rng(13)
arrays = {}
for k, t in enumerate(types):
    a = (rng.standard_normal((3, 5)) * 50).astype(t)
    if t == "<f8":
        a[1, 2] = np.nan
    arrays["a%02d" % k] = a if k % 3 else np.asfortranarray(a)
arrays["empty"] = np.zeros((0, 4), "<f4")
arrays["scalar"] = np.array(2.5, "<f8")
np.savez(d + "/s.npz", **arrays)
np.savez_compressed(d + "/c.npz", **arrays)
for name, a in arrays.items():
    np.save(d + "/" + name + ".npy", a)
print(json.dumps({name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()}))
"#;

fn same<T: Element + PartialEq + std::fmt::Debug>(npz: &Path, npy: &Path) {
    let from_npz = mmarray::read_array::<T>(npz).unwrap();
    let from_npy = mmarray::read_array::<T>(npy).unwrap();
    // Bit for bit, NaNs included.
    assert_eq!(from_npz.shape(), from_npy.shape(), "{}", npz.display());
    let bits = |a: &ndarray::ArrayD<T>| -> Vec<u8> {
        a.iter()
            .flat_map(|x| bytemuck::bytes_of(x).to_vec())
            .collect()
    };
    assert_eq!(bits(&from_npz), bits(&from_npy), "{}", npz.display());
}

#[test]
fn numpy_archives_read_back_with_numpys_values_zero_copy_where_stored() {
    let Some(py) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let listed = run_python(py, dir.path(), WRITE);
    let listed = listed.as_object().unwrap();
    for archive in ["s.npz", "c.npz"] {
        let path = dir.path().join(archive);
        let npz = Npz::open(&path).unwrap();
        let members = npz.members().unwrap();
        assert_eq!(members.len(), listed.len());
        for m in &members {
            let [dtype, shape] = listed[m.name()].as_array().unwrap().as_slice() else {
                panic!()
            };
            assert_eq!(
                m.layout().dtype().to_string(),
                dtype.as_str().unwrap(),
                "{}",
                m.name()
            );
            let shape: Vec<usize> = shape
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(m.layout().shape(), shape.as_slice());
            assert_eq!(m.is_compressed(), archive == "c.npz");
            let member = npz.member_path(m.name()).unwrap();
            let npy = dir.path().join(format!("{}.npy", m.name()));
            mmarray::dispatch_type!(m.layout().dtype().element_type(), |T| same::<T>(
                &member, &npy
            ));
            let info = mmarray::inspect(&member);
            if m.is_compressed() {
                assert!(
                    matches!(info, Err(Error::CompressedMember { .. })),
                    "{info:?}"
                );
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let err = unsafe { DynArray::open(&member) }.err().unwrap();
                assert!(
                    matches!(&err, Error::CompressedMember { member, .. } if member == m.name()),
                    "{err:?}"
                );
                assert!(err.to_string().contains("compressed"));
                continue;
            }
            let info = info.unwrap();
            assert_eq!(info.format(), Format::Npz);
            assert_eq!(info.member(), Some(m.name()));
            assert_eq!(info.path(), path);
            // In place where the member is aligned for its type (always for
            // one-byte types), refused as misaligned otherwise; the stats
            // read it either way and agree with the .npy's.
            let element = m.layout().dtype().element_type();
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            match unsafe { DynArray::open(&member) } {
                Ok(a) => {
                    assert_eq!(a.info().layout(), m.layout());
                    assert_eq!(m.layout().offset() % element.size() as u64, 0);
                }
                Err(Error::MisalignedOffset { .. }) => assert!(element.size() > 1),
                Err(e) => panic!("{}: {e}", m.name()),
            }
            if !element.is_complex() {
                assert_eq!(
                    Stats::of_path(&member, |_| {}).unwrap(),
                    Stats::of_path(&npy, |_| {}).unwrap(),
                    "{}",
                    m.name()
                );
            }
        }
    }
}

/// Archives `NpzWriter` writes align every member, so every member of
/// every dtype maps in place; members are read-only.
#[test]
fn writer_archives_map_every_member_in_place_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    let mut w = NpzWriter::new(&path, std::fs::File::create(&path).unwrap());
    let values: Vec<f64> = (0..12).map(|i| i as f64 * 0.5).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_ne_bytes()).collect();
    w.add(
        "one",
        DType::native(mmarray::ElementType::U8),
        &[3],
        Order::C,
        &[1, 2, 3],
    )
    .unwrap();
    w.add(
        "grid",
        DType::native(mmarray::ElementType::F64),
        &[3, 4],
        Order::F,
        &bytes,
    )
    .unwrap();
    w.finish().unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let grid = unsafe { MappedArray::<f64>::open(path.join("grid")) }.unwrap();
    assert_eq!(grid.as_slice(), values.as_slice());
    assert_eq!(grid.order(), Order::F);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { MappedArray::<u8>::open(path.join("one")) }
            .unwrap()
            .as_slice(),
        &[1, 2, 3]
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let copy = unsafe { MappedArray::<u8>::open_copy(path.join("one")) }.unwrap();
    assert_eq!(copy.shape(), &[3]);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<u8>::open_mut(path.join("one")) }.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<u8>::open(path.join("nope")) }.unwrap_err();
    assert!(
        err.to_string().contains("no member named \"nope\""),
        "{err}"
    );
    // The archive itself is not one array.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { MappedArray::<u8>::open(&path) }.unwrap_err();
    assert!(err.to_string().contains("is a .npz archive"), "{err}");
}

/// `Npz::write` makes an archive `np.load` reads, appears whole or not at
/// all (a failing build leaves nothing), never replaces a file without
/// `overwrite`, and never one that is mapped.
#[test]
fn npz_write_is_whole_or_nothing_and_numpy_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.npz");
    let f4 = DType::native(mmarray::ElementType::F32);
    let bytes: Vec<u8> = [1.5f32, -2.0, 3.25]
        .iter()
        .flat_map(|x| x.to_ne_bytes())
        .collect();
    let err = Npz::write(&path, false, |w| {
        w.add("a", f4, &[3], Order::C, &bytes)?;
        Err(Error::InvalidArgument {
            path: path.clone(),
            message: "stop".into(),
        })
    })
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert_eq!(common::dir_names(dir.path()), Vec::<String>::new());
    Npz::write(&path, false, |w| w.add("a", f4, &[3], Order::C, &bytes)).unwrap();
    let err = Npz::write(&path, false, |_| Ok(())).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mapped = unsafe { MappedArray::<f32>::open(path.join("a")) }.unwrap();
    assert_eq!(mapped.as_slice(), &[1.5, -2.0, 3.25]);
    let err = Npz::write(&path, true, |_| Ok(())).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    drop(mapped);
    if let Some(py) = numpy() {
        let v = run_python(
            py,
            dir.path(),
            r#"
import json, sys, numpy as np
z = np.load(sys.argv[1] + "/out.npz")
print(json.dumps({"files": z.files, "a": z["a"].tolist(), "dtype": z["a"].dtype.str}))
"#,
        );
        assert_eq!(
            v,
            serde_json::json!({"files": ["a"], "a": [1.5, -2.0, 3.25], "dtype": "<f4"})
        );
    }
    Npz::write(&path, true, |_| Ok(())).unwrap();
    assert!(Npz::open(&path).unwrap().members().unwrap().is_empty());
    assert_eq!(common::dir_names(dir.path()), ["out.npz"]);
}
