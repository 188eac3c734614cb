"""Synthetic fastMRI volumes: phantoms, smooth coil maps, files in the fastMRI format.

Everything downstream (readers, transforms, training, evaluation) runs on these files without
the licensed data set. Per volume and slice:

1. a magnitude image from a 3-D phantom cut at the slice position: the modified Shepp-Logan
   phantom (Toft's contrast-enhanced intensities) or random ellipsoids, each multiplied by a
   smooth random texture, scaled to fill the recon field of view (the central ``recon_size``
   of the ``(H, W)`` image, as fastMRI's 2x read-out oversampling leaves the object in the
   centre);
2. a smooth random phase, ``x = m exp(i phi)``;
3. coil images ``S_c x`` through smooth Gaussian-profile sensitivities ``S_c`` normalised so
   that ``sum_c |S_c|^2 = 1`` (single-coil data uses ``x`` itself);
4. k-space ``y_c = fft2c(S_c x)`` (centred orthonormal FFT) plus optional complex Gaussian noise,
   zeroed outside the acquired phase-encode columns ``[padding, W - padding)``;
5. the target from that k-space, as in the real data: ``reconstruction_esc = |ifft2c(y)|``
   (single-coil) or ``reconstruction_rss = sqrt(sum_c |ifft2c(y_c)|^2)`` (multi-coil), centre-
   cropped to ``recon_size``.

Volume ``i`` depends only on ``(seed, i, split is train)``, so ``--split val`` and ``--split test``
with the same seed hold the same images: the validation files are the ground truth of the test
files. Volume 0 of a validation/test split is the plain Shepp-Logan phantom (a recognisable
figure); training splits never contain it (their volumes are jittered Shepp-Logan or random
ellipsoids), so validation anatomy never appears in training.
"""

from __future__ import annotations

import hashlib
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from sciml.atomic import atomic_path, ensure_free_space
from sciml.mri.io import ISMRMRD_NAMESPACE
from sciml.mri.masks import (
    FASTMRI_ACCELERATIONS,
    FASTMRI_CENTER_FRACTIONS,
    mask_func,
    seed_from_name,
)

ACQUISITIONS = {
    "knee": ("CORPD_FBK", "CORPDFS_FBK"),
    "brain": ("AXT1", "AXT1PRE", "AXT1POST", "AXT2", "AXFLAIR"),
}
DEFAULT_MASKS = {"knee": "random", "brain": "equispaced_fraction"}
SPLITS = ("train", "val", "test")

# Modified Shepp-Logan (Toft 1996): intensity, semi-axes (a along x, b along y), centre
# (x0, y0), rotation in degrees; plus a z semi-axis used to cut 3-D ellipsoids into slices.
SHEPP_LOGAN = np.array(
    [
        [1.0, 0.69, 0.92, 0.0, 0.0, 0.0, 1.2],
        [-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0, 1.15],
        [-0.2, 0.11, 0.31, 0.22, 0.0, -18.0, 0.6],
        [-0.2, 0.16, 0.41, -0.22, 0.0, 18.0, 0.7],
        [0.1, 0.21, 0.25, 0.0, 0.35, 0.0, 0.5],
        [0.1, 0.046, 0.046, 0.0, 0.1, 0.0, 0.3],
        [0.1, 0.046, 0.046, 0.0, -0.1, 0.0, 0.3],
        [0.1, 0.046, 0.023, -0.08, -0.605, 0.0, 0.3],
        [0.1, 0.023, 0.023, 0.0, -0.606, 0.0, 0.3],
        [0.1, 0.023, 0.046, 0.06, -0.605, 0.0, 0.3],
    ]
)


def recon_coordinates(
    shape: Sequence[int], recon_size: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Grids ``(y, x)`` of shape ``(H, W)``: the centre crop ``recon_size`` spans ``[-1, 1]``.

    ``y`` points up (row 0 is the top of the image), ``x`` to the right.
    """
    H, W = shape
    rh, rw = recon_size
    cy = (H - rh) // 2 + (rh - 1) / 2
    cx = (W - rw) // 2 + (rw - 1) / 2
    y = -(np.arange(H) - cy) / (rh / 2)
    x = (np.arange(W) - cx) / (rw / 2)
    return np.meshgrid(y, x, indexing="ij")


def ellipses_image(ellipses: np.ndarray, y: np.ndarray, x: np.ndarray, z: float) -> np.ndarray:
    """Sum of ellipsoid cross-sections at height ``z``.

    Args:
      ellipses: ``(n, 7)`` rows ``(intensity, a, b, x0, y0, degrees, c)``; ellipsoid ``k`` is
        centred at ``z = 0`` with z semi-axis ``c``, so its cut at ``z`` is the ellipse scaled by
        ``sqrt(1 - (z / c)^2)``.
      y, x: coordinate grids ``(H, W)``.
    Returns:
      ``(H, W)`` float64 image.
    """
    image = np.zeros_like(x)
    for value, a, b, x0, y0, degrees, c in ellipses:
        s2 = 1.0 - (z / c) ** 2
        if s2 <= 0:
            continue
        s = np.sqrt(s2)
        t = np.deg2rad(degrees)
        xr = (x - x0) * np.cos(t) + (y - y0) * np.sin(t)
        yr = -(x - x0) * np.sin(t) + (y - y0) * np.cos(t)
        image += value * (((xr / (a * s)) ** 2 + (yr / (b * s)) ** 2) <= 1.0)
    return image


def shepp_logan(shape: Sequence[int], recon_size: Sequence[int] | None = None) -> np.ndarray:
    """The modified Shepp-Logan phantom ``(H, W)`` filling ``recon_size`` (default: all)."""
    recon_size = tuple(shape) if recon_size is None else recon_size
    y, x = recon_coordinates(shape, recon_size)
    return ellipses_image(SHEPP_LOGAN, y, x, 0.0)


def random_ellipses(rng: np.random.Generator) -> np.ndarray:
    """A random phantom: a body ellipsoid holding 4-9 inner ellipsoids, rows as
    :func:`ellipses_image` expects."""
    body = [
        rng.uniform(0.7, 1.0),
        rng.uniform(0.6, 0.85),
        rng.uniform(0.7, 0.92),
        rng.uniform(-0.04, 0.04),
        rng.uniform(-0.04, 0.04),
        rng.uniform(-15, 15),
        1.3,
    ]
    rows = [body]
    for _ in range(rng.integers(4, 10)):
        r, phi = 0.55 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        rows.append(
            [
                rng.uniform(-0.45, 0.5),
                rng.uniform(0.05, 0.3),
                rng.uniform(0.05, 0.3),
                r * np.cos(phi) * body[1],
                r * np.sin(phi) * body[2],
                rng.uniform(-90, 90),
                rng.uniform(0.4, 1.2),
            ]
        )
    return np.asarray(rows)


def smooth_field(rng: np.random.Generator, shape: Sequence[int], sigma: Sequence[float]):
    """Zero-mean, unit-std Gaussian-filtered white noise (periodic boundaries)."""
    field = ndimage.gaussian_filter(rng.standard_normal(tuple(shape)), sigma, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-12)


def coil_sensitivities(
    num_coils: int, y: np.ndarray, x: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Smooth coil maps ``(coils, H, W)`` complex128 with ``sum_c |S_c|^2 = 1`` everywhere.

    Coil ``c`` sits on a ring of radius 1.3 at angle ``2 pi c / C + theta0``; its magnitude is a
    Gaussian of width 0.9 around it and its phase a linear ramp plus a random constant.
    """
    theta0 = rng.uniform(0, 2 * np.pi)
    maps = []
    for c in range(num_coils):
        angle = theta0 + 2 * np.pi * c / num_coils
        xc, yc = 1.3 * np.cos(angle), 1.3 * np.sin(angle)
        magnitude = np.exp(-((x - xc) ** 2 + (y - yc) ** 2) / (2 * 0.9**2))
        phase = rng.uniform(0, 2 * np.pi) + 0.6 * (x * np.cos(angle) + y * np.sin(angle))
        maps.append(magnitude * np.exp(1j * phase))
    maps = np.stack(maps)
    return maps / np.sqrt(np.sum(np.abs(maps) ** 2, axis=0, keepdims=True))


def _fft2c(x: np.ndarray) -> np.ndarray:
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def _ifft2c(x: np.ndarray) -> np.ndarray:
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def _crop(x: np.ndarray, size: Sequence[int]) -> np.ndarray:
    H, W = x.shape[-2:]
    top, left = (H - size[0]) // 2, (W - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


def make_header(
    shape: Sequence[int], recon_size: Sequence[int], padding: int, num_slices: int
) -> bytes:
    """The ISMRMRD XML header of a volume whose acquired columns are ``[padding, W - padding)``."""
    H, W = shape
    rh, rw = recon_size
    acquired = W - 2 * padding
    ns = ISMRMRD_NAMESPACE
    ET.register_namespace("", ns)

    def sub(parent, tag, text=None):
        node = ET.SubElement(parent, f"{{{ns}}}{tag}")
        if text is not None:
            node.text = str(text)
        return node

    root = ET.Element(f"{{{ns}}}ismrmrdHeader")
    encoding = sub(root, "encoding")
    for space, (sx, sy) in (("encodedSpace", (H, W)), ("reconSpace", (rh, rw))):
        node = sub(encoding, space)
        matrix = sub(node, "matrixSize")
        for axis, value in zip("xyz", (sx, sy, 1)):
            sub(matrix, axis, value)
        fov = sub(node, "fieldOfView_mm")
        for axis, value in zip("xyz", (140.0 * sx / rh, 140.0 * sy / rw, 3.0)):
            sub(fov, axis, f"{value:.4f}")
    limits = sub(encoding, "encodingLimits")
    for name, (lo, hi, centre) in (
        ("kspace_encoding_step_1", (0, acquired - 1, W // 2 - padding)),
        ("kspace_encoding_step_2", (0, 0, 0)),
        ("slice", (0, num_slices - 1, 0)),
    ):
        node = sub(limits, name)
        sub(node, "minimum", lo)
        sub(node, "maximum", hi)
        sub(node, "center", centre)
    sub(encoding, "trajectory", "cartesian")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def synthesize_volume(
    rng: np.random.Generator,
    *,
    shape: Sequence[int],
    recon_size: Sequence[int],
    slices: int,
    coils: int,
    phantom: str,
    padding: int = 0,
    noise: float = 0.0,
    scale: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """One volume: k-space and target.

    Args:
      rng: the volume's generator.
      shape: ``(H, W)`` k-space size; recon_size: ``(h, w)`` target size.
      slices: number of slices; coils: 1 = single-coil (ESC-like) data, > 1 multi-coil.
      phantom: ``"shepp_logan"``, ``"shepp_logan_jitter"`` or ``"ellipses"``.
      padding: un-acquired (zero) phase-encode columns on each side.
      noise: complex Gaussian noise std in k-space, relative to ``scale``.
      scale: peak magnitude of the phantom (fastMRI knee targets peak near 1e-4).

    Returns:
      ``(kspace, target)``: complex64 ``(slices, H, W)`` or ``(slices, coils, H, W)``, and
      float32 ``(slices, h, w)``.
    """
    H, W = shape
    y, x = recon_coordinates(shape, recon_size)
    if phantom == "shepp_logan":
        ellipses = SHEPP_LOGAN
    elif phantom == "shepp_logan_jitter":
        ellipses = SHEPP_LOGAN.copy()
        ellipses[:, 0] *= rng.uniform(0.8, 1.2, len(ellipses))
        ellipses[2:, 3:5] += rng.uniform(-0.03, 0.03, (len(ellipses) - 2, 2))
        ellipses[:, 5] += rng.uniform(-10, 10)
    elif phantom == "ellipses":
        ellipses = random_ellipses(rng)
    else:
        raise ValueError(
            f"phantom: expected shepp_logan, shepp_logan_jitter or ellipses, found {phantom!r}"
        )
    zs = np.linspace(-0.5, 0.5, slices) if slices > 1 else np.zeros(1)
    texture = smooth_field(rng, (slices, H, W), (max(slices / 6, 0.5), H / 24, W / 24))
    phase = smooth_field(rng, (slices, H, W), (max(slices / 3, 0.5), H / 8, W / 8))
    ramp = rng.uniform(-1.0, 1.0, 2)
    maps = coil_sensitivities(coils, y, x, rng) if coils > 1 else None
    kspace = np.zeros((slices, coils, H, W) if coils > 1 else (slices, H, W), np.complex64)
    target = np.zeros((slices, *recon_size), np.float32)
    acquired = np.zeros(W, bool)
    acquired[padding : W - padding] = True
    for s, z in enumerate(zs):
        magnitude = np.clip(ellipses_image(ellipses, y, x, z), 0.0, None)
        magnitude *= np.clip(1.0 + 0.12 * texture[s], 0.5, 1.5)
        image = scale * magnitude * np.exp(1j * (0.8 * phase[s] + ramp[0] * x + ramp[1] * y))
        coil_images = image[None] * maps if maps is not None else image
        k = _fft2c(coil_images)
        if noise > 0:
            k = k + noise * scale * (
                rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape)
            ) / np.sqrt(2)
        k = np.where(acquired, k, 0).astype(np.complex64)
        kspace[s] = k
        recon = np.abs(_ifft2c(k.astype(np.complex128)))
        if maps is not None:
            recon = np.sqrt(np.sum(recon**2, axis=0))
        target[s] = _crop(recon, recon_size)
    return kspace, target


def _write_atomic(path: Path, datasets: dict[str, np.ndarray], attrs: dict, header: bytes) -> None:
    ensure_free_space(path, sum(np.asarray(v).nbytes for v in datasets.values()) + len(header))
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        for key, value in datasets.items():
            f.create_dataset(key, data=value)
        f.create_dataset("ismrmrd_header", data=np.bytes_(header))
        for key, value in attrs.items():
            f.attrs[key] = value


def synthesize_dataset(
    out_dir: str | os.PathLike,
    *,
    volumes: int = 4,
    coils: int = 1,
    slices: int = 8,
    shape: Sequence[int] = (128, 128),
    recon_size: Sequence[int] = (96, 96),
    seed: int = 0,
    anatomy: str = "knee",
    split: str = "train",
    mask: str | None = None,
    acceleration: float = FASTMRI_ACCELERATIONS[0],
    center_fraction: float = FASTMRI_CENTER_FRACTIONS[0],
    padding: int = 0,
    noise: float = 0.0,
    scale: float = 1e-4,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``volumes`` fastMRI-format files ``file1000001.h5, ...`` into ``out_dir``.

    ``split="train"``/``"val"``: full k-space plus the target (``reconstruction_esc`` for
    ``coils == 1``, ``reconstruction_rss`` otherwise) and attributes ``max``, ``norm``,
    ``acquisition``, ``patient_id``. ``split="test"``: k-space under-sampled by a ``mask`` mask
    (default: random for knee, equispaced_fraction for brain) seeded by the file name, the
    1-D ``mask`` dataset and attributes ``acceleration``, ``num_low_frequency``; no target.
    The real knee size is ``shape=(640, 368), recon_size=(320, 320)``. Returns the paths.
    """
    H, W = (int(s) for s in shape)
    rh, rw = (int(s) for s in recon_size)
    checks = [
        (volumes >= 1, f"volumes: expected >= 1, found {volumes}"),
        (coils >= 1, f"coils: expected >= 1 (1 = single-coil), found {coils}"),
        (slices >= 1, f"slices: expected >= 1, found {slices}"),
        (H >= 8 and W >= 8, f"shape: expected H, W >= 8, found ({H}, {W})"),
        (
            0 < rh <= H and 0 < rw <= W,
            f"recon_size: expected 0 < h <= {H} and 0 < w <= {W}, found ({rh}, {rw}); the target "
            "is a centre crop of the image",
        ),
        (0 <= 2 * padding < W // 2, f"padding: expected 0 <= padding < {W // 4}, found {padding}"),
        (anatomy in ACQUISITIONS, f"anatomy: expected knee or brain, found {anatomy!r}"),
        (split in SPLITS, f"split: expected one of {', '.join(SPLITS)}, found {split!r}"),
        (noise >= 0, f"noise: expected >= 0, found {noise}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"file{1000001 + i}.h5" for i in range(volumes)]
    # The whole request against the free disk, before any volume is computed.
    per_volume = slices * (coils * H * W * 8 + rh * rw * 4) + 2**16
    ensure_free_space(
        out_dir / names[0], volumes * per_volume, what=f"--out {out_dir} ({volumes} volumes)"
    )
    if not overwrite:
        existing = [n for n in names if (out_dir / n).exists()]
        if existing:
            raise FileExistsError(
                f"{out_dir / existing[0]}: exists ({len(existing)} of the {volumes} files); pass "
                "--overwrite or choose another --out"
            )
    masker = None
    if split == "test":
        masker = mask_func(mask or DEFAULT_MASKS[anatomy], [center_fraction], [acceleration])
    paths = []
    for i in tqdm(range(volumes), desc="synthesize", disable=not sys.stderr.isatty()):
        # Training volumes draw from their own stream: with the same seed, a validation set never
        # repeats a training anatomy (val and test share theirs: val is the test ground truth).
        rng = np.random.default_rng([seed, i, 0 if split == "train" else 1])
        if i == 0 and split != "train":
            # The plain phantom is a held-out anatomy: shown in validation/test, never trained on.
            phantom = "shepp_logan"
        else:
            phantom = "shepp_logan_jitter" if rng.uniform() < 0.25 else "ellipses"
        kspace, target = synthesize_volume(
            rng,
            shape=(H, W),
            recon_size=(rh, rw),
            slices=slices,
            coils=coils,
            phantom=phantom,
            padding=padding,
            noise=noise,
            scale=scale,
        )
        acquisitions = ACQUISITIONS[anatomy]
        attrs = {
            "acquisition": acquisitions[i % len(acquisitions)],
            "patient_id": hashlib.sha256(f"sciml-{seed}-{i}".encode()).hexdigest(),
            "phantom": phantom,
        }
        if split == "test":
            m, nlf = masker.sample(W, seed=seed_from_name(names[i]))
            m[:padding] = 0.0
            m[W - padding :] = 0.0
            kspace = np.where(m != 0, kspace, 0).astype(np.complex64)
            datasets = {"kspace": kspace, "mask": m != 0}
            attrs.update(acceleration=acceleration, num_low_frequency=nlf)
        else:
            key = "reconstruction_esc" if coils == 1 else "reconstruction_rss"
            datasets = {"kspace": kspace, key: target}
            attrs.update(max=float(target.max()), norm=float(np.linalg.norm(target)))
        header = make_header((H, W), (rh, rw), padding, slices)
        path = out_dir / names[i]
        _write_atomic(path, datasets, attrs, header)
        paths.append(path)
    return paths
