"""info() and stats() give exactly the CLI's `info --json` / `stats --json`."""

import json
import subprocess
import threading

import numpy as np
import pytest

import mmarray
import mmarray_sidecar


def cli_json(cli, command, path):
    out = subprocess.run([cli, command, "--json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture
def files(tmp_path):
    mmarray_sidecar.save(tmp_path / "raw.dat", np.arange(12.0).reshape(3, 4), attrs={"units": "K", "nested": {"a": [1, None]}})
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6, dtype="i2").reshape(2, 3)))
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan, -np.inf, 3.0], dtype="f4"))
    np.save(tmp_path / "c.npy", np.array([1 + 2j, 3 - 4j], dtype="c16"))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3), dtype="u8"))
    np.save(tmp_path / "zerod.npy", np.array(True))
    np.savez(tmp_path / "x.npz", a=np.arange(5, dtype="u1"), b=np.ones((2, 2)))
    np.savez_compressed(tmp_path / "z.npz", a=np.arange(50, dtype="i4"))
    return tmp_path, ["raw.dat", "f.npy", "nan.npy", "c.npy", "empty.npy", "zerod.npy", "x.npz/a", "z.npz/a"]


def test_info_matches_cli(files, mmcli):
    root, names = files
    for name in names[:-1] + ["x.npz", "z.npz"]:
        assert mmarray.info(root / name) == cli_json(mmcli, "info", root / name), name


def test_stats_matches_cli(files, mmcli):
    root, names = files
    for name in names:
        assert mmarray.stats(root / name) == cli_json(mmcli, "stats", root / name), name


def test_info_and_stats_values(files):
    root, _ = files
    info = mmarray.info(root / "raw.dat")
    assert info == {
        "path": str(root / "raw.dat"),
        "format": "raw",
        "dtype": "<f8",
        "shape": [3, 4],
        "order": "C",
        "offset": 0,
        "nbytes": 96,
        "attrs": {"units": "K", "nested": {"a": [1, None]}},
    }
    s = mmarray.stats(root / "raw.dat")
    assert s["count"] == 12 and s["sum"] == 66.0 and s["min"] == 0.0 and s["max"] == 11.0
    c = mmarray.stats(root / "c.npy")
    assert c["sum"] == [4.0, -2.0]  # complex as [re, im]
    e = mmarray.stats(root / "empty.npy")
    assert e["count"] == 0 and e["min"] is None


def test_stats_releases_the_gil(tmp_path):
    # Another Python thread runs while stats works (would deadlock-free
    # serialise otherwise; here we only check both finish and agree).
    np.save(tmp_path / "big.npy", np.arange(4_000_000, dtype="f8"))
    results = []
    t = threading.Thread(target=lambda: results.append(mmarray.stats(tmp_path / "big.npy")))
    t.start()
    ticks = 0
    while t.is_alive():
        ticks += 1
    t.join()
    assert results[0]["count"] == 4_000_000
    assert ticks > 0
