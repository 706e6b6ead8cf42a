#!/usr/bin/python3
"""cimtlm-sweep: design-space sweeps of `cimtlm run` on Dask distributed.

  cimtlm-sweep SWEEP.yaml [--db FILE.sqlite] [--workers N | --scheduler tls://HOST:PORT ...]
  cimtlm-sweep plot DB.sqlite [--out-dir DIR]
  cimtlm-sweep export DB.sqlite --csv [FILE]

Every point of the sweep is one `cimtlm run` (short chunks of points per Dask task); results stream into a SQLite database
(one row per point); a re-run skips the points already finished (by the hash of their effective
configuration, as `cimtlm validate` prints it). scripts/sweep/README.md describes the sweep file, the database and the security rules.
Exit status: 0 done, 1 some point could not be run (status 'error') or no scheduler, 2 bad input,\n130 interrupted (the database keeps every finished point).
"""
import argparse
import os
import shutil
import sys


def _package_folder():
    """scripts/sweep beside this file in a source tree, share/cimtlm/python once installed."""
    here = os.path.dirname(os.path.realpath(__file__))
    for folder in (here, os.path.join(os.path.dirname(here), "share", "cimtlm", "python")):
        if os.path.isdir(os.path.join(folder, "sweep")):
            return folder
    raise SystemExit("cimtlm-sweep: cannot find its Python package 'sweep'")


sys.path.insert(0, _package_folder())

from sweep import engine, plots  # noqa: E402
from sweep.spec import SweepError  # noqa: E402


def default_cimtlm():
    """cimtlm beside the command as invoked (build/cimtlm-sweep -> build/cimtlm, installed
    bin/cimtlm-sweep -> bin/cimtlm), then the source tree's build/, then PATH."""
    invoked = os.path.dirname(os.path.abspath(sys.argv[0]))
    source_root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(invoked, "cimtlm"), os.path.join(source_root, "build", "cimtlm")):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return "cimtlm"


def run_parser():
    parser = argparse.ArgumentParser(prog="cimtlm-sweep", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Also: cimtlm-sweep plot DB [--out-dir DIR]; "
                                            "cimtlm-sweep export DB --csv [FILE]")
    parser.add_argument("sweep", help="the sweep file (configs/sweeps/*.yaml)")
    parser.add_argument("--db", help="results database (default: SWEEP.sqlite beside the current "
                        "folder's traces/sweeps/)")
    parser.add_argument("--cimtlm", help="the cimtlm executable (default: beside cimtlm-sweep for a "
                        "local cluster, 'cimtlm' on the workers' PATH for a remote scheduler)")
    parser.add_argument("--workers", type=int, default=None,
                        help="local cluster: simulations at once (worker threads; default: CPU count)")
    parser.add_argument("--scheduler", help="a running Dask scheduler: tls://HOST:PORT (tcp:// only "
                        "on loopback, or with --insecure)")
    parser.add_argument("--tls-ca-file", help="CA certificate that signed the scheduler's and workers' certificates")
    parser.add_argument("--tls-cert", help="this client's certificate (PEM)")
    parser.add_argument("--tls-key", help="this client's private key (PEM)")
    parser.add_argument("--insecure", action="store_true",
                        help="allow plain tcp:// to a non-loopback scheduler (trusted networks only)")
    parser.add_argument("--allowed-failures", type=int, default=3,
                        help="local cluster: times a point may lose its worker before it is recorded "
                             "as an error (distributed.scheduler.allowed-failures)")
    parser.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to reach the scheduler")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="points per Dask task (default: up to 4, so that every worker takes ~8 tasks, "
                             "and single points at the end)")
    parser.add_argument("--dry-run", action="store_true", help="list the points still to run, run nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--verbose", action="store_true", help="show Dask's own log messages")
    return parser


def main(argv):
    if argv and argv[0] == "plot":
        parser = argparse.ArgumentParser(prog="cimtlm-sweep plot",
                                         description="Pareto and sensitivity plots (PNG) of a results database")
        parser.add_argument("db")
        parser.add_argument("--out-dir", help="default: DB's folder, DB name without .sqlite")
        parser.add_argument("--title")
        args = parser.parse_args(argv[1:])
        if not os.path.isfile(args.db):
            print(f"{args.db}: no such results database", file=sys.stderr)
            return 2
        out_dir = args.out_dir or os.path.splitext(args.db)[0]
        for path in plots.plot(args.db, out_dir, args.title):
            print(path)
        return 0
    if argv and argv[0] == "export":
        parser = argparse.ArgumentParser(prog="cimtlm-sweep export", description="export a results database")
        parser.add_argument("db")
        parser.add_argument("--csv", nargs="?", const="-", required=True, metavar="FILE",
                            help="CSV file (default: standard output)")
        args = parser.parse_args(argv[1:])
        if not os.path.isfile(args.db):
            print(f"{args.db}: no such results database", file=sys.stderr)
            return 2
        count = plots.export_csv(args.db, args.csv)
        if args.csv != "-":
            print(f"{count} rows -> {args.csv}", file=sys.stderr)
        return 0

    args = run_parser().parse_args(argv)
    if args.cimtlm is None:
        args.cimtlm = "cimtlm" if args.scheduler else default_cimtlm()
    elif os.path.sep in args.cimtlm:
        args.cimtlm = os.path.abspath(args.cimtlm)
    # A resume asks a local cimtlm for the effective configurations (the workers' one when it is
    # reachable from here, as on a shared file system).
    args.local_cimtlm = args.cimtlm if shutil.which(args.cimtlm) else default_cimtlm()
    if args.chunk_size is not None and args.chunk_size < 1:
        print("--chunk-size: a positive count", file=sys.stderr)
        return 2
    if args.workers is not None and (args.workers < 1 or args.scheduler):
        print("--workers: a positive count, for the local cluster only", file=sys.stderr)
        return 2
    if args.db is None:
        name = os.path.splitext(os.path.basename(args.sweep))[0]
        os.makedirs(os.path.join("traces", "sweeps"), exist_ok=True)
        args.db = os.path.join("traces", "sweeps", name + ".sqlite")
    try:
        return engine.run_sweep(args)
    except SweepError as error:
        print(error, file=sys.stderr)
        return 2
    except engine.ConnectError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
