#!/usr/bin/python3
"""Host time against work and core count: one network on meshes of 2x2 .. 16x16 cores.

For each mesh: `cimtlm run PLATFORM --network NET --set noc.rows=R --set noc.cols=C` with 1 and
1+N inferences; the difference of the two simulation host times is the cost of N inferences
after the first. Prints FIGURE lines (host ns per MAC and per flit-hop, peak RSS) and RATIO
lines against the smallest mesh: host time per MAC and per flit-hop must not grow with the core
count (target 1.25), and the whole per-inference time on the largest mesh against the smallest
(target 2).

  scaling.py [--cimtlm build/cimtlm] [--platform P] [--inferences 2] [--meshes 2,4,8,16]
             [--name NAME] NET.onnx [--input FILE]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def flatten(prefix, value, out):
    if isinstance(value, dict):
        for key, child in value.items():
            flatten(f"{prefix}.{key}" if prefix else key, child, out)
    else:
        out[prefix] = value


def run(args, side, inferences, work):
    stats_path = os.path.join(work, f"stats_{side}_{inferences}.json")
    command = ["/usr/bin/time", "-f", "%M", args.cimtlm, "run", args.platform, "--network", args.network,
               "--quiet", "--stats", stats_path, "--inferences", str(inferences),
               "--set", f"noc.rows={side}", "--set", f"noc.cols={side}"]
    for path in args.input:
        command += ["--input", path]
    for setting in args.set:
        command += ["--set", setting]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"scaling: cimtlm failed on a {side}x{side} mesh")
    rss_kib = int(done.stderr.strip().splitlines()[-1])
    with open(stats_path) as handle:
        stats = json.load(handle)
    flat = {}
    flatten("", stats, flat)
    wall = flat.get("host.wall_s", flat.get("sim.wall_s"))
    link_flits = sum(v for k, v in flat.items()
                     if k.startswith("modules.") and ".links." in k and k.endswith("_flits"))
    return {"wall": wall, "macs": flat.get("cim.macs", 0), "flits": flat.get("noc.flits", 0),
            "hops": link_flits, "rss_mib": rss_kib / 1024.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--platform", default=os.path.join(ROOT, "configs", "platforms", "default.yaml"))
    parser.add_argument("--inferences", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3,
                        help="pairs of runs per mesh; the median difference counts (a small "
                             "network's inference is a few ms, inside one run's start-up noise)")
    parser.add_argument("--meshes", default="2,4,8,16")
    parser.add_argument("--name", default=None)
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("network")
    args = parser.parse_args()
    name = args.name or os.path.basename(args.network).split(".")[0]
    sides = [int(s) for s in args.meshes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for side in sides:
            differences = []
            for _ in range(max(1, args.repeats)):
                one = run(args, side, 1, work)
                many = run(args, side, 1 + args.inferences, work)
                differences.append(many["wall"] - one["wall"])
            difference = statistics.median(differences)
            if difference <= 0:
                # Noise larger than the work: no figure rather than a ratio against ~0.
                print(f"FIGURE scaling.{name}.{side * side}cores.unmeasured "
                      f"{difference * 1e3:.2f} ms (raise --inferences)", flush=True)
                continue
            wall = difference / args.inferences
            macs = (many["macs"] - one["macs"]) / args.inferences
            hops = (many["hops"] - one["hops"]) / args.inferences
            cores = side * side
            per_mac = wall / macs * 1e9 if macs else float("nan")
            per_hop = wall / hops * 1e9 if hops else float("nan")
            print(f"FIGURE scaling.{name}.{cores}cores.host_s_per_inference {wall:.4f} s", flush=True)
            print(f"FIGURE scaling.{name}.{cores}cores.host_ns_per_mac {per_mac:.4f} ns", flush=True)
            print(f"FIGURE scaling.{name}.{cores}cores.host_ns_per_flit_hop {per_hop:.2f} ns", flush=True)
            print(f"FIGURE scaling.{name}.{cores}cores.peak_rss {many['rss_mib']:.0f} MiB", flush=True)
            rows.append((cores, wall, per_mac, per_hop, many["rss_mib"]))
    if len(rows) < 2:
        return 0
    base = rows[0]
    for cores, wall, per_mac, per_hop, rss in rows[1:]:
        print(f"RATIO scaling.{name}.host_per_mac.{cores}_vs_{base[0]} {per_mac / base[2]:.2f} 1.25")
        if base[3] == base[3] and per_hop == per_hop:  # not NaN
            print(f"RATIO scaling.{name}.host_per_flit_hop.{cores}_vs_{base[0]} {per_hop / base[3]:.2f} 1.25")
    last = rows[-1]
    print(f"RATIO scaling.{name}.host_per_inference.{last[0]}_vs_{base[0]} {last[1] / base[1]:.2f} 2")
    print(f"RATIO scaling.{name}.peak_rss_gib.{last[0]}cores {last[4] / 1024 / 2:.2f} 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
