"""Training objectives for learned ``state -> state`` steppers (grid or graph), for ``sciml.train.fit``.

One task covers the usual recipes for training ``z_{n+1} = step(z_n)`` on trajectory windows:

- one-step teacher forcing (``unroll=1``),
- k-step unrolled training with back-propagation through the rollout (``unroll=k``), optionally
  truncated (``truncate=m`` stops the gradient through the state every ``m`` steps),
- pushforward training (Brandstetter et al. 2022): ``pushforward=p`` first rolls ``p`` steps
  under ``stop_gradient`` and trains only on the steps after them, so the model learns from its
  own input distribution without differentiating the whole rollout,
- input noise (``noise_std``, in units of the per-channel state std),
- a curriculum over the unroll length (``curriculum=[(0, 1), (500, 2), (1000, 4)]``: from
  training step 500 on, two steps count, and so on).

Batches come from :class:`sciml.datasets.TrajectoryWindows` or any source with the same items:
``inputs`` ``(batch, n_input, *spatial, C)`` (the last frame is the initial state) and ``targets``
``(batch, n_target, *spatial, C)``, the next ``n_target`` states, one model step apart.

Loss: ``sum_i w_i mean(((z_i - y_i) / sigma)^2)`` with ``sigma`` the model's per-channel
``state_std`` (so the loss is dimensionless) and weights ``w_i = 1/k`` on the ``k`` active
unrolled steps (after the pushforward steps), 0 elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def _std(model: nnx.Module) -> jax.Array | float:
    s = getattr(model, "state_std", None)
    return 1.0 if s is None else s[...]


class RolloutTask:
    """k-step unrolled (teacher-forced when ``unroll=1``) training of a ``state -> state`` model.

    Args:
      unroll: maximum number of steps trained on (gradients flow through all of them unless
        ``truncate`` is set).
      truncate: stop the gradient through the state every ``truncate`` steps (truncated BPTT);
        ``None`` back-propagates through the whole unroll.
      pushforward: steps rolled out without gradient before the trained steps.
      noise_std: std of Gaussian noise added to the initial state, in units of the state std.
      curriculum: ``[(start_step, unroll_k), ...]`` sorted by ``start_step``; from ``start_step``
        on, the first ``unroll_k`` steps count (``unroll_k <= unroll``). ``None``: always ``unroll``.
      input_key, target_key: batch keys of the windows.

    The batch needs ``n_target >= pushforward + unroll`` target frames.
    """

    def __init__(
        self,
        unroll: int = 1,
        *,
        truncate: int | None = None,
        pushforward: int = 0,
        noise_std: float = 0.0,
        curriculum: Sequence[Sequence[int]] | None = None,
        input_key: str = "inputs",
        target_key: str = "targets",
    ):
        if int(unroll) < 1:
            raise ValueError(f"unroll: expected >= 1 trained steps, found {unroll}")
        if truncate is not None and int(truncate) < 1:
            raise ValueError(f"truncate: expected >= 1 steps or None, found {truncate}")
        if int(pushforward) < 0:
            raise ValueError(f"pushforward: expected >= 0 steps, found {pushforward}")
        if float(noise_std) < 0:
            raise ValueError(f"noise_std: expected >= 0, found {noise_std}")
        self.unroll = int(unroll)
        self.truncate = None if truncate is None else int(truncate)
        self.pushforward = int(pushforward)
        self.noise_std = float(noise_std)
        self.curriculum = None
        if curriculum is not None:
            stages = [(int(s), int(k)) for s, k in curriculum]
            if not stages or any(b[0] <= a[0] for a, b in itertools.pairwise(stages)):
                raise ValueError(
                    f"curriculum: expected [(start_step, unroll), ...] with increasing start steps, "
                    f"found {list(curriculum)}"
                )
            bad = [k for _, k in stages if not 1 <= k <= self.unroll]
            if bad:
                raise ValueError(
                    f"curriculum: unroll lengths must lie in 1..unroll={self.unroll}, found {bad}; "
                    f"raise unroll to {max(bad)}"
                )
            self.curriculum = stages
        self.input_key = input_key
        self.target_key = target_key
        self.spatial_axes = {input_key: 2, target_key: 2}

    @property
    def n_target(self) -> int:
        """Target frames each window must carry."""
        return self.pushforward + self.unroll

    def active_unroll(self, step: jax.Array) -> jax.Array:
        """Number of trained steps at training step ``step`` (int32 scalar)."""
        if self.curriculum is None:
            return jnp.asarray(self.unroll, jnp.int32)
        starts = jnp.asarray([s for s, _ in self.curriculum], jnp.int32)
        ks = jnp.asarray([k for _, k in self.curriculum], jnp.int32)
        idx = jnp.clip(jnp.sum(starts <= step) - 1, 0, len(self.curriculum) - 1)
        return ks[idx]

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        for k in (self.input_key, self.target_key):
            if k not in batch:
                raise ValueError(
                    f"stepper task: batch has no key {k!r} (found {sorted(batch)}); use "
                    "TrajectoryWindows-style items {'inputs': (n_in, ...), 'targets': (n_out, ...)}"
                )
        inputs, targets = batch[self.input_key], batch[self.target_key]
        if targets.shape[1] < self.n_target:
            raise ValueError(
                f"stepper task: windows carry {targets.shape[1]} target frames but pushforward + "
                f"unroll = {self.n_target}; build the windows with n_target={self.n_target}"
            )
        sigma = _std(model)
        z = inputs[:, -1].astype(jnp.float32)
        if self.noise_std > 0:
            z = z + self.noise_std * sigma * jax.random.normal(key, z.shape, z.dtype)
        for i in range(self.pushforward):
            z = jax.lax.stop_gradient(model(z))
            del i
        k_active = self.active_unroll(step)
        total = jnp.zeros((), jnp.float32)
        first = last = unweighted = total
        for i in range(self.unroll):
            if self.truncate is not None and i > 0 and i % self.truncate == 0:
                z = jax.lax.stop_gradient(z)
            z = model(z)
            y = targets[:, self.pushforward + i].astype(jnp.float32)
            mse = jnp.mean(((z - y) / sigma) ** 2)
            weight = (i < k_active).astype(jnp.float32)
            total = total + weight * mse
            unweighted = unweighted + mse / self.unroll
            if i == 0:
                first = mse
            last = jnp.where(i < k_active, mse, last)
        loss = total / k_active.astype(jnp.float32)
        return loss, {
            "mse_first_step": first,
            "mse_last_step": last,
            "mse_unrolled": unweighted,
            "unroll": k_active.astype(jnp.float32),
        }


def one_step_task(**kwargs) -> RolloutTask:
    """Teacher forcing: the model is trained on single steps from true states."""
    return RolloutTask(unroll=1, **kwargs)
