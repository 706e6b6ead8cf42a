#!/usr/bin/python3
"""Benchmark of cimtlm-sweep against single runs (the figure in scripts/sweep/README.md).

Runs a 200-point Latin-hypercube sweep of the MLP on the default platform with a local cluster of
N workers (cluster start-up and shutdown included), then the same 200 configurations one after
another as single `cimtlm run` commands, and prints both times and the sweep's overhead over the
ideal (single runs / N).

Usage: /usr/bin/python3 testbenches/perf/sweep_bench.py [--workers 2] [--points 200]
           [--build build] [--out-dir traces/sweep_bench]
"""
import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "traces", "sweep_bench"))
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    sweep_file = os.path.join(args.out_dir, "bench.yaml")
    db = os.path.join(args.out_dir, "bench.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    with open(sweep_file, "w") as handle:
        handle.write(f"name: bench\nplatform: {ROOT}/configs/platforms/default.yaml\n"
                     f"networks: [{ROOT}/configs/networks/mlp.yaml]\n"
                     "axes:\n  core.cim.adc_bits: {integers: [7, 9]}\n"
                     "  core.cim.sparsity_threshold: {uniform: [0.0, 1.0]}\n"
                     "  core.macros: {integers: [1, 4]}\n"
                     f"sampling: {{method: lhs, samples: {args.points}, seed: 3}}\n")
    cimtlm = os.path.join(args.build, "cimtlm")
    def cpu_s():  # user + system time of every finished descendant
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_start = cpu_s()
    start = time.perf_counter()
    subprocess.run([os.path.join(args.build, "cimtlm-sweep"), sweep_file, "--db", db, "--workers",
                    str(args.workers), "--quiet"], check=True)
    sweep_s = time.perf_counter() - start
    sweep_cpu = cpu_s() - cpu_start
    connection = sqlite3.connect(db)
    rows = connection.execute("SELECT overrides, status, wall_s FROM points").fetchall()
    connection.close()
    statuses = {}
    for _, status, _ in rows:
        statuses[status] = statuses.get(status, 0) + 1

    cpu_start = cpu_s()
    start = time.perf_counter()
    for overrides, _, _ in rows:
        command = [cimtlm, "run", f"{ROOT}/configs/platforms/default.yaml", "--network",
                   f"{ROOT}/configs/networks/mlp.yaml", "--stats", os.path.join(args.out_dir, "single.json"),
                   "--quiet"]
        for key, text in json.loads(overrides):
            command += ["--set", f"{key}={text}"]
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    single_s = time.perf_counter() - start
    single_cpu = cpu_s() - cpu_start
    ideal = single_s / args.workers
    print(f"{len(rows)} points {statuses}; sweep on {args.workers} workers {sweep_s:.1f} s "
          f"(cluster start-up and shutdown included); {len(rows)} single runs one after another "
          f"{single_s:.1f} s ({1000 * single_s / len(rows):.0f} ms each); single runs / {args.workers} = "
          f"{ideal:.1f} s; sweep / ideal = {sweep_s / ideal:.2f}; CPU time: sweep {sweep_cpu:.1f} s "
          f"(Dask included), single runs {single_cpu:.1f} s; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
