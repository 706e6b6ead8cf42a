"""One sweep point, run on a Dask worker: `cimtlm run` (and, when the sweep asks for accuracy,
`cimtlm run` on labelled samples), returning a plain dict for the results database.

This module is shipped to the workers by value (cloudpickle), so a worker needs Python with Dask
and NumPy, the cimtlm executable and the sweep's input files, not this repository.
A failing simulation is a result (status 'fail' or 'invalid' with cimtlm's own message), not an
exception: Dask retries only what is lost with a worker.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Exit statuses of cimtlm (ARCHITECTURE.md): 0 ok, 1 the simulation found a failure, 2 bad input.
STATUS_BY_EXIT = {0: "ok", 1: "fail", 2: "invalid"}
# Statuses that are final: a re-run skips them. 'error' (crash, timeout, signal, lost worker,
# missing executable) is retried by the next run.
FINISHED = ("ok", "fail", "invalid")
# Host-time figures differ between runs of the same configuration; they are kept but are not
# part of anything compared.
ERROR_TEXT_LIMIT = 4000


def flatten_stats(stats):
    """Every scalar figure of a stats JSON under its dotted name ('energy_pj.total'), except the
    module tree (kept in the JSON column)."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else key, child)
        elif isinstance(value, (int, float, str)) or value is None:
            flat[prefix] = value
        elif isinstance(value, bool):
            flat[prefix] = int(value)

    for key, value in stats.items():
        if key == "modules":
            continue
        walk(key, value)
    return {key: (int(value) if isinstance(value, bool) else value) for key, value in flat.items()}


def _tail(text):
    text = (text or "").strip()
    return text if len(text) <= ERROR_TEXT_LIMIT else "..." + text[-ERROR_TEXT_LIMIT:]


def _ignore_sigint(signum, frame):
    pass


class QuietSigint:
    """Worker plugin for the local cluster: Ctrl-C on a terminal reaches the whole process group;
    the workers let it pass (so they do not die with tracebacks before the client has stopped the
    cluster cleanly) with a Python handler, which exec() resets, so each cimtlm run still stops
    at once. (An inherited SIG_IGN would survive exec and need a costly preexec_fn per run.)"""

    name = "cimtlm-sweep-quiet-sigint"

    def setup(self, worker):
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, _ignore_sigint)


def _simulation_environment():
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers (distributed.nanny.pre-spawn-
    # environ); inherited by cimtlm it makes glibc return memory to the system all the time and
    # slows the simulation down. cimtlm runs with the allocator's defaults.
    environment = dict(os.environ)
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environment


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except Exception:  # noqa: BLE001 - outside a worker (tests call the function directly)
        return ""


def run_point(point):
    """Run one point. `point` holds: cimtlm, platform, network (or None), overrides [[key, text]],
    inferences (or None), timeout_s, accuracy (or None)."""
    started = time.time()
    result = {"hash": point["hash"], "status": "error", "exit_code": None, "error": "", "stats": None,
              "accuracy": None, "accuracy_samples": None, "worker": _worker_address(),
              "host": socket.gethostname(), "started_at": started, "wall_s": None}
    executable = shutil.which(point["cimtlm"]) or (point["cimtlm"] if os.access(point["cimtlm"], os.X_OK) else None)
    if executable is None:
        result["error"] = f"cimtlm executable not found on worker {socket.gethostname()}: {point['cimtlm']}"
        result["wall_s"] = time.time() - started
        return result
    folder = tempfile.mkdtemp(prefix="cimtlm-sweep-")
    try:
        command = [executable, "run", point["platform"]]
        if point["network"]:
            command += ["--network", point["network"]]
        for key, text in point["overrides"]:
            command += ["--set", f"{key}={text}"]
        if point.get("inferences"):
            command += ["--inferences", str(point["inferences"])]
        stats_path = os.path.join(folder, "stats.json")
        command += ["--stats", stats_path, "--quiet"]
        try:
            process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     timeout=point["timeout_s"], env=_simulation_environment())
        except subprocess.TimeoutExpired:
            result["error"] = f"timed out after {point['timeout_s']} s"
            return result
        result["exit_code"] = process.returncode
        if process.returncode < 0:
            # Killed by a signal (Ctrl-C reaching the process group, the OOM killer): not a
            # property of the configuration, so 'error' and retried by the next run.
            result["error"] = f"cimtlm killed by signal {-process.returncode}"
            return result
        result["status"] = STATUS_BY_EXIT.get(process.returncode, "error")
        if process.returncode != 0:
            result["error"] = _tail(process.stderr or process.stdout) or f"exit status {process.returncode}"
        if os.path.exists(stats_path):
            with open(stats_path) as handle:
                result["stats"] = json.load(handle)
        elif result["status"] in ("ok", "fail"):
            result["status"] = "error"
            result["error"] = _tail(process.stderr) + "\n(no stats file written)"
        if result["status"] in ("ok", "fail") and point.get("accuracy"):
            _measure_accuracy(executable, point, folder, result)
        return result
    finally:
        result["wall_s"] = time.time() - started
        shutil.rmtree(folder, ignore_errors=True)


def _measure_accuracy(executable, point, folder, result):
    """Top-1 accuracy through the simulated hardware: the first `samples` labelled inputs, one
    `cimtlm run --input` each, the argmax of the output the platform computed (lossy ADCs,
    sparsity compensation and retention loss included) against the label."""
    import numpy

    spec = point["accuracy"]
    inputs = numpy.load(spec["inputs"])
    labels = numpy.load(spec["labels"]).reshape(-1)
    count = min(spec["samples"], len(labels), len(inputs))
    correct = 0
    for index in range(count):
        sample_path = os.path.join(folder, f"sample_{index}.npy")
        numpy.save(sample_path, inputs[index:index + 1])
        out_dir = os.path.join(folder, f"out_{index}")
        command = [executable, "run", point["platform"]]
        if point["network"]:
            command += ["--network", point["network"]]
        for key, text in point["overrides"]:
            command += ["--set", f"{key}={text}"]
        command += ["--input", sample_path, "--output-dir", out_dir, "--stats",
                    os.path.join(folder, f"acc_{index}.json"), "--quiet"]
        process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=point["timeout_s"], env=_simulation_environment())
        if process.returncode not in (0, 1):
            result["status"] = "error"
            result["error"] = "accuracy run failed: " + _tail(process.stderr)
            return
        output = numpy.load(os.path.join(out_dir, "output_0.npy"))
        correct += int(int(numpy.argmax(output.reshape(-1))) == int(labels[index]))
    result["accuracy"] = correct / count
    result["accuracy_samples"] = count
