#!/usr/bin/python3
"""Plot of the recsys scenario (docs/recsys.md): on-device prediction against the raw-feature
baseline, from the CSV that `cimtlm scenario configs/scenarios/recsys_client_server.yaml --csv F`
writes.

Usage: /usr/bin/python3 scripts/plot_recsys.py RECSYS.csv OUT.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("uplink_bytes_per_request", "uplink bytes per request", "B"),
    ("client_energy_uj_per_request", "client energy per request", "uJ"),
    ("server_energy_nj_per_request", "server energy per request", "nJ"),
    ("latency_ms", "end-to-end latency", "ms"),
    ("hit_rate", "hit rate@k (held-out)", ""),
    ("violations", "private payloads on the link", ""),
]
LABELS = {"on_device": "on-device", "raw_features": "raw features\n(baseline, leaks)"}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], newline="") as handle:
        rows = list(csv.DictReader(handle))
    figure, axes = plt.subplots(1, len(PANELS), figsize=(3.0 * len(PANELS), 3.4))
    for axis, (key, title, unit) in zip(axes, PANELS):
        names = [LABELS.get(row["mode"], row["mode"]) for row in rows]
        values = [float(row[key]) for row in rows]
        colors = ["tab:red" if row["leaking"] == "1" else "tab:green" for row in rows]
        bars = axis.bar(names, values, color=colors)
        for bar, value in zip(bars, values):
            axis.annotate(f"{value:.3g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=8)
        axis.set_title(title, fontsize=9)
        if unit:
            axis.set_ylabel(unit)
        axis.tick_params(axis="x", labelsize=7)
        axis.margins(y=0.15)
    figure.suptitle("recsys: on-device user-behaviour prediction vs shipping raw features "
                    "(green: private data stays local)", fontsize=10)
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
