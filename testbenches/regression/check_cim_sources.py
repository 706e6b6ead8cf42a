#!/usr/bin/python3
"""Every default figure of the CIM macro (platforms/schema.yaml, core.cim) has a source.

A comment block applies to the keys that follow it, up to the next comment block. It counts as a
source when it cites one (a bracketed reference such as [NS14], an author, survey, tool or venue
with its year), derives the figure from others ("="), or marks it as an assumption. Keys that are
design choices or switches, not figures (and the non-idealities, which default to "off"), need
none. Exit 1 naming the keys without a source; the ctest cim_schema_sources runs it.

    /usr/bin/python3 testbenches/regression/check_cim_sources.py [platforms/schema.yaml]
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "platforms", "schema.yaml")

# Choices and switches of core.cim, not figures.
NOT_FIGURES = {"encoding", "activation_packing", "adc_type", "technology", "adc_range_narrowing",
               "conductance_sigma", "adc_offset_lsb", "adc_noise_lsb"}

SOURCE = re.compile(
    r"\[\w+\]|et al\.|Horowitz|Murmann|NeuroSim|Predictive Technology|ITRS|ISSCC|JSSC|IEDM|ISCA|"
    r"DAC 20|assumption|=", re.I)


def cim_keys(lines):
    """(key, comment block above it) for every field of core.cim."""
    start = next(i for i, line in enumerate(lines) if line == "  cim:")
    fields, comment, in_comment = [], "", False
    for line in lines[start + 1:]:
        if line and not line.startswith("    "):
            break  # the next group of core
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = (comment if in_comment else "") + " " + stripped
            in_comment = True
            continue
        in_comment = False
        match = re.match(r"(\w+): \{", stripped)
        if match:
            fields.append((match.group(1), comment))
    return fields


def unsourced(path):
    with open(path) as handle:
        lines = handle.read().splitlines()
    fields = cim_keys(lines)
    if len(fields) < 20:
        raise SystemExit(f"{path}: found only {len(fields)} keys under core.cim")
    return [key for key, comment in fields
            if key not in NOT_FIGURES and not SOURCE.search(comment)]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else SCHEMA
    missing = unsourced(path)
    if missing:
        print(f"{path}: core.cim defaults without a source or an assumption note: "
              f"{', '.join(missing)}")
        return 1
    print(f"{path}: every core.cim default figure has a source or an assumption note")
    return 0


if __name__ == "__main__":
    sys.exit(main())
