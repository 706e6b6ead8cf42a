#!/usr/bin/env python3
"""Plot of a `cimtlm scenario` run: power against the budget, die temperature against ambient,
and the variant the controller ran, over simulated time (with the fixed richest variant's power
for comparison when the CSV has it).

    /usr/bin/python3 scripts/plot_scenario.py SERIES.csv OUT.png [TITLE]

`cimtlm scenario ... --plot OUT.png` calls it with the series it wrote.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, out = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else path
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        sys.stderr.write(f"{path}: no rows\n")
        return 2
    t = [float(r["time_s"]) for r in rows]
    fixed = [k[len("power_w."):] for k in rows[0] if k.startswith("power_w.")]
    names = {}
    for r in rows:
        names[int(r["variant_index"])] = r["variant"]

    fig, (ax_p, ax_t, ax_v) = plt.subplots(3, 1, sharex=True, figsize=(9, 7.5),
                                           gridspec_kw={"height_ratios": [3, 2, 1.3]})
    if fixed:
        richest = fixed[0]
        ax_p.plot(t, [float(r["power_w." + richest]) * 1e3 for r in rows], color="0.6", lw=0.8,
                  label=f"{richest.replace('fixed_', '')} fixed")
    ax_p.plot(t, [float(r["power_w"]) * 1e3 for r in rows], color="C0", lw=0.9, label="controller")
    ax_p.step(t, [float(r["budget_w"]) * 1e3 for r in rows], where="pre", color="C3", lw=1.4,
              label="budget")
    ax_p.set_ylabel("power (mW)")
    ax_p.legend(loc="upper right", fontsize=8)
    ax_p.set_title(title)
    ax_p.grid(alpha=0.3)

    ax_t.plot(t, [float(r["temperature_c"]) for r in rows], color="C1", label="die (controller)")
    if fixed:
        ax_t.plot(t, [float(r["temperature_c." + fixed[0]]) for r in rows], color="0.6", lw=0.8,
                  label=f"die ({fixed[0].replace('fixed_', '')} fixed)")
    ax_t.step(t, [float(r["ambient_c"]) for r in rows], where="pre", color="C2", label="ambient")
    ax_t.set_ylabel("temperature (C)")
    ax_t.legend(loc="upper right", fontsize=8)
    ax_t.grid(alpha=0.3)

    ax_v.step(t, [int(r["variant_index"]) for r in rows], where="pre", color="C4")
    ax_v.set_yticks(sorted(names))
    ax_v.set_yticklabels([names[k] for k in sorted(names)])
    ax_v.invert_yaxis()
    ax_v.set_ylabel("variant")
    ax_v.set_xlabel("simulated time (s)")
    ax_v.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
