"""fastMRI files: synthetic writer, reader, header, SliceDataset, and bad-input errors."""

import pickle

import h5py
import numpy as np
import pytest

from sciml.mri import (
    SliceDataset,
    UnetDataTransform,
    inspect_volume,
    mask_func,
    parse_header,
    read_volume,
    seed_from_name,
    synthesize_dataset,
)

SMALL = {"volumes": 2, "slices": 3, "shape": (32, 28), "recon_size": (20, 20)}


def np_ifft2c(x):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def crop(x, size):
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mri")
    sc = synthesize_dataset(root / "sc", coils=1, **SMALL)
    mc = synthesize_dataset(root / "mc", coils=4, padding=2, **SMALL)
    test = synthesize_dataset(root / "test", coils=4, padding=2, split="test", **SMALL)
    val = synthesize_dataset(root / "val", coils=4, padding=2, split="val", **SMALL)
    return {"root": root, "sc": sc, "mc": mc, "test": test, "val": val}


KNEE_HEADER = b"""<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD"><encoding>
<encodedSpace><matrixSize><x>640</x><y>368</y><z>1</z></matrixSize></encodedSpace>
<reconSpace><matrixSize><x>320</x><y>320</y><z>1</z></matrixSize></reconSpace>
<encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>333</maximum>
<center>166</center></kspace_encoding_step_1></encodingLimits></encoding></ismrmrdHeader>"""


def test_parse_header_fields_and_padding():
    h = parse_header(KNEE_HEADER)
    assert h.encoding_size == (640, 368, 1) and h.recon_size == (320, 320, 1)
    # padding_left = 368 // 2 - 166 = 18; padding_right = 18 + 333 + 1 = 352.
    assert (h.padding_left, h.padding_right) == (18, 352)
    with pytest.raises(ValueError, match=r"x.h5: ismrmrd_header has no encoding/reconSpace"):
        parse_header(KNEE_HEADER.replace(b"reconSpace", b"otherSpace"), source="x.h5")


def test_synthetic_files_have_the_fastmri_layout(data):
    sc, mc = read_volume(data["sc"][0]), read_volume(data["mc"][1])
    assert sc["kspace"].shape == (3, 32, 28) and sc["kspace"].dtype == np.complex64
    assert sc["reconstruction_esc"].shape == (3, 20, 20)
    assert sc["reconstruction_esc"].dtype == np.float32
    assert mc["kspace"].shape == (3, 4, 32, 28) and "reconstruction_esc" not in mc
    for v, key in ((sc, "reconstruction_esc"), (mc, "reconstruction_rss")):
        t = v[key]
        np.testing.assert_allclose(v["attrs"]["max"], t.max(), rtol=1e-6)
        np.testing.assert_allclose(v["attrs"]["norm"], np.linalg.norm(t), rtol=1e-5)
        assert v["attrs"]["acquisition"] in ("CORPD_FBK", "CORPDFS_FBK")
        assert len(v["attrs"]["patient_id"]) == 64
    h = mc["header"]
    assert h.encoding_size == (32, 28, 1) and h.recon_size == (20, 20, 1)
    assert (h.padding_left, h.padding_right) == (2, 26)
    # Un-acquired columns are zero, acquired ones are not.
    assert not np.any(mc["kspace"][..., :2]) and not np.any(mc["kspace"][..., 26:])
    assert np.all(np.abs(mc["kspace"][..., 2:26]).max(axis=(0, 1, 2)) > 0)


def test_targets_are_reconstructions_of_the_kspace(data):
    sc = read_volume(data["sc"][1])
    esc = crop(np.abs(np_ifft2c(sc["kspace"].astype(np.complex128))), (20, 20))
    np.testing.assert_allclose(sc["reconstruction_esc"], esc, rtol=1e-5, atol=1e-6 * esc.max())
    mc = read_volume(data["mc"][0])
    coil_images = np.abs(np_ifft2c(mc["kspace"].astype(np.complex128)))
    rss = crop(np.sqrt((coil_images**2).sum(1)), (20, 20))
    np.testing.assert_allclose(mc["reconstruction_rss"], rss, rtol=1e-5, atol=1e-6 * rss.max())


def test_coil_maps_are_normalised_so_rss_equals_the_single_coil_image(tmp_path):
    # Same seed: the same object; sum_c |S_c|^2 = 1 makes the RSS target equal |x|.
    a = read_volume(synthesize_dataset(tmp_path / "a", coils=1, **SMALL)[1])
    b = read_volume(synthesize_dataset(tmp_path / "b", coils=6, **SMALL)[1])
    t = a["reconstruction_esc"]
    np.testing.assert_allclose(b["reconstruction_rss"], t, rtol=1e-4, atol=1e-5 * t.max())


def test_synthesis_is_deterministic_and_atomic(data, tmp_path):
    again = synthesize_dataset(tmp_path / "sc", coils=1, **SMALL)
    for p, q in zip(data["sc"], again):
        with h5py.File(p) as f, h5py.File(q) as g:
            np.testing.assert_array_equal(f["kspace"][()], g["kspace"][()])
            assert f["ismrmrd_header"][()] == g["ismrmrd_header"][()]
    other = synthesize_dataset(tmp_path / "other", coils=1, **{**SMALL, "volumes": 2}, seed=1)
    with h5py.File(other[1]) as f, h5py.File(again[1]) as g:
        assert not np.array_equal(f["kspace"][()], g["kspace"][()])
    assert sorted(p.name for p in (tmp_path / "sc").iterdir()) == [
        "file1000001.h5",
        "file1000002.h5",
    ]
    with pytest.raises(FileExistsError, match=r"file1000001.h5: exists.*--overwrite"):
        synthesize_dataset(tmp_path / "sc", coils=1, **SMALL)
    with pytest.raises(ValueError, match=r"recon_size: expected 0 < h <= 32 and 0 < w <= 28"):
        synthesize_dataset(tmp_path / "bad", volumes=1, shape=(32, 28), recon_size=(40, 20))


def test_test_split_is_masked_with_the_file_name_seed(data):
    v = read_volume(data["test"][0])
    assert "reconstruction_rss" not in v and v["mask"].dtype == bool
    expected, nlf = mask_func("random", [0.08], [4]).sample(
        28, seed=seed_from_name("file1000001.h5")
    )
    expected[:2] = 0
    expected[26:] = 0
    np.testing.assert_array_equal(v["mask"], expected != 0)
    assert v["attrs"]["acceleration"] == 4 and v["attrs"]["num_low_frequency"] == nlf
    assert not np.any(v["kspace"][..., ~v["mask"]])
    # the test files are the masked validation files (same seed: same images)
    full = read_volume(data["val"][0])["kspace"]
    np.testing.assert_array_equal(v["kspace"][..., v["mask"]], full[..., v["mask"]])


def test_slice_dataset_reads_lazily_and_pickles(data):
    ds = SliceDataset(data["root"] / "mc", "multicoil")
    assert len(ds) == 6 and [v.name for v in ds.volumes] == ["file1000001.h5", "file1000002.h5"]
    item = ds[4]
    full = read_volume(data["mc"][1])
    np.testing.assert_array_equal(item["kspace"], full["kspace"][1])
    np.testing.assert_array_equal(item["target"], full["reconstruction_rss"][1])
    assert int(item["volume"]) == 1 and int(item["slice"]) == 1
    assert list(ds.volume_slices(1)) == [3, 4, 5]
    np.testing.assert_array_equal(ds[-1]["kspace"], full["kspace"][2])
    with pytest.raises(IndexError):
        ds[6]
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone[4]["kspace"], item["kspace"])


def test_slice_dataset_with_unet_transform_batches(data):
    from sciml.datasets import Loader

    t = UnetDataTransform("singlecoil", mask_func("random", [0.08], [4]))
    ds = SliceDataset(data["root"] / "sc", "singlecoil", t)
    spec = ds.element_spec
    assert spec["image"] == ((20, 20, 1), np.float32) and spec["target"] == (
        (20, 20, 1),
        np.float32,
    )
    batch = next(iter(Loader(ds, global_batch=4, seed=0, process_index=0, process_count=1)))
    assert batch["image"].shape == (4, 20, 20, 1) and batch["mean"].shape == (4,)


def test_acquisition_filter(data):
    ds = SliceDataset(data["root"] / "sc", "singlecoil", acquisition="CORPDFS_FBK")
    assert [v.name for v in ds.volumes] == ["file1000002.h5"]


def write(path, **datasets):
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f[k] = v
        f["ismrmrd_header"] = np.bytes_(KNEE_HEADER)
    return path


def test_bad_files_raise_one_line_errors(tmp_path, data):
    c = np.zeros((2, 8, 6), np.complex64)
    with pytest.raises(
        ValueError, match=r"no 'kspace' dataset \(found \['image', 'ismrmrd_header'\]\)"
    ):
        inspect_volume(write(tmp_path / "a.h5", image=np.zeros((2, 8, 6))))
    with pytest.raises(
        ValueError, match=r"kspace must be complex \(complex64\), found dtype float32"
    ):
        inspect_volume(write(tmp_path / "b.h5", kspace=np.zeros((2, 8, 6), np.float32)))
    with pytest.raises(ValueError, match=r"kspace must have rank 3 .* or 4 .*found shape \(8, 6\)"):
        inspect_volume(write(tmp_path / "c.h5", kspace=c[0]))
    with pytest.raises(ValueError, match=r"mask has shape \(7,\), expected \(6,\)"):
        inspect_volume(write(tmp_path / "d.h5", kspace=c, mask=np.ones(7, bool)))
    with pytest.raises(FileNotFoundError, match=r"nothere.h5: no such fastMRI file"):
        inspect_volume(tmp_path / "nothere.h5")
    with pytest.raises(ValueError, match=r"is multicoil data, but challenge is 'singlecoil'"):
        SliceDataset(data["root"] / "mc", "singlecoil")
    with pytest.raises(ValueError, match=r"challenge: expected one of singlecoil, multicoil"):
        SliceDataset(data["root"] / "mc", "both")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no .h5 files found"):
        SliceDataset(tmp_path / "empty", "singlecoil")


def test_validation_anatomy_never_appears_in_training(tmp_path):
    # Same seed for both splits (the worst case): no validation volume repeats a training one,
    # and the plain Shepp-Logan phantom (validation volume 0) is never a training volume.
    tiny = {"volumes": 4, "slices": 1, "shape": (16, 16), "recon_size": (12, 12), "seed": 3}
    train = [read_volume(p) for p in synthesize_dataset(tmp_path / "train", **tiny)]
    val = [read_volume(p) for p in synthesize_dataset(tmp_path / "val", split="val", **tiny)]
    assert val[0]["attrs"]["phantom"] == "shepp_logan"
    assert all(v["attrs"]["phantom"] != "shepp_logan" for v in train)
    for t in train:
        for v in val:
            a, b = t["reconstruction_esc"].ravel(), v["reconstruction_esc"].ravel()
            assert np.corrcoef(a, b)[0, 1] < 0.99
