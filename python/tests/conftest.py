"""Shared helpers of the mmarray package's tests.

Run with ``bash scripts/test.sh`` (which builds the package into
``target/pyenv`` first), or ``python -m pytest python/tests`` with the
package installed (``pip install ./python``).
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))  # mmarray_sidecar, the numpy-only helper

# Every element type the Rust crate supports (its 14), as numpy dtype strings.
DTYPES = ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16"]
if sys.byteorder == "big":  # the native order, as the crate maps it
    DTYPES = [d.replace("<", ">") for d in DTYPES]


def values(dtype, shape, seed=0):
    """Values of every kind the dtype holds: extremes, and NaN/inf for floats."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        flat = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        flat[:2] = [info.min, info.max][: min(n, 2)]
    elif dtype.kind == "f":
        flat = rng.standard_normal(n).astype(dtype) * 1000
        special = np.array([np.nan, np.inf, -np.inf, -0.0], dtype=dtype)
        flat[: min(n, 4)] = special[: min(n, 4)]
    else:
        flat = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype)
        special = np.array([complex(np.nan, 1), complex(2, np.nan), complex(np.inf, -np.inf)], dtype=dtype)
        flat[: min(n, 3)] = special[: min(n, 3)]
    return flat.reshape(shape)


def same(a, b):
    """Element for element, bit for bit (NaNs included), same dtype and shape."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes(order="C") == b.tobytes(order="C")


def run_python(code, *args, timeout=60, check=True):
    """Runs `code` in a fresh interpreter: a crash (SIGSEGV, SIGBUS) fails the
    test instead of killing pytest. Returns the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def cli():
    """The `mmarray` command-line tool built by cargo, or None."""
    env = os.environ.get("MMARRAY_CLI")
    if env:
        return env
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "mmarray"
        if path.exists():
            return str(path)
    return shutil.which("mmarray")


@pytest.fixture
def mmcli():
    path = cli()
    if path is None:
        if os.environ.get("MMARRAY_REQUIRE_CLI"):
            pytest.fail("the mmarray CLI is not built (cargo build -p mmarray-cli)")
        pytest.skip("the mmarray CLI is not built")
    return path


def examples_dir():
    """The directory of the root crate's built examples (``target/debug/examples``), or None."""
    env = os.environ.get("MMARRAY_EXAMPLES")
    if env:
        return Path(env)
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "examples"
        if (path / "resize").exists():
            return path
    return None


@pytest.fixture
def rust_resize():
    """The `resize` example (examples/resize.rs), a real Rust process."""
    found = examples_dir()
    path = found / "resize" if found is not None else None
    if path is None or not path.exists():
        if os.environ.get("MMARRAY_REQUIRE_CLI"):
            pytest.fail(f"the resize example is not built ({path}; cargo build --example resize)")
        pytest.skip("the resize example is not built (cargo build --example resize)")
    return str(path)
