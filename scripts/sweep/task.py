"""Sweep points run on a Dask worker: one task runs a short chunk of points one after another, each
one `cimtlm run` (and, when the sweep asks for accuracy, one `cimtlm evaluate`), and returns plain
dicts for the results database, each with the hash of the point's effective configuration.

This module is shipped to the workers by value (cloudpickle), so a worker needs Python with Dask
and PyYAML, the cimtlm executable and the sweep's input files, not this repository; hence it is
self-contained (the client uses the same hashing functions).
A failing simulation is a result (status 'fail' or 'invalid' with cimtlm's own message), not an
exception: Dask retries only what is lost with a worker.
"""
import csv
import hashlib
import json
import math
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import yaml

from . import served

# libyaml's parser when PyYAML has it (Debian's does): 7x faster than the pure-Python one on the
# ~9 KB effective configuration of every point.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Exit statuses of cimtlm (ARCHITECTURE.md): 0 ok, 1 the simulation found a failure, 2 bad input.
STATUS_BY_EXIT = {0: "ok", 1: "fail", 2: "invalid"}
# Statuses that are final: a re-run skips them. 'error' (crash, timeout, signal, lost worker,
# missing executable) is retried by the next run.
FINISHED = ("ok", "fail", "invalid")
ERROR_TEXT_LIMIT = 4000


# -- the effective configuration and its hash ----------------------------------------------------
def cimtlm_identity(executable):
    """What identifies a cimtlm build without reading it: its real path, size and modification
    time. The schema and its defaults are compiled in, so a rebuilt cimtlm (new defaults) has
    another identity."""
    path = os.path.realpath(executable)
    info = os.stat(path)
    return f"{path}:{info.st_size}:{info.st_mtime_ns}"


def request_key(request_base, identity):
    """The hash of what a point asks for (files by content, overrides, inferences, accuracy set-up)
    and of the cimtlm that answers: equal keys have equal effective configurations, so the key
    caches a point's configuration hash without asking cimtlm again."""
    text = json.dumps({"request": request_base, "cimtlm": identity}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# SI and binary prefixes, and the unit symbols cimtlm's schema uses (platforms/config/units.cpp):
# "1000MHz" and "1 GHz" are the same frequency, "0.50" and "0.5" the same threshold.
_PREFIXES = {"": 1.0, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "\u00b5": 1e-6,
             "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 1024.0, "Mi": 1024.0 ** 2, "Gi": 1024.0 ** 3, "Ti": 1024.0 ** 4}
_UNITS = ("Hz", "s", "B", "b", "J", "W", "V", "A", "F", "C", "eV", "h", "ohm", "Ohm")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z\u00b5]+)\s*$")


def _canonical_number(value):
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 2 ** 53:
        return int(value)
    return float(f"{value:.12g}")


def _canonical_scalar(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _canonical_number(value)
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match:
            number, unit = match.groups()
            for symbol in sorted(_UNITS, key=len, reverse=True):
                prefix = unit[:-len(symbol)] if unit.endswith(symbol) else None
                if prefix is not None and prefix in _PREFIXES:
                    return [_canonical_number(float(number) * _PREFIXES[prefix]), symbol.lower()]
        return value
    return value


def _canonical(node):
    if isinstance(node, dict):
        return {str(key): _canonical(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_canonical(item) for item in node]
    return _canonical_scalar(node)


_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def _plain_scalar(text):
    """A scalar as yaml-cpp emits it in the effective configuration, read as data."""
    if text.startswith(("'", '"')):
        return yaml.load(text, Loader=_YAML_LOADER)
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("["):
        return yaml.load(text, Loader=_YAML_LOADER)
    return text


_SKIP, _BRANCH = object(), object()
# Lines already read (line text -> depth, key, canonical value): the points of a sweep share all
# but a few of the ~200 lines of their effective configuration, so a worker reads each distinct
# line once (0.6 ms of CPU per point saved). Bounded: cleared when full.
_LINES = {}
_LINE_CACHE_LIMIT = 50000


def _parse_line(line):
    """One line of the effective configuration: _SKIP (blank, comment), or (depth, key, value)
    with value _BRANCH for a mapping key. The values are shared between points: read only."""
    if not line.strip() or line.lstrip().startswith("#"):
        return _SKIP
    depth = (len(line) - len(line.lstrip(" "))) // 2
    key, separator, rest = line.strip().partition(":")
    if not separator:
        raise ValueError(line)
    rest = rest.strip()
    if not rest:
        return depth, key, _BRANCH
    if rest.startswith(("'", '"')):
        close = rest.find(rest[0], 1)
        while rest[0] == "'" and close + 1 < len(rest) and rest[close + 1] == "'":
            close = rest.find("'", close + 2)  # '' inside single quotes
        if close < 0:
            raise ValueError(line)
        scalar = rest[:close + 1]
    else:
        scalar = rest.split("  #", 1)[0].strip()
    return depth, key, _canonical(_plain_scalar(scalar))


def read_effective_config(text):
    """The effective configuration `cimtlm validate` prints as {dotted.key: value}. It is cimtlm's
    own regular format (platforms/config/config.cpp, Config::effective_yaml: one leaf per line,
    'key: scalar  # source'), so a line reader does in 1 ms what a YAML parser does in 15;
    anything else goes through PyYAML."""
    flat, stack = {}, []
    try:
        for line in text.splitlines():
            parsed = _LINES.get(line)
            if parsed is None:
                parsed = _parse_line(line)
                if len(_LINES) >= _LINE_CACHE_LIMIT:
                    _LINES.clear()
                _LINES[line] = parsed
            if parsed is _SKIP:
                continue
            depth, key, value = parsed
            if depth > len(stack):
                raise ValueError(line)
            del stack[depth:]
            if value is _BRANCH:
                stack.append(key)
                continue
            flat[".".join(stack + [key])] = value
    except (ValueError, yaml.YAMLError):
        flat = {}

        def walk(prefix, node):
            if isinstance(node, dict):
                for key, child in node.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), child)
            else:
                flat[prefix] = _canonical(node)

        walk("", yaml.load(text, Loader=_YAML_LOADER) or {})
    return flat


# SHA-256 of files by (real path, size, modification time in ns): the points of a scenario sweep
# hash the same network files once per point otherwise (a network's weights can be megabytes).
_DIGESTS = {}
_DIGEST_CACHE_LIMIT = 1000


def file_digest(path):
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        key = (os.path.realpath(path), info.st_size, info.st_mtime_ns)
        cached = _DIGESTS.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if len(_DIGESTS) >= _DIGEST_CACHE_LIMIT:
        _DIGESTS.clear()
    _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def effective_hash(config_text, platform, workload):
    """SHA-256 of a point's effective configuration: what `cimtlm validate` prints (and `cimtlm
    run` writes beside its stats), every key with its default filled in, read as data (so the
    comments naming each value's source do not count) with numbers and quantities in one spelling;
    the networks by content instead of by path; and what the command line adds (`--inferences`,
    the accuracy set-up). `workload` holds network_sha256 (None: the platform's workload.networks),
    inferences and accuracy."""
    config = read_effective_config(config_text)
    if workload.get("network_sha256"):
        config["workload.networks"] = [workload["network_sha256"]]  # --network replaces them
    else:
        folder = os.path.dirname(os.path.abspath(platform))
        config["workload.networks"] = [
            file_digest(path if os.path.isabs(path) else os.path.join(folder, path))
            for path in config.get("workload.networks") or []]
    if workload.get("inferences"):
        config["workload.inferences"] = workload["inferences"]
    identity = {"config": config, "accuracy": workload.get("accuracy")}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def fallback_hash(key):
    """A point without an effective configuration (cimtlm rejected it, or could not be run) is
    keyed by its request."""
    return "request:" + key


# -- results -------------------------------------------------------------------------------------
_PLAIN_SCALARS = (int, float, str, type(None))


def flatten_stats(stats):
    """Every scalar figure of a stats JSON under its dotted name ('energy_pj.total'), except the
    module tree (kept in the JSON column). Booleans as 0/1; lists are left out."""
    flat = {}

    def leaf(name, value):
        if isinstance(value, bool):
            flat[name] = int(value)
        elif isinstance(value, _PLAIN_SCALARS):
            flat[name] = value

    def walk(prefix, node):
        # The JSON's own types tested by identity first: ~3x faster than isinstance chains on the
        # ~300 figures of every point.
        for key, value in node.items():
            kind = type(value)
            if kind is dict:
                walk(f"{prefix}{key}.", value)
            elif kind is float or kind is int or kind is str:
                flat[prefix + key] = value
            elif kind is not list:
                if isinstance(value, dict):
                    walk(f"{prefix}{key}.", value)
                else:
                    leaf(prefix + key, value)

    walk("", {key: value for key, value in stats.items() if key != "modules"})
    return flat


def _tail(text):
    text = (text or "").strip()
    return text if len(text) <= ERROR_TEXT_LIMIT else "..." + text[-ERROR_TEXT_LIMIT:]


def _simulation_environment():
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers (distributed.nanny.pre-spawn-
    # environ); inherited by cimtlm it makes glibc return memory to the system all the time and
    # slows the simulation down. cimtlm runs with the allocator's defaults.
    environment = dict(os.environ)
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environment


def _run_process(command, timeout_s, environment, stderr_path):
    """Run a cimtlm command: a CompletedProcess (stderr as text), or None when it ran out of time
    (it is killed then). It waits for the exit in the kernel (_wait_exit) with the timeout there:
    subprocess.run(timeout=...) polls for the exit with sleeps of 0.5 ms and more, which left a
    worker's slot idle ~1 ms per point. stderr goes to a file, read after the exit: nothing
    (a process cimtlm started, say) can keep the worker waiting once cimtlm is gone."""
    return _finish_process(_spawn(command, environment, stderr_path), command, timeout_s,
                           stderr_path)


def _spawn(command, environment, stderr_path):
    """Starts a cimtlm command: through this worker slot's start-up server (served.py: the same
    outputs and exit status, without the dynamic loader's and static constructors' time), or as
    a fresh process when no server can run it."""
    with open(stderr_path, "wb") as stderr_file:
        if served.enabled():
            with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:
                process = served.spawn(command, environment, null_in.fileno(), null_out.fileno(),
                                       stderr_file.fileno())
            if process is not None:
                return process
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr_file, env=environment)


def _finish_process(process, command, timeout_s, stderr_path):
    """_run_process after the spawn."""
    if isinstance(process, served.ServedProcess):
        exited = process.wait_exit(timeout_s)
    else:
        exited = _wait_exit(process, timeout_s)
    if exited is None:
        exited = _wait_exit_with_timer(process, timeout_s)
    if not exited:
        return None
    with open(stderr_path, errors="replace") as handle:
        stderr = handle.read()
    return subprocess.CompletedProcess(command, process.returncode, None, stderr)


def _wait_exit(process, timeout_s):
    """Wait for the exit in the kernel, on a pidfd (Linux 5.3, Python 3.9): True when it exited,
    False when it ran out of time (it is killed then), None when there is no pidfd. No thread per
    point: a timer thread's start, wake-ups and end cost ~0.2 ms of CPU per point."""
    try:
        descriptor = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return None
    try:
        poller = select.poll()
        poller.register(descriptor, select.POLLIN)
        # poll() restarts after a signal with the time left (PEP 475); its limit is an int of ms.
        ready = poller.poll(min(max(timeout_s, 0) * 1000.0, 2 ** 31 - 1))
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        os.close(descriptor)
    if not ready:
        process.kill()
        process.wait()
        return False
    process.wait()
    return True


def _wait_exit_with_timer(process, timeout_s):
    """_wait_exit without a pidfd: the thread blocks in wait() while a timer thread kills the
    process when it outlives timeout_s."""
    timed_out = []

    def kill():
        if process.poll() is None:
            timed_out.append(True)
            process.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.daemon = True
    timer.start()
    try:
        process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        timer.cancel()
    return not timed_out


def _scratch_folder():
    """A temporary folder for a chunk's output files: in /dev/shm (memory) when it is there and
    TMPDIR does not name another place, so that cimtlm's stats and configuration files, written
    and read once, never reach a disk."""
    shm = "/dev/shm"
    if "TMPDIR" not in os.environ and os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        try:
            return tempfile.mkdtemp(prefix="cimtlm-sweep-", dir=shm)
        except OSError:
            pass
    return tempfile.mkdtemp(prefix="cimtlm-sweep-")


def _worker():
    try:
        from distributed import get_worker

        return get_worker()
    except Exception:  # noqa: BLE001 - outside a worker (tests call the functions directly)
        return None


def _stopping(worker):
    """The local cluster is closing (Ctrl-C): the rest of a chunk is not started."""
    return worker is not None and str(getattr(worker, "status", "running")).split(".")[-1] not in (
        "running", "paused")


def run_chunk(points, common):
    """Run a few points one after another in one task (one Dask task per point costs more than a
    small simulation's worth of scheduling). `common`: cimtlm, platform, timeout_s, accuracy.
    Each point: network, network_sha256, overrides [[key, text]], inferences, request_base.
    Returns one result dict per point started."""
    worker = _worker()
    address = getattr(worker, "address", "") if worker is not None else ""
    host = socket.gethostname()
    executable = shutil.which(common["cimtlm"]) or (
        common["cimtlm"] if os.access(common["cimtlm"], os.X_OK) else None)
    results = []
    if executable is None:
        for point in points:
            results.append(_result(point, "", address, host, time.time(), error=(
                f"cimtlm executable not found on worker {host}: {common['cimtlm']}")))
        return results
    identity = cimtlm_identity(executable)
    environment = _simulation_environment()
    folder = _scratch_folder()
    # Without accuracy a point's outputs are read (JSON, flattening, hash: ~1.5 ms of Python) while
    # the next point's cimtlm runs, so that the slot's core never waits for them. With accuracy the
    # point's second command (cimtlm evaluate) runs first: one process per slot at a time.
    overlap = not common.get("accuracy")
    exited = None  # a point whose cimtlm has exited, its outputs not read yet
    try:
        for point in points:
            if _stopping(worker):
                break
            running = _start_point(point, common, executable, identity, environment, folder, address,
                                   host)
            if exited is not None:
                try:
                    results.append(_collect_point(exited, common, executable, environment, folder))
                except BaseException:
                    running.popen.kill()  # the task fails: no cimtlm left running without a waiter
                    running.popen.wait()
                    raise
                exited = None
            _wait_point(running, common)
            if not overlap or _killed(running):
                results.append(_collect_point(running, common, executable, environment, folder))
                if _killed(running):
                    break  # killed by a signal: Ctrl-C reached the process group, stop the chunk
            else:
                exited = running
        if exited is not None:
            results.append(_collect_point(exited, common, executable, environment, folder))
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _killed(running):
    return running.process is not None and running.process.returncode < 0


def _result(point, key, address, host, started, error=""):
    return {"request_key": key, "config_hash": fallback_hash(key), "status": "error",
            "exit_code": None, "error": error, "flat": None, "stats_json": None,
            "accuracy": None, "worker": address, "host": host, "started_at": started,
            "wall_s": time.time() - started, "index": point["index"]}


class _Running:
    """A point between the start of its cimtlm run and the reading of its outputs."""

    def __init__(self, point, result, command, stats_path, stderr_path):
        self.point, self.result, self.command = point, result, command
        self.stats_path, self.stderr_path = stats_path, stderr_path
        self.config_path = stats_path[:-len(".stats.json")] + ".config.yaml"  # cimtlm writes it
        self.process = None  # the CompletedProcess once waited for; None if it timed out
        self.popen = None


def _start_point(point, common, executable, identity, environment, folder, address, host):
    started = time.time()
    key = request_key(point["request_base"], identity)
    result = _result(point, key, address, host, started)
    command = [executable, "run", common["platform"]]
    if point["network"]:
        command += ["--network", point["network"]]
    for name, text in point["overrides"]:
        command += ["--set", f"{name}={text}"]
    if point.get("inferences"):
        command += ["--inferences", str(point["inferences"])]
    # Files of their own per point (two points' files exist at once), in the chunk's folder.
    base = os.path.join(folder, f"point{point['index']}")
    running = _Running(point, result, command + ["--stats", base + ".stats.json", "--quiet"],
                       base + ".stats.json", base + ".stderr")
    for path in (running.stats_path, running.config_path):
        if os.path.exists(path):
            os.remove(path)
    running.popen = _spawn(running.command, environment, running.stderr_path)
    return running


def _wait_point(running, common):
    running.process = _finish_process(running.popen, running.command, common["timeout_s"],
                                      running.stderr_path)
    running.result["wall_s"] = time.time() - running.result["started_at"]


def _collect_point(running, common, executable, environment, folder):
    """The result of a point whose cimtlm has exited (or was killed): its stats, effective
    configuration hash and, if the sweep asks, its accuracy."""
    point, result, process = running.point, running.result, running.process
    if process is None:
        result["error"] = f"timed out after {common['timeout_s']} s"
        return result
    result["exit_code"] = process.returncode
    if process.returncode < 0:
        # Killed by a signal (Ctrl-C reaching the process group, the OOM killer): not a property
        # of the configuration, so 'error' and retried by the next run.
        result["error"] = f"cimtlm killed by signal {-process.returncode}"
        return result
    result["status"] = STATUS_BY_EXIT.get(process.returncode, "error")
    if process.returncode != 0:
        result["error"] = _tail(process.stderr) or f"exit status {process.returncode}"
    stats_path, config_path = running.stats_path, running.config_path
    if os.path.exists(stats_path) and os.path.exists(config_path):
        with open(stats_path) as handle:
            result["stats_json"] = handle.read()
        result["flat"] = flatten_stats(json.loads(result["stats_json"]))
        with open(config_path) as handle:
            result["config_hash"] = effective_hash(handle.read(), common["platform"], point["workload"])
        for path in (stats_path, config_path, running.stderr_path):
            os.remove(path)
    elif result["status"] in ("ok", "fail"):
        result["status"] = "error"
        result["error"] = _tail(process.stderr) + "\n(no stats file written)"
    if result["status"] in ("ok", "fail") and common.get("accuracy"):
        _measure_accuracy(executable, point, common, environment, folder, result)
        result["wall_s"] = time.time() - result["started_at"]
    return result


def _measure_accuracy(executable, point, common, environment, folder, result):
    """Top-1 accuracy through the simulated hardware: `cimtlm evaluate` runs the first `samples`
    labelled inputs on the point's platform (lossy ADCs, sparsity compensation, non-idealities
    and retention loss included) and compares the argmax with the label, the float model and the
    ideal integer model; one process per point (it runs the samples itself, one at a time here:
    the worker's slot is one simulation)."""
    spec = common["accuracy"]
    out_dir = os.path.join(folder, "evaluate")
    command = [executable, "evaluate", common["platform"], "--network", point["network"], "--data",
               spec["inputs"], "--labels", spec["labels"], "--samples", str(spec["samples"]),
               "--jobs", "1", "--no-plot", "--out-dir", out_dir]
    for name, text in point["overrides"]:
        command += ["--set", f"{name}={text}"]
    process = _run_process(command, common["timeout_s"], environment,
                           os.path.join(folder, "evaluate.stderr"))
    if process is None:
        result["status"], result["error"] = "error", f"accuracy: timed out after {common['timeout_s']} s"
        return
    table = os.path.join(out_dir, "accuracy.csv")
    if process.returncode != 0 or not os.path.exists(table):
        result["status"] = "error"
        result["error"] = f"accuracy (cimtlm evaluate, exit {process.returncode}): " + _tail(process.stderr)
        return
    with open(table, newline="") as handle:
        base = next(row for row in csv.DictReader(handle) if row["sweep"] == "base")
    result["accuracy"] = {
        "accuracy": float(base["accuracy"]), "accuracy_samples": int(base["samples"]),
        "accuracy_agreement": float(base["agreement_with_integer"]),
        "accuracy_bit_exact": float(base["bit_exact_fraction"]),
        "float_accuracy": float(base["float_accuracy"]), "integer_accuracy": float(base["integer_accuracy"]),
    }
    shutil.rmtree(out_dir, ignore_errors=True)
