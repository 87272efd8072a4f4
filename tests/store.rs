//! The directory store of named arrays, its name checks, and sharded arrays.

use std::collections::BTreeMap;
use std::path::Path;

use mmarray::{CreateOptions, Error, Format, Order, ShardedArray, Store};
use ndarray::Array2;

/// Every file and directory below `root`, with each file's bytes.
fn snapshot(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let key = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(key, None);
                stack.push(path);
            } else {
                out.insert(key, Some(std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    out
}

#[test]
fn create_open_list_rename_remove() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path().join("s")).unwrap();
    assert!(matches!(
        Store::create(dir.path().join("s")),
        Err(Error::StoreExists { .. })
    ));

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut a = unsafe { store.create_array::<f32>("weights", &[4, 3]) }.unwrap();
    a.view_mut()[[3, 2]] = 1.5;
    a.flush().unwrap();
    drop(a);
    let mut opts = CreateOptions::new();
    opts.format(Format::Npy).order(Order::F);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array_with::<i64>("labels", &[10, 2], &opts) }.unwrap();
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.create_array::<u8>("weights", &[1]) },
        Err(Error::AlreadyExists { .. })
    ));
    // A name taken in the other format counts too.
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.create_array::<u8>("labels", &[1]) },
        Err(Error::AlreadyExists { .. })
    ));

    let list = store.list().unwrap();
    let summary: Vec<_> = list
        .iter()
        .map(|e| {
            (
                e.name().to_string(),
                e.layout().unwrap().dtype().to_string(),
                e.layout().unwrap().shape().to_vec(),
                e.layout().unwrap().order(),
                e.layout().unwrap().nbytes(),
                e.info().unwrap().format(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "labels".into(),
                "<i8".into(),
                vec![10, 2],
                Order::F,
                160,
                Format::Npy
            ),
            (
                "weights".into(),
                "<f4".into(),
                vec![4, 3],
                Order::C,
                48,
                Format::Raw
            ),
        ]
    );
    // Arrays are ordinary files: what numpy would open.
    assert!(
        dir.path().join("s/weights.dat").is_file()
            && dir.path().join("s/weights.dat.json").is_file()
    );
    assert!(dir.path().join("s/labels.npy").is_file());

    // All modes.
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array::<f32>("weights") }
            .unwrap()
            .view()[[3, 2]],
        1.5
    );
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.open_array_mut::<f32>("weights") }
        .unwrap()
        .view_mut()[[0, 0]] = 2.0;
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let mut c = unsafe { store.open_array_copy::<f32>("weights") }.unwrap();
    c.view_mut()[[0, 0]] = 9.0;
    drop(c);
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array::<f32>("weights") }
            .unwrap()
            .view()[[0, 0]],
        2.0
    );
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array_dyn("labels") }
            .unwrap()
            .element_type(),
        mmarray::ElementType::I64
    );

    // Rename keeps data and live mappings.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let live = unsafe { store.open_array::<f32>("weights") }.unwrap();
    store.rename("weights", "w2").unwrap();
    assert_eq!(live.view()[[3, 2]], 1.5);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { store.open_array::<f32>("w2") }.unwrap().view()[[3, 2]],
        1.5
    );
    assert!(!store.contains("weights") && store.contains("w2"));
    // Onto an existing name: refused, with the store's way out (a rename
    // has no `overwrite`), and both arrays left as they were.
    let err = store.rename("w2", "labels").unwrap_err();
    assert!(
        matches!(&err, Error::NameTaken { name, .. } if name == "labels"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("already has an array named \"labels\"")
            && message.contains("Store::remove")
            && !message.contains("overwrite"),
        "{message}"
    );
    assert!(store.contains("w2") && store.contains("labels"));
    store.rename("labels", "l2").unwrap();
    assert!(store.contains("l2"));

    // Remove is refused while mapped, then works.
    let err = store.remove("w2").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Busy {
                action: "removed",
                ..
            }
        ),
        "{err:?}"
    );
    drop(live);
    store.remove("w2").unwrap();
    store.remove("l2").unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array::<f32>("w2") },
        Err(Error::Io { .. })
    ));

    // Store attrs persist.
    let mut attrs = serde_json::Map::new();
    attrs.insert("experiment".into(), "baseline".into());
    store.set_attrs(attrs.clone()).unwrap();
    assert_eq!(Store::open(dir.path().join("s")).unwrap().attrs(), &attrs);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("s"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mmarray-store.json"], "no stray files");
}

#[test]
fn opening_a_directory_that_is_not_a_store_fails() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(dir.path()), Err(Error::Io { .. })));
    std::fs::write(
        dir.path().join("mmarray-store.json"),
        r#"{"version": 1, "atrs": {}}"#,
    )
    .unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::MalformedSidecar { .. })
    ));
    std::fs::write(dir.path().join("mmarray-store.json"), r#"{"version": 7}"#).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::UnsupportedVersion { found: 7, .. })
    ));
}

#[test]
fn hostile_names_are_rejected_and_touch_nothing() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::create(root.path().join("store")).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array::<u8>("victim", &[4]) }
        .unwrap()
        .view_mut()
        .fill(1);
    std::fs::write(root.path().join("outside.dat"), b"precious").unwrap();
    std::fs::write(
        root.path().join("outside.dat.json"),
        r#"{"version": 1, "dtype": "|u1", "shape": [8]}"#,
    )
    .unwrap();
    std::fs::create_dir(root.path().join("store/sub")).unwrap();
    let before = snapshot(root.path());

    let long = "x".repeat(256);
    let hostile: Vec<&str> = vec![
        "",
        ".",
        "..",
        "../outside",
        "../../etc/passwd",
        "/etc/passwd",
        "sub/victim",
        "a\\b",
        "..\\outside",
        ".hidden",
        ".victim",
        "nul\0byte",
        "new\nline",
        "tab\tname",
        "bell\x07",
        "esc\x1b[31m",
        "del\x7f",
        &long,
        "./victim",
        "victim/",
        "/",
        // Suffixes the store adds itself.
        "weights.dat",
        "victim.npy",
        "meta.json",
        "UPPER.DAT",
        "victim.dat.json",
    ];
    for name in &hostile {
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let err = unsafe { store.create_array::<u8>(name, &[1]) }.unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
        assert!(
            // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
            matches!(
                unsafe { store.open_array::<u8>(name) },
                Err(Error::InvalidName { .. })
            ),
            "{name:?}"
        );
        assert!(
            matches!(
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                unsafe { store.open_array_mut::<u8>(name) },
                Err(Error::InvalidName { .. })
            ),
            "{name:?}"
        );
        assert!(
            matches!(store.remove(name), Err(Error::InvalidName { .. })),
            "{name:?}"
        );
        assert!(
            matches!(store.rename("victim", name), Err(Error::InvalidName { .. })),
            "{name:?}"
        );
        assert!(
            matches!(store.rename(name, "fresh"), Err(Error::InvalidName { .. })),
            "{name:?}"
        );
        assert!(!store.contains(name));
    }
    assert_eq!(
        snapshot(root.path()),
        before,
        "a hostile name changed the tree"
    );
    // The longest allowed name works.
    let longest = "y".repeat(mmarray::store::MAX_NAME_BYTES);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array::<u8>(&longest, &[1]) }.unwrap();
    assert!(store.contains(&longest));
}

#[test]
fn symlinks_in_the_store_are_never_followed_out() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::create(root.path().join("store")).unwrap();
    std::fs::write(root.path().join("target.dat"), b"outside!").unwrap();
    std::os::unix::fs::symlink(
        root.path().join("target.dat"),
        root.path().join("store/link.dat"),
    )
    .unwrap();
    // Creating over the link fails (it exists) rather than writing through it.
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.create_array::<u8>("link", &[8]) },
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        std::fs::read(root.path().join("target.dat")).unwrap(),
        b"outside!"
    );
}

#[test]
fn sharded_arrays_concatenate_along_axis_0() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let rows = |start: usize, n: usize| {
        Array2::from_shape_fn((n, 3), |(r, c)| ((start + r) * 3 + c) as u32)
    };
    // Shards of 4, 0, 3 and 5 rows, one in F order, one .npy.
    let mut start = 0;
    for (i, n) in [4usize, 0, 3, 5].into_iter().enumerate() {
        let mut opts = CreateOptions::new();
        if i == 2 {
            opts.order(Order::F);
        }
        if i == 3 {
            opts.format(Format::Npy);
        }
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let mut a =
            unsafe { store.create_array_with::<u32>(&format!("part-{i:04}"), &[n, 3], &opts) }
                .unwrap();
        a.view_mut().assign(&rows(start, n).into_dyn());
        start += n;
    }
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array::<u32>("other", &[2, 3]) }.unwrap();

    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let all = unsafe { store.open_sharded::<u32>("part-") }.unwrap();
    assert_eq!(
        (all.len(), all.row_shape(), all.shards().len()),
        (12, &[3usize][..], 4)
    );
    for r in 0..12 {
        assert_eq!(all.row(r).unwrap(), rows(r, 1).row(0).into_dyn(), "row {r}");
    }
    assert!(all.row(12).is_none());
    assert_eq!(all.locate(4), Some((2, 0)));
    assert_eq!(all.locate(7), Some((3, 0)));
    // Reads that cross boundaries, zero-copy pieces or one copy.
    assert_eq!(all.read_rows(2..9).unwrap(), rows(2, 7).into_dyn());
    let pieces = all.row_views(2..9).unwrap();
    assert_eq!(
        pieces.iter().map(|p| p.shape()[0]).collect::<Vec<_>>(),
        vec![2, 3, 2]
    );
    assert_eq!(all.read_rows(5..5).unwrap().shape(), &[0, 3]);
    assert!(matches!(
        all.read_rows(3..13),
        Err(Error::InvalidArgument { .. })
    ));
    let per_shard: Vec<usize> = all.shard_views().map(|v| v.shape()[0]).collect();
    assert_eq!(per_shard, vec![4, 0, 3, 5]);

    // Mismatched trailing shapes and unknown prefixes are errors.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array::<u32>("bad-0", &[2, 3]) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    unsafe { store.create_array::<u32>("bad-1", &[2, 4]) }.unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { store.open_sharded::<u32>("bad-") }.unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { ref expected, ref found, .. } if expected == &[3] && found == &[4]),
        "{err:?}"
    );
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_sharded::<u32>("nothing") },
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { ShardedArray::<u32>::open(Vec::<&Path>::new()) },
        Err(Error::InvalidArgument { .. })
    ));
}

/// `Store::resolve`: `DIR/NAME` is array NAME's data file in either format;
/// anything that exists (a file, a directory, even a dangling link) is
/// itself; outside a store nothing is resolved; in a store, a name it does
/// not or cannot hold is an error, and nothing is touched.
#[test]
fn resolve_names_a_stores_arrays_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let store = Store::create(&runs).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<f32>("loss", &[3]) }.unwrap());
    let mut npy = CreateOptions::new();
    npy.format(Format::Npy);
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array_with::<u8>("w", &[2], &npy) }.unwrap());
    let before = snapshot(dir.path());

    assert_eq!(
        Store::resolve(runs.join("loss")).unwrap(),
        Some(runs.join("loss.dat"))
    );
    assert_eq!(
        Store::resolve(runs.join("w")).unwrap(),
        Some(runs.join("w.npy"))
    );
    for itself in ["loss.dat", "loss.dat.json", "w.npy", "mmarray-store.json"] {
        assert_eq!(Store::resolve(runs.join(itself)).unwrap(), None, "{itself}");
    }
    assert_eq!(Store::resolve(&runs).unwrap(), None);
    std::os::unix::fs::symlink(runs.join("gone"), runs.join("dangling")).unwrap();
    assert_eq!(Store::resolve(runs.join("dangling")).unwrap(), None);
    std::fs::remove_file(runs.join("dangling")).unwrap();

    // Outside a store: left to the caller, whatever the name.
    assert_eq!(Store::resolve(dir.path().join("loss")).unwrap(), None);
    assert_eq!(Store::resolve(runs.join("loss.dat/x")).unwrap(), None);
    assert_eq!(Store::resolve("/").unwrap(), None);

    assert!(matches!(
        Store::resolve(runs.join("missing")),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        Store::resolve(runs.join(".hidden")),
        Err(Error::InvalidName { .. })
    ));
    // A file name that does not exist is a file's name, left to the caller
    // (which then says it is not found), not a refused array name.
    for file in ["gone.npy", "gone.dat", "gone.dat.json"] {
        assert_eq!(Store::resolve(runs.join(file)).unwrap(), None, "{file}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_name_ending_in_a_store_suffix_is_refused_with_the_name_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path().join("s")).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    let err = unsafe { store.create_array::<f32>("weights.dat", &[2]) }.unwrap_err();
    assert!(
        matches!(err, Error::InvalidName { ref name, .. } if name == "weights.dat"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: invalid array name \"weights.dat\": names must not end in .dat, .json or .npy: the store adds the file's suffix itself (name the array \"weights\", and it is stored as weights.dat)",
            store.path().display()
        )
    );
    assert!(!dir.path().join("s/weights.dat.dat").exists());
    // Dots elsewhere are fine.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<f32>("v1.2-data", &[2]) }.unwrap());
    assert!(dir.path().join("s/v1.2-data.dat").is_file());
}

#[test]
fn creating_a_store_where_one_is_says_to_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    Store::create(&runs).unwrap();
    let err = Store::create(&runs).unwrap_err();
    assert!(
        matches!(err, Error::StoreExists { ref path } if path == &runs),
        "{err:?}"
    );
    assert_eq!(err.path(), runs);
    let message = err.to_string();
    assert_eq!(
        message,
        format!(
            "{}: is a store already (it has a mmarray-store.json); open it with `Store::open`, or remove the directory to make a new store there",
            runs.display()
        )
    );
    assert!(
        !message.contains("overwrite"),
        "Store::create has no overwrite"
    );
    Store::open(&runs).unwrap();
}

#[test]
fn one_broken_array_is_listed_with_its_error_and_hides_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    let store = Store::create(&s).unwrap();
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<f32>("a-good", &[3]) }.unwrap());
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<u8>("z-good", &[2, 2]) }.unwrap());
    // A sidecar that is not JSON, a .npy file with a bad magic, a data file
    // shorter than its sidecar says, and a name the store refuses (written
    // by hand, or by a version that allowed it).
    std::fs::write(s.join("b-json.dat"), [0u8; 4]).unwrap();
    std::fs::write(s.join("b-json.dat.json"), "{not json").unwrap();
    std::fs::write(s.join("c-npy.npy"), b"not a numpy file").unwrap();
    std::fs::write(s.join("d-short.dat"), [0u8; 4]).unwrap();
    std::fs::write(
        s.join("d-short.dat.json"),
        r#"{"version": 1, "dtype": "<f8", "shape": [10]}"#,
    )
    .unwrap();
    std::fs::write(s.join("e.dat.dat"), [0u8; 4]).unwrap();
    std::fs::write(
        s.join("e.dat.dat.json"),
        r#"{"version": 1, "dtype": "|u1", "shape": [4]}"#,
    )
    .unwrap();

    let entries = store.list().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        ["a-good", "b-json", "c-npy", "d-short", "e.dat", "z-good"]
    );
    assert_eq!(entries[0].layout().unwrap().shape(), &[3]);
    assert_eq!(entries[5].layout().unwrap().shape(), &[2, 2]);
    assert!(entries[0].error().is_none());
    assert!(
        matches!(entries[1].error(), Some(Error::MalformedSidecar { path, .. }) if path == &s.join("b-json.dat.json"))
    );
    assert!(
        matches!(entries[2].error(), Some(Error::MalformedNpy { .. })),
        "{:?}",
        entries[2]
    );
    assert!(matches!(
        entries[3].layout(),
        Err(Error::DataTooShort {
            needed: 80,
            actual: 4,
            ..
        })
    ));
    assert!(matches!(entries[4].info(), Err(Error::InvalidName { name, .. }) if name == "e.dat"));
    for (entry, file) in entries.iter().zip([
        "a-good.dat",
        "b-json.dat",
        "c-npy.npy",
        "d-short.dat",
        "e.dat.dat",
        "z-good.dat",
    ]) {
        assert_eq!(entry.path(), s.join(file));
    }
    // What the entry says is what opening it says.
    assert_eq!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_array::<f32>("b-json") }
            .unwrap_err()
            .to_string(),
        entries[1].error().unwrap().to_string()
    );
    // Shards: a broken one among those asked for fails the open with its
    // error; broken arrays of other names do not matter.
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    drop(unsafe { store.create_array::<u8>("part-0", &[1, 2]) }.unwrap());
    // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
    assert_eq!(
        unsafe { store.open_sharded::<u8>("part-") }.unwrap().len(),
        1
    );
    std::fs::write(s.join("part-1.dat"), [0u8; 2]).unwrap();
    std::fs::write(s.join("part-1.dat.json"), "[]").unwrap();
    assert!(matches!(
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        unsafe { store.open_sharded::<u8>("part-") },
        Err(Error::MalformedSidecar { .. })
    ));
    assert!(entries.into_iter().next().unwrap().into_info().is_ok());
}
