"""Read and write mmarray's raw data files and JSON sidecars from numpy.

mmarray (the Rust crate in this repository) maps a *raw data file* -- the
bytes ``ndarray.tofile()`` or ``np.memmap`` write, elements only -- described
by a *sidecar* next to it, ``<data file>.json``::

    {"version": 1, "dtype": "<f4", "shape": [1000, 3], "order": "C", "offset": 0, "attrs": {}}

This module is the numpy side of that format, with no dependency but numpy::

    import mmarray_sidecar
    mmarray_sidecar.save("temps.dat", np.arange(12.0).reshape(3, 4), attrs={"units": "K"})
    m = mmarray_sidecar.load("temps.dat", mode="r")   # np.memmap, zero-copy

- :func:`save` writes an array and its sidecar (what Rust opens with
  ``MappedArray::<f64>::open("temps.dat")``).
- :func:`load` maps a file described by a sidecar as an ``np.memmap`` (files
  Rust made with ``MappedArray::create`` or ``CreateOptions::write``).
- :func:`write_sidecar` describes a file written some other way (for example
  ``tofile`` after a header of your own, at a byte offset).
- :func:`read_sidecar` parses and validates a sidecar.

Sidecars are validated exactly as the Rust crate validates them: ``version``
must be 1; ``dtype`` a supported type string (``<f4``, ``>i8``, ``|u1``,
``|b1``, ``<c16`` ...) or numpy name (``float32``); ``shape`` a list of
non-negative integers; ``order`` ``"C"`` or ``"F"`` (default ``"C"``);
``offset`` a non-negative integer (default 0); ``attrs`` a JSON object
(default ``{}``); any other key is an error. Every validation error is a
``ValueError`` naming the file.

Supported dtypes: bool, int8..int64, uint8..uint64, float16, float32,
float64, complex64, complex128, in either byte order.

Where numpy can do more than a zero-copy Rust view, :func:`load` does not
refuse: it maps non-native byte orders and offsets that are not a multiple
of the element's alignment (Rust reads those with ``read_array``), and it
does not check that bool bytes are 0 or 1. Arrays with no elements are
returned unmapped (see :func:`load`).

Locking. Every Rust mapping holds a shared ``flock`` on its data file, and
Rust refuses to shrink (``resize`` down), replace (``create`` with
``overwrite(true)``) or remove (``Store::remove``) a file while anyone holds
one (``Error::Busy``). This module takes part in the same protocol, so that a
Rust process cannot truncate a file under a numpy mapping (which would kill
the numpy process with ``SIGBUS``):

- :func:`load` takes the shared lock (``flock(LOCK_SH)``) on the data file
  and keeps it for exactly as long as the returned memmap's mapping lives:
  until the memmap *and every view of it* are garbage collected (views keep
  the memmap alive through ``base``), or until ``m._mmap.close()``.
- :func:`save` takes the exclusive lock (``LOCK_EX | LOCK_NB``) on the file
  it replaces and raises :class:`BusyError` while anyone maps that file.

The lock is advisory: it protects only against programs that take it
(mmarray, this module). ``truncate``, ``tofile`` or ``np.memmap(mode="w+")``
over the same path, ``cp`` and editors take no lock and can still shrink a
file under any mapping; and a mapping made without this module
(``np.memmap`` called directly) holds no lock, so mmarray cannot see it.
Arrays with no elements are not mapped and hold no lock. On platforms
without ``fcntl`` (Windows) no lock is taken.

The module is this one file; copy it, or put its directory on ``sys.path``.
"""

import errno
import itertools
import json
import operator
import os
import re

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no flock; nothing is locked (see the module docstring).
    fcntl = None

__all__ = [
    "save",
    "load",
    "write_sidecar",
    "read_sidecar",
    "sidecar_path",
    "BusyError",
    "SIDECAR_VERSION",
]

#: The sidecar schema version this module reads and writes.
SIDECAR_VERSION = 1

#: The largest sidecar read, as in the Rust crate (16 MiB).
MAX_SIDECAR_BYTES = 16 << 20

_KEYS = ("version", "dtype", "shape", "order", "offset", "attrs")

# (kind, itemsize) of every supported element type, and numpy's names for them.
_SUPPORTED = {
    ("b", 1): "bool",
    ("i", 1): "int8",
    ("u", 1): "uint8",
    ("i", 2): "int16",
    ("u", 2): "uint16",
    ("i", 4): "int32",
    ("u", 4): "uint32",
    ("i", 8): "int64",
    ("u", 8): "uint64",
    ("f", 2): "float16",
    ("f", 4): "float32",
    ("f", 8): "float64",
    ("c", 8): "complex64",
    ("c", 16): "complex128",
}
_NAMES = {name: kind_size for kind_size, name in _SUPPORTED.items()}
_TYPE_STRING = re.compile(r"^([<>=|]?)([a-z])([0-9]{1,2})$")

#: At most this many dimensions (numpy's NPY_MAXDIMS), as in the Rust crate.
MAX_DIMS = 64

# The Rust crate maps at most isize::MAX bytes; offsets are u64.
_ISIZE_MAX = (1 << 63) - 1
_U64_MAX = (1 << 64) - 1

_temp_counter = itertools.count()

#: How many times :func:`load` starts over when the path is replaced by
#: another file between being opened and being locked (as in the Rust crate).
_OPEN_ATTEMPTS = 8


class BusyError(BlockingIOError):
    """The data file is mapped by another process (or another handle in this
    one), so :func:`save` cannot replace it now: the Rust crate's
    ``Error::Busy``. ``filename`` is the data file."""

    def __init__(self, path, action):
        super().__init__(
            errno.EWOULDBLOCK,
            f"the array is in use (mapped by another process or handle), so it cannot be "
            f"{action} now; close the other mappings and retry",
            path,
        )

    def __str__(self):
        return f"{self.filename}: {self.strerror}"


def sidecar_path(path):
    """The sidecar of data file ``path``: the file name with ``.json`` appended."""
    return os.fspath(path) + ".json"


def _check_dtype(dtype, where):
    """``dtype`` as an ``np.dtype`` if it is a supported element type, else ValueError."""
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"{where}: structured and subarray dtypes are not supported ({dtype})")
    if (dtype.kind, dtype.itemsize) not in _SUPPORTED:
        raise ValueError(
            f"{where}: unsupported dtype {dtype} ({dtype.str}); supported: "
            + ", ".join(_SUPPORTED.values())
        )
    return dtype


def _parse_dtype(text, where):
    """Parses a sidecar's dtype string the way the Rust crate does."""
    if text in _NAMES:
        kind, size = _NAMES[text]
        return np.dtype(f"={kind}{size}")
    m = _TYPE_STRING.match(text)
    if m is None or (m.group(2), int(m.group(3))) not in _SUPPORTED:
        raise ValueError(f"{where}: unsupported dtype {text!r}")
    order = m.group(1) if m.group(1) in ("<", ">") else "="
    return np.dtype(f"{order}{m.group(2)}{int(m.group(3))}")


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _validate(obj, where):
    """Checks a parsed sidecar; returns (dtype, shape, order, offset, attrs)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: malformed sidecar: expected a JSON object")
    unknown = [k for k in obj if k not in _KEYS]
    if unknown:
        raise ValueError(
            f"{where}: malformed sidecar: unknown key {unknown[0]!r}, "
            f"expected one of {', '.join(_KEYS)}"
        )
    for key in ("version", "dtype", "shape"):
        if key not in obj:
            raise ValueError(f"{where}: malformed sidecar: missing field {key!r}")
    version = obj["version"]
    if not _is_count(version):
        raise ValueError(
            f"{where}: malformed sidecar: version must be an integer, not {version!r}"
        )
    if version != SIDECAR_VERSION:
        raise ValueError(
            f"{where}: sidecar version {version} is not supported "
            f"(this module reads version {SIDECAR_VERSION})"
        )
    if not isinstance(obj["dtype"], str):
        raise ValueError(f"{where}: malformed sidecar: dtype must be a string")
    dtype = _parse_dtype(obj["dtype"], where)
    shape = obj["shape"]
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise ValueError(
            f"{where}: malformed sidecar: shape must be a list of non-negative integers, "
            f"not {shape!r}"
        )
    if len(shape) > MAX_DIMS:
        raise ValueError(
            f"{where}: shape has {len(shape)} dimensions, more than the {MAX_DIMS} numpy supports"
        )
    nonzero = 1
    for d in shape:
        nonzero *= max(d, 1)
    size = 0 if 0 in shape else nonzero
    if nonzero * dtype.itemsize > _ISIZE_MAX:
        raise ValueError(
            f"{where}: shape {shape} of {dtype.itemsize}-byte elements overflows the address space"
        )
    order = obj.get("order")
    if order is None:  # absent or null: C, as in Rust
        order = "C"
    if order not in ("C", "F"):
        raise ValueError(f'{where}: malformed sidecar: order must be "C" or "F", not {order!r}')
    offset = obj.get("offset", 0)
    if not _is_count(offset) or offset > _U64_MAX:
        raise ValueError(
            f"{where}: malformed sidecar: offset must be a non-negative integer, not {offset!r}"
        )
    if offset + size * dtype.itemsize > _U64_MAX:
        raise ValueError(f"{where}: offset {offset} plus the array's size overflows")
    attrs = obj.get("attrs", {})
    if not isinstance(attrs, dict):
        raise ValueError(f"{where}: malformed sidecar: attrs must be a JSON object")
    return dtype, tuple(shape), order, offset, attrs


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_atomically(path, write, keep_locked=False):
    """Calls ``write(file)`` on a temporary file next to ``path``, fsyncs it,
    renames it over ``path`` and fsyncs the directory.

    With ``keep_locked``, the new file is locked exclusively before it is
    renamed into place and returned still open and locked: whoever opens the
    new file meanwhile (mmarray, :func:`load`) waits until the caller closes
    it. Otherwise returns None."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    unique = f"{os.getpid()}-{next(_temp_counter)}-{os.urandom(4).hex()}"
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{unique}")
    f = None
    try:
        # O_EXCL: never write through a file or link that is already there.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        f = open(fd, "wb")
        if keep_locked and fcntl is not None:
            # Nobody else knows the temporary name: this cannot wait.
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        write(f)
        f.flush()
        os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if f is not None:
            f.close()
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    if not keep_locked:
        f.close()
        f = None
    try:
        _fsync_dir(directory)
    except BaseException:
        if f is not None:
            f.close()
        raise
    return f


def _lock_existing_exclusive(path, action):
    """Takes the exclusive lock on the file at ``path`` without waiting, as
    the Rust crate does before replacing or removing an array, and returns
    the file object holding it (close it to release the lock); None when
    there is no file there (or it cannot be opened, so it is not something
    anyone maps). Raises BusyError while anyone holds a lock on it."""
    if fcntl is None:
        return None
    try:
        f = open(path, "rb")
    except OSError:
        return None
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise BusyError(os.fspath(path), action) from None
    except BaseException:
        f.close()
        raise
    return f


def _same_file(stat_a, stat_b):
    return (stat_a.st_dev, stat_a.st_ino) == (stat_b.st_dev, stat_b.st_ino)


def _open_locked(path, writable):
    """Opens the data file ``path`` and takes the shared lock on it, waiting
    while another handle holds the exclusive one (mmarray holds it only for
    the length of one shrink, replacement or removal). Starts over when the
    path no longer names the opened file once the lock is held (it was
    replaced or removed meanwhile, and its sidecar now describes another
    file), as the Rust crate does. Returns the open, locked file object."""
    for _ in range(_OPEN_ATTEMPTS):
        f = open(path, "r+b" if writable else "rb")
        try:
            if fcntl is None:
                return f
            fcntl.flock(f.fileno(), fcntl.LOCK_SH)
            try:
                still_there = _same_file(os.stat(path), os.fstat(f.fileno()))
            except FileNotFoundError:
                still_there = False
        except BaseException:
            f.close()
            raise
        if still_there:
            return f
        f.close()
    raise OSError(
        errno.EAGAIN,
        f"the path was replaced by another file {_OPEN_ATTEMPTS} times while it was being opened",
        os.fspath(path),
    )


def write_sidecar(path, dtype, shape, order="C", offset=0, attrs=None):
    """Writes the sidecar ``path + ".json"`` describing the data file ``path``.

    ``dtype`` is anything ``np.dtype`` accepts and is stored as its type
    string (``dtype.str``: ``<f4``, ``>i8``, ``|b1``); ``shape`` a sequence of
    non-negative integers (``()`` for a 0-d array); ``order`` ``"C"`` or
    ``"F"``; ``offset`` the byte offset of element 0 in the data file;
    ``attrs`` a JSON-serialisable dict of user metadata (no NaN or infinity).

    The sidecar is written atomically: a temporary file in the same directory,
    fsync, ``os.replace``, fsync of the directory. The data file is not read
    or checked. Returns the sidecar's path.

    Raises ValueError for an unsupported dtype, a bad shape, order, offset
    or attrs.
    """
    where = os.fspath(path)
    dtype = _check_dtype(np.dtype(dtype), where)
    try:
        shape = tuple(operator.index(d) for d in shape)
        offset = operator.index(offset)
    except TypeError as e:
        raise ValueError(f"{where}: shape and offset must be integers: {e}") from e
    if any(d < 0 for d in shape):
        raise ValueError(f"{where}: shape {shape} has a negative extent")
    if order not in ("C", "F"):
        raise ValueError(f'{where}: order must be "C" or "F", not {order!r}')
    if offset < 0:
        raise ValueError(f"{where}: offset must be a non-negative integer, not {offset!r}")
    attrs = {} if attrs is None else attrs
    if not isinstance(attrs, dict):
        raise ValueError(f"{where}: attrs must be a dict, not {type(attrs).__name__}")
    sidecar = {
        "version": SIDECAR_VERSION,
        "dtype": dtype.str,
        "shape": list(shape),
        "order": order,
        "offset": offset,
        "attrs": attrs,
    }
    try:
        text = json.dumps(sidecar, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: attrs cannot be stored as JSON: {e}") from e
    target = sidecar_path(path)
    _replace_atomically(target, lambda f: f.write(text.encode("utf-8")))
    return target


def save(path, array, attrs=None):
    """Writes ``array`` to the raw data file ``path`` and its sidecar
    ``path + ".json"``, for ``MappedArray::open`` in Rust (or :func:`load`).

    The elements are written with ``tofile`` in the array's own memory
    order: an array that is F-contiguous and not C-contiguous is written in
    F order (sidecar ``"order": "F"``), any other in C order (via
    ``np.ascontiguousarray``). The dtype is stored as ``array.dtype.str``,
    byte order included, at offset 0; ``attrs`` is an optional
    JSON-serialisable dict.

    Both files are replaced atomically (temporary file, fsync,
    ``os.replace``, fsync of the directory): an existing data file is never
    written in place or truncated. The old sidecar is removed first and the
    new one written last, so no crash leaves a sidecar describing the wrong
    data.

    Locking, as the Rust crate's ``create`` with ``overwrite(true)``: an
    existing data file is locked exclusively (``flock(LOCK_EX | LOCK_NB)``)
    before anything is changed, and :class:`BusyError` is raised, with both
    files left as they were, while any process (or any other handle in this
    one, :func:`load` included) maps it. That lock and an exclusive lock on
    the new data file are held until the new sidecar is in place, so a
    process opening the array meanwhile waits, then maps the new file with
    the new sidecar. Programs that take no lock are not kept out (see the
    module docstring).

    Raises ValueError for object, string, structured or other unsupported
    dtypes (see the module docstring), and for attrs that are not a
    JSON-serialisable dict; BusyError (a BlockingIOError) when the existing
    data file is mapped. Returns the sidecar's path.
    """
    where = os.fspath(path)
    array = np.asanyarray(array)
    _check_dtype(array.dtype, where)
    if attrs is not None and not isinstance(attrs, dict):
        raise ValueError(f"{where}: attrs must be a dict, not {type(attrs).__name__}")
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        order, in_memory_order = "F", array.T  # C order of the transpose is F order
    else:
        order, in_memory_order = "C", np.ascontiguousarray(array)
    # Fail on bad attrs before touching any file.
    try:
        json.dumps(attrs or {}, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: attrs cannot be stored as JSON: {e}") from e
    old = _lock_existing_exclusive(path, "replaced")
    new = None
    try:
        try:
            os.remove(sidecar_path(path))
        except FileNotFoundError:
            pass
        new = _replace_atomically(path, in_memory_order.tofile, keep_locked=True)
        return write_sidecar(path, array.dtype, array.shape, order, 0, attrs)
    finally:
        for f in (new, old):
            if f is not None:
                f.close()


def _resolve(path):
    """(data path, sidecar path) for a data file or a sidecar, as Rust resolves them."""
    path = os.fspath(path)
    if path.endswith(".json") and os.path.basename(path) != ".json":
        if not os.path.exists(sidecar_path(path)):
            return path[: -len(".json")], path
    return path, sidecar_path(path)


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constants(name):
    # JSON has no NaN or Infinity; Python's parser accepts them, Rust's does not.
    raise ValueError(f"{name} is not valid JSON")


def read_sidecar(path):
    """Reads and validates the sidecar of ``path`` (a data file or its sidecar).

    Returns a dict with keys ``data_path``, ``sidecar_path``, ``dtype`` (an
    ``np.dtype``), ``shape`` (a tuple), ``order``, ``offset`` and ``attrs``.
    Raises ValueError if the sidecar is malformed (see the module
    docstring) and FileNotFoundError if there is none.
    """
    return _read_sidecar_of(*_resolve(path))


def _read_sidecar_of(data, sidecar):
    """:func:`read_sidecar` of a path already resolved to (data, sidecar)."""
    with open(sidecar, "rb") as f:
        raw = f.read(MAX_SIDECAR_BYTES + 1)
    if len(raw) > MAX_SIDECAR_BYTES:
        raise ValueError(f"{sidecar}: sidecar is larger than the {MAX_SIDECAR_BYTES}-byte limit")
    try:
        obj = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{sidecar}: malformed sidecar: {e}") from e
    dtype, shape, order, offset, attrs = _validate(obj, sidecar)
    return {
        "data_path": data,
        "sidecar_path": sidecar,
        "dtype": dtype,
        "shape": shape,
        "order": order,
        "offset": offset,
        "attrs": attrs,
    }


def load(path, mode="r"):
    """Maps the raw data file described by a sidecar as an ``np.memmap``.

    ``path`` is the data file or its sidecar (``x.dat`` or ``x.dat.json``).
    ``mode`` is ``"r"`` (read-only), ``"r+"`` (writes go to the file; call
    ``flush()`` to make them durable) or ``"c"`` (copy-on-write: the array can
    be changed, the file never is). The sidecar's dtype, shape, order and
    offset are honoured; the sidecar's attrs are available from
    :func:`read_sidecar`.

    Arrays with no elements (a 0 in the shape) cannot be mapped (``np.memmap``
    refuses them): for those a correctly shaped and typed empty array is
    returned instead, read-only in mode ``"r"``, as an ``np.memmap`` instance
    that is backed by no file (``filename`` is None, ``flush()`` does
    nothing). A 0-d array (``"shape": []``) is a mapping of one element.

    Locking: the data file is opened and locked shared
    (``flock(LOCK_SH)``, the lock every Rust mapping holds) *before* the
    sidecar is read, waiting while a Rust process holds the exclusive lock
    for a shrink or replacement, and starting over if the path was replaced
    meanwhile; its length is then checked on the locked file. The lock
    belongs to the file's open file description, which the memmap's
    ``mmap.mmap`` keeps through its own ``dup`` of the descriptor (CPython's
    ``mmap`` dups the descriptor it is given unless passed
    ``trackfd=False``, which numpy does not pass; this module's own file
    object is closed before returning). So the lock is held exactly as long
    as the mapping: until the returned memmap and every view of it (slices,
    ``np.asarray(m)``, which keep the memmap alive through ``base``) are
    garbage collected, or ``m._mmap.close()`` is called. (A process forked
    meanwhile shares the descriptor, and with it the lock, until it exits.)
    Meanwhile Rust's
    ``resize`` to fewer rows, ``create`` with ``overwrite(true)`` and
    ``Store::remove`` fail with ``Error::Busy``, and :func:`save` over the
    same path raises :class:`BusyError`. Only programs that take the lock are
    kept out (see the module docstring). Empty arrays hold no lock.

    Raises ValueError for a bad mode or a malformed sidecar, or when the data
    file is shorter than ``offset`` plus the array's size (``np.memmap`` would
    silently extend it in mode ``"r+"``); FileNotFoundError when the data file
    or the sidecar is missing.
    """
    if mode not in ("r", "r+", "c"):
        raise ValueError(f'mode must be "r", "r+" or "c", not {mode!r}')
    data, sidecar = _resolve(path)
    f = _open_locked(data, writable=mode == "r+")
    try:
        info = _read_sidecar_of(data, sidecar)
        dtype, shape, order, offset = info["dtype"], info["shape"], info["order"], info["offset"]
        size = 1
        for d in shape:
            size *= d
        needed = offset + size * dtype.itemsize
        actual = os.fstat(f.fileno()).st_size
        if actual < needed:
            raise ValueError(
                f"{data}: data file is too short: the array needs {needed} bytes "
                f"(offset {offset} + {size * dtype.itemsize} bytes of data) "
                f"but the file has {actual}"
            )
        if size == 0:
            empty = np.empty(shape, dtype=dtype, order=order).view(np.memmap)
            if mode == "r":
                empty.flags.writeable = False
            return empty
        # numpy maps ``f.fileno()``; the mmap dups it, and the dup holds the lock.
        return np.memmap(f, dtype=dtype, mode=mode, offset=offset, shape=shape, order=order)
    finally:
        f.close()
