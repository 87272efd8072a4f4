#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only the Rust toolchain and
# python3: installs numpy into a virtual environment under target/ (once),
# then runs every Rust test, including the live round trips against numpy.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --test npy # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/pyenv
if ! "$venv/bin/python" -c 'import numpy' 2>/dev/null; then
    echo "setting up $venv with numpy (once)" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'numpy>=1.24'
fi

# The live numpy tests use this interpreter and fail, rather than skip, if
# numpy is missing from it.
export MMARRAY_PYTHON="$PWD/$venv/bin/python"
export MMARRAY_REQUIRE_NUMPY=1
cargo test --workspace --all-targets "$@"
# Doctests (not covered by --all-targets).
if [ "$#" -eq 0 ]; then
    cargo test --workspace --doc
fi
