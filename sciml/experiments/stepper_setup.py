"""The sizes and choices of one learned-stepper experiment (KS 1-D, Kolmogorov 2-D): a frozen record
that the reproduction files fill in (``QUICK``/``FULL``) and :mod:`.stepper_experiment` runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExperimentSetup:
    """Sizes and choices of one learned-stepper experiment.

    Attributes:
      equation, params: registry equation and its parameters (``sciml.solvers.get_equation``).
      length: domain length per axis; fine_shape / fine_dt: the reference solver.
      coarse_shape: the learned stepper's grid (spectral coarse-graining of the fine data).
      frame_dt: saved-frame spacing = the learned stepper's dt.
      spinup: time discarded before saving (onto the attractor).
      n_train / n_val / n_test: trajectories; train_frames / test_frames: frames each.
      horizon: time over which nRMSE is averaged.
      width, kernel_size, depth, activation, integrator: the conv -> f -> conv stepper.
      unroll, steps, batch_size, learning_rate: training (curriculum 1, 2, 4, ... up to unroll).
      classical_shapes / classical_dt: the classical candidates (the fine grid at ``fine_dt`` is
        always added, so one candidate reproduces the reference).
      timing_repeats: timed runs per candidate (the best counts).
      integrator_swaps: also roll the trained G out with RK2, RK4 and dt / 2 and report them.
      noise_std: Gaussian noise on the training inputs, in units of the state std (stabilises
        long rollouts: the stepper learns to pull perturbed states back onto the data).
      long_frames: length (in frames) of the long rollouts scored for boundedness and long-time
        statistics (0: none); long_burn_in: frames dropped before averaging those statistics.
      long_val / long_test: number of long validation / test trajectories (0: ``n_val`` /
        ``n_test``); their statistics are averaged over the attractor, so more trajectories
        lower the sampling noise of the spectrum comparison.
      long_exclude_settled: average the long-time statistics over the frames that are not
        steady up to a translation (:func:`sciml.metrics.long_rollout.settled_frames`), and
        report the share of settled frames separately (KS at L = 64 holds a stable steady
        state beside its chaotic attractor).
      candidates: training seeds tried; with more than one, each is trained in
        ``out/candidates/seedS`` and the one whose long validation rollouts stay bounded with the
        smallest long-time spectrum error becomes the run in ``out`` (validation data only).
    """

    equation: str
    length: tuple[float, ...]
    fine_shape: tuple[int, ...]
    fine_dt: float
    coarse_shape: tuple[int, ...]
    frame_dt: float
    params: dict[str, Any] = field(default_factory=dict)
    spinup: float = 100.0
    n_train: int = 48
    n_val: int = 8
    n_test: int = 16
    train_frames: int = 200
    test_frames: int = 100
    horizon: float = 20.0
    width: int = 32
    kernel_size: int = 5
    depth: int = 2
    activation: str = "gelu"
    integrator: str = "euler"
    unroll: int = 4
    steps: int = 3000
    batch_size: int = 32
    learning_rate: float = 1e-3
    classical_shapes: tuple[tuple[int, ...], ...] = ()
    classical_dt: tuple[float, ...] = ()
    timing_repeats: int = 5
    integrator_swaps: bool = True
    noise_std: float = 0.0
    long_frames: int = 0
    long_burn_in: int = 100
    long_val: int = 0
    long_test: int = 0
    long_exclude_settled: bool = False
    candidates: int = 1

    @property
    def ndim(self) -> int:
        return len(self.fine_shape)

    def curriculum(self) -> list[list[int]]:
        """``[[start_step, unroll], ...]``: 1, then doubling every quarter of the run."""
        stages = [[0, 1]]
        k, s = 2, self.steps // 4
        while k <= self.unroll:
            stages.append([s, k])
            k, s = k * 2, s + self.steps // 4
        if stages[-1][1] != self.unroll:
            stages.append([s, self.unroll])
        return stages

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["curriculum"] = self.curriculum()
        return d
