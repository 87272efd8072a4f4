"""zarr-python 3 reads mmarray arrays: through the adapter
(mmarray.zarr.Store: zero-copy chunks of the mapping) and, without it, from
the directory `mmarray zarr PATH OUT_DIR` writes; both equal numpy's, for C
and F order and every dtype."""

import os
import pickle
import subprocess

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
import zarr
from zarr.core.buffer import default_buffer_prototype

import mmarray
from conftest import DTYPES, same, values
from mmarray.zarr import Store

SHAPES = [(7, 5), (3, 4, 2), (9,), ()]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_the_adapter_reads_every_dtype_and_order_as_numpy(tmp_path, dtype, order):
    for i, shape in enumerate(SHAPES):
        a = np.asarray(values(dtype, shape, seed=i), order=order)
        path = tmp_path / f"a{i}.dat"
        mmarray.save(path, a)
        z = zarr.open_array(Store(path), mode="r")
        assert z.shape == shape and z.dtype == a.dtype
        assert same(z[...], a), (shape, order)
        # Small chunks: several of them, the last one partial.
        z = zarr.open_array(Store(path, chunk_bytes=3 * a.itemsize * max(1, a.size // max(1, (shape or (1,))[0]))), mode="r")
        assert same(z[...], a), (shape, order, "small chunks")


def test_chunks_are_zero_copy_views_of_the_mapping(tmp_path):
    path = tmp_path / "v.dat"
    mmarray.save(path, np.zeros((8, 4), dtype=np.float32))
    store = Store(path, chunk_bytes=32)  # 2 rows per chunk
    buf = zarr.core.sync.sync(store.get("c/1/0", default_buffer_prototype()))
    chunk = buf.as_numpy_array()
    assert chunk.size == 32 and not chunk.flags.owndata
    with mmarray.open(path, "r+") as h:
        a = h.array
        a[2, 0] = 5.0
        del a
    # The same pages: the write is seen without reading again.
    assert chunk[:4].view(np.float32)[0] == 5.0
    assert zarr.core.sync.sync(store.get("c/4/0", default_buffer_prototype())) is None


def test_a_store_with_a_broken_array_raises_its_error(tmp_path):
    # As the xarray backend: the broken array's own error, not a group
    # silently missing it.
    s = mmarray.Store(tmp_path / "runs", create=True)
    s.create_array("good", (3,), "f4").close()
    (tmp_path / "runs" / "bad.dat").write_bytes(b"\0" * 4)
    (tmp_path / "runs" / "bad.dat.json").write_text("{not json")
    with pytest.raises(mmarray.MalformedSidecar, match="bad.dat.json"):
        Store(tmp_path / "runs")


def test_a_store_is_a_group_for_zarr_xarray_and_dask(tmp_path):
    s = mmarray.Store(tmp_path / "runs", create=True)
    s.attrs = {"site": "A"}
    t = values("<f4", (50, 3), seed=7)
    with s.create_array("t", t.shape, t.dtype, attrs={"dims": ["time", "k"], "units": "K"}) as h:
        h.array[:] = t
    f = np.asfortranarray(values("<i8", (50, 6), seed=8))
    with s.create_array("f", f.shape, f.dtype, order="F", attrs={"dims": ["time", "j"]}) as h:
        h.array[:] = f
    store = Store(tmp_path / "runs", chunk_bytes=256)
    g = zarr.open_group(store, mode="r")
    assert dict(g.attrs) == {"site": "A"}
    assert sorted(g.array_keys()) == ["f", "t"]
    assert g["t"].metadata.dimension_names == ("time", "k")
    assert dict(g["t"].attrs) == {"units": "K"}
    assert same(g["t"][...], t) and same(g["f"][...], f)

    ds = xr.open_zarr(store, consolidated=False)
    assert ds.attrs == {"site": "A"} and ds["t"].dims == ("time", "k")
    assert same(ds["t"].values, t) and same(ds["f"].values, f)

    x = da.from_zarr(store, component="f")
    with dask.config.set(scheduler="processes"):
        assert x.sum().compute() == f.sum()
    assert pickle.loads(pickle.dumps(store)) == store


def test_the_adapter_is_read_only_and_lists_its_keys(tmp_path):
    path = tmp_path / "r.npy"
    np.save(path, np.arange(10, dtype=np.uint16))
    store = Store(path, chunk_bytes=8)
    keys = zarr.core.sync.sync(_collect(store.list()))
    assert keys == ["zarr.json", "c/0", "c/1", "c/2"]
    with pytest.raises(ValueError):
        zarr.core.sync.sync(store.set("zarr.json", default_buffer_prototype().buffer.from_bytes(b"{}")))
    with pytest.raises(Exception):
        zarr.open_array(store, mode="r+")[0] = 1
    np.testing.assert_array_equal(np.load(path), np.arange(10))


async def _collect(it):
    return [k async for k in it]


@pytest.mark.parametrize("dtype", DTYPES + [">f8", ">i4", ">c8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_mmarray_zarr_writes_a_directory_zarr_reads_without_the_adapter(tmp_path, dtype, order, mmcli):
    for i, shape in enumerate([(6, 4), (2, 3, 5), (11,), (), (0, 3)]):
        native = np.dtype(dtype).newbyteorder("=")
        a = np.asarray(values(native, shape, seed=i).astype(dtype), order=order)
        path = tmp_path / f"x{i}.dat"
        mmarray.save(path, a)
        out = tmp_path / f"x{i}.zarr"
        done = subprocess.run([mmcli, "zarr", str(path), str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        z = zarr.open_array(str(out), mode="r")  # zarr's own LocalStore
        # zarr decodes into the native byte order.
        assert z.shape == shape and z.dtype == native
        assert same(z[...], a.astype(native)), (dtype, order, shape)
        if a.size:
            chunk = out / "c" / "/".join(["0"] * len(shape)) if shape else out / "c"
            assert os.stat(chunk).st_ino == os.stat(path).st_ino, "the chunk is the data file"


def test_mmarray_zarr_refuses_what_it_cannot_link(tmp_path, mmcli):
    np.save(tmp_path / "h.npy", np.zeros(3))
    done = subprocess.run([mmcli, "zarr", str(tmp_path / "h.npy"), str(tmp_path / "h.zarr")], capture_output=True, text=True)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1 and "mmarray convert" in done.stderr
    assert not (tmp_path / "h.zarr").exists()
