#!/usr/bin/python3
"""Regenerates the memory figures of models/memory/README.md from fresh runs of the simulator.

Every number between the markers `<!-- memory-figures:NAME -->` and `<!-- /memory-figures -->`
in the memory README (and in the top-level README.md, which shows the os_idle block) comes from
this script, so the READMEs cannot drift from the model:

    scripts/memory_readme.py            # rewrite the blocks in models/memory/README.md
    scripts/memory_readme.py --check    # exit 1 (and show the difference) if a block is stale

It also checks that every memory default of platforms/schema.yaml (core.memory.levels) has a
source or an "assumption" note in the comment above it (--check fails otherwise).

Blocks:
  presets    the technology presets (`cimtlm validate` of every technology, the schema's values)
  retention  retention at a few temperatures (`cimtlm retention --csv`)
  os_idle    the memory part of `cimtlm run configs/platforms/os_idle.yaml` and the sentence
             comparing what keeping the data cost with what SRAM would have leaked
  os_hot_refresh  the refresh counts of `cimtlm run configs/platforms/os_hot_refresh.yaml`
  default_run  the whole report of `scripts/run.sh` (`cimtlm run configs/platforms/default.yaml
             --vcd traces/default.vcd`) shown in README.md, memory table included; its `host time`
             line is a host measurement, not a model figure, so the committed line is kept
"""
import argparse
import csv
import difflib
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import yaml

from plot_retention import human as duration  # one way to print a retention time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "models", "memory", "README.md")
# Other files carrying some of the blocks (the top-level README shows the os_idle report).
OTHER_FILES = [os.path.join(ROOT, "README.md")]
CANDIDATES = [os.path.join(ROOT, "build", "cimtlm"),
              os.path.join(ROOT, "build", "platforms", "cimtlm")]
TECHNOLOGIES = ["nosram", "dosram", "igzo2t0c", "sram", "dram"]
TEMPERATURES_C = [0, 25, 55, 85, 95, 105, 125]


def run(binary, *args):
    result = subprocess.run([binary, *args], cwd=ROOT, check=True, capture_output=True,
                            text=True)
    return result.stdout


def energy(pj):
    for scale, unit in ((1e9, "mJ"), (1e6, "uJ"), (1e3, "nJ")):
        if abs(pj) >= scale:
            return f"{pj / scale:.4g} {unit}"
    return f"{pj:.4g} pJ"


def presets_block(binary, workdir):
    config = os.path.join(workdir, "presets.yaml")
    with open(config, "w") as handle:
        handle.write("core:\n  memory:\n    levels:\n")
        for tech in TECHNOLOGIES:
            handle.write(f"      {tech}: {{technology: {tech}}}\n")
    levels = yaml.safe_load(run(binary, "validate", config))["core"]["memory"]["levels"]

    def value(tech, key):
        return levels[tech][key]

    rows = [
        ("layer (0 = silicon)", "stack_layer"), ("capacity", "capacity"),
        ("read / write, macro", ("read_cycles", "write_cycles")),
        ("read / write, array only", ("array_read_cycles", "array_write_cycles")),
        ("bytes / cycle", "bytes_per_cycle"),
        ("read / write energy per bit", ("read_energy_per_bit", "write_energy_per_bit")),
        ("leakage per bit (at T)", ("leakage_per_bit", "leakage_temperature")),
        ("leakage activation energy", "leakage_activation_energy"),
        ("retention law", "retention_law"),
        ("retention (at T)", ("retention", "retention_temperature")),
        ("activation energy", "activation_energy"),
        ("retention floor / its Ea", ("retention_floor", "floor_activation_energy")),
        ("refresh cycles / energy per row", ("refresh_cycles_per_row", "refresh_energy_per_row")),
        ("gate entry cycles / energy", ("gate_entry_cycles", "gate_entry_energy")),
        ("gated leakage per bit", "gated_leakage_per_bit"),
        ("wake-up cycles / energy", ("wakeup_cycles", "wakeup_energy")),
        ("cell area per bit (its layer)", "area_per_bit"),
        ("silicon area per bit (periphery)", "silicon_area_per_bit"),
    ]
    lines = ["| | " + " | ".join(TECHNOLOGIES) + " |", "|---" * (len(TECHNOLOGIES) + 1) + "|"]
    for label, keys in rows:
        cells = []
        for tech in TECHNOLOGIES:
            if isinstance(keys, tuple):
                first, second = (value(tech, key) for key in keys)
                joiner = " at " if keys[1].endswith("temperature") else " / "
                cells.append(f"{first}{joiner}{second}")
            else:
                cells.append(str(value(tech, keys)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def retention_block(binary, workdir):
    path = os.path.join(workdir, "retention.csv")
    run(binary, "retention", "--from", "0", "--to", "125", "--step", "5", "--csv", path)
    with open(path, newline="") as handle:
        rows = {round(float(row["temperature_c"])): row for row in csv.DictReader(handle)}
    techs = [t for t in TECHNOLOGIES if t != "sram"]
    lines = ["| T | " + " | ".join(techs) + " |", "|---" * (len(techs) + 1) + "|"]
    for celsius in TEMPERATURES_C:
        row = rows[celsius]
        lines.append(f"| {celsius} °C | " +
                     " | ".join(duration(float(row[t + "_s"])) for t in techs) + " |")
    return "\n".join(lines)


def os_idle_block(binary, workdir):
    stats_path = os.path.join(workdir, "os_idle.json")
    text = run(binary, "run", "configs/platforms/os_idle.yaml", "--stats", stats_path)
    start = text.index("Memory (summed over cores)")
    end = text.index("\n\n", start)
    memory_text = text[start:end].rstrip()
    with open(stats_path) as handle:
        stats = json.load(handle)
    seconds = stats["sim"]["simulated_ns"] * 1e-9
    levels = stats["memory"]
    keep = sum(m["energy_pj"]["leakage"] + m["energy_pj"]["wakeup"] + m["energy_pj"]["gate_entry"] +
               m["energy_pj"]["refresh"] for m in levels.values())
    leakage = sum(m["energy_pj"]["leakage"] for m in levels.values())
    gating = sum(m["energy_pj"]["wakeup"] + m["energy_pj"]["gate_entry"] for m in levels.values())
    sram = sum(m["sram_equivalent_energy_pj"]["leakage"] for m in levels.values())
    access = sum(m["energy_pj"]["access"] for m in levels.values())
    sram_access = sum(m["sram_equivalent_energy_pj"]["access"] for m in levels.values())
    sentence = (
        f"Over the {seconds * 1e3:.4g} ms simulated ({stats['sim']['inferences']} inferences, "
        f"{stats['platform']}), keeping the data in the gated OS levels cost {energy(keep)}: "
        f"{energy(leakage)} of leakage (powered, and the hold-bias residual while gated) and "
        f"{energy(gating)} of gate entries and wake-ups, no refresh. SRAM of the same size "
        f"cannot be gated without losing its data and would have leaked {energy(sram)} at the "
        f"same temperature. Per access the OS levels cost more: {energy(access)} against "
        f"{energy(sram_access)} in SRAM.")
    return "```\n" + memory_text + "\n```\n\n" + sentence


def os_hot_refresh_block(binary, workdir):
    stats_path = os.path.join(workdir, "os_hot_refresh.json")
    run(binary, "run", "configs/platforms/os_hot_refresh.yaml", "--quiet", "--stats", stats_path)
    with open(stats_path) as handle:
        stats = json.load(handle)
    levels = stats["memory"]
    parts = ", ".join(f"{m['refreshes']} {m['technology'].upper()} row refreshes "
                      f"({energy(m['energy_pj']['refresh'])})" for m in levels.values())
    violations = sum(m["retention_violations"] for m in levels.values())
    return (f"`os_hot_refresh.yaml` (125 °C, one inference a minute) shows the refresh "
            f"controllers keeping the data: {parts}, {violations} violations.")


def default_run_block(binary, workdir):
    # The outputs go to the work directory; the report names them as scripts/run.sh writes them.
    text = run(binary, "run", "configs/platforms/default.yaml", "--vcd",
               os.path.join(workdir, "default.vcd"), "--stats",
               os.path.join(workdir, "default.stats.json"))
    text = text.replace(workdir + os.sep, "traces/")
    return "```\n" + text.strip("\n") + "\n```"


# Lines of a block that measure the host, not the model: kept as committed.
HOST_LINE = re.compile(r"^  host time .*$", re.M)


def keep_host_lines(old_block, fresh_block):
    old_lines = HOST_LINE.findall(old_block)
    if len(old_lines) != len(HOST_LINE.findall(fresh_block)):
        return fresh_block
    lines = iter(old_lines)
    return HOST_LINE.sub(lambda _: next(lines), fresh_block)


# Keys of core.memory.levels that are choices or switches, not device figures: no source needed.
NOT_FIGURES = {"technology", "off_chip", "static_cell", "refresh", "alignment", "timing",
               "gate_when_idle", "retention_law"}
SCHEMA = os.path.join(ROOT, "platforms", "schema.yaml")


def unsourced_memory_defaults(path=SCHEMA):
    """Keys of core.memory.levels whose default has no source and no "assumption" note.

    A comment block applies to the keys that follow it up to the next comment block; it counts
    as a source when it cites a reference ([Name00]), an assumption ((A1) or "assumption") or a
    specification (JEDEC)."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "_map_of:" and
                 any("core.memory" in l or "levels:" in l for l in lines[max(0, i - 8):i]))
    missing, comment, in_comment = [], "", False
    for line in lines[start + 1:]:
        if line and not line.startswith("        "):
            break  # end of the levels' fields
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = (comment if in_comment else "") + " " + stripped
            in_comment = True
            continue
        in_comment = False
        match = re.match(r"(\w+): \{", stripped)
        if not match or match.group(1) in NOT_FIGURES:
            continue
        if not re.search(r"\[\w+\d\d[^\]]*\]|\(A\d\)|assumption|JEDEC", comment, re.I):
            missing.append(match.group(1))
    return missing


BLOCK = re.compile(r"(<!-- memory-figures:(\w+) -->\n)(.*?)(<!-- /memory-figures -->)", re.S)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    parser.add_argument("--cimtlm", help="the cimtlm binary (default: build/cimtlm)")
    parser.add_argument("--readme", default=README)
    args = parser.parse_args()
    binary = args.cimtlm or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)
    if binary is None:
        sys.exit("no cimtlm binary found: build first or pass --cimtlm")
    binary = os.path.abspath(binary)
    makers = {"presets": presets_block, "retention": retention_block, "os_idle": os_idle_block,
              "os_hot_refresh": os_hot_refresh_block, "default_run": default_run_block}
    # Blocks shown only in other files (README.md), not in the memory README.
    elsewhere = {"default_run"}
    missing = unsourced_memory_defaults()
    if missing:
        print(f"{SCHEMA}: memory defaults without a source or an assumption note: "
              f"{', '.join(missing)}")
        if args.check:
            return 1
    with tempfile.TemporaryDirectory() as workdir:
        fresh = {name: make(binary, workdir) for name, make in makers.items()}
    stale = False
    all_used = set()
    for path in [args.readme] + [p for p in OTHER_FILES if os.path.exists(p)]:
        with open(path) as handle:
            old = handle.read()
        used = set()

        def replace(match):
            name = match.group(2)
            if name not in fresh:
                sys.exit(f"{path}: unknown block memory-figures:{name}")
            used.add(name)
            return match.group(1) + keep_host_lines(match.group(3), fresh[name]) + "\n" + \
                match.group(4)

        new = BLOCK.sub(replace, old)
        all_used |= used
        if path == args.readme and used != set(fresh) - elsewhere:
            sys.exit(f"{path}: missing blocks: {', '.join(sorted(set(fresh) - elsewhere - used))}")
        if new == old:
            print(f"{os.path.relpath(path, ROOT)}: current")
            continue
        if args.check:
            stale = True
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), f"{path} (committed)",
                f"{path} (fresh run)"))
        else:
            with open(path, "w") as handle:
                handle.write(new)
            print(f"{os.path.relpath(path, ROOT)}: updated")
    if set(fresh) - all_used:
        sys.exit(f"no file shows the blocks: {', '.join(sorted(set(fresh) - all_used))}")
    if stale:
        print("memory figures are stale: run scripts/memory_readme.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
