//! The CLI on `.npz` archives: `info x.npz` lists the members (`--json`:
//! name, dtype, shape, order, nbytes, compressed), and `info`, `stats`,
//! `show` and `plot` take a member as `x.npz/name`, stored (`np.savez`) or
//! compressed (`np.savez_compressed`), with the results they give for the
//! same array saved alone as `.npy`. Needs numpy, as `stats_numpy.rs`.

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
            if !compressed {
                let info: Value =
                    serde_json::from_str(&ok_stdout(&["info", p(&member), "--json"])).unwrap();
                assert_eq!(info["format"], "npz");
                assert_eq!(info["shape"], alone["shape"]);
            }
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
