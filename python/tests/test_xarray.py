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
