"""mmarray.Store and sharded reads."""

import numpy as np
import pytest

import mmarray
from conftest import same, values


def test_store_round_trip(tmp_path):
    d = tmp_path / "store"
    with pytest.raises(FileNotFoundError):
        mmarray.Store(d)
    s = mmarray.Store(d, create=True)
    assert s.list() == []
    h = s.create_array("loss", (0,), "f4", attrs={"run": 1})
    h.append(np.array([0.5, 0.25], dtype="f4"))
    h.close()
    assert s.list() == [{"name": "loss", "dtype": "<f4", "shape": [2], "nbytes": 8}]
    assert "loss" in s and "nope" not in s
    assert same(s["loss"].array, np.array([0.5, 0.25], dtype="f4"))
    assert s["loss"].attrs == {"run": 1}
    with s.open("loss", "r+") as w:
        w.array[0] = 9
    assert s["loss"].array[0] == 9
    s.rename("loss", "loss2")
    assert [e["name"] for e in s.list()] == ["loss2"]
    s.attrs = {"owner": "me"}
    assert mmarray.Store(d).attrs == {"owner": "me"}
    with pytest.raises(mmarray.AlreadyExists):
        mmarray.Store(d, create=True)  # a store is there already
    s.remove("loss2")
    assert s.list() == []


def test_store_errors(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    with pytest.raises(mmarray.InvalidName) as info:
        s.create_array("../escape", 3, "f4")
    assert info.value.path
    s.create_array("a", 3, "f4").close()
    with pytest.raises(mmarray.AlreadyExists):
        s.create_array("a", 3, "f4")
    keep = s["a"]
    with pytest.raises(mmarray.Busy):
        s.remove("a")
    keep.close()
    s.remove("a")


@pytest.mark.parametrize("dtype", ["<f8", "<i2", "|b1", "<c8"])
def test_sharded(tmp_path, dtype):
    s = mmarray.Store(tmp_path / "s", create=True)
    parts = [values(dtype, (n, 3), seed=n) for n in (2, 0, 5, 1)]
    for i, part in enumerate(parts):
        with s.create_array(f"part-{i:04}", (0, 3), dtype) as h:
            if len(part):
                h.append(part)
    whole = np.concatenate(parts)
    sh = s.sharded("part-")
    assert len(sh) == 8 and sh.row_shape == (3,)
    assert same(sh.read_rows(0, 8), whole)
    assert same(sh.read_rows(1, 7), whole[1:7])
    assert same(sh[7], whole[7]) and same(sh[-1], whole[-1])
    with pytest.raises(IndexError):
        sh[8]
    with pytest.raises(mmarray.InvalidArgument):
        s.sharded("nothing-")


def test_sharded_with_shards_of_different_dtypes_is_a_dtype_mismatch(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    s.create_array("part-0000", (2, 3), "<f4").close()
    s.create_array("part-0001", (2, 3), "<f8").close()
    with pytest.raises(mmarray.DTypeMismatch) as info:
        s.sharded("part-")
    assert info.value.path


def test_a_missing_name_is_a_key_error(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    s.create_array("a", (2,), "u1").close()
    assert "a" in s and "b" not in s
    with pytest.raises(KeyError):
        s["b"]
    with s["a"] as h:
        assert h.shape == (2,)
