//! The CLI on `.npz` archives: `info x.npz` lists the members (`--json`:
//! name, dtype, shape, order, nbytes, compressed), and `info`, `stats`,
//! `show`, `plot` and `convert` take a member as `x.npz/name`, stored
//! (`np.savez`) or compressed (`np.savez_compressed`), with the results
//! they give for the same array saved alone as `.npy`. Needs numpy, as
//! `stats_numpy.rs`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

mod common;
use common::python;

fn mmarray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .expect("the mmarray binary runs")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = mmarray(args);
    assert!(
        out.status.success(),
        "mmarray {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const WRITE: &str = r#"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {
    "f8": rng.standard_normal((4, 6)),
    "f4": np.asfortranarray(rng.standard_normal((3, 5)).astype("<f4")),
    "i2": np.arange(-6, 6, dtype="<i2"),
    "u1": np.arange(12, dtype="u1").reshape(3, 4),
    "b": np.array([True, False, True]),
    "c16": (np.arange(4) + 1j * np.arange(4)).astype("<c16"),
}
arrays["f8"][1, 1] = np.nan
np.savez(d + "/s.npz", **arrays)
np.savez_compressed(d + "/c.npz", **arrays)
for k, a in arrays.items():
    np.save(d + "/" + k + ".npy", a)
"#;

#[test]
fn info_lists_members_and_every_command_takes_a_member() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .args(["-c", WRITE, p(dir.path())])
        .status()
        .unwrap();
    assert!(status.success());
    let names = ["f8", "f4", "i2", "u1", "b", "c16"];
    for (archive, compressed) in [("s.npz", false), ("c.npz", true)] {
        let path = dir.path().join(archive);
        let listed: Value =
            serde_json::from_str(&ok_stdout(&["info", p(&path), "--json"])).unwrap();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), names.len());
        for (entry, name) in listed.iter().zip(names) {
            let npy = dir.path().join(format!("{name}.npy"));
            let alone: Value =
                serde_json::from_str(&ok_stdout(&["info", p(&npy), "--json"])).unwrap();
            assert_eq!(
                entry,
                &json!({
                    "name": name,
                    "dtype": alone["dtype"],
                    "shape": alone["shape"],
                    "order": alone["order"],
                    "nbytes": alone["nbytes"],
                    "compressed": compressed,
                }),
                "{archive}"
            );
            let member = path.join(name);
            // `info` maps nothing, so a compressed member is described as a
            // stored one is (the regression: it said "cannot be mapped").
            let info: Value =
                serde_json::from_str(&ok_stdout(&["info", p(&member), "--json"])).unwrap();
            assert_eq!(info["format"], "npz", "{archive}/{name}");
            assert_eq!(info["path"], p(&path), "{archive}/{name}");
            for key in ["dtype", "shape", "order", "nbytes", "attrs"] {
                assert_eq!(info[key], alone[key], "{archive}/{name}: {key}");
            }
            let text = ok_stdout(&["info", p(&member)]);
            let kind = if compressed {
                "compressed (read as a copy)"
            } else {
                "stored (mapped in place)"
            };
            assert!(
                text.contains(&format!(".npz member {name:?}, {kind}")),
                "{text}"
            );
            // `convert` writes the member as `np.save` wrote it alone, byte
            // for byte.
            let out = dir.path().join(format!("{archive}-{name}.npy"));
            ok_stdout(&["convert", p(&member), p(&out)]);
            assert_eq!(
                std::fs::read(&out).unwrap(),
                std::fs::read(&npy).unwrap(),
                "convert {archive}/{name}"
            );
            assert_eq!(
                ok_stdout(&["stats", p(&member), "--json"]),
                ok_stdout(&["stats", p(&npy), "--json"]),
                "{archive}/{name}"
            );
            assert_eq!(
                ok_stdout(&["show", p(&member)]),
                ok_stdout(&["show", p(&npy)]),
                "{archive}/{name}"
            );
            if name != "b" && name != "c16" {
                let png = dir.path().join(format!("{archive}-{name}.png"));
                ok_stdout(&["plot", p(&member), "-o", p(&png)]);
                assert!(std::fs::metadata(&png).unwrap().len() > 1000);
            }
        }
        // The text listing names every member.
        let text = ok_stdout(&["info", p(&path)]);
        assert!(text.contains(".npz archive, 6 members"), "{text}");
        // A missing member is one line naming it.
        let out = mmarray(&["info", p(&path.join("nope"))]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("nope") && stderr.trim_end().lines().count() == 1,
            "{stderr}"
        );
    }
}

/// A compressed member (`np.savez_compressed`) is converted as a stored
/// one is, in the member's own byte order and memory order, with any cast;
/// the archive is never the destination (`same file`, exit 1, archive
/// unchanged), and nothing is left beside the destination.
#[test]
fn convert_takes_a_compressed_member_in_its_byte_and_memory_order() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(&python)
        .args([
            "-c",
            r#"
import sys, numpy as np
d = sys.argv[1]
np.savez_compressed(d + "/c.npz",
    be=np.arange(6, dtype=">f8").reshape(2, 3),
    f=np.asfortranarray(np.arange(12, dtype="<i2").reshape(3, 4)))
"#,
            p(dir.path()),
        ])
        .status()
        .unwrap();
    assert!(made.success());
    let archive = dir.path().join("c.npz");
    let before = std::fs::read(&archive).unwrap();
    let out = dir.path().join("be.dat");
    let said = ok_stdout(&["convert", p(&archive.join("be")), p(&out)]);
    assert!(said.starts_with("wrote "), "{said}");
    let info: Value = serde_json::from_str(&ok_stdout(&["info", p(&out), "--json"])).unwrap();
    assert_eq!(
        (&info["dtype"], &info["shape"]),
        (&json!(">f8"), &json!([2, 3]))
    );
    let out = dir.path().join("f.npy");
    ok_stdout(&[
        "convert",
        p(&archive.join("f")),
        p(&out),
        "--dtype",
        "float32",
    ]);
    let checked = Command::new(&python)
        .args([
            "-c",
            r#"
import sys, numpy as np
d = sys.argv[1]
be = np.fromfile(d + "/be.dat", dtype=">f8").reshape(2, 3)
assert (be == np.arange(6).reshape(2, 3)).all(), be
f = np.load(d + "/f.npy")
assert f.dtype == np.float32 and f.flags.f_contiguous, (f.dtype, f.flags)
assert (f == np.arange(12).reshape(3, 4)).all(), f
"#,
            p(dir.path()),
        ])
        .status()
        .unwrap();
    assert!(checked.success());
    // Onto the archive: refused, the archive as it was.
    let onto = mmarray(&["convert", p(&archive.join("f")), p(&archive), "--force"]);
    assert_eq!(onto.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&onto.stderr);
    assert!(
        stderr.contains("same file") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(std::fs::read(&archive).unwrap(), before);
    // Only the archive and the two outputs (with be.dat's sidecar): the
    // inflated copy is gone.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["be.dat", "be.dat.json", "c.npz", "f.npy"]);
}
