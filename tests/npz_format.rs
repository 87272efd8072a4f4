//! `format::npz` against live numpy: archives numpy writes (`np.savez`,
//! `np.savez_compressed`, positional and keyword names, data descriptors)
//! parse to the bytes numpy has, and archives `NpzWriter` writes (`add` and
//! `add_streamed`) load in `np.load` with the same names, dtypes, shapes,
//! orders and values.
//!
//! The interpreter is `$MMARRAY_PYTHON` (default `python3`), as in
//! `tests/numpy_live.rs`: without numpy these tests print "skipped: numpy
//! not available" and pass, unless `MMARRAY_REQUIRE_NUMPY=1`, which makes
//! them fail instead.

mod common;
use common::{numpy, run_python as run};
use mmarray::format::npz::{Archive, Compression, NpzWriter, WRITER_ALIGNMENT};
use mmarray::{DType, ElementType, Order};
use serde_json::json;

/// numpy writes one array per dtype (both byte orders for multi-byte ones),
/// shape and order into `s.npz` (np.savez), `c.npz` (np.savez_compressed)
/// `p.npz` (positional: arr_0, arr_1) and `u.npz` (np.savez of the first 40
/// to an unseekable stream: data descriptors), and each array's bytes in its
/// memory order (`tobytes(order="A")`) into `<name>.raw`.
const NUMPY_WRITES: &str = r#"
import json, sys, zipfile, numpy as np
d = sys.argv[1]
types = ["?", "i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16", ">i4", ">f8", ">c16"]
shapes = [(), (0,), (5,), (3, 4), (2, 0, 3), (2, 3, 4), (1, 7)]
rng = np.random.default_rng(5976)
arrays, manifest = {}, []
for i, t in enumerate(types):
    for j, shape in enumerate(shapes):
        for order in "CF":
            dt = np.dtype(t)
            n = int(np.prod(shape))
            raw = rng.integers(0, 256, size=n * dt.itemsize, dtype=np.uint8)
            if dt.kind == "b":
                raw &= 1
            a = np.frombuffer(raw.tobytes(), dtype=dt).reshape(shape, order=order)
            name = f"t{i}_{j}_{order}"
            arrays[name] = a
            with open(f"{d}/{name}.raw", "wb") as f:
                f.write(a.tobytes(order="A"))
            manifest.append({"name": name, "descr": dt.str, "shape": list(shape),
                             "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous)})
np.savez(f"{d}/s.npz", **arrays)
np.savez_compressed(f"{d}/c.npz", **arrays)
first = manifest[30]["name"], manifest[75]["name"]
np.savez(f"{d}/p.npz", arrays[first[0]], arrays[first[1]])
# Written to a stream that cannot seek, zipfile follows each member with a
# data descriptor (flag bit 3) and leaves the local header's CRC and sizes 0.
class Unseekable:
    def __init__(self): self.parts = []
    def write(self, b): self.parts.append(bytes(b)); return len(b)
    def flush(self): pass
    def read(self, n=-1): raise OSError("write only")  # numpy wants a file-like
u = Unseekable()
np.savez(u, **{c["name"]: arrays[c["name"]] for c in manifest[:40]})
with open(f"{d}/u.npz", "wb") as f:
    f.write(b"".join(u.parts))
print(json.dumps({"manifest": manifest, "positional": first,
                  "files": np.load(f"{d}/s.npz").files, "pfiles": np.load(f"{d}/p.npz").files,
                  "u_flags": [i.flag_bits for i in zipfile.ZipFile(f"{d}/u.npz").infolist()],
                  "version": np.__version__}))
"#;

#[test]
fn numpy_archives_parse_to_numpys_bytes() {
    let Some(python) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let result = run(python, dir.path(), NUMPY_WRITES);
    let manifest = result["manifest"].as_array().unwrap();
    let names: Vec<&str> = manifest
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(result["files"], json!(names));

    // u.npz really has data descriptors.
    let flags = result["u_flags"].as_array().unwrap();
    assert_eq!(flags.len(), 40);
    assert!(
        flags.iter().all(|f| f.as_u64().unwrap() & 8 != 0),
        "{flags:?}"
    );

    let mut observed = std::collections::BTreeMap::<(usize, u64), usize>::new();
    for (file, compressed, count) in [
        ("s.npz", false, names.len()),
        ("c.npz", true, names.len()),
        ("u.npz", false, 40),
    ] {
        let path = dir.path().join(file);
        let bytes = std::fs::read(&path).unwrap();
        let archive = Archive::parse(&path, &bytes).unwrap();
        assert_eq!(
            archive.names().collect::<Vec<_>>(),
            names[..count],
            "{file}"
        );
        for (case, member) in manifest.iter().zip(archive.members()) {
            let name = case["name"].as_str().unwrap();
            let raw = std::fs::read(dir.path().join(format!("{name}.raw"))).unwrap();
            assert_eq!(member.file_name(), format!("{name}.npy"));
            assert_eq!(member.is_compressed(), compressed, "{file} {name}");
            let (layout, elements) = if compressed {
                assert_eq!(member.compression(), Compression::Deflated);
                assert!(member.layout().is_none());
                let e = member.extract(&path, &bytes).unwrap();
                assert_eq!(member.header_layout(&path, &bytes).unwrap(), e.layout);
                let start = e.layout.offset() as usize;
                (e.layout.clone(), e.bytes[start..].to_vec())
            } else {
                let l = member.stored_layout(&path).unwrap().clone();
                // The elements end the member; the .npy header starts it.
                assert_eq!(l.end(), member.data_range().end);
                assert!(mmarray::npy::has_magic(
                    &bytes[member.data_range().start as usize..]
                ));
                if file == "s.npz" {
                    let align = l.dtype().element_type().align();
                    *observed
                        .entry((align, l.offset() % align as u64))
                        .or_default() += 1;
                }
                member.check_crc(&path, &bytes).unwrap();
                let r = l.offset() as usize..l.end() as usize;
                (l, bytes[r].to_vec())
            };
            assert_eq!(layout.dtype().to_string(), case["descr"], "{name}");
            let shape: Vec<usize> = case["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(layout.shape(), &shape[..], "{name}");
            let fortran = case["fortran"].as_bool().unwrap();
            assert_eq!(layout.order() == Order::F, fortran, "{name}");
            assert_eq!(elements, raw, "{file} {name}");
        }
    }
    // What np.savez's in-place offsets look like, by element alignment:
    // (alignment, offset % alignment) -> members.
    println!(
        "numpy {}: stored member data offsets (alignment, offset % alignment) -> count: {observed:?}",
        result["version"]
    );
    let misaligned: usize = observed
        .iter()
        .filter(|((_, rem), _)| *rem != 0)
        .map(|(_, n)| n)
        .sum();
    println!(
        "{misaligned} of {} stored members are misaligned",
        manifest.len()
    );

    let path = dir.path().join("p.npz");
    let bytes = std::fs::read(&path).unwrap();
    let archive = Archive::parse(&path, &bytes).unwrap();
    assert_eq!(archive.names().collect::<Vec<_>>(), ["arr_0", "arr_1"]);
    assert_eq!(result["pfiles"], json!(["arr_0", "arr_1"]));
    for (member, name) in archive
        .members()
        .iter()
        .zip(result["positional"].as_array().unwrap())
    {
        let raw =
            std::fs::read(dir.path().join(format!("{}.raw", name.as_str().unwrap()))).unwrap();
        let l = member.layout().unwrap();
        assert_eq!(&bytes[l.offset() as usize..l.end() as usize], &raw[..]);
    }
}

/// Checks every array of `w.npz` against `manifest.json`: names in order,
/// dtype, shape, Fortran order, bytes, CRC-32s (`testzip`).
const NUMPY_READS: &str = r#"
import json, sys, zipfile, numpy as np
d = sys.argv[1]
manifest = json.load(open(f"{d}/manifest.json"))
bad = []
with zipfile.ZipFile(f"{d}/w.npz") as z:
    if z.testzip() is not None:
        bad.append("testzip: " + z.testzip())
with np.load(f"{d}/w.npz") as f:
    if f.files != [c["name"] for c in manifest]:
        bad.append(f"files {f.files}")
    for c in manifest:
        a = f[c["name"]]
        raw = open(f"{d}/{c['name']}.raw", "rb").read()
        if a.dtype.str != c["descr"]: bad.append(f"{c['name']}: dtype {a.dtype.str}")
        if list(a.shape) != c["shape"]: bad.append(f"{c['name']}: shape {a.shape}")
        if c["orders_differ"] and bool(np.isfortran(a)) != c["fortran"]: bad.append(f"{c['name']}: isfortran")
        if a.tobytes(order="F" if c["fortran"] else "C") != raw: bad.append(f"{c['name']}: bytes")
if bad:
    print("\n".join(bad)); sys.exit(1)
print(json.dumps({"checked": len(manifest)}))
"#;

#[test]
fn writer_output_loads_in_numpy() {
    let Some(python) = numpy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    let mut w = NpzWriter::new(&path, std::fs::File::create(&path).unwrap());
    let mut manifest = Vec::new();
    let shapes: [&[usize]; 7] = [&[], &[0], &[5], &[3, 4], &[2, 0, 3], &[2, 3, 4], &[1, 7]];
    let mut seed = 1u64;
    for (i, &e) in ElementType::ALL.iter().enumerate() {
        for byte_order in [mmarray::ByteOrder::Little, mmarray::ByteOrder::Big] {
            if e.size() == 1 && byte_order == mmarray::ByteOrder::Big {
                continue;
            }
            let dtype = DType::new(e, byte_order);
            for (j, shape) in shapes.iter().enumerate() {
                for order in [Order::C, Order::F] {
                    let n: usize = shape.iter().product();
                    let data: Vec<u8> = (0..n * e.size())
                        .map(|_| {
                            seed = seed
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            let b = (seed >> 56) as u8;
                            if e == ElementType::Bool { b & 1 } else { b }
                        })
                        .collect();
                    let name = format!("t{i}{}_{j}_{order}", byte_order.as_char() as u32);
                    if (i + j) % 2 == 0 {
                        w.add(&name, dtype, shape, order, &data).unwrap();
                    } else {
                        // Half the members streamed in 7-byte pieces:
                        // data descriptors.
                        w.add_streamed(&name, dtype, shape, order, |out| {
                            data.chunks(7).try_for_each(|c| out.write_all(c))
                        })
                        .unwrap();
                    }
                    std::fs::write(dir.path().join(format!("{name}.raw")), &data).unwrap();
                    let orders_differ = n > 0 && shape.iter().filter(|&&d| d > 1).count() >= 2;
                    manifest.push(json!({
                        "name": name,
                        "descr": dtype.to_string(),
                        "shape": shape,
                        "fortran": order == Order::F,
                        "orders_differ": orders_differ,
                    }));
                }
            }
        }
    }
    w.add(
        "ünïcode",
        DType::native(ElementType::F64),
        &[2],
        Order::C,
        &[0; 16],
    )
    .unwrap();
    std::fs::write(dir.path().join("ünïcode.raw"), [0; 16]).unwrap();
    manifest.push(json!({"name": "ünïcode", "descr": "<f8", "shape": [2], "fortran": false, "orders_differ": false}));
    w.finish().unwrap();
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let result = run(python, dir.path(), NUMPY_READS);
    assert_eq!(result["checked"].as_u64(), Some(manifest.len() as u64));

    // And every member maps in place: its elements are 64-byte aligned.
    let bytes = std::fs::read(&path).unwrap();
    for m in Archive::parse(&path, &bytes).unwrap().members() {
        assert_eq!(
            m.layout().unwrap().offset() % WRITER_ALIGNMENT,
            0,
            "{}",
            m.name()
        );
    }
}
