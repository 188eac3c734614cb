"""The one sharded training loop shared by every model in sciml.

A run is a typed config (:class:`TrainConfig`) naming a model, a task (loss and metrics) and data
sources; :func:`fit` trains objects directly, :func:`train` builds them from the registries.
Batches are dicts of fixed-shape arrays ``(batch, *spatial, channels)`` sharded over a
``("data", "space")`` device mesh; checkpoints (Orbax) keep the latest N and the best, and a run
resumes exactly where it stopped.

Public API::

    TrainConfig, load_config, dump_config        configs (YAML + "a.b=value" overrides)
    register_model, register_task, register_data  registries (built-ins: tendency, regression,
                                                  array, h5, xarray, windows, synthetic_heat)
    Task, RegressionTask                          training objectives
    fit, train, TrainResult, DivergenceError      the loop
    make_mesh                                     the device mesh
    restore_model, run_config                     a trained model back from its run directory
    initialize_distributed                        multi-host start-up
    SyntheticHeat                                 built-in heat-equation data
"""

from sciml.train.config import DataConfig as DataConfig
from sciml.train.config import MeshConfig as MeshConfig
from sciml.train.config import ModelConfig as ModelConfig
from sciml.train.config import OptimConfig as OptimConfig
from sciml.train.config import SourceConfig as SourceConfig
from sciml.train.config import TaskConfig as TaskConfig
from sciml.train.config import TrainConfig as TrainConfig
from sciml.train.config import dump_config as dump_config
from sciml.train.config import load_config as load_config
from sciml.train.distributed import initialize as initialize_distributed
from sciml.train.loop import DivergenceError as DivergenceError
from sciml.train.loop import TrainResult as TrainResult
from sciml.train.loop import fit as fit
from sciml.train.loop import train as train
from sciml.train.mesh import make_mesh as make_mesh
from sciml.train.registry import register_data as register_data
from sciml.train.registry import register_model as register_model
from sciml.train.registry import register_task as register_task
from sciml.train.restore import restore_model as restore_model
from sciml.train.restore import run_config as run_config
from sciml.train.rollout import RolloutTask as RolloutTask
from sciml.train.rollout import one_step_task as one_step_task
from sciml.train.runlog import read_metrics as read_metrics
from sciml.train.synthetic import SyntheticHeat as SyntheticHeat
from sciml.train.tasks import RegressionTask as RegressionTask
from sciml.train.tasks import Task as Task

__all__ = [
    "DataConfig",
    "DivergenceError",
    "MeshConfig",
    "ModelConfig",
    "OptimConfig",
    "RegressionTask",
    "RolloutTask",
    "SourceConfig",
    "SyntheticHeat",
    "Task",
    "TaskConfig",
    "TrainConfig",
    "TrainResult",
    "dump_config",
    "fit",
    "initialize_distributed",
    "load_config",
    "make_mesh",
    "one_step_task",
    "read_metrics",
    "register_data",
    "register_model",
    "register_task",
    "restore_model",
    "run_config",
    "train",
]
