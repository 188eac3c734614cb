"""Train a model from a YAML config through the sharded training loop (sciml.train).

The config names a model, a task, the data and the optimiser (see examples/configs/); `--set`
overrides any key (`--set steps=50 --set optim.learning_rate=3e-3 --set model.kwargs.width=8`).
The run directory receives config.yaml (the resolved config), run_info.json (versions, devices),
metrics.jsonl, TensorBoard events and checkpoints/. `--resume` continues a run that stopped
(killed, pre-empted) from its latest checkpoint with identical results.

Many hosts: start the same command on every host with `--coordinator HOST:PORT --num-processes N
--process-id I` (or the JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID variables,
or under SLURM/Open MPI); each process reads only its share of the data.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="YAML run config (examples/configs/*.yaml)"
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a config key (dotted; value parsed as YAML); repeatable",
    )
    parser.add_argument(
        "--run-dir",
        metavar="DIR",
        help="run directory (default: the config's run_dir, else runs/<config name>)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its latest checkpoint",
    )
    parser.add_argument(
        "--coordinator", metavar="HOST:PORT", help="multi-host: process 0's address"
    )
    parser.add_argument("--num-processes", type=int, metavar="N", help="multi-host: process count")
    parser.add_argument("--process-id", type=int, metavar="I", help="multi-host: this process")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    # Multi-host start-up must come before anything touches the devices.
    from sciml.train.distributed import initialize

    initialize(args.coordinator, args.num_processes, args.process_id)

    from sciml.train import DivergenceError, load_config, train

    if args.config is None and not args.set:
        raise ValueError(
            "sciml train: expected --config FILE (or --set options), found neither; e.g. "
            "--config examples/configs/tendency_heat.yaml"
        )
    config = load_config(args.config, args.set)
    run_dir = args.run_dir or config.run_dir
    if run_dir is None:
        stem = os.path.splitext(os.path.basename(args.config or "run"))[0]
        run_dir = os.path.join("runs", stem)
    config = config.replace(run_dir=run_dir)
    from sciml.train.checkpoint import finished_steps

    steps = finished_steps(os.path.join(run_dir, "checkpoints"))
    if args.resume and not steps:
        where = os.path.join(run_dir, "checkpoints")
        raise FileNotFoundError(
            f"--resume: found no checkpoint to resume in {where} (run_dir {run_dir!r} "
            f"{'has none' if os.path.isdir(run_dir) else 'does not exist'}); drop --resume to "
            "start a new run, or pass the --run-dir of the run to continue"
        )
    if steps and not args.resume:
        raise FileExistsError(
            f"run_dir {run_dir!r}: already holds checkpoints (latest step {steps[-1]}); pass "
            "--resume to continue it, or choose a new --run-dir"
        )
    try:
        result = train(config)
    except DivergenceError as err:
        if args.debug:
            raise
        print(f"sciml train: {err}", file=sys.stderr)
        return 3
    train_rec = [r for r in result.history if r["split"] == "train"]
    eval_rec = [r for r in result.history if r["split"] == "eval"]
    import jax

    if jax.process_index() == 0:
        line = f"trained {result.final_step} steps"
        if train_rec:
            line += f"; train loss {train_rec[-1]['loss']:.4g}"
        if eval_rec:
            line += f"; eval loss {eval_rec[-1]['loss']:.4g}"
        if result.best_step is not None:
            line += f" (best checkpoint: step {result.best_step})"
        print(f"{line}; run directory {result.run_dir}")
    return 0
