"""The xarray backend: ``xr.open_dataset(path, engine="mmarray")``.

::

    import xarray as xr
    ds = xr.open_dataset("temps.dat", engine="mmarray")             # one variable, "temps"
    ds = xr.open_dataset("runs/", engine="mmarray", chunks={})      # a store: one variable per array, dask-backed
    ds = xr.open_dataset("x.npz/a", engine="mmarray")               # a .npz member

Opens lazily (the sidecars and headers are read, no data), as xarray's
netCDF and zarr backends do: a raw data file with its sidecar, a ``.npy``
file or a ``.npz`` member becomes a dataset with one variable named after
the file's stem (the member's name); a store directory becomes one variable
per array, named by its store name, with the store's attrs as the
dataset's attrs. A variable's attrs are its array's attrs; its dimension
names are the attrs' ``"dims"`` (a list of one string per axis, which then
is not repeated among the attrs, as xarray's zarr backend does with
``_ARRAY_DIMENSIONS``), ``<variable>_dim_0``, ``<variable>_dim_1``, ...
otherwise.

The standard ``open_dataset`` keywords are honoured: ``decode_cf``,
``mask_and_scale``, ``decode_times``, ``decode_timedelta``,
``use_cftime``, ``concat_characters``, ``decode_coords`` and
``drop_variables``, by xarray's own CF decoding (``xarray.conventions``),
so attrs such as ``scale_factor``, ``add_offset``, ``_FillValue`` and
``units: "days since 2000-01-01"`` decode as they do for netCDF.

Values are read through :class:`MmarrayBackendArray` (xarray's lazily
indexed ``BackendArray``): each read maps the file, copies the selected
elements out (in the machine's byte order) and unmaps, so ``.values`` and
``.load()`` give in-memory, writable arrays that do not change when the
file later does. Each variable's ``encoding`` holds ``source`` (the file),
``dtype`` (the file's), ``original_shape`` and ``preferred_chunks``
(mmarray's own chunking: whole rows, or whole columns for F order, of about
64 MiB), so ``chunks={}`` gives those chunks; with ``chunks=`` the
variables are Dask arrays whose tasks each read their chunk from the file
in the worker that runs them: a task holds the path, layout and region (a
few hundred bytes pickled, no data), maps the file there and copies its
chunk out.

That copy is the one difference from :mod:`mmarray.dask`, whose blocks are
zero-copy views of the mapping: xarray gives a backend no way to tell a
chunk read in a Dask task from a ``.values`` or ``.load()`` read, which
must copy. ``BackendEntrypoint.open_dataset`` is not passed ``chunks``;
xarray itself wraps the backend array (``CopyOnWriteArray``, then
``ImplicitToExplicitIndexingAdapter``) and calls ``dask.array.from_array``
on the wrapper, so both reads arrive as the same
``BackendArray.__getitem__`` call. xarray's own memory-mapping backend
(scipy's, ``mmap=True``) copies every read too, Dask tasks' included. For
zero-copy blocks, build the Dask array with :func:`mmarray.dask.from_array`
and wrap it: ``xr.DataArray(mmarray.dask.from_array(path), dims=...)``.

Registered as the entry point ``mmarray`` of group ``xarray.backends``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore
from xarray.backends.store import StoreBackendEntrypoint
from xarray.core import indexing
from xarray.core.utils import FrozenDict

from mmarray import _core

__all__ = ["MmarrayBackendArray", "MmarrayBackendEntrypoint", "MmarrayDataStore"]

_STORE_FILE = "mmarray-store.json"


class MmarrayBackendArray(BackendArray):
    """An array file as xarray's lazily indexed backend array: picklable
    (path, shape, dtype, order), mapped on each read, which returns a copy
    of the elements asked for in the machine's byte order (each Dask task
    of ``chunks=`` reads its chunk so, in its worker).

    numpy: ``np.load(path, mmap_mode="r")[key].astype(dtype)``.
    """

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype, order: str) -> None:
        self.path = path
        self.shape = shape
        self.file_dtype = np.dtype(dtype)
        self.dtype = self.file_dtype.newbyteorder("=")
        self.order = order

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._getitem
        )

    def _getitem(self, key: tuple[Any, ...]) -> np.ndarray:
        with _core.open(self.path, "r") as handle:
            a = handle.array
            grown_ok = self.order == "C" and len(self.shape) > 0
            same = (
                a.dtype == self.file_dtype
                and a.ndim == len(self.shape)
                and (handle.order == self.order or a.ndim < 2)
                and (a.shape[1:] == self.shape[1:] and a.shape[0] >= self.shape[0] if grown_ok else a.shape == self.shape)
            )
            if not same:
                err = _core.ShapeMismatch(
                    f"{self.path}: the array changed since the dataset was opened: it was "
                    f"{self.file_dtype.str} {self.shape} {self.order} order, now {a.dtype.str} {a.shape} "
                    f"{handle.order} order; open the dataset again"
                )
                err.path = self.path
                raise err
            # The length seen at open; rows appended since are not part of it.
            a = a[tuple(slice(0, n) for n in self.shape)]
            # Outer indexing (slices, ints, integer arrays per axis), as
            # xarray's netCDF backends; a copy, never a view of the mapping.
            for axis in reversed(range(len(key))):
                k = key[axis]
                if isinstance(k, np.ndarray):
                    a = np.take(a, k, axis=axis)
                    key = key[:axis] + (slice(None),) + key[axis + 1 :]
            return np.array(a[key], dtype=self.dtype, order="C", copy=True)


def _describe(path: str) -> tuple[str, str]:
    """The path to open and the variable's name for the array at ``path``
    (a raw file, its sidecar, a ``.npy`` file or a ``.npz`` member)."""
    info = _core.info(path)
    if isinstance(info, list):
        raise _core.InvalidArgument(
            f"{path}: a .npz archive holds several arrays; open one member as ARCHIVE.npz/NAME"
        )
    if info["format"] == "npz":
        return path, os.path.basename(path)
    data_path = info["path"]
    return data_path, os.path.splitext(os.path.basename(data_path))[0]


def _variable(path: str, name: str) -> xr.Variable:
    """The variable of the array at ``path``, lazily indexed, with its
    attrs, dimension names and encoding."""
    # Dimension names, attrs and chunks by the one rule (mmarray::format::zarr).
    meta = _core.zarr_metadata(path, name)
    info = _core.info(path)
    shape, dtype, order = tuple(info["shape"]), np.dtype(info["dtype"]), info["order"]
    dims = tuple(meta["dimension_names"])
    chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    data = indexing.LazilyIndexedArray(MmarrayBackendArray(path, shape, dtype, order))
    encoding = {
        "source": path,
        "dtype": dtype,
        "original_shape": shape,
        "preferred_chunks": dict(zip(dims, chunks)),
    }
    return xr.Variable(dims, data, attrs=dict(meta["attributes"]), encoding=encoding)


class MmarrayDataStore(AbstractDataStore):
    """A raw file, ``.npy`` file, ``.npz`` member or store directory as
    xarray's data store: what xarray's CF decoding reads the variables and
    attrs from (as the netCDF and zarr backends' stores)."""

    def __init__(self, path: str, drop_variables: Iterable[str] = ()) -> None:
        self.path = path
        drop = set(drop_variables)
        self._variables: dict[str, xr.Variable] = {}
        self._attrs: dict[str, Any] = {}
        if os.path.isdir(path):
            store = _core.Store(path)
            self._attrs = store.attrs
            for entry in store.list():
                name = entry["name"]
                if name in drop:
                    continue
                with store.open(name) as handle:
                    array_path = handle.path
                self._variables[name] = _variable(array_path, name)
        else:
            array_path, name = _describe(path)
            if name not in drop:
                self._variables[name] = _variable(array_path, name)

    def get_variables(self) -> FrozenDict:
        return FrozenDict(self._variables)

    def get_attrs(self) -> FrozenDict:
        return FrozenDict(self._attrs)

    def get_dimensions(self) -> FrozenDict:
        dims: dict[str, int] = {}
        for v in self._variables.values():
            dims.update(v.sizes)
        return FrozenDict(dims)

    def get_encoding(self) -> dict[str, Any]:
        return {"source": self.path}

    def close(self) -> None:
        """Nothing to close: each read maps and unmaps the file."""


class MmarrayBackendEntrypoint(BackendEntrypoint):
    """``engine="mmarray"``: raw + sidecar files, ``.npy`` files, ``.npz``
    members and mmarray store directories.

    numpy/xarray: ``xr.Dataset({name: (dims, np.load(path, mmap_mode="r"), attrs)})``,
    decoded as ``xr.decode_cf`` does.
    """

    description = "Memory-mapped mmarray arrays (raw + JSON sidecar, .npy, .npz members, store directories)"
    url = "https://github.com/mmarray/mmarray"
    open_dataset_parameters = (
        "filename_or_obj",
        "mask_and_scale",
        "decode_times",
        "concat_characters",
        "decode_coords",
        "drop_variables",
        "use_cftime",
        "decode_timedelta",
    )

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[Any],
        *,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        concat_characters: bool = True,
        decode_coords: bool | str = True,
        drop_variables: str | Iterable[str] | None = None,
        use_cftime: bool | None = None,
        decode_timedelta: bool | None = None,
    ) -> xr.Dataset:
        path = os.path.abspath(os.fspath(filename_or_obj))
        drop = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables or ())
        store = MmarrayDataStore(path, drop)
        return StoreBackendEntrypoint().open_dataset(
            store,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            drop_variables=drop,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        try:
            path = os.fspath(filename_or_obj)
        except TypeError:
            return False
        if not isinstance(path, str):
            return False
        if os.path.isdir(path):
            return os.path.isfile(os.path.join(path, _STORE_FILE))
        if ".npz/" in path:
            return os.path.isfile(path.rsplit(".npz/", 1)[0] + ".npz")
        return path.endswith(".npy") or os.path.isfile(path + ".json") or (
            path.endswith(".json") and os.path.isfile(path[: -len(".json")])
        )
