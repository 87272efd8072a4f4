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


def test_one_broken_array_does_not_stop_the_others_and_reading_it_raises_its_error(tmp_path):
    s = mmarray.Store(tmp_path / "runs", create=True)
    with s.create_array("good", (3,), "f4") as h:
        h.array[:] = [1, 2, 3]
    (tmp_path / "runs" / "bad.dat").write_bytes(b"\0" * 4)
    (tmp_path / "runs" / "bad.dat.json").write_text("{not json")
    store = Store(tmp_path / "runs")
    g = zarr.open_group(store, mode="r")
    assert g["good"][...].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(mmarray.MalformedSidecar, match="bad.dat.json"):
        g["bad"]
    assert zarr.open_array(store, path="good", mode="r")[1] == 2.0


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


def test_a_replaced_array_is_an_error_not_stale_metadata(tmp_path):
    p = tmp_path / "a.dat"
    mmarray.save(p, np.arange(4, dtype="f4"))
    store = Store(p)
    z = zarr.open_array(store, mode="r")  # zarr.json served: float32
    assert z.dtype == np.float32
    mmarray.save(p, np.arange(4, dtype="i4"), overwrite=True)
    with pytest.raises(mmarray.ShapeMismatch, match="changed") as info:
        z[:]
    assert info.value.path == str(p)
    # A reader opening it now gets the new array.
    z = zarr.open_array(Store(p), mode="r")
    assert z.dtype == np.int32 and z[:].tolist() == [0, 1, 2, 3]
    # Rows appended to a C-order array since are not an error: the length
    # served is read.
    q = tmp_path / "q.dat"
    mmarray.save(q, np.zeros((2, 3), "f8"))
    z = zarr.open_array(Store(q), mode="r")
    with mmarray.open(q, "r+") as h:
        h.append(np.ones((1, 3)))
    assert z.shape == (2, 3) and not z[...].any()


def test_npz_members_and_the_other_byte_order_open(tmp_path):
    other = ">" if np.little_endian else "<"
    a = np.arange(12, dtype=other + "f8").reshape(3, 4)
    b = np.arange(5, dtype="i2")
    np.savez(tmp_path / "x.npz", a=a, b=b)
    za = zarr.open_array(Store(tmp_path / "x.npz" / "a"), mode="r")
    assert za.dtype == np.dtype("f8") and np.array_equal(za[...], a)
    assert zarr.open_array(Store(tmp_path / "x.npz" / "b"), mode="r")[...].tolist() == list(range(5))
    mmarray.save(tmp_path / "big.dat", a)
    assert np.array_equal(zarr.open_array(Store(tmp_path / "big.dat"), mode="r")[...], a)


def test_read_only_as_every_zarr_store_with_read_only_eq_and_hash(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.arange(3))
    store = Store(p, read_only=True)
    assert store.read_only and Store(p).read_only
    with pytest.raises(mmarray.InvalidArgument, match="read-only") as info:
        Store(p, read_only=False)
    assert info.value.path == str(p)
    with pytest.raises(mmarray.InvalidArgument):
        store.with_read_only(False)
    other = store.with_read_only(True)
    assert other == store and hash(other) == hash(store) and other is not store
    assert len({store, other, Store(p, chunk_bytes=8)}) == 2
    assert zarr.open_array(other, mode="r")[...].tolist() == [0, 1, 2]
    proto = default_buffer_prototype()
    for bad in [(0, 2), slice(0, 2), "0-2"]:
        with pytest.raises(TypeError, match=r"Unexpected byte_range, got"):
            zarr.core.sync.sync(store.get("zarr.json", proto, byte_range=bad))


from zarr.core.buffer import cpu  # noqa: E402
from zarr.testing.store import StoreTests  # noqa: E402

_READ_ONLY = "store was opened in read-only mode and does not support writing"


class TestStoreTestsReadSide(StoreTests[Store, cpu.Buffer]):
    """zarr's own store tests (zarr.testing.store.StoreTests), read side.

    The store serves an array at its root: ``set(store, "c/0", data)``
    writes an array whose one chunk is ``data`` (``uint8``) with
    mmarray.save, behind the store's back, as the tests require. Keys no
    array makes (``foo/0/0``, ``zarr.json`` with arbitrary bytes, empty
    chunks) cannot be put behind it, so those cases skip; the write side is
    replaced by checks that writes are refused.
    """

    store_cls = Store
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, tmp_path):
        path = tmp_path / "a.dat"
        mmarray.save(path, np.zeros(1, np.uint8))
        return {"path": str(path), "read_only": True}

    async def set(self, store, key, value):
        data = value.to_bytes()
        if key != "c/0" or not data:
            pytest.skip(f"no mmarray array makes the key {key!r} hold {data!r}")
        mmarray.save(store.path, np.frombuffer(data, np.uint8))

    async def get(self, store, key):
        assert key == "c/0"
        return self.buffer_cls.from_bytes(np.fromfile(store.path, np.uint8).tobytes())

    def test_store_repr(self, store):
        assert repr(store) == f"mmarray.zarr.Store({store.path!r})"

    def test_store_supports_writes(self, store):
        assert not store.supports_writes and not store.supports_deletes

    def test_store_supports_listing(self, store):
        assert store.supports_listing

    def test_store_read_only(self, store):
        assert store.read_only
        with pytest.raises(AttributeError):
            store.read_only = False

    @pytest.mark.parametrize("read_only", [True, False])
    async def test_store_open_read_only(self, open_kwargs, read_only):
        open_kwargs["read_only"] = read_only
        if not read_only:
            with pytest.raises(mmarray.InvalidArgument, match="read-only"):
                await self.store_cls.open(**open_kwargs)
            return
        store = await self.store_cls.open(**open_kwargs)
        assert store._is_open and store.read_only

    async def test_serializable_store(self, store):
        new_store = pickle.loads(pickle.dumps(store))
        assert new_store == store and new_store.read_only == store.read_only
        proto = default_buffer_prototype()
        assert (await new_store.get("zarr.json", proto)).to_bytes() == (await store.get("zarr.json", proto)).to_bytes()

    async def test_with_read_only_store(self, open_kwargs):
        store = await self.store_cls.open(**open_kwargs)
        with pytest.raises(mmarray.InvalidArgument):
            store.with_read_only(read_only=False)
        reader = store.with_read_only(read_only=True)
        assert reader.read_only and not reader._is_open and reader == store
        for s in (store, reader):
            with pytest.raises(ValueError, match=_READ_ONLY):
                await s.set("foo", self.buffer_cls.from_bytes(b"bar"))
            with pytest.raises(ValueError, match=_READ_ONLY):
                await s.delete("foo")

    async def _refused(self, store, key="c/0"):
        with pytest.raises(ValueError, match=_READ_ONLY):
            await store.set(key, self.buffer_cls.from_bytes(b"\x01"))

    async def test_set(self, store):
        await self._refused(store)

    async def test_set_not_open(self, store_not_open):
        await self._refused(store_not_open)

    async def test_set_many(self, store):
        with pytest.raises(ValueError, match=_READ_ONLY):
            await store._set_many([("c/0", self.buffer_cls.from_bytes(b"\x01"))])

    async def test_set_if_not_exists(self, store):
        with pytest.raises(ValueError, match=_READ_ONLY):
            await store.set_if_not_exists("c/9", self.buffer_cls.from_bytes(b"\x01"))

    async def test_getsize_prefix(self, store):
        assert await store.getsize_prefix("c") == 1

    async def test_exists(self, store):
        assert await store.exists("zarr.json") and await store.exists("c/0")
        assert not await store.exists("foo") and not await store.exists("c/1")

    async def test_is_empty(self, store):
        assert not await store.is_empty("") and await store.is_empty("spam/")

    async def test_clear(self, store):
        with pytest.raises(ValueError, match=_READ_ONLY):
            await store.clear()

    async def test_list(self, store):
        assert [k async for k in store.list()] == ["zarr.json", "c/0"]

    async def test_list_prefix(self, store):
        assert [k async for k in store.list_prefix("c/")] == ["c/0"]
        assert [k async for k in store.list_prefix("")] == ["zarr.json", "c/0"]

    async def test_list_empty_path(self, store):
        assert sorted([k async for k in store.list_prefix("")]) == sorted([k async for k in store.list()])

    async def test_list_dir(self, store):
        assert sorted([k async for k in store.list_dir("")]) == ["c", "zarr.json"]
        assert [k async for k in store.list_dir("c")] == ["0"]


def test_an_array_replaced_by_its_other_byte_order_is_an_error_too(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.arange(4, dtype="<f8"))
    z = zarr.open_array(Store(p), mode="r")
    np.save(p, np.arange(4, dtype=">f8"))
    with pytest.raises(mmarray.ShapeMismatch):
        z[:]
