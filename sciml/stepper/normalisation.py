"""A learned stepper's normalisation: per-channel statistics of the states and of their rates.

``G`` sees ``(z - state_mean) / state_std`` and its output is scaled back to a physical tendency
``dz/dt = tendency_std * G + tendency_mean`` (units: state units per time unit). The statistics
are computed by the same streaming code as the training loop's (``sciml.datasets.compute_stats``:
float64, population std) and stored in the loop's format, one JSON file per quantity in the
run's ``stats/`` folder::

    RUN_DIR/stats/state.json      {"mean": [C], "std": [C], "count": N, "data_hash": "..."}
    RUN_DIR/stats/tendency.json   the same for (z_{n+1} - z_n) / dt

so a run's ``config.yaml`` names that folder (``model.kwargs.stats_dir``) instead of repeating
the numbers, and :func:`sciml.train.restore_model` rebuilds the stepper from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_TINY = 1e-12  # floor of a standard deviation (a constant channel)
FIELDS = ("state_mean", "state_std", "tendency_mean", "tendency_std")


def _floats(v: Any) -> tuple[float, ...] | None:
    return None if v is None else tuple(float(x) for x in np.atleast_1d(np.asarray(v)).ravel())


@dataclass(frozen=True)
class Normalisation:
    """Per-channel statistics ``(C,)`` of a stepper's states and tendencies, and their provenance.

    Attributes:
      state_mean, state_std: of the fields (state units); ``None``: 0 and 1.
      tendency_mean, tendency_std: of the rates ``dz/dt`` (state units per time unit).
      data_hash: hash of the data they were computed on (exported with the weights).
    """

    state_mean: tuple[float, ...] | None = None
    state_std: tuple[float, ...] | None = None
    tendency_mean: tuple[float, ...] | None = None
    tendency_std: tuple[float, ...] | None = None
    data_hash: str = field(default="")

    def __post_init__(self) -> None:
        for name in FIELDS:
            object.__setattr__(self, name, _floats(getattr(self, name)))
        for name in ("state_std", "tendency_std"):
            v = getattr(self, name)
            if v is not None and not all(np.isfinite(x) and x > 0 for x in v):
                raise ValueError(f"{name}: expected finite values > 0, found {list(v)}")

    @classmethod
    def from_trajectories(
        cls, data: np.ndarray, dt: float, *, data_hash: str = ""
    ) -> Normalisation:
        """Statistics of trajectories ``(sample, time, *spatial, C)`` frames ``dt`` apart."""
        from sciml.datasets import ArraySource, compute_stats

        d = np.asarray(data, np.float64)
        if d.ndim < 3 or d.shape[1] < 2:
            raise ValueError(
                f"data: expected trajectories (sample, time >= 2, *spatial, C), found {d.shape}"
            )
        states = d.reshape(-1, *d.shape[2:])
        rates = ((d[:, 1:] - d[:, :-1]) / dt).reshape(-1, *d.shape[2:])
        s = compute_stats(ArraySource({"state": states}), "state")
        t = compute_stats(ArraySource({"tendency": rates}), "tendency")
        return cls(
            state_mean=s["mean"],
            state_std=np.maximum(s["std"], _TINY),
            tendency_mean=t["mean"],
            tendency_std=np.maximum(t["std"], _TINY),
            data_hash=data_hash,
        )

    @classmethod
    def load(cls, stats_dir: str | os.PathLike) -> Normalisation:
        """Read ``stats_dir/state.json`` and ``stats_dir/tendency.json`` (the loop's format)."""
        from sciml.datasets import load_stats

        stats_dir = Path(stats_dir)
        s = load_stats(stats_dir / "state.json")
        t = load_stats(stats_dir / "tendency.json")
        return cls(s["mean"], s["std"], t["mean"], t["std"], str(s.get("data_hash", "")))

    def save(self, stats_dir: str | os.PathLike, *, count: int = 0) -> Path:
        """Write the two JSON files of :meth:`load` atomically; returns ``stats_dir``."""
        from sciml.datasets import save_stats

        stats_dir = Path(stats_dir)
        for name in ("state", "tendency"):
            mean, std = getattr(self, f"{name}_mean"), getattr(self, f"{name}_std")
            if mean is None or std is None:
                raise ValueError(
                    f"Normalisation.save: {name}_mean/std are not set; nothing to save"
                )
            save_stats(
                stats_dir / f"{name}.json",
                {"mean": list(mean), "std": list(std), "count": count, "data_hash": self.data_hash},
            )
        return stats_dir

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML values (lists), the keyword arguments of :meth:`from_dict`."""
        out: dict[str, Any] = {
            n: None if getattr(self, n) is None else list(getattr(self, n)) for n in FIELDS
        }
        out["data_hash"] = self.data_hash
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Normalisation:
        """From :meth:`to_dict` output (unknown keys are an error naming them)."""
        d = dict(d or {})
        unknown = sorted(set(d) - {*FIELDS, "data_hash"})
        if unknown:
            raise ValueError(
                f"normalisation: unknown keys {unknown}; expected {[*FIELDS, 'data_hash']}"
            )
        return cls(**d)

    def vector(self, name: str, channels: int) -> np.ndarray:
        """``(channels,)`` float32 values of ``name`` (defaults 0 for means, 1 for stds)."""
        v = getattr(self, name)
        default = 1.0 if name.endswith("std") else 0.0
        a = np.full(channels, default, np.float32) if v is None else np.asarray(v, np.float32)
        if a.shape == (1,):
            a = np.broadcast_to(a, (channels,)).copy()
        if a.shape != (channels,):
            raise ValueError(
                f"{name}: expected {channels} per-channel values, found shape {a.shape}"
            )
        return a


def _is_empty_text(value: Any) -> bool:
    return isinstance(value, str) and value == ""


def resolve(
    normalisation: Normalisation | dict | None,
    stats_dir: str | os.PathLike | None,
    legacy: dict[str, Any],
) -> Normalisation:
    """One :class:`Normalisation` from the ways a builder may receive it (exactly one is used).

    ``legacy`` holds the flat keyword arguments of configs written before the dataclass
    (``state_mean`` ... ``data_hash``); ``None`` values are ignored.
    """
    legacy = {k: v for k, v in legacy.items() if v is not None and not _is_empty_text(v)}
    given = [n for n, v in (("normalisation", normalisation), ("stats_dir", stats_dir)) if v]
    if legacy:
        given.append("/".join(sorted(legacy)))
    if len(given) > 1:
        raise ValueError(
            f"normalisation: given twice ({' and '.join(given)}); pass one of normalisation=, "
            "stats_dir= or the per-channel statistics"
        )
    if stats_dir:
        return Normalisation.load(stats_dir)
    if isinstance(normalisation, Normalisation):
        return normalisation
    if isinstance(normalisation, dict):
        return Normalisation.from_dict(normalisation)
    return Normalisation(**legacy)
