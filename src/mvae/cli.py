"""``mvae`` command line: ``mvae train --config FILE [key=value ...]`` and ``mvae data NAME``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mvae.config import ConfigError, load_config


def _train(args: argparse.Namespace) -> int:
    from mvae.train import train

    config = load_config(args.config, args.overrides)
    run_dir = Path(args.run_dir or Path("runs") / config.name)
    result = train(config, run_dir, progress=not args.quiet, until_epoch=args.until_epoch)
    last = result.history[-1] if result.history else {}
    print(json.dumps({"run_dir": str(run_dir), "finished": result.finished, **last}, indent=2))
    return 0


def _data(args: argparse.Namespace) -> int:
    from mvae import data

    for name in args.names:
        record = data.prepare(name, Path(args.root) if args.root else None,
                              cifar10_path=args.cifar10_path)
        print(json.dumps(record, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train (or resume) one configuration")
    p.add_argument("--config", help="YAML config file (defaults: the paper's MNIST K=4 setup)")
    p.add_argument("--run-dir", help="run folder (default: runs/<name>)")
    p.add_argument("--until-epoch", type=int, help="stop after this epoch; rerun to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    p.set_defaults(func=_train)

    p = sub.add_parser("data", help="download, verify and cache datasets")
    p.add_argument("names", nargs="+", help="mnist, fashion_mnist, cifar10")
    p.add_argument("--root", help="cache folder (default: $MVAE_DATA_DIR or ./data)")
    p.add_argument("--cifar10-path", help="folder with a local CIFAR-10 copy (fallback source)")
    p.set_defaults(func=_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"mvae: config error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
