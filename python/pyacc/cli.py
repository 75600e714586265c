"""The `pyacc` command (also `python -m pyacc`)."""

from __future__ import annotations

import argparse
import sys


def _info(args):
    import pyacc
    from pyacc import _pyacc

    triple, cpu, features = _pyacc.host_target()
    print(f"pyacc {pyacc.__version__} (OpenACC {pyacc._OPENACC})")
    print(f"python   {sys.version.split()[0]}")
    print(f"host     {triple} {cpu}")
    print(f"threads  {pyacc.num_threads()}")
    if args.features:
        print(f"features {features}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pyacc", description="OpenACC for Python.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("info", help="what pyacc compiles for on this machine")
    p.add_argument("--features", action="store_true", help="list the CPU features too")
    p.set_defaults(run=_info)
    args = parser.parse_args(argv)
    if args.version:
        import pyacc
        print(pyacc.__version__)
        return 0
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return args.run(args)
