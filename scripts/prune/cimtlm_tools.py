"""The two cimtlm commands the compression loop calls: quantize (with accuracy) and run (stats)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CIMTLM = os.path.join(ROOT, "build", "cimtlm")


class CimtlmError(RuntimeError):
    pass


def _run(command, log=None):
    if log:
        log("$ " + " ".join(command))
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise CimtlmError(f"exit {result.returncode}: {' '.join(command)}\n{result.stdout}")
    return result.stdout


def quantize(cimtlm, model, calib, val, output, platform=None, policy="int8", log=None):
    """`cimtlm quantize` without its own simulation; returns the JSON report.

    The report's validation.quantized_accuracy is the lowered integer model on the validation set
    through the reference executor: what the bit-exact platform computes."""
    command = [cimtlm, "quantize", model, "--calib", calib, "--val", val, "--policy", policy,
               "-o", output, "--no-simulate"]
    if platform:
        command += ["--platform", platform]  # caps the weight bits at the platform's macros
    _run(command, log)
    report_path = output[:-len(".onnx")] + ".report.json" if output.endswith(".onnx") else output + ".report.json"
    with open(report_path) as handle:
        return json.load(handle)


def run(cimtlm, platform, network, stats, inputs=None, log=None):
    """`cimtlm run PLATFORM --network NET --stats STATS`; returns the stats JSON."""
    command = [cimtlm, "run", platform, "--network", network, "--stats", stats, "--quiet"]
    for name, path in (inputs or {}).items():
        command += ["--input", f"{name}={path}"]
    _run(command, log)
    with open(stats) as handle:
        return json.load(handle)


def stderr_log(message):
    print(message, file=sys.stderr)
