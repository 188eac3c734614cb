"""Training a graph stepper through the one loop (``sciml.train.fit``), one-step or unrolled.

The objective is :class:`sciml.train.RolloutTask` (the same as for the grid steppers): teacher
forcing with ``unroll=1``, back-propagation through ``unroll`` steps otherwise; the loss is the
mean squared error in units of the per-channel state std carried by the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sciml.graphs.data import make_windows


def train_graph_stepper(
    stepper: Any,
    train: np.ndarray,
    *,
    steps: int = 500,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
    unroll: int = 1,
    noise_std: float = 0.0,
    seed: int = 0,
    eval_data: np.ndarray | None = None,
    run_dir: str | None = None,
) -> Any:
    """Train ``stepper`` in place on trajectories ``train`` ``(S, T, N, C)``; returns the
    :class:`sciml.train.TrainResult`. ``eval_data`` (same layout) is evaluated at the end.

    The learning rate decays along a cosine to 1 % over the run; gradients are clipped at norm 1.
    """
    from sciml.datasets import ArraySource
    from sciml.train import MeshConfig, OptimConfig, RolloutTask, TrainConfig, fit

    task = RolloutTask(unroll, noise_std=noise_std)
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        log_every=max(1, steps // 10),
        seed=seed,
        optim=OptimConfig(
            learning_rate=learning_rate, schedule="cosine", end_factor=0.01, clip_norm=1.0
        ),
        mesh=MeshConfig(data=1),
        run_dir=run_dir,
    )
    src = ArraySource(make_windows(train, n_target=unroll))
    ev = None if eval_data is None else ArraySource(make_windows(eval_data, n_target=unroll))
    return fit(stepper, task, src, config=config, eval_source=ev)
