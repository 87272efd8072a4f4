"""Writes through "r+" reach the file's pages at once; "c" never does."""

import os

import numpy as np

import mmarray
from conftest import run_python


def test_r_plus_write_seen_by_np_memmap_in_another_process(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (1000,), "f4")
    h.array[123] = 4.5  # no flush, no close
    proc = run_python(
        """
        import sys, numpy as np
        m = np.memmap(sys.argv[1], dtype="<f4", mode="r", shape=(1000,))
        print(float(m[123]))
        """,
        p,
    )
    assert float(proc.stdout) == 4.5
    h.close()


def test_npy_r_plus_write_seen_by_np_load_mmap(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.zeros((3, 3)))
    h = mmarray.open(p, "r+")
    h.array[1, 2] = -1.0
    proc = run_python("import sys, numpy as np; print(np.load(sys.argv[1], mmap_mode='r')[1, 2])", p)
    assert float(proc.stdout) == -1.0


def test_copy_on_write_never_reaches_the_file(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.arange(10, dtype="i8"))
    before = p.read_bytes()
    with mmarray.open(p, "c") as h:
        v = h.array
        assert v.flags.writeable
        v[:] = -5
        assert (h.array == -5).all()
        h.flush()
        del v
    assert p.read_bytes() == before
    assert (mmarray.open(p).array == np.arange(10)).all()


def test_view_is_the_mapping_not_a_copy(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (4,), "u1")
    a, b = h.array, np.asarray(h)
    assert np.shares_memory(a, b)
    a[0] = 9
    assert b[0] == 9
    assert isinstance(a.base, object) and a.base is not None
    assert not a.flags.owndata
    assert os.path.getsize(p) == 4
