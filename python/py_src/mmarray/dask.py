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

import os
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize

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


class _MappedFile:
    """What a graph holds of an array file: its path and the layout the graph
    was built against (a few hundred bytes pickled). Indexing it with basic
    slices maps the file in the calling worker (:func:`_load`)."""

    __slots__ = ("dtype", "ndim", "order", "path", "shape")

    def __init__(self, path: str, dtype: np.dtype, shape: tuple[int, ...], order: str) -> None:
        self.path, self.dtype, self.shape, self.order = path, dtype, shape, order
        self.ndim = len(shape)

    def __getstate__(self) -> tuple[str, str, tuple[int, ...], str]:
        return (self.path, self.dtype.str, self.shape, self.order)

    def __setstate__(self, state: tuple[str, str, tuple[int, ...], str]) -> None:
        path, dtype, shape, order = state
        self.__init__(path, np.dtype(dtype), shape, order)  # type: ignore[misc]

    def __getitem__(self, key: Any) -> np.ndarray:
        """Basic indexing (what Dask's getter passes: slices, with steps
        when a slice of the Dask array was fused into the read, or ints):
        maps only the rows or columns the key spans."""
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > self.ndim or not all(isinstance(k, (slice, int, np.integer)) for k in key):
            whole = tuple((0, n) for n in self.shape)
            return _load(self.path, self.dtype.str, self.shape, self.order, whole)[key]
        region, within = [], []
        for k, n in zip(key, self.shape):
            if not isinstance(k, slice):
                i = int(k) + n if int(k) < 0 else int(k)
                if not 0 <= i < n:
                    raise IndexError(f"index {int(k)} is out of bounds for an axis of size {n}")
                region.append((i, i + 1))
                within.append(0)
                continue
            r = range(*k.indices(n))
            if not r:
                region.append((0, 0))
                within.append(slice(0, 0))
                continue
            lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
            region.append((lo, hi))
            stop = r[-1] - lo + (1 if r.step > 0 else -1)
            within.append(slice(r[0] - lo, stop if stop >= 0 else None, r.step))
        region += [(0, n) for n in self.shape[len(key) :]]
        block = _load(self.path, self.dtype.str, self.shape, self.order, tuple(region))
        return block[tuple(within)]

    def __repr__(self) -> str:
        return f"mmarray file {self.path!r} {self.dtype.str} {self.shape} {self.order}"


def _identity(path: str) -> tuple[int, int, int]:
    st = os.stat(path.rsplit(".npz/", 1)[0] + ".npz" if ".npz/" in path else path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _dask_array(path: str, dtype: np.dtype, shape: tuple[int, ...], order: str, chunks: Any) -> da.Array:
    """A Dask array over the file: ``da.from_array`` over a :class:`_MappedFile`
    inlined into each task (so a task holds the path, the layout and its
    slices, and fuses with what follows it), without locks."""
    f = _MappedFile(path, dtype, shape, order)
    name = "mmarray-" + tokenize(path, _identity(path), dtype.str, shape, order, chunks)
    return da.from_array(
        f,
        chunks=chunks,
        name=name,
        lock=False,
        asarray=False,
        inline_array=True,
        meta=np.empty((0,) * len(shape), dtype=dtype),
    )


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
    whose tasks carry the memmap (pickled with its data on a cluster).
    """
    path = os.path.abspath(os.fspath(path))
    with _core.open(path, "r") as handle:
        dtype, shape, order = handle.dtype, tuple(handle.shape), handle.order
    if chunks is None:
        chunks = tuple(_core.chunk_shape(path))
    normal = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    return _dask_array(path, dtype, shape, order, normal)


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
    if chunks is not None and chunks < 1:
        raise ValueError(f"chunks must be a positive number of rows, not {chunks!r}")
    sharded = _core.Store(dir).sharded(prefix)
    row_shape = tuple(sharded.row_shape)
    parts = []
    for path, _rows in sharded.shards:
        with _core.open(path, "r") as handle:
            dtype, shape, order = handle.dtype, tuple(handle.shape), handle.order
        row_bytes = max(1, int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize)
        step = chunks if chunks is not None else max(1, _core.DEFAULT_CHUNK_BYTES // row_bytes)
        normal = da.core.normalize_chunks((step, *row_shape), shape, dtype=dtype)
        if shape[0] or not parts:
            parts.append((shape[0], _dask_array(path, dtype, shape, order, normal)))
    nonempty = [x for rows, x in parts if rows] or [parts[0][1]]
    return nonempty[0] if len(nonempty) == 1 else da.concatenate(nonempty, axis=0)


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
