"""Optax optimisers and learning-rate schedules built from :class:`OptimConfig`."""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import optax

from sciml.train.config import OptimConfig

SCHEDULES = ("constant", "cosine", "linear", "exponential")
# Optimisers with decoupled weight decay built in; the others get optax.add_decayed_weights.
_DECAY_ARG = {"adamw": "weight_decay", "lamb": "weight_decay", "lion": "weight_decay"}


def make_schedule(cfg: OptimConfig, total_steps: int) -> optax.Schedule:
    """Learning rate against step: linear warm-up from 0 over ``warmup_steps``, then the decay.

    ``cosine``: ``lr * (end + (1 - end) (1 + cos(pi s / D)) / 2)``; ``linear``: straight line to
    ``lr * end``; ``exponential``: ``lr * end ** (s / D)`` (``end_factor`` must be > 0);
    ``D = decay_steps`` (default ``total_steps - warmup_steps``), ``end = end_factor``.
    """
    lr = cfg.learning_rate
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(
            f"config optim.learning_rate: expected > 0, found {lr}; set optim.learning_rate=1.0e-3"
        )
    if cfg.schedule not in SCHEDULES:
        raise ValueError(
            f"config optim.schedule: expected one of {', '.join(SCHEDULES)}, found {cfg.schedule!r}"
        )
    if cfg.warmup_steps < 0:
        raise ValueError(f"config optim.warmup_steps: expected >= 0, found {cfg.warmup_steps}")
    if cfg.warmup_steps > total_steps:
        raise ValueError(
            f"config optim.warmup_steps: expected at most the run's steps={total_steps}, found "
            f"{cfg.warmup_steps} (the learning rate would never reach optim.learning_rate); set "
            f"optim.warmup_steps={max(total_steps // 10, 0)} or train longer"
        )
    if not math.isfinite(cfg.weight_decay) or cfg.weight_decay < 0:
        raise ValueError(
            f"config optim.weight_decay: expected a finite value >= 0, found {cfg.weight_decay} "
            "(negative decay pushes the weights outwards); set optim.weight_decay=0 or 1e-4"
        )
    decay = cfg.decay_steps if cfg.decay_steps is not None else total_steps - cfg.warmup_steps
    decay = max(int(decay), 1)
    end = cfg.end_factor
    if cfg.schedule == "constant":
        main = optax.constant_schedule(lr)
    elif cfg.schedule == "cosine":
        main = optax.cosine_decay_schedule(lr, decay, alpha=end)
    elif cfg.schedule == "linear":
        main = optax.linear_schedule(lr, lr * end, decay)
    else:
        if end <= 0:
            raise ValueError(
                f"config optim.end_factor: the exponential schedule needs a value > 0, found {end}; "
                "set optim.end_factor=0.01"
            )
        main = optax.exponential_decay(lr, decay, end)
    if cfg.warmup_steps == 0:
        return main
    warm = optax.linear_schedule(0.0, lr, cfg.warmup_steps)
    return optax.join_schedules([warm, main], [cfg.warmup_steps])


def make_optimizer(
    cfg: OptimConfig, total_steps: int
) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """``(transform, schedule)``: optional clipping -> optimiser (with weight decay) at the schedule."""
    schedule = make_schedule(cfg, total_steps)
    factory = getattr(optax, cfg.name, None)
    if factory is None or not callable(factory) or cfg.name.startswith("_"):
        raise ValueError(
            f"config optim.name: unknown optax optimiser {cfg.name!r}; use e.g. adam, adamw, sgd, "
            "rmsprop, lion, lamb, adabelief"
        )
    kwargs = dict(cfg.kwargs)
    params = inspect.signature(factory).parameters
    if "learning_rate" not in params:
        raise ValueError(
            f"config optim.name: optax.{cfg.name} is not an optimiser taking learning_rate; "
            "use e.g. adam, adamw, sgd"
        )
    parts = []
    if cfg.clip_norm is not None:
        if cfg.clip_norm <= 0:
            raise ValueError(f"config optim.clip_norm: expected > 0 or null, found {cfg.clip_norm}")
        parts.append(optax.clip_by_global_norm(cfg.clip_norm))
    decay_arg = _DECAY_ARG.get(cfg.name)
    if decay_arg is not None:
        kwargs.setdefault(decay_arg, cfg.weight_decay)
    try:
        opt = factory(learning_rate=schedule, **kwargs)
    except TypeError as err:
        raise ValueError(f"config optim.kwargs: optax.{cfg.name} rejected them ({err})") from None
    if decay_arg is None and cfg.weight_decay:
        opt = optax.chain(opt, _decoupled_decay(cfg.weight_decay, schedule))
    parts.append(opt)
    return optax.chain(*parts), schedule


def _decoupled_decay(rate: float, schedule: optax.Schedule) -> optax.GradientTransformation:
    """``update -= lr(step) * rate * param`` (AdamW-style decay for any optimiser)."""

    def init(params):
        del params
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("weight decay needs the parameters: call tx.update(g, state, params)")
        lr = schedule(state.count)
        updates = jax.tree.map(lambda u, p: u - lr * rate * p, updates, params)
        return updates, optax.ScaleByScheduleState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init, update)
