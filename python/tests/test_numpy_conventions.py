"""numpy's conventions in the Python package (issue 22): the other byte
order and unaligned data viewed as np.memmap views them, exact integer
sums, same_kind casts on append, save replacing as np.save does, and errors
in Python's spelling that name the file."""

import hashlib
import io
import json
import struct

import numpy as np
import pytest

import mmarray

OTHER = ">" if np.little_endian else "<"


def shares_the_mapping(a, b):
    return np.shares_memory(a, b) and not a.flags.owndata


@pytest.mark.parametrize("dtype", ["f4", "i8", "u2", "c16", "f2"])
@pytest.mark.parametrize("name", ["a.npy", "a.dat"])
def test_the_other_byte_order_opens_as_np_memmap_does_zero_copy(tmp_path, dtype, name):
    data = np.arange(12).reshape(3, 4).astype(OTHER + dtype)
    p = tmp_path / name
    mmarray.save(p, data)
    with mmarray.open(p) as h:
        a = h.array
        assert a.dtype == np.dtype(OTHER + dtype)
        assert np.array_equal(a, data) and not a.flags.writeable
        assert shares_the_mapping(a, h.array)
    if name.endswith(".npy"):
        m = np.load(p, mmap_mode="r")
        assert m.dtype == a.dtype and np.array_equal(m, a)


def unaligned_npy(path, data):
    """A valid .npy file (numpy loads it) whose data starts at byte 67."""
    header = repr({"descr": data.dtype.str, "fortran_order": False, "shape": data.shape}).encode()
    header = header + b" " * (67 - 10 - len(header) - 1) + b"\n"
    assert 10 + len(header) == 67
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data.tobytes())


def test_data_at_an_unaligned_offset_is_an_unaligned_view_as_numpy_gives(tmp_path):
    p = tmp_path / "a.npy"
    data = np.arange(10, dtype="f8")
    unaligned_npy(p, data)
    assert np.array_equal(np.load(p), data)
    with mmarray.open(p) as h:
        a = h.array
        assert np.array_equal(a, data) and not a.flags.aligned
        assert a.dtype == data.dtype and shares_the_mapping(a, h.array)
    assert mmarray.stats(p)["sum"] == 45.0


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_numpy_views_as_it_is(tmp_path, kind, name="a.npy"):
    """A file no typed mapping views in place, its dtype, where its data
    starts, and its values: the other byte order (through np.save, or
    mmarray.save for a raw file) or data at byte 67 (.npy by hand)."""
    p = tmp_path / name
    data = np.arange(10, dtype="f8") * 1.5
    if kind == "other":
        dtype = np.dtype(OTHER + "f8")
        if name.endswith(".npy"):
            np.save(p, data.astype(dtype))
        else:
            mmarray.save(p, data.astype(dtype))
        offset = mmarray.info(p)["offset"]
    else:
        dtype = np.dtype("f8")
        unaligned_npy(p, data)
        offset = 67
    return p, dtype, offset, data


CASES = [("other", "a.npy"), ("other", "a.dat"), ("unaligned", "a.npy")]


@pytest.mark.parametrize("kind,name", CASES)
def test_r_plus_of_the_other_byte_order_or_unaligned_data_writes_the_file_as_np_memmap_does(tmp_path, kind, name):
    p, dtype, offset, data = file_numpy_views_as_it_is(tmp_path, kind, name)
    m = np.memmap(p, dtype=dtype, mode="r+", offset=offset, shape=data.shape)
    with mmarray.open(p, "r+") as h:
        a = h.array
        assert a.dtype == dtype and a.dtype == m.dtype and np.array_equal(a, m)
        assert a.flags.writeable and shares_the_mapping(a, h.array)
        assert a.flags.aligned == (kind != "unaligned")
        a[3] = 42.25
        a[-1] += 1
        # Another mmarray handle (a reader, and np.memmap) sees the writes at once.
        assert mmarray.open(p).array[3] == 42.25 and m[3] == 42.25
        h.flush()
        expected = data.copy()
        expected[3], expected[-1] = 42.25, data[-1] + 1
        assert np.array_equal(np.fromfile(p, dtype=dtype, offset=offset), expected)
        if name.endswith(".npy"):
            loaded = np.load(p)
            assert loaded.dtype == dtype and np.array_equal(loaded, expected)
        # Writes through np.memmap show through the handle's array too.
        m[0] = -7.0
        m.flush()
        assert a[0] == -7.0
        # Growth goes through the typed array, which cannot view these bytes.
        with pytest.raises(mmarray.InvalidArgument, match="cannot append") as info:
            h.append(np.zeros(1))
        assert info.value.path == str(p)
        with pytest.raises(mmarray.InvalidArgument, match="cannot resize"):
            h.resize(20)
        h.publish()  # nothing to record: the length never changed
        a[1] = 5.0
        h.commit()  # flushes
        assert np.fromfile(p, dtype=dtype, offset=offset)[1] == 5.0
        a[2] = 6.0
    # Closing flushes, as the typed "r+" array does.
    assert np.fromfile(p, dtype=dtype, offset=offset)[2] == 6.0
    assert mmarray.open(p).array.tolist()[:4] == [-7.0, 5.0, 6.0, 42.25]
    del m


@pytest.mark.parametrize("kind,name", CASES)
def test_c_of_the_other_byte_order_or_unaligned_data_never_changes_the_file(tmp_path, kind, name):
    p, dtype, offset, data = file_numpy_views_as_it_is(tmp_path, kind, name)
    before = digest(p)
    m = np.memmap(p, dtype=dtype, mode="c", offset=offset, shape=data.shape)
    with mmarray.open(p, "c") as h:
        a = h.array
        assert a.dtype == dtype and np.array_equal(a, m) and np.array_equal(a, data)
        assert a.flags.writeable and shares_the_mapping(a, h.array)
        assert a.flags.aligned == (kind != "unaligned")
        a[:] = -1
        assert (h.array == -1).all(), "the handle's copy holds the writes"
        assert np.array_equal(mmarray.open(p).array, data), "other handles do not see them"
        h.flush()  # a no-op, as np.memmap's for mode "c"
        for grow in (lambda: h.append(np.zeros(1)), lambda: h.resize(20)):
            with pytest.raises(io.UnsupportedOperation):
                grow()
    assert digest(p) == before
    assert np.array_equal(np.fromfile(p, dtype=dtype, offset=offset), data)
    del m


def test_create_in_the_other_byte_order_gives_a_writable_array_of_that_dtype(tmp_path):
    for name in ("b.npy", "b.dat"):
        p = tmp_path / name
        with mmarray.create(p, (2, 3), OTHER + "i4", fill=7) as h:
            assert h.array.dtype == np.dtype(OTHER + "i4") and (h.array == 7).all()
            h.array[1, 2] = -5
        back = np.load(p) if name.endswith(".npy") else np.fromfile(p, dtype=OTHER + "i4").reshape(2, 3)
        assert back.dtype == np.dtype(OTHER + "i4") and back.tolist() == [[7, 7, 7], [7, 7, -5]]


def test_stats_of_uint64_beyond_2_64_are_exact_python_ints(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.full(5, 2**63 + 1, dtype="u8"))
    s = mmarray.stats(p)
    assert s["sum"] == 5 * (2**63 + 1) and isinstance(s["sum"], int)
    assert s["max"] == 2**63 + 1 and isinstance(s["max"], int)
    mmarray.save(p, np.full(3, -(2**63), dtype="i8"))
    assert mmarray.stats(p)["sum"] == -3 * 2**63


def test_append_casts_as_numpy_assignment_does(tmp_path):
    p = tmp_path / "a.dat"
    with mmarray.create(p, (0, 2), "f8") as h:
        h.append(np.array([[1, 2]], dtype="i4"))  # int32 into float64
        h.append(np.array([[3, 4]], dtype=OTHER + "f4"))  # the other byte order
        h.append([[5, 6]])  # a list
        assert h.array.tolist() == [[1, 2], [3, 4], [5, 6]]
    with mmarray.create(tmp_path / "b.dat", (0,), "i2") as h:
        h.append(np.array([1, 2], dtype="i8"))  # same_kind: int64 into int16
        assert h.array.tolist() == [1, 2]
        with pytest.raises(mmarray.DTypeMismatch, match=r"float32 .*int16|int16.*float32"):
            h.append(np.array([1.5], dtype="f4"))


def test_save_replaces_an_existing_array_as_np_save_does_but_not_while_mapped(tmp_path):
    for name in ("a.dat", "a.npy"):
        p = tmp_path / name
        mmarray.save(p, np.arange(3.0), attrs={"units": "K"})
        mmarray.save(p, np.arange(5, dtype="i2"))  # the README's snippet, twice
        assert mmarray.open(p).array.tolist() == [0, 1, 2, 3, 4]
        keep = mmarray.open(p).array
        with pytest.raises(mmarray.Busy) as info:
            mmarray.save(p, np.zeros(2))
        assert info.value.path == str(p)
        assert keep.tolist() == [0, 1, 2, 3, 4]
        del keep


def error(cls, path, fn, *args, **kwargs):
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, mmarray.Error)
    assert info.value.path == str(path), (info.value.path, str(path))
    text = str(info.value)
    assert str(path) in text
    for rust in ("overwrite(true)", "read_array", "ConvertOptions", "ByteOrder::", "mmarray::", "Store::"):
        assert rust not in text, text
    return text


def test_errors_say_what_is_wrong_name_the_file_and_use_python_spelling(tmp_path):
    p = tmp_path / "a.dat"
    assert "negative" in error(mmarray.InvalidArgument, p, mmarray.create, p, (-1, 3), "f4")
    assert "negative" in error(mmarray.InvalidArgument, p, mmarray.create, p, -2, "f4")
    assert "nan" in error(mmarray.InvalidArgument, p, mmarray.save, p, np.zeros(2), attrs={"x": float("nan")}).lower()
    assert "64 bits" in error(mmarray.InvalidArgument, p, mmarray.save, p, np.zeros(2), attrs={"big": [2**70]})
    assert "dict" in error(mmarray.InvalidArgument, p, mmarray.save, p, np.zeros(2), attrs=[1, 2])
    assert not p.exists()
    mmarray.save(p, np.zeros(2), attrs={"ok": 2**63, "neg": -(2**63)})
    assert mmarray.open(p).attrs == {"ok": 2**63, "neg": -(2**63)}
    assert "overwrite=True" in error(mmarray.AlreadyExists, p, mmarray.create, p, 3, "f4")

    store = mmarray.Store(tmp_path / "s", create=True)
    text = error(mmarray.NotFound, tmp_path / "s" / "nope", store.remove, "nope")
    assert "nope" in text
    error(mmarray.NotFound, tmp_path / "s" / "nope", store.open, "nope")
    with pytest.raises(KeyError):
        store["nope"]

    marker = tmp_path / "s" / "mmarray-store.json"
    marker.write_text("{not json")
    text = error(mmarray.MalformedSidecar, marker, mmarray.Store, tmp_path / "s")
    assert "store file" in text and "sidecar" not in text
    marker.write_text(json.dumps({"version": 9, "attrs": {}}))
    assert "sidecar" not in error(mmarray.UnsupportedVersion, marker, mmarray.Store, tmp_path / "s")



def test_docstrings_show_the_numpy_equivalent():
    for item in (mmarray.info, mmarray.Store, mmarray.Array, mmarray.open, mmarray.save, mmarray.create, mmarray.stats):
        assert "np." in (item.__doc__ or ""), item


def test_the_adapters_read_unaligned_data_and_the_other_byte_order_too(tmp_path):
    import dask
    import xarray as xr
    import zarr

    import mmarray.dask
    from mmarray.zarr import Store

    unaligned = tmp_path / "u.npy"
    data = np.arange(10, dtype="f8")
    unaligned_npy(unaligned, data)
    other = tmp_path / "o.npy"
    np.save(other, data.astype(OTHER + "f8"))
    for path in (unaligned, other):
        with dask.config.set(scheduler="threads"):
            assert np.array_equal(mmarray.dask.from_array(path, chunks=3).compute(), data)
        assert np.array_equal(zarr.open_array(Store(path), mode="r")[...], data)
        assert np.array_equal(xr.open_dataset(path, engine="mmarray")[path.stem].values, data)


def test_the_readmes_first_snippet_runs_twice(tmp_path, monkeypatch):
    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    snippet = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert "mmarray.save(" in snippet
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # np.save replaces; so does mmarray.save
        exec(compile(snippet, "README.md", "exec"), {})
    assert mmarray.open(tmp_path / "temps.dat").array[0, 0] == 1.5
