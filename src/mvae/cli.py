"""``mvae`` command line: ``mvae train --config FILE [key=value ...]``, ``mvae data NAME`` and
``mvae evaluate RUN_DIR [--iwae-samples N] [--out DIR]``.

Every error reaches the user as one line naming the file, key or value at fault (exit 2 for a bad
config or argument, 1 for anything else); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mvae.config import DATASETS, ConfigError, load_config, short_repr
from mvae.limits import MAX_IWAE_SAMPLES


def _train(args: argparse.Namespace) -> int:
    from mvae.train import train

    config = load_config(args.config, args.overrides)
    run_dir = Path(args.run_dir or Path("runs") / config.name)
    result = train(config, run_dir, progress=not args.quiet, until_epoch=args.until_epoch,
                   fresh=args.fresh)
    last = result.history[-1] if result.history else {}
    print(json.dumps({"run_dir": str(run_dir), "finished": result.finished, **last}, indent=2))
    return 0


def _data(args: argparse.Namespace) -> int:
    from mvae import data

    unknown = [name for name in args.names if name not in DATASETS]
    if unknown:  # before anything is fetched
        raise ConfigError(f"unknown dataset(s) {', '.join(map(repr, unknown))}; allowed: "
                          f"{', '.join(DATASETS)}")
    for name in args.names:
        record = data.prepare(name, Path(args.root) if args.root else None,
                              cifar10_path=args.cifar10_path)
        print(json.dumps(record, indent=2, default=str))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mvae.run_report import evaluate_run

    record = evaluate_run(args.run_dir, args.out, iwae_samples=args.iwae_samples,
                          allow_unfinished=args.allow_unfinished)
    summary = {"report": record["files"]["report"], "run": record["run"],
               "epochs_done": record["epochs_done"], "test_elbo": record["test"]["elbo"],
               "sse_per_image": {mode: errors["mixture"]["sse_per_image"]
                                 for mode, errors in record["reconstruction"].items()},
               "verdict": record["diagnostics"]["verdict"]}
    if "iwae" in record:
        summary["iwae_nll"] = record["iwae"]["nll"]
    print(json.dumps(summary, indent=2))
    return 0


def _at_least_one(what: str, maximum: int | None = None):
    """An argparse type: a whole number >= 1, and <= ``maximum`` when given (``what`` names it
    in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what} >= 1, got {text[:40]!r}") from None
        if value < 1:  # a negative --until-epoch used to do nothing, silently
            raise argparse.ArgumentTypeError(f"must be {what} >= 1, got {value}")
        if maximum is not None and value > maximum:  # 10**20 samples: days, not an answer
            raise argparse.ArgumentTypeError(
                f"must be {what} from 1 to {maximum:,}, got {short_repr(value)}")
        return value

    return parse


# --iwae-samples: importance samples, each thousand the better part of an hour on one CPU core
_samples = _at_least_one("a whole number", MAX_IWAE_SAMPLES)
_epoch = _at_least_one("an epoch number")   # --until-epoch


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvae", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    p = sub.add_parser("train", parents=[debug], help="train (or resume) one configuration")
    p.add_argument("--config", help="YAML config file (defaults: the paper's MNIST K=4 setup)")
    p.add_argument("--run-dir", help="run folder (default: runs/<name>)")
    p.add_argument("--until-epoch", type=_epoch, help="stop after this epoch; rerun to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--fresh", action="store_true",
                   help="start afresh: move what the run folder holds (a finished, copied or "
                        "damaged run) to <parent>/.replaced/<name>-<time>/ first; never in an "
                        "archive (results/paper)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides (before, after or between the options)")
    p.set_defaults(func=_train)

    p = sub.add_parser("data", parents=[debug], help="download, verify and cache datasets")
    p.add_argument("names", nargs="+", help="mnist, fashion_mnist, cifar10")
    p.add_argument("--root", help="cache folder (default: $MVAE_DATA_DIR or ./data)")
    p.add_argument("--cifar10-path", help="folder with a local CIFAR-10 copy (fallback source)")
    p.set_defaults(func=_data)

    p = sub.add_parser("evaluate", parents=[debug],
                       help="evaluate a trained run folder: test ELBO, reconstruction errors, "
                            "mixture diagnostics, figures (and the IWAE log-likelihood)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder mvae train wrote")
    p.add_argument("--iwae-samples", type=_samples, metavar="N",
                   help="also estimate log p(x) with N importance samples (Bernoulli datasets; "
                        "the pipeline uses 1000)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/evaluation)")
    p.add_argument("--allow-unfinished", action="store_true",
                   help="evaluate a run that has not finished its epochs, as it is")
    p.set_defaults(func=_evaluate)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse, accepting ``key=value`` overrides anywhere after ``train`` (argparse alone takes
    one run of positionals, so ``mvae train epochs=1 --quiet lr=1e-4`` was refused)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    overrides = [a for a in extra if "=" in a and not a.startswith("-")]
    rest = [a for a in extra if a not in overrides]
    if rest or (overrides and args.command != "train"):
        parser.error(f"unrecognized arguments: {' '.join(rest or overrides)}")
    if overrides:
        args.overrides = [*args.overrides, *overrides]
    return args


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        if args.debug:
            raise
        print(f"mvae: config error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mvae: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as err:  # a user's mistake or an environment problem: one line, no trace
        if args.debug:
            raise
        print(f"mvae: error: {_one_line(err)} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
