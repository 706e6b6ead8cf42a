#!/usr/bin/python3
"""Compress -> re-learn -> decide loop (seed "MODEL COMPRESSION DEVICE, MODEL COMPRESSION METHOD").

Starting from the first model (the digits CNN, configs/networks/digits_cnn.onnx), each round
  1. compresses the last accepted model one rung further up a ladder of compression levels: the
     optimizer-based pruner (scripts/prune/optimizer_pruner.py) raises its sparsity budget to the
     rung's target while training, then `cimtlm quantize` quantizes it with the rung's policy;
  2. re-learns the pruned model (fine-tuning with its zeros held: the same optimizer, the
     proximal operator replaced by the fixed mask), before the quantization of step 1;
  3. evaluates the index of the re-learned, compressed model: its validation accuracy as the
     platform computes it (the lowered integer model, `cimtlm quantize --val`), and its simulated
     CIM tiles, energy and cycles per inference (`cimtlm run --stats`, outputs bit-exact);
  4. decides: if the index is at least the threshold (the original model's accuracy minus
     --max-drop points) the model is accepted and may be compressed further (next rung);
     otherwise the loop stops and the last accepted model is the result.
Round 0 is the original model quantized without pruning (the dense reference for tiles/energy).

Writes to --out-dir: round_<k>.onnx / .q.onnx / .stats.json per round, rounds.csv,
compress_loop.log, summary.json, final.onnx and final.q.onnx (the last accepted model), and the
plot (--plot, default OUT/compress_loop.png).

Usage: /usr/bin/python3 scripts/compress_loop.py --platform configs/platforms/default.yaml
           [--ladder 0.5,0.7,0.8,0.8:int4,0.85:int4,0.9:int4] [--structure input+output] [--policy int8]
           [--max-drop 1.0] [--prune-epochs 8] [--relearn-epochs 6] [--out-dir traces/compress_loop]
A rung is a sparsity, optionally with its own `cimtlm quantize` policy (default --policy int8).
"""
import argparse
import csv
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

import torch  # noqa: E402

from prune import cimtlm_tools, digits  # noqa: E402
from prune.optimizer_pruner import (OptimizerPruner, SparsityBudget, STRUCTURES,  # noqa: E402
                                    structured_zero_fraction)

CSV_FIELDS = ["round", "target_sparsity", "policy", "sparsity", "structured_zero_fraction",
              "zero_output_channels", "zero_input_elements", "pruned_accuracy", "relearned_accuracy",
              "quantized_accuracy", "threshold", "accepted", "tiles", "tiles_dense",
              "energy_pj_per_inference", "cycles_per_inference", "match_reference", "seconds"]


@dataclass
class Rung:
    sparsity: float
    policy: str


@dataclass
class LoopConfig:
    platform: str
    cimtlm: str = cimtlm_tools.DEFAULT_CIMTLM
    model: str = digits.DEFAULT_MODEL
    data_dir: str = digits.DEFAULT_DATA
    ladder: List[Rung] = field(default_factory=list)
    structure: str = "input+output"
    max_drop_points: float = 1.0
    prune_epochs: int = 8
    relearn_epochs: int = 6
    prune_lr: float = 1e-3
    relearn_lr: float = 5e-4
    ramp_fraction: float = 0.75  # of the pruning steps over which the budget rises
    policy: str = "int8"
    out_dir: str = os.path.join(ROOT, "traces", "compress_loop")
    plot: Optional[str] = None
    quiet: bool = False


def parse_ladder(text: str, policy: str) -> List[Rung]:
    rungs = []
    for item in text.split(","):
        sparsity, _, rung_policy = item.strip().partition(":")
        value = float(sparsity)
        if not 0.0 <= value < 1.0:
            raise SystemExit(f"--ladder: sparsity {value} is not in [0, 1)")
        rungs.append(Rung(value, rung_policy or policy))
    return rungs


class Logger:
    def __init__(self, path: str, quiet: bool):
        self.handle = open(path, "w")
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        self.handle.write(message + "\n")
        self.handle.flush()
        if not self.quiet:
            print(message, flush=True)

    def close(self) -> None:
        self.handle.close()


def evaluate(config: LoopConfig, data: digits.DigitsData, model: torch.nn.Module, name: str,
             policy: str, log) -> dict:
    """Export, quantize (accuracy as the platform computes it) and simulate one model."""
    float_path = os.path.join(config.out_dir, f"{name}.onnx")
    quantized_path = os.path.join(config.out_dir, f"{name}.q.onnx")
    digits.export_onnx(model, float_path)
    report = cimtlm_tools.quantize(config.cimtlm, float_path, data.calib_path, data.val_path,
                                   quantized_path, config.platform, policy, log)
    stats = cimtlm_tools.run(config.cimtlm, config.platform, quantized_path,
                             os.path.join(config.out_dir, f"{name}.stats.json"),
                             {"image": data.sample_path}, log)
    return {"quantized_accuracy": report["validation"]["quantized_accuracy"],
            "tiles": stats["map.tiles"], "tiles_dense": stats["map.tiles_dense"],
            "energy_pj_per_inference": stats["energy_pj.per_inference"],
            "cycles_per_inference": stats["sim.cycles_per_inference"],
            "match_reference": bool(stats["outputs.match_reference"]),
            "float_path": float_path, "quantized_path": quantized_path}


def pruning_state(model: torch.nn.Module, structure: str) -> OptimizerPruner:
    """A pruner only for measuring (its penalty is never applied)."""
    return OptimizerPruner(model, SparsityBudget(0.0), structure=structure)


def run_loop(config: LoopConfig) -> dict:
    """Runs the loop; returns {"rounds": [...], "final_round": k, "stopped_by": ...}."""
    os.makedirs(config.out_dir, exist_ok=True)
    log = Logger(os.path.join(config.out_dir, "compress_loop.log"), config.quiet)
    digits.deterministic()
    data = digits.DigitsData(config.data_dir)
    loss_fn = torch.nn.CrossEntropyLoss()

    model = digits.load_model(config.model)
    original_accuracy = digits.accuracy(model, data.val_x, data.val_y)
    threshold = original_accuracy - config.max_drop_points / 100.0
    log(f"original model {config.model}: validation accuracy {100 * original_accuracy:.2f} %, "
        f"threshold {100 * threshold:.2f} % (max drop {config.max_drop_points} points)")

    rounds = []
    accepted_state = None
    accepted_sparsity = 0.0
    final_round = None
    stopped_by = "ladder exhausted"
    ladder = [Rung(0.0, config.ladder[0].policy if config.ladder else config.policy)] + list(config.ladder)
    for index, rung in enumerate(ladder):
        started = time.time()
        model = digits.load_model(config.model)
        if accepted_state is not None:
            model.load_state_dict(accepted_state)
        pruned_accuracy = relearned_accuracy = digits.accuracy(model, data.val_x, data.val_y)
        if index > 0:
            # 1. Compress: the pruner raises the budget from the accepted sparsity to the rung's.
            steps_per_epoch = -(-len(data.train_x) // digits.BATCH)
            ramp = max(1, int(config.ramp_fraction * config.prune_epochs * steps_per_epoch))
            budget = SparsityBudget(rung.sparsity, ramp, min(accepted_sparsity, rung.sparsity))
            pruner = OptimizerPruner(model, budget, structure=config.structure, lr=config.prune_lr)
            train(model, pruner, loss_fn, data.batches(seed=100 + index), config.prune_epochs)
            pruned_accuracy = digits.accuracy(model, data.val_x, data.val_y)
            # 2. Re-learn the compressed model with its zeros held.
            relearner = OptimizerPruner(model, pruner.fixed_mask_penalty(), lr=config.relearn_lr)
            train(model, relearner, loss_fn, data.batches(seed=200 + index), config.relearn_epochs)
            relearned_accuracy = digits.accuracy(model, data.val_x, data.val_y)
        measure = pruning_state(model, config.structure)
        report = measure.report()
        # 3. Evaluate the index (and the simulated cost) of the quantized, re-learned model.
        evaluation = evaluate(config, data, model, f"round_{index}", rung.policy, log)
        accepted = evaluation["quantized_accuracy"] >= threshold - 1e-9
        row = {"round": index, "target_sparsity": rung.sparsity, "policy": rung.policy,
               "sparsity": measure.sparsity(), "structured_zero_fraction": structured_zero_fraction(report),
               "zero_output_channels": sum(r["zero_output_channels"] for r in report),
               "zero_input_elements": sum(r["zero_input_elements"] for r in report),
               "pruned_accuracy": pruned_accuracy, "relearned_accuracy": relearned_accuracy,
               "quantized_accuracy": evaluation["quantized_accuracy"], "threshold": threshold,
               "accepted": accepted, "tiles": evaluation["tiles"], "tiles_dense": evaluation["tiles_dense"],
               "energy_pj_per_inference": evaluation["energy_pj_per_inference"],
               "cycles_per_inference": evaluation["cycles_per_inference"],
               "match_reference": evaluation["match_reference"], "seconds": time.time() - started}
        rounds.append(row)
        log(f"round {index}: target {100 * rung.sparsity:.0f} % {rung.policy}, sparsity "
            f"{100 * row['sparsity']:.1f} % ({100 * row['structured_zero_fraction']:.1f} % in whole rows/columns), "
            f"accuracy pruned {100 * pruned_accuracy:.2f} % -> re-learned {100 * relearned_accuracy:.2f} % -> "
            f"quantized {100 * row['quantized_accuracy']:.2f} %, tiles {row['tiles']} ({row['tiles_dense']} dense), "
            f"{row['energy_pj_per_inference'] / 1e6:.3f} uJ and {row['cycles_per_inference']:.0f} cycles "
            f"per inference, {'bit-exact' if row['match_reference'] else 'OUTPUTS DIFFER'}: "
            f"{'accepted' if accepted else 'rejected'} ({row['seconds']:.1f} s)")
        if not row["match_reference"]:
            raise SystemExit(f"round {index}: simulated outputs differ from the reference executor")
        # 4. Decide whether the re-learned model can be compressed further.
        if not accepted:
            stopped_by = f"round {index} below the threshold"
            break
        final_round = index
        accepted_state = {k: v.clone() for k, v in model.state_dict().items()}
        accepted_sparsity = rung.sparsity

    if final_round is None:
        log("no compressed model meets the threshold; the original model stands")
    else:
        for suffix in (".onnx", ".q.onnx"):
            shutil.copyfile(os.path.join(config.out_dir, f"round_{final_round}{suffix}"),
                            os.path.join(config.out_dir, f"final{suffix}"))
        final = rounds[final_round]
        dense = rounds[0]
        log(f"result: round {final_round} ({100 * final['sparsity']:.1f} % sparse, {final['policy']}), "
            f"accuracy {100 * final['quantized_accuracy']:.2f} %, tiles {final['tiles']} of {dense['tiles']}, "
            f"energy {100 * final['energy_pj_per_inference'] / dense['energy_pj_per_inference']:.0f} % and cycles "
            f"{100 * final['cycles_per_inference'] / dense['cycles_per_inference']:.0f} % of the dense model; "
            f"stopped: {stopped_by}; {config.out_dir}/final.onnx, final.q.onnx")

    with open(os.path.join(config.out_dir, "rounds.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rounds:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    summary = {"original_model": config.model, "original_accuracy": original_accuracy,
               "threshold": threshold, "platform": config.platform, "structure": config.structure,
               "final_round": final_round, "stopped_by": stopped_by, "rounds": rounds}
    with open(os.path.join(config.out_dir, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    plot = config.plot if config.plot is not None else os.path.join(config.out_dir, "compress_loop.png")
    if plot:
        plot_rounds(rounds, threshold, original_accuracy, plot)
        log(f"wrote {os.path.join(config.out_dir, 'rounds.csv')} and {plot}")
    log.close()
    return summary


def train(model, pruner, loss_fn, batches, epochs):
    model.train()
    for epoch in range(epochs):
        for inputs, targets in batches(epoch):
            model.zero_grad(set_to_none=True)
            loss_fn(model(inputs), targets).backward()
            pruner.step()
    model.eval()


def plot_rounds(rounds, threshold, original_accuracy, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [row["round"] for row in rounds]
    labels = [f"{100 * row['sparsity']:.0f} %\n{row['policy']}" for row in rounds]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True)
    top.plot(x, [100 * r["relearned_accuracy"] for r in rounds], "s--", color="tab:gray",
             label="float, re-learned")
    top.plot(x, [100 * r["quantized_accuracy"] for r in rounds], "o-", color="tab:blue",
             label="quantized (index)")
    for row in rounds:
        if not row["accepted"]:
            top.plot(row["round"], 100 * row["quantized_accuracy"], "x", color="tab:red", markersize=12,
                     markeredgewidth=2.5, label="rejected: loop stops")
    top.axhline(100 * original_accuracy, color="black", linewidth=0.8, label="original model")
    top.axhline(100 * threshold, color="tab:red", linestyle=":", label="threshold")
    top.set_ylabel("validation accuracy (%)")
    top.legend(fontsize=8, loc="lower left")
    top.grid(alpha=0.3)
    top.set_title("compress -> re-learn -> decide (digits CNN, simulated on the platform)")

    energy = [r["energy_pj_per_inference"] / 1e6 for r in rounds]
    bottom.bar(x, energy, color=["tab:green" if r["accepted"] else "tab:red" for r in rounds], alpha=0.7)
    bottom.set_ylabel("energy per inference (uJ)")
    tiles_axis = bottom.twinx()
    tiles_axis.plot(x, [r["tiles"] for r in rounds], "D-", color="tab:purple", label="CIM tiles")
    tiles_axis.set_ylabel("CIM tiles", color="tab:purple")
    tiles_axis.set_ylim(0, max(r["tiles_dense"] for r in rounds) + 1)
    bottom.set_xticks(x)
    bottom.set_xticklabels(labels, fontsize=8)
    bottom.set_xlabel("round (sparsity, weight policy)")
    bottom.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", required=True, help="platform YAML for cimtlm run")
    parser.add_argument("--cimtlm", default=cimtlm_tools.DEFAULT_CIMTLM)
    parser.add_argument("--model", default=digits.DEFAULT_MODEL, help="the first model (digits CNN ONNX)")
    parser.add_argument("--data-dir", default=digits.DEFAULT_DATA)
    parser.add_argument("--ladder", default="0.5,0.7,0.8,0.8:int4,0.85:int4,0.9:int4",
                        help="increasing sparsities, each optionally :POLICY")
    parser.add_argument("--policy", default="int8", help="cimtlm quantize policy of rungs without one")
    parser.add_argument("--structure", default="input+output", choices=STRUCTURES)
    parser.add_argument("--max-drop", type=float, default=1.0,
                        help="accuracy points below the original model still accepted")
    parser.add_argument("--prune-epochs", type=int, default=8)
    parser.add_argument("--relearn-epochs", type=int, default=6)
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "traces", "compress_loop"))
    parser.add_argument("--plot", default=None, help="PNG (default OUT/compress_loop.png; '' for none)")
    parser.add_argument("--save-model", default=None,
                        help="also copy the final model to PATH.onnx and PATH.q.onnx")
    args = parser.parse_args()
    if not os.path.exists(args.cimtlm):
        raise SystemExit(f"{args.cimtlm} not found: build first (cmake --build build)")
    config = LoopConfig(platform=args.platform, cimtlm=args.cimtlm, model=args.model,
                        data_dir=args.data_dir, ladder=parse_ladder(args.ladder, args.policy),
                        structure=args.structure, max_drop_points=args.max_drop,
                        prune_epochs=args.prune_epochs, relearn_epochs=args.relearn_epochs,
                        policy=args.policy, out_dir=args.out_dir, plot=args.plot)
    summary = run_loop(config)
    if args.save_model and summary["final_round"] is not None:
        for suffix in (".onnx", ".q.onnx"):
            shutil.copyfile(os.path.join(args.out_dir, f"final{suffix}"), args.save_model + suffix)
        print(f"wrote {args.save_model}.onnx and {args.save_model}.q.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
