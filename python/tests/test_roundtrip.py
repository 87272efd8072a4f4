"""Values for every dtype, shape and order, numpy-written and read through
mmarray, and the other way round, compared bit for bit."""

import numpy as np
import pytest

import mmarray
import mmarray_sidecar
from conftest import DTYPES, same, values

SHAPES = [(), (0,), (3, 0), (7,), (3, 4), (2, 3, 4)]


def numpy_write(path, array, fmt):
    if fmt == "npy":
        np.save(path, array)
    else:
        mmarray_sidecar.save(path, array)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("fmt", ["raw", "npy"])
def test_numpy_written_read_by_mmarray(tmp_path, dtype, shape, order, fmt):
    array = np.asarray(values(dtype, shape), order=order)
    path = tmp_path / ("a.npy" if fmt == "npy" else "a.dat")
    numpy_write(path, array, fmt)
    with mmarray.open(path) as h:
        view = h.array
        assert same(view, array)
        assert h.dtype == np.dtype(dtype)
        assert h.shape == shape
        if len(shape) > 1 and array.size > 1:
            assert view.flags.f_contiguous == (order == "F")
            assert h.order == order
        assert not view.flags.writeable
        del view


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("fmt", ["raw", "npy"])
def test_mmarray_written_read_by_numpy(tmp_path, dtype, shape, order, fmt):
    array = np.asarray(values(dtype, shape, seed=1), order=order)
    path = tmp_path / ("a.npy" if fmt == "npy" else "a.dat")
    mmarray.save(path, array)
    if fmt == "npy":
        back = np.load(path)
    else:
        back = np.asarray(mmarray_sidecar.load(path, mode="r"))
    assert same(back, array)
    if len(shape) > 1 and array.size > 1:
        assert np.isfortran(back) == (order == "F")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["raw", "npy"])
def test_create_and_write_through_r_plus(tmp_path, dtype, fmt):
    path = tmp_path / ("a.npy" if fmt == "npy" else "a.dat")
    array = values(dtype, (4, 5), seed=2)
    with mmarray.create(path, (4, 5), dtype) as h:
        assert h.mode == "r+"
        assert same(h.array, np.zeros((4, 5), dtype))
        v = h.array
        v[...] = array
        del v
    back = np.load(path) if fmt == "npy" else np.fromfile(path, dtype=dtype).reshape(4, 5)
    assert same(back, array)


@pytest.mark.parametrize("dtype,fill", [("<i2", -7), ("<f4", 1.5), ("<c16", 1 - 2j), ("|b1", True), ("<u8", 2**64 - 1)])
@pytest.mark.parametrize("name", ["a.dat", "a.npy"])
def test_create_filled(tmp_path, dtype, fill, name):
    h = mmarray.create(tmp_path / name, (3, 2), dtype, fill=fill, order="F", attrs={"k": [1, 2]})
    assert same(h.array, np.full((3, 2), fill, dtype=dtype, order="F"))
    assert h.attrs == ({"k": [1, 2]} if name.endswith(".dat") else {})
    assert h.order == "F"


def test_create_dtype_spellings(tmp_path):
    for i, spelling in enumerate([np.float32, "float32", "f4", np.dtype("<f4")]):
        assert mmarray.create(tmp_path / f"{i}.dat", 2, spelling).dtype == np.dtype("float32")


def test_non_native_byte_order_saved_as_is(tmp_path):
    array = np.arange(6, dtype=">i4" if np.little_endian else "<i4").reshape(2, 3)
    mmarray.save(tmp_path / "a.npy", array)
    back = np.load(tmp_path / "a.npy")
    assert back.dtype == array.dtype and (back == array).all()


def test_npz_members(tmp_path):
    # np.savez does not align members: one-byte dtypes map in place.
    a, b = values("|u1", (3, 4)), values("|b1", (5,))
    np.savez(tmp_path / "x.npz", a=a, b=b)
    with mmarray.open(f"{tmp_path}/x.npz/a") as h:
        assert same(h.array, a)
        assert not h.array.flags.writeable
    assert same(mmarray.open(f"{tmp_path}/x.npz/b").array, b)
    with pytest.raises(mmarray.InvalidArgument):
        mmarray.open(f"{tmp_path}/x.npz/a", "r+")
    with mmarray.open(f"{tmp_path}/x.npz/a", "c") as h:  # private pages: the archive is untouched
        v = h.array
        v[...] = 0
        del v
    assert same(np.load(tmp_path / "x.npz")["a"], a)


def test_growth_needs_r_plus(tmp_path):
    import io

    mmarray.save(tmp_path / "a.dat", np.zeros((2, 2), "i4"))
    for mode in ("r", "c"):
        h = mmarray.open(tmp_path / "a.dat", mode)
        for call in (lambda: h.append(np.zeros((1, 2), "i4")), lambda: h.resize(5), h.publish, h.commit):
            with pytest.raises(io.UnsupportedOperation):
                call()
        h.flush()  # a no-op


def test_attrs_and_asarray(tmp_path):
    mmarray.save(tmp_path / "a.dat", np.arange(3.0), attrs={"units": "K", "n": None, "x": 1.5})
    h = mmarray.open(tmp_path / "a.dat")
    assert h.attrs == {"units": "K", "n": None, "x": 1.5}
    assert np.shares_memory(np.asarray(h), h.array)
    assert np.asarray(h, dtype=np.float32).dtype == np.float32
    assert np.shares_memory(np.asarray(h, dtype=np.float64), h.array)
    if int(np.__version__.split(".")[0]) >= 2:
        assert not np.shares_memory(np.asarray(h, copy=True), h.array)
        with pytest.raises(ValueError):
            np.asarray(h, dtype=np.float32, copy=False)
    assert h.path == str(tmp_path / "a.dat")
    assert len(h) == 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)], ids=str)
def test_npy_format_versions_read_by_mmarray(tmp_path, dtype, version):
    """`.npy` files of format versions 1.0, 2.0 and 3.0, as numpy writes them."""
    array = np.asarray(values(dtype, (3, 4), seed=3), order="F")
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version)
    with open(path, "rb") as f:
        assert f.read(8)[6:8] == bytes(version)
    with mmarray.open(path) as h:
        view = h.array
        assert same(view, array)
        assert h.order == "F"
        del view
