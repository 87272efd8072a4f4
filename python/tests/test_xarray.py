"""xr.open_dataset(path, engine="mmarray") on a raw file, a .npy file and a
store: lazy, values and attrs as numpy and the sidecars say, dimension
names from the attrs' "dims" or <variable>_dim_<i>, dask-backed with chunks=."""

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import mmarray
from conftest import DTYPES, same, values


def test_a_raw_file_is_one_variable_named_after_its_stem(tmp_path):
    a = values("<f4", (6, 5), seed=1)
    path = tmp_path / "temps.dat"
    mmarray.save(path, a, attrs={"units": "K", "dims": ["time", "x"], "scale": [1, 2]})
    ds = xr.open_dataset(path, engine="mmarray")
    assert list(ds.data_vars) == ["temps"]
    v = ds["temps"]
    assert v.dims == ("time", "x")
    assert v.attrs == {"units": "K", "scale": [1, 2]}, "dims are dimension names, not repeated"
    assert not v.variable._in_memory, "nothing read at open"
    assert same(v.values, a)
    assert same(v[2:4, ::2].values, a[2:4, ::2])
    # The sidecar itself opens the same.
    assert same(xr.open_dataset(str(path) + ".json", engine="mmarray")["temps"].values, a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_files_of_every_dtype_and_order(tmp_path, dtype, order):
    a = np.asarray(values(dtype, (4, 3), seed=2), order=order)
    path = tmp_path / "arr.npy"
    np.save(path, a)
    v = xr.open_dataset(path, engine="mmarray")["arr"]
    assert v.dims == ("arr_dim_0", "arr_dim_1") and v.attrs == {}
    assert same(v.values, np.load(path))


def test_a_store_is_a_dataset_of_its_arrays_with_the_store_attrs(tmp_path):
    store = mmarray.Store(tmp_path / "runs", create=True)
    store.attrs = {"experiment": "e1", "n": 3}
    t = values("<f8", (10, 4), seed=3)
    with store.create_array("t", t.shape, t.dtype, attrs={"dims": ["time", "station"], "units": "C"}) as h:
        h.array[:] = t
    s = values("<i2", (4,), seed=4)
    with store.create_array("station_id", s.shape, s.dtype, attrs={"dims": ["station"]}) as h:
        h.array[:] = s
    ds = xr.open_dataset(tmp_path / "runs", engine="mmarray")
    assert ds.attrs == {"experiment": "e1", "n": 3}
    assert sorted(ds.data_vars) == ["station_id", "t"]
    assert ds["t"].dims == ("time", "station") and ds["t"].attrs == {"units": "C"}
    assert ds.sizes == {"time": 10, "station": 4}
    assert same(ds["t"].values, t) and same(ds["station_id"].values, s)
    # Reductions through xarray equal numpy's.
    np.testing.assert_array_equal(ds["t"].sum("time", skipna=False).values, t.sum(axis=0))
    assert "t" not in xr.open_dataset(tmp_path / "runs", engine="mmarray", drop_variables="t")


def test_a_store_with_a_broken_array_raises_its_error_unless_it_is_dropped(tmp_path):
    # Raising, not skipping: a Dataset silently missing a variable is worse
    # than an error naming the broken file; drop_variables is the way past.
    store = mmarray.Store(tmp_path / "runs", create=True)
    store.create_array("good", (3,), "f4").close()
    (tmp_path / "runs" / "bad.dat").write_bytes(b"\0" * 4)
    (tmp_path / "runs" / "bad.dat.json").write_text("{not json")
    with pytest.raises(mmarray.MalformedSidecar, match="bad.dat.json"):
        xr.open_dataset(tmp_path / "runs", engine="mmarray")
    ds = xr.open_dataset(tmp_path / "runs", engine="mmarray", drop_variables="bad")
    assert list(ds.data_vars) == ["good"]


def test_chunks_give_dask_arrays_that_read_the_file(tmp_path):
    a = values("<f8", (1000, 6), seed=5)
    path = tmp_path / "d.npy"
    np.save(path, a)
    ds = xr.open_dataset(path, engine="mmarray", chunks={"d_dim_0": 250})
    v = ds["d"]
    assert isinstance(v.data, da.Array) and v.data.chunks == ((250,) * 4, (6,))
    with dask.config.set(scheduler="threads"):
        np.testing.assert_allclose(v.mean("d_dim_0", skipna=False).values, a.mean(axis=0), rtol=1e-12)


def test_the_backend_is_found_by_name_and_guesses_its_files(tmp_path):
    assert "mmarray" in xr.backends.list_engines()
    from mmarray.xarray import MmarrayBackendEntrypoint

    e = MmarrayBackendEntrypoint()
    mmarray.save(tmp_path / "a.dat", np.zeros(3))
    mmarray.Store(tmp_path / "s", create=True)
    (tmp_path / "plain").mkdir()
    assert e.guess_can_open(tmp_path / "a.dat") and e.guess_can_open(tmp_path / "s")
    assert e.guess_can_open("x.npy")
    assert not e.guess_can_open(tmp_path / "plain") and not e.guess_can_open(tmp_path / "nothing.nc")


def test_the_standard_open_dataset_keywords_decode_cf_as_for_netcdf(tmp_path):
    raw = np.array([[0, 10, -999], [20, 30, 40]], dtype="i2")
    attrs = {"dims": ["time", "x"], "scale_factor": 0.5, "add_offset": 100.0, "_FillValue": -999, "units": "K"}
    mmarray.save(tmp_path / "temps.dat", raw, attrs=attrs)
    mmarray.save(tmp_path / "day.dat", np.array([0, 1, 31], dtype="i4"), attrs={"dims": ["time"], "units": "days since 2000-01-01"})
    mmarray.save(tmp_path / "lag.dat", np.array([1, 2, 3], dtype="i8"), attrs={"dims": ["time"], "units": "hours"})
    # What netCDF gives for the same variables, through xarray's own decoding.
    for name in ("temps", "day", "lag"):
        path = tmp_path / f"{name}.dat"
        ds = xr.open_dataset(path, engine="mmarray", decode_timedelta=True)
        a = mmarray.open(path)
        attrs = a.attrs
        dims = attrs.pop("dims")
        expected = xr.decode_cf(xr.Dataset({name: (dims, np.array(a.array), attrs)}), decode_timedelta=True)
        xr.testing.assert_identical(ds[name].variable.to_base_variable(), expected[name].variable)
    t = xr.open_dataset(tmp_path / "temps.dat", engine="mmarray")["temps"]
    assert t.dtype == np.float64 and np.isnan(t.values[0, 2]) and t.values[1, 1] == 115.0
    assert t.encoding["scale_factor"] == 0.5 and t.encoding["_FillValue"] == -999
    d = xr.open_dataset(tmp_path / "day.dat", engine="mmarray")["day"]
    assert d.values[2] == np.datetime64("2000-02-01")
    # Every keyword is accepted and honoured.
    assert xr.open_dataset(tmp_path / "temps.dat", engine="mmarray", decode_cf=False)["temps"].dtype == np.int16
    assert xr.open_dataset(tmp_path / "temps.dat", engine="mmarray", mask_and_scale=False)["temps"].dtype == np.int16
    assert xr.open_dataset(tmp_path / "day.dat", engine="mmarray", decode_times=False)["day"].dtype == np.int32
    lag = xr.open_dataset(tmp_path / "lag.dat", engine="mmarray", decode_timedelta=False)["lag"]
    assert lag.dtype == np.int64
    assert xr.open_dataset(tmp_path / "lag.dat", engine="mmarray", decode_timedelta=True)["lag"].dtype.kind == "m"
    assert xr.open_dataset(tmp_path / "day.dat", engine="mmarray", use_cftime=False)["day"].dtype.kind == "M"
    if _has_cftime():
        cf = xr.open_dataset(tmp_path / "day.dat", engine="mmarray", use_cftime=True)["day"]
        assert type(cf.values[0]).__module__.startswith("cftime")
    else:  # honoured: xarray asks for cftime, as for a netCDF file
        with pytest.raises(ValueError, match="cftime"):
            xr.open_dataset(tmp_path / "day.dat", engine="mmarray", use_cftime=True)
    for kw in ({"concat_characters": False}, {"decode_coords": "all"}, {"drop_variables": ["nothing"]}):
        assert "temps" in xr.open_dataset(tmp_path / "temps.dat", engine="mmarray", **kw)


def _has_cftime():
    try:
        import cftime  # noqa: F401
    except ImportError:
        return False
    return True


def test_values_and_load_are_writable_copies_that_do_not_follow_the_file(tmp_path):
    path = tmp_path / "v.dat"
    mmarray.save(path, np.arange(6.0).reshape(2, 3))
    ds = xr.open_dataset(path, engine="mmarray")
    assert not ds["v"].variable._in_memory  # lazy until asked
    values = ds["v"].values
    assert values.flags.writeable and not np.shares_memory(values, mmarray.open(path).array)
    loaded = xr.open_dataset(path, engine="mmarray").load()
    loaded["v"] += 1  # in place, as for any in-memory dataset
    assert loaded["v"].values.tolist() == [[1, 2, 3], [4, 5, 6]]
    with mmarray.open(path, "r+") as h:
        h.array[:] = -1
    assert values.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert loaded["v"].values.tolist() == [[1, 2, 3], [4, 5, 6]]
    # Outer indexing, as xarray's netCDF backends support.
    fresh = xr.open_dataset(path, engine="mmarray")["v"]
    assert fresh[[0, 1], [2, 0]].values.tolist() == [[-1, -1], [-1, -1]]


def test_encoding_has_source_dtype_original_shape_and_mmarrays_preferred_chunks(tmp_path):
    a = np.zeros((3000, 4096), dtype="f8")  # 96 MiB: two chunks of whole rows
    path = tmp_path / "big.npy"
    np.save(path, a)
    chunk = tuple(mmarray._core.chunk_shape(str(path)))
    assert chunk[0] < 3000
    v = xr.open_dataset(path, engine="mmarray")["big"]
    assert v.encoding["source"] == str(path)
    assert v.encoding["dtype"] == np.dtype("f8")
    assert v.encoding["original_shape"] == (3000, 4096)
    assert v.encoding["preferred_chunks"] == {"big_dim_0": chunk[0], "big_dim_1": 4096}
    d = xr.open_dataset(path, engine="mmarray", chunks={})["big"]
    assert isinstance(d.data, da.Array) and d.data.chunks[0][0] == chunk[0] and len(d.data.chunks[0]) == 2


def test_npz_members_and_the_other_byte_order_open(tmp_path):
    other = ">" if np.little_endian else "<"
    a = np.arange(12, dtype=other + "f4").reshape(3, 4)
    np.savez(tmp_path / "x.npz", a=a, b=np.arange(3))
    from mmarray.xarray import MmarrayBackendEntrypoint

    assert MmarrayBackendEntrypoint().guess_can_open(tmp_path / "x.npz" / "a")
    v = xr.open_dataset(tmp_path / "x.npz" / "a", engine="mmarray")["a"]
    assert v.dims == ("a_dim_0", "a_dim_1") and np.array_equal(v.values, a)
    assert v.values.dtype.isnative
    mmarray.save(tmp_path / "big.dat", a)
    v = xr.open_dataset(tmp_path / "big.dat", engine="mmarray")["big"]
    assert np.array_equal(v.values, a) and v.encoding["dtype"] == a.dtype


def _unaligned_npy(path, data):
    from test_numpy_conventions import unaligned_npy

    unaligned_npy(path, data)


@pytest.mark.parametrize("chunks", [{}, {"d_dim_0": 250}])
def test_chunks_tasks_carry_no_data_compute_as_numpy_on_a_cluster_and_load_copies(tmp_path, chunks):
    import pickle

    from distributed import Client, LocalCluster

    a = values("<f8", (1000, 6), seed=7)
    path = tmp_path / "d.npy"
    np.save(path, a)
    ds = xr.open_dataset(path, engine="mmarray", chunks=chunks)
    x = ds["d"].data
    assert isinstance(x, da.Array)
    assert x.chunks == (((1000,), (6,)) if chunks == {} else ((250,) * 4, (6,)))
    # No data in the graph: each task is the file's path, layout and region.
    sizes = [len(pickle.dumps(task)) for task in dict(x.__dask_graph__()).values()]
    assert max(sizes) < 2048 and sum(sizes) < a.nbytes // 10, sizes
    with dask.config.set(scheduler="threads"):
        assert same(ds["d"].values, a)
        assert same(ds["d"][3:900:7].values, a[3:900:7])
    # Worker processes: the tasks are pickled, and each maps the file itself.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        with Client(cluster):
            # Chunked sums add in another order than numpy's: equal to rounding.
            np.testing.assert_allclose(ds["d"].sum("d_dim_0", skipna=False).values, a.sum(axis=0), rtol=1e-12)
            assert same(ds["d"][::3].values, a[::3])
            loaded = xr.open_dataset(path, engine="mmarray", chunks=chunks).load()
    # .load() gives an in-memory, writable copy that does not follow the file.
    assert isinstance(loaded["d"].variable._data, np.ndarray) and same(loaded["d"].values, a)
    assert loaded["d"].values.flags.writeable
    loaded["d"] += 1
    with mmarray.open(path, "r+") as h:
        h.array[:] = -1
    assert same(loaded["d"].values, a + 1)
    with dask.config.set(scheduler="threads"):
        assert (ds["d"].values == -1).all(), "a lazy dataset reads the file as it is when computed"


def test_chunks_read_the_other_byte_order_and_unaligned_data_as_numpy(tmp_path):
    data = np.arange(20, dtype="f8") * 1.5
    other = ">" if np.little_endian else "<"
    np.save(tmp_path / "big.npy", data.astype(other + "f8"))
    _unaligned_npy(tmp_path / "odd.npy", data)
    for name in ("big", "odd"):
        v = xr.open_dataset(tmp_path / f"{name}.npy", engine="mmarray", chunks={f"{name}_dim_0": 6})[name]
        assert isinstance(v.data, da.Array) and v.data.chunks[0] == (6, 6, 6, 2)
        with dask.config.set(scheduler="threads"):
            values_ = v.values
        assert values_.dtype.isnative and np.array_equal(values_, np.load(tmp_path / f"{name}.npy"))
