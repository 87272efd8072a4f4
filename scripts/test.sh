#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only the Rust toolchain and
# python3: installs numpy, maturin, pytest, dask, distributed, xarray and
# zarr into a virtual environment under target/ (once), runs every Rust
# test, including the live round trips against numpy, and every example,
# then builds the Python package (python/) into that environment and runs
# its pytest suite.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --test npy # extra arguments go to `cargo test`
#                                   # (and skip the doctests and Python tests)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
if ! "$venv/bin/python" -c 'import numpy' 2>/dev/null; then
    echo "setting up $venv with numpy (once)" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'numpy>=1.24'
fi
# What the Python package's build and tests need (once): maturin, pytest
# (with pytest-asyncio, for zarr's own store tests), and the peers of the
# adapters beyond one machine (dask with dask.distributed, xarray, zarr 3).
# `python -m pip`, not `$venv/bin/pip`: a venv copied from elsewhere keeps
# its old pip shebang.
if ! "$venv/bin/python" -c 'import maturin, pytest, pytest_asyncio, dask.array, distributed, xarray, zarr' 2>/dev/null; then
    echo "installing maturin, pytest, pytest-asyncio, dask, distributed, xarray and zarr into $venv (once)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.5,<2' pytest pytest-asyncio \
        'dask[array]>=2024.1' 'distributed>=2024.1' 'xarray>=2024.1' 'zarr>=3'
fi

# The live numpy tests use this interpreter and fail, rather than skip, if
# numpy is missing from it.
export MMARRAY_PYTHON="$PWD/$venv/bin/python"
export MMARRAY_REQUIRE_NUMPY=1
cargo test --workspace --all-targets "$@"
# Doctests (not covered by --all-targets).
if [ "$#" -eq 0 ]; then
    cargo test --workspace --doc
    # The Python package, built as users install it (`pip install ./python`,
    # release; incremental in python/target), without build isolation so
    # that no second download of maturin is needed; maturin on PATH for
    # pip's build backend. The tests compare with the CLI built above and
    # run the root crate's examples (target/debug/examples/resize) as the
    # Rust side of the cross-process tests.
    # `cargo test` builds the examples under hashed names only: give them
    # their plain names (nothing is recompiled).
    cargo build --quiet -p mmarray --examples
    # Every example runs as a test: each checks what it shows (asserts) in
    # a temporary directory it removes. All but resize, which needs
    # arguments and is run by the Python tests below.
    for example in examples/*.rs; do
        name=$(basename "$example" .rs)
        [ "$name" = resize ] && continue
        echo "example $name" >&2
        "target/debug/examples/$name" > /dev/null
    done
    PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pip install --quiet \
        --disable-pip-version-check --no-build-isolation ./python
    MMARRAY_CLI="$PWD/target/debug/mmarray" MMARRAY_REQUIRE_CLI=1 \
        MMARRAY_EXAMPLES="$PWD/target/debug/examples" \
        "$venv/bin/python" -m pytest python/tests -q
fi
