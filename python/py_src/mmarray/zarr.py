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

The store is read-only (``Store(path, read_only=True)``, the default; a
request for a writable one is refused) and compares equal to, and hashes
as, another over the same path and chunk size. Each array's file is looked
at when its keys are asked for: a store directory with one broken array
serves the others, and reading the broken one raises its error (as
``mmarray.open`` would). The arrays are mapped read-only (through the Rust
package, under its shared lock) when their first chunk is read and stay
mapped until :meth:`Store.close`. A chunk read checks the file against the
``zarr.json`` this store served for it: an array replaced meanwhile by
another dtype, shape or order raises ``ShapeMismatch`` instead of serving
bytes that zarr would decode as something else. Files in the other byte
order are served as they are (the ``bytes`` codec names their endianness),
``.npz`` members (``x.npz/name``) like any other array. The store pickles
as its path, so Dask workers reopen it.
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


def _identity(path: str) -> tuple[int, int, int, int]:
    """What changes when the file at ``path`` (an archive, for a member) is
    replaced or rewritten."""
    st = os.stat(path.rsplit(".npz/", 1)[0] + ".npz" if ".npz/" in path else path)
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class _Array:
    """One mmarray array presented as a zarr array: its zarr.json and its
    chunks as byte ranges of the mapping."""

    def __init__(self, path: str, name: str, chunk_bytes: int | None) -> None:
        self.path = path
        self.identity = _identity(path)
        self.meta = _core.zarr_metadata(path, name, chunk_bytes)
        self.json = _json_bytes(self.meta)
        self.shape = tuple(self.meta["shape"])
        self.chunk_shape = tuple(self.meta["chunk_grid"]["configuration"]["chunk_shape"])
        # F order is the one case with a transpose codec (see format::zarr).
        codecs = [c["name"] for c in self.meta["codecs"]]
        self.order = "F" if "transpose" in codecs else "C"
        # The file's dtype: zarr's data type in the bytes codec's byte order.
        endian = next(
            (c.get("configuration", {}).get("endian") for c in self.meta["codecs"] if c["name"] == "bytes"),
            None,
        )
        self.dtype = np.dtype(self.meta["data_type"])
        if endian is not None and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(">" if endian == "big" else "<")
        self.itemsize = self.dtype.itemsize
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
                grown_ok = self.order == "C" and len(self.shape) > 0
                same = (
                    a.dtype == self.dtype
                    and a.ndim == len(self.shape)
                    and (handle.order == self.order or a.ndim < 2)
                    and (a.shape[1:] == self.shape[1:] and a.shape[0] >= self.shape[0] if grown_ok else a.shape == self.shape)
                )
                if not same:
                    err = _core.ShapeMismatch(
                        f"{self.path}: the array changed since its zarr.json was served: it was "
                        f"{self.dtype.str} {self.shape} {self.order} order, now {a.dtype.str} {a.shape} "
                        f"{handle.order} order; open it with zarr again"
                    )
                    err.path = self.path
                    raise err
                a = a[tuple(slice(0, n) for n in self.shape)]  # the length served
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
    """``data[byte_range]``, as zarr's own stores read byte ranges."""
    if byte_range is None:
        return data
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start : byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset :]
    if isinstance(byte_range, SuffixByteRequest):
        return data[max(0, data.size - byte_range.suffix) :]
    # zarr's LocalStore's error, word for word.
    raise TypeError(f"Unexpected byte_range, got {byte_range}.")


def _read_only_refused(path: str) -> _core.InvalidArgument:
    err = _core.InvalidArgument(
        f"{path}: mmarray.zarr.Store is read-only (it serves mmarray arrays as zarr reads them); "
        "open it with read_only=True, and write arrays with mmarray.save, mmarray.create or "
        "Store.create_array, or make a zarr copy with `mmarray zarr`"
    )
    err.path = path
    return err


class Store(_ZarrStore):
    """A read-only zarr v3 store over an mmarray store directory (a group of
    arrays), one array's path (an array at the root) or a ``.npz`` member
    (``x.npz/name``).

    ``read_only`` must be true (the default): the store only reads; a
    request for a writable store is ``InvalidArgument``. ``chunk_bytes``
    sets the chunk size aimed at (default 64 MiB, whole rows or columns).

    numpy/zarr: ``zarr.storage.LocalStore(path, read_only=True)`` over a
    copy made with ``zarr.create_array(store, data=np.load(path))``, here
    with no copy: ``zarr.open_array(Store(path), mode="r")[...]`` equals
    ``np.load(path, mmap_mode="r")``.
    """

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = True,
        chunk_bytes: int | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        if not read_only:
            raise _read_only_refused(self.path)
        super().__init__(read_only=True)
        self.chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        # name -> the array ("" for an array at the root).
        self._arrays: dict[str, _Array] = {}
        if os.path.isdir(self.path):
            self._store: _core.Store | None = _core.Store(self.path)
            self._root = _json_bytes(_core.zarr_group_metadata(self.path))
            self._names = [entry["name"] for entry in self._store.list()]
            self._root_array: tuple[str, str] | None = None
        else:
            info = _core.info(self.path)
            if isinstance(info, list):
                raise _core.InvalidArgument(
                    f"{self.path}: a .npz archive holds several arrays; open one member as ARCHIVE.npz/NAME"
                )
            self._store = None
            if info["format"] == "npz":  # x.npz/name: the member's own path
                name, data_path = os.path.basename(self.path), self.path
            else:
                data_path = info["path"]
                name = os.path.splitext(os.path.basename(data_path))[0]
            self._root_array = (data_path, name)
            self._names = [""]
            self._root = b""

    def with_read_only(self, read_only: bool = False) -> Store:
        """A new store over the same path (not opened); ``read_only=False``
        is ``InvalidArgument``: this store only reads."""
        return type(self)(self.path, read_only=read_only, chunk_bytes=self.chunk_bytes)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "chunk_bytes": self.chunk_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], chunk_bytes=state["chunk_bytes"])  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and (other.path, other.chunk_bytes) == (self.path, self.chunk_bytes)

    def __hash__(self) -> int:
        return hash((Store, self.path, self.chunk_bytes))

    def __repr__(self) -> str:
        return f"mmarray.zarr.Store({self.path!r})"

    def close(self) -> None:
        """Drops the mappings (views handed out keep theirs alive)."""
        with self._lock:
            for array in self._arrays.values():
                array._bytes = None
        super().close()

    def _array(self, name: str, fresh: bool = False) -> _Array:
        """Array ``name`` ("" at the root), opened at its first use; with
        ``fresh`` (a request for its zarr.json), opened again if its file
        was replaced or rewritten since. Chunks are served by the array
        whose zarr.json was served last, which checks the file against it
        when it maps it. A broken array raises its error, every time."""
        with self._lock:
            array = self._arrays.get(name)
            if array is not None:
                try:
                    if not fresh or _identity(array.path) == array.identity:
                        return array
                except OSError:
                    pass
            if self._root_array is not None:
                path, label = self._root_array
            else:
                assert self._store is not None
                with self._store.open(name) as handle:
                    path = handle.path
                label = name
            array = _Array(path, label, self.chunk_bytes)
            self._arrays[name] = array
            return array

    def _split(self, key: str) -> tuple[str | None, str]:
        if self._root_array is not None:
            return "", key
        name, _, rest = key.partition("/")
        return (name if name in self._names else None), rest

    def _value(self, key: str) -> bytes | np.ndarray | None:
        if key == "zarr.json" and self._root_array is None:
            return self._root
        name, rest = self._split(key)
        if name is None:
            return None
        if rest == "zarr.json":
            return self._array(name, fresh=True).json
        return self._array(name).chunk(rest)

    def _keys(self) -> list[str]:
        keys = [] if self._root_array is not None else ["zarr.json"]
        for name in self._names:
            prefix = f"{name}/" if name else ""
            keys.append(prefix + "zarr.json")
            try:
                chunks = self._array(name).chunk_keys()
            except Exception:
                chunks = []  # a broken array: its zarr.json raises its error
            keys.extend(prefix + k for k in chunks)
        return keys

    async def get(
        self,
        key: str,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        return self.get_sync(key, prototype=prototype, byte_range=byte_range)

    def get_sync(
        self,
        key: str,
        *,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        """``get`` without the event loop (zarr's ``SupportsGetSync``): the
        chunks are views of the mapping, so nothing waits."""
        prototype = prototype or default_buffer_prototype()
        if byte_range is not None and not isinstance(
            byte_range, (RangeByteRequest, OffsetByteRequest, SuffixByteRequest)
        ):
            raise TypeError(f"Unexpected byte_range, got {byte_range}.")
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
        try:
            return self._value(key) is not None
        except _core.Error:
            return key.endswith("zarr.json")  # a broken array is there

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()

    async def delete(self, key: str) -> None:
        self._check_writable()

    async def clear(self) -> None:
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
