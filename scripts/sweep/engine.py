"""Running a sweep on Dask: the cluster (a loopback LocalCluster, or a remote scheduler reached
over TLS), the points with their configuration hashes, submission, streaming into the database,
a progress line, and a clean stop on Ctrl-C.

Security: a Dask scheduler runs whatever code its clients send, so the local cluster listens on
127.0.0.1 only, a remote scheduler is reached over tls:// with certificates (Dask's Security),
and plain tcp:// to an address that is not loopback is refused unless --insecure is given.
"""
import concurrent.futures
import contextlib
import importlib
import ipaddress
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import yaml

from . import db as results_db
from . import spec as sweep_spec
from . import served, task

PLAIN_SCHEMES = ("tcp", "ws")
TLS_SCHEMES = ("tls", "wss")


# -- points ------------------------------------------------------------------------------------
def build_points(sweep):
    """The points of a sweep as task payloads, each with its request (the platform and network
    files by content, every --set override, fixed and swept, sorted, the inference count and the
    accuracy set-up). Equal requests are one point whatever order the sweep file lists them in."""
    platform_digest = task.file_digest(sweep.platform)
    network_digests = {n: task.file_digest(n) for n in sweep.networks if n}
    accuracy = None
    if sweep.accuracy:
        accuracy = {"inputs_sha256": task.file_digest(sweep.accuracy["inputs"]),
                    "labels_sha256": task.file_digest(sweep.accuracy["labels"]),
                    "samples": sweep.accuracy["samples"]}
    scenario_networks = [] if any(sweep.networks) else sweep_spec.workload_network_digests(sweep.platform)
    raw, dropped = sweep.points()
    points, seen = [], set()
    for network, params in raw:
        overrides = {key: sweep_spec.set_text(value) for key, value in sweep.fixed.items()}
        overrides.update({key: sweep_spec.set_text(value) for key, value in params.items()})
        overrides = sorted(overrides.items())
        request = {"platform_sha256": platform_digest, "network_sha256": network_digests.get(network),
                   "scenario_networks_sha256": scenario_networks, "overrides": overrides,
                   "inferences": sweep.inferences, "accuracy": accuracy}
        text = json.dumps(request, sort_keys=True)
        if text in seen:
            dropped += 1  # the same request twice (e.g. a random sample repeated)
            continue
        seen.add(text)
        points.append({
            "index": len(points), "sweep": sweep.name, "network": network,
            "network_name": os.path.basename(network) if network else "", "params": params,
            "overrides": [list(item) for item in overrides], "inferences": sweep.inferences,
            "request_base": request,
            "workload": {"network_sha256": network_digests.get(network), "inferences": sweep.inferences,
                         "accuracy": accuracy},
        })
    return points, dropped


def set_request_keys(points, cimtlm):
    """Each point's request key for the cimtlm this client would ask (its own rows are keyed by
    it until a run reports the point's effective configuration)."""
    executable = shutil.which(cimtlm) or cimtlm
    try:
        identity = task.cimtlm_identity(executable)
    except OSError:
        identity = f"not found here: {cimtlm}"  # a remote cluster's cimtlm, absent on this machine
    for point in points:
        point["request_key"] = task.request_key(point["request_base"], identity)


def validated_hash(cimtlm, platform, point):
    """The configuration hash of a point from `cimtlm validate` (the effective configuration
    `cimtlm run` would write), or its fallback when cimtlm rejects the configuration."""
    command = [cimtlm, "validate", platform]
    for key, text in point["overrides"]:
        command += ["--set", f"{key}={text}"]
    if point["network"]:
        # --network replaces the platform's own networks: validate need not load them.
        command += ["--set", "workload.networks=[]"]
    try:
        process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None  # no cimtlm here: the point is asked of the workers by running it
    if process.returncode != 0:
        return None
    return task.effective_hash(process.stdout, platform, point["workload"])


def resolve_hashes(points, database, cimtlm, platform, jobs):
    """Each point's configuration hash: from the cache of requests already answered by this same
    cimtlm build, else from `cimtlm validate` (run `jobs` at once). Only a resume needs them: a
    fresh database has nothing to skip, and each run reports its own hash."""
    executable = shutil.which(cimtlm) or cimtlm
    cache = database.config_hashes()
    missing = []
    for point in points:
        point["config_hash"] = cache.get(point["request_key"])
        if point["config_hash"] is None:
            missing.append(point)
    if not missing:
        return 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        hashes = list(pool.map(lambda p: validated_hash(executable, platform, p), missing))
    for point, digest in zip(missing, hashes):
        point["config_hash"] = digest or task.fallback_hash(point["request_key"])
    database.remember_hashes([(p["request_key"], p["config_hash"]) for p in missing])
    return len(missing)


# -- security ----------------------------------------------------------------------------------
def _split_address(address):
    scheme, separator, rest = address.partition("://")
    if not separator:
        scheme, rest = "tcp", address
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    return scheme.lower(), host, port


def is_loopback_host(host):
    """True when every address the host name resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as error:
        raise sweep_spec.SweepError(f"--scheduler: cannot resolve '{host}': {error}")
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def scheduler_security(address, tls_ca_file=None, tls_cert=None, tls_key=None, insecure=False):
    """Check a scheduler address against the rules above; returns a distributed.Security for
    tls:// (None for loopback tcp://) or raises SweepError (exit 2)."""
    scheme, host, port = _split_address(address)
    if not host or not port:
        raise sweep_spec.SweepError(f"--scheduler: expected tls://HOST:PORT, got '{address}'")
    if scheme in TLS_SCHEMES:
        missing = [name for name, value in (("--tls-ca-file", tls_ca_file), ("--tls-cert", tls_cert),
                                            ("--tls-key", tls_key)) if not value]
        if missing:
            raise sweep_spec.SweepError(f"--scheduler {address}: TLS needs {', '.join(missing)} "
                                        "(scripts/sweep/README.md: making certificates with openssl)")
        for name, path in (("--tls-ca-file", tls_ca_file), ("--tls-cert", tls_cert), ("--tls-key", tls_key)):
            if not os.path.isfile(path):
                raise sweep_spec.SweepError(f"{name}: no such file: {path}")
        from distributed.security import Security

        return Security(tls_ca_file=tls_ca_file, tls_client_cert=tls_cert, tls_client_key=tls_key,
                        require_encryption=True)
    if scheme not in PLAIN_SCHEMES:
        raise sweep_spec.SweepError(f"--scheduler: unsupported scheme '{scheme}://' (tls://, or tcp:// on loopback)")
    if not is_loopback_host(host) and not insecure:
        raise sweep_spec.SweepError(
            f"--scheduler {address}: refusing unencrypted {scheme}:// to a non-loopback address: a Dask "
            "scheduler runs any code its clients send. Use tls:// with --tls-ca-file/--tls-cert/--tls-key, "
            "or pass --insecure on a network you trust.")
    return None


# -- progress ----------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on a terminal; a line every 10 % otherwise."""

    def __init__(self, total, skipped, stream, quiet):
        self.total, self.skipped, self.stream, self.quiet = total, skipped, stream, quiet
        self.counts = {}
        self.done = 0
        self.start = time.time()
        self.tty = stream.isatty()
        self.last_decile = -1

    def update(self, status):
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.quiet:
            return
        elapsed = time.time() - self.start
        remaining = (self.total - self.done) * elapsed / self.done if self.done else 0
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        counts = " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} points "
                f"({counts}) {elapsed:.0f} s, ~{remaining:.0f} s left")
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            decile = 10 * self.done // max(self.total, 1)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(line + "\n")
        self.stream.flush()


class ConnectError(Exception):
    """The scheduler could not be reached (exit 1: nothing was run)."""


# -- running -----------------------------------------------------------------------------------
def _error_result(point, error):
    name = type(error).__name__
    text = f"{name}: {error}"
    if name == "KilledWorker":
        text = ("the workers running this point were lost too many times "
                f"(distributed.scheduler.allowed-failures): {error}")
    key = point.get("request_key") or ""
    return {"request_key": key, "config_hash": point.get("config_hash") or task.fallback_hash(key),
            "status": "error", "exit_code": None, "error": text, "flat": None, "stats_json": None,
            "accuracy": None, "worker": "", "host": "", "started_at": None, "wall_s": None,
            "index": point["index"]}


def start_cluster(args, security):
    """A LocalCluster bound to loopback, or a client of a remote scheduler (checked above)."""
    import_dask()
    import dask
    from distributed import Client, LocalCluster

    if not args.verbose:
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    # The workers' statistical profiler samples every thread each 10 ms: CPU taken from the
    # simulations for a profile nobody looks at here.
    # Dask's periodic housekeeping (event-loop tick every 20 ms, system and memory monitors every
    # 0.1-0.5 s) takes ~4 % of a core in this process for as long as a sweep lasts: slowed down
    # to what a sweep needs, it takes 0.5 %.
    dask.config.set({"distributed.scheduler.allowed-failures": args.allowed_failures,
                     "distributed.worker.profile.enabled": False,
                     "distributed.admin.tick.interval": "1s",
                     "distributed.admin.system-monitor.interval": "5s",
                     "distributed.worker.memory.monitor-interval": "1s",
                     # A submission records the caller's source for the dashboard (inspect.getsource:
                     # every module's real path, then tokenizing engine.py): ~25 ms of CPU on the way
                     # to the first point. Every module is "ignored", so none is read.
                     "distributed.diagnostics.computations.ignore-modules": [".*"]})
    if args.scheduler:
        try:
            client = Client(args.scheduler, security=security, timeout=args.connect_timeout)
        except (OSError, TimeoutError) as error:
            raise ConnectError(f"cimtlm-sweep: cannot reach the scheduler {args.scheduler}: {error}")
        return client, None
    # The simulations are processes of their own, so the local cluster's workers are threads of
    # this process (one per simulation at a time): worker processes would only add their start-up
    # (a Python with Dask imported, ~1 s of CPU each) and a hop per result. In-process Dask talks
    # over inproc://, so nothing listens on the network; its HTTP endpoints, if any, are bound to
    # loopback.
    # One worker: nothing to steal between workers, and every task is handed to it at once
    # (no queue on the scheduler), so that a thread that finishes a task starts the next one
    # without waiting for the scheduler to send it.
    dask.config.set({"distributed.scheduler.work-stealing": False,
                     "distributed.scheduler.worker-saturation": float("inf")})
    with _modules_absent(VERSION_REPORT_IMPORTS):
        cluster = LocalCluster(n_workers=1, threads_per_worker=args.workers or os.cpu_count() or 1,
                               processes=False, dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               worker_dashboard_address="127.0.0.1:0")
    # The rule, checked on what was actually bound (sweep_resume checks the sockets too).
    if not cluster.scheduler_address.startswith("inproc://"):
        cluster.close()
        raise RuntimeError(f"the local cluster listens on {cluster.scheduler_address}, not in-process")
    with _modules_absent(VERSION_REPORT_IMPORTS):
        client = Client(cluster)
    return client, cluster


def run_sweep(args):
    # The security rules first: a refused address runs nothing and creates no database.
    security = None
    if args.scheduler:
        security = scheduler_security(args.scheduler, args.tls_ca_file, args.tls_cert, args.tls_key,
                                      args.insecure)
    sweep = sweep_spec.Sweep(args.sweep)
    # A fresh database means every point is to run: Dask is imported (~0.5 s of CPU, much of it
    # reading files) in the background while the points and the database are made. Joined before
    # returning, so that the interpreter never exits in the middle of an import.
    importer = None
    if not args.dry_run and not os.path.exists(args.db):
        importer = threading.Thread(target=_import_dask, name="cimtlm-sweep-import", daemon=True)
        importer.start()
    try:
        return _run_sweep(args, security, sweep)
    finally:
        if importer is not None:
            importer.join()


# Modules Dask imports only if they are there (distributed.comm.utils: NumPy to allocate receive
# buffers, bytearray otherwise; dask.widgets: Jinja2 for HTML reprs) and a sweep never uses: kept
# out of the import, they are ~40 % of its CPU time (~0.15 s).
OPTIONAL_DASK_IMPORTS = ("numpy", "jinja2")


# Modules that distributed.versions.get_versions imports to report their versions, four times as a
# local cluster starts (worker, scheduler for the worker, client, scheduler for the client): NumPy
# alone is ~0.1 s of CPU and of wall time before the first point. Between the scheduler, worker and
# client of one process the report compares a Python with itself, so they are reported absent there.
VERSION_REPORT_IMPORTS = ("numpy", "pandas")


@contextlib.contextmanager
def _modules_absent(names):
    """Within the block, `import name` raises ImportError for the given modules not imported yet
    (sys.modules[name] = None); afterwards they import normally."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@contextlib.contextmanager
def _yaml_safe_load_in_c():
    """Dask reads its default configuration (distributed.yaml, 14 KB) with yaml.safe_load, PyYAML's
    pure-Python parser: 18 ms of CPU; libyaml's parser (when PyYAML has it) gives the same data in
    2.5 ms. Only while Dask is imported."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        yield
        return
    original = yaml.safe_load
    yaml.safe_load = lambda stream: yaml.load(stream, Loader=loader)
    try:
        yield
    finally:
        yaml.safe_load = original


def import_dask():
    """Import Dask distributed (and cloudpickle) without the optional modules above; if a Dask
    version needs them after all, import it again with them."""
    if "distributed" in sys.modules:
        return
    try:
        with _modules_absent(OPTIONAL_DASK_IMPORTS), _yaml_safe_load_in_c():
            for module in ("cloudpickle", "distributed"):
                importlib.import_module(module)
    except ImportError:
        pass
    importlib.import_module("distributed")  # again, with them, if the first import failed


def _import_dask():
    try:
        import_dask()
    except Exception:  # noqa: BLE001 - the main thread's own import reports it
        pass


def _run_sweep(args, security, sweep):
    points, dropped = build_points(sweep)
    database = results_db.ResultsDb(args.db)
    try:
        database.set_meta({"sweep_file": sweep.path, "name": sweep.name, "platform": sweep.platform,
                           "networks": sweep.networks, "axes": [a.key for a in sweep.axes],
                           "sampling": sweep.sampling, "points": len(points),
                           "accuracy": sweep.accuracy is not None})
        set_request_keys(points, args.local_cimtlm)
        finished = database.finished_hashes()
        validated = 0
        if finished:
            validated = resolve_hashes(points, database, args.local_cimtlm, sweep.platform,
                                       os.cpu_count() or 1)
        todo = [p for p in points if p.get("config_hash") not in finished]
        skipped = len(points) - len(todo)
        if not args.quiet:
            asked = f" ({validated} configurations checked with cimtlm validate)" if validated else ""
            print(f"cimtlm-sweep: {sweep.name}: {len(points)} points ({dropped} dropped by constraints or "
                  f"repeated), {skipped} already in {args.db}{asked}, {len(todo)} to run", file=sys.stderr)
        if args.dry_run:
            for point in todo:
                print((point.get("config_hash") or "-")[:12], point["network_name"], json.dumps(point["params"]))
            return 0
        if not todo:
            return summarize(database, points, args)
        return _run_points(sweep, todo, points, database, args, security)
    finally:
        database.close()


def chunk_size(points, slots, requested):
    """Points per task: enough tasks for every slot to take ~8 in turn (a slot that finishes
    early finds work), at most 4 points each (an interrupted or lost task loses little)."""
    if requested:
        return requested
    return max(1, min(4, math.ceil(points / (8 * max(slots, 1)))))


def chunk_sizes(points, slots, requested):
    """The sizes of the tasks in submission order: chunk_size() points each, then smaller and
    smaller towards the end (never more than the points left / (2 x slots)), so that the last
    tasks are single points and the slots finish together instead of one slot running a last
    chunk of 4 while the others wait. --chunk-size fixes every size."""
    size = chunk_size(points, slots, requested)
    sizes, left = [], points
    while left > 0:
        step = size if requested else max(1, min(size, left // (2 * max(slots, 1))))
        step = min(step, left)
        sizes.append(step)
        left -= step
    return sizes


def _run_points(sweep, todo, points, database, args, security):
    import_dask()
    import cloudpickle
    from distributed import as_completed

    # Workers need not have this package: the task module travels with the task.
    cloudpickle.register_pickle_by_value(task)
    cloudpickle.register_pickle_by_value(served)
    client, cluster = start_cluster(args, security)
    slots = sum(client.nthreads().values()) if args.scheduler else (args.workers or os.cpu_count() or 1)
    sizes = chunk_sizes(len(todo), slots, args.chunk_size)
    common = {"cimtlm": args.cimtlm, "platform": sweep.platform, "timeout_s": sweep.timeout_s,
              "accuracy": sweep.accuracy}
    progress = Progress(len(todo), len(points) - len(todo), sys.stderr, args.quiet)
    futures = {}
    interrupted = False
    stopping = []

    def on_sigint(signum, frame):
        # Set before the exception: a result that arrives in between (a simulation the same Ctrl-C
        # killed) is not recorded.
        stopping.append(signum)
        raise KeyboardInterrupt

    previous_handler = signal.signal(signal.SIGINT, on_sigint)
    try:
        chunks, start = [], 0
        for size in sizes:
            chunks.append(todo[start:start + size])
            start += size
        payloads = [[{k: p[k] for k in ("index", "network", "overrides", "inferences", "request_base",
                                        "workload")} for p in chunk] for chunk in chunks]
        # One submission for all chunks: Dask reads the caller's source for every submission
        # (its computation record), which costs more per call than a small simulation's start-up.
        keys = [f"cimtlm-points-{chunk[0]['index']}-{len(chunk)}-{os.getpid()}" for chunk in chunks]
        for future, chunk in zip(client.map(task.run_chunk, payloads, common=common, key=keys, pure=False),
                                 chunks):
            futures[future] = chunk
        for future in as_completed(list(futures)):
            chunk = futures.pop(future)
            try:
                results = future.result()
            except Exception as error:  # noqa: BLE001 - lost workers (KilledWorker), cancellations
                results = [_error_result(point, error) for point in chunk]
            if stopping:
                raise KeyboardInterrupt
            pairs = []
            for result in results:
                point = points[result["index"]]
                point["config_hash"] = result["config_hash"]
                pairs.append((point, result))
            database.record_many(pairs)
            for _, result in pairs:
                progress.update(result["status"])
            future.release()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        if futures:
            try:
                client.cancel(list(futures), force=True)
            except Exception:  # noqa: BLE001 - the cluster may already be going down
                pass
        client.close()
        if cluster is not None:
            cluster.close()
        # The in-process workers' start-up servers (they would end at this process's exit; ended
        # here, their children's CPU time is accounted to this process like fresh runs').
        served.close_all()
    if interrupted:
        total = len(points)
        recorded = len(database.finished_hashes())
        print(f"\ncimtlm-sweep: interrupted; {recorded} of {total} points finished in {args.db} "
              "(every row complete); run the same command again to resume", file=sys.stderr)
        return 130
    return summarize(database, points, args)


def summarize(database, points, args):
    hashes = [p["config_hash"] for p in points if p.get("config_hash")]
    counts = {}
    for i in range(0, len(hashes), 500):
        chunk = hashes[i:i + 500]
        for status, count in database.connection.execute(
                f"SELECT status, COUNT(*) FROM points WHERE config_hash IN ({','.join('?' * len(chunk))}) "
                "GROUP BY status", chunk):
            counts[status] = counts.get(status, 0) + count
    if not args.quiet:
        text = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        print(f"cimtlm-sweep: {len(points)} points in {args.db}: {text}", file=sys.stderr)
    # Exit 1 when some point could not be run at all (error): the results are incomplete.
    return 1 if counts.get("error") or len(hashes) < len(points) else 0
