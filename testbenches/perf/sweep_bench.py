#!/usr/bin/python3
"""Benchmark of cimtlm-sweep against single runs (scripts/bench.sh, README "Design-space sweeps").

Runs a 200-point Latin-hypercube sweep of the MLP on the default platform with a local cluster of
N workers (Python and Dask start-up, cluster start and shutdown included), then the same 200
configurations as single `cimtlm run` commands N at a time (what any launcher gets from N cores on
this machine at this moment; the steadier reference on a shared machine) and one after another
(the issue's reference: their time / N is the ideal). With --rounds R the three are interleaved R
times and the medians (and each round's ratios) are printed, so that a change of load between
them shows. Prints the times, the CPU time (user + system of every process: the figure least
disturbed by other jobs), the ratios and the load average before and after. The sweep's CPU is
also split into its own (Python, Dask, hashing, the database: what the sweep adds) and its cimtlm
processes', which are compared with the same runs 2 at a time (2 simulations sharing the machine
cost more CPU than one after another).

Usage: /usr/bin/python3 testbenches/perf/sweep_bench.py [--workers 2] [--points 200] [--rounds 3]
           [--build build] [--out-dir traces/sweep_bench] [--ratio-lines]
"""
import argparse
import concurrent.futures
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_s():
    """User + system time of every finished descendant."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Runs cimtlm-sweep in this interpreter's child and prints, at its exit, the CPU time of the sweep
# process itself (the simulations are its children): what the sweep adds to the simulations.
OWN_CPU = """import atexit, resource, runpy, sys
def report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("SWEEP_OWN_CPU", usage.ru_utime + usage.ru_stime, file=sys.stderr)
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def timed(function):
    cpu_start, start = cpu_s(), time.perf_counter()
    function()
    return time.perf_counter() - start, cpu_s() - cpu_start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3,
                        help="sweep, N at a time and one after another, interleaved this many times")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "traces", "sweep_bench"))
    parser.add_argument("--fresh-too", action="store_true",
                        help="each round also runs the sweep without cimtlm's start-up server "
                             "(CIMTLM_SWEEP_SERVER=0, a fresh process per point): before/after")
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
    sweep_cli = os.path.join(args.build, "cimtlm-sweep")
    with open(sweep_cli) as handle:  # the interpreter cimtlm-sweep names (#!/usr/bin/python3)
        first = handle.readline()
    interpreter = first[2:].split()[0] if first.startswith("#!") else sys.executable
    load_before = os.getloadavg()[0]

    def sweep(server=True):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        environment = dict(os.environ, CIMTLM_SWEEP_SERVER="1" if server else "0")
        done = subprocess.run([interpreter, "-c", OWN_CPU, sweep_cli, sweep_file, "--db", db,
                               "--workers", str(args.workers), "--quiet"],
                              stderr=subprocess.PIPE, text=True, env=environment)
        own = [line for line in done.stderr.splitlines() if line.startswith("SWEEP_OWN_CPU ")]
        if done.returncode != 0 or not own:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"sweep_bench: cimtlm-sweep failed (exit {done.returncode})")
        own_cpu.append(float(own[-1].split()[1]))

    def single(index_and_overrides):
        index, overrides = index_and_overrides
        command = [cimtlm, "run", platform, "--network", network, "--quiet", "--stats",
                   os.path.join(args.out_dir, f"single_{index % args.workers}.stats.json")]
        for key, text in json.loads(overrides):
            command += ["--set", f"{key}={text}"]
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    rounds = []
    work = None
    own_cpu = []
    for _ in range(max(1, args.rounds)):
        sweep_s, sweep_cpu = timed(sweep)
        if work is None:
            connection = sqlite3.connect(db)
            rows = connection.execute("SELECT overrides, status FROM points").fetchall()
            connection.close()
            statuses = {}
            for _, status in rows:
                statuses[status] = statuses.get(status, 0) + 1
            work = list(enumerate(overrides for overrides, _ in rows))
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
            parallel_s, parallel_cpu = timed(lambda: list(pool.map(single, work)))
        serial_s, serial_cpu = timed(lambda: [single(item) for item in work])
        own = own_cpu[-1]
        fresh = {}
        if args.fresh_too:
            fresh_s, fresh_cpu = timed(lambda: sweep(server=False))
            fresh = {"fresh_s": fresh_s, "fresh_cpu": fresh_cpu,
                     "fresh_ideal": fresh_s / (serial_s / args.workers)}
        rounds.append({**fresh, "sweep_s": sweep_s, "sweep_cpu": sweep_cpu, "parallel_s": parallel_s,
                       "serial_s": serial_s, "serial_cpu": serial_cpu, "parallel_cpu": parallel_cpu,
                       "own_cpu": own, "sims_cpu": sweep_cpu - own,
                       "ideal": sweep_s / (serial_s / args.workers), "vs_parallel": sweep_s / parallel_s,
                       "cpu": sweep_cpu / serial_cpu, "cpu_vs_parallel": sweep_cpu / parallel_cpu})
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    ideal = median["serial_s"] / args.workers
    load = os.getloadavg()[0]
    points = len(work)
    if args.ratio_lines:
        print(f"FIGURE sweep.points {points} points")
        print(f"FIGURE sweep.single_run_wall {1000 * median['serial_s'] / points:.0f} ms")
        print(f"FIGURE sweep.wall {median['sweep_s']:.1f} s")
        print(f"FIGURE sweep.load_average {load:.1f} -")
        print(f"RATIO sweep_overhead {median['ideal']:.2f} 1.1")
        print(f"RATIO sweep_overhead_vs_{args.workers}_at_once {median['vs_parallel']:.2f} 1.1")
        print(f"RATIO sweep_overhead_cpu {median['cpu']:.2f} 1.1")
        print(f"RATIO sweep_overhead_cpu_vs_{args.workers}_at_once {median['cpu_vs_parallel']:.2f} 1.1")
        print(f"FIGURE sweep.own_cpu_per_point {1000 * median['own_cpu'] / points:.1f} ms")
        return 0
    for number, r in enumerate(rounds, 1):
        print(f"round {number}: sweep {r['sweep_s']:.2f} s, {args.workers} at a time {r['parallel_s']:.2f} s, "
              f"one after another {r['serial_s']:.2f} s; sweep / ideal {r['ideal']:.3f}, sweep / "
              f"{args.workers} at a time {r['vs_parallel']:.3f}, CPU {r['sweep_cpu']:.2f} s / "
              f"{r['serial_cpu']:.2f} s = {r['cpu']:.3f} (the sweep's own {r['own_cpu']:.2f} s, its "
              f"cimtlm runs {r['sims_cpu']:.2f} s; {args.workers} at a time {r['parallel_cpu']:.2f} s, "
              f"sweep / {args.workers} at a time {r['cpu_vs_parallel']:.3f})" +
              (f"; without the server: sweep {r['fresh_s']:.2f} s, / ideal {r['fresh_ideal']:.3f}, "
               f"CPU {r['fresh_cpu']:.2f} s" if "fresh_s" in r else ""))
    print(f"{points} points {statuses}; medians of {len(rounds)} rounds: sweep on {args.workers} workers "
          f"{median['sweep_s']:.2f} s (start-up and shutdown included); single runs one after another "
          f"{median['serial_s']:.2f} s ({1000 * median['serial_s'] / points:.0f} ms each), / {args.workers} = "
          f"{ideal:.2f} s (ideal); {args.workers} at a time {median['parallel_s']:.2f} s; sweep / ideal = "
          f"{median['ideal']:.3f}; sweep / {args.workers} at a time = {median['vs_parallel']:.3f}; CPU time: "
          f"sweep {median['sweep_cpu']:.2f} s (Python and Dask included), single runs "
          f"{median['serial_cpu']:.2f} s, ratio {median['cpu']:.3f}; the sweep's own CPU {median['own_cpu']:.2f} s "
          f"({1000 * median['own_cpu'] / points:.1f} ms per point, start-up included), its cimtlm runs "
          f"{median['sims_cpu']:.2f} s against {median['parallel_cpu']:.2f} s for the plain runs {args.workers} "
          f"at a time (sweep / {args.workers} at a time: {median['cpu_vs_parallel']:.3f}); load average "
          f"{load_before:.1f} before, {load:.1f} after" +
          (f"; without the start-up server (CIMTLM_SWEEP_SERVER=0): sweep {median['fresh_s']:.2f} s, "
           f"/ ideal {median['fresh_ideal']:.3f}, CPU {median['fresh_cpu']:.2f} s"
           if "fresh_s" in median else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
