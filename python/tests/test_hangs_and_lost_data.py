"""Lost data, hangs and crashes a hostile user found (issue 22): bad bools
written, deadlocks between threads and finalisers, the GIL held while
waiting, 33 to 64 dimensions.

Each hang check runs in a fresh interpreter under a timeout (run_python):
a deadlock fails the test instead of hanging pytest.
"""

import numpy as np
import pytest

import mmarray
from conftest import run_python

TIMEOUT = 60


def bad_bools():
    """A bool array holding the byte 2 at element 3 (numpy accepts it)."""
    return np.frombuffer(b"\x00\x01\x00\x02\x01", dtype=bool)


@pytest.mark.parametrize("name", ["a.dat", "a.npy"])
def test_save_refuses_bool_bytes_other_than_0_or_1_naming_the_element(tmp_path, name):
    p = tmp_path / name
    with pytest.raises(mmarray.InvalidBool, match=r"element 3 .*byte 2") as info:
        mmarray.save(p, bad_bools())
    assert info.value.path == str(p)
    assert not p.exists()  # nothing half-written
    # An existing array is left as it was.
    mmarray.save(p, np.array([True, False]))
    with pytest.raises(mmarray.InvalidBool):
        mmarray.save(p, bad_bools())
    assert mmarray.open(p).array.tolist() == [True, False]


def test_append_refuses_bool_bytes_other_than_0_or_1_and_the_file_reopens(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (0,), bool)
    h.append(np.array([True, False]))
    with pytest.raises(mmarray.InvalidBool, match=r"element 3 .*byte 2"):
        h.append(bad_bools())
    h.close()
    a = mmarray.open(p).array  # a file mmarray wrote always reopens
    assert a.tolist() == [True, False]


def test_two_threads_publishing_one_staged_array_do_not_hang(tmp_path):
    run_python(
        """
        import sys, threading, numpy as np, mmarray
        d = sys.argv[1]
        for round in range(20):
            for second in ("publish", "discard"):
                staged = mmarray.stage(f"{d}/a{round}{second}.dat", 100_000, "f8")
                outcomes = []
                barrier = threading.Barrier(2)
                def call(what):
                    barrier.wait()
                    try:
                        getattr(staged, what)()
                        outcomes.append(what)
                    except ValueError as e:     # already published
                        outcomes.append("refused")
                threads = [threading.Thread(target=call, args=(w,)) for w in ("publish", second)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert len(outcomes) == 2, outcomes
                if second == "publish":
                    assert sorted(outcomes) == ["publish", "refused"], outcomes
        print("ok")
        """,
        tmp_path,
        timeout=TIMEOUT,
    )


def test_a_finaliser_touching_the_handle_while_array_runs_does_not_hang(tmp_path):
    run_python(
        """
        import gc, sys, numpy as np, mmarray
        p = sys.argv[1]
        mmarray.save(p, np.arange(12.0).reshape(3, 4))
        h = mmarray.open(p, "r+")
        touched = []

        class Finaliser:
            def __init__(self):
                self.cycle = self           # collected by the GC, anywhere
            def __del__(self):
                # The same handle, while h.array may be running below.
                touched.append((h.shape, h.dtype.str, float(h.array[0, 1])))
                h.flush()

        gc.set_threshold(1, 1, 1)           # a collection at almost every allocation
        for _ in range(3000):
            Finaliser()
            v = h.array
        gc.collect()
        assert touched and touched[-1] == ((3, 4), "<f8", 1.0), touched[-1:]
        print(len(touched))
        """,
        tmp_path / "a.dat",
        timeout=TIMEOUT,
    )


def test_threads_using_one_handle_at_once_do_not_hang(tmp_path):
    run_python(
        """
        import sys, threading, numpy as np, mmarray
        p = sys.argv[1]
        h = mmarray.create(p, (0, 8), "f8")
        errors = []
        def appender():
            try:
                for i in range(300):
                    h.append(np.full((50, 8), i, dtype="f8"))
                    if i % 50 == 0:
                        h.publish()
            except Exception as e:
                errors.append(e)
        def reader():
            try:
                for _ in range(3000):
                    a = h.array
                    assert a.shape[1] == 8 and len(h) >= a.shape[0]
                    h.flush()
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=f) for f in (appender, reader, reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        h.close()
        assert mmarray.open(p).shape == (300 * 50, 8)
        """,
        tmp_path / "a.dat",
        timeout=TIMEOUT,
    )


def test_open_waiting_for_another_exclusive_lock_releases_the_gil(tmp_path):
    # flock -x on the data file, as another process replacing it holds it.
    # If open() held the GIL while waiting, this interpreter's main thread
    # could never run again to release the lock: a hang, caught by the
    # timeout.
    run_python(
        """
        import fcntl, os, sys, threading, time, numpy as np, mmarray
        p = sys.argv[1]
        mmarray.save(p, np.arange(4.0))
        fd = os.open(p, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        started, opened = threading.Event(), threading.Event()
        def opener():
            started.set()
            with mmarray.open(p) as h:
                assert h.array.tolist() == [0.0, 1.0, 2.0, 3.0]
            opened.set()
        t = threading.Thread(target=opener)
        t.start()
        started.wait()
        ticks = 0
        until = time.monotonic() + 1.0
        while time.monotonic() < until:     # Python runs while open() waits
            ticks += 1
            time.sleep(0.01)
        assert ticks > 1 and not opened.is_set()
        fcntl.flock(fd, fcntl.LOCK_UN)
        t.join(30)
        assert opened.is_set()
        """,
        tmp_path / "a.dat",
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("ndim", [33, 40, 64])
def test_33_to_64_dimensions_as_numpy_2_allows(tmp_path, ndim):
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("numpy 1 stops at 32 dimensions")
    shape = (1,) * (ndim - 1) + (3,)
    h = mmarray.create(tmp_path / "c.dat", shape, "f4")
    a = h.array
    assert a.shape == shape
    a[...] = 1.5
    h.close()
    data = np.arange(3, dtype="i2").reshape(shape)
    for name in ("s.dat", "s.npy"):
        mmarray.save(tmp_path / name, data)
        assert np.array_equal(mmarray.open(tmp_path / name).array, data)
    assert np.array_equal(np.load(tmp_path / "s.npy"), data)
    with mmarray.open(tmp_path / "s.dat", "r+") as h:
        h.append(data)
        assert h.array.shape == (2,) + shape[1:]
    store = mmarray.Store(tmp_path / "store", create=True)
    for i in range(2):
        store.create_array(f"part-{i}", shape, "f8").close()
    rows = store.sharded("part-").read_rows(0, 2)
    assert rows.shape == (2,) + shape[1:] and not rows.any()


def test_65_dimensions_are_a_typed_error_not_a_panic(tmp_path):
    p = tmp_path / "a.dat"
    with pytest.raises(mmarray.Error):
        mmarray.create(p, (1,) * 65, "f4")


def test_a_forked_child_reads_the_parents_handle_and_gets_errors_not_hangs(tmp_path):
    run_python(
        """
        import os, sys, numpy as np, mmarray
        p = sys.argv[1]
        h = mmarray.create(p, (0, 3), "f8")
        h.append(np.ones((4, 3)))
        v = h.array
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                assert h.array.sum() == 12.0 and v.shape == (4, 3)
                try:
                    h.append(np.ones((1, 3)))   # the parent's locks: refused
                    code = 3
                except mmarray.ForkedHandle as e:
                    assert "process" in str(e), e
                h.close()                       # no hang, no panic
            except BaseException as e:
                print("child:", repr(e), file=sys.stderr)
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        h.append(np.zeros((1, 3)))             # the parent's handle still works
        del v
        h.close()
        assert mmarray.open(p).shape == (5, 3)
        """,
        tmp_path / "a.dat",
        timeout=TIMEOUT,
    )


def test_a_forked_child_never_publishes_or_removes_the_parents_staged_array(tmp_path):
    run_python(
        """
        import os, sys, numpy as np, mmarray
        d = sys.argv[1]
        staged = mmarray.stage(f"{d}/a.dat", 10, "i4")
        pid = os.fork()
        if pid == 0:
            try:
                staged.publish()
                code = 3
            except mmarray.ForkedHandle as e:
                code = 0 if "forked" in str(e) else 4
            sys.exit(code)   # a normal exit: the child's objects are finalised
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert os.path.exists(staged.path), "the child removed the parent's staged array"
        with mmarray.open(staged.path, "r+") as h:
            h.array[:] = 7
        staged.publish()
        assert mmarray.open(f"{d}/a.dat").array.tolist() == [7] * 10
        """,
        tmp_path,
        timeout=TIMEOUT,
    )


def test_bool_bytes_another_program_writes_after_open_are_no_panic(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.zeros(4, dtype=bool))
    h = mmarray.open(p)
    np.memmap(p, dtype=np.uint8, mode="r+")[2] = 7  # not 0 or 1, behind mmarray's back
    a = h.array  # numpy's view, as np.memmap gives: no PanicException
    assert a.dtype == bool and a.view(np.uint8)[2] == 7
    del a
    h.close()
    with pytest.raises(mmarray.InvalidBool, match="element 2"):
        mmarray.open(p)  # a new open checks, as always
