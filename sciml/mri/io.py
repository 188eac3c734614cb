"""Reading fastMRI HDF5 volumes and a lazy slice-level dataset over them.

A fastMRI file holds one volume:

- ``kspace``: complex64 ``(slices, H, W)`` single-coil or ``(slices, coils, H, W)`` multi-coil,
  ``H`` the read-out axis, ``W`` the phase-encode axis;
- targets ``reconstruction_esc`` (single-coil) and/or ``reconstruction_rss`` (multi-coil),
  float32 ``(slices, h, w)`` (absent in test files);
- test files: a 1-D ``mask`` of length ``W`` and attributes ``acceleration``,
  ``num_low_frequency``;
- ``ismrmrd_header``: XML (namespace ``http://www.ismrm.org/ISMRMRD``) with the encoded and
  recon matrix sizes and the phase-encode encoding limits;
- attributes ``acquisition``, ``max``, ``norm``, ``patient_id``.

:class:`SliceDataset` lists the volumes once (shapes and header only) and reads slices on
demand, so memory does not grow with the data.
"""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml.errors import reading

ISMRMRD_NAMESPACE = "http://www.ismrm.org/ISMRMRD"
RECONS_KEYS = {"singlecoil": "reconstruction_esc", "multicoil": "reconstruction_rss"}
TARGET_KEYS = ("reconstruction_esc", "reconstruction_rss")


@dataclasses.dataclass(frozen=True)
class MRIHeader:
    """The ``ismrmrd_header`` fields that the transforms need.

    Attributes:
      encoding_size: ``encoding/encodedSpace/matrixSize`` ``(x, y, z)``; ``y`` is the
        phase-encode size ``W``.
      recon_size: ``encoding/reconSpace/matrixSize`` ``(x, y, z)`` (320 x 320 for the knee).
      limits_center: ``encodingLimits/kspace_encoding_step_1/center``.
      limits_maximum: ``encodingLimits/kspace_encoding_step_1/maximum``.
    """

    encoding_size: tuple[int, int, int]
    recon_size: tuple[int, int, int]
    limits_center: int
    limits_maximum: int

    @property
    def padding_left(self) -> int:
        """First acquired phase-encode column: ``enc_y // 2 - center``."""
        return self.encoding_size[1] // 2 - self.limits_center

    @property
    def padding_right(self) -> int:
        """One past the last acquired column: ``padding_left + maximum + 1``."""
        return self.padding_left + self.limits_maximum + 1

    def metadata(self) -> dict[str, Any]:
        """The reference's per-volume metadata dict (merged into the file attributes)."""
        return {
            "padding_left": self.padding_left,
            "padding_right": self.padding_right,
            "encoding_size": self.encoding_size,
            "recon_size": self.recon_size,
        }


def parse_header(xml: bytes | str, *, source: str = "ismrmrd_header") -> MRIHeader:
    """Parse the ISMRMRD XML header; ``source`` names the file in error messages."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise ValueError(f"{source}: ismrmrd_header is not valid XML ({err})") from None

    def query(*path: str) -> int:
        expr = "/".join(f"ns:{p}" for p in path)
        node = root.find(expr, {"ns": ISMRMRD_NAMESPACE})
        if node is None or node.text is None:
            raise ValueError(
                f"{source}: ismrmrd_header has no {'/'.join(path)} (namespace "
                f"{ISMRMRD_NAMESPACE}); the file is not a fastMRI volume"
            )
        return int(float(node.text))

    enc = ("encoding", "encodedSpace", "matrixSize")
    rec = ("encoding", "reconSpace", "matrixSize")
    lims = ("encoding", "encodingLimits", "kspace_encoding_step_1")
    return MRIHeader(
        encoding_size=tuple(query(*enc, a) for a in "xyz"),
        recon_size=tuple(query(*rec, a) for a in "xyz"),
        limits_center=query(*lims, "center"),
        limits_maximum=query(*lims, "maximum"),
    )


@dataclasses.dataclass(frozen=True)
class VolumeInfo:
    """What one file holds, read without loading any array.

    Attributes:
      path: the file.
      kspace_shape: ``(slices, H, W)`` or ``(slices, coils, H, W)``.
      multicoil: ``kspace`` has a coil axis.
      targets: names of the target datasets present (``reconstruction_esc``/``_rss``).
      has_mask: the file carries its own ``mask`` (test data).
      attrs: the file attributes (``acquisition``, ``max``, ``norm``, ``patient_id``, ...).
      header: the parsed ``ismrmrd_header``.
    """

    path: Path
    kspace_shape: tuple[int, ...]
    multicoil: bool
    targets: tuple[str, ...]
    has_mask: bool
    attrs: dict[str, Any]
    header: MRIHeader

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def num_slices(self) -> int:
        return self.kspace_shape[0]

    def metadata(self) -> dict[str, Any]:
        """File attributes merged with the header fields, as the transforms receive them."""
        return {**self.attrs, **self.header.metadata()}


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_volume(f: h5py.File, source: str) -> tuple[tuple[int, ...], bool]:
    if "kspace" not in f:
        raise ValueError(
            f"{source}: no 'kspace' dataset (found {sorted(f.keys())}); expected a fastMRI volume "
            "with kspace (slices, [coils,] H, W)"
        )
    ks = f["kspace"]
    if not np.issubdtype(ks.dtype, np.complexfloating):
        raise ValueError(
            f"{source}: kspace must be complex (complex64), found dtype {ks.dtype}; store "
            "real-pair data as real + 1j * imag"
        )
    if ks.ndim not in (3, 4):
        raise ValueError(
            f"{source}: kspace must have rank 3 (slices, H, W) or 4 (slices, coils, H, W), "
            f"found shape {ks.shape}"
        )
    if "mask" in f and f["mask"].shape != (ks.shape[-1],):
        raise ValueError(
            f"{source}: mask has shape {f['mask'].shape}, expected ({ks.shape[-1]},) = the "
            f"phase-encode axis W of kspace {ks.shape}"
        )
    for key in TARGET_KEYS:
        if key in f and f[key].shape[0] != ks.shape[0]:
            raise ValueError(
                f"{source}: {key} has {f[key].shape[0]} slices, kspace {ks.shape[0]}; the "
                "file is inconsistent"
            )
    return tuple(ks.shape), ks.ndim == 4


def inspect_volume(path: str | os.PathLike) -> VolumeInfo:
    """Check a fastMRI file and read its shapes, attributes and header (no arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such fastMRI file")
    with reading(path, what="fastMRI HDF5 file"), h5py.File(path, "r") as f:
        shape, multicoil = _check_volume(f, str(path))
        if "ismrmrd_header" not in f:
            raise ValueError(
                f"{path}: no 'ismrmrd_header' dataset; fastMRI volumes carry the ISMRMRD XML "
                "header (write synthetic files with `sciml mri synthesize`)"
            )
        header = parse_header(f["ismrmrd_header"][()], source=str(path))
        return VolumeInfo(
            path=path,
            kspace_shape=shape,
            multicoil=multicoil,
            targets=tuple(k for k in TARGET_KEYS if k in f),
            has_mask="mask" in f,
            attrs={k: _attr(v) for k, v in f.attrs.items()},
            header=header,
        )


def read_volume(path: str | os.PathLike) -> dict[str, Any]:
    """Load a whole volume: ``kspace``, targets, ``mask`` (if any), ``attrs`` and ``header``."""
    info = inspect_volume(path)
    out: dict[str, Any] = {"attrs": info.attrs, "header": info.header}
    with reading(info.path, what="fastMRI HDF5 file"), h5py.File(info.path, "r") as f:
        out["kspace"] = f["kspace"][()]
        for key in (*info.targets, "mask"):
            if key in f:
                out[key] = f[key][()]
    return out


def list_volumes(root: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The ``*.h5`` files of a directory (sorted), or the given list of files."""
    if isinstance(root, str | os.PathLike):
        root = Path(root)
        if root.is_dir():
            files = sorted(root.glob("*.h5"))
            if not files:
                raise ValueError(f"{root}: no .h5 files found; expected fastMRI volumes")
            return files
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or directory")
        return [root]
    return [Path(p) for p in root]


class SliceDataset:
    """Random-access slices of fastMRI volumes: ``len()`` and ``ds[i] -> dict of arrays``.

    Volumes are inspected once at construction; each item opens its file and reads one slice
    (k-space, target, mask), so memory stays flat and the object pickles (only paths and
    metadata are stored). With one of the transforms of :mod:`sciml.mri.transforms` every item
    has the same shapes when all volumes do, so :class:`sciml.datasets.Loader` can batch it.

    Args:
      root: a directory of ``.h5`` volumes, one file, or a list of files.
      challenge: ``"singlecoil"`` (reads ``reconstruction_esc``) or ``"multicoil"``
        (``reconstruction_rss``); the k-space rank must agree.
      transform: ``transform(kspace, mask, target, attrs, fname, slice_num) -> dict`` (e.g.
        :class:`~sciml.mri.transforms.UnetDataTransform`); ``None`` returns the raw slice
        (``kspace`` and, when present, ``target`` and ``mask``).
      acquisition: keep only volumes whose ``acquisition`` attribute is one of these.

    Every item also carries ``volume`` (index into :attr:`volumes`) and ``slice`` (int32).
    """

    def __init__(
        self,
        root: str | os.PathLike | Sequence[str | os.PathLike],
        challenge: str,
        transform: Callable[..., dict[str, np.ndarray]] | None = None,
        *,
        acquisition: str | Sequence[str] | None = None,
    ) -> None:
        if challenge not in RECONS_KEYS:
            raise ValueError(
                f"challenge: expected one of {', '.join(RECONS_KEYS)}, found {challenge!r}"
            )
        self.challenge = challenge
        self.recons_key = RECONS_KEYS[challenge]
        self.transform = transform
        if isinstance(acquisition, str):
            acquisition = (acquisition,)
        volumes = []
        for path in list_volumes(root):
            info = inspect_volume(path)
            if info.multicoil != (challenge == "multicoil"):
                other = "multicoil" if info.multicoil else "singlecoil"
                raise ValueError(
                    f"{path}: kspace {info.kspace_shape} is {other} data, but challenge is "
                    f"{challenge!r}; pass challenge={other!r}"
                )
            if acquisition is not None and info.attrs.get("acquisition") not in acquisition:
                continue
            volumes.append(info)
        if not volumes:
            raise ValueError(
                f"{root}: no volumes left (acquisition filter {acquisition}); check the directory "
                "and the filter"
            )
        self.volumes: list[VolumeInfo] = volumes
        self._index = [(v, s) for v, info in enumerate(volumes) for s in range(info.num_slices)]
        self._element_spec: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        n = len(self._index)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"SliceDataset index {i} out of range for {n} slices")
        v, s = self._index[i]
        info = self.volumes[v]
        with (
            reading(info.path, what=f"fastMRI HDF5 file (slice {s})"),
            h5py.File(info.path, "r") as f,
        ):
            kspace = f["kspace"][s]
            mask = f["mask"][()] if info.has_mask else None
            target = f[self.recons_key][s] if self.recons_key in info.targets else None
        if self.transform is None:
            item = {"kspace": kspace}
            if target is not None:
                item["target"] = target
            if mask is not None:
                item["mask"] = np.asarray(mask)
        else:
            item = dict(self.transform(kspace, mask, target, info.metadata(), info.name, s))
        item["volume"] = np.asarray(v, dtype=np.int32)
        item["slice"] = np.asarray(s, dtype=np.int32)
        return item

    @property
    def element_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``{key: (shape, dtype)}`` of one item (read from the first slice)."""
        if self._element_spec is None:
            item = self[0]
            self._element_spec = {k: (np.shape(a), np.asarray(a).dtype) for k, a in item.items()}
        return self._element_spec

    def volume_slices(self, volume: int) -> range:
        """Dataset indices of the slices of volume ``volume`` (for per-volume evaluation)."""
        start = sum(info.num_slices for info in self.volumes[:volume])
        return range(start, start + self.volumes[volume].num_slices)
