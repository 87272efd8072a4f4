"""The README's "Beyond one machine" snippet runs as written on one machine.

Its Python block is taken from README.md as it stands and run in a fresh
interpreter in an empty directory with no ``DASK_SCHEDULER`` set: it makes
the store it reads (``temps`` and the ``part-*`` shards) and starts a
``LocalCluster``. Run twice, as a user would: the second run reuses the
store and replaces ``doubled``.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np

from conftest import REPO


def readme_section_python(title):
    """The ```python blocks of the README section headed ``## {title}``."""
    text = (REPO / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_beyond_one_machine_runs_as_written_on_one_machine(tmp_path):
    blocks = readme_section_python("Beyond one machine")
    assert len(blocks) == 1, blocks
    script = tmp_path / "beyond.py"
    script.write_text(blocks[0])
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER"}
    for run in range(2):
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"run {run}: {done.stderr}"
    runs = tmp_path / "runs"
    assert (runs / "mmarray-store.json").is_file()
    names = sorted(p.name for p in runs.glob("*.dat"))
    assert names == ["doubled.dat", "part-0000.dat", "part-0001.dat", "temps.dat"]
    temps = np.fromfile(runs / "temps.dat", dtype="<f4").reshape(1000, 64)
    doubled = np.fromfile(runs / "doubled.dat", dtype="<f4").reshape(1000, 64)
    assert np.array_equal(doubled, temps * 2)
    assert 270 < temps.mean() < 290
    assert json.loads((runs / "temps.dat.json").read_text())["attrs"]["dims"] == ["time", "x"]
