"""Reading a results database back: CSV export, the Pareto plot (energy, latency and, where
measured, accuracy per inference) and the sensitivity of each metric to each axis."""
import csv
import json
import math
import os
import sys

from . import db as results_db

# (column, label, per-inference divisor column, scale, direction: -1 lower is better, +1 higher)
METRICS = {
    "energy": ("energy_pj.total", "energy per inference (nJ)", 1e-3, -1),
    "latency": ("sim.cycles", "latency per inference (kcycles)", 1e-3, -1),
    "accuracy": ("accuracy", "top-1 accuracy through the hardware (%)", 100.0, +1),
}


def export_csv(db_path, out):
    database = results_db.ResultsDb(db_path)
    try:
        names, rows = database.rows()
        axes = database.axis_columns()
        stats = database.stat_columns()
    finally:
        database.close()
    first = ["id", "config_hash", "sweep", "network"] + axes + ["status", "exit_code", "accuracy",
                                                               "accuracy_samples", "wall_s", "worker"]
    order = first + [s for s in stats if s not in first] + ["error"]
    index = {name: i for i, name in enumerate(names)}
    handle = sys.stdout if out in (None, "-") else open(out, "w", newline="")
    try:
        writer = csv.writer(handle)
        writer.writerow(order)
        for row in rows:
            writer.writerow(["" if row[index[n]] is None else row[index[n]] for n in order])
    finally:
        if handle is not sys.stdout:
            handle.close()
    return len(rows)


def _load(db_path):
    database = results_db.ResultsDb(db_path)
    try:
        names, rows = database.rows()
        axes = database.axis_columns()
        meta = database.meta()
    finally:
        database.close()
    records = [dict(zip(names, row)) for row in rows]
    # 'fail' points ran to the end (e.g. a lossy ADC changed the outputs): their cost is real.
    ok = [r for r in records if r["status"] in ("ok", "fail") and r.get("energy_pj.total") is not None]
    for record in ok:
        inferences = record.get("sim.inferences") or 1
        record["_energy"] = record["energy_pj.total"] / inferences * METRICS["energy"][2]
        record["_latency"] = record["sim.cycles"] / inferences * METRICS["latency"][2]
        record["_accuracy"] = None if record.get("accuracy") is None else record["accuracy"] * 100.0
    return ok, axes, meta


def pareto_front(records, keys):
    """Indices of the records no other record dominates; keys: (name, direction)."""
    def value(record, key, direction):
        return -direction * record[key]  # minimise every transformed objective

    front = []
    for i, a in enumerate(records):
        dominated = False
        for j, b in enumerate(records):
            if i == j:
                continue
            no_worse = all(value(b, k, d) <= value(a, k, d) for k, d in keys)
            better = any(value(b, k, d) < value(a, k, d) for k, d in keys)
            if no_worse and better:
                dominated = True
                break
        if not dominated:
            front.append(i)
    return front


def _label(record, axes):
    params = json.loads(record["params"])
    return " ".join(f"{k.split('.')[-1]}={params[k]}" for k in axes if k in params)


def plot(db_path, out_dir, title=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records, axes, meta = _load(db_path)
    if not records:
        raise SystemExit(f"{db_path}: no finished point to plot")
    os.makedirs(out_dir, exist_ok=True)
    title = title or meta.get("name", os.path.basename(db_path))
    has_accuracy = any(r["_accuracy"] is not None for r in records)
    paths = []

    # Pareto: energy against latency (colour: accuracy when measured), front ringed; with
    # accuracy a second panel shows accuracy against energy, front over all three objectives.
    keys = [("_energy", -1), ("_latency", -1)] + ([("_accuracy", +1)] if has_accuracy else [])
    usable = [r for r in records if not has_accuracy or r["_accuracy"] is not None]
    front = [usable[i] for i in pareto_front(usable, keys)]
    panels = 2 if has_accuracy else 1
    fig, axes_plot = plt.subplots(1, panels, figsize=(6.5 * panels, 5), squeeze=False)
    energy = [r["_energy"] for r in usable]
    latency = [r["_latency"] for r in usable]
    colour = [r["_accuracy"] for r in usable] if has_accuracy else None
    ax = axes_plot[0][0]
    if has_accuracy:
        points = ax.scatter(energy, latency, c=colour, cmap="viridis", s=28, zorder=3)
        fig.colorbar(points, ax=ax, label=METRICS["accuracy"][1])
    else:
        ax.scatter(energy, latency, s=28, zorder=3)
    ax.scatter([r["_energy"] for r in front], [r["_latency"] for r in front], s=120, facecolors="none",
               edgecolors="tab:red", linewidths=1.3, zorder=4,
               label=f"Pareto front ({len(front)} of {len(usable)})")
    ax.set_xlabel(METRICS["energy"][1])
    ax.set_ylabel(METRICS["latency"][1])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if has_accuracy:
        ax = axes_plot[0][1]
        points = ax.scatter(energy, colour, c=latency, cmap="plasma", s=28, zorder=3)
        fig.colorbar(points, ax=ax, label=METRICS["latency"][1])
        ax.scatter([r["_energy"] for r in front], [r["_accuracy"] for r in front], s=120,
                   facecolors="none", edgecolors="tab:red", linewidths=1.3, zorder=4, label="Pareto front")
        ax.set_xlabel(METRICS["energy"][1])
        ax.set_ylabel(METRICS["accuracy"][1])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    # Label the front's points on the panel where they spread most (accuracy when measured), at
    # most eight, with staggered offsets so that neighbours do not overlap.
    labelled_ax = axes_plot[0][1] if has_accuracy else axes_plot[0][0]
    second = "_accuracy" if has_accuracy else "_latency"
    ordered = sorted(front, key=lambda r: r["_energy"])
    step = max(1, math.ceil(len(ordered) / 8))
    for index, r in enumerate(ordered[::step]):
        labelled_ax.annotate(_label(r, axes), (r["_energy"], r[second]), textcoords="offset points",
                             xytext=(6, 6 if index % 2 == 0 else -10), fontsize=6)
    fig.suptitle(f"cimtlm-sweep {title}: {len(usable)} points")
    fig.tight_layout()
    path = os.path.join(out_dir, "pareto.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    # Sensitivity: for each axis, each metric's mean over the other axes at each axis value,
    # relative to the metric's overall mean (main effects). Continuous sampled axes are binned.
    metrics = ["_energy", "_latency"] + (["_accuracy"] if has_accuracy else [])
    names = {"_energy": "energy", "_latency": "latency", "_accuracy": "accuracy"}
    swept = [a for a in axes if len({json.dumps(json.loads(r["params"]).get(a)) for r in records}) > 1]
    if swept:
        columns = min(3, len(swept))
        rows_count = math.ceil(len(swept) / columns)
        fig, grid = plt.subplots(rows_count, columns, figsize=(4.6 * columns, 3.6 * rows_count), squeeze=False)
        spans = []
        for index, axis in enumerate(swept):
            ax = grid[index // columns][index % columns]
            groups = _groups(records, axis)
            for metric in metrics:
                values = [r[metric] for r in records if r[metric] is not None]
                overall = sum(values) / len(values)
                xs, ys = [], []
                for position, (label, members) in enumerate(groups):
                    member_values = [m[metric] for m in members if m[metric] is not None]
                    if member_values and overall:
                        xs.append(position)
                        ys.append(100.0 * (sum(member_values) / len(member_values) / overall - 1.0))
                ax.plot(xs, ys, marker="o", label=names[metric])
                if ys:
                    spans.append((axis, names[metric], max(ys) - min(ys)))
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels([g[0] for g in groups], fontsize=7, rotation=30 if len(groups) > 6 else 0)
            ax.set_xlabel(axis, fontsize=8)
            ax.set_ylabel("vs mean (%)", fontsize=8)
            ax.axhline(0, color="grey", linewidth=0.6)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        for index in range(len(swept), rows_count * columns):
            grid[index // columns][index % columns].axis("off")
        fig.suptitle(f"cimtlm-sweep {title}: main effect of each axis (mean over the others)")
        fig.tight_layout()
        path = os.path.join(out_dir, "sensitivity.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
        with open(os.path.join(out_dir, "sensitivity.csv"), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["axis", "metric", "range_percent_of_mean"])
            for axis, metric, span in sorted(spans, key=lambda s: -s[2]):
                writer.writerow([axis, metric, f"{span:.3f}"])
        paths.append(os.path.join(out_dir, "sensitivity.csv"))
    return paths


def _groups(records, axis, bins=5):
    values = [json.loads(r["params"]).get(axis) for r in records]
    distinct = sorted({v for v in values if v is not None}, key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct)
    if numeric and len(distinct) > 8:
        low, high = min(distinct), max(distinct)
        width = (high - low) / bins or 1
        groups = [[] for _ in range(bins)]
        for record, value in zip(records, values):
            groups[min(int((value - low) / width), bins - 1)].append(record)
        return [(f"{low + i * width:.3g}-{low + (i + 1) * width:.3g}", g) for i, g in enumerate(groups) if g]
    return [(str(v), [r for r, x in zip(records, values) if x == v]) for v in distinct]
