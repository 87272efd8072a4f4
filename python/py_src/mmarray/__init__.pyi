"""Type stubs of the mmarray package, with the numpy equivalent of each call.

| numpy                                              | mmarray                                      |
|----------------------------------------------------|----------------------------------------------|
| ``np.memmap(p, dtype, mode="r", shape=...)``       | ``mmarray.open(p).array`` (dtype, shape from the file) |
| ``np.load(p, mmap_mode="r+")``                     | ``mmarray.open(p, "r+").array``              |
| ``np.load(p, mmap_mode="c")``                      | ``mmarray.open(p, "c").array``               |
| ``np.lib.format.open_memmap(p, "w+", dtype, shape)`` | ``mmarray.create(p, shape, dtype)``        |
| ``np.save(p, a)`` / ``a.tofile(p)`` + sidecar      | ``mmarray.save(p, a)``                       |
| ``np.concatenate`` into a new file                 | ``h.append(rows)`` (in place, amortised O(1)) |
| ``m.flush()``                                      | ``h.flush()`` / ``h.commit()``               |
| ``a.min(), a.max(), a.sum(), a.mean(), a.std()``   | ``mmarray.stats(p)`` (one parallel pass)     |
"""

import os
from types import TracebackType
from typing import Any, Literal, Sequence

import numpy as np
import numpy.typing as npt

_Path = str | os.PathLike[str]
_Json = Any

class Array:
    """An open memory-mapped array (``mmarray.open``, ``mmarray.create``).

    numpy: ``m = np.load(path, mmap_mode=mode)`` / ``np.memmap(path, dtype,
    mode, shape=...)``; ``h.array`` is ``m``, ``h.flush()`` is ``m.flush()``,
    ``h.close()`` is ``del m``.

    Every ``array`` is a new zero-copy numpy view of the mapping whose base
    chain keeps the mapping alive: views stay valid after the handle is
    garbage-collected, closed, and across ``append``. ``close()`` (and
    leaving a ``with`` block) closes the handle at once; while views of it
    are alive they keep the mapping, and the file's shared lock, until the
    last of them is gone, so ``with mmarray.open(p) as h: a = h.array``
    leaves a usable ``a``. After ``close()``, ``array`` raises
    ``ValueError``.

    No call holds a lock while Python code runs, and every call that waits
    or does I/O releases the GIL: threads and finalisers may use one handle
    at once. In a child forked from the process that opened it, a handle
    reads, but ``append``, ``resize``, ``publish``, ``commit`` and ``flush``
    raise ``InvalidArgument`` (the file's locks and length are the
    parent's), and closing it there leaves the parent's mapping alone.
    """

    @property
    def array(self) -> npt.NDArray[Any]:
        """The numpy array over the mapping, of the file's dtype (in its byte
        order: ``>f4`` for a big-endian file) and memory order; writable for
        modes "r+" and "c". Data at an offset its type is not aligned to is
        an unaligned view, as numpy gives.

        numpy: ``np.memmap(path, dtype, mode, shape=...)``.
        """
    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> npt.NDArray[Any]:
        """``np.asarray(handle)``: the same as ``handle.array``."""
    @property
    def path(self) -> str: ...
    @property
    def mode(self) -> Literal["r", "r+", "c"]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def dtype(self) -> np.dtype[Any]:
        """numpy: ``m.dtype``."""
    @property
    def shape(self) -> tuple[int, ...]:
        """The current shape. numpy: ``m.shape``."""
    @property
    def order(self) -> Literal["C", "F"]: ...
    @property
    def attrs(self) -> dict[str, _Json]:
        """The sidecar's user attrs (``{}`` for .npy files)."""
    def append(self, rows: npt.ArrayLike) -> None:
        """Appends rows along axis 0 of a raw C-order array opened "r+", cast
        as numpy assignment casts (``same_kind``: int32 rows into a float64
        array); other casts are ``DTypeMismatch``, and bool bytes other than
        0 and 1 ``InvalidBool``.

        numpy: ``a = np.concatenate([a, rows])``, but in place and amortised
        O(1). Views taken before keep the rows they had (old mappings stay
        mapped while they live). Another handle growing the array: ``Busy``.
        An array in the other byte order or at an unaligned offset (open as
        bytes, as ``np.memmap`` opens it) cannot grow: ``InvalidArgument``.
        """
    def resize(self, rows: int) -> None:
        """Sets the length along axis 0 (new rows are zero).

        numpy: ``mmap.resize``. Fewer rows raise ``BufferError`` while views
        are alive, ``Busy`` while another handle or process maps the file;
        ``InvalidArgument`` for an array open as bytes (as ``append``).
        """
    def publish(self) -> None:
        """Records the current length without waiting for the disk."""
    def commit(self) -> None:
        """Flushes, then records the current length (durable)."""
    def flush(self) -> None:
        """numpy: ``m.flush()``. A no-op for modes "r" and "c"."""
    def close(self) -> None:
        """Closes the handle: flush and record the length ("r+"), then unmap
        (trimming spare capacity) and release the file's shared lock. With
        views alive, the unmapping and the lock's release happen when the
        last view is gone. numpy: ``m.flush(); del m``."""
    def __enter__(self) -> Array: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __len__(self) -> int: ...

def open(path: _Path, mode: Literal["r", "r+", "c"] = "r") -> Array:
    """Maps a raw file with a sidecar, a .npy file or a stored .npz member
    (``x.npz/name``, read-only), decided by content. Every mode views a
    file in the other byte order (``>f4``) or data at an offset its type is
    not aligned to as numpy does (``np.memmap(path, ">f4", mode)``),
    zero-copy: writable for "r+" (writes reach the file; ``flush``) and "c"
    (the file never changes). Such an "r+" array can be flushed, not grown:
    ``append`` and ``resize`` raise ``InvalidArgument``. Waits, with the GIL
    released, while another process holds the file's exclusive lock.

    numpy: ``np.load(path, mmap_mode=mode)`` / ``np.memmap(path, dtype, mode, shape=...)``.
    """

def create(
    path: _Path,
    shape: int | tuple[int, ...] | list[int],
    dtype: npt.DTypeLike,
    order: Literal["C", "F"] = "C",
    fill: complex | None = None,
    preallocate: bool = False,
    attrs: dict[str, _Json] | None = None,
    overwrite: bool = False,
) -> Array:
    """A new array (.npy when the name ends in .npy, else raw + sidecar), open "r+".

    numpy: ``np.lib.format.open_memmap(path, "w+", dtype, shape)``;
    ``AlreadyExists`` unless ``overwrite``.
    """

def save(path: _Path, array: npt.ArrayLike, attrs: dict[str, _Json] | None = None, overwrite: bool = True) -> None:
    """Writes an array, keeping dtype, byte order and C/F order; an existing
    array at ``path`` is replaced atomically (``Busy`` while it is mapped;
    ``overwrite=False``: ``AlreadyExists`` instead). Bool bytes other than
    0 and 1 are ``InvalidBool``, attrs JSON cannot hold exactly (NaN, ints
    beyond 64 bits) ``InvalidArgument``.

    numpy: ``np.save(path, array)`` (.npy) or ``array.tofile(path)`` plus a sidecar.
    """

def info(path: _Path) -> dict[str, _Json] | list[dict[str, _Json]]:
    """``mmarray info --json path`` as a dict (a list for a .npz archive):
    ``path``, ``format``, ``dtype``, ``shape``, ``order``, ``offset``,
    ``nbytes``, ``attrs``; no data is read.

    numpy: ``m = np.load(path, mmap_mode="r")`` then ``m.dtype.str``,
    ``m.shape``, ``"F" if m.flags.f_contiguous else "C"``, ``m.offset``,
    ``m.nbytes``.
    """

def stats(path: _Path) -> dict[str, _Json]:
    """``mmarray stats --json path`` as a dict: count, nan_count, min, max,
    sum, mean, std (``None`` when empty; complex as ``[re, im]``; integer
    sums exact Python ints, beyond 2**64 too).

    numpy: ``a.min(), a.max(), a.sum(), a.mean(), a.std()`` in one parallel
    pass with the GIL released. The file is read with ``pread``, not mapped:
    memory stays bounded on files larger than RAM, and a file another
    program truncates during the pass raises ``Truncated`` (never SIGBUS).
    """

class Store:
    """A directory of named arrays (``mmarray-store.json`` marks it).

    numpy: a folder of ``.npy`` files: ``store[name]`` is
    ``np.load(os.path.join(dir, name + ".npy"), mmap_mode="r")``,
    ``store.create_array(name, shape, dtype)`` is
    ``np.lib.format.open_memmap(os.path.join(dir, name + ".npy"), "w+", dtype, shape)``,
    ``store.remove(name)`` is ``os.remove``. A name the store does not hold
    is ``NotFound`` (``KeyError`` for ``store[name]``).
    """

    def __init__(self, dir: _Path, create: bool = False) -> None:
        """Opens the store; ``create=True`` makes a new one and raises ``AlreadyExists`` if one is there."""
    @property
    def path(self) -> str: ...
    def list(self) -> list[dict[str, Any]]:
        """The arrays sorted by name, each ``{"name", "dtype", "shape", "nbytes"}``;
        an array whose sidecar or header is broken is ``{"name", "error"}`` (the
        message ``open`` would raise), and the others are listed all the same.
        numpy: ``sorted(os.listdir(dir))`` and ``np.load(..., mmap_mode="r")`` of each."""
    def __contains__(self, name: str) -> bool: ...
    def __getitem__(self, name: str) -> Array:
        """The array opened read-only; ``KeyError`` for a name the store does not hold."""
    def open(self, name: str, mode: Literal["r", "r+", "c"] = "r") -> Array: ...
    def create_array(
        self,
        name: str,
        shape: int | tuple[int, ...] | list[int],
        dtype: npt.DTypeLike,
        order: Literal["C", "F"] = "C",
        attrs: dict[str, _Json] | None = None,
        overwrite: bool = False,
    ) -> Array:
        """A new zero-filled array, open "r+". numpy: ``open_memmap(path, "w+", dtype, shape)``."""
    def remove(self, name: str) -> None:
        """``Busy`` while the array is mapped, ``NotFound`` for a name the
        store does not hold. numpy: ``os.remove``."""
    def rename(self, old: str, new: str) -> None: ...
    @property
    def attrs(self) -> dict[str, _Json]: ...
    @attrs.setter
    def attrs(self, attrs: dict[str, _Json]) -> None: ...
    def sharded(self, prefix: str) -> Sharded:
        """The arrays named ``prefix...``, in name order, read as one along axis 0."""

class Sharded:
    """Arrays read as one along axis 0. numpy: ``np.concatenate(shards)``, never built."""

    def __len__(self) -> int: ...
    @property
    def row_shape(self) -> tuple[int, ...]: ...
    @property
    def shards(self) -> list[tuple[str, int]]:
        """Each shard's data file and its number of rows, in order."""
    def __getitem__(self, index: int) -> npt.NDArray[Any]:
        """Row ``index`` (a copy)."""
    def read_rows(self, start: int, stop: int) -> npt.NDArray[Any]:
        """Rows ``start:stop`` copied into one array. numpy: ``np.concatenate(shards)[start:stop]``."""

class Staged:
    """A new array being filled under a hidden temporary name beside its
    destination (by any process that opens ``path`` "r+"), which appears at
    the destination, complete, only when published. Garbage-collected
    unpublished: removed. numpy: ``open_memmap(tmp, "w+")`` + ``os.rename``."""

    @property
    def path(self) -> str:
        """The staged array's path: ``mmarray.open(path, "r+")`` to fill it."""
    @property
    def destination(self) -> str: ...
    def publish(self) -> None:
        """Moves the array into place, with the GIL released. ``Busy`` while
        anyone still maps it (or the old array, when overwriting); it then
        stays staged. ``ValueError`` once published or discarded (a second
        thread's ``publish`` waits for the first, then gets it)."""
    def discard(self) -> None:
        """Removes the staged array; the destination is untouched. Does
        nothing once published or discarded. In a child forked from the
        process that staged it, ``publish`` and ``discard`` raise
        ``InvalidArgument`` and dropping it removes nothing."""

def stage(
    path: _Path,
    shape: int | Sequence[int],
    dtype: npt.DTypeLike,
    order: Literal["C", "F"] = "C",
    attrs: dict[str, _Json] | None = None,
    overwrite: bool = False,
) -> Staged:
    """A zero-filled, preallocated array for ``path`` (``.npy`` by name, else
    raw + sidecar) under a hidden temporary name; ``AlreadyExists`` now if
    ``path`` exists and not ``overwrite``. What ``mmarray.dask.store`` uses."""

class Sealed:
    """An array in a sealed memfd (Linux): no process can change, shrink or
    grow it, so ``array`` is a zero-copy view nobody can change under you.
    numpy: ``multiprocessing.shared_memory.SharedMemory`` plus
    ``np.ndarray(shape, dtype, buffer=shm.buf)``, with the dtype, shape and
    attrs carried along and every write refused by the kernel."""

    @property
    def fd(self) -> int:
        """The descriptor, valid while this object lives: hand it to a child
        (``subprocess.Popen(..., pass_fds=[s.fd])``) or send it over a Unix
        socket (``socket.send_fds``)."""
    @property
    def array(self) -> np.ndarray[Any, Any]:
        """Read-only, zero-copy numpy view of the sealed memory."""
    @property
    def attrs(self) -> dict[str, _Json]:
        """The metadata stored with the array."""

def seal(array: npt.ArrayLike, attrs: dict[str, _Json] | None = None) -> Sealed:
    """Copies ``array`` (C order, native byte order) into a new memfd as an
    ``.npy`` image followed by ``attrs``, and seals it against every write,
    shrink and growth. numpy: ``shm = SharedMemory(create=True, size=a.nbytes);
    np.ndarray(a.shape, a.dtype, buffer=shm.buf)[...] = a``, minus the seals."""

def open_sealed(fd: int) -> Sealed:
    """Maps the sealed array whose descriptor this process holds (the caller
    keeps ``fd``). ``InvalidArgument`` names the seal missing from a
    descriptor that is not sealed; ``DataTooShort`` for an image whose header
    promises more than it holds. numpy: ``np.ndarray(shape, dtype,
    buffer=SharedMemory(name).buf)``, with dtype and shape read from the image."""

class Error(Exception):
    """Base of every mmarray error; OS failures are OSError subclasses instead."""

    path: str

class SidecarMissing(Error): ...
class MalformedSidecar(Error): ...
class UnsupportedVersion(Error): ...
class MalformedNpy(Error): ...
class MalformedNpz(Error): ...
class UnsupportedNpz(Error): ...
class CompressedMember(Error): ...
class ChecksumMismatch(Error): ...
class UnknownDtype(Error): ...
class DTypeMismatch(Error): ...
class NonNativeByteOrder(Error): ...
class ShapeOverflow(Error): ...
class TooManyDimensions(Error): ...
class DataTooShort(Error): ...
class Truncated(Error): ...
class MisalignedOffset(Error): ...
class InvalidBool(Error): ...
class DimensionMismatch(Error): ...
class AlreadyExists(Error): ...
class Busy(Error): ...
class SameFile(Error): ...

class ForkedHandle(Error):
    """A handle inherited through ``fork`` (``multiprocessing``'s fork start
    method) was asked to grow, shrink or rewrite the array, which would act on
    the parent's locks; its views still read. Open the array again in the child."""

class InvalidName(Error): ...
class ShapeMismatch(Error): ...
class InvalidArgument(Error): ...
class NotFound(Error):
    """A store holds no array of the name given (``Store.remove``,
    ``Store.rename``, ``Store.open``)."""
