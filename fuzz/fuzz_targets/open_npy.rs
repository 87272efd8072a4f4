//! Arbitrary bytes as a file `x.npy`, opened through every public read
//! path: `inspect`, `DynArray::open` (then a view and stats of it),
//! `read_array` as the file's own element type and as `f32`, and
//! `Stats::of_path`. Each returns `Ok` or a typed error naming the file;
//! none panics, hangs or allocates more than the file could justify (run
//! with `-malloc_limit_mb`, see ../README.md). Whatever opens fits in the
//! file.
#![no_main]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mmarray::{DynArray, Format, Stats, dispatch, dispatch_type, read_array};

/// `x.npy` in a directory of this process's own: in /dev/shm (memory, no
/// disk writes) when there is one, else the system's temporary directory.
fn file_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("mmarray-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the fuzz directory");
        dir.join("x.npy")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = file_path();
    std::fs::write(path, data).expect("writing the fuzz input");
    let file_len = data.len() as u64;

    let inspected = match mmarray::inspect(path) {
        Ok(info) => {
            assert_eq!(info.format(), Format::Npy);
            assert_eq!(info.path(), path);
            assert!(info.attrs().is_empty());
            common::check_layout(info.layout());
            assert!(info.layout().end() <= file_len, "{:?}", info.layout());
            Some(info)
        }
        Err(err) => {
            common::check_error(&err, path);
            None
        }
    };

    match DynArray::open(path) {
        Ok(array) => {
            let info = inspected
                .as_ref()
                .expect("DynArray opened what inspect refused");
            assert_eq!(array.info(), info);
            let layout = info.layout();
            let (shape, count) = dispatch!(&array, |a| {
                let view = a.view();
                let stats = Stats::compute(a.as_slice(), |_| {});
                (view.shape().to_vec(), stats.count)
            });
            assert_eq!(shape, layout.shape());
            assert_eq!(count, layout.len() as u64);
        }
        Err(err) => common::check_error(&err, path),
    }

    if let Some(info) = &inspected {
        let layout = info.layout();
        let element = layout.dtype().element_type();
        match dispatch_type!(element, |T| read_array::<T>(path)
            .map(|a| a.shape().to_vec()))
        {
            Ok(shape) => assert_eq!(shape, layout.shape()),
            // The one error left once `inspect` succeeded: a bool byte.
            Err(err) => {
                common::check_error(&err, path);
                assert!(matches!(err, mmarray::Error::InvalidBool { .. }), "{err:?}");
            }
        }
    }
    match read_array::<f32>(path) {
        Ok(array) => assert_eq!(
            Some(array.shape()),
            inspected.as_ref().map(|i| i.layout().shape())
        ),
        Err(err) => common::check_error(&err, path),
    }

    match Stats::of_path(path, |_| {}) {
        Ok(stats) => {
            let info = inspected.as_ref().expect("stats read what inspect refused");
            assert_eq!(stats.count, info.layout().len() as u64);
        }
        Err(err) => common::check_error(&err, path),
    }
});
