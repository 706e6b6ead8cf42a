#!/usr/bin/python3
"""Regression test of cimtlm's start-up server (`cimtlm serve`, platforms/cli/serve_command.cpp)
as the sweep's workers use it (scripts/sweep/served.py, task.py): a command run through the
server is indistinguishable from a fresh `cimtlm` process.

Usage: sweep_served_test.py CIMTLM SOURCE_ROOT OUTPUT_DIR
  - `cimtlm run` of the MLP (three configurations, one with two inferences): the same exit status,
    stdout (but its host-time lines), stderr, stats JSON (every figure but host time) and effective
    configuration as a fresh process; the command ran in a child of the server (its parent pid).
  - bad input: a bad --set value and a missing file exit 2 with the same message naming the key or
    file; an unknown option exits 2 with the same text; `--version` prints the same line.
  - signals: a point killed by SIGTERM reports -15 as a fresh process's Popen does; a point that
    outlives its timeout is killed (task._run_process returns None, the process is gone).
  - a request whose environment differs in a variable the libraries read while loading is refused
    (the caller runs a fresh process); a wrapper script is never served, nor a binary whose server
    never answers (an older cimtlm without `serve`); CIMTLM_SWEEP_SERVER=0 turns the server off.
  - a client killed with SIGKILL takes its server (and the point it ran) with it.
"""
import json
import os
import signal
import subprocess
import sys
import time

# The same checks and host-time filter as the other sweep tests (this script's folder is on
# sys.path when it runs).
from sweep_test import check, flat_stats  # noqa: E402


def alive(pid):
    """True while pid is a process that has not exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


class Runner:
    def __init__(self, served, cimtlm, out):
        self.served, self.cimtlm, self.out = served, cimtlm, out
        self.environment = dict(os.environ)
        self.environment.pop("MALLOC_TRIM_THRESHOLD_", None)

    def run(self, arguments, through_server, name):
        """(exit status, stdout, stderr, process) of `cimtlm ARGUMENTS`."""
        command = [self.cimtlm, *arguments]
        out_path, err_path = (os.path.join(self.out, f"{name}.{kind}") for kind in ("out", "err"))
        with open(os.devnull, "rb") as stdin, open(out_path, "wb") as stdout, \
                open(err_path, "wb") as stderr:
            if through_server:
                process = self.served.spawn(command, self.environment, stdin.fileno(),
                                            stdout.fileno(), stderr.fileno())
                check(isinstance(process, self.served.ServedProcess),
                      f"{name}: the server runs `cimtlm {' '.join(arguments[:1])}`")
            else:
                process = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr,
                                           env=self.environment)
        if through_server:
            check(process.wait_exit(120), f"{name}: finished in time")
        else:
            process.wait()
        with open(out_path, errors="replace") as out, open(err_path, errors="replace") as err:
            return process.returncode, out.read(), err.read(), process


def without_host_lines(text):
    return [line for line in text.splitlines() if not any(m in line for m in ("host", "/s"))]


def compare_runs(runner, root):
    platform = f"{root}/configs/platforms/default.yaml"
    network = f"{root}/configs/networks/mlp.yaml"
    for index, extra in enumerate(([], ["--set", "core.cim.adc_bits=6", "--inferences", "2"],
                                   ["--set", "core.macros=3", "--quiet"])):
        results = []
        for through_server in (False, True):
            name = f"run{index}_{'served' if through_server else 'fresh'}"
            stats = os.path.join(runner.out, name + ".stats.json")
            code, out, err, _ = runner.run(["run", platform, "--network", network, "--stats", stats,
                                            *extra], through_server, name)
            with open(stats) as handle:
                figures = flat_stats(json.load(handle))
            with open(stats[:-len(".stats.json")] + ".config.yaml") as handle:
                config = handle.read()
            results.append((code, without_host_lines(out), err, figures, config))
        fresh, served = results
        check(fresh[0] == served[0] == 0, f"run {extra}: exit 0 both ways")
        check(fresh[1] == served[1] and (len(fresh[1]) > 5 or "--quiet" in extra),
              f"run {extra}: the same report on stdout (host-time lines aside)")
        check(fresh[2] == served[2], f"run {extra}: the same stderr")
        check(fresh[3] == served[3] and len(fresh[3]) > 500,
              f"run {extra}: identical stats ({len(fresh[3])} figures, host time aside)")
        check(fresh[4] == served[4], f"run {extra}: the same effective configuration")


def compare_bad_input(runner, root):
    platform = f"{root}/configs/platforms/default.yaml"
    cases = {"bad_value": ["run", platform, "--set", "core.cim.adc_bits=banana", "--quiet"],
             "missing_file": ["run", os.path.join(runner.out, "no_such_platform.yaml")],
             "bad_option": ["run", platform, "--no-such-option"],
             "version": ["--version"]}
    for name, arguments in cases.items():
        fresh = runner.run(arguments, False, name + "_fresh")[:3]
        served = runner.run(arguments, True, name + "_served")[:3]
        check(fresh == served, f"{name}: exit {served[0]}, stdout and stderr as a fresh process's "
              f"({served[2].strip()[:80]!r})")
        if name != "version":
            check(served[0] == 2 and served[2].strip(), f"{name}: exit 2 with a message")
    check("core.cim.adc_bits" in runner.run(cases["bad_value"], True, "bad_value_again")[2],
          "the bad value's message names its key")


def check_signals(runner, root, task):
    platform = f"{root}/configs/platforms/default.yaml"
    long_run = ["run", platform, "--network", f"{root}/configs/networks/mlp.yaml", "--inferences",
                "100000", "--quiet", "--stats", os.path.join(runner.out, "long.stats.json")]
    command = [runner.cimtlm, *long_run]
    for through_server in (False, True):
        with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as sink:
            process = (runner.served.spawn(command, runner.environment, stdin.fileno(),
                                           sink.fileno(), sink.fileno()) if through_server else
                       subprocess.Popen(command, stdin=stdin, stdout=sink, stderr=sink,
                                        env=runner.environment))
        if through_server:
            check(parent_of(process.pid) == process.server.process.pid,
                  "the served point runs in a child of the server")
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGTERM)
        process.wait()
        check(process.returncode == -signal.SIGTERM,
              f"{'served' if through_server else 'fresh'}: a point killed by SIGTERM reports "
              f"{process.returncode}")
    started = time.time()
    pids = []
    original = runner.served.spawn

    def spy(*args):
        process = original(*args)
        pids.append(process.pid if process is not None else None)
        return process

    runner.served.spawn = spy
    try:
        result = task._run_process(command, 1.0, runner.environment,
                                   os.path.join(runner.out, "timeout.stderr"))
    finally:
        runner.served.spawn = original
    check(pids and pids[0] is not None, "the timed-out point ran through the server")
    check(result is None and time.time() - started < 30, "the point that outlived its timeout "
          "is reported as timed out")
    check(not alive(pids[0]), "and its process is gone")


def check_fallbacks(runner, root, served):
    environment = dict(runner.environment)
    environment["OMP_NUM_THREADS"] = "3"
    server = served.Server(runner.cimtlm, runner.environment)
    try:
        server.environment = environment  # the request's environment, not the server's
        with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as sink:
            refused = server.request([runner.cimtlm, "--version"], [stdin.fileno(), sink.fileno(),
                                                                    sink.fileno()])
        check(refused is None and not server.broken, "a request with another OMP_NUM_THREADS is "
              "refused (the server stays usable)")
    finally:
        server.close()
    wrapper = os.path.join(runner.out, "cimtlm_wrapper")
    with open(wrapper, "w") as handle:
        handle.write(f"#!/bin/sh\nexec {runner.cimtlm} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as sink:
        fds = (stdin.fileno(), sink.fileno(), sink.fileno())
        check(served.spawn([wrapper, "--version"], runner.environment, *fds) is None,
              "a wrapper script is not served")
        # A binary without `serve` (an older cimtlm; here /bin/true) never answers: fresh
        # processes for it from then on, without starting another server.
        old_build = "/bin/true"
        check(served.spawn([old_build, "run"], runner.environment, *fds) is None and
              old_build in served._process_state().unavailable and
              served.spawn([old_build, "run"], runner.environment, *fds) is None,
              "a binary whose server never answers runs fresh processes")
        os.environ["CIMTLM_SWEEP_SERVER"] = "0"
        try:
            check(served.spawn([runner.cimtlm, "--version"], runner.environment, *fds) is None,
                  "CIMTLM_SWEEP_SERVER=0 turns the server off")
        finally:
            del os.environ["CIMTLM_SWEEP_SERVER"]


CLIENT = """import os, sys, time
sys.path.insert(0, sys.argv[1])
from sweep import served
cimtlm, root, out = sys.argv[2:5]
null = os.open(os.devnull, os.O_RDWR)
process = served.spawn([cimtlm, "run", root + "/configs/platforms/default.yaml", "--inferences",
                        "100000", "--quiet", "--stats", out + "/orphan.stats.json"],
                       dict(os.environ), null, null, null)
print(process.server.process.pid, process.pid, flush=True)
time.sleep(600)
"""


def check_client_death(runner, root):
    client = subprocess.Popen([sys.executable, "-c", CLIENT, os.path.join(root, "scripts"),
                               runner.cimtlm, root, runner.out], stdout=subprocess.PIPE, text=True)
    server_pid, child_pid = (int(word) for word in client.stdout.readline().split())
    check(alive(server_pid) and alive(child_pid), "a client's server and point run")
    client.kill()
    client.wait()
    deadline = time.time() + 30
    while (alive(server_pid) or alive(child_pid)) and time.time() < deadline:
        time.sleep(0.05)
    check(not alive(server_pid) and not alive(child_pid),
          "the client killed (SIGKILL), its server and the point it ran end too")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    cimtlm, root, out = (os.path.abspath(argument) for argument in sys.argv[1:])
    out = os.path.join(out, "served")
    os.makedirs(out, exist_ok=True)
    sys.path.insert(0, os.path.join(root, "scripts"))
    from sweep import served, task

    runner = Runner(served, cimtlm, out)
    try:
        compare_runs(runner, root)
        compare_bad_input(runner, root)
        check_signals(runner, root, task)
        check_fallbacks(runner, root, served)
        check_client_death(runner, root)
    finally:
        served.close_all()
    print("sweep_served: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
