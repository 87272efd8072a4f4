"""Python appenders killed with SIGKILL at random instants leave a
consistent array: the Python twin of the Rust test
``appends_killed_at_random_instants_leave_a_consistent_array``
(tests/multiprocess.rs).

Each appender opens the array "r+", appends batches of rows whose values
are a function of the row index, calls ``publish()`` after each batch and
prints ``published N``. It is killed 0-30 ms (seeded) after its first
report, so kills land in the middle of appends and of publishes. After each
kill the array reopens, holds at least the last published length, and every
row holds exactly its values; the next appender continues from there.
"""

import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

import mmarray

COLS = 5
BATCH = 37  # rows per append: batches straddle pages and growth steps
KILLS = 50


def expected(start, stop):
    """The rows start..stop: row i, column j holds i * 1000 + j."""
    rows = np.arange(start, stop, dtype=np.int64)[:, None]
    return rows * 1000 + np.arange(COLS, dtype=np.int64)


APPENDER = f"""
import sys
import numpy as np
import mmarray

COLS, BATCH = {COLS}, {BATCH}
h = mmarray.open(sys.argv[1], "r+")
n = len(h)
print("start", n, flush=True)
cols = np.arange(COLS, dtype=np.int64)
while True:
    rows = np.arange(n, n + BATCH, dtype=np.int64)[:, None] * 1000 + cols
    h.append(rows)
    h.publish()
    n += BATCH
    print("published", n, flush=True)
"""


def read_line(proc, deadline):
    """One line of the child's stdout, failing after `deadline`."""
    left = deadline - time.monotonic()
    ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
    assert ready, "the appender said nothing in time"
    return proc.stdout.readline()


def test_appenders_killed_at_random_instants_leave_a_consistent_array(tmp_path):
    path = tmp_path / "crash.dat"
    mmarray.create(path, (0, COLS), "<i8").close()
    rng = random.Random(0x6D6D6172)
    started = time.monotonic()
    length = 0
    grew = 0
    killed_after_publishes = 0
    for iteration in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(APPENDER), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        try:
            deadline = time.monotonic() + 30
            line = read_line(proc, deadline)
            assert line.split() == [b"start", str(length).encode()], (
                iteration,
                line,
                proc.stderr.read() if proc.poll() is not None else b"",
            )
            line = read_line(proc, deadline)
            assert line.startswith(b"published "), (iteration, line)
            time.sleep(rng.uniform(0, 0.030))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL, (
            f"iteration {iteration}: the appender ended by itself ({proc.returncode}): {proc.stderr.read()!r}"
        )
        out = line + proc.stdout.read()
        proc.stdout.close()
        proc.stderr.close()
        # Whole lines only: the kill may land in the middle of a print.
        lines = out.split(b"\n")[:-1]
        published = [int(w.split()[1]) for w in lines if w.startswith(b"published ")]
        if len(published) > 1:
            killed_after_publishes += 1

        with mmarray.open(path) as h:
            a = h.array
            now = len(a)
            assert a.shape[1:] == (COLS,)
            assert now >= length and now >= published[-1], (
                f"iteration {iteration}: {now} rows, but {length} were there and the appender published {published}"
            )
            want = expected(0, now)
            if not np.array_equal(a, want):
                bad = int(np.argwhere(a != want)[0][0])
                raise AssertionError(f"iteration {iteration}, {now} rows: row {bad} holds {a[bad]}, not {want[bad]}")
            del a
        if now > length:
            grew += 1
        length = now

    elapsed = time.monotonic() - started
    print(f"crash test: {KILLS} kills, {length} rows, {grew} grew, {killed_after_publishes} after publishes, {elapsed:.1f} s")
    # Not vacuous: the appenders ran, published, and were killed while at it.
    assert grew == KILLS  # every appender published at least once
    assert killed_after_publishes >= KILLS // 5
    assert length >= KILLS * BATCH

    # The array grows on after all that.
    with mmarray.open(path, "r+") as h:
        h.append(expected(length, length + 3))
    with mmarray.open(path) as h:
        assert np.array_equal(h.array, expected(0, length + 3))
