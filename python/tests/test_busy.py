"""Busy across processes, both ways, with a real second process."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mmarray

HOLDER = """
import sys, numpy as np, mmarray
h = mmarray.open(sys.argv[1], sys.argv[2])
if sys.argv[3] == "append":
    h.append(np.ones((1,) + h.shape[1:], dtype=h.dtype))
print("ready", flush=True)
sys.stdin.readline()
"""


class Holder:
    """A Python process holding a handle until told to go."""

    def __init__(self, path, mode, action="hold"):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(HOLDER), str(path), mode, action],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", self.proc.stderr.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.communicate("go\n", timeout=30)
        assert self.proc.returncode == 0


def test_resize_down_while_another_process_maps(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (100, 2), "f4")
    with Holder(p, "r"):
        with pytest.raises(mmarray.Busy) as info:
            h.resize(10)
        assert info.value.path == str(p)
        assert h.shape == (100, 2)
    h.resize(10)
    assert h.shape == (10, 2)


def test_another_process_resizing_down_while_we_map(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.create(p, (100, 2), "f4").close()
    h = mmarray.open(p)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mmarray\n"
            "try:\n"
            "    mmarray.open(sys.argv[1], 'r+').resize(10)\n"
            "except mmarray.Busy:\n"
            "    sys.exit(3)\n",
            str(p),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert h.shape == (100, 2)
    h.close()


def test_second_appender_in_another_process_is_busy(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.create(p, (0, 3), "i8").close()
    with Holder(p, "r+", "append"):
        h = mmarray.open(p, "r+")
        with pytest.raises(mmarray.Busy):
            h.append(np.ones((1, 3), "i8"))
        h.close()
    h = mmarray.open(p, "r+")
    h.append(np.ones((1, 3), "i8"))  # the first one closed: our turn
    assert h.shape == (2, 3)


# Against a real Rust process: examples/resize.rs, built by cargo.


def test_python_mapping_makes_a_rust_resize_down_busy(tmp_path, rust_resize):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.arange(200, dtype="<f8").reshape(100, 2))
    h = mmarray.open(p)
    view = h.array[90:]
    proc = subprocess.run([rust_resize, str(p), "10"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr  # Busy
    assert "busy" in proc.stderr.lower() or "mapped" in proc.stderr.lower(), proc.stderr
    # Nothing was truncated under us: the view still reads.
    assert np.array_equal(view, np.arange(180, 200, dtype="<f8").reshape(10, 2))
    assert h.shape == (100, 2)
    del view
    h.close()
    proc = subprocess.run([rust_resize, str(p), "10"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with mmarray.open(p) as h:
        assert h.shape == (10, 2)
        assert np.array_equal(h.array, np.arange(20, dtype="<f8").reshape(10, 2))


def test_rust_growing_while_python_maps_is_allowed(tmp_path, rust_resize):
    p = tmp_path / "a.dat"
    mmarray.create(p, (10, 2), "i4").close()
    with mmarray.open(p) as h:
        proc = subprocess.run([rust_resize, str(p), "50"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert h.shape == (10, 2)
    with mmarray.open(p) as h:
        assert h.shape == (50, 2)


def test_rust_mapping_makes_a_python_resize_down_busy(tmp_path, rust_resize):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.arange(300, dtype="<i4").reshape(100, 3))
    h = mmarray.open(p, "r+")
    holder = subprocess.Popen(
        [rust_resize, str(p), "0", "--hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline()
        assert line.strip() == "ready", holder.stderr.read()
        with pytest.raises(mmarray.Busy) as info:
            h.resize(10)
        assert info.value.path == str(p)
        assert h.shape == (100, 3)
        assert np.array_equal(h.array, np.arange(300, dtype="<i4").reshape(100, 3))
        h.resize(120)  # growing is fine while others map it
        assert h.shape == (120, 3)
    finally:
        holder.communicate("go\n", timeout=30)
    assert holder.returncode == 0, holder.stderr
    h.resize(10)  # the Rust process is gone: our turn
    assert h.shape == (10, 3)
    h.close()
    with mmarray.open(p) as h:
        assert np.array_equal(h.array, np.arange(30, dtype="<i4").reshape(10, 3))
