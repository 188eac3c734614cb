"""Training objectives for learned steppers: :class:`RolloutTask` and :func:`one_step_task`.

They train any ``state -> state`` model (grid or graph steppers alike), so they live in the
training layer, :mod:`sciml.train.rollout`; this module keeps the stepper-side import path.
"""

from sciml.train.rollout import RolloutTask as RolloutTask
from sciml.train.rollout import one_step_task as one_step_task

__all__ = ["RolloutTask", "one_step_task"]
