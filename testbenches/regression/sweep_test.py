#!/usr/bin/python3
"""Regression tests of cimtlm-sweep (scripts/cimtlm_sweep.py) on Dask, everything on loopback.

Usage: sweep_test.py CASE CIMTLM_SWEEP CIMTLM SOURCE_ROOT OUTPUT_DIR
  cluster   dask-scheduler and two dask-workers started here; a sweep of the MLP (a grid with one
            invalid value and a constraint) checks every row against a direct `cimtlm run` of the
            same configuration (every stats figure but host time), the failure row's message, the
            workers' own cimtlm found on their PATH, then `plot` (PNGs) and `export --csv`.
  kill      the same cluster, one worker killed (its process group, SIGKILL) while it runs a point:
            that point runs again on the other worker and every point is recorded exactly once.
  resume    the default LocalCluster: in-process, only its HTTP endpoints listen, on loopback
            (every listening socket of the process tree); Ctrl-C (SIGINT to the process group)
            mid-sweep leaves whole rows and exit 130; the re-run skips exactly the finished points.
  security  no cluster: plain tcp:// to a non-loopback scheduler and tls:// without certificates
            are refused (exit 2), bad sweep files name file, line and key (exit 2).
  sampling  no cluster (--dry-run): a Latin hypercube puts exactly one sample in each stratum of
            every axis, the same seed gives the same points, another seed other points; ranges,
            integer and list axes; constraints drop exactly the failing combinations.
  effective points keyed by their effective configuration: other spellings of the same
            configurations (7.0, 1000MHz, a default written out) run nothing; a cimtlm whose default
            differs runs every point again, one whose defaults are the same runs nothing.
  accuracy  accuracy from one `cimtlm evaluate` per point, equal to a direct evaluate's figures.
  timeout   a point whose cimtlm hangs is killed after the sweep file's timeout_s and recorded as an
            error naming it; the other points run; the sweep exits 1.
  tls       certificates made with openssl as scripts/sweep/README.md says; a scheduler and a worker
            requiring TLS on loopback; the sweep over tls:// completes.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

# Host-time figures differ between two runs of one configuration (ARCHITECTURE.md).
HOST_TIME_KEYS = ("wall", "host", "mcycles_per_s", "_per_s")
DASK_BIN = "/usr/bin"


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print(f"ok: {message}", flush=True)


class Context:
    def __init__(self, sweep_cli, cimtlm, root, out_dir, case):
        self.sweep_cli, self.cimtlm, self.root = sweep_cli, cimtlm, root
        self.out = os.path.join(out_dir, case)
        os.makedirs(self.out, exist_ok=True)
        for name in os.listdir(self.out):
            path = os.path.join(self.out, name)
            if os.path.isfile(path):
                os.remove(path)
        self.processes = []

    def write_sweep(self, name, axes, extra=""):
        path = os.path.join(self.out, name)
        with open(path, "w") as handle:
            handle.write(f"name: {os.path.splitext(name)[0]}\n"
                         f"platform: {self.root}/configs/platforms/default.yaml\n"
                         f"networks: [{self.root}/configs/networks/mlp.yaml]\n"
                         f"set: {{workload.inferences: 1}}\n"
                         f"axes:\n{axes}{extra}")
        return path

    def slow_cimtlm(self, delay_s):
        """A cimtlm wrapper that logs each start and end (with the parent, i.e. the Dask worker's
        pid, and its arguments) and takes at least delay_s: the points last long enough for a
        kill or an interrupt to land mid-sweep."""
        log = os.path.join(self.out, "invocations.log")
        path = os.path.join(self.out, "cimtlm")
        with open(path, "w") as handle:
            handle.write(f"#!/bin/sh\nargs=\"$*\"\necho \"start $PPID $args\" >> {log}\n"
                         f"sleep {delay_s}\n{self.cimtlm} \"$@\"\nrc=$?\n"
                         f"echo \"end $PPID $args\" >> {log}\nexit $rc\n")
        os.chmod(path, 0o755)
        return path, log

    def start(self, command, **kwargs):
        process = subprocess.Popen(command, start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def start_cluster(self, workers=2, extra=(), env=None):
        scheduler_file = os.path.join(self.out, "scheduler.json")
        if os.path.exists(scheduler_file):
            os.remove(scheduler_file)
        log = open(os.path.join(self.out, "dask.log"), "a")
        self.start([f"{DASK_BIN}/dask-scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
                    "--no-dashboard", "--scheduler-file", scheduler_file, *extra], stdout=log, stderr=log)
        deadline = time.time() + 60
        while not os.path.exists(scheduler_file) or os.path.getsize(scheduler_file) == 0:
            if time.time() > deadline:
                check(False, "dask-scheduler started within 60 s")
            time.sleep(0.2)
        time.sleep(0.2)
        with open(scheduler_file) as handle:
            address = json.load(handle)["address"]
        worker_processes = []
        for _ in range(workers):
            worker_processes.append(self.start(
                [f"{DASK_BIN}/dask-worker", address, "--nworkers", "1", "--nthreads", "1", "--no-nanny",
                 "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0", *extra],
                stdout=log, stderr=log, env=env))
        # Wait until both workers are registered: the kill test needs both busy.
        self.wait_workers(address, workers, extra)
        return address, worker_processes

    def wait_workers(self, address, count, extra):
        code = ("import sys, distributed\n"
                "from distributed.security import Security\n"
                "a = sys.argv[1:]\n"
                "security = Security(tls_ca_file=a[1], tls_client_cert=a[2], tls_client_key=a[3], "
                "require_encryption=True) if len(a) > 1 else None\n"
                "c = distributed.Client(a[0], security=security, timeout=60)\n"
                f"c.wait_for_workers({count}, timeout=120)\nc.close()\n")
        tls = []
        if extra:
            options = dict(zip(extra[::2], extra[1::2]))
            tls = [options["--tls-ca-file"], options["--tls-cert"], options["--tls-key"]]
        subprocess.run([sys.executable, "-c", code, address, *tls], check=True, timeout=180)

    def sweep(self, sweep_file, db, *options, timeout=300):
        command = [sys.executable, self.sweep_cli, sweep_file, "--db", db, *options]
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)

    def stop_all(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def rows(db):
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM points ORDER BY id")]
    finally:
        connection.close()


def flat_stats(stats):
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else key, child)
        else:
            flat[prefix] = value

    for key, value in stats.items():
        walk(key, value)
    return {k: v for k, v in flat.items() if not any(marker in k for marker in HOST_TIME_KEYS)}


def direct_run(ctx, row, index):
    stats_path = os.path.join(ctx.out, f"direct_{index}.json")
    command = [ctx.cimtlm, "run", f"{ctx.root}/configs/platforms/default.yaml", "--network",
               f"{ctx.root}/configs/networks/mlp.yaml", "--stats", stats_path, "--quiet"]
    for key, text in json.loads(row["overrides"]):
        command += ["--set", f"{key}={text}"]
    process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(stats_path) as handle:
        return process.returncode, json.load(handle)


CLUSTER_AXES = ("  core.cim.adc_bits: [0, 5, 7]\n"
                "  core.cim.sparsity_threshold: [0.3, 1.0]\n"
                "  core.macros: [2, 4]\n")
CLUSTER_CONSTRAINT = "constraints:\n  - not (core.macros == 2 and core.cim.sparsity_threshold == 1.0)\n"


def case_cluster(ctx):
    # The workers find cimtlm on their PATH, as on a cluster where it is installed.
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(ctx.cimtlm)) + os.pathsep + os.environ["PATH"])
    address, _ = ctx.start_cluster(env=env)
    check(address.startswith("tcp://127.0.0.1:"), f"scheduler on loopback ({address})")
    sweep_file = ctx.write_sweep("cluster.yaml", CLUSTER_AXES, CLUSTER_CONSTRAINT)
    db = os.path.join(ctx.out, "cluster.sqlite")
    result = ctx.sweep(sweep_file, db, "--scheduler", address)
    print(result.stderr)
    check(result.returncode == 0, f"sweep exit status 0 (got {result.returncode})")
    check("9 points (3 dropped" in result.stderr, "3 x 2 x 2 grid, 3 combinations dropped by the constraint")
    table = rows(db)
    check(len(table) == 9 and len({r["config_hash"] for r in table}) == 9, "9 rows, one per point")
    workers = {r["worker"] for r in table}
    check(len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers),
          f"both workers ran points ({sorted(workers)})")
    for index, row in enumerate(table):
        params = json.loads(row["params"])
        check(row["core.cim.adc_bits"] == params["core.cim.adc_bits"] and
              row["core.macros"] == params["core.macros"], f"point {index}: axis columns {params}")
        check(not (params["core.macros"] == 2 and params["core.cim.sparsity_threshold"] == 1.0),
              f"point {index}: the constraint holds")
        if params["core.cim.adc_bits"] == 0:
            check(row["status"] == "invalid" and row["exit_code"] == 2 and "core.cim.adc_bits" in row["error"],
                  f"point {index}: adc_bits 0 recorded as invalid with cimtlm's message ({row['error'][:80]!r})")
            continue
        code, stats = direct_run(ctx, row, index)
        if params["core.cim.adc_bits"] == 7:  # lossless with 64 rows per activation: bit-exact
            check(code == 0 and row["status"] == "ok" and row["exit_code"] == 0, f"point {index}: status ok")
        else:  # a lossy 5-bit ADC: the run finds output mismatches, exit 1, stats kept
            check(code == 1 and row["status"] == "fail" and row["exit_code"] == 1 and
                  row["outputs.match_reference"] == 0 and row["outputs.mismatches"] > 0,
                  f"point {index}: lossy ADC recorded as fail with its stats ({row['outputs.mismatches']:.0f} mismatches)")
        stored = flat_stats(json.loads(row["stats_json"]))
        expected = flat_stats(stats)
        check(stored == expected, f"point {index}: all {len(expected)} stats figures equal a direct cimtlm run")
        check(row["energy_pj.total"] == stats["energy_pj"]["total"] and row["sim.cycles"] == stats["sim"]["cycles"]
              and row["noc.packets"] == stats["noc"]["packets"],
              f"point {index}: stats columns (energy {row['energy_pj.total']:.0f} pJ, {row['sim.cycles']:.0f} cycles)")
        check(row["wall_s"] > 0 and row["host"], f"point {index}: wall time and host recorded")
    # The same sweep again: nothing to run.
    again = ctx.sweep(sweep_file, db, "--scheduler", address)
    check(again.returncode == 0 and "9 already in" in again.stderr and "0 to run" in again.stderr,
          "a re-run finds all 9 points finished")
    plot = subprocess.run([sys.executable, ctx.sweep_cli, "plot", db, "--out-dir", os.path.join(ctx.out, "plots")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(plot.returncode == 0, f"plot exit 0 {plot.stderr[-300:]}")
    for name in ("pareto.png", "sensitivity.png"):
        path = os.path.join(ctx.out, "plots", name)
        with open(path, "rb") as handle:
            check(handle.read(8) == b"\x89PNG\r\n\x1a\n", f"{name} is a PNG")
    with open(os.path.join(ctx.out, "plots", "sensitivity.csv")) as handle:
        axes = {line.split(",")[0] for line in handle.read().splitlines()[1:]}
    check(axes == {"core.cim.adc_bits", "core.cim.sparsity_threshold", "core.macros"},
          f"sensitivity of each axis ({sorted(axes)})")
    csv_path = os.path.join(ctx.out, "cluster.csv")
    export = subprocess.run([sys.executable, ctx.sweep_cli, "export", db, "--csv", csv_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(export.returncode == 0, "export exit 0")
    import csv

    with open(csv_path, newline="") as handle:
        exported = list(csv.DictReader(handle))
    check(len(exported) == 9 and "core.cim.adc_bits" in exported[0] and "energy_pj.total" in exported[0],
          "CSV: 9 rows with axis and stats columns")
    ran = [r for r in table if r["status"] in ("ok", "fail")]
    check(sorted(float(r["energy_pj.total"]) for r in exported if r["status"] in ("ok", "fail")) ==
          sorted(r["energy_pj.total"] for r in ran), "CSV energies equal the database's")


def point_of(log_line):
    """The configuration of a logged invocation: its arguments without the (temporary) stats path."""
    return log_line.split(" ", 2)[2].split(" --stats ")[0]


def case_kill(ctx):
    wrapper, log = ctx.slow_cimtlm(0.6)
    address, workers = ctx.start_cluster()
    axes = "  core.cim.adc_bits: [7, 8, 9, 10]\n  core.cim.sparsity_threshold: [0.2, 0.5, 1.0]\n"  # lossless
    sweep_file = ctx.write_sweep("kill.yaml", axes)
    db = os.path.join(ctx.out, "kill.sqlite")
    sweep = ctx.start([sys.executable, ctx.sweep_cli, sweep_file, "--db", db, "--scheduler", address,
                       "--cimtlm", wrapper, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = workers[1]
    in_flight = None
    deadline = time.time() + 120
    while in_flight is None and time.time() < deadline and sweep.poll() is None:
        time.sleep(0.05)
        if not os.path.exists(log):
            continue
        with open(log) as handle:
            text = handle.read()
        lines = text[:text.rfind("\n") + 1].splitlines()  # whole lines only: the wrappers are writing
        starts = [point_of(line) for line in lines if line.startswith(f"start {victim.pid} ")]
        ends = [point_of(line) for line in lines if line.startswith(f"end {victim.pid} ")]
        # Kill during the victim's second point or later, so the sweep is well under way.
        if len(starts) >= 2 and len(starts) > len(ends):
            in_flight = starts[-1]
            os.killpg(victim.pid, signal.SIGKILL)
    check(in_flight is not None, "worker 2 killed while it ran a point")
    stdout, stderr = sweep.communicate(timeout=240)
    print(stderr)
    check(sweep.returncode == 0, f"sweep exit status 0 after losing a worker (got {sweep.returncode})")
    table = rows(db)
    check(len(table) == 12, f"12 rows for 12 points (got {len(table)})")
    check(len({r["config_hash"] for r in table}) == 12, "every point recorded exactly once")
    check(all(r["status"] == "ok" and r["runs"] == 1 for r in table), "every point ok, written once")
    with open(log) as handle:
        starts = [point_of(line) for line in handle.read().splitlines() if line.startswith("start ")]
    check(starts.count(in_flight) == 2, f"the point the lost worker was running ran again ({in_flight[-90:]}; "
          f"{starts.count(in_flight)} runs)")
    survivor = {r["worker"] for r in table if json.dumps(r["overrides"]) and
                " ".join(f"--set {k}={v}" for k, v in json.loads(r["overrides"])) in in_flight}
    check(len(survivor) == 1, f"that point's row comes from the surviving worker ({survivor})")


def listening_addresses(pid):
    import psutil

    found = []
    try:
        root = psutil.Process(pid)
        processes = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for process in processes:
        try:
            for connection in process.connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    found.append((process.pid, connection.laddr.ip, connection.laddr.port))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def case_resume(ctx):
    import ipaddress

    wrapper, log = ctx.slow_cimtlm(0.4)
    axes = "  core.cim.adc_bits: [4, 5, 6, 7, 8]\n  core.macros: [2, 4]\n  core.cim.sparsity_threshold: [0.3, 1.0]\n"
    sweep_file = ctx.write_sweep("resume.yaml", axes)
    db = os.path.join(ctx.out, "resume.sqlite")
    command = [sys.executable, ctx.sweep_cli, sweep_file, "--db", db, "--workers", "2", "--cimtlm", wrapper]
    sweep = ctx.start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done, sockets = 0, []
    deadline = time.time() + 150
    while time.time() < deadline and sweep.poll() is None:
        time.sleep(0.1)
        if os.path.exists(db):
            try:
                done = len(rows(db))
            except sqlite3.OperationalError:
                continue  # the table is being created
        if done >= 1 and not sockets:
            sockets = listening_addresses(sweep.pid)
        if done >= 6:
            break
    # The local cluster is in-process (inproc:// between client, scheduler and worker threads):
    # what listens is the scheduler's and the worker's HTTP endpoint (health, metrics).
    check(len(sockets) >= 1, f"local cluster sockets found ({len(sockets)}: HTTP endpoints)")
    check(all(ipaddress.ip_address(ip).is_loopback for _, ip, _ in sockets),
          f"every listening socket of the local cluster is on loopback ({sorted({ip for _, ip, _ in sockets})})")
    check(all(pid == sweep.pid for pid, _, _ in sockets), "no worker processes: only the sweep itself listens")
    check(6 <= done < 20, f"{done} of 20 points finished before the interrupt")
    os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C on a terminal sends
    _, stderr = sweep.communicate(timeout=120)
    print(stderr)
    check(sweep.returncode == 130, f"interrupted sweep exits 130 (got {sweep.returncode})")
    connection = sqlite3.connect(db)
    check(connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "database integrity ok")
    connection.close()
    first = rows(db)
    # ADCs below 7 bits may be lossy: such runs end with exit 1 (fail) and their stats.
    check(all(r["status"] in ("ok", "fail") and (r["status"] == "ok") == (r["exit_code"] == 0) and
              (r["core.cim.adc_bits"] < 7 or r["status"] == "ok") and r["stats_json"]
              and r["energy_pj.total"] > 0 for r in first),
          f"the {len(first)} rows written before the interrupt are complete")
    check(len(first) < 20, "the interrupt stopped the sweep before the end")
    with open(log) as handle:
        before = sum(1 for line in handle if line.startswith("start ") and " run " in line)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=300)
    print(result.stderr)
    check(result.returncode == 0, "the re-run completes")
    check(f"{len(first)} already in" in result.stderr, f"the re-run skips the {len(first)} finished points")
    final = rows(db)
    check(len(final) == 20 and len({r["config_hash"] for r in final}) == 20, "20 rows, one per point")
    check(all(r["status"] in ("ok", "fail") and (r["core.cim.adc_bits"] < 7 or r["status"] == "ok") for r in final),
          "every point ran to the end (7 and 8 bits ok)")
    kept = {r["config_hash"]: r["finished_at"] for r in first}
    check(all(kept[r["config_hash"]] == r["finished_at"] and r["runs"] == 1 for r in final if r["config_hash"] in kept),
          "the finished rows were not run or written again")
    with open(log) as handle:
        lines = handle.read().splitlines()
    after = sum(1 for line in lines if line.startswith("start ") and " run " in line) - before
    check(after == 20 - len(first), f"the re-run ran exactly the {20 - len(first)} missing points ({after} runs)")
    # The finished points' configuration hashes are cached (same cimtlm, same request); the others
    # are asked of `cimtlm validate` once, to know they are not in the database.
    validated = sum(1 for line in lines if line.startswith("start ") and " validate " in line)
    check(validated == 20 - len(first) and f"({validated} configurations checked" in result.stderr,
          f"the re-run validated only the {20 - len(first)} unknown configurations ({validated})")


def case_timeout(ctx):
    # One point's cimtlm hangs (a wrapper that becomes `sleep 600` for 5-bit ADCs): after the sweep
    # file's timeout_s it is killed and recorded as an error naming the timeout; the other points
    # run; the sweep exits 1 (a point could not be run) and no sleeping process is left behind.
    wrapper = os.path.join(ctx.out, "cimtlm")
    with open(wrapper, "w") as handle:
        handle.write(f"#!/bin/sh\ncase \"$*\" in *adc_bits=5*) exec sleep 600;; esac\n"
                     f"exec {ctx.cimtlm} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    sweep_file = ctx.write_sweep("timeout.yaml", "  core.cim.adc_bits: [5, 7, 8]\n", "timeout_s: 5\n")
    db = os.path.join(ctx.out, "timeout.sqlite")
    result = ctx.sweep(sweep_file, db, "--workers", "2", "--cimtlm", wrapper)
    print(result.stderr)
    check(result.returncode == 1, f"a timed-out point makes the sweep exit 1 (got {result.returncode})")
    by_bits = {r["core.cim.adc_bits"]: r for r in rows(db)}
    check(sorted(by_bits) == [5, 7, 8], "three rows")
    slow = by_bits[5]
    check(slow["status"] == "error" and slow["error"] == "timed out after 5.0 s" and slow["exit_code"] is None
          and slow["stats_json"] is None, f"the hanging point is an error: {slow['error']!r}")
    check(all(by_bits[b]["status"] == "ok" and by_bits[b]["energy_pj.total"] > 0 for b in (7, 8)),
          "the other points ran")
    left = subprocess.run(["pgrep", "-f", "sleep 600"], stdout=subprocess.PIPE, text=True).stdout.split()
    check(not left, f"the hanging process was killed ({left})")


def case_security(ctx):
    sweep_file = ctx.write_sweep("security.yaml", "  core.cim.adc_bits: [5, 7]\n")
    db = os.path.join(ctx.out, "security.sqlite")
    refused = ctx.sweep(sweep_file, db, "--scheduler", "tcp://192.0.2.10:8786")
    check(refused.returncode == 2 and "refusing unencrypted tcp://" in refused.stderr,
          "plain tcp:// to a non-loopback scheduler refused (exit 2)")
    refused = ctx.sweep(sweep_file, db, "--scheduler", "192.0.2.10:8786")
    check(refused.returncode == 2 and "refusing" in refused.stderr, "an address without a scheme is tcp:// and refused")
    missing = ctx.sweep(sweep_file, db, "--scheduler", "tls://192.0.2.10:8786")
    check(missing.returncode == 2 and "--tls-ca-file" in missing.stderr, "tls:// without certificates refused (exit 2)")
    check(not os.path.exists(db) or not rows(db), "nothing was run")
    bad = ctx.write_sweep("bad.yaml", "  core.cim.adc_bits: {range: [8, 4, 1]}\n")
    result = ctx.sweep(bad, db)
    check(result.returncode == 2 and f"{bad}:6:" in result.stderr and "axes.core.cim.adc_bits.range" in result.stderr,
          f"a bad range names file, line and key ({result.stderr.strip()})")
    bad = ctx.write_sweep("bad2.yaml", "  core.cim.adc_bits: [5]\n",
                          "constraints:\n  - core.cim.adc_bits > __import__('os').getpid()\n")
    result = ctx.sweep(bad, db)
    check(result.returncode == 2 and f"{bad}:8:" in result.stderr and "constraints[0]" in result.stderr,
          f"a constraint cannot call code ({result.stderr.strip()})")
    bad = ctx.write_sweep("bad3.yaml", "  core.cim.adc_bits: [5]\n", "samplng: random\n")
    result = ctx.sweep(bad, db)
    check(result.returncode == 2 and f"{bad}:7:1: samplng: unknown key" in result.stderr,
          f"an unknown key is named ({result.stderr.strip()})")


def dry_run_points(ctx, sweep_file):
    result = ctx.sweep(sweep_file, os.path.join(ctx.out, "dry.sqlite"), "--dry-run")
    check(result.returncode == 0, f"dry run of {os.path.basename(sweep_file)} exits 0 {result.stderr[-300:]}")
    return [json.loads(line.split(" ", 2)[2]) for line in result.stdout.splitlines()]


def case_sampling(ctx):
    samples = 10
    lhs = ("  core.cim.sparsity_threshold: {uniform: [0.0, 1.0]}\n"
           "  core.cim.adc_bits: {integers: [3, 12]}\n"
           "  core.macros: [1, 2, 3, 4, 5]\n")
    first = dry_run_points(ctx, ctx.write_sweep("lhs.yaml", lhs, f"sampling: {{method: lhs, samples: {samples}, seed: 4}}\n"))
    check(len(first) == samples, f"{samples} Latin-hypercube points")
    strata = sorted(int(p["core.cim.sparsity_threshold"] * samples) for p in first)
    check(strata == list(range(samples)), "one sample in each tenth of the uniform axis")
    check(sorted(p["core.cim.adc_bits"] for p in first) == list(range(3, 13)), "each integer 3..12 exactly once")
    macros = [p["core.macros"] for p in first]
    check(all(macros.count(m) == 2 for m in range(1, 6)), "each listed value in exactly 2 of the 10 strata")
    again = dry_run_points(ctx, ctx.write_sweep("lhs2.yaml", lhs, f"sampling: {{method: lhs, samples: {samples}, seed: 4}}\n"))
    check(sorted(map(json.dumps, again)) == sorted(map(json.dumps, first)), "the same seed gives the same points")
    other = dry_run_points(ctx, ctx.write_sweep("lhs3.yaml", lhs, f"sampling: {{method: lhs, samples: {samples}, seed: 5}}\n"))
    check(sorted(map(json.dumps, other)) != sorted(map(json.dumps, first)), "another seed gives other points")
    grid = ("  core.cim.rows: {range: [64, 256, 64]}\n"
            "  core.cim.rows_per_activation: [32, 64, 128]\n")
    points = dry_run_points(ctx, ctx.write_sweep(
        "grid.yaml", grid, "constraints:\n  - core.cim.rows_per_activation <= core.cim.rows and network == 'mlp.yaml'\n"))
    expected = [(r, a) for r in (64, 128, 192, 256) for a in (32, 64, 128) if a <= r]
    check(sorted((p["core.cim.rows"], p["core.cim.rows_per_activation"]) for p in points) == expected,
          f"range [64, 256, 64] x 3 values, constraint keeps exactly {len(expected)} of 12")


def cimtlm_with(ctx, name, setting):
    """Another cimtlm build as far as a sweep can tell: a wrapper that runs cimtlm with one more
    --set, i.e. a build whose schema default for that key is `setting`'s value."""
    path = os.path.join(ctx.out, name)
    with open(path, "w") as handle:
        handle.write(f"#!/bin/sh\ncommand=$1\nshift\nexec {ctx.cimtlm} \"$command\" \"$@\" --set {setting}\n")
    os.chmod(path, 0o755)
    return path


def case_effective(ctx):
    base = ctx.write_sweep("effective.yaml", "  core.cim.adc_bits: [7, 8]\n")
    db = os.path.join(ctx.out, "effective.sqlite")
    first = ctx.sweep(base, db, "--workers", "2")
    check(first.returncode == 0 and len(rows(db)) == 2, f"2 points run {first.stderr[-300:]}")
    check(all(not r["config_hash"].startswith("request:") and len(r["config_hash"]) == 64 for r in rows(db)),
          "rows keyed by the hash of the effective configuration cimtlm wrote beside the stats")
    # Other spellings of the same effective configuration: 7.0 for 7, 1000MHz for the platform's
    # 1 GHz, a default written out, the fixed keys in another order. A new request for cimtlm
    # validate, whose configuration hash equals the run's.
    respelled = os.path.join(ctx.out, "respelled.yaml")
    with open(respelled, "w") as handle:
        handle.write(f"name: effective\nplatform: {ctx.root}/configs/platforms/default.yaml\n"
                     f"networks: [{ctx.root}/configs/networks/mlp.yaml]\n"
                     "set: {core.cim.cols_per_adc: 8, clock.frequency: 1000MHz, workload.inferences: 1}\n"
                     "axes:\n  core.cim.adc_bits: [8, 7.0]\n")
    again = ctx.sweep(respelled, db, "--workers", "2")
    check(again.returncode == 0 and "2 already in" in again.stderr and "(2 configurations checked" in again.stderr
          and "0 to run" in again.stderr, f"another spelling of the same configurations runs nothing ({again.stderr.strip()})")
    changed = ctx.write_sweep("changed.yaml", "  core.cim.adc_bits: [7, 8]\n", "")
    with open(changed) as handle:
        text = handle.read().replace("set: {workload.inferences: 1}", "set: {workload.inferences: 1, clock.frequency: 500 MHz}")
    with open(changed, "w") as handle:
        handle.write(text)
    other = ctx.sweep(changed, db, "--workers", "2", "--dry-run")
    check(other.returncode == 0 and "0 already in" in other.stderr and "2 to run" in other.stderr,
          "another clock frequency is another configuration")
    # A cimtlm whose default cols_per_adc is 4: the same sweep file is another effective
    # configuration, so its points run again (the cached hashes belong to the other build).
    new_default = cimtlm_with(ctx, "cimtlm_cols4", "core.cim.cols_per_adc=4")
    rerun = ctx.sweep(base, db, "--workers", "2", "--cimtlm", new_default)
    check(rerun.returncode == 0 and "0 already in" in rerun.stderr and "2 to run" in rerun.stderr and len(rows(db)) == 4,
          f"a changed default is seen: both points run again, 4 rows ({rerun.stderr.strip()[-200:]})")
    table = rows(db)
    before = {r["core.cim.adc_bits"]: r["sim.cycles"] for r in table[:2]}
    after = {r["core.cim.adc_bits"]: r["sim.cycles"] for r in table[2:]}
    check(all(after[bits] != before[bits] for bits in (7, 8)),
          f"the changed default changed the results ({before} -> {after} cycles)")
    # A cimtlm that spells out today's default: the same effective configuration, nothing to run.
    same_default = cimtlm_with(ctx, "cimtlm_cols8", "core.cim.cols_per_adc=8")
    same = ctx.sweep(base, db, "--workers", "2", "--cimtlm", same_default)
    check(same.returncode == 0 and "2 already in" in same.stderr and "0 to run" in same.stderr,
          f"another build with the same defaults runs nothing ({same.stderr.strip()[-200:]})")


def case_accuracy(ctx):
    samples = 6
    data = f"{ctx.root}/configs/networks/digits_data"
    network = f"{ctx.root}/configs/networks/digits_pruned.q.onnx"
    path = os.path.join(ctx.out, "accuracy.yaml")
    with open(path, "w") as handle:
        handle.write(f"name: accuracy\nplatform: {ctx.root}/configs/platforms/default.yaml\n"
                     f"networks: [{network}]\nset: {{workload.inferences: 1}}\n"
                     "axes:\n  core.cim.adc_bits: [5, 7]\n"
                     f"accuracy: {{inputs: {data}/val_inputs.npy, labels: {data}/val_labels.npy, samples: {samples}}}\n")
    db = os.path.join(ctx.out, "accuracy.sqlite")
    wrapper, log = ctx.slow_cimtlm(0)
    result = ctx.sweep(path, db, "--workers", "2", "--cimtlm", wrapper)
    print(result.stderr)
    check(result.returncode == 0, "the accuracy sweep completes")
    with open(log) as handle:
        commands = [line.split(" ")[2] for line in handle.read().splitlines() if line.startswith("start ")]
    check(sorted(commands) == ["evaluate", "evaluate", "run", "run"],
          f"one cimtlm run and one cimtlm evaluate per point ({sorted(commands)})")
    direct = subprocess.run([ctx.cimtlm, "evaluate", f"{ctx.root}/configs/platforms/default.yaml", "--network",
                             network, "--data", f"{data}/val_inputs.npy", "--samples", str(samples),
                             "--sweep", "core.cim.adc_bits=5,7", "--no-plot", "--out-dir",
                             os.path.join(ctx.out, "evaluate")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    check(direct.returncode == 0, f"direct cimtlm evaluate {direct.stderr[-200:]}")
    import csv

    with open(os.path.join(ctx.out, "evaluate", "accuracy.csv"), newline="") as handle:
        expected = {int(r["value"]): r for r in csv.DictReader(handle) if r["sweep"] == "core.cim.adc_bits"}
    for row in rows(db):
        bits = int(row["core.cim.adc_bits"])
        want = expected[bits]
        check(row["accuracy_samples"] == samples and row["accuracy"] == float(want["accuracy"]) and
              row["accuracy_agreement"] == float(want["agreement_with_integer"]) and
              row["accuracy_bit_exact"] == float(want["bit_exact_fraction"]) and
              row["integer_accuracy"] == float(want["integer_accuracy"]),
              f"{bits}-bit ADC: accuracy {row['accuracy']}, agreement {row['accuracy_agreement']}, bit-exact "
              f"{row['accuracy_bit_exact']} equal cimtlm evaluate's")
    lossless = [r for r in rows(db) if r["core.cim.adc_bits"] == 7][0]
    check(lossless["accuracy_bit_exact"] == 1.0 and lossless["accuracy"] == lossless["integer_accuracy"],
          "the lossless 7-bit ADC reproduces the integer model on every sample")


def case_tls(ctx):
    certs = os.path.join(ctx.out, "certs")
    os.makedirs(certs, exist_ok=True)
    recipe = os.path.join(ctx.root, "scripts", "sweep", "make_tls_certs.sh")
    subprocess.run(["sh", recipe, certs, "127.0.0.1"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    ca, cert, key = (os.path.join(certs, n) for n in ("ca.pem", "node.pem", "node-key.pem"))
    tls = ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(ctx.cimtlm)) + os.pathsep + os.environ["PATH"])
    address, _ = ctx.start_cluster(workers=1, extra=["--protocol", "tls", *tls], env=env)
    check(address.startswith("tls://127.0.0.1:"), f"scheduler requires TLS ({address})")
    sweep_file = ctx.write_sweep("tls.yaml", "  core.cim.adc_bits: [7, 8]\n")  # lossless: status ok
    db = os.path.join(ctx.out, "tls.sqlite")
    plain = ctx.sweep(sweep_file, db, "--scheduler", "tcp://" + address.split("://")[1], "--connect-timeout", "5",
                      timeout=120)
    check(plain.returncode == 1 and "cannot reach the scheduler" in plain.stderr,
          "a plain tcp:// client cannot use the TLS scheduler")
    result = ctx.sweep(sweep_file, db, "--scheduler", address, *tls)
    print(result.stderr)
    check(result.returncode == 0 and len(rows(db)) == 2 and all(r["status"] == "ok" for r in rows(db)),
          "the sweep over tls:// completes")


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    case, sweep_cli, cimtlm, root, out_dir = sys.argv[1:]
    ctx = Context(os.path.abspath(sweep_cli), os.path.abspath(cimtlm), os.path.abspath(root), out_dir, case)
    started = time.time()
    try:
        {"cluster": case_cluster, "kill": case_kill, "resume": case_resume, "security": case_security,
         "sampling": case_sampling, "tls": case_tls, "timeout": case_timeout, "effective": case_effective,
         "accuracy": case_accuracy}[case](ctx)
    finally:
        ctx.stop_all()
    print(f"sweep_{case}: passed in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
