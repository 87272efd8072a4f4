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


def test_a_broken_entry_is_listed_with_its_error_and_hides_no_other(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    s.create_array("a", 3, "f4").close()
    s.create_array("c", 2, "u1").close()
    (tmp_path / "s" / "b.dat").write_bytes(b"\0" * 4)
    (tmp_path / "s" / "b.dat.json").write_text("{not json")
    listed = s.list()
    assert [e["name"] for e in listed] == ["a", "b", "c"]
    assert listed[0] == {"name": "a", "dtype": "<f4", "shape": [3], "nbytes": 12}
    assert set(listed[1]) == {"name", "error"}
    assert "malformed sidecar" in listed[1]["error"] and "b.dat.json" in listed[1]["error"]
    assert listed[2]["dtype"] == "|u1"
    # Opening it raises what the listing said.
    with pytest.raises(mmarray.MalformedSidecar) as info:
        s["b"]
    assert str(info.value) == listed[1]["error"]


def test_names_ending_in_a_store_suffix_are_refused(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    for name in ["weights.dat", "x.npy", "meta.json"]:
        with pytest.raises(mmarray.InvalidName, match="must not end in .dat, .json or .npy"):
            s.create_array(name, 3, "f4")
    assert s.list() == []


def test_creating_over_a_store_says_how_to_open_it(tmp_path):
    mmarray.Store(tmp_path / "s", create=True)
    with pytest.raises(mmarray.AlreadyExists, match=r"is a store already") as info:
        mmarray.Store(tmp_path / "s", create=True)
    assert "mmarray.Store(path) (without create=True)" in str(info.value)
    assert "overwrite" not in str(info.value)


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


def test_rename_onto_an_existing_name_is_refused_with_pythons_way_out(tmp_path):
    s = mmarray.Store(tmp_path / "s", create=True)
    s.create_array("a", 2, "f4").close()
    s.create_array("b", 3, "f4").close()
    with pytest.raises(mmarray.AlreadyExists) as info:
        s.rename("a", "b")
    message = str(info.value)
    assert 'store.remove("b")' in message and "overwrite" not in message, message
    assert info.value.path.endswith("b.dat")
    assert sorted(e["name"] for e in s.list()) == ["a", "b"]
    s.remove("b")
    s.rename("a", "b")  # the way out works
    assert [e["name"] for e in s.list()] == ["b"]
