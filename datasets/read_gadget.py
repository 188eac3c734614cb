"""Gadget-format HDF5 snapshots (Gadget-4, AREPO, SWIFT, Quijote) -> displacements on the Lagrangian grid.

A snapshot is one file ``snap_005.hdf5`` or several ``snap_005.0.hdf5``, ``snap_005.1.hdf5``, ...
with a group ``Header`` (attributes ``BoxSize``, ``NumPart_Total``, ``NumPart_ThisFile``,
``Redshift``, ``Omega0``, ``HubbleParam``; ``NumFilesPerSnapshot`` for split snapshots) and the
datasets ``PartType1/Coordinates`` (N, 3) and ``PartType1/ParticleIDs`` (N,).

Lengths are converted to Mpc/h with ``UnitLength_in_cm`` (``Header`` or ``Parameters``
attributes; 3.085678e21 = kpc/h, 3.085678e24 = Mpc/h). Files without it need
``length_unit="kpc/h"`` (Gadget's default) or ``"Mpc/h"``.

Lagrangian grid: the N = n^3 particle IDs must be unique and consecutive (any first ID, any order
in the file); the particle of rank r in ID order sits at grid index (i, j, k) = unravel(r, (n, n,
n)), C order, as N-GenIC / 2LPTic / MUSIC number them (i along x). The lattice offset (0 or half a
cell) is measured from the initial snapshot, so q = (i, j, k) box/n + offset, and a displacement
is the minimum image of x - q.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import h5py
import numpy as np

__all__ = ["GadgetSnapshot", "gadget_displacements", "read_gadget"]

_CM_PER_MPC = 3.085678e24
_UNITS = {"kpc/h": 1e-3, "Mpc/h": 1.0}


@dataclasses.dataclass(frozen=True)
class GadgetSnapshot:
    """Dark-matter particles of one snapshot, sorted by ID.

    positions: (N, 3) float64 in Mpc/h, wrapped into [0, box); ids: (N,) int64 ascending;
    box in Mpc/h; redshift, a = 1/(1+z); Omega0, HubbleParam from the header; files read.
    """

    positions: np.ndarray
    ids: np.ndarray
    box: float
    redshift: float
    a: float
    omega0: float
    hubble: float
    files: tuple[str, ...]


def _snapshot_files(path: Path) -> list[Path]:
    if path.is_file():
        m = re.match(r"^(.*)\.(\d+)\.hdf5$", path.name)
        if not m:
            return [path]
        stem = path.with_name(m.group(1))
    else:
        stem = path.with_suffix("") if path.suffix == ".hdf5" else path
        if Path(f"{stem}.hdf5").is_file():
            return [Path(f"{stem}.hdf5")]
    files = [Path(f"{stem}.0.hdf5")]
    if not files[0].is_file():
        raise FileNotFoundError(
            f"read_gadget: {path}: no such snapshot; expected snap_NNN.hdf5 or "
            f"snap_NNN.0.hdf5, snap_NNN.1.hdf5, ..."
        )
    with h5py.File(files[0], "r") as f:
        n_files = int(np.asarray(f["Header"].attrs.get("NumFilesPerSnapshot", 1)).ravel()[0])
    files = [Path(f"{stem}.{i}.hdf5") for i in range(n_files)]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"read_gadget: {files[0]}: Header NumFilesPerSnapshot = {n_files} but "
            f"{missing[0]} is missing; copy all {n_files} pieces next to each other"
        )
    return files


def _attr(f: h5py.File, name: str, file: Path, *, group: str = "Header"):
    g = f.get(group)
    if g is None or name not in g.attrs:
        raise ValueError(
            f"read_gadget: {file}: expected attribute {group}/{name}, found none; "
            "is this a Gadget-format HDF5 snapshot?"
        )
    return np.asarray(g.attrs[name])


def _unit_factor(f: h5py.File, file: Path, length_unit: str | None) -> float:
    if length_unit is not None:
        if length_unit not in _UNITS:
            raise ValueError(
                f"read_gadget: length_unit expected one of {tuple(_UNITS)}, found {length_unit!r}"
            )
        return _UNITS[length_unit]
    for group in ("Header", "Parameters", "Units"):
        g = f.get(group)
        if g is not None and "UnitLength_in_cm" in g.attrs:
            return float(np.asarray(g.attrs["UnitLength_in_cm"]).ravel()[0]) / _CM_PER_MPC
    raise ValueError(
        f"read_gadget: {file}: no UnitLength_in_cm in Header/Parameters/Units; pass "
        "length_unit='kpc/h' (Gadget default) or length_unit='Mpc/h'"
    )


def read_gadget(
    path: str | os.PathLike, *, part_type: int = 1, length_unit: str | None = None
) -> GadgetSnapshot:
    """Read the particles of type ``part_type`` of a (possibly split) snapshot, sorted by ID.

    ``path``: ``snap_005.hdf5``, ``snap_005.0.hdf5`` (any piece) or the stem ``snap_005``.
    Duplicate IDs are a one-line error; the count must equal ``Header/NumPart_Total``.
    """
    files = _snapshot_files(Path(path))
    pos, ids = [], []
    with h5py.File(files[0], "r") as f:
        box = float(_attr(f, "BoxSize", files[0]).ravel()[0])
        total = np.asarray(_attr(f, "NumPart_Total", files[0]), dtype=np.int64).ravel()
        high = f["Header"].attrs.get("NumPart_Total_HighWord")
        if high is not None:
            total = total + (np.asarray(high, dtype=np.int64).ravel() << 32)
        z = float(_attr(f, "Redshift", files[0]).ravel()[0])
        omega0 = float(_attr(f, "Omega0", files[0]).ravel()[0])
        hubble = float(_attr(f, "HubbleParam", files[0]).ravel()[0])
        unit = _unit_factor(f, files[0], length_unit)
    group = f"PartType{part_type}"
    for file in files:
        with h5py.File(file, "r") as f:
            for name in ("Coordinates", "ParticleIDs"):
                if not isinstance(f.get(f"{group}/{name}"), h5py.Dataset):
                    this = np.asarray(f["Header"].attrs.get("NumPart_ThisFile", [1] * 6)).ravel()
                    if part_type < len(this) and this[part_type] == 0:
                        break  # a piece without particles of this type may omit the group
                    raise ValueError(
                        f"read_gadget: {file}: expected dataset {group}/{name}, found none; "
                        f"pass part_type= for another particle type"
                    )
            else:
                p = np.asarray(f[f"{group}/Coordinates"], dtype=np.float64)
                i = np.asarray(f[f"{group}/ParticleIDs"]).astype(np.int64)
                if p.ndim != 2 or p.shape[1] != 3 or i.shape != (p.shape[0],):
                    raise ValueError(
                        f"read_gadget: {file}: expected {group}/Coordinates (N, 3) and "
                        f"ParticleIDs (N,), found {p.shape} and {i.shape}"
                    )
                pos.append(p)
                ids.append(i)
    pos_all = np.concatenate(pos) if pos else np.zeros((0, 3))
    ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    if part_type < len(total) and total[part_type] != len(ids_all):
        raise ValueError(
            f"read_gadget: {files[0]}: Header NumPart_Total[{part_type}] = {total[part_type]} but "
            f"{len(ids_all)} particles found in {len(files)} file(s); copy the missing pieces"
        )
    order = np.argsort(ids_all, kind="stable")
    ids_all, pos_all = ids_all[order], pos_all[order]
    dup = np.flatnonzero(ids_all[1:] == ids_all[:-1])
    if dup.size:
        raise ValueError(
            f"read_gadget: {files[0]}: expected unique ParticleIDs, found {dup.size} duplicates "
            f"(e.g. ID {ids_all[dup[0]]}); the snapshot is corrupt or mixes particle types"
        )
    box_mpc = box * unit
    return GadgetSnapshot(
        positions=np.mod(pos_all * unit, box_mpc),
        ids=ids_all,
        box=box_mpc,
        redshift=z,
        a=1.0 / (1.0 + z),
        omega0=omega0,
        hubble=hubble,
        files=tuple(str(p) for p in files),
    )


def _grid_side(snap: GadgetSnapshot, name: str) -> int:
    count = len(snap.ids)
    n = round(count ** (1 / 3))
    if n**3 != count or count == 0:
        lo, hi = max(n - 1, 1) ** 3, (n + 1) ** 3
        raise ValueError(
            f"gadget_displacements: {name} {snap.files[0]}: expected n^3 particles on a "
            f"Lagrangian grid, found {count} (not a cube; nearest {lo} or {n**3 if n**3 != count else hi})"
        )
    return n


def gadget_displacements(
    initial: str | os.PathLike | GadgetSnapshot,
    final: str | os.PathLike | GadgetSnapshot,
    *,
    part_type: int = 1,
    length_unit: str | None = None,
) -> dict[str, object]:
    """Displacement fields of a pair of snapshots on the Lagrangian grid.

    Returns ``{"initial": (n, n, n, 3), "final": (n, n, n, 3)}`` float32 displacements x - q in
    Mpc/h (minimum image), ``"q_offset"`` (3,) the lattice offset measured from ``initial``,
    ``"box"`` (Mpc/h), ``"n"``, ``"a_initial"``, ``"a_final"``. Errors (one line): IDs not
    consecutive, not a cube, different ID sets or boxes, an initial snapshot not on the ID grid.
    """
    snaps = [
        s
        if isinstance(s, GadgetSnapshot)
        else read_gadget(s, part_type=part_type, length_unit=length_unit)
        for s in (initial, final)
    ]
    n = _grid_side(snaps[0], "initial")
    for name, s in zip(("initial", "final"), snaps):
        steps = np.diff(s.ids)
        if steps.size and np.any(steps != 1):
            gap = int(np.flatnonzero(steps != 1)[0])
            raise ValueError(
                f"gadget_displacements: {name} {s.files[0]}: expected consecutive ParticleIDs "
                f"(one per grid point), found a gap after ID {s.ids[gap]} (next {s.ids[gap + 1]}); "
                "the IDs do not number a Lagrangian grid"
            )
    a, b = snaps
    if len(a.ids) != len(b.ids) or a.ids[0] != b.ids[0]:
        raise ValueError(
            f"gadget_displacements: expected the same particle IDs in both snapshots, found "
            f"{len(a.ids)} IDs from {a.ids[0]} in {a.files[0]} and {len(b.ids)} from {b.ids[0]} "
            f"in {b.files[0]}; pair snapshots of one simulation"
        )
    if not np.isclose(a.box, b.box, rtol=1e-6):
        raise ValueError(
            f"gadget_displacements: expected one box size, found {a.box} and {b.box} Mpc/h "
            f"({a.files[0]}, {b.files[0]}); check UnitLength_in_cm / length_unit"
        )
    box = a.box
    idx = np.indices((n, n, n)).reshape(3, -1).T.astype(np.float64) * (box / n)

    def min_image(d):
        return d - box * np.round(d / box)

    # lattice offset: the mean of x - (i, j, k) box/n over the initial snapshot (the mean
    # displacement, its k = 0 mode, is zero)
    offset = np.mean(min_image(a.positions - idx), axis=0)
    q = idx + offset
    d_init = min_image(a.positions - q)
    d_final = min_image(b.positions - q)
    rms = float(np.sqrt(np.mean(d_init**2)))
    if rms > box / 8:
        raise ValueError(
            f"gadget_displacements: initial {a.files[0]}: rms displacement {rms:.3g} Mpc/h from "
            f"the ID grid (box {box:g} Mpc/h); the IDs do not follow the C-order lattice "
            "(i along x) or this is not an early snapshot"
        )
    for name, d in (("initial", d_init), ("final", d_final)):
        if not np.isfinite(d).all():
            raise ValueError(f"gadget_displacements: {name}: NaN/Inf positions in the snapshot")
    return {
        "initial": d_init.reshape(n, n, n, 3).astype(np.float32),
        "final": d_final.reshape(n, n, n, 3).astype(np.float32),
        "q_offset": offset,
        "box": box,
        "n": n,
        "a_initial": a.a,
        "a_final": b.a,
    }
