"""Soundness with real processes (issue 21): handles inherited through
fork, sealed shared memory handed to a child, and copies that read with
pread when another program truncates a shard."""

from __future__ import annotations

import gc
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mmarray

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork, memfd and seals are Linux's")


def _in_child(body) -> int:
    """Runs `body()` in a fork child; returns the child's exit status (0 when
    `body` returned, 1 on an exception, the signal number + 128 if killed)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            body()
        except BaseException as e:  # noqa: BLE001 - reported through the exit code
            print(f"child failed: {e!r}", file=sys.stderr)
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def test_a_fork_child_cannot_shrink_or_append_through_the_parents_handle(tmp_path):
    path = tmp_path / "log.dat"
    h = mmarray.create(path, (0, 4), "f8")
    h.append(np.ones((100, 4)))
    h.commit()
    views = [h.array]  # the parent keeps a view of all 100 rows

    def child():
        assert views[0].shape == (100, 4)  # the inherited mapping reads
        views.clear()  # the child drops its copies of the parent's views
        gc.collect()
        for call in (lambda: h.resize(1), lambda: h.append(np.zeros((10, 4)))):
            try:
                call()
            except mmarray.ForkedHandle as e:
                assert "log.dat" in str(e) and "fork" in str(e)
            else:
                raise AssertionError("the child acted on the parent's locks")

    assert _in_child(child) == 0
    # The parent's view and file are whole; it still grows and shrinks.
    view = views[0]
    assert view.shape == (100, 4) and float(view.sum()) == 400.0
    assert mmarray.info(path)["shape"] == [100, 4]
    h.append(np.full((10, 4), 2.0))
    h.commit()
    assert mmarray.info(path)["shape"] == [110, 4]
    del view, views
    h.resize(5)
    assert mmarray.info(path)["shape"] == [5, 4]
    h.close()


def test_a_fork_childs_own_handle_is_its_own(tmp_path):
    """A child that opens the array itself gets locks of its own: its
    appends are refused while the parent appends (one appender at a time),
    and nothing the parent committed is lost."""
    path = tmp_path / "log.dat"
    h = mmarray.create(path, (0, 2), "i8")
    h.append(np.arange(20).reshape(10, 2))
    h.commit()

    def child():
        mine = mmarray.open(path, "r+")
        try:
            mine.append(np.zeros((10, 2), dtype="i8"))
        except mmarray.Busy:
            pass
        else:
            raise AssertionError("two appenders at once")
        mine.close()

    assert _in_child(child) == 0
    h.close()
    assert mmarray.info(path)["shape"] == [10, 2]
    with mmarray.open(path) as r:
        assert (r.array == np.arange(20).reshape(10, 2)).all()


def test_a_sealed_array_reaches_a_child_zero_copy_and_nobody_can_change_it():
    values = np.arange(24, dtype="<f4").reshape(4, 6)
    sealed = mmarray.seal(values, attrs={"units": "K", "step": 3})
    assert (sealed.array == values).all()
    assert sealed.array.flags.writeable is False
    with pytest.raises(ValueError):
        sealed.array[0, 0] = 1.0
    assert sealed.attrs == {"units": "K", "step": 3}
    child = textwrap.dedent(
        f"""
        import errno, mmap, os, mmarray, numpy as np
        s = mmarray.open_sealed({sealed.fd})
        assert (s.array == np.arange(24, dtype="<f4").reshape(4, 6)).all(), s.array
        assert s.attrs == {{"units": "K", "step": 3}}
        fd = os.open("/proc/self/fd/{sealed.fd}", os.O_RDWR)
        results = []
        for call in (
            lambda: os.pwrite(fd, b"x" * 8, 200),
            lambda: os.ftruncate(fd, 8),
            lambda: os.ftruncate(fd, 1 << 20),
            lambda: os.posix_fallocate(fd, 0, 1 << 20),
            lambda: mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE),
        ):
            try:
                call()
                results.append("allowed")
            except OSError as e:
                results.append("refused" if e.errno == errno.EPERM else f"errno {{e.errno}}")
        assert (s.array == np.arange(24, dtype="<f4").reshape(4, 6)).all()
        print(" ".join(results))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child],
        pass_fds=[sealed.fd],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused"] * 5


def _memfd(image: bytes, seals: int) -> int:
    import fcntl

    fd = os.memfd_create("t", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, image)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def test_open_sealed_refuses_unsealed_and_lying_descriptors(tmp_path):
    import fcntl

    all_seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(1000))
    image = npy.read_bytes()
    fds = []
    try:
        fds.append(_memfd(image, 0))
        with pytest.raises(mmarray.InvalidArgument, match="F_SEAL_WRITE"):
            mmarray.open_sealed(fds[-1])
        fds.append(_memfd(image, all_seals & ~fcntl.F_SEAL_WRITE))
        with pytest.raises(mmarray.InvalidArgument, match="F_SEAL_WRITE missing"):
            mmarray.open_sealed(fds[-1])
        fds.append(_memfd(image[: len(image) - 990 * 8], all_seals))
        with pytest.raises(mmarray.DataTooShort):
            mmarray.open_sealed(fds[-1])
        fds.append(_memfd(image, all_seals))
        s = mmarray.open_sealed(fds[-1])
        assert s.array.shape == (1000,) and s.array.dtype == np.float64
    finally:
        for fd in fds:
            os.close(fd)


def test_the_readmes_sealed_example_runs_as_written():
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    block = next(b for b in blocks if "mmarray.seal(" in b)
    out = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_reading_rows_of_a_shard_truncated_by_another_program_raises_truncated(tmp_path):
    """`Sharded.read_rows` and `Sharded[i]` are copies read with pread: a
    shard cut short under them is `mmarray.Truncated`, not SIGBUS (run in a
    child process, whose death by a signal the test would see)."""
    script = textwrap.dedent(
        f"""
        import os, mmarray, numpy as np
        store = mmarray.Store({str(tmp_path / "s")!r}, create=True)
        for k in range(2):
            with store.create_array(f"part-{{k:04d}}", (4096, 16), "f8") as h:
                h.array[...] = k + 1
                h.flush()
        s = store.sharded("part-")
        assert s.read_rows(4090, 4100).shape == (10, 16)
        os.truncate({str(tmp_path / "s" / "part-0001.dat")!r}, 4096)  # what `truncate` does
        for call in (lambda: s.read_rows(4000, 8000), lambda: s[6000]):
            try:
                call()
            except mmarray.Truncated as e:
                assert "part-0001.dat" in str(e), e
            else:
                raise AssertionError("read past a truncated shard")
        # The shard still whole is read as before.
        assert (s.read_rows(0, 10) == 1).all()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr}"
    assert out.stdout.strip() == "ok"


def test_r_plus_writers_and_readers_coexist_as_numpys_do(tmp_path):
    """Python's "r+" is numpy's: several writers of disjoint parts and
    readers map the file at once (the shared-write open)."""
    path = tmp_path / "a.dat"
    mmarray.save(path, np.zeros((4, 4)))
    a = mmarray.open(path, "r+")
    b = mmarray.open(path, "r+")
    r = mmarray.open(path, "r")
    a.array[:2] = 1.0
    b.array[2:] = 2.0
    assert float(r.array.sum()) == 2 * 4 + 4 * 4
    for h in (a, b, r):
        h.close()
