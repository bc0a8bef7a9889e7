"""Does bf16 training cost quality? Two same-seed MNIST K = 4 runs, float32 against bf16.

    python benchmarks/precision_quality.py --root /tmp/quality            # 10 epochs each
    python benchmarks/precision_quality.py --root /tmp/quality --bf16 bf16  # on AMX hardware

The bf16 run uses ``precision=bf16-emulated`` by default (bf16 roundings around float32
matmuls), which runs on any CPU; on a CPU with bf16 units ``--bf16 bf16`` trains with the real
kernels. Runs resume if interrupted. The criterion (issue "fast training on this CPU"): the bf16
run ends within 0.5 nats of the float32 run's test loss and within 2% of its per-image squared
error (deterministic mode: E[w], posterior means). Prints both and writes ``quality.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mvae import Config, evaluate
from mvae.provenance import collect, write_json
from mvae.train import load_run, load_split, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="folder for the two runs")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--bf16", default="bf16-emulated", choices=["bf16-emulated", "bf16"])
    parser.add_argument("--train-subset", type=int, help="fewer training images (smoke tests)")
    args = parser.parse_args(argv)
    results = {}
    for precision in ("fp32", args.bf16):
        config = Config(components=4, epochs=args.epochs, seed=0, precision=precision,
                        name=f"quality-{precision}", train_subset=args.train_subset)
        run_dir = args.root / precision
        history = train(config, run_dir, progress=False).history
        model, config = load_run(run_dir)
        errors = evaluate.reconstruction_errors(model, load_split(config, "test").floats())
        results[precision] = {"test_loss": history[-1]["test"]["loss"],
                              "sse_per_image": errors["mixture"]["sse_per_image"],
                              "train_seconds": history[-1]["seconds"]}
    fp32, low = results["fp32"], results[args.bf16]
    verdict = {"loss_gap_nats": low["test_loss"] - fp32["test_loss"],
               "sse_gap_relative": low["sse_per_image"] / fp32["sse_per_image"] - 1}
    verdict["holds"] = (abs(verdict["loss_gap_nats"]) <= 0.5
                        and abs(verdict["sse_gap_relative"]) <= 0.02)
    for name, r in results.items():
        print(f"{name:<14} test loss {r['test_loss']:8.3f} nats | per-image SSE "
              f"{r['sse_per_image']:7.3f} | {r['train_seconds']:6.0f} s training")
    print(f"gap: {verdict['loss_gap_nats']:+.3f} nats, {100 * verdict['sse_gap_relative']:+.2f}% "
          f"SSE -> criterion {'holds' if verdict['holds'] else 'fails'}")
    write_json(args.root / "quality.json", {"provenance": collect("cpu"), "epochs": args.epochs,
                                            "runs": results, **verdict})
    return 0


if __name__ == "__main__":
    sys.exit(main())
