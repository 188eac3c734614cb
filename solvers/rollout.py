"""One driver for every stepper, classical or learned: ``rollout``."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


class BlowUpError(FloatingPointError):
    """A rollout produced NaN or Inf; the message names the sample, the step and the time."""


def rollout(
    step: Callable[[jax.Array], jax.Array],
    state: jax.Array,
    n_steps: int,
    *,
    save_every: int = 1,
    dt: float | None = None,
    check_finite: bool = True,
) -> jax.Array:
    """Apply ``step`` ``n_steps`` times with ``lax.scan`` and keep every ``save_every``-th state.

    Args:
      step: a ``state -> state`` callable (a classical solver step, a learned stepper, anything
        jit-able). States are ``(batch, *spatial, channels)`` arrays by convention, though any
        pytree-free array works.
      state: initial state, shape ``(batch, *spatial, channels)``.
      n_steps: number of steps; must be a multiple of ``save_every``.
      save_every: keep one frame every ``save_every`` steps.
      dt: time step, used only to report the time of a blow-up (defaults to ``step.dt``).
      check_finite: after the scan, raise :class:`BlowUpError` naming the first sample, step and
        time whose state is not finite (host-side check; skip it inside ``jit``).

    Returns:
      Trajectory ``(batch, n_steps // save_every + 1, *spatial, channels)``: frame 0 is ``state``,
      frame ``j`` the state after ``j * save_every`` steps (time axis right after the batch axis,
      as in trajectory files).
    """
    if save_every < 1 or n_steps < 0 or n_steps % save_every:
        raise ValueError(
            f"rollout: n_steps ({n_steps}) must be a non-negative multiple of save_every "
            f"({save_every}); e.g. n_steps={max(save_every, n_steps - n_steps % save_every)}"
        )
    n_frames = n_steps // save_every

    def inner(z, _):
        return step(z), None

    def outer(z, _):
        z, _ = jax.lax.scan(inner, z, None, length=save_every)
        return z, z

    _, frames = jax.lax.scan(outer, state, None, length=n_frames)
    traj = jnp.concatenate([state[None], frames], axis=0)
    traj = jnp.moveaxis(traj, 0, 1)
    if check_finite and not isinstance(traj, jax.core.Tracer):
        _raise_if_not_finite(traj, save_every, dt if dt is not None else getattr(step, "dt", None))
    return traj


def _raise_if_not_finite(traj: jax.Array, save_every: int, dt: float | None) -> None:
    finite = np.asarray(
        jnp.all(jnp.isfinite(traj.reshape(traj.shape[0], traj.shape[1], -1)), axis=-1)
    )
    if finite.all():
        return
    bad_sample, bad_frame = np.argwhere(~finite)[np.argmin(np.argwhere(~finite)[:, 1])]
    step_no = int(bad_frame) * save_every
    when = f", t = {step_no * dt:.6g}" if dt is not None else ""
    raise BlowUpError(
        f"rollout blew up: sample {int(bad_sample)} is NaN/Inf by step {step_no}{when} "
        f"(first saved frame {int(bad_frame)}); reduce dt or check the initial condition"
    )
