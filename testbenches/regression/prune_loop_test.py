#!/usr/bin/python3
"""Regression test of the optimizer-based pruner and the compress -> re-learn -> decide loop.

Usage: prune_loop_test.py CIMTLM SOURCE_ROOT OUTPUT_DIR   (ctest: prune_compress_loop, < 60 s)

Checks, on the digits CNN (configs/networks/digits_cnn.onnx) and the default platform:
  1. a sparsity budget is met exactly (unstructured), accuracy stays within 2 points after
     re-learning, re-learning keeps every zero, and two runs give identical parameters;
  2. L1 soft thresholding zeroes more weights under a stronger penalty, and the pruner works on
     another architecture (an MLP with batch normalisation) without knowing it;
  3. structured pruning (whole array rows and columns) lowers the simulated map.tiles and the
     energy per inference against the dense model, outputs bit-exact;
  4. the loop accepts a mild rung, rejects a rung that costs accuracy and stops there (later rungs
     never run, the result is the last accepted model), and with a lax threshold goes on instead.
"""
import os
import sys
import time

import torch


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print(f"ok: {message}")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    cimtlm, root, out_dir = sys.argv[1:4]
    sys.path.insert(0, os.path.join(root, "scripts"))
    from prune import cimtlm_tools, digits
    from prune.optimizer_pruner import (FixedMask, L1Penalty, OptimizerPruner, SparsityBudget, prune,
                                        structured_zero_fraction)
    import compress_loop

    started = time.time()
    os.makedirs(out_dir, exist_ok=True)
    platform = os.path.join(root, "configs", "platforms", "default.yaml")
    digits.deterministic()
    data = digits.DigitsData(os.path.join(root, "configs", "networks", "digits_data"))
    loss_fn = torch.nn.CrossEntropyLoss()
    model_path = os.path.join(root, "configs", "networks", "digits_cnn.onnx")
    original = digits.accuracy(digits.load_model(model_path), data.val_x, data.val_y)

    # 1. Unstructured sparsity budget.
    def budget_run(seed):
        model = digits.load_model(model_path)
        pruner = prune(model, loss_fn, data.batches(seed), SparsityBudget(0.8, ramp_steps=60),
                       epochs=4, lr=1e-3)
        return model, pruner
    model, pruner = budget_run(1)
    expected_zeros = round(0.8 * pruner.prunable_count)
    check(round(pruner.sparsity() * pruner.prunable_count) == expected_zeros,
          f"budget 0.8: exactly {expected_zeros} of {pruner.prunable_count} weights zero "
          f"(sparsity {pruner.sparsity():.4f})")
    mask = pruner.mask()
    first_vector = pruner.vector()
    relearner = OptimizerPruner(model, FixedMask(mask), lr=5e-4)
    prune(model, loss_fn, data.batches(2), None, epochs=2, pruner=relearner)
    check(bool(((relearner.vector() != 0) <= mask).all()), "re-learning keeps every pruned weight zero")
    pruned_accuracy = digits.accuracy(model, data.val_x, data.val_y)
    check(pruned_accuracy >= original - 0.02,
          f"80 % sparse accuracy {100 * pruned_accuracy:.2f} % within 2 points of {100 * original:.2f} %")
    biases = [name for name, _ in model.named_parameters() if name.endswith("bias")]
    check(all(bool((dict(model.named_parameters())[name] != 0).all()) for name in biases),
          "biases are not pruned")
    check(torch.equal(budget_run(1)[1].vector(), first_vector),
          "two seeded runs give identical parameter vectors")

    # 2. L1 strength is monotone; architecture-agnostic on an MLP with batch norm.
    zeros = []
    for strength in (0.3, 1.0):
        model = digits.load_model(model_path)
        zeros.append(prune(model, loss_fn, data.batches(3), L1Penalty(strength), epochs=2).sparsity())
    check(0.0 < zeros[0] < zeros[1], f"L1 sparsity grows with the strength: {zeros[0]:.3f} < {zeros[1]:.3f}")
    torch.manual_seed(5)
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 48), torch.nn.BatchNorm1d(48),
                              torch.nn.ReLU(), torch.nn.Linear(48, 10))
    mlp_pruner = prune(mlp, loss_fn, data.batches(4), SparsityBudget(0.6), structure="output", epochs=2)
    report = mlp_pruner.report()
    check(mlp_pruner.prunable_count == 64 * 48 + 48 * 10 and mlp_pruner.sparsity() >= 0.6
          and structured_zero_fraction(report) == mlp_pruner.sparsity()
          and bool((mlp[2].weight != 0).all()),
          f"an MLP with batch norm: {100 * mlp_pruner.sparsity():.1f} % in whole output channels, "
          "batch-norm scales kept")

    # 3. Structured pruning saves array tiles on the simulated platform.
    def simulate(model, name):
        path = os.path.join(out_dir, f"{name}.onnx")
        digits.export_onnx(model, path)
        quantized = os.path.join(out_dir, f"{name}.q.onnx")
        report = cimtlm_tools.quantize(cimtlm, path, data.calib_path, data.val_path, quantized,
                                       platform, "int8")
        stats = cimtlm_tools.run(cimtlm, platform, quantized, os.path.join(out_dir, f"{name}.stats.json"),
                                 {"image": data.sample_path})
        return report["validation"]["quantized_accuracy"], stats
    _, dense = simulate(digits.load_model(model_path), "dense")
    model = digits.load_model(model_path)
    structured = prune(model, loss_fn, data.batches(5), SparsityBudget(0.7, ramp_steps=60),
                       structure="input+output", epochs=4)
    check(abs(structured_zero_fraction(structured.report()) - structured.sparsity()) < 1e-12
          and structured.sparsity() >= 0.7,
          f"structured budget 0.7: {100 * structured.sparsity():.1f} % zero, all in whole rows/columns")
    structured_accuracy, pruned = simulate(model, "structured70")
    check(pruned["outputs.match_reference"] and dense["outputs.match_reference"],
          "pruned and dense models run bit-exact on the platform")
    check(pruned["map.tiles"] < dense["map.tiles"] and pruned["map.tiles_dense"] == dense["map.tiles"],
          f"map.tiles {pruned['map.tiles']} < dense {dense['map.tiles']}")
    check(pruned["energy_pj.per_inference"] < dense["energy_pj.per_inference"],
          f"energy per inference {pruned['energy_pj.per_inference']:.0f} pJ < dense "
          f"{dense['energy_pj.per_inference']:.0f} pJ")
    check(structured_accuracy >= original - 0.03,
          f"structured 70 % quantized accuracy {100 * structured_accuracy:.2f} % within 3 points")

    # 4. The loop stops when the index drops below the threshold.
    def loop(name, max_drop):
        config = compress_loop.LoopConfig(
            platform=platform, cimtlm=cimtlm, model=model_path, data_dir=data.data_dir,
            ladder=compress_loop.parse_ladder("0.5,0.985,0.99", "int8"), max_drop_points=max_drop,
            prune_epochs=3, relearn_epochs=2, out_dir=os.path.join(out_dir, name), plot="", quiet=True)
        return compress_loop.run_loop(config)
    strict = loop("loop_strict", 1.0)
    rounds = strict["rounds"]
    check([r["accepted"] for r in rounds] == [True, True, False],
          "max drop 1 point: dense and 50 % accepted, 98.5 % rejected "
          f"(index {[round(100 * r['quantized_accuracy'], 2) for r in rounds]})")
    check(len(rounds) == 3 and strict["final_round"] == 1,
          "the loop stopped at the rejected round (99 % never ran); the result is round 1")
    with open(os.path.join(out_dir, "loop_strict", "final.onnx"), "rb") as final, \
            open(os.path.join(out_dir, "loop_strict", "round_1.onnx"), "rb") as accepted:
        check(final.read() == accepted.read(), "final.onnx is the last accepted model")
    check(os.path.getsize(os.path.join(out_dir, "loop_strict", "rounds.csv")) > 0, "rounds.csv written")
    lax = loop("loop_lax", 100.0)
    check(len(lax["rounds"]) == 4 and lax["final_round"] == 3,
          "max drop 100 points: every rung accepted, the loop runs to the end of the ladder")
    check(rounds[1]["tiles"] <= rounds[0]["tiles"] and lax["rounds"][3]["tiles"] < rounds[0]["tiles"],
          f"tiles per round {[r['tiles'] for r in lax['rounds']]}")
    print(f"passed in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
