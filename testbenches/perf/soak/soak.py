#!/usr/bin/env python3
"""Soak benchmark and test (issue 16): a long run keeps flat host memory.

  soak.py CIMTLM CONFIG OUTPUT_DIR --cycles 1e9        benchmark: RSS sampled over a run of about
                                                      that many simulated cycles, slope reported
  soak.py CIMTLM CONFIG OUTPUT_DIR --test             test: peak RSS of a 4x longer run may exceed
                                                      the shorter one's by at most 8 MiB

The run repeats the platform's networks (--inferences); cycles per inference come from a short
first run. Memory, not time, is asserted: the test is not timed.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run(cimtlm, config, stats, inferences, sample_every_s=0.0):
    """Runs cimtlm; returns (peak RSS in KiB, [(t, rss KiB)] samples)."""
    with open(stats + ".err", "w") as err:
        process = subprocess.Popen([cimtlm, "run", config, "--quiet", "--inferences",
                                    str(inferences), "--stats", stats],
                                   stdout=subprocess.DEVNULL, stderr=err)
    samples, start = [], time.monotonic()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid != 0:
            break
        if sample_every_s > 0:
            try:
                with open(f"/proc/{process.pid}/status") as proc:
                    rss = next(int(line.split()[1]) for line in proc if line.startswith("VmRSS:"))
                samples.append((time.monotonic() - start, rss))
            except (OSError, StopIteration):
                pass
        time.sleep(sample_every_s or 0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        with open(stats + ".err") as err:
            sys.exit(f"cimtlm run --inferences {inferences} failed ({process.returncode}): {err.read()}")
    return usage.ru_maxrss, samples


def cycles_per_inference(cimtlm, config, output):
    stats = os.path.join(output, "probe.stats.json")
    run(cimtlm, config, stats, 1)
    with open(stats) as file:
        return json.load(file)["sim"]["cycles"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cimtlm")
    parser.add_argument("config")
    parser.add_argument("output")
    parser.add_argument("--cycles", type=float, default=1e9)
    parser.add_argument("--test", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    per_inference = cycles_per_inference(args.cimtlm, args.config, args.output)
    if args.test:
        short, long = 25, 100
        rss_short, _ = run(args.cimtlm, args.config, os.path.join(args.output, "short.stats.json"), short)
        rss_long, _ = run(args.cimtlm, args.config, os.path.join(args.output, "long.stats.json"), long)
        growth_kib = rss_long - rss_short
        print(f"peak RSS: {rss_short} KiB after {short * per_inference} cycles, {rss_long} KiB after "
              f"{long * per_inference} cycles (+{growth_kib} KiB)")
        if growth_kib > 8 * 1024:
            sys.exit(f"host memory grows with the simulated time: +{growth_kib} KiB for "
                     f"{(long - short) * per_inference} more cycles")
        return
    inferences = max(1, min(1000000, round(args.cycles / per_inference)))
    rss, samples = run(args.cimtlm, args.config, os.path.join(args.output, "soak.stats.json"),
                       inferences, sample_every_s=0.5)
    with open(os.path.join(args.output, "soak.stats.json")) as file:
        stats = json.load(file)
    cycles = stats["sim"]["cycles"]
    wall = stats["sim"]["wall_s"]
    # Slope of RSS over the second half of the run (the first half includes set-up).
    tail = samples[len(samples) // 2:]
    slope = 0.0
    if len(tail) >= 2 and tail[-1][0] > tail[0][0]:
        slope = (tail[-1][1] - tail[0][1]) / (tail[-1][0] - tail[0][0])
    print(json.dumps({"inferences": inferences, "cycles": cycles, "wall_s": wall,
                      "peak_rss_kib": rss, "rss_first_kib": samples[0][1] if samples else None,
                      "rss_last_kib": samples[-1][1] if samples else None,
                      "rss_slope_kib_per_s_second_half": slope}, indent=2))


if __name__ == "__main__":
    main()
