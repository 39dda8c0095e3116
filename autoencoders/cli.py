"""Command-line entry points. Argument parsing and exit codes only: the package does the work.

Exit codes: 0 success, 1 a run failed (e.g. NaN loss), 2 bad input (config, data, run folder).
The config is validated before TensorFlow is imported, so a typo fails in well under a second
and leaves nothing on disk.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from autoencoders.config import ConfigError, load_config

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train one autoencoder experiment from a YAML config and write a self-contained run folder.",
        epilog="example: python train.py --config configs/blog/dense.yaml --set loss.name=mse --set training.epochs=5",
    )
    p.add_argument("--config", required=True, type=Path, help="YAML experiment config (see configs/ and README)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value by dotted key, e.g. --set training.epochs=5 (repeatable)")
    p.add_argument("--out", type=Path, default=Path("results/runs"), help="parent folder of run folders (default: results/runs)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its last finished epoch")
    p.add_argument("--overwrite", action="store_true", help="delete an existing run folder of the same name and train again")
    return p


def train_main(argv: list[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as e:
        return _fail(str(e))
    if args.resume and args.overwrite:
        return _fail("--resume and --overwrite exclude each other")
    _setup_logging()
    from autoencoders.data import DataError
    from autoencoders.training import RunError, train

    run_dir = args.out / cfg.name
    try:
        result = train(cfg, run_dir, resume=args.resume, overwrite=args.overwrite)
    except (RunError, DataError) as e:
        return _fail(str(e))
    m = result.metrics
    if m["status"] != "completed":
        print(f"run failed: {m.get('reason')} ({run_dir})", file=sys.stderr)
        return EXIT_FAILED
    t = m["test"]
    print(f"{cfg.name}: {m['epochs']} epochs in {m['train_seconds']:.1f} s; test pixel MSE {t['mse']:.5f}, "
          f"BCE {t['bce']:.4f}, PSNR {t['psnr']:.2f} dB -> {run_dir}")
    return 0
