"""fastMRI tools: write synthetic fastMRI volumes, reconstruct a directory with a trained model,
evaluate reconstructions against targets (MSE, NMSE, PSNR and SSIM as the reference fastMRI
evaluation computes them; the table prints mean +- 2 standard deviations over volumes, the --json
file holds the 1-sigma std and says so in its "spread" entry).

  sciml mri synthesize --out data/mri/train --volumes 8 --coils 1 --slices 8 --shape 128 128
  sciml mri reconstruct --model runs/fastmri-unet --data data/mri/val --out recon/
  sciml mri reconstruct --method tv --weight 3e-3 --data data/mri/val --out recon-tv/
  sciml mri evaluate --target data/mri/val --recon recon/ --challenge singlecoil
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sciml.mri.masks import FASTMRI_ACCELERATIONS, FASTMRI_CENTER_FRACTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="mri_command", metavar="{synthesize,train,reconstruct,evaluate}"
    )
    sub.required = True

    s = sub.add_parser(
        "synthesize",
        help="write synthetic volumes in the fastMRI HDF5 format (phantoms, coil maps, header)",
        description="Write synthetic fastMRI-format volumes: Shepp-Logan and random-ellipse "
        "phantoms with smooth textures and phase, smooth coil maps, k-space by the centred "
        "orthonormal FFT, targets cropped to the recon size, the ISMRMRD XML header and the "
        "file attributes. Deterministic from --seed; volume i depends only on (seed, i, split), and a "
        "training split never repeats a validation volume.",
    )
    s.add_argument("--out", required=True, type=Path, help="output directory")
    s.add_argument("--volumes", type=int, default=4, help="number of volumes (files)")
    s.add_argument("--coils", type=int, default=1, help="1 = single-coil files, >1 multi-coil")
    s.add_argument("--slices", type=int, default=8, help="slices per volume")
    s.add_argument(
        "--shape",
        type=int,
        nargs=2,
        default=(128, 128),
        metavar=("H", "W"),
        help="k-space size (read-out H, phase-encode W); real knee size: 640 368",
    )
    s.add_argument(
        "--recon-size",
        type=int,
        nargs=2,
        default=(96, 96),
        metavar=("h", "w"),
        help="target (recon) size, a centre crop of the image; real knee size: 320 320",
    )
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--anatomy", choices=("knee", "brain"), default="knee")
    s.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default="train",
        help="train/val: full k-space and targets; test: under-sampled k-space with its mask",
    )
    s.add_argument(
        "--mask",
        choices=("random", "equispaced", "equispaced_fraction", "magic", "magic_fraction"),
        default=None,
        help="test-split mask kind (default: random for knee, equispaced_fraction for brain)",
    )
    s.add_argument(
        "--acceleration",
        type=float,
        default=FASTMRI_ACCELERATIONS[0],
        help="test-split acceleration",
    )
    s.add_argument(
        "--center-fraction",
        type=float,
        default=FASTMRI_CENTER_FRACTIONS[0],
        help="test-split centre fraction",
    )
    s.add_argument("--padding", type=int, default=0, help="un-acquired columns on each side")
    s.add_argument("--noise", type=float, default=0.0, help="k-space noise std (relative)")
    s.add_argument("--overwrite", action="store_true", help="replace existing files")

    t = sub.add_parser(
        "train",
        help="train a U-Net or VarNet on a directory of fastMRI volumes (fastMRI defaults)",
        description="Train the fastMRI U-Net (single-coil) or VarNet (multi-coil) on the "
        "volumes of --data with the published baselines' masks, losses and hyper-parameters "
        "(sciml/mri/train.py lists them); --steps etc. override them for small runs. The run's "
        "config.yaml re-runs with `sciml train --config RUN/config.yaml`; `sciml mri "
        "reconstruct --model RUN` uses the trained model.",
    )
    t.add_argument("--data", required=True, type=Path, help="directory of training volumes")
    t.add_argument("--val", type=Path, help="directory of validation volumes (evaluated)")
    t.add_argument("--model", choices=("unet", "varnet"), default="unet")
    t.add_argument("--challenge", choices=("singlecoil", "multicoil"), default="singlecoil")
    t.add_argument("--run-dir", required=True, type=Path, help="run directory to create")
    t.add_argument("--steps", type=int, help="optimiser steps (default: 50 epochs)")
    t.add_argument("--batch-size", type=int, help="slices per batch (default 1)")
    t.add_argument("--lr", type=float, help="learning rate (default: the published one)")
    t.add_argument("--chans", type=int, help="U-Net channels (default 32 / VarNet 18)")
    t.add_argument("--pools", type=int, help="U-Net pooling levels (default 4)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--debug", action="store_true", help="show tracebacks")

    r = sub.add_parser(
        "reconstruct",
        help="reconstruct every volume of a directory (trained model, zero-filled, TV or "
        "l1-wavelet compressed sensing)",
        description="Reconstruct every fastMRI volume of --data and write one HDF5 file per "
        "volume (dataset 'reconstruction') into --out: with the model trained in --model "
        "(--method model, the default: U-Net or VarNet as the run says), or without training: "
        "zero-filled, TV (Chambolle-Pock) or l1-wavelet (FISTA) compressed sensing on the SENSE "
        "model (coil maps from the centre lines) with the dimensionless weight --weight.",
    )
    r.add_argument(
        "--model", "--run", dest="run", type=Path, default=None, help="training run directory"
    )
    r.add_argument(
        "--method",
        choices=("model", "unet", "varnet", "zero-filled", "tv", "l1-wavelet"),
        default="model",
        help="model/unet/varnet: the trained --model; zero-filled, tv, l1-wavelet: classical",
    )
    r.add_argument(
        "--weight",
        type=float,
        default=None,
        help="tv/l1-wavelet regularisation weight relative to the zero-filled image's peak "
        "(default: tv 3e-2, l1-wavelet 1e-3, tuned on the synthetic phantoms; tune yours with sciml.mri.cs.tune_weight)",
    )
    r.add_argument("--iters", type=int, default=None, help="tv/l1-wavelet solver iterations")
    r.add_argument(
        "--acceleration", type=float, default=4, help="mask for fully sampled files (classical)"
    )
    r.add_argument(
        "--center-fraction", type=float, default=0.08, help="mask centre fraction (classical)"
    )
    r.add_argument("--data", required=True, type=Path, help="directory of fastMRI volumes")
    r.add_argument("--out", required=True, type=Path, help="output directory")
    r.add_argument("--which", choices=("best", "latest"), default="best", help="checkpoint")
    r.add_argument("--batch-size", type=int, default=4, help="slices per forward pass")
    r.add_argument("--overwrite", action="store_true", help="replace existing reconstructions")

    e = sub.add_parser(
        "evaluate",
        help="NMSE/PSNR/SSIM of reconstructions against targets, per volume, as the reference",
        description="Evaluate reconstructions (one HDF5 per target volume, dataset "
        "'reconstruction') against the targets: both are centre-cropped to (w_t, w_t); prints "
        "the mean and +-2 standard deviations over volumes.",
    )
    e.add_argument("--target", required=True, type=Path, help="directory of target volumes")
    e.add_argument("--recon", required=True, type=Path, help="directory of reconstructions")
    e.add_argument("--challenge", choices=("singlecoil", "multicoil"), default="singlecoil")
    e.add_argument(
        "--acquisition",
        choices=("CORPD_FBK", "CORPDFS_FBK", "AXT1", "AXT1PRE", "AXT1POST", "AXT2", "AXFLAIR"),
        default=None,
        help="evaluate only volumes of this acquisition",
    )
    e.add_argument(
        "--acceleration", type=float, default=None, help="only volumes of this acceleration"
    )
    e.add_argument("--json", type=Path, default=None, help="also write per-volume results here")


def _synthesize(args: argparse.Namespace) -> int:
    from sciml.mri.synthesize import synthesize_dataset

    paths = synthesize_dataset(
        args.out,
        volumes=args.volumes,
        coils=args.coils,
        slices=args.slices,
        shape=tuple(args.shape),
        recon_size=tuple(args.recon_size),
        seed=args.seed,
        anatomy=args.anatomy,
        split=args.split,
        mask=args.mask,
        acceleration=args.acceleration,
        center_fraction=args.center_fraction,
        padding=args.padding,
        noise=args.noise,
        overwrite=args.overwrite,
    )
    kind = "single-coil" if args.coils == 1 else f"{args.coils}-coil"
    print(f"wrote {len(paths)} {kind} {args.split} volumes to {args.out}")
    return 0


def _reconstruct(args: argparse.Namespace) -> int:
    if args.method in ("zero-filled", "tv", "l1-wavelet"):
        from sciml.mri.cs import CS_DEFAULT_WEIGHT, reconstruct_cs_directory

        weight = args.weight if args.weight is not None else CS_DEFAULT_WEIGHT.get(args.method, 0)
        written = reconstruct_cs_directory(
            args.data,
            args.out,
            method=args.method,
            weight=weight,
            mask={
                "kind": "random",
                "center_fractions": [args.center_fraction],
                "accelerations": [args.acceleration],
            },
            iters=args.iters,
            overwrite=args.overwrite,
        )
        print(f"wrote {len(written)} {args.method} reconstructions to {args.out}")
        return 0
    if args.run is None:
        raise ValueError(
            f"--model: expected a training run directory for --method {args.method}, found none; "
            "pass --model RUN_DIR or a classical --method (zero-filled, tv, l1-wavelet)"
        )
    if args.method in ("unet", "varnet"):
        from sciml.mri.reconstruct import read_meta

        kind = read_meta(args.run).get("kind")
        if kind != args.method:
            raise ValueError(
                f"--method {args.method}: the run {args.run} holds a {kind!r} model; pass "
                f"--method {kind} (or --method model)"
            )
    from sciml.mri.reconstruct import reconstruct_directory

    written = reconstruct_directory(
        args.run,
        args.data,
        args.out,
        which=args.which,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
    )
    print(f"wrote {len(written)} reconstructions to {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from sciml.mri.train import mri_train_config, train_mri

    arch: dict = {}
    if args.chans is not None:
        arch["chans"] = args.chans
    if args.pools is not None:
        arch["num_pool_layers" if args.model == "unet" else "pools"] = args.pools
    config = mri_train_config(
        args.data,
        model=args.model,
        challenge=args.challenge,
        run_dir=args.run_dir,
        val=args.val,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        model_kwargs=arch,
        seed=args.seed,
    )
    result = train_mri(config)
    train_rec = [r for r in result.history if r["split"] == "train"]
    loss = f"; train loss {train_rec[-1]['loss']:.4g}" if train_rec else ""
    print(f"trained {args.model} {result.final_step} steps{loss}; run directory {args.run_dir}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from sciml.mri.evaluate import evaluate_directories, format_metrics, save_results

    result = evaluate_directories(
        args.target,
        args.recon,
        challenge=args.challenge,
        acquisition=args.acquisition,
        acceleration=args.acceleration,
    )
    print(f"{result['count']} volumes: {format_metrics(result)}")
    if args.json is not None:
        save_results(args.json, result)
    return 0


def run(args: argparse.Namespace) -> int:
    commands = {
        "synthesize": _synthesize,
        "train": _train,
        "reconstruct": _reconstruct,
        "evaluate": _evaluate,
    }
    return commands[args.mri_command](args)
