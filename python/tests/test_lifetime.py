"""Views outlive close() attempts, the handle and remaps without crashing.

Each check runs in a fresh interpreter (run_python): a use-after-unmap would
be a SIGSEGV/SIGBUS there, failing the test instead of killing pytest.
"""

import numpy as np
import pytest

import mmarray
from conftest import run_python


def test_close_with_views_alive_closes_the_handle_and_leaves_the_mapping_to_them(tmp_path):
    run_python(
        """
        import sys, gc, numpy as np, mmarray
        p = sys.argv[1]
        mmarray.save(p, np.arange(1000.0))
        h = mmarray.open(p, "r+")
        v = h.array[10:20]          # a slice: its base chain ends at the owner
        v[0] = -1.0
        h.close()                   # no BufferError: flushed, handle closed
        assert h.closed
        try:
            h.array
            raise SystemExit("array after close should raise")
        except ValueError:
            pass
        h.close()                   # closing twice is fine
        assert v.sum() == sum(range(11, 20)) - 1   # still mapped
        # The view holds the mapping's shared lock: replacing the file waits
        # for it to go.
        try:
            mmarray.save(p, np.zeros(3))
            raise SystemExit("replacing a mapped file should be Busy")
        except mmarray.Busy:
            pass
        del v
        gc.collect()                # the last view: unmapped, lock released
        mmarray.save(p, np.zeros(3))
        assert mmarray.open(p).array.tolist() == [0.0, 0.0, 0.0]
        """,
        tmp_path / "a.dat",
    )


def test_views_outlive_the_handle(tmp_path):
    run_python(
        """
        import sys, gc, numpy as np, mmarray
        p = sys.argv[1]
        mmarray.save(p, np.arange(1 << 20, dtype=np.int64))
        v = mmarray.open(p).array          # the handle is gone at once
        gc.collect()
        w = mmarray.open(p, "r+").array[::2]
        gc.collect()
        assert v[-1] == (1 << 20) - 1
        w[0] = 42                          # through a dead r+ handle's mapping
        assert v[0] == 42
        """,
        tmp_path / "a.dat",
    )


def test_views_survive_append_remaps(tmp_path):
    run_python(
        """
        import sys, gc, numpy as np, mmarray
        p = sys.argv[1]
        h = mmarray.create(p, (0, 4), "f8")
        h.append(np.ones((10, 4)))
        old = h.array
        views = []
        for i in range(50):                   # grows well past 1 MiB: remaps
            h.append(np.full((5000, 4), i, dtype="f8"))
            views.append(h.array[-1])
        assert h.shape == (10 + 50 * 5000, 4)
        assert old.shape == (10, 4) and (old == 1).all()
        assert [v[0] for v in views] == list(range(50))
        old[0, 0] = 7.0                       # old mapping, same file pages
        assert h.array[0, 0] == 7.0
        del h                                 # the views keep everything mapped
        gc.collect()
        assert views[-1][0] == 49 and old[0, 0] == 7.0
        """,
        tmp_path / "a.dat",
    )


def test_resize_down_refused_while_views_alive(tmp_path):
    run_python(
        """
        import sys, gc, os, numpy as np, mmarray
        p = sys.argv[1]
        h = mmarray.create(p, (100, 3), "u2")
        v = h.array
        h.resize(1000)                         # growing is fine
        try:
            h.resize(10)
            raise SystemExit("resize down should raise BufferError")
        except BufferError:
            pass
        assert v.shape == (100, 3) and int(v.sum()) == 0
        del v
        gc.collect()
        h.resize(10)
        assert h.shape == (10, 3)
        h.close()
        assert os.path.getsize(p) == 10 * 3 * 2
        """,
        tmp_path / "a.dat",
    )


def test_context_manager_closes(tmp_path):
    p = tmp_path / "a.dat"
    with mmarray.create(p, (0, 2), "i4") as h:
        h.append(np.array([[1, 2], [3, 4]], dtype="i4"))
    assert h.closed
    assert mmarray.info(p)["shape"] == [2, 2]
    import os

    assert os.path.getsize(p) == 16  # spare capacity trimmed on close


def test_the_with_idiom_keeps_views_usable_after_the_block(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.arange(6.0).reshape(2, 3))
    with mmarray.open(p) as h:
        a = h.array
    assert h.closed
    assert a.sum() == 15.0 and a[1, 2] == 5.0
    with mmarray.open(p, "r+") as h:
        b = h.array
    b[0, 0] = 42.0                  # the mapping lives on in b
    del b
    assert mmarray.open(p).array[0, 0] == 42.0


def test_an_exception_in_the_block_propagates_with_a_view_alive(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.zeros(3))
    with pytest.raises(KeyError, match="inside"):
        with mmarray.open(p) as h:
            keep = h.array
            raise KeyError("inside")
    assert h.closed and keep.shape == (3,)


def test_read_only_view_cannot_be_made_writable(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.zeros(3))
    v = mmarray.open(p).array
    with pytest.raises(ValueError):
        v[0] = 1
    with pytest.raises(ValueError):
        v.setflags(write=True)
