#!/usr/bin/env python3
"""Print whether each seed group of a preset trained with the same code, and the witness pairs.

    python scripts/code_identity.py [--preset paper] [--csv PATH] [--witness-csv PATH]

For every seed group of the preset (:attr:`mvae.selections.Selections.seed_groups`), one row per
run with its device, commit and training-code digests read from git, and the commits between
its runs that changed the training code, less those a witness covers; then every pair of
archived runs with the same resolved objective, and whether their numbers are bit-identical
(:mod:`mvae.code_identity`). Reads ``results/<preset>/`` and git, writes only the CSVs asked for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mvae.code_identity import (  # noqa: E402
    group_summary,
    seed_group_table,
    witnessed_commits,
    witnesses,
)
from mvae.presets import load_preset  # noqa: E402
from mvae.selections import select  # noqa: E402

#: The per-run columns printed (the CSV has every column, the group's included).
RUN_COLUMNS = ["group", "run", "seed", "device", "commit", "dirty", "blobs", "code", "differs_in",
               "same_blobs", "same_code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--results", type=Path, help="default: results/<preset>")
    parser.add_argument("--csv", type=Path, help="write the seed-group table here")
    parser.add_argument("--witness-csv", type=Path, help="write the witness pairs here")
    args = parser.parse_args(argv)
    results = args.results or REPO / "results" / args.preset
    groups = select(load_preset(args.preset, REPO / "pipeline" / "config")).seed_groups
    pairs = witnesses(results, REPO)
    table = seed_group_table(results, groups, REPO, witnessed_commits(pairs, REPO))
    with pd.option_context("display.width", 250, "display.max_rows", None,
                           "display.max_columns", None, "display.max_colwidth", 60):
        print(table[RUN_COLUMNS].to_string(index=False), end="\n\n")
        print(group_summary(table).to_string(index=False), end="\n\n")
        print(pairs.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.witness_csv:
        pairs.to_csv(args.witness_csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
