"""Source.read_batch (the Loader's read path) against per-sample reads, and the finite check."""

import h5py
import numpy as np
import pytest
from sciml.datasets import ArraySource, H5Source, Source
from sciml.datasets.sources import check_finite_sample


@pytest.fixture(scope="module")
def h5_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rb") / "data.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["u"] = rng.normal(size=(9, 4, 3)).astype(np.float32)
        f["g/v"] = rng.integers(0, 5, size=(9, 2)).astype(np.int16)
    return path


def test_h5_read_batch_equals_stacked_samples(h5_file):
    source = H5Source(h5_file, {"u": "u", "v": "g/v"})
    idx = [4, 0, 8, 4, -1]
    batch = source.read_batch(idx)
    for key in ("u", "v"):
        expected = np.stack([source[i][key] for i in idx])
        assert batch[key].dtype == expected.dtype
        np.testing.assert_array_equal(batch[key], expected)


def test_default_read_batch_of_a_subclass():
    class Squares(Source):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full((2,), i * i, np.float64)}

        @property
        def element_spec(self):
            return {"x": ((2,), np.dtype(np.float64))}

    np.testing.assert_array_equal(Squares().read_batch([3, 1])["x"], [[9, 9], [1, 1]])
    arrays = ArraySource({"a": np.arange(12).reshape(6, 2)})
    np.testing.assert_array_equal(arrays.read_batch([5, 2])["a"], [[10, 11], [4, 5]])


def test_read_batch_names_the_bad_sample(tmp_path):
    path = tmp_path / "bad.h5"
    data = np.ones((4, 3), np.float32)
    data[2, 1] = np.inf
    with h5py.File(path, "w") as f:
        f["u"] = data
    with pytest.raises(ValueError, match=r"bad.h5 variable 'u', sample 2: .* 0 NaN and 1 Inf"):
        H5Source(path, ["u"]).read_batch([0, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_check_is_exact(dtype):
    big = np.full((100,), np.finfo(dtype).max, dtype)  # sums overflow; the check must not
    check_finite_sample(big, where="f", index=0)
    for bad, n_nan, n_inf in ((np.nan, 1, 0), (-np.inf, 0, 1)):
        x = big.copy()
        x[17] = bad
        with pytest.raises(ValueError, match=f"found {n_nan} NaN and {n_inf} Inf of 100"):
            check_finite_sample(x, where="f", index=3)
        check_finite_sample(x[::-1][:50], where="f", index=0)  # strided view without x[17]
