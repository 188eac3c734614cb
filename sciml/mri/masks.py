"""Cartesian under-sampling masks with the fastMRI reference's random draws.

A mask function keeps a ``numpy.random.RandomState`` and, per call, draws first the
(centre fraction, acceleration) pair and then the mask itself, in exactly the order of the
``fastmri`` package (v0.3.0). The same seed therefore gives the same mask, line for line, as
the reference: validation masks seeded from the file name (:func:`seed_from_name`) reproduce
the published evaluation protocol.

Masks act on the phase-encode axis ``W``. The call signature follows the reference, whose
k-space is a real-pair array ``(..., H, W, 2)``: ``W = shape[-2]`` and the returned mask has
shape ``[1, ..., 1, W, 1]``. For sciml's complex k-space ``(..., H, W)`` use
:meth:`MaskFunc.sample` (same draws, returns the 1-D mask of length ``W``) or
:func:`sciml.mri.transforms.apply_mask`.

Kinds (``nlf`` = number of low-frequency lines = ``round(W * center_fraction)``; the centre
block starts at column ``(W - nlf + 1) // 2``):

- ``random``: other columns kept independently with probability
  ``(W / acc - nlf) / (W - nlf)``, so that ``W / acc`` columns are expected.
- ``equispaced``: every ``acc``-th column from a random offset in ``[0, acc)``.
- ``equispaced_fraction``: spacing adjusted to ``acc (nlf - W) / (nlf acc - W)`` so that the
  total matches ``W / acc`` (the public brain and multi-coil test masks).
- ``magic`` / ``magic_fraction``: offset sampling of Defazio (2019, arXiv:1912.01101), which
  samples complementary lines on the two halves of k-space to exploit conjugate symmetry.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from sciml.choices import check_choice

# The fastMRI knee baselines' (centre fraction, acceleration) pairs (Zbontar et al. 2018): the one
# place these defaults are written; the first pair is the default of single-setting tools.
FASTMRI_MASK_PAIRS: tuple[tuple[float, int], ...] = ((0.08, 4), (0.04, 8))
FASTMRI_CENTER_FRACTIONS: tuple[float, ...] = tuple(cf for cf, _ in FASTMRI_MASK_PAIRS)
FASTMRI_ACCELERATIONS: tuple[int, ...] = tuple(a for _, a in FASTMRI_MASK_PAIRS)


def fastmri_mask_spec(kind: str = "random", *, pairs: int | None = None) -> dict:
    """``{"kind", "center_fractions", "accelerations"}`` of the fastMRI defaults (JSON/YAML values).

    ``pairs=1`` keeps only the first pair (4x, 0.08), e.g. for evaluation at one setting.
    """
    chosen = FASTMRI_MASK_PAIRS[:pairs] if pairs else FASTMRI_MASK_PAIRS
    return {
        "kind": kind,
        "center_fractions": [cf for cf, _ in chosen],
        "accelerations": [a for _, a in chosen],
    }


MASK_KINDS = ("random", "equispaced", "equispaced_fraction", "magic", "magic_fraction")

Seed = int | tuple[int, ...] | None


def seed_from_name(name: str) -> tuple[int, ...]:
    """Per-volume mask seed of the reference: the character codes of the file name.

    ``seed_from_name("file1000001.h5") == (102, 105, ...)``; every slice of a volume then gets
    the same mask. Pass the base name (no directories), as the reference does.
    """
    return tuple(ord(c) for c in name)


@contextlib.contextmanager
def _temporary_seed(rng: np.random.RandomState, seed: Seed) -> Iterator[None]:
    """Reseed ``rng`` for the duration of the block and restore its state afterwards."""
    if seed is None:
        yield
        return
    state = rng.get_state()
    rng.seed(seed)
    try:
        yield
    finally:
        rng.set_state(state)


class MaskFunc:
    """Base class: choose (centre fraction, acceleration), then centre and acceleration masks.

    Args:
      center_fractions: fractions of the ``W`` columns kept as the fully sampled centre, each
        in ``(0, 1)``.
      accelerations: under-sampling factors (> 1), same length as ``center_fractions`` unless
        ``allow_any_combination``.
      allow_any_combination: draw centre fraction and acceleration independently
        (``rng.choice`` of each) instead of as pairs (one ``rng.randint``).
      seed: seed of the internal ``numpy.random.RandomState``.
    """

    kind = "base"

    def __init__(
        self,
        center_fractions: Sequence[float],
        accelerations: Sequence[float],
        allow_any_combination: bool = False,
        seed: Seed = None,
    ) -> None:
        center_fractions = [float(c) for c in np.atleast_1d(center_fractions)]
        accelerations = [_number(a) for a in np.atleast_1d(accelerations)]
        if not center_fractions or not accelerations:
            raise ValueError(
                f"{self.kind} mask: expected at least one centre fraction and acceleration, "
                f"found center_fractions={center_fractions} accelerations={accelerations}"
            )
        if len(center_fractions) != len(accelerations) and not allow_any_combination:
            raise ValueError(
                f"{self.kind} mask: center_fractions and accelerations must have the same length, "
                f"found {len(center_fractions)} and {len(accelerations)}; pair them up "
                "(e.g. [0.08, 0.04] with [4, 8]) or pass allow_any_combination=True"
            )
        for c in center_fractions:
            if not 0.0 < c < 1.0:
                raise ValueError(
                    f"{self.kind} mask: expected centre fractions in (0, 1), found {c}; "
                    "use e.g. 0.08 for 4x and 0.04 for 8x"
                )
        for a in accelerations:
            if not a > 1:
                raise ValueError(
                    f"{self.kind} mask: expected accelerations > 1, found {a}; use e.g. 4 or 8"
                )
        self.center_fractions = center_fractions
        self.accelerations = accelerations
        self.allow_any_combination = allow_any_combination
        self.rng = np.random.RandomState(seed)
        # Data loaders call transforms from several threads: reseed-draw-restore must not
        # interleave, or one volume would get another volume's mask.
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __call__(
        self, shape: Sequence[int], offset: int | None = None, seed: Seed = None
    ) -> tuple[np.ndarray, int]:
        """Draw a mask for reference-layout k-space of ``shape`` ``(..., H, W, 2)``.

        Returns:
          ``(mask, num_low_frequencies)``: ``mask`` float32 of shape ``[1, ..., 1, W, 1]``
          (1 = sampled column), and the number of centre lines ``nlf``.
        """
        shape = tuple(int(s) for s in shape)
        if len(shape) < 3:
            raise ValueError(
                f"{self.kind} mask: expected a k-space shape with at least 3 axes (..., H, W, 2), "
                f"found {shape}; for complex (..., H, W) k-space use MaskFunc.sample(W)"
            )
        mask, nlf = self.sample(shape[-2], offset=offset, seed=seed)
        mask_shape = [1] * len(shape)
        mask_shape[-2] = shape[-2]
        return mask.reshape(mask_shape), nlf

    def sample(
        self, num_cols: int, offset: int | None = None, seed: Seed = None
    ) -> tuple[np.ndarray, int]:
        """Draw a 1-D mask of length ``num_cols`` (the same draws as ``__call__``).

        Returns:
          ``(mask, num_low_frequencies)`` with ``mask`` float32 of shape ``(num_cols,)``.
        """
        num_cols = int(num_cols)
        if num_cols < 2:
            raise ValueError(
                f"{self.kind} mask: expected at least 2 phase-encode columns, found {num_cols}"
            )
        with self._lock, _temporary_seed(self.rng, seed):
            center, accel, nlf = self.sample_mask(num_cols, offset)
        return np.maximum(center, accel).astype(np.float32), nlf

    # The draws, in the reference's order: acceleration choice, then the acceleration mask.
    def sample_mask(self, num_cols: int, offset: int | None) -> tuple[np.ndarray, np.ndarray, int]:
        center_fraction, acceleration = self.choose_acceleration()
        nlf = round(num_cols * center_fraction)
        self._check_lines(num_cols, nlf, acceleration, center_fraction)
        center = center_mask(num_cols, nlf)
        accel = self.calculate_acceleration_mask(num_cols, acceleration, offset, nlf)
        return center, np.asarray(accel, dtype=np.float32), nlf

    def choose_acceleration(self) -> tuple[float, float]:
        if self.allow_any_combination:
            return self.rng.choice(self.center_fractions), self.rng.choice(self.accelerations)
        choice = self.rng.randint(len(self.center_fractions))
        return self.center_fractions[choice], self.accelerations[choice]

    def calculate_acceleration_mask(
        self, num_cols: int, acceleration: float, offset: int | None, nlf: int
    ) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} defines no acceleration mask")

    def _check_lines(self, num_cols: int, nlf: int, acceleration: float, fraction: float) -> None:
        if nlf >= num_cols:
            raise ValueError(
                f"{self.kind} mask: centre fraction {fraction} keeps all {num_cols} columns "
                f"(nlf={nlf}), leaving no lines to sample; use a centre fraction below 1"
            )

    def _check_budget(self, num_cols: int, nlf: int, acceleration: float, fraction: float) -> None:
        # The centre alone already reaches the W / acc line budget: no lines are left to draw.
        if nlf * acceleration >= num_cols:
            raise ValueError(
                f"{self.kind} mask: centre fraction {fraction} gives {nlf} centre lines, at least "
                f"the {num_cols}/{acceleration} = {num_cols / acceleration:.4g} lines allowed at "
                f"{acceleration}x, leaving no lines to sample; use a centre fraction below "
                f"{1 / acceleration:.4g} (e.g. 0.08 at 4x, 0.04 at 8x)"
            )


def center_mask(num_cols: int, nlf: int) -> np.ndarray:
    """The fully sampled centre: ``nlf`` ones starting at column ``(W - nlf + 1) // 2``."""
    mask = np.zeros(num_cols, dtype=np.float32)
    start = (num_cols - nlf + 1) // 2
    mask[start : start + nlf] = 1.0
    return mask


class RandomMaskFunc(MaskFunc):
    """Columns kept independently with probability ``(W / acc - nlf) / (W - nlf)``."""

    kind = "random"

    def _check_lines(self, num_cols, nlf, acceleration, fraction):
        super()._check_lines(num_cols, nlf, acceleration, fraction)
        self._check_budget(num_cols, nlf, acceleration, fraction)

    def calculate_acceleration_mask(self, num_cols, acceleration, offset, nlf):
        prob = (num_cols / acceleration - nlf) / (num_cols - nlf)
        return self.rng.uniform(size=num_cols) < prob


class EquiSpacedMaskFunc(MaskFunc):
    """Every ``acc``-th column from ``offset`` (random in ``[0, round(acc))`` when not given)."""

    kind = "equispaced"

    def __init__(self, center_fractions, accelerations, allow_any_combination=False, seed=None):
        super().__init__(center_fractions, accelerations, allow_any_combination, seed)
        _require_integer_accelerations(self.kind, self.accelerations)

    def calculate_acceleration_mask(self, num_cols, acceleration, offset, nlf):
        acceleration = int(acceleration)
        if offset is None:
            offset = self.rng.randint(0, high=round(acceleration))
        mask = np.zeros(num_cols, dtype=np.float32)
        mask[offset::acceleration] = 1.0
        return mask


class EquispacedMaskFractionFunc(MaskFunc):
    """Equispaced with the spacing adjusted so that about ``W / acc`` columns are kept in total.

    The spacing ``acc (nlf - W) / (nlf acc - W)`` is fractional; column indices are rounded
    (``np.around``), so the lines are only approximately equispaced, as in the public data.
    """

    kind = "equispaced_fraction"

    def _check_lines(self, num_cols, nlf, acceleration, fraction):
        super()._check_lines(num_cols, nlf, acceleration, fraction)
        self._check_budget(num_cols, nlf, acceleration, fraction)

    def calculate_acceleration_mask(self, num_cols, acceleration, offset, nlf):
        adjusted = (acceleration * (nlf - num_cols)) / (nlf * acceleration - num_cols)
        if offset is None:
            offset = self.rng.randint(0, high=round(adjusted))
        mask = np.zeros(num_cols)
        columns = np.around(np.arange(offset, num_cols - 1, adjusted)).astype(np.uint)
        mask[columns] = 1.0
        return mask


class MagicMaskFunc(MaskFunc):
    """Offset sampling (Defazio 2019): equispaced lines, shifted differently on each half."""

    kind = "magic"

    def __init__(self, center_fractions, accelerations, allow_any_combination=False, seed=None):
        super().__init__(center_fractions, accelerations, allow_any_combination, seed)
        _require_integer_accelerations(self.kind, self.accelerations)

    def calculate_acceleration_mask(self, num_cols, acceleration, offset, nlf):
        acceleration = int(acceleration)
        if offset is None:
            offset = self.rng.randint(0, high=acceleration)
        # Positive and negative frequencies get complementary offsets so that, with conjugate
        # symmetry, the two halves together cover more distinct lines.
        if offset % 2 == 0:
            offset_pos, offset_neg = offset + 1, offset + 2
        else:
            offset_pos, offset_neg = offset + 2, offset - 1
        positive = np.zeros((num_cols + 1) // 2, dtype=np.float32)
        negative = np.zeros(num_cols - (num_cols + 1) // 2, dtype=np.float32)
        positive[offset_pos::acceleration] = 1.0
        negative[offset_neg::acceleration] = 1.0
        return np.fft.fftshift(np.concatenate([positive, negative[::-1]]))


class MagicMaskFractionFunc(MagicMaskFunc):
    """Offset sampling with the spacing chosen so that ``round(W / acc)`` lines are kept.

    The centre is bounded to ``[1, round(W / acc)]`` lines; the remaining budget sets the
    integer spacing ``round(W / (round(W / acc) - nlf))``.
    """

    kind = "magic_fraction"

    def __init__(self, center_fractions, accelerations, allow_any_combination=False, seed=None):
        MaskFunc.__init__(self, center_fractions, accelerations, allow_any_combination, seed)

    def sample_mask(self, num_cols, offset):
        fraction, acceleration = self.choose_acceleration()
        nlf = round(num_cols * fraction)
        target = round(num_cols / acceleration)
        nlf = max(min(nlf, target), 1)
        remaining = target - nlf
        if remaining <= 0:
            raise ValueError(
                f"{self.kind} mask: centre fraction {fraction} uses the whole budget of "
                f"round({num_cols}/{acceleration}) = {target} lines, leaving no lines to sample; "
                f"use a centre fraction below {1 / acceleration:.4g}"
            )
        adjusted = round(num_cols / remaining)
        center = center_mask(num_cols, nlf)
        accel = self.calculate_acceleration_mask(num_cols, adjusted, offset, nlf)
        return center, np.asarray(accel, dtype=np.float32), nlf


_KINDS: dict[str, type[MaskFunc]] = {
    "random": RandomMaskFunc,
    "equispaced": EquiSpacedMaskFunc,
    "equispaced_fraction": EquispacedMaskFractionFunc,
    "magic": MagicMaskFunc,
    "magic_fraction": MagicMaskFractionFunc,
}


def mask_func(
    kind: str,
    center_fractions: Sequence[float],
    accelerations: Sequence[float],
    seed: Seed = None,
    allow_any_combination: bool = False,
) -> MaskFunc:
    """Build a mask function of ``kind`` (one of :data:`MASK_KINDS`).

    Example: ``f = mask_func("random", [0.08], [4]); mask, nlf = f((1, 640, 368, 2),
    seed=seed_from_name("file1000001.h5"))`` gives the reference's validation mask of that file.
    """
    check_choice(kind, MASK_KINDS, name="mask kind")
    return _KINDS[kind](center_fractions, accelerations, allow_any_combination, seed)


def _number(value: float) -> float:
    value = float(value)
    return int(value) if value.is_integer() else value


def _require_integer_accelerations(kind: str, accelerations: Sequence[float]) -> None:
    for a in accelerations:
        if not float(a).is_integer():
            raise ValueError(
                f"{kind} mask: expected integer accelerations (the line spacing), found {a}; "
                "use equispaced_fraction for fractional accelerations"
            )
