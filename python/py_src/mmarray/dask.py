"""Dask arrays over mmarray files, read and written in place by the workers.

::

    import mmarray.dask
    x = mmarray.dask.from_array("/shared/temps.dat")        # lazy, no data read
    x.mean().compute()                                       # each worker maps its chunks
    mmarray.dask.store(x * 2, "/shared/doubled.npy")         # each worker writes its blocks

A task of a graph made here carries the array's path, the layout the graph
was built against and its region, never the data: it pickles to a few
hundred bytes, and the worker that runs it maps the file through the Rust
package and hands out the block as a zero-copy view of the mapping. So the
same files serve threads on a laptop and a ``dask.distributed`` cluster
whose workers see the same file system (a network file system's limits are
in docs/GUARANTEES.md).

Default chunks are whole rows (C order) or whole columns (F order) of about
64 MiB (``mmarray._core.DEFAULT_CHUNK_BYTES``), so that each chunk is one
contiguous range of the file; a sharded array's chunks never cross a shard
boundary. The length is the one committed when the graph is built: rows
appended later are not in it, and a task that finds the array shorter, or
of another dtype or shape, than the graph expects raises instead of reading
something else.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Sequence

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from mmarray import _core

__all__ = ["from_array", "from_sharded", "from_store", "store"]

_Region = tuple[tuple[int, int], ...]


def _load(path: str, dtype: str, shape: tuple[int, ...], order: str, region: _Region) -> np.ndarray:
    """A task: maps ``path`` read-only in this worker and returns ``region``
    of it, a zero-copy view (the mapping lives as long as the view)."""
    handle = _core.open(path, "r")
    a = handle.array
    grown_ok = order == "C" and len(shape) > 0
    same = (
        a.dtype == np.dtype(dtype)
        and len(a.shape) == len(shape)
        and (handle.order == order or a.ndim < 2)
        and (a.shape[1:] == shape[1:] and a.shape[0] >= shape[0] if grown_ok else a.shape == shape)
    )
    if not same:
        err = _core.ShapeMismatch(
            f"{path}: the array changed since the Dask graph was built: it was {dtype} {shape} "
            f"{order} order, now {a.dtype.str} {a.shape} {handle.order} order; build the graph again"
        )
        err.path = path
        raise err
    return a[tuple(slice(start, stop) for start, stop in region)]


def _regions(chunks: Sequence[Sequence[int]]) -> Any:
    """Each block's index and its region (start, stop per axis)."""
    bounds = []
    for axis in chunks:
        edges = np.cumsum((0, *axis)).tolist()
        bounds.append([(edges[i], edges[i + 1]) for i in range(len(axis))])
    for index in itertools.product(*[range(len(axis)) for axis in chunks]):
        yield index, tuple(bounds[a][i] for a, i in enumerate(index))


def _identity(path: str) -> tuple[int, int, int]:
    st = os.stat(path.rsplit(".npz/", 1)[0] + ".npz" if ".npz/" in path else path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _graph(name: str, tasks: dict[tuple[Any, ...], tuple[Any, ...]], chunks: Any, dtype: np.dtype) -> da.Array:
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=())
    meta = np.empty((0,) * len(chunks), dtype=dtype)
    return da.Array(graph, name, chunks, dtype=dtype, meta=meta)


def from_array(path: str | os.PathLike[str], chunks: Any = None) -> da.Array:
    """A Dask array over the array at ``path`` (raw + sidecar, ``.npy``, or a
    stored ``.npz`` member ``x.npz/name``), read by mapping it in each
    worker.

    ``chunks`` is anything ``dask.array.from_array`` takes (``"auto"``, an
    int, a tuple per axis, a dict); by default whole rows (C order) or
    whole columns (F order) of about 64 MiB. The file is opened once here
    to check that it can be mapped (dtype in native byte order, alignment)
    and to fix the length.

    numpy/dask: ``da.from_array(np.load(path, mmap_mode="r"), chunks)``,
    whose tasks carry the memmap.
    """
    path = os.path.abspath(os.fspath(path))
    with _core.open(path, "r") as handle:
        dtype, shape, order = handle.dtype, tuple(handle.shape), handle.order
    if chunks is None:
        chunks = tuple(_core.chunk_shape(path))
    normal = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    name = "mmarray-" + tokenize(path, _identity(path), dtype.str, shape, order, normal)
    tasks = {(name, *index): (_load, path, dtype.str, shape, order, region) for index, region in _regions(normal)}
    return _graph(name, tasks, normal, dtype)


def from_store(dir: str | os.PathLike[str], name: str, chunks: Any = None) -> da.Array:
    """A Dask array over array ``name`` of the store at ``dir``; as
    :func:`from_array`."""
    with _core.Store(dir).open(name) as handle:
        path = handle.path
    return from_array(path, chunks)


def from_sharded(dir: str | os.PathLike[str], prefix: str, chunks: int | None = None) -> da.Array:
    """A Dask array over the arrays of the store at ``dir`` whose names start
    with ``prefix``, in name order, concatenated along axis 0 (as
    ``Store.sharded``).

    Chunks never cross a shard boundary: each shard is split into chunks of
    ``chunks`` rows (by default about 64 MiB of rows); an empty shard has no
    chunk. The shards' lengths are those they have now.

    numpy/dask: ``da.concatenate([da.from_array(np.load(p, mmap_mode="r")) for p in paths])``.
    """
    sharded = _core.Store(dir).sharded(prefix)
    row_shape = tuple(sharded.row_shape)
    pieces: list[tuple[str, str, tuple[int, ...], str, int, int]] = []
    dtype: np.dtype | None = None
    first: tuple[str, str, tuple[int, ...], str] | None = None
    for path, _rows in sharded.shards:
        with _core.open(path, "r") as handle:
            shard_dtype, shape, order = handle.dtype, tuple(handle.shape), handle.order
        dtype = shard_dtype if dtype is None else dtype
        if first is None:
            first = (path, shard_dtype.str, shape, order)
        rows = shape[0]
        row_bytes = max(1, int(np.prod(row_shape, dtype=np.int64)) * shard_dtype.itemsize)
        step = chunks if chunks is not None else max(1, _core.DEFAULT_CHUNK_BYTES // row_bytes)
        if step < 1:
            raise ValueError(f"chunks must be a positive number of rows, not {chunks!r}")
        for start in range(0, rows, step):
            pieces.append((path, shard_dtype.str, shape, order, start, min(rows, start + step)))
    assert dtype is not None and first is not None  # Store.sharded refuses no shards
    if not pieces:
        path, dstr, shape, order = first
        pieces.append((path, dstr, shape, order, 0, 0))
    name = "mmarray-sharded-" + tokenize(
        [(p, _identity(p), d, s, o, a, b) for p, d, s, o, a, b in pieces], row_shape
    )
    rest = tuple((0, n) for n in row_shape)
    tasks = {
        (name, i, *([0] * len(row_shape))): (_load, p, d, s, o, ((a, b), *rest))
        for i, (p, d, s, o, a, b) in enumerate(pieces)
    }
    normal = (tuple(b - a for *_, a, b in pieces), *((n,) for n in row_shape))
    return _graph(name, tasks, normal, dtype)


class _BlockWriter:
    """The target of :func:`store`'s tasks: writes a block into the staged
    array through a read-write mapping in the worker that computed it."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __getstate__(self) -> str:
        return self.path

    def __setstate__(self, path: str) -> None:
        self.path = path

    def __setitem__(self, region: tuple[slice, ...], block: np.ndarray) -> None:
        handle = _core.open(self.path, "r+")
        a = handle.array
        a[region] = block
        del a
        handle.close()  # flushes; the blocks are disjoint


def store(
    x: Any,
    path: str | os.PathLike[str],
    attrs: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> None:
    """Computes the Dask array ``x`` and writes it into a new array at
    ``path`` (``.npy`` if the name ends in ``.npy``, raw + sidecar
    otherwise; C order; a non-native byte order is written native), and
    returns when it is complete.

    The array is staged under a hidden temporary name beside ``path``
    (preallocated, so a full disk is an error here, not a signal in a
    worker); each task writes its own block through a read-write mapping in
    its worker; when every block is written the array is moved into place
    and its sidecar written, once. A computation that fails leaves nothing
    at ``path`` (the staged array is removed). ``AlreadyExists`` if an
    array is at ``path`` and ``overwrite`` is false; ``Busy`` when
    overwriting an array that is mapped.

    numpy/dask: ``da.to_npy_stack`` / ``da.store(x, np.lib.format.open_memmap(path, "w+", ...))``.
    """
    x = da.asarray(x)
    if any(np.isnan(c) for axis in x.chunks for c in axis):
        raise ValueError("x has unknown chunk sizes; call x.compute_chunk_sizes() first")
    dtype = np.dtype(x.dtype)
    if not dtype.isnative:
        dtype = dtype.newbyteorder("=")
        x = x.astype(dtype)
    staged = _core.stage(os.path.abspath(os.fspath(path)), x.shape, dtype, "C", attrs, overwrite)
    try:
        da.store(x, _BlockWriter(staged.path), lock=False, compute=True)
        staged.publish()
    except BaseException:
        staged.discard()
        raise
