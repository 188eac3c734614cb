"""Data sources: ArraySource, H5Source, XarraySource - values, laziness, threads, pickling, errors."""

import os
import pickle
import threading
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr
from sciml.datasets import ArraySource, H5Source, XarraySource


def _h5(tmp_path, name="data.h5", n=12, **extra):
    rng = np.random.default_rng(0)
    u = rng.normal(size=(n, 6, 5)).astype(np.float32)
    v = rng.normal(size=(n, 4)).astype(np.float64)
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        f.create_dataset("u", data=u, chunks=(1, 6, 5), compression="gzip")
        f.create_dataset("group/v", data=v)
        for key, value in extra.items():
            f.create_dataset(key, data=value)
    return path, u, v


# --- ArraySource -------------------------------------------------------------------------------


def test_array_source_items_and_spec():
    x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    y = np.arange(4)
    src = ArraySource({"x": x, "y": y})
    assert len(src) == 4
    np.testing.assert_array_equal(src[2]["x"], x[2])
    np.testing.assert_array_equal(src[-1]["y"], y[3])
    assert src.element_spec == {"x": ((3, 2), np.dtype(np.float32)), "y": ((), y.dtype)}
    with pytest.raises(IndexError, match="out of range"):
        src[4]


def test_array_source_rejects_unequal_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*'x': 4.*'y': 3"):
        ArraySource({"x": np.zeros((4, 2)), "y": np.zeros(3)})


# --- H5Source ----------------------------------------------------------------------------------


def test_h5_source_reads_samples(tmp_path):
    path, u, v = _h5(tmp_path)
    src = H5Source(path, ["u", "group/v"])
    assert len(src) == 12
    assert src.element_spec == {
        "u": ((6, 5), np.dtype(np.float32)),
        "v": ((4,), np.dtype(np.float64)),
    }
    for i in (0, 5, 11, -1):
        item = src[i]
        np.testing.assert_array_equal(item["u"], u[i])
        np.testing.assert_array_equal(item["v"], v[i])
        assert item["u"].dtype == np.float32
    mapped = H5Source(path, {"state": "u"}, ndim={"state": 2})
    np.testing.assert_array_equal(mapped[3]["state"], u[3])


def test_h5_source_reads_only_the_requested_sample(tmp_path, monkeypatch):
    # A dataset of 1e6 x 1024 float32 (4 GB logically) that costs nothing on disk: reading one
    # sample must touch exactly one row, never the dataset as a whole.
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("u", shape=(1_000_000, 1024), dtype="f4", chunks=(1, 1024))
        d[123_456] = np.arange(1024, dtype=np.float32)
    assert os.path.getsize(path) < 50_000_000
    selections = []
    getitem = h5py.Dataset.__getitem__

    def spy(self, args, *rest, **kw):
        selections.append(args)
        return getitem(self, args, *rest, **kw)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(h5py.Dataset, "read_direct", None)  # no other way to read data
    src = H5Source(path, ["u"])
    assert len(src) == 1_000_000
    np.testing.assert_array_equal(src[123_456]["u"], np.arange(1024, dtype=np.float32))
    np.testing.assert_array_equal(src[7]["u"], np.zeros(1024, np.float32))
    assert selections == [123_456, 7]


def test_h5_source_read_batch_direct_chunks_equal_general_read(tmp_path, monkeypatch):
    """read_batch copies raw one-sample chunks (chunks=(1, *shape), no filter) with HDF5's direct chunk
    read; it must give what dataset[i] gives, including the fill value of a chunk never written,
    and leave big-endian, compressed and scalar-sample datasets to the general read."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=(6, 4, 3)).astype(np.float32)
    path = tmp_path / "layouts.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("raw", shape=u.shape, dtype="f4", chunks=(1, 4, 3), fillvalue=7.5)
        for i in (0, 2, 3, 5):  # samples 1 and 4 never written: fill value
            d[i] = u[i]
        f.create_dataset("big_endian", data=u.astype(">f8"), chunks=(1, 4, 3))
        f.create_dataset("gzip", data=u, chunks=(1, 4, 3), compression="gzip")
        f.create_dataset("two_per_chunk", data=u, chunks=(2, 4, 3))
        f.create_dataset("scalar", data=u[:, 0, 0], chunks=(1,))
    names = ["raw", "big_endian", "gzip", "two_per_chunk", "scalar"]
    src = H5Source(path, names)
    general = []  # (dataset, index) of every read through dataset[i]
    getitem = h5py.Dataset.__getitem__

    def spy(self, args, *rest, **kw):
        general.append((self.name.strip("/"), args))
        return getitem(self, args, *rest, **kw)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    order = [4, 0, 5, 1, 3]
    batch = src.read_batch(order)
    # the raw dataset took the general read only for its two chunks never written
    assert [i for name, i in general if name == "raw"] == [4, 1]
    assert len(general) == 2 + 4 * len(order)
    monkeypatch.undo()
    with h5py.File(path, "r") as f:
        for name in names:
            expected = np.stack([f[name][i] for i in order])
            np.testing.assert_array_equal(batch[name], expected, err_msg=name)
            assert batch[name].dtype == f[name].dtype
    assert src._handle.get().raw == {
        "raw": True,
        "big_endian": False,
        "gzip": False,
        "two_per_chunk": False,
        "scalar": False,
    }
    np.testing.assert_array_equal(batch["raw"][0], np.full((4, 3), 7.5, np.float32))


def test_h5_source_thread_safe(tmp_path):
    path, u, v = _h5(tmp_path, n=40)
    src = H5Source(path, ["u", "group/v"])
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        try:
            for i in rng.integers(0, 40, size=60):
                item = src[int(i)]
                np.testing.assert_array_equal(item["u"], u[i])
                np.testing.assert_array_equal(item["v"], v[i])
        except Exception as err:  # collected and re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_h5_source_pickles_and_survives_fork(tmp_path):
    path, u, _ = _h5(tmp_path)
    src = H5Source(path, ["u"])
    np.testing.assert_array_equal(src[1]["u"], u[1])  # handle now open
    clone = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(clone[4]["u"], u[4])
    # A forked child inherits the open handle: it must reopen the file, not reuse the parent's.
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JAX warns that fork and threads do not mix
        pid = os.fork()
    if pid == 0:  # child
        try:
            ok = np.array_equal(src[9]["u"], u[9]) and src._handle._pid == os.getpid()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"1"
    np.testing.assert_array_equal(src[2]["u"], u[2])  # parent handle still fine


def test_h5_source_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"H5Source: file '.*nope\.h5' not found"):
        H5Source(tmp_path / "nope.h5", ["u"])


def test_h5_source_missing_variable_lists_found(tmp_path):
    path, *_ = _h5(tmp_path)
    with pytest.raises(ValueError, match=r"no dataset 'w'.*group/v\[12, 4\].*u\[12, 6, 5\]"):
        H5Source(path, ["w"])
    with pytest.raises(ValueError, match=r"no dataset 'group' \(found a group there\)"):
        H5Source(path, ["group"])


def test_h5_source_wrong_dtype_and_rank(tmp_path):
    path, *_ = _h5(
        tmp_path,
        names=np.array([b"a", b"b"] * 6),
        scalar=np.float32(3.0),
        short=np.zeros((5, 6, 5), np.float32),
    )
    with pytest.raises(ValueError, match=r"dataset 'names': expected a numeric dtype, found \|S1"):
        H5Source(path, ["names"])
    with pytest.raises(ValueError, match=r"dataset 'scalar': expected rank >= 1.*found a scalar"):
        H5Source(path, ["scalar"])
    with pytest.raises(ValueError, match=r"dataset 'u': expected rank 3 per sample, found rank 2"):
        H5Source(path, ["u"], ndim=3)
    with pytest.raises(ValueError, match=r"same number of samples.*'u': 12.*'short': 5"):
        H5Source(path, ["u", "short"])


def test_h5_source_duplicate_keys(tmp_path):
    path, *_ = _h5(tmp_path, **{"other/v": np.zeros(12)})
    with pytest.raises(ValueError, match=r"'group/v' and 'other/v' both give the key 'v'"):
        H5Source(path, ["group/v", "other/v"])
    both = H5Source(path, {"v1": "group/v", "v2": "other/v"})
    assert set(both[0]) == {"v1", "v2"}


def test_h5_source_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("not an hdf5 file")
    with pytest.raises(ValueError, match=r"'.*text\.h5': expected a readable HDF5 file"):
        H5Source(path, ["u"])


def test_h5_source_nan_names_file_variable_sample(tmp_path):
    bad = np.zeros((6, 3), np.float32)
    bad[4, 1] = np.nan
    bad[2, 0] = np.inf
    path, *_ = _h5(tmp_path, bad=bad)
    src = H5Source(path, ["bad"])
    src[0]
    with pytest.raises(
        ValueError, match=r"data\.h5 variable 'bad', sample 4: .*found 1 NaN and 0 Inf"
    ):
        src[4]
    with pytest.raises(ValueError, match=r"variable 'bad', sample 2: .*0 NaN and 1 Inf"):
        src[2]
    assert np.isnan(H5Source(path, ["bad"], check_finite=False)[4]["bad"][1])


# --- XarraySource ------------------------------------------------------------------------------


def _nc(tmp_path, engine="h5netcdf"):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 3, 8, 4)).astype(np.float32)
    b = rng.normal(size=(5, 3, 4, 8))  # stored (y, x): must come out in a's (x, y) order
    ds = xr.Dataset(
        {
            "a": (("sample", "time", "x", "y"), a),
            "b": (("sample", "time", "y", "x"), b),
            "label": (("sample",), np.array(["p", "q", "r", "s", "t"])),
        },
        coords={"x": np.linspace(0, 1, 8), "y": np.linspace(0, 1, 4)},
    )
    path = tmp_path / f"fields-{engine}.nc"
    ds.to_netcdf(path, engine=engine)
    return path, a, b


@pytest.mark.parametrize("engine", ["h5netcdf", "netcdf4"])
def test_xarray_source_matches_numpy(tmp_path, engine):
    path, a, b = _nc(tmp_path, engine="h5netcdf")
    src = XarraySource(path, ["a", "b"], sample_dims=("sample", "time"), engine=engine)
    assert len(src) == 15
    assert src.element_spec == {"x": ((8, 4, 2), np.dtype(np.float32))}
    frames = np.stack([a, b.transpose(0, 1, 3, 2)], axis=-1).astype(np.float32).reshape(15, 8, 4, 2)
    for i in (0, 4, 14):
        np.testing.assert_array_equal(src[i]["x"], frames[i])
    one = XarraySource(path, ["b"], sample_dims=("sample",), key="field", engine=engine)
    # alone, b keeps its own file order (time, y, x)
    assert one.element_spec == {"field": ((3, 4, 8, 1), np.dtype(np.float32))}
    np.testing.assert_array_equal(one[2]["field"][..., 0], b[2].astype(np.float32))
    clone = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(clone[7]["x"], frames[7])


def test_xarray_source_in_memory_dataset():
    ds = xr.Dataset({"u": (("sample", "x"), np.arange(12.0).reshape(3, 4))})
    src = XarraySource(ds, ["u"])
    np.testing.assert_array_equal(src[1]["x"], np.arange(4.0, 8.0)[:, None])


def test_xarray_source_errors(tmp_path):
    path, *_ = _nc(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"XarraySource: file '.*missing\.nc' not found"):
        XarraySource(tmp_path / "missing.nc", ["a"])
    with pytest.raises(
        ValueError, match=r"no variable 'c'; variables found: \['a', 'b', 'label'\]"
    ):
        XarraySource(path, ["a", "c"], engine="h5netcdf")
    with pytest.raises(ValueError, match=r"variable 'label': expected a real numeric dtype"):
        XarraySource(path, ["label"], engine="h5netcdf")
    with pytest.raises(ValueError, match=r"variable 'a': expected dims including \('run',\)"):
        XarraySource(path, ["a"], sample_dims=("run",), engine="h5netcdf")
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"garbage\.nc: not a readable HDF5/netCDF4 file"):
        XarraySource(garbage, ["a"], engine="h5netcdf")


def test_xarray_source_nan(tmp_path):
    u = np.ones((4, 3), np.float32)
    u[3, 2] = np.nan
    path = tmp_path / "nan.nc"
    xr.Dataset({"u": (("sample", "x"), u)}).to_netcdf(path, engine="h5netcdf")
    src = XarraySource(path, ["u"], engine="h5netcdf")
    with pytest.raises(ValueError, match=r"nan\.nc variable 'u', sample 3: .*1 NaN"):
        src[3]


def test_xarray_source_zarr_store(tmp_path):
    ds = xr.Dataset({"u": (("sample", "x"), np.arange(8.0).reshape(2, 4))})
    store = tmp_path / "fields.zarr"
    try:
        import zarr  # noqa: F401
    except ImportError:
        store.mkdir()
        with pytest.raises(ValueError, match=r"fields\.zarr': a zarr store needs the zarr package"):
            XarraySource(store, ["u"])
    else:
        ds.to_zarr(store)
        np.testing.assert_array_equal(XarraySource(store, ["u"])[1]["x"][:, 0], [4, 5, 6, 7])
