#!/usr/bin/python3
"""Prune the digits CNN once with the optimizer-based pruner and export it to ONNX.

Loads the first model (configs/networks/digits_cnn.onnx), trains it under a sparsity penalty with
OptimizerPruner (scripts/prune/optimizer_pruner.py: Adam on the flattened parameter vector, then
the penalty's proximal operator on the whole vector), re-learns it with its zeros held, and writes
the float ONNX model for `cimtlm quantize`. Seeded, deterministic, CPU, a few seconds.

Usage: /usr/bin/python3 scripts/prune_digits.py -o OUT.onnx [--penalty budget|l1|l0] [--value 0.7]
           [--structure element|output|input|input+output] [--epochs 8] [--relearn-epochs 6]
  --penalty budget --value S   exactly S of the weights zero (groups: at least S)
  --penalty l1 --value L       soft thresholding, strength L (as many zeros as L allows)
  --penalty l0 --value L       hard thresholding, strength L
Then, e.g.: build/cimtlm quantize OUT.onnx --calib configs/networks/digits_data/calib.npy
            --val configs/networks/digits_data/val_inputs.npy --platform configs/platforms/default.yaml
"""
import argparse
import json
import os
import sys

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

import torch  # noqa: E402

from prune import digits  # noqa: E402
from prune.optimizer_pruner import (STRUCTURES, OptimizerPruner, make_penalty, prune,  # noqa: E402
                                    structured_zero_fraction)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", required=True, help="pruned float ONNX model")
    parser.add_argument("--model", default=digits.DEFAULT_MODEL)
    parser.add_argument("--penalty", default="budget", choices=["budget", "l1", "l0"])
    parser.add_argument("--value", type=float, default=0.7, help="sparsity (budget) or strength (l1/l0)")
    parser.add_argument("--structure", default="input+output", choices=STRUCTURES)
    parser.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--relearn-epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    digits.deterministic()
    data = digits.DigitsData()
    model = digits.load_model(args.model)
    loss_fn = torch.nn.CrossEntropyLoss()
    original = digits.accuracy(model, data.val_x, data.val_y)
    steps = args.epochs * -(-len(data.train_x) // digits.BATCH)
    penalty = make_penalty(args.penalty, args.value, ramp_steps=int(0.75 * steps))
    pruner = prune(model, loss_fn, data.batches(args.seed), penalty, structure=args.structure,
                   epochs=args.epochs, lr=args.lr, optimizer=args.optimizer)
    pruned = digits.accuracy(model, data.val_x, data.val_y)
    relearner = OptimizerPruner(model, pruner.fixed_mask_penalty(), lr=args.lr / 2)
    prune(model, loss_fn, data.batches(args.seed + 1), None, epochs=args.relearn_epochs, pruner=relearner)
    relearned = digits.accuracy(model, data.val_x, data.val_y)
    digits.export_onnx(model, args.output)

    report = relearner.report()
    print(f"{args.penalty} {args.value} ({args.structure}): sparsity {100 * relearner.sparsity():.1f} % of "
          f"{relearner.prunable_count} weights, {100 * structured_zero_fraction(report):.1f} % in whole "
          f"output channels / input elements")
    for row in report:
        print(f"  {row['tensor']:14s} {row['shape'][0]:3d} x {row['shape'][1]:3d}: {row['zeros']:6d} zeros, "
              f"{row['zero_output_channels']} output channels and {row['zero_input_elements']} input elements zero")
    print(f"validation accuracy: original {100 * original:.2f} %, pruned {100 * pruned:.2f} %, "
          f"re-learned {100 * relearned:.2f} %")
    with open(os.path.splitext(args.output)[0] + ".prune.json", "w") as handle:
        json.dump({"penalty": args.penalty, "value": args.value, "structure": args.structure,
                   "sparsity": relearner.sparsity(), "tensors": report,
                   "accuracy": {"original": original, "pruned": pruned, "relearned": relearned}},
                  handle, indent=2)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
