"""Memory-mapped numeric arrays interchangeable with numpy, on the mmarray Rust crate.

::

    import mmarray, numpy as np
    mmarray.save("temps.dat", np.arange(12.0).reshape(3, 4), attrs={"units": "K"})
    with mmarray.open("temps.dat") as h:        # read-only, zero-copy
        print(h.array.sum(), h.attrs)           # h.array is a numpy ndarray over the mapping
    mmarray.stats("temps.dat")                  # the CLI's `stats --json`, as a dict

A file is a raw data file described by a JSON sidecar (``temps.dat.json``),
a ``.npy`` file, or a stored member of a ``.npz`` archive (``x.npz/name``,
read-only), decided by content as in Rust. See ``__init__.pyi`` for every
function with its numpy equivalent.

Beyond one machine (optional dependencies ``mmarray[dask]``,
``mmarray[xarray]``, ``mmarray[zarr]``): ``mmarray.dask`` (Dask arrays
whose workers map the files), ``xr.open_dataset(path, engine="mmarray")``
(``mmarray.xarray``) and ``mmarray.zarr.Store`` (a zarr v3 store over the
same files), none of them copying the data.
"""

from mmarray._core import (
    AlreadyExists,
    Array,
    Busy,
    ChecksumMismatch,
    CompressedMember,
    DataTooShort,
    DimensionMismatch,
    DTypeMismatch,
    Error,
    InvalidArgument,
    InvalidBool,
    InvalidName,
    MalformedNpy,
    MalformedNpz,
    MalformedSidecar,
    MisalignedOffset,
    NonNativeByteOrder,
    NotFound,
    SameFile,
    ForkedHandle,
    Sharded,
    ShapeMismatch,
    Staged,
    ShapeOverflow,
    SidecarMissing,
    Store,
    TooManyDimensions,
    Truncated,
    UnknownDtype,
    UnsupportedNpz,
    UnsupportedVersion,
    create,
    info,
    open,
    save,
    stage,
    stats,
)

import sys as _sys

if _sys.platform.startswith("linux"):
    from mmarray._core import Sealed, open_sealed, seal

__all__ = [
    "AlreadyExists",
    "Array",
    "Busy",
    "ChecksumMismatch",
    "CompressedMember",
    "DataTooShort",
    "DimensionMismatch",
    "DTypeMismatch",
    "Error",
    "InvalidArgument",
    "InvalidBool",
    "InvalidName",
    "MalformedNpy",
    "MalformedNpz",
    "MalformedSidecar",
    "MisalignedOffset",
    "NonNativeByteOrder",
    "NotFound",
    "SameFile",
    "ForkedHandle",
    "Sharded",
    "ShapeMismatch",
    "Staged",
    "ShapeOverflow",
    "SidecarMissing",
    "Store",
    "TooManyDimensions",
    "Truncated",
    "UnknownDtype",
    "UnsupportedNpz",
    "UnsupportedVersion",
    "create",
    "info",
    "open",
    "save",
    "stage",
    "stats",
]
