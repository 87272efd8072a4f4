"""Each exception class raised by its case, with `.path`; OS failures as the
OSError subclass of their errno, with errno and filename."""

import errno
import json
import os

import numpy as np
import pytest

import mmarray


def sidecar(path, **fields):
    doc = {"version": 1, "dtype": "<f4", "shape": [4], "order": "C", "offset": 0, "attrs": {}}
    doc.update(fields)
    (path.parent / (path.name + ".json")).write_text(json.dumps(doc))


def raises(cls, path, fn, *args, **kwargs):
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, mmarray.Error)
    assert info.value.path == str(path), (info.value.path, str(path))
    return info.value


def test_sidecar_missing(tmp_path):
    p = tmp_path / "a.dat"
    p.write_bytes(bytes(16))
    raises(mmarray.SidecarMissing, p, mmarray.open, p)


def test_malformed_sidecar(tmp_path):
    p = tmp_path / "a.dat"
    p.write_bytes(bytes(16))
    (tmp_path / "a.dat.json").write_text("{not json")
    raises(mmarray.MalformedSidecar, tmp_path / "a.dat.json", mmarray.open, p)


def test_unsupported_version(tmp_path):
    p = tmp_path / "a.dat"
    p.write_bytes(bytes(16))
    sidecar(p, version=99)
    raises(mmarray.UnsupportedVersion, tmp_path / "a.dat.json", mmarray.open, p)


def test_malformed_npy(tmp_path):
    p = tmp_path / "a.npy"
    p.write_bytes(b"\x93NUMPY\x01\x00" + b"\xff" * 40)
    raises(mmarray.MalformedNpy, p, mmarray.open, p)


def test_data_too_short(tmp_path):
    p = tmp_path / "a.dat"
    p.write_bytes(bytes(8))
    sidecar(p, shape=[4])
    raises(mmarray.DataTooShort, p, mmarray.open, p)


def shard_store(tmp_path, dtype, offset):
    """A store whose one shard "part-0" no typed mapping views in place."""
    store = mmarray.Store(tmp_path / "s", create=True)
    p = tmp_path / "s" / "part-0.dat"
    p.write_bytes(bytes(32))
    sidecar(p, dtype=dtype, offset=offset)
    return store, p


def test_misaligned_offset(tmp_path):
    # mmarray.open views such data unaligned in every mode, as np.memmap
    # does (test_numpy_conventions); reading rows across shards cannot.
    store, p = shard_store(tmp_path, "<f4", 1)
    raises(mmarray.MisalignedOffset, p, store.sharded, "part-")
    assert mmarray.open(p, "r+").array.shape == (4,)


def test_non_native_byte_order(tmp_path):
    # mmarray.open views it in its byte order in every mode
    # (test_numpy_conventions); reading rows across shards cannot, and
    # says how to get there in Python.
    store, p = shard_store(tmp_path, ">f4" if np.little_endian else "<f4", 0)
    err = raises(mmarray.NonNativeByteOrder, p, store.sharded, "part-")
    assert "mmarray.open(path, mode)" in str(err) and "read_array" not in str(err)
    assert mmarray.open(p, "c").array.shape == (4,)


def test_already_exists(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.create(p, 3, "f4").close()
    raises(mmarray.AlreadyExists, p, mmarray.create, p, 3, "f4")
    err = raises(mmarray.AlreadyExists, p, mmarray.save, p, np.zeros(3), overwrite=False)
    assert "overwrite=True" in str(err) and "overwrite(true)" not in str(err)
    mmarray.create(p, 5, "i2", overwrite=True).close()
    assert mmarray.info(p)["shape"] == [5]


def test_unknown_dtype(tmp_path):
    p = tmp_path / "a.dat"
    raises(mmarray.UnknownDtype, p, mmarray.create, p, 3, "U3")
    raises(mmarray.UnknownDtype, p, mmarray.save, p, np.array(["x"]))


def test_dtype_mismatch_on_append(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (0, 2), "i4")
    # Casts numpy's same_kind does not make (test_numpy_conventions has
    # those it makes), with numpy's names of the dtypes.
    err = raises(mmarray.DTypeMismatch, p, h.append, np.zeros((1, 2), "f8"))
    assert "float64" in str(err) and "int32" in str(err) and "<i4" not in str(err)
    raises(mmarray.DTypeMismatch, p, h.append, np.zeros((1, 2), "c8"))
    assert h.shape == (0, 2)


def test_shape_mismatch_on_append(tmp_path):
    p = tmp_path / "a.dat"
    h = mmarray.create(p, (0, 2), "f4")
    e = raises(mmarray.ShapeMismatch, p, h.append, np.zeros((1, 3), "f4"))
    assert "rows must have the trailing shape [2]" in str(e)
    # One row without its leading axis: the advice in numpy's spelling.
    e = raises(mmarray.ShapeMismatch, p, h.append, np.zeros(2, "f4"))
    assert str(e).endswith("this is one row: append row[np.newaxis] (shape [1, 2])"), str(e)
    h.append(np.zeros(2, "f4")[np.newaxis])
    assert h.shape == (1, 2)


def test_invalid_argument_append_to_npy(tmp_path):
    p = tmp_path / "a.npy"
    h = mmarray.create(p, (1, 2), "f4")
    raises(mmarray.InvalidArgument, p, h.append, np.zeros((1, 2), "f4"))


def test_compressed_member(tmp_path):
    p = tmp_path / "x.npz"
    np.savez_compressed(p, a=np.arange(100))
    raises(mmarray.CompressedMember, p, mmarray.open, f"{p}/a")


def test_busy_second_appender_in_process(tmp_path):
    p = tmp_path / "a.dat"
    first = mmarray.create(p, (0, 2), "u1")
    first.append(np.ones((1, 2), "u1"))
    second = mmarray.open(p, "r+")
    raises(mmarray.Busy, p, second.append, np.ones((1, 2), "u1"))


def test_file_not_found(tmp_path):
    p = tmp_path / "missing.dat"
    with pytest.raises(FileNotFoundError) as info:
        mmarray.open(p)
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(p)
    assert not isinstance(info.value, mmarray.Error)


def test_not_a_directory(tmp_path):
    parent = tmp_path / "file"
    parent.write_bytes(b"")
    with pytest.raises(OSError) as info:
        mmarray.create(parent / "a.dat", 3, "f4")
    assert info.value.errno == errno.ENOTDIR
    assert isinstance(info.value, NotADirectoryError)
    assert info.value.filename is not None


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_permission_error(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.create(p, 3, "f4").close()
    p.chmod(0)
    with pytest.raises(PermissionError) as info:
        mmarray.open(p)
    assert info.value.errno in (errno.EACCES, errno.EPERM)
    assert info.value.filename == str(p)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        mmarray.open(tmp_path / "a.dat", mode="w")
    with pytest.raises(ValueError):
        mmarray.create(tmp_path / "a.dat", 3, "f4", order="K")


def test_every_class_subclasses_error():
    for name in mmarray.__all__:
        obj = getattr(mmarray, name)
        if isinstance(obj, type) and issubclass(obj, BaseException) and obj is not mmarray.Error:
            assert issubclass(obj, mmarray.Error), name


def test_stats_of_a_file_truncated_mid_scan_raises_truncated(tmp_path):
    """A real truncation by another thread while ``stats`` (GIL released)
    reads the file: ``Truncated`` naming the file and the byte, no SIGBUS.
    The truncation waits until the scan is under way: it has read 16 MiB
    with pread (this process's read bytes in /proc/self/io), or it holds a
    read lease on the file (/proc/locks), in which case the truncation
    waits for the scan to let go of its mapping; a try in which the scan
    finished first is repeated."""
    import threading
    import time

    p = tmp_path / "big.dat"
    size = 1 << 30
    mmarray.create(p, (size // 4,), "float32")  # sparse: costs no disk

    def read_bytes():
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))

    def leased():
        ino = os.stat(p).st_ino
        with open("/proc/locks") as f:
            return any("LEASE" in line and f":{ino} " in line for line in f)

    for _ in range(5):
        os.truncate(p, size)
        start = read_bytes()
        done = threading.Event()

        def cut():
            while not done.is_set() and read_bytes() - start < 16 << 20 and not leased():
                time.sleep(0.0005)  # each poll reads /proc too: a few KiB
            if not done.is_set():
                os.truncate(p, 64 << 20)

        t = threading.Thread(target=cut)
        t.start()
        try:
            mmarray.stats(p)
        except mmarray.Truncated as e:
            assert e.path == str(p)
            assert "byte" in str(e) and "\n" not in str(e), str(e)
            return
        finally:
            done.set()
            t.join()
    pytest.fail("the scan always finished before the truncation")
