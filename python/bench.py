"""Benchmarks of the mmarray Python package against numpy, in the same run.

    target/pyenv/bin/python python/bench.py [--dir DIR] [--quick]

Install the package first (``pip install ./python``, a release build). The
files go to a temporary directory under DIR (default: the system temporary
directory, /tmp) that is removed at the end; it needs ~1.6 GiB of free disk
(the 64 GiB arrays are sparse and stay so). Prints a Markdown table (median
of each case; ratios against the peer measured in the same run) and which of
issue 14's targets were met:

(a) open + first element of a 64 GiB sparse array (raw + sidecar, .npy)
    faster than ``np.memmap`` and ``np.load(mmap_mode="r")`` on the same file;
(b) ``mmarray.stats`` over a 1 GiB float32 file (warm page cache) >= 20x
    numpy's nanmin + nanmax + nansum + nanmean + nanstd, and >= 1.5x
    ``np.memmap(...).sum()``;
(c) appending 1,048,576 rows of 128 float32 in batches of 1,024 rows, with
    ``publish()`` after each batch, >= 1 GB/s.

and of issue 15 (``--only cluster`` runs just these; needs dask,
distributed and zarr):

(d) the sum of a 1 GiB float32 file on a 2-worker-process ``LocalCluster``
    through ``mmarray.dask.from_array`` within 1.5x of numpy's
    single-process ``np.memmap(...).sum()`` with a warm page cache (ratio
    >= 0.67), and no slower than it with a cold one (ratio >= 1.0), cold
    meaning the file's pages dropped with ``posix_fadvise(DONTNEED)``
    before each run (no worker keeps a mapping between runs);
(e) the same through ``dask.array.from_zarr`` over ``mmarray.zarr.Store``;
and it reports the task overhead per chunk (4,096 chunks of 256 KiB
against the default 16 of 64 MiB).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

import mmarray

GIB = 1 << 30


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


class Table:
    def __init__(self):
        self.rows = []
        self.times = {}

    def add(self, group, case, seconds, nbytes=None, against=None):
        self.times[case] = seconds
        ratio = ""
        if against is not None:
            r = self.times[against] / seconds
            ratio = f"{r:.2f}x faster than {against}" if r >= 1 else f"{1 / r:.2f}x slower than {against}"
        gbs = f"{nbytes / seconds / 1e9:.2f}" if nbytes else ""
        self.rows.append((group, case, fmt_time(seconds), gbs, ratio))
        print(f"  {case}: {fmt_time(seconds)} {gbs and gbs + ' GB/s'} {ratio}", file=sys.stderr, flush=True)

    def ratio(self, case, against):
        return self.times[against] / self.times[case]

    def markdown(self):
        lines = ["| group | case | median | GB/s | ratio |", "|---|---|---:|---:|---|"]
        lines += [f"| {' | '.join(r)} |" for r in self.rows]
        return "\n".join(lines)


def allocated(path):
    return os.stat(path).st_blocks * 512


def bench_open(table, d, reps):
    shape = (64 * GIB // (1024 * 4), 1024)  # 64 GiB of float32
    raw = os.path.join(d, "huge.dat")
    npy = os.path.join(d, "huge.npy")
    for p in (raw, npy):
        mmarray.create(p, shape, "<f4", preallocate=False).close()
        assert os.path.getsize(p) >= 64 * GIB
        assert allocated(p) < 64 << 20, f"{p} is not sparse: {allocated(p)} bytes allocated"
    header = os.path.getsize(npy) - 64 * GIB

    def mm(p):
        def run():
            a = mmarray.open(p).array
            float(a[0, 0])
            del a

        return run

    def memmap():
        a = np.memmap(raw, dtype="<f4", mode="r", shape=shape)
        float(a[0, 0])
        del a

    def npload():
        a = np.load(npy, mmap_mode="r")
        float(a[0, 0])
        del a

    def memmap_npy():
        a = np.memmap(npy, dtype="<f4", mode="r", shape=shape, offset=header)
        float(a[0, 0])
        del a

    for fn in (mm(raw), memmap, mm(npy), npload):  # warm up
        fn()
    g = "open 64 GiB sparse + [0, 0]"
    table.add(g, "np.memmap(raw)", median_time(memmap, reps))
    table.add(g, "mmarray.open(raw + sidecar)", median_time(mm(raw), reps), against="np.memmap(raw)")
    table.add(g, 'np.load(.npy, mmap_mode="r")', median_time(npload, reps))
    table.add(g, "np.memmap(.npy, offset=header)", median_time(memmap_npy, reps))
    table.add(g, "mmarray.open(.npy)", median_time(mm(npy), reps), against='np.load(.npy, mmap_mode="r")')
    table.add(g, "mmarray.open(.npy) (vs np.memmap)", table.times["mmarray.open(.npy)"], against="np.memmap(.npy, offset=header)")
    assert allocated(raw) < 64 << 20 and allocated(npy) < 64 << 20, "the sparse files filled in"
    for p in (raw, npy, raw + ".json"):
        os.remove(p)
    return [
        ("(a) open raw + sidecar faster than np.memmap", table.ratio("mmarray.open(raw + sidecar)", "np.memmap(raw)"), 1.0),
        ('(a) open .npy faster than np.load(mmap_mode="r")', table.ratio("mmarray.open(.npy)", 'np.load(.npy, mmap_mode="r")'), 1.0),
        ("(a) open .npy faster than np.memmap", table.ratio("mmarray.open(.npy)", "np.memmap(.npy, offset=header)"), 1.0),
    ]


def bench_stats(table, d, reps):
    n = GIB // 4
    p = os.path.join(d, "scan.dat")
    rng = np.random.default_rng(14)
    with mmarray.create(p, (n,), "<f4") as h:
        a = h.array
        step = 1 << 24
        for i in range(0, n, step):
            a[i : i + step] = rng.standard_normal(min(step, n - i), dtype=np.float32)
        a[::1_000_003] = np.nan  # a few NaNs, so that the nan-functions have work
        del a
    os.sync()

    def mm():
        mmarray.stats(p)

    def nan_functions():
        m = np.memmap(p, dtype="<f4", mode="r")
        np.nanmin(m), np.nanmax(m), np.nansum(m), np.nanmean(m), np.nanstd(m)
        del m

    def memmap_sum():
        m = np.memmap(p, dtype="<f4", mode="r")
        m.sum()
        del m

    # Warm page cache: every case reads the whole file once before timing.
    memmap_sum()
    mm()
    # Agreement, so that the comparison is of like with like.
    s = mmarray.stats(p)
    m = np.memmap(p, dtype="<f4", mode="r")
    assert s["nan_count"] == int(np.isnan(m).sum())
    assert abs(s["mean"] - float(np.nanmean(m, dtype=np.float64))) < 1e-6
    del m
    g = "stats, 1 GiB float32, warm"
    table.add(g, "numpy nanmin+nanmax+nansum+nanmean+nanstd", median_time(nan_functions, max(3, reps // 2)), GIB)
    table.add(g, "np.memmap(...).sum()", median_time(memmap_sum, reps), GIB)
    table.add(g, "mmarray.stats", median_time(mm, reps), GIB, against="numpy nanmin+nanmax+nansum+nanmean+nanstd")
    table.add(g, "mmarray.stats (vs sum)", table.times["mmarray.stats"], GIB, against="np.memmap(...).sum()")
    os.remove(p)
    os.remove(p + ".json")
    return [
        ("(b) stats >= 20x the numpy nan-functions", table.ratio("mmarray.stats", "numpy nanmin+nanmax+nansum+nanmean+nanstd"), 20.0),
        ("(b) stats >= 1.5x np.memmap(...).sum()", table.ratio("mmarray.stats (vs sum)", "np.memmap(...).sum()"), 1.5),
    ]


def bench_append(table, d, reps, rows):
    cols, batch = 128, 1024
    nbytes = rows * cols * 4
    batches = [np.full((batch, cols), i, dtype="<f4") for i in range(8)]
    p = os.path.join(d, "append.dat")
    raw = os.path.join(d, "append.raw")
    loop_times = []
    close_times = []

    def clean():
        for f in (p, p + ".json", raw):
            if os.path.exists(f):
                os.remove(f)

    def append_all(publish_each):
        """Appends every batch (publishing after each, or once at the end);
        returns the time of the appends and the time including `close`."""
        clean()
        h = mmarray.create(p, (0, cols), "<f4")
        t = time.perf_counter()
        for i in range(rows // batch):
            h.append(batches[i % 8])
            if publish_each:
                h.publish()
        if not publish_each:
            h.publish()
        loop = time.perf_counter() - t
        h.close()  # flush + commit: waits for the disk
        return loop, time.perf_counter() - t

    for _ in range(reps):
        loop, closed = append_all(True)
        loop_times.append(loop)
        close_times.append(closed)
        with mmarray.open(p) as r:
            assert r.shape == (rows, cols)
    # Where the time goes: the same appends, one publish at the end.
    no_publish = [append_all(False)[0] for _ in range(reps)]
    clean()

    def file_write():
        with open(raw, "wb") as f:
            for i in range(rows // batch):
                f.write(batches[i % 8])
                f.flush()

    file_times = []
    for _ in range(reps):
        clean()
        file_times.append(median_time(file_write, 1))
    clean()
    g = f"append {rows:,} x {cols} f32, {batch}-row batches"
    table.add(g, "file.write + flush per batch (no mapping)", statistics.median(file_times), nbytes)
    table.add(g, "mmarray append + publish per batch", statistics.median(loop_times), nbytes, against="file.write + flush per batch (no mapping)")
    table.add(g, "the same, + close (fdatasync)", statistics.median(close_times), nbytes)
    table.add(g, "mmarray append, one publish at the end", statistics.median(no_publish), nbytes)
    gbs = nbytes / statistics.median(loop_times) / 1e9
    return [("(c) append + publish >= 1 GB/s", gbs, 1.0)]


def drop_cache(path):
    """Drops the file's clean pages from the page cache (nobody may map it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def bench_cluster(table, d, reps):
    import dask.array as da
    from distributed import Client, LocalCluster

    import mmarray.dask as md
    from mmarray.zarr import Store

    n = GIB // 4
    p = os.path.join(d, "cluster.dat")
    rng = np.random.default_rng(15)
    with mmarray.create(p, (n,), "<f4") as h:
        a = h.array
        step = 1 << 24
        for i in range(0, n, step):
            a[i : i + step] = rng.integers(0, 16, min(step, n - i))
        del a
    os.sync()
    expected = float(np.memmap(p, dtype="<f4", mode="r").sum(dtype=np.float64))

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:

        def memmap_sum():
            m = np.memmap(p, dtype="<f4", mode="r")
            m.sum()
            del m

        # float32 sums, as numpy's (checked against the exact float64 sum).
        def dask_sum():
            assert abs(float(md.from_array(p).sum().compute()) - expected) < 1e-6 * expected

        def dask_small_chunks():
            md.from_array(p, chunks=n // 4096).sum().compute()

        floor = da.ones(16 * 1024, chunks=1024, dtype=np.float32)

        def dask_floor():
            # The same graph shape (16 chunks, tree sum) over 4 KiB chunks:
            # what dask.distributed itself costs, with no data to read.
            assert float(floor.sum().compute()) == 16 * 1024

        def zarr_sum():
            assert abs(float(da.from_zarr(Store(p)).sum().compute()) - expected) < 1e-6 * expected

        def cold_medians(fns, rounds):
            # Round-robin, so that the disk's drift over the minutes this
            # takes falls on every contender alike.
            times = {fn: [] for fn in fns}
            for _ in range(rounds):
                for fn in fns:
                    drop_cache(p)
                    t = time.perf_counter()
                    fn()
                    times[fn].append(time.perf_counter() - t)
            return {fn: statistics.median(ts) for fn, ts in times.items()}

        for fn in (memmap_sum, dask_sum, zarr_sum, dask_small_chunks, dask_floor):
            fn()  # warm: pages, workers' imports
        g = "sum of 1 GiB float32, 2-process LocalCluster, warm"
        table.add(g, "np.memmap(...).sum(), one process", median_time(memmap_sum, reps), GIB)
        table.add(g, "mmarray.dask.from_array(...).sum() [16 chunks]", median_time(dask_sum, reps), GIB,
                  against="np.memmap(...).sum(), one process")
        table.add(g, "da.from_zarr(mmarray.zarr.Store(...)).sum()", median_time(zarr_sum, reps), GIB,
                  against="np.memmap(...).sum(), one process")
        table.add(g, "mmarray.dask.from_array(...).sum() [4,096 chunks]", median_time(dask_small_chunks, min(reps, 3)), GIB)
        table.add(g, "dask.distributed alone: da.ones(...).sum() [16 chunks of 4 KiB]", median_time(dask_floor, reps))
        per_chunk = (table.times["mmarray.dask.from_array(...).sum() [4,096 chunks]"]
                     - table.times["mmarray.dask.from_array(...).sum() [16 chunks]"]) / (4096 - 16)
        print(f"  task overhead per chunk: {per_chunk * 1e6:.0f} µs", file=sys.stderr)
        # Of that, mmarray's part: what a task does before the data is read
        # (map the file, check the layout, slice), timed in this process.
        region = ((0, n // 4096),)
        t = time.perf_counter()
        for _ in range(1000):
            md._load(p, "<f4", (n,), "C", region)
        own_per_chunk = (time.perf_counter() - t) / 1000
        print(f"  of which mapping the chunk in the task: {own_per_chunk * 1e6:.0f} µs", file=sys.stderr)
        g = "sum of 1 GiB float32, 2-process LocalCluster, cold"
        cold = cold_medians((memmap_sum, dask_sum, zarr_sum), max(3, reps - 2))
        table.add(g, "np.memmap(...).sum(), one process, cold", cold[memmap_sum], GIB)
        table.add(g, "mmarray.dask.from_array(...).sum(), cold", cold[dask_sum], GIB,
                  against="np.memmap(...).sum(), one process, cold")
        table.add(g, "da.from_zarr(mmarray.zarr.Store(...)).sum(), cold", cold[zarr_sum], GIB,
                  against="np.memmap(...).sum(), one process, cold")
    finally:
        client.close()
        cluster.close()
    os.remove(p)
    os.remove(p + ".json")
    r = table.ratio
    base, base_cold = "np.memmap(...).sum(), one process", "np.memmap(...).sum(), one process, cold"
    return [
        ("(d) dask warm within 1.5x of np.memmap sum (>= 0.67)", r("mmarray.dask.from_array(...).sum() [16 chunks]", base), 0.667),
        ("(d) dask cold no slower than np.memmap sum", r("mmarray.dask.from_array(...).sum(), cold", base_cold), 1.0),
        ("(e) from_zarr warm within 1.5x of np.memmap sum (>= 0.67)", r("da.from_zarr(mmarray.zarr.Store(...)).sum()", base), 0.667),
        ("(e) from_zarr cold no slower than np.memmap sum", r("da.from_zarr(mmarray.zarr.Store(...)).sum(), cold", base_cold), 1.0),
        (f"task overhead per chunk: {per_chunk * 1e6:.0f} µs, of which mapping the chunk "
         f"{own_per_chunk * 1e6:.0f} µs (reported)", 1.0, 0.0),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=None, help="where the files go (a temporary directory inside it)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    parser.add_argument("--only", choices=["open", "stats", "append", "cluster"], action="append",
                        help="run only these groups (repeatable; default: all)")
    args = parser.parse_args()
    only = set(args.only or ["open", "stats", "append", "cluster"])
    d = tempfile.mkdtemp(prefix="mmarray-bench-", dir=args.dir)
    table = Table()
    targets = []
    try:
        print(f"files in {d}", file=sys.stderr)
        if "open" in only:
            targets += bench_open(table, d, 21 if args.quick else 201)
        if "stats" in only:
            targets += bench_stats(table, d, 3 if args.quick else 7)
        if "append" in only:
            targets += bench_append(table, d, 1 if args.quick else 3, 1 << 20)
        if "cluster" in only:
            targets += bench_cluster(table, d, 3 if args.quick else 7)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(
        f"numpy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print(table.markdown())
    print()
    print("| target | result | |")
    print("|---|---|---|")
    for name, value, goal in targets:
        if name.endswith("(reported)"):
            print(f"| {name} | | |")
            continue
        unit = " GB/s" if "GB/s" in name else "x"
        print(f"| {name} | {value:.2f}{unit} | {'met' if value >= goal else '**missed**'} |")


if __name__ == "__main__":
    main()
