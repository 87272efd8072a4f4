"""The xarray backend: ``xr.open_dataset(path, engine="mmarray")``.

::

    import xarray as xr
    ds = xr.open_dataset("temps.dat", engine="mmarray")             # one variable, "temps"
    ds = xr.open_dataset("runs/", engine="mmarray", chunks={})      # a store: one variable per array, dask-backed

Opens lazily (the sidecars and headers are read, no data): a raw data file
with its sidecar or a ``.npy`` file becomes a dataset with one variable
named after the file's stem; a store directory becomes one variable per
array, named by its store name, with the store's attrs as the dataset's
attrs. A variable's attrs are its array's attrs; its dimension names are
the attrs' ``"dims"`` (a list of one string per axis, which then is not
repeated among the attrs, as xarray's zarr backend does with
``_ARRAY_DIMENSIONS``), ``<variable>_dim_0``, ``<variable>_dim_1``, ...
otherwise. Values are read by mapping the file when xarray asks for them:
basic indexing gives zero-copy views of the mapping; with ``chunks=`` the
variables are Dask arrays whose tasks map the file in their workers.

Registered as the entry point ``mmarray`` of group ``xarray.backends``.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from mmarray import _core

__all__ = ["MmarrayBackendArray", "MmarrayBackendEntrypoint"]

_STORE_FILE = "mmarray-store.json"


class MmarrayBackendArray(BackendArray):
    """An array file as xarray's lazily indexed backend array: picklable
    (path, shape, dtype), mapped on each read."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path = path
        self.shape = shape
        self.dtype = dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._getitem
        )

    def _getitem(self, key: tuple[Any, ...]) -> np.ndarray:
        a = _core.open(self.path, "r").array
        # The length seen at open; rows appended since are not part of it.
        a = a[tuple(slice(0, n) for n in self.shape)]
        return a[key]


def _variable(path: str, name: str) -> xr.Variable:
    with _core.open(path, "r") as handle:
        shape, dtype = tuple(handle.shape), handle.dtype
    # Dimension names and attrs by the one rule (mmarray::format::zarr).
    meta = _core.zarr_metadata(path, name)
    data = indexing.LazilyIndexedArray(MmarrayBackendArray(path, shape, dtype))
    return xr.Variable(meta["dimension_names"], data, attrs=meta["attributes"])


class MmarrayBackendEntrypoint(BackendEntrypoint):
    """``engine="mmarray"``: raw + sidecar files, ``.npy`` files and mmarray
    store directories."""

    description = "Memory-mapped mmarray arrays (raw + JSON sidecar, .npy, store directories), zero-copy"
    url = "https://github.com/mmarray/mmarray"
    open_dataset_parameters = ("filename_or_obj", "drop_variables")

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[Any],
        *,
        drop_variables: str | Iterable[str] | None = None,
    ) -> xr.Dataset:
        path = os.path.abspath(os.fspath(filename_or_obj))
        drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
        if os.path.isdir(path):
            store = _core.Store(path)
            variables = {}
            for entry in store.list():
                name = entry["name"]
                if name in drop:
                    continue
                with store.open(name) as handle:
                    array_path = handle.path
                variables[name] = _variable(array_path, name)
            return xr.Dataset(variables, attrs=store.attrs)
        info = _core.info(path)
        if isinstance(info, list):
            raise _core.InvalidArgument(
                f"{path}: a .npz archive holds several arrays; open one member as ARCHIVE.npz/NAME"
            )
        data_path = info["path"]
        name = os.path.splitext(os.path.basename(data_path))[0]
        variables = {} if name in drop else {name: _variable(data_path, name)}
        return xr.Dataset(variables)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        try:
            path = os.fspath(filename_or_obj)
        except TypeError:
            return False
        if not isinstance(path, str):
            return False
        if os.path.isdir(path):
            return os.path.isfile(os.path.join(path, _STORE_FILE))
        return path.endswith(".npy") or os.path.isfile(path + ".json") or (
            path.endswith(".json") and os.path.isfile(path[: -len(".json")])
        )
