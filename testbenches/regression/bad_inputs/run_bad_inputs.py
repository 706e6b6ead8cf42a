#!/usr/bin/env python3
"""Runs every case of cases.txt through the cimtlm executable (issue 16).

Usage: run_bad_inputs.py CIMTLM SOURCE_DIR OUTPUT_DIR [NAME_FILTER]

A case passes when cimtlm exits with the expected status within the time limit, its standard
error contains every expected word (and none of the forbidden ones), and it left nothing behind:
no temporary or partial files in its output folder, no output at all when it failed, and the
device nodes it was pointed at are still device nodes. On every case, whatever the status:
no signal, no "uncaught exception" from the SystemC kernel.

cases.txt: one case a line, fields separated by " | ":
  name | expected exit status | words (';'-separated; '!word' must NOT appear) | arguments
Arguments are split like a shell would (shlex); {D} is this folder, {S} the source tree, {O} a
fresh empty folder for the case. A line "@sparse PATH SIZE" before a case creates a sparse file
(SIZE in bytes, K/M/G suffixes) for that case only; "@env NAME=VALUE" sets an environment
variable for that case only.
"""
import os
import shlex
import shutil
import stat
import subprocess
import sys

TIMEOUT_S = 60  # a hang is a failure; the slowest case (a full run) takes ~1 s
FORBIDDEN_ALWAYS = ["uncaught exception", "Error: (E", "terminate called", "AddressSanitizer",
                    "runtime error:", "Segmentation fault"]


def size_of(text):
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
    return int(text[:-1] if factor > 1 else text) * factor


def parse(path):
    cases, pending = [], {"sparse": [], "env": {}}
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("@sparse "):
                _, file, size = line.split()
                pending["sparse"].append((file, size_of(size)))
                continue
            if line.startswith("@env "):
                name, value = line[5:].split("=", 1)
                pending["env"][name] = value
                continue
            fields = [field.strip() for field in line.split(" | ")]
            if len(fields) != 4:
                sys.exit(f"{path}:{number}: expected 4 fields separated by ' | '")
            name, status, words, arguments = fields
            cases.append({"name": name, "status": int(status), "line": number,
                          "words": [w.strip() for w in words.split(";") if w.strip()],
                          "arguments": arguments, **pending})
            pending = {"sparse": [], "env": {}}
    return cases


def leftovers(folder):
    found = []
    for root, _, files in os.walk(folder):
        for file in files:
            if file.endswith((".partial", ".tmp")) or ".cimtlm-" in file:
                found.append(os.path.join(root, file))
    return found


def main():
    cimtlm, source, output = sys.argv[1:4]
    only = sys.argv[4] if len(sys.argv) > 4 else ""
    here = os.path.dirname(os.path.abspath(__file__))
    cases = parse(os.path.join(here, "cases.txt"))
    names = [case["name"] for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        sys.exit(f"duplicate case names: {sorted(duplicates)}")
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)
    devices = {path: os.stat(path).st_mode for path in ("/dev/full", "/dev/null", "/dev/zero")
               if os.path.exists(path)}
    failures = []
    ran = 0
    for case in cases:
        if only and only not in case["name"]:
            continue
        ran += 1
        folder = os.path.join(output, case["name"])
        os.makedirs(folder)
        subst = lambda text: text.replace("{D}", here).replace("{S}", source).replace("{O}", folder)
        for file, size in case["sparse"]:
            with open(subst(file), "wb") as sparse:
                sparse.truncate(size)
        env = dict(os.environ)
        env.update({key: subst(value) for key, value in case["env"].items()})
        arguments = [subst(argument) for argument in shlex.split(case["arguments"])]
        problems = []
        try:
            result = subprocess.run([cimtlm] + arguments, cwd=folder, env=env, capture_output=True,
                                    text=True, errors="replace", timeout=TIMEOUT_S)
            status, err = result.returncode, result.stderr
        except subprocess.TimeoutExpired:
            status, err = "timeout", ""
            problems.append(f"no exit within {TIMEOUT_S} s (a hang)")
        if status != case["status"]:
            problems.append(f"exit status {status}, expected {case['status']}")
        for word in map(subst, case["words"]):
            if word.startswith("!"):
                if word[1:] in err:
                    problems.append(f"message contains '{word[1:]}'")
            elif word not in err:
                problems.append(f"message lacks '{word}'")
        for word in FORBIDDEN_ALWAYS:
            if word in err:
                problems.append(f"message contains '{word}'")
        left = leftovers(folder)
        if left:
            problems.append(f"left behind {left}")
        if status != 0:
            inputs = {os.path.basename(subst(file)) for file, _ in case["sparse"]}
            written = [os.path.join(root, file) for root, _, files in os.walk(folder)
                       for file in files if file.endswith((".stats.json", ".config.yaml", ".vcd",
                                                           ".gtkw", ".pb", ".npy"))
                       and file not in inputs]
            if written:
                problems.append(f"failed but wrote {written}")
        for path, mode in devices.items():
            if not os.path.exists(path) or os.stat(path).st_mode != mode:
                problems.append(f"{path} was replaced")
            for suffix in (".config.yaml", ".gtkw", ".partial"):
                if os.path.exists(path + suffix):
                    problems.append(f"wrote {path + suffix}")
                    os.remove(path + suffix)
        for file, _ in case["sparse"]:
            if os.path.exists(subst(file)):
                os.remove(subst(file))
        if problems:
            failures.append(case["name"])
            print(f"FAIL {case['name']} (cases.txt:{case['line']}): " + "; ".join(problems))
            print("     cimtlm " + " ".join(shlex.quote(a) for a in arguments))
            print("     stderr: " + err.strip().replace("\n", "\n             "))
        else:
            print(f"ok   {case['name']}: exit {status}: {err.strip().splitlines()[0] if err.strip() else ''}")
    print(f"{ran - len(failures)} of {ran} bad-input cases passed")
    if ran == 0:
        sys.exit("no case ran")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
