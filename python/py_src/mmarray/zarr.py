"""A read-only zarr v3 store over mmarray arrays: ``mmarray.zarr.Store``.

::

    import zarr, xarray as xr, dask.array as da
    from mmarray.zarr import Store
    z = zarr.open_array(Store("temps.dat"), mode="r")           # one array at the root
    g = zarr.open_group(Store("runs/"), mode="r")                # a store: a group of arrays
    ds = xr.open_zarr(Store("runs/"), consolidated=False)
    x = da.from_zarr(Store("runs/"), component="temps")

Each mmarray array appears as a zarr v3 array whose ``zarr.json`` is made
from its sidecar (``mmarray::format::zarr``: attrs become attributes,
``"dims"`` the ``dimension_names``, F order the transpose codec) and whose
chunks are whole rows (C order) or whole columns (F order) of about 64 MiB:
each one contiguous range of the file, served as a zero-copy view of the
mapping. zarr stores an axis's last chunk at full size, so when the length
is not a multiple of the chunk that one chunk is served padded (a copy of
at most one chunk). A store directory is a group whose attributes are the
store's attrs, one array per store name.

The arrays are mapped read-only (through the Rust package, under its
shared lock) when their first chunk is read and stay mapped until
:meth:`Store.close`. A non-native byte order cannot be mapped and raises
``NonNativeByteOrder`` at the first chunk (``mmarray zarr`` exports such a
file for zarr readers instead). The store pickles as its path, so Dask
workers reopen it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import numpy as np
from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.abc.store import Store as _ZarrStore
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from mmarray import _core

__all__ = ["Store"]


class _Array:
    """One mmarray array presented as a zarr array: its zarr.json and its
    chunks as byte ranges of the mapping."""

    def __init__(self, path: str, name: str, chunk_bytes: int | None) -> None:
        self.path = path
        self.meta = _core.zarr_metadata(path, name, chunk_bytes)
        self.json = _json_bytes(self.meta)
        self.shape = tuple(self.meta["shape"])
        self.chunk_shape = tuple(self.meta["chunk_grid"]["configuration"]["chunk_shape"])
        # F order is the one case with a transpose codec (see format::zarr).
        codecs = [c["name"] for c in self.meta["codecs"]]
        self.order = "F" if "transpose" in codecs else "C"
        self.itemsize = np.dtype(self.meta["data_type"]).itemsize
        ndim = len(self.shape)
        self.axis = 0 if self.order == "C" or ndim < 2 else ndim - 1
        self.grid = tuple(-(-n // c) for n, c in zip(self.shape, self.chunk_shape))
        self._bytes: np.ndarray | None = None
        self._lock = threading.Lock()

    def bytes_view(self) -> np.ndarray:
        """The array's bytes in file order, a uint8 view of the mapping."""
        with self._lock:
            if self._bytes is None:
                handle = _core.open(self.path, "r")
                a = handle.array
                a = a[tuple(slice(0, n) for n in self.shape)]  # the length at open
                flat = a.reshape(-1, order="F" if self.order == "F" and a.ndim > 1 else "C")
                self._bytes = flat.view(np.uint8)
            return self._bytes

    def chunk_keys(self) -> list[str]:
        if not self.shape:
            return ["c"]
        if 0 in self.shape:
            return []
        keys = []
        for i in range(self.grid[self.axis]):
            index = [0] * len(self.shape)
            index[self.axis] = i
            keys.append("c/" + "/".join(map(str, index)))
        return keys

    def chunk(self, key: str) -> np.ndarray | None:
        """Chunk ``key`` ("c/0/3") as bytes, or None if there is no such chunk."""
        if not self.shape:
            return self.bytes_view() if key == "c" else None
        parts = key.split("/")
        if parts[0] != "c" or len(parts) != len(self.shape) + 1:
            return None
        try:
            index = [int(p) for p in parts[1:]]
        except ValueError:
            return None
        if any(not 0 <= i < g for i, g in zip(index, self.grid)):
            return None
        if any(i != 0 for a, i in enumerate(index) if a != self.axis):
            return None
        slab = self.itemsize * int(np.prod([n for a, n in enumerate(self.shape) if a != self.axis], dtype=np.int64))
        k = self.chunk_shape[self.axis]
        start = index[self.axis] * k
        stop = min(self.shape[self.axis], start + k)
        view = self.bytes_view()[start * slab : stop * slab]
        if stop - start == k:
            return view  # zero-copy
        padded = np.zeros(k * slab, dtype=np.uint8)  # zarr's edge chunk is full size
        padded[: view.size] = view
        return padded


def _json_bytes(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta).encode()


def _slice(data: np.ndarray, byte_range: ByteRequest | None) -> np.ndarray:
    if byte_range is None:
        return data
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start : byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset :]
    if isinstance(byte_range, SuffixByteRequest):
        return data[max(0, data.size - byte_range.suffix) :]
    raise TypeError(f"unexpected byte range {byte_range!r}")


class Store(_ZarrStore):
    """A read-only zarr v3 store over an mmarray store directory (a group of
    arrays) or one array's path (an array at the root).

    ``chunk_bytes`` sets the chunk size aimed at (default 64 MiB, whole rows
    or columns). numpy/zarr: ``zarr.storage.LocalStore`` over a copy made
    with ``zarr.create_array``, here with no copy.
    """

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = True

    def __init__(self, path: str | os.PathLike[str], *, chunk_bytes: int | None = None) -> None:
        super().__init__(read_only=True)
        self.path = os.path.abspath(os.fspath(path))
        self.chunk_bytes = chunk_bytes
        self._arrays: dict[str, _Array] = {}
        if os.path.isdir(self.path):
            store = _core.Store(self.path)
            self._root = _json_bytes(_core.zarr_group_metadata(self.path))
            for entry in store.list():
                name = entry["name"]
                with store.open(name) as handle:
                    array_path = handle.path
                self._arrays[name] = _Array(array_path, name, chunk_bytes)
        else:
            info = _core.info(self.path)
            if isinstance(info, list):
                raise _core.InvalidArgument(
                    f"{self.path}: a .npz archive holds several arrays; open one member as ARCHIVE.npz/NAME"
                )
            data_path = info["path"]
            name = os.path.splitext(os.path.basename(data_path))[0]
            array = _Array(data_path, name, chunk_bytes)
            self._root = array.json
            self._arrays[""] = array

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "chunk_bytes": self.chunk_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], chunk_bytes=state["chunk_bytes"])  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and (other.path, other.chunk_bytes) == (self.path, self.chunk_bytes)

    def __repr__(self) -> str:
        return f"mmarray.zarr.Store({self.path!r})"

    def close(self) -> None:
        """Drops the mappings (views handed out keep theirs alive)."""
        for array in self._arrays.values():
            array._bytes = None
        super().close()

    def _split(self, key: str) -> tuple[_Array | None, str]:
        if "" in self._arrays:
            return self._arrays[""], key
        name, _, rest = key.partition("/")
        return self._arrays.get(name), rest

    def _value(self, key: str) -> bytes | np.ndarray | None:
        if key == "zarr.json":
            return self._root
        array, rest = self._split(key)
        if array is None:
            return None
        if rest == "zarr.json":
            return array.json
        return array.chunk(rest)

    def _keys(self) -> list[str]:
        keys = ["zarr.json"]
        for name, array in self._arrays.items():
            prefix = f"{name}/" if name else ""
            if name:
                keys.append(prefix + "zarr.json")
            keys.extend(prefix + k for k in array.chunk_keys())
        return keys

    async def get(
        self,
        key: str,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        prototype = prototype or default_buffer_prototype()
        value = self._value(key)
        if value is None:
            return None
        data = np.frombuffer(value, dtype=np.uint8) if isinstance(value, bytes) else value
        return prototype.buffer.from_array_like(_slice(data, byte_range))

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]

    async def exists(self, key: str) -> bool:
        return self._value(key) is not None

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()

    async def delete(self, key: str) -> None:
        self._check_writable()

    async def list(self) -> AsyncIterator[str]:  # type: ignore[override]
        for key in self._keys():
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:  # type: ignore[override]
        for key in self._keys():
            if key.startswith(prefix):
                yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:  # type: ignore[override]
        prefix = prefix.rstrip("/")
        seen = set()
        for key in self._keys():
            if prefix and not key.startswith(prefix + "/"):
                continue
            child = key[len(prefix) + 1 :].split("/")[0] if prefix else key.split("/")[0]
            if child not in seen:
                seen.add(child)
                yield child
