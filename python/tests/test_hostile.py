"""Hostile files never crash the interpreter or hang it.

Each case builds a bad file, then a fresh interpreter (so that a SIGSEGV or
SIGBUS fails the test instead of killing pytest, and a hang hits a timeout)
runs ``mmarray.open``, ``mmarray.info`` and ``mmarray.stats`` on it. Each
call must raise an ``mmarray.Error`` subclass or an ``OSError`` subclass (the
expected class is asserted where the case decides it), and the interpreter
must exit 0.
"""

import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import mmarray

PROBE = r"""
import json, sys
import mmarray
out = {}
for name in ("open", "info", "stats"):
    try:
        r = getattr(mmarray, name)(sys.argv[1])
        if name == "open":
            r.array.sum()  # touch the mapping
            r.close()
        out[name] = ["ok", None]
    except mmarray.Error as e:
        out[name] = ["error", type(e).__name__]
    except OSError as e:
        out[name] = ["os", type(e).__name__]
    except BaseException as e:
        out[name] = ["other", f"{type(e).__name__}: {e}"]
print(json.dumps(out))
"""

TIMEOUT = 30
OK = "ok"  # an expectation: this call succeeds (it does not read what is bad)
NPZ_WHOLE = {"open": mmarray.InvalidArgument, "info": mmarray.MalformedNpz, "stats": mmarray.InvalidArgument}


def npy(header, data=b"", version=(1, 0), header_len=None):
    """A .npy file with `header` (a dict's repr, or raw bytes) as written."""
    text = header if isinstance(header, bytes) else header.encode("latin1")
    major = version[0]
    fixed = 6 + 2 + (2 if major == 1 else 4)
    pad = (-(fixed + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    n = len(text) if header_len is None else header_len
    size = struct.pack("<H", n) if major == 1 else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes(version) + size + text + data


def header(descr, shape, fortran=False):
    return repr({"descr": descr, "fortran_order": fortran, "shape": shape})


GOOD_NPY = npy(header("<f4", (4, 4)), bytes(64))


def sidecar(path, **fields):
    doc = {"version": 1, "dtype": "<f4", "shape": [4], "order": "C", "offset": 0, "attrs": {}}
    doc.update(fields)
    (path.parent / (path.name + ".json")).write_text(json.dumps(doc))


def raw(tmp, data=bytes(16), **fields):
    p = tmp / "a.dat"
    p.write_bytes(data)
    sidecar(p, **fields)
    return p


def write(tmp, name, data):
    p = tmp / name
    p.write_bytes(data)
    return p


def npz_truncated(tmp, cut):
    p = tmp / "a.npz"
    np.savez(p, x=np.arange(1000, dtype="<f8"), y=np.arange(10, dtype="<i4"))
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * cut)])
    return p


def fifo_data(tmp):
    p = tmp / "a.dat"
    os.mkfifo(p)
    sidecar(p)
    return p


def fifo_sidecar(tmp):
    p = tmp / "a.dat"
    p.write_bytes(bytes(16))
    os.mkfifo(tmp / "a.dat.json")
    return p


def fifo_npy(tmp):
    p = tmp / "a.npy"
    os.mkfifo(p)
    return p


# (id, builder(tmp) -> path, expected): expected is the class open and info
# raise, or {op: class or OK}; None, or an op left out: any mmarray.Error or
# OSError subclass.
CASES = [
    *[
        (f"npy truncated at {n}", lambda t, n=n: write(t, "a.npy", GOOD_NPY[:n]), None)
        for n in (1, 6, 8, 9, 10, 40, 127)
    ],
    ("npy truncated in the data", lambda t: write(t, "a.npy", GOOD_NPY[:-1]), mmarray.DataTooShort),
    ("npy bad magic", lambda t: write(t, "a.npy", b"\x93NUMPX" + GOOD_NPY[6:]), mmarray.MalformedNpy),
    ("npy bad version", lambda t: write(t, "a.npy", npy(header("<f4", (4,)), bytes(16), version=(9, 0))), mmarray.MalformedNpy),
    (
        "npy huge header length (v1)",
        lambda t: write(t, "a.npy", npy(header("<f4", (4,)), bytes(16), header_len=0xFFFF)),
        mmarray.MalformedNpy,
    ),
    (
        "npy huge header length (v2)",
        lambda t: write(t, "a.npy", npy(header("<f4", (4,)), bytes(16), version=(2, 0), header_len=0xFFFFFFFF)),
        mmarray.MalformedNpy,
    ),
    ("npy object dtype", lambda t: write(t, "a.npy", npy(header("|O", (2,)), bytes(16))), mmarray.UnknownDtype),
    ("npy structured dtype", lambda t: write(t, "a.npy", npy(header([("a", "<i4")], (2,)), bytes(8))), mmarray.UnknownDtype),
    ("npy unknown dtype", lambda t: write(t, "a.npy", npy(header("<q9", (2,)), bytes(16))), mmarray.UnknownDtype),
    (
        "npy overflowing shape",
        lambda t: write(t, "a.npy", npy(header("<f8", (2**40, 2**40)), bytes(16))),
        mmarray.ShapeOverflow,
    ),
    (
        "npy shape past u64",
        lambda t: write(t, "a.npy", npy(header("<f8", (2**70,)), bytes(16))),
        mmarray.MalformedNpy,
    ),
    ("npy negative shape", lambda t: write(t, "a.npy", npy(header("<f4", (-1,)), bytes(16))), mmarray.MalformedNpy),
    ("npy garbage shape", lambda t: write(t, "a.npy", npy(header("<f4", ("x",)), bytes(16))), mmarray.MalformedNpy),
    ("npy garbage header", lambda t: write(t, "a.npy", npy(b"{'descr': <f4, ((((", bytes(16))), mmarray.MalformedNpy),
    ("npy non-latin1 header", lambda t: write(t, "a.npy", npy(b"\xff\xfe{\x00}", bytes(16))), mmarray.MalformedNpy),
    ("npy shape claims more than the file", lambda t: write(t, "a.npy", npy(header("<f4", (1000,)), bytes(16))), mmarray.DataTooShort),
    ("sidecar not JSON", lambda t: raw_text(t, "{not json"), mmarray.MalformedSidecar),
    ("sidecar binary garbage", lambda t: raw_bytes(t, bytes(range(256))), mmarray.MalformedSidecar),
    ("sidecar empty", lambda t: raw_bytes(t, b""), mmarray.MalformedSidecar),
    ("sidecar a JSON list", lambda t: raw_text(t, "[1, 2, 3]"), mmarray.MalformedSidecar),
    ("sidecar unknown key", lambda t: raw(t, colour="blue"), mmarray.MalformedSidecar),
    ("sidecar shape of the wrong type", lambda t: raw(t, shape="four"), mmarray.MalformedSidecar),
    ("sidecar dtype of the wrong type", lambda t: raw(t, dtype=4), mmarray.MalformedSidecar),
    ("sidecar negative offset", lambda t: raw(t, offset=-8), mmarray.MalformedSidecar),
    ("sidecar negative shape", lambda t: raw(t, shape=[-4]), mmarray.MalformedSidecar),
    ("sidecar float shape", lambda t: raw(t, shape=[4.5]), mmarray.MalformedSidecar),
    ("sidecar order unknown", lambda t: raw(t, order="Z"), mmarray.MalformedSidecar),
    ("sidecar version missing", lambda t: raw_text(t, '{"dtype": "<f4", "shape": [4]}'), mmarray.MalformedSidecar),
    ("sidecar unknown dtype", lambda t: raw(t, dtype="<x4"), mmarray.UnknownDtype),
    ("sidecar overflowing shape", lambda t: raw(t, shape=[2**32, 2**32, 2**32]), mmarray.ShapeOverflow),
    ("sidecar offset past the end", lambda t: raw(t, offset=4096), mmarray.DataTooShort),
    ("sidecar offset past u64", lambda t: raw(t, offset=2**64), mmarray.MalformedSidecar),
    # info only describes the file, stats reads bytes, and open ("r") gives
    # numpy's unaligned view, not a typed one.
    (
        "sidecar misaligned offset",
        lambda t: raw(t, bytes(32), offset=3),
        {"open": OK, "info": OK, "stats": OK},
    ),
    ("sidecar shape claims more than the file", lambda t: raw(t, shape=[1000]), mmarray.DataTooShort),
    (
        "sidecar invalid bool",
        lambda t: raw(t, bytes([0, 1, 2, 1]), dtype="|b1"),
        {"open": mmarray.InvalidBool, "info": OK, "stats": mmarray.InvalidBool},
    ),
    ("FIFO as data file", fifo_data, mmarray.InvalidArgument),
    ("FIFO as sidecar", fifo_sidecar, mmarray.InvalidArgument),
    ("FIFO as .npy", fifo_npy, mmarray.InvalidArgument),
    ("directory as data file", lambda t: dir_data(t), mmarray.InvalidArgument),
    # open and stats want a member (ARCHIVE.npz/NAME); info reads the archive.
    *[
        (f"npz truncated at {cut:.0%}", lambda t, cut=cut: npz_truncated(t, cut), NPZ_WHOLE)
        for cut in (0.1, 0.5, 0.99)
    ],
    ("npz member of a truncated npz", lambda t: npz_truncated(t, 0.5) / "x", mmarray.MalformedNpz),
    ("npz with a bad member", lambda t: npz_bad_member(t), mmarray.MalformedNpz),
]


def raw_text(tmp, text):
    p = tmp / "a.dat"
    p.write_bytes(bytes(16))
    (tmp / "a.dat.json").write_text(text)
    return p


def raw_bytes(tmp, data):
    p = tmp / "a.dat"
    p.write_bytes(bytes(16))
    (tmp / "a.dat.json").write_bytes(data)
    return p


def dir_data(tmp):
    p = tmp / "a.dat"
    p.mkdir()
    sidecar(p)
    return p


def npz_bad_member(tmp):
    p = tmp / "a.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("x.npy", GOOD_NPY[:50])
    return p / "x"


@pytest.mark.parametrize("build, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_raises_cleanly(tmp_path, build, expected):
    path = build(tmp_path)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung for {TIMEOUT} s on {path}")
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    results = json.loads(proc.stdout)
    assert set(results) == {"open", "info", "stats"}
    if expected is None:
        expected = {}
    elif not isinstance(expected, dict):
        expected = {"open": expected, "info": expected, "stats": expected}
    for op, (kind, cls) in results.items():
        want = expected.get(op)
        if want == OK:
            assert kind == "ok", f"{op}: {kind} {cls}"
            continue
        assert kind in ("error", "os"), f"{op}: {kind} {cls}"
        if want is not None:
            assert cls == want.__name__, f"{op}: {cls}, not {want.__name__}"
    print(results)
