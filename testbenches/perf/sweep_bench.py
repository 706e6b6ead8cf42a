#!/usr/bin/python3
"""Benchmark of cimtlm-sweep against single runs (scripts/bench.sh, README "Design-space sweeps").

Runs a 200-point Latin-hypercube sweep of the MLP on the default platform with a local cluster of
N workers (Python and Dask start-up, cluster start and shutdown included), then the same 200
configurations as single `cimtlm run` commands, one after another (the issue's reference: their
time / N is the ideal) and N at a time (what any launcher gets from N cores on this machine at this
moment; the steadier reference on a shared machine). Prints the times, the CPU time (user + system
of every process: the figure least disturbed by other jobs) and the ratios.

Usage: /usr/bin/python3 testbenches/perf/sweep_bench.py [--workers 2] [--points 200]
           [--build build] [--out-dir traces/sweep_bench] [--ratio-lines]
"""
import argparse
import concurrent.futures
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_s():
    """User + system time of every finished descendant."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(function):
    cpu_start, start = cpu_s(), time.perf_counter()
    function()
    return time.perf_counter() - start, cpu_s() - cpu_start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "traces", "sweep_bench"))
    parser.add_argument("--ratio-lines", action="store_true",
                        help="print scripts/bench.sh lines (RATIO/FIGURE) instead of a sentence")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    sweep_file = os.path.join(args.out_dir, "bench.yaml")
    db = os.path.join(args.out_dir, "bench.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    platform = f"{ROOT}/configs/platforms/default.yaml"
    network = f"{ROOT}/configs/networks/mlp.yaml"
    with open(sweep_file, "w") as handle:
        handle.write(f"name: bench\nplatform: {platform}\nnetworks: [{network}]\n"
                     "axes:\n  core.cim.adc_bits: {integers: [7, 9]}\n"
                     "  core.cim.sparsity_threshold: {uniform: [0.0, 1.0]}\n"
                     "  core.macros: {integers: [1, 4]}\n"
                     f"sampling: {{method: lhs, samples: {args.points}, seed: 3}}\n")
    cimtlm = os.path.join(args.build, "cimtlm")

    sweep_s, sweep_cpu = timed(lambda: subprocess.run(
        [os.path.join(args.build, "cimtlm-sweep"), sweep_file, "--db", db, "--workers", str(args.workers),
         "--quiet"], check=True))
    connection = sqlite3.connect(db)
    rows = connection.execute("SELECT overrides, status FROM points").fetchall()
    connection.close()
    statuses = {}
    for _, status in rows:
        statuses[status] = statuses.get(status, 0) + 1

    def single(index_and_overrides):
        index, overrides = index_and_overrides
        command = [cimtlm, "run", platform, "--network", network, "--quiet", "--stats",
                   os.path.join(args.out_dir, f"single_{index % args.workers}.stats.json")]
        for key, text in json.loads(overrides):
            command += ["--set", f"{key}={text}"]
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    work = list(enumerate(overrides for overrides, _ in rows))
    serial_s, serial_cpu = timed(lambda: [single(item) for item in work])
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        parallel_s, _ = timed(lambda: list(pool.map(single, work)))
    ideal = serial_s / args.workers
    load = os.getloadavg()[0]
    if args.ratio_lines:
        print(f"FIGURE sweep.points {len(rows)} points")
        print(f"FIGURE sweep.single_run_wall {1000 * serial_s / len(rows):.0f} ms")
        print(f"FIGURE sweep.wall {sweep_s:.1f} s")
        print(f"FIGURE sweep.load_average {load:.1f} -")
        print(f"RATIO sweep_overhead {sweep_s / ideal:.2f} 1.1")
        print(f"RATIO sweep_overhead_vs_{args.workers}_at_once {sweep_s / parallel_s:.2f} 1.1")
        print(f"RATIO sweep_overhead_cpu {sweep_cpu / serial_cpu:.2f} 1.1")
        return 0
    print(f"{len(rows)} points {statuses}; sweep on {args.workers} workers {sweep_s:.1f} s (start-up and "
          f"shutdown included); single runs one after another {serial_s:.1f} s ({1000 * serial_s / len(rows):.0f} "
          f"ms each), / {args.workers} = {ideal:.1f} s (ideal); {args.workers} at a time {parallel_s:.1f} s; "
          f"sweep / ideal = {sweep_s / ideal:.2f}; sweep / {args.workers} at a time = {sweep_s / parallel_s:.2f}; "
          f"CPU time: sweep {sweep_cpu:.1f} s (Python and Dask included), single runs {serial_cpu:.1f} s, "
          f"ratio {sweep_cpu / serial_cpu:.2f}; load average {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
