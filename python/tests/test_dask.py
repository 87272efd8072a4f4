"""mmarray.dask on a real dask.distributed cluster (2 worker processes):
reads equal numpy's on the same files, tasks carry no data, and
mmarray.dask.store writes arrays that numpy and the CLI read back, or
nothing at all when the computation fails."""

import json
import os
import pickle
import subprocess

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import mmarray
import mmarray.dask as md

MiB = 1 << 20


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def task_sizes(x):
    graph = dict(x.__dask_graph__())
    return [len(pickle.dumps(task)) for task in graph.values()]


def assert_reads_like_numpy(x, a, client):
    """sum, mean and a slice of the dask array equal numpy's on the same data
    (exact integers, so float64 sums are exact in any order)."""
    assert x.shape == a.shape and x.dtype == a.dtype
    assert x.sum(dtype=np.float64).compute() == a.sum(dtype=np.float64)
    assert x.mean(dtype=np.float64).compute() == a.mean(dtype=np.float64)
    np.testing.assert_allclose(x.sum().compute(), a.sum(), rtol=1e-6)
    np.testing.assert_array_equal(x[3:1000:7].compute(), a[3:1000:7])
    np.testing.assert_array_equal(x[-5:].compute(), a[-5:])
    assert max(task_sizes(x)) < 1024


def test_a_256_mib_array_on_two_worker_processes_reads_as_numpy_does(tmp_path, client):
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids, "two worker processes"
    path = tmp_path / "big.dat"
    rows = 256 * MiB // (4 * 1024)
    with mmarray.create(path, (rows, 1024), "float32") as h:
        a = h.array
        rng = np.random.default_rng(1)
        for start in range(0, rows, 4096):
            a[start : start + 4096] = rng.integers(0, 1000, (min(4096, rows - start), 1024))
        del a
    x = md.from_array(path)
    # Whole rows of about 64 MiB: 4 chunks.
    assert x.chunks == ((rows // 4,) * 4, (1024,))
    assert_reads_like_numpy(x, np.memmap(path, np.float32, "r", shape=(rows, 1024)), client)


def test_store_entry_and_uneven_shards_with_an_empty_one(tmp_path, client):
    store = mmarray.Store(tmp_path / "runs", create=True)
    rng = np.random.default_rng(2)
    t = rng.integers(-500, 500, (3000, 7)).astype("<i8")
    with store.create_array("t", t.shape, t.dtype) as h:
        h.array[:] = t
    x = md.from_store(tmp_path / "runs", "t", chunks=(700, 7))
    assert_reads_like_numpy(x, t, client)

    lengths = [1200, 0, 5, 3001]
    parts = []
    for i, n in enumerate(lengths):
        p = rng.integers(0, 100, (n, 3)).astype("<f8")
        parts.append(p)
        with store.create_array(f"part-{i:04}", p.shape, p.dtype, order="F" if i == 3 else "C") as h:
            h.array[:] = p
    whole = np.concatenate(parts)
    s = md.from_sharded(tmp_path / "runs", "part-", chunks=1000)
    # Chunks never cross a shard boundary; the empty shard has none.
    assert s.chunks[0] == (1000, 200, 5, 1000, 1000, 1000, 1)
    assert_reads_like_numpy(s, whole, client)
    # Default chunks: one per shard here (all far below 64 MiB).
    assert md.from_sharded(tmp_path / "runs", "part-").chunks[0] == (1200, 5, 3001)


def test_default_chunks_are_whole_rows_or_columns_of_about_64_mib(tmp_path):
    c = tmp_path / "c.dat"
    f = tmp_path / "f.dat"
    mmarray.create(c, (100_000, 512), "float64").close()  # 4 KiB rows: 16384 per chunk
    mmarray.create(f, (512, 100_000), "float64", order="F").close()
    assert md.from_array(c).chunks == ((16384,) * 6 + (100_000 - 6 * 16384,), (512,))
    assert md.from_array(f).chunks == ((512,), (16384,) * 6 + (100_000 - 6 * 16384,))
    z = tmp_path / "z.npy"
    mmarray.save(z, np.array(4.5))
    x = md.from_array(z)
    assert x.shape == () and x.compute() == 4.5
    e = tmp_path / "e.dat"
    mmarray.create(e, (0, 3), "int16").close()
    assert md.from_array(e).compute().shape == (0, 3)


def test_the_length_is_the_one_committed_when_the_graph_is_built(tmp_path):
    path = tmp_path / "g.dat"
    mmarray.save(path, np.arange(10, dtype=np.int32).reshape(5, 2))
    x = md.from_array(path)
    with mmarray.open(path, "r+") as h:
        h.append(np.full((3, 2), 7, dtype=np.int32))
        h.commit()
    with dask.config.set(scheduler="threads"):
        assert x.shape == (5, 2)
        np.testing.assert_array_equal(x.compute(), np.arange(10).reshape(5, 2))
        assert md.from_array(path).shape == (8, 2)


def test_an_array_replaced_by_another_shape_is_an_error_not_other_data(tmp_path):
    path = tmp_path / "r.npy"
    mmarray.save(path, np.zeros((4, 4), dtype=np.float32))
    x = md.from_array(path)
    mmarray.save(path, np.zeros((4, 3), dtype=np.float32), overwrite=True)
    with pytest.raises(mmarray.ShapeMismatch, match="changed since the Dask graph was built"):
        x.compute(scheduler="threads")


def test_store_on_the_cluster_then_numpy_and_the_cli_read_it(tmp_path, client, mmcli):
    rng = np.random.default_rng(3)
    src = rng.integers(0, 1 << 20, (5000, 33)).astype(np.float64)
    x = da.from_array(src, chunks=(512, 11)) * 3 + 1
    raw = tmp_path / "out.dat"
    npy = tmp_path / "out.npy"
    md.store(x, raw, attrs={"units": "m"})
    md.store(x, npy)
    expected = src * 3 + 1
    with open(str(raw) + ".json") as f:
        sidecar = json.load(f)
    assert sidecar["shape"] == [5000, 33] and sidecar["attrs"] == {"units": "m"}
    np.testing.assert_array_equal(np.fromfile(raw, dtype=sidecar["dtype"]).reshape(5000, 33), expected)
    np.testing.assert_array_equal(np.load(npy), expected)
    for path in (raw, npy):
        out = subprocess.run([mmcli, "stats", "--json", str(path)], capture_output=True, text=True, check=True)
        stats = json.loads(out.stdout)
        assert stats["count"] == expected.size and stats["sum"] == expected.sum()
        assert stats["min"] == expected.min() and stats["max"] == expected.max()
    assert sorted(os.listdir(tmp_path)) == ["out.dat", "out.dat.json", "out.npy"], "no staged files left"
    with pytest.raises(mmarray.AlreadyExists):
        md.store(x, npy)
    md.store(x[:10], npy, overwrite=True)
    assert np.load(npy).shape == (10, 33)


def _fail_on_block_3(block, block_info=None):
    if block_info[None]["chunk-location"][0] == 3:
        raise RuntimeError("block 3 failed")
    return block


def test_a_computation_that_fails_halfway_leaves_no_array(tmp_path, client):
    x = da.ones((8000, 4), chunks=(1000, 4)).map_blocks(_fail_on_block_3, dtype=float)
    for name in ("fail.dat", "fail.npy"):
        with pytest.raises(RuntimeError, match="block 3 failed"):
            md.store(x, tmp_path / name)
        assert os.listdir(tmp_path) == [], f"{name}: nothing, not even a staged file"
    # An existing array is left as it was.
    keep = tmp_path / "keep.npy"
    mmarray.save(keep, np.arange(3.0))
    with pytest.raises(RuntimeError):
        md.store(x, keep, overwrite=True)
    np.testing.assert_array_equal(np.load(keep), np.arange(3.0))
    assert os.listdir(tmp_path) == ["keep.npy"]


def test_tasks_pickle_small_even_for_long_paths(tmp_path):
    d = tmp_path / ("d" * 200)
    d.mkdir()
    path = d / "a.npy"
    mmarray.save(path, np.zeros((1000, 8, 8), dtype=np.float32))
    x = md.from_array(path, chunks=(10, 8, 8))
    sizes = task_sizes(x)
    assert len(sizes) == 100 and max(sizes) < 1024
    # The data is not in the graph: the whole graph is smaller than one chunk of it.
    assert len(pickle.dumps(dict(x.__dask_graph__()))) < 100 * 1024


def test_the_other_byte_order_reads_as_numpy_does(tmp_path):
    other = ">" if np.little_endian else "<"
    a = np.arange(24, dtype=other + "f8").reshape(6, 4)
    for name in ("big.npy", "big.dat"):
        mmarray.save(tmp_path / name, a)
        x = mmarray.dask.from_array(tmp_path / name, chunks=(2, 4))
        assert x.dtype == a.dtype
        with dask.config.set(scheduler="threads"):
            assert np.array_equal(x.compute(), a) and x.sum().compute() == a.sum()
